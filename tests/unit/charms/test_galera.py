"""galera charm logic: grastate, bootstrap choice, config rules, shared-db ownership."""

import os

import pytest

from charms.layer.galera import checks, cluster, credentials, ha, shared_db

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


class Listener:
    """A real TCP port that answers (a live peer's Galera port) while open."""

    def __init__(self):
        import socket
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()


def test_db_host_is_the_vip_while_this_or_a_live_peers_hacluster_runs_it(monkeypatch):
    import charms.reactive
    from charms.layer.stackyard import options
    config, flags, relations = {'vip': ''}, set(), []
    reports = {}
    live = Listener()
    monkeypatch.setattr(shared_db.cluster, 'address', lambda: '10.157.83.20')
    monkeypatch.setattr(shared_db.cluster, 'GALERA_PORT', live.port)
    # galera/2 is a killed machine: its address answers nothing.
    monkeypatch.setattr(shared_db.cluster, 'peers',
                        lambda: {'galera/1': '127.0.0.1', 'galera/2': '127.0.0.2'})
    monkeypatch.setattr(ha, 'peer_reports', lambda: dict(reports))
    monkeypatch.setattr(options, 'config', lambda: config)
    monkeypatch.setattr(shared_db.hookenv, 'relation_ids', lambda name: relations)
    monkeypatch.setattr(charms.reactive, 'is_flag_set', lambda flag: flag in flags)
    assert shared_db.db_host() == '10.157.83.20'
    config['vip'] = '10.157.83.160'
    assert shared_db.db_host() is None              # no ha relation: no VIP
    relations.append('ha:4')
    assert shared_db.db_host() is None              # never a unit address first
    flags.add('ha.clustered')
    assert shared_db.db_host() == '10.157.83.160'
    flags.clear()                                   # this unit's hacluster: stale "no"
    reports['galera/1'] = '10.157.83.160'
    assert shared_db.db_host() == '10.157.83.160'   # a live peer's hacluster runs it
    reports['galera/1'] = '10.157.83.161'
    assert shared_db.db_host() is None              # an old VIP is not this one
    del reports['galera/1']
    reports['galera/2'] = '10.157.83.160'
    assert shared_db.db_host() is None              # a dead peer's last word
    reports['galera/1'] = '10.157.83.160'
    live.close()                                    # the live peer stops too
    assert shared_db.db_host() is None
    reports.clear()                                 # the VIP runs nowhere: not sticky
    assert shared_db.db_host() is None
    flags.add('ha.clustered')
    relations.clear()                               # hacluster removed from this unit
    assert shared_db.db_host() is None


def test_vip_report_in_the_peer_bag(monkeypatch):
    bag = {'cluster:1': {}}
    monkeypatch.setattr(ha.hookenv, 'relation_ids', lambda name: list(bag))
    monkeypatch.setattr(ha.hookenv, 'local_unit', lambda: 'galera/0')
    monkeypatch.setattr(ha.hookenv, 'relation_get',
                        lambda key, unit=None, rid=None: bag[rid].get(key))

    def relation_set(relation_id, relation_settings):
        for key, value in relation_settings.items():
            if value is None:
                bag[relation_id].pop(key, None)
            else:
                bag[relation_id][key] = value
    monkeypatch.setattr(ha.hookenv, 'relation_set', relation_set)
    ha.publish_report('10.157.83.160', True)
    assert bag == {'cluster:1': {'ha-vip-running': '10.157.83.160'}}
    ha.publish_report('10.157.83.160', False)
    assert bag == {'cluster:1': {}}
    ha.publish_report('', True)
    assert bag == {'cluster:1': {}}


