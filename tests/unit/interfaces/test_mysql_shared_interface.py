"""interface:mysql-shared: requests parsed and validated, answers in upstream's keys."""

import pytest

import iface


provides = iface.load('mysql-shared', 'provides')
requires = iface.load('mysql-shared', 'requires')


def test_unprefixed_request():
    requests, problems = provides.parse_unit({
        'database': 'keystone', 'username': 'keystone', 'hostname': '10.0.0.7',
        'private-address': '10.0.0.7', 'ingress-address': '10.0.0.7'})
    assert problems == []
    assert requests == {None: {'database': 'keystone', 'username': 'keystone',
                               'hostnames': ['10.0.0.7']}}


def test_prefixed_requests_and_json_host_list():
    requests, problems = provides.parse_unit({
        'nova_database': 'nova', 'nova_username': 'nova', 'nova_hostname': '10.0.0.8',
        'novaapi_database': 'nova_api', 'novaapi_username': 'nova',
        'novaapi_hostname': '["10.0.0.8", "fd00::8", "nova-0.maas"]'})
    assert problems == []
    assert requests['nova']['database'] == 'nova'
    assert requests['novaapi'] == {'database': 'nova_api', 'username': 'nova',
                                   'hostnames': ['10.0.0.8', 'fd00::8', 'nova-0.maas']}


def test_partial_triple_is_not_a_request_nor_an_error():
    assert provides.parse_unit({'database': 'keystone', 'username': 'keystone'}) == ({}, [])


@pytest.mark.parametrize('data, word', [
    ({'database': 'ks`; DROP DATABASE mysql; --', 'username': 'ks', 'hostname': '10.0.0.1'},
     'database'),
    ({'database': 'mysql', 'username': 'ks', 'hostname': '10.0.0.1'}, 'database'),
    ({'database': 'a' * 65, 'username': 'ks', 'hostname': '10.0.0.1'}, 'database'),
    ({'database': 'ks', 'username': "ks'@'%", 'hostname': '10.0.0.1'}, 'username'),
    ({'database': 'ks', 'username': 'root', 'hostname': '10.0.0.1'}, 'username'),
    ({'database': 'ks', 'username': 'ks', 'hostname': "10.0.0.1' OR 1=1"}, 'hostname'),
    ({'database': 'ks', 'username': 'ks', 'hostname': '[1, 2]'}, 'hostname'),
    ({'database': 'ks', 'username': 'ks', 'hostname': '[not json'}, 'hostname'),
    ({'bad!x_database': 'ks', 'bad!x_username': 'ks', 'bad!x_hostname': '10.0.0.1'},
     'prefix'),
])
def test_bad_names_are_refused(data, word):
    requests, problems = provides.parse_unit(data)
    assert requests == {}
    assert problems and word in problems[0]


def test_collect_merges_units_and_refuses_a_disagreeing_one():
    merged, problems = provides.collect([
        ('ks/0', {'database': 'ks', 'username': 'ks', 'hostname': '10.0.0.1'}),
        ('ks/1', {'database': 'ks', 'username': 'ks', 'hostname': '10.0.0.2'}),
        ('ks/2', {'database': 'other', 'username': 'ks', 'hostname': '10.0.0.3'}),
    ])
    assert merged[None]['units'] == ['ks/0', 'ks/1']
    assert merged[None]['hostnames'] == ['10.0.0.1', '10.0.0.2']
    assert len(problems) == 1 and problems[0].startswith('ks/2: asks for other/ks')


def test_answer_keys_are_upstreams():
    data = provides.answer_keys('10.0.0.150', 3306, {
        None: {'password': 'p1', 'allowed_units': ['ks/1', 'ks/0']},
        'nova': {'password': 'p2', 'allowed_units': ['nova/0']}})
    assert data == {'db_host': '10.0.0.150', 'db_port': '3306', 'password': 'p1',
                    'allowed_units': 'ks/0 ks/1', 'nova_password': 'p2',
                    'nova_allowed_units': 'nova/0'}


@pytest.mark.parametrize('data, prefix, expected', [
    ({'db_host': '10.0.0.5', 'password': 'pw', 'allowed_units': 'probe/0 probe/1'}, None,
     {'db_host': '10.0.0.5', 'db_port': 3306, 'password': 'pw'}),
    ({'db_host': '10.0.0.5', 'db_port': '3307', 'nova_password': 'pw',
      'nova_allowed_units': 'probe/0'}, 'nova',
     {'db_host': '10.0.0.5', 'db_port': 3307, 'password': 'pw'}),
    ({'db_host': '10.0.0.5', 'password': 'pw', 'allowed_units': 'probe/1'}, None, None),
    ({'db_host': '10.0.0.5', 'password': 'pw'}, None, None),
    ({'password': 'pw', 'allowed_units': 'probe/0'}, None, None),
    ({'db_host': '10.0.0.5', 'password': 'pw', 'allowed_units': 'probe/0'}, 'nova', None),
    ({'db_host': '10.0.0.5', 'db_port': 'x', 'password': 'pw', 'allowed_units': 'probe/0'},
     None, None),
])
def test_requires_parse_answer(data, prefix, expected):
    assert requires.parse_answer(data, 'probe/0', prefix) == expected
