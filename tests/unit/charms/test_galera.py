"""galera charm logic: grastate, bootstrap choice, config rules, shared-db ownership."""

import pytest

from charms.layer.galera import checks, cluster, credentials, shared_db

GRASTATE = """# GALERA saved state
version: 2.1
uuid:    f17b7363-f1a4-11f1-b146-46e95519b140
seqno:   {seqno}
safe_to_bootstrap: {safe}
"""


def test_read_grastate():
    state = cluster.read_grastate(GRASTATE.format(seqno=42, safe=1))
    assert state == {'uuid': 'f17b7363-f1a4-11f1-b146-46e95519b140', 'seqno': 42, 'safe': True}
    assert cluster.read_grastate(GRASTATE.format(seqno=-1, safe=0))['seqno'] == -1
    assert cluster.read_grastate('') == {'uuid': '', 'seqno': -1, 'safe': False}


@pytest.mark.parametrize('states, chosen', [
    ({'g/0': {'seqno': 10, 'safe': False}, 'g/1': {'seqno': 12, 'safe': True},
      'g/2': {'seqno': 15, 'safe': False}}, 'g/1'),
    ({'g/0': {'seqno': 10, 'safe': False}, 'g/1': {'seqno': 12, 'safe': False},
      'g/2': {'seqno': 11, 'safe': False}}, 'g/1'),
    ({'g/2': {'seqno': 12, 'safe': False}, 'g/1': {'seqno': 12, 'safe': False}}, 'g/1'),
    ({'g/0': {'seqno': -1, 'safe': False}, 'g/1': {'seqno': -1, 'safe': False}}, None),
    ({}, None),
])
def test_choose_bootstrap(states, chosen):
    assert cluster.choose_bootstrap(states) == chosen


@pytest.mark.parametrize('rule, value, ok', [
    (checks.min_cluster_size_reason, 3, True),
    (checks.min_cluster_size_reason, 0, False),
    (checks.min_cluster_size_reason, 10, False),
    (checks.min_cluster_size_reason, True, False),
    (checks.max_connections_reason, 500, True),
    (checks.max_connections_reason, 5, False),
    (checks.slave_threads_reason, 65, False),
    (checks.cluster_name_reason, 'galera-1', True),
    (checks.cluster_name_reason, 'bad name', False),
    (checks.cluster_name_reason, '', False),
    (checks.buffer_pool_reason, '128M', True),
    (checks.buffer_pool_reason, '1G', True),
    (checks.buffer_pool_reason, '4M', False),
    (checks.buffer_pool_reason, 'lots', False),
    (checks.buffer_pool_reason, '-1', False),
])
def test_config_rules(rule, value, ok):
    assert (rule(value) is None) == ok


def test_size_bytes():
    assert checks.size_bytes('128M') == 128 << 20
    assert checks.size_bytes('2g') == 2 << 30
    assert checks.size_bytes('1000') == 1000
    assert checks.size_bytes('1.5G') is None


def test_user_key_is_a_valid_secret_key():
    import re
    key = credentials.user_key('nova_api')
    assert re.match(r'^[a-z](?:-?[a-z0-9]){2,}$', key)
    assert key != credentials.user_key('nova_apI')
    assert len(credentials.new_password()) == 32


def _request(app, user, database, hosts, prefix=None, rid='shared-db:1', units=None):
    return {'relation_id': rid, 'application': app, 'prefix': prefix, 'database': database,
            'username': user, 'hostnames': hosts, 'units': units or [app + '/0']}


USERS = {'keystone': {'app': 'keystone', 'grants': {'keystone': ['10.0.0.5']}}}


def test_another_application_cannot_take_a_user_or_a_database():
    mine = _request('keystone', 'keystone', 'keystone', ['10.0.0.6'])
    thief = _request('evil', 'keystone', 'evil', ['10.0.0.9'], rid='shared-db:2')
    squatter = _request('evil', 'evil', 'keystone', ['10.0.0.9'], rid='shared-db:2')
    fine = _request('nova', 'nova', 'nova', ['10.0.0.7'], rid='shared-db:3')
    accepted, problems = shared_db.accept([mine, thief, squatter, fine], USERS)
    assert accepted == [mine, fine] and len(problems) == 2
    assert 'user keystone of keystone' in shared_db.conflict(thief, USERS)
    assert 'database keystone of keystone' in shared_db.conflict(squatter, USERS)


def test_missing_grants():
    assert shared_db.missing_grants(_request('keystone', 'keystone', 'keystone',
                                             ['10.0.0.5', '10.0.0.6']), USERS) == ['10.0.0.6']
    assert shared_db.missing_grants(_request('nova', 'nova', 'nova', ['10.0.0.7']),
                                    USERS) == ['10.0.0.7']


