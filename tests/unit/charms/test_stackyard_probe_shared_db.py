"""stackyard-probe's shared-db side: what it asks for and how it reports."""

import pytest

from charms.layer.stackyard_probe import shared_db


def test_wanted_default_and_extra_databases():
    requests, problem = shared_db.wanted({'database': 'probe', 'database-user': 'probe',
                                          'extra-databases': 'nova novaapi'})
    assert problem is None
    assert requests == [(None, 'probe', 'probe'), ('nova', 'nova', 'nova'),
                        ('novaapi', 'novaapi', 'novaapi')]


@pytest.mark.parametrize('config, option', [
    ({'database': 'pro be', 'database-user': 'probe'}, 'database'),
    ({'database': 'probe', 'database-user': ''}, 'database-user'),
    ({'database': 'probe', 'database-user': 'probe', 'extra-databases': 'nova_api'},
     'extra-databases'),
])
def test_wanted_names_the_bad_option(config, option):
    requests, problem = shared_db.wanted(config)
    assert requests == []
    assert problem.split()[0].rstrip(':') == option


def test_summarise():
    assert shared_db.summarise([])[0] == 'waiting'
    assert shared_db.summarise([('probe', True, 'round trip via 10.0.0.5 (3 rows)')]) == (
        'active', 'shared-db: probe round trip via 10.0.0.5 (3 rows)')
    state, message = shared_db.summarise([('probe', True, 'ok'),
                                          ('nova', False, '10.0.0.5: Access denied')])
    assert (state, message) == ('blocked', 'shared-db: nova failed (10.0.0.5: Access denied)')


def test_round_trip_reports_an_unreachable_server_without_the_password():
    pytest.importorskip('pymysql')
    ok, text = shared_db.round_trip(
        {'db_host': '127.0.0.1', 'db_port': 1, 'password': 's3cret-pw'}, 'probe', 'probe',
        'probe/0', 1.0)
    assert not ok and text.startswith('127.0.0.1: ') and 's3cret-pw' not in text