def load_interface(side):
    import importlib.util
    import os
    path = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'interfaces',
                        'hacluster', side + '.py')
    spec = importlib.util.spec_from_file_location('hacluster_iface_' + side, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_ha_request_is_what_hacluster_accepts():
    from types import SimpleNamespace
    from charms.layer.hacluster import crm
    requires, provides = load_interface('requires'), load_interface('provides')

    class FakeHA(requires.HAClusterRequires):
        def __init__(self):
            self.relation = SimpleNamespace(to_publish_raw={})

        @property
        def relations(self):
            return [self.relation]

    endpoint = FakeHA()
    ha.request(endpoint, '10.157.83.160')
    bag = {k: v for k, v in endpoint.relation.to_publish_raw.items() if v}
    request = provides.parse_request(bag)
    vip = requires.vip_resource_name('mysql', '10.157.83.160')
    assert request['resources'] == {
        vip: 'ocf:heartbeat:IPaddr2', 'res_mysql_monitor': 'ocf:stackyard:galera-monitor'}
    lines = crm.render(request).splitlines()
    assert 'clone cl_mysql_monitor res_mysql_monitor meta interleave=true' in lines
    assert 'location loc_mysql grp_mysql_vips rule -inf: not_defined galera-synced or ' \
           'galera-synced ne 1' in lines
    assert 'colocation colo_mysql inf: grp_mysql_vips cl_mysql_monitor' in lines
    ha.request(endpoint, '')                        # vip unset: everything deleted
    bag = {k: v for k, v in endpoint.relation.to_publish_raw.items() if v}
    request = provides.parse_request(bag)
    assert not request['resources'] and set(request['delete_resources']) == {
        vip, 'res_mysql_monitor', 'grp_mysql_vips'}


AGENT = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'charms', 'galera', 'files',
                     'galera-monitor')


def test_ocf_agent_sets_the_attribute_and_never_touches_mariadb(tmp_path):
    """The agent with a fake attrd_updater (records its argv) and a check that passes or not."""
    import subprocess
    import xml.etree.ElementTree as ET
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    calls = tmp_path / 'calls'
    (bin_dir / 'attrd_updater').write_text('#!/bin/sh\nprintf "%%s\\n" "$*" >> %s\n' % calls)
    (bin_dir / 'systemctl').write_text('#!/bin/sh\necho "systemctl $@" >> %s\nexit 1\n'
                                       % calls)
    check = tmp_path / 'check'
    check.write_text('#!/bin/sh\ntest -e %s\n' % (tmp_path / 'synced'))
    for f in (bin_dir / 'attrd_updater', bin_dir / 'systemctl', check):
        f.chmod(0o755)
    env = dict(os.environ, PATH='%s:%s' % (bin_dir, os.environ['PATH']),
               HA_RSCTMP=str(tmp_path / 'rsc'), OCF_RESOURCE_INSTANCE='res_mysql_monitor:0',
               OCF_RESKEY_check=str(check))

    def agent(action):
        return subprocess.run([AGENT, action], env=env, timeout=10).returncode

    def last():
        return calls.read_text().splitlines()[-1] if calls.exists() else None

    assert agent('monitor') == 7 and last() is None     # a probe: not running, nothing set
    assert agent('start') == 0 and last() == '-n galera-synced -U 0'
    (tmp_path / 'synced').touch()
    assert agent('monitor') == 0 and last() == '-n galera-synced -U 1'
    (tmp_path / 'synced').unlink()                      # MariaDB stopped or not Synced
    assert agent('monitor') == 0 and last() == '-n galera-synced -U 0'
    assert agent('stop') == 0 and last() == '-n galera-synced -D'
    assert agent('monitor') == 7
    assert agent('promote') == 3
    assert 'systemctl' not in calls.read_text()
    meta = subprocess.run([AGENT, 'meta-data'], stdout=subprocess.PIPE, timeout=10).stdout
    root = ET.fromstring(meta)
    assert root.get('name') == 'galera-monitor'
    actions = {a.get('name') for a in root.iter('action')}
    assert actions >= {'start', 'stop', 'monitor', 'meta-data'}