def test_answers_only_what_is_granted():
    users = {'keystone': {'app': 'keystone', 'grants': {'keystone': ['10.0.0.5']}},
             'nova': {'app': 'nova', 'grants': {'nova': ['10.0.0.7'], 'nova_api': ['10.0.0.7']}}}
    secret = {credentials.user_key('keystone'): 'pk', credentials.user_key('nova'): 'pn'}
    requests = [
        _request('keystone', 'keystone', 'keystone', ['10.0.0.5'], units=['keystone/0']),
        _request('nova', 'nova', 'nova', ['10.0.0.7'], prefix='nova', rid='shared-db:3'),
        _request('nova', 'nova', 'nova_api', ['10.0.0.7'], prefix='novaapi', rid='shared-db:3'),
        # not granted yet: a new unit's host
        _request('glance', 'glance', 'glance', ['10.0.0.8'], rid='shared-db:4'),
    ]
    found = shared_db.answers(requests, users, secret)
    assert found['shared-db:1'] == {None: {'password': 'pk', 'allowed_units': ['keystone/0']}}
    assert set(found['shared-db:3']) == {'nova', 'novaapi'}
    assert found['shared-db:4'] == {}


@pytest.mark.parametrize('value, ok', [
    ('', True), ('10.157.83.150', True), ('10.0.0.5', False), ('10.157.83.300', False),
    ('vip', False)])
def test_vip_reason(monkeypatch, value, ok):
    import ipaddress
    monkeypatch.setattr(checks, 'networks', lambda: [ipaddress.ip_network('10.157.83.0/24')])
    reason = checks.vip_reason(value)
    assert (reason is None) == ok
    if value == '10.0.0.5':
        assert 'outside' in reason and '10.157.83.0/24' in reason


SYSBENCH_RUN = """
SQL statistics:
    queries performed:
        read:                            14000
    transactions:                        1000   (33.21 per sec.)
    queries:                             20000  (664.20 per sec.)
Latency (ms):
         min:                                   20.11
         avg:                                  120.37
         max:                                  480.03
         95th percentile:                      207.82
"""


def test_sysbench_output_parsed():
    from charms.layer.galera import bench
    assert bench.parse(SYSBENCH_RUN) == {'tps': 33.21, 'qps': 664.2, 'latency-avg': 120.37,
                                         'latency-p95': 207.82}


def test_the_bench_database_is_refused_to_consumers():
    request = _request('evil', 'evil', 'stackyard_bench', ['10.0.0.9'])
    assert "charm's own" in shared_db.conflict(request, {})


@pytest.mark.parametrize('vip, relations, flags, expected', [
    ('', [], set(), None),
    ('10.157.83.160', [], set(), ('blocked', 'vip 10.157.83.160 needs a relation to '
                                             'hacluster (ha)')),
    # a bundle's first hooks: the relation exists, its subordinate has not joined yet
    ('10.157.83.160', ['ha:4'], set(), ('waiting', 'Waiting for hacluster to run the vip '
                                                   '10.157.83.160')),
    ('10.157.83.160', ['ha:4'], {'ha.connected'}, ('waiting', 'Waiting for hacluster to run '
                                                              'the vip 10.157.83.160')),
    ('10.157.83.160', ['ha:4'], {'ha.connected', 'ha.clustered'}, None),
])
def test_vip_status(monkeypatch, vip, relations, flags, expected):
    import ipaddress
    import charms.reactive
    monkeypatch.setattr(checks, 'networks', lambda: [ipaddress.ip_network('10.157.83.0/24')])
    monkeypatch.setattr(checks.options, 'config', lambda: {'vip': vip})
    monkeypatch.setattr(checks.hookenv, 'relation_ids', lambda name: relations)
    monkeypatch.setattr(charms.reactive, 'is_flag_set', lambda flag: flag in flags)
    assert checks.vip_status() == expected


def test_db_host_is_the_vip_once_hacluster_ran_it(tmp_path, monkeypatch):
    import charms.reactive
    from charmhelpers.core import unitdata
    from charms.layer.stackyard import options
    monkeypatch.setenv('UNIT_STATE_DB', str(tmp_path / 'state.db'))
    monkeypatch.setattr(unitdata, '_KV', None)
    config, flags = {'vip': ''}, set()
    monkeypatch.setattr(shared_db.cluster, 'address', lambda: '10.157.83.20')
    monkeypatch.setattr(options, 'config', lambda: config)
    monkeypatch.setattr(charms.reactive, 'is_flag_set', lambda flag: flag in flags)
    assert shared_db.db_host() == '10.157.83.20'
    config['vip'] = '10.157.83.160'
    assert shared_db.db_host() is None          # never a unit address first
    flags.add('ha.clustered')
    assert shared_db.db_host() == '10.157.83.160'
    flags.clear()                               # a node joins, the VIP moves
    assert shared_db.db_host() == '10.157.83.160'
    config['vip'] = '10.157.83.161'             # a new VIP waits for hacluster again
    assert shared_db.db_host() is None
    flags.add('ha.clustered')
    assert shared_db.db_host() == '10.157.83.161'
    unitdata._KV = None
