"""rabbitmq charm logic: option rules, the seed, /etc/hosts, the join and health scripts,
the amqp users, status; and the probe's amqp summary."""

import importlib.machinery
import importlib.util
import json
import pathlib

import pytest
from charmhelpers.core import unitdata

from charms.layer.rabbitmq import checks, cluster, contexts, credentials, peers, services, users
from charms.layer.stackyard import restart
from charms.layer.stackyard_probe import amqp as probe_amqp

CHARM = pathlib.Path(__file__).resolve().parents[3] / 'charms' / 'rabbitmq'


def _script(name):
    loader = importlib.machinery.SourceFileLoader('rabbitmq_' + name,
                                                  str(CHARM / 'files' / name))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def kv(tmp_path, monkeypatch):
    monkeypatch.setenv('UNIT_STATE_DB', str(tmp_path / 'state.db'))
    monkeypatch.setattr(unitdata, '_KV', None)
    yield unitdata.kv()
    unitdata._KV = None


class Peers:
    """The peer bags behind :mod:`peers`, as plain dicts."""

    def __init__(self, monkeypatch, me='rabbit@h0', nodes=None, app=None):
        self.me, self.app_bag = me, dict(app or {})
        self.nodes_seen = dict(nodes or {me: '10.0.0.10'})
        monkeypatch.setattr(peers, 'node_name', lambda hostname=None: self.me)
        monkeypatch.setattr(peers, 'nodes', lambda: dict(self.nodes_seen))
        monkeypatch.setattr(peers, 'app', lambda: dict(self.app_bag))
        monkeypatch.setattr(peers, 'set_app', lambda **keys: self.app_bag.update(keys))


@pytest.mark.parametrize('value, ok', [(3, True), (1, True), (64, True), (0, False),
                                       (65, False), (True, False), ('3', False)])
def test_min_cluster_size_rule(value, ok):
    assert (contexts.min_cluster_size_reason(value) is None) == ok


def test_partition_handling_rule_names_the_choices():
    assert contexts.partition_handling_reason('pause_minority') is None
    assert contexts.partition_handling_reason('autoheal') is None
    reason = contexts.partition_handling_reason('pause-minority')
    assert reason == ("must be one of pause_minority, autoheal, ignore, not 'pause-minority'")


def test_seed_waits_for_min_cluster_size_then_is_the_leader(monkeypatch):
    p = Peers(monkeypatch, nodes={'rabbit@h0': '10.0.0.10', 'rabbit@h1': '10.0.0.11'})
    monkeypatch.setattr(contexts, 'min_cluster_size', lambda: 3)
    cluster.choose_seed()
    assert peers.SEED_KEY not in p.app_bag
    p.nodes_seen['rabbit@h2'] = '10.0.0.12'
    cluster.choose_seed()
    assert p.app_bag[peers.SEED_KEY] == 'rabbit@h0'


def test_seed_kept_while_present_taken_over_by_a_member_leader(monkeypatch):
    p = Peers(monkeypatch, me='rabbit@h1', nodes={'rabbit@h0': 'a', 'rabbit@h1': 'b'},
              app={peers.SEED_KEY: 'rabbit@h0'})
    monkeypatch.setattr(contexts, 'min_cluster_size', lambda: 1)
    cluster.choose_seed()
    assert p.app_bag[peers.SEED_KEY] == 'rabbit@h0'
    del p.nodes_seen['rabbit@h0']                 # the seed's unit left
    cluster.choose_seed()                          # this node is no member: keep
    assert p.app_bag[peers.SEED_KEY] == 'rabbit@h0'
    p.app_bag[peers.MEMBERS_KEY] = json.dumps({'nodes': ['rabbit@h0', 'rabbit@h1'],
                                               'running': ['rabbit@h1']})
    cluster.choose_seed()
    assert p.app_bag[peers.SEED_KEY] == 'rabbit@h1'


def test_join_target_is_the_seed_except_on_the_seed(monkeypatch):
    p = Peers(monkeypatch, me='rabbit@h1')
    assert contexts.join_target() == ''
    p.app_bag[peers.SEED_KEY] = 'rabbit@h0'
    assert contexts.join_target() == 'rabbit@h0'
    p.me = 'rabbit@h0'
    assert contexts.join_target() == ''


def test_serving_needs_the_leaders_members_to_list_this_node_running(monkeypatch):
    p = Peers(monkeypatch, me='rabbit@h1', app={peers.SEED_KEY: 'rabbit@h0'})
    assert not peers.serving()
    p.app_bag[peers.MEMBERS_KEY] = json.dumps({'nodes': ['rabbit@h0', 'rabbit@h1'],
                                               'running': ['rabbit@h0']})
    assert not peers.serving()
    p.app_bag[peers.MEMBERS_KEY] = json.dumps({'nodes': ['rabbit@h0', 'rabbit@h1'],
                                               'running': ['rabbit@h0', 'rabbit@h1']})
    assert peers.serving()
    p.app_bag[peers.MEMBERS_KEY] = 'not json'
    assert not peers.serving()


def test_hosts_block_names_other_nodes_only_and_skips_bad_names():
    lines = services.hosts_block({'rabbit@h0': '10.0.0.10', 'rabbit@h1': '10.0.0.11',
                                  'rabbit@bad host': '10.0.0.12', 'rabbit@h3': '1.2.3.4 evil',
                                  'rabbit@h4': '10.0.0.14'}, 'rabbit@h0')
    assert lines == ['10.0.0.11 h1', '10.0.0.14 h4']


def test_with_block_replaces_only_the_charms_block():
    base = '127.0.0.1 localhost\n10.0.0.10 h0\n'
    once = services.with_block(base, ['10.0.0.11 h1'])
    assert once == base + services.HOSTS_BEGIN + '\n10.0.0.11 h1\n' + services.HOSTS_END + '\n'
    twice = services.with_block(once, ['10.0.0.11 h1', '10.0.0.12 h2'])
    assert twice.count(services.HOSTS_BEGIN) == 1 and '10.0.0.12 h2' in twice
    assert services.with_block(twice, []) == base


def test_a_stopped_node_that_must_join_asks_for_a_slot_once(monkeypatch, kv):
    Peers(monkeypatch, me='rabbit@h1', app={peers.SEED_KEY: 'rabbit@h0'})
    monkeypatch.setattr(services.host, 'service_running', lambda name: False)
    asked = []

    def request(names, reason, config, force=False):
        asked.append((names, reason, force))
        kv.set(restart.PENDING, {'id': 'x'})
    monkeypatch.setattr(services.restart, 'request', request)
    monkeypatch.setattr(services.options, 'config', lambda: {})
    monkeypatch.setattr(services.sy, 'restart_if_changed',
                        lambda name: pytest.fail('started outside a slot'))
    services.start_rabbitmq('rabbitmq-server')
    services.start_rabbitmq('rabbitmq-server')
    assert asked == [(['rabbitmq-server'], 'join the cluster of rabbit@h0', True)]


def test_the_seed_starts_plainly(monkeypatch):
    Peers(monkeypatch, me='rabbit@h0', app={peers.SEED_KEY: 'rabbit@h0'})
    monkeypatch.setattr(services.host, 'service_running', lambda name: False)
    started = []
    monkeypatch.setattr(services.sy, 'restart_if_changed', started.append)
    services.start_rabbitmq('rabbitmq-server')
    assert started == ['rabbitmq-server']


def status(nodes, running, alarms=(), partitions=None):
    return {'disk_nodes': nodes, 'running_nodes': running, 'alarms': list(alarms),
            'partitions': partitions or {}}


def test_health_script_passes_a_healthy_member():
    health = _script('health')
    found, members, running = health.problems(
        status(['rabbit@h0', 'rabbit@h1'], ['rabbit@h0', 'rabbit@h1']), 'rabbit@h1', 'rabbit@h0')
    assert found == [] and len(members) == 2


def test_health_script_names_each_problem():
    health = _script('health')
    found, _, _ = health.problems(
        status(['rabbit@h1', 'rabbit@h2'], ['rabbit@h2'],
               alarms=[{'node': 'rabbit@h1', 'resource': 'memory'}],
               partitions={'rabbit@h2': ['rabbit@h3']}), 'rabbit@h1', 'rabbit@h0')
    assert found[0] == 'rabbit@h1 is not running'
    assert found[1].startswith('alarm on rabbit@h1')
    assert 'rabbit@h1 has not joined rabbit@h0' in found
    assert 'cluster nodes down: rabbit@h1' in found
    assert found[-1].startswith('partitioned')


def test_health_script_ignores_other_nodes_alarms_and_a_standalone_node():
    health = _script('health')
    found, _, _ = health.problems(
        status(['rabbit@h0'], ['rabbit@h0'], alarms=[{'node': 'rabbit@h9', 'resource': 'disk'}]),
        'rabbit@h0', '')
    assert found == []


def test_join_script_does_nothing_without_a_seed_or_when_joined(tmp_path, monkeypatch):
    join = _script('join')
    calls = []
    monkeypatch.setattr(join, 'SEED_FILE', str(tmp_path / 'seed'))
    monkeypatch.setattr(join.socket, 'gethostname', lambda: 'h1')

    def ctl(*args):
        calls.append(args)
        return json.dumps(status(nodes, ['rabbit@h1']))
    monkeypatch.setattr(join, 'ctl', ctl)
    nodes = ['rabbit@h1']
    join.main()                                   # no seed file
    (tmp_path / 'seed').write_text('rabbit@h1\n')
    join.main()                                   # this node is the seed
    assert calls == []
    (tmp_path / 'seed').write_text('rabbit@h0\n')
    nodes = ['rabbit@h0', 'rabbit@h1']
    join.main()                                   # joined already
    assert calls == [('cluster_status', '--formatter', 'json')]
    nodes = ['rabbit@h1']
    calls.clear()
    join.main()
    assert calls == [('cluster_status', '--formatter', 'json'), ('stop_app',), ('reset',),
                     ('join_cluster', 'rabbit@h0'), ('start_app',)]


class FakeCtl:
    def __init__(self):
        self.calls, self.users = [], []

    def run(self, *args, stdin=None, timeout=None):
        self.calls.append((args, stdin))
        return ''

    def run_json(self, *args):
        return [{'user': u, 'tags': []} for u in self.users]


class Amqp:
    def __init__(self, requests):
        self._requests, self.published, self.withdrawn = requests, {}, []

    def requests(self):
        return [dict(r) for r in self._requests]

    def relation_ids(self):
        return ['amqp:1', 'amqp:9']

    def publish(self, rid, host, password):
        self.published[rid] = (host, password)

    def withdraw(self, rid):
        self.withdrawn.append(rid)


def request(**changes):
    found = {'username': 'nova', 'vhost': 'openstack', 'admin': False, 'ttl': None,
             'relation_id': 'amqp:1', 'application': 'nova'}
    found.update(changes)
    return found


@pytest.fixture
def secrets(monkeypatch):
    store = {}

    def add(label, description, key, value):
        uri = 'secret:s{}'.format(len(store))
        store[uri] = {key: value}
        return uri
    monkeypatch.setattr(credentials, 'add', add)
    monkeypatch.setattr(credentials, 'get', lambda uri, key: store[uri][key])
    return store


def test_leader_makes_a_user_once_password_on_stdin_never_in_argv(monkeypatch, secrets):
    p = Peers(monkeypatch)
    fake = FakeCtl()
    monkeypatch.setattr(users, 'ctl', fake)
    monkeypatch.setattr(users.hookenv, 'log', lambda *a, **k: None)
    amqp = Amqp([request(admin=True, ttl={'name': 'exp', 'regex': 'q.*', 'ms': 60000})])
    users.make_users(amqp)
    [uri] = secrets
    password = secrets[uri]['password']
    assert len(password) >= 40
    assert json.loads(p.app_bag[peers.USERS_KEY]) == {'nova': uri}
    assert [c[0][0] for c in fake.calls] == ['add_vhost', 'add_user', 'set_user_tags',
                                             'set_permissions', 'set_policy']
    assert all(password not in ' '.join(args) for args, _ in fake.calls)
    assert fake.calls[1] == (('add_user', 'nova'), password)
    assert fake.calls[2][0] == ('set_user_tags', 'nova', 'administrator')
    assert fake.calls[4][0][-1] == '{"expires": 60000}'
    users.make_users(amqp)                        # nothing changed: no rabbitmqctl call
    assert len(fake.calls) == 5


def test_a_failed_user_is_not_published_and_reuses_its_secret(monkeypatch, secrets):
    p = Peers(monkeypatch)
    fake = FakeCtl()

    def failing(*args, stdin=None, timeout=None):
        raise users.ctl.Failed('rabbitmqctl add_vhost: node down')
    fake.run = failing
    monkeypatch.setattr(users, 'ctl', type('C', (), {'run': staticmethod(failing),
                                                     'run_json': fake.run_json,
                                                     'Failed': users.ctl.Failed}))
    monkeypatch.setattr(users.hookenv, 'log', lambda *a, **k: None)
    users.make_users(Amqp([request()]))
    users.make_users(Amqp([request()]))
    assert peers.USERS_KEY not in p.app_bag and len(secrets) == 1


def test_answers_only_while_serving_and_the_user_is_made(monkeypatch, secrets):
    p = Peers(monkeypatch, me='rabbit@h1', app={peers.SEED_KEY: 'rabbit@h0'})
    monkeypatch.setattr(users.hookenv, 'unit_private_ip', lambda: '10.0.0.11')
    secrets['secret:x'] = {'password': 'pw'}
    amqp = Amqp([request()])
    users.answer(amqp)
    # amqp:9 asked nothing valid; amqp:1 is not served by this node yet
    assert amqp.withdrawn == ['amqp:9', 'amqp:1'] and not amqp.published
    p.app_bag[peers.MEMBERS_KEY] = json.dumps({'nodes': ['rabbit@h0', 'rabbit@h1'],
                                               'running': ['rabbit@h0', 'rabbit@h1']})
    users.answer(amqp)
    assert not amqp.published                     # serving, but no user made yet
    p.app_bag[peers.USERS_KEY] = json.dumps({'nova': 'secret:x'})
    users.answer(amqp)
    assert amqp.published == {'amqp:1': ('10.0.0.11', 'pw')}


def test_status_waits_for_units_then_the_join(monkeypatch):
    p = Peers(monkeypatch, me='rabbit@h1', nodes={'rabbit@h1': 'a', 'rabbit@h0': 'b'})
    monkeypatch.setattr(contexts, 'min_cluster_size', lambda: 3)
    assert checks.cluster_check() == (
        'waiting', 'Waiting for 3 units to form the cluster (2 present)')
    p.app_bag[peers.SEED_KEY] = 'rabbit@h0'
    assert checks.cluster_check() == ('waiting', 'Waiting to join the cluster of rabbit@h0')
    p.app_bag[peers.MEMBERS_KEY] = json.dumps({'nodes': ['rabbit@h0', 'rabbit@h1'],
                                               'running': ['rabbit@h0', 'rabbit@h1']})
    assert checks.cluster_check() is None
    p.app_bag[peers.USERS_KEY] = json.dumps({'nova': 'secret:x'})
    assert checks.ready_message() == 'Cluster of 2 nodes (2 running), seed rabbit@h0; 1 amqp users'


def test_probe_amqp_names_and_summary():
    assert probe_amqp.names_problem({'amqp-username': 'probe', 'amqp-vhost': 'probe'}) is None
    assert probe_amqp.names_problem({'amqp-username': 'a b;c', 'amqp-vhost': '/'}) is None
    assert 'amqp-vhost' in probe_amqp.names_problem({'amqp-username': 'p', 'amqp-vhost': ' '})
    state, message = probe_amqp.summarise([('10.0.0.1', True, '0.05 s'),
                                           ('10.0.0.2', True, '0.04 s')])
    assert state == 'active' and message.startswith('amqp: 2/2 brokers round trip')
    state, message = probe_amqp.summarise([('10.0.0.1', True, '0.05 s'),
                                           ('10.0.0.2', False, '10.0.0.2: cannot connect')])
    assert state == 'blocked' and message.endswith('10.0.0.2: cannot connect')


def test_leader_grows_quorum_queues_onto_nodes_that_joined(monkeypatch):
    p = Peers(monkeypatch, app={peers.MEMBERS_KEY: json.dumps(
        {'nodes': ['rabbit@h0'], 'running': ['rabbit@h0']})})
    monkeypatch.setattr(cluster.host, 'service_running', lambda name: True)
    monkeypatch.setattr(cluster, '_cookie_in_place', lambda: True)
    monkeypatch.setattr(cluster.hookenv, 'log', lambda *a, **k: None)
    monkeypatch.setattr(cluster.ctl, 'cluster_status', lambda: {
        'nodes': ['rabbit@h0', 'rabbit@h1'], 'running': ['rabbit@h0', 'rabbit@h1'],
        'partitions': {}, 'alarms': []})
    grown = []
    monkeypatch.setattr(cluster.ctl, 'grow_quorum_queues', lambda node: grown.append(node) or 2)
    cluster.refresh_members()
    assert grown == ['rabbit@h1']
    assert json.loads(p.app_bag[peers.MEMBERS_KEY])['running'] == ['rabbit@h0', 'rabbit@h1']
    cluster.refresh_members()
    assert grown == ['rabbit@h1']


def test_leader_makes_users_only_once_min_cluster_size_nodes_run(monkeypatch):
    p = Peers(monkeypatch, app={peers.SEED_KEY: 'rabbit@h0'})
    monkeypatch.setattr(users.host, 'service_running', lambda name: True)
    monkeypatch.setattr(contexts, 'min_cluster_size', lambda: 2)
    p.app_bag[peers.MEMBERS_KEY] = json.dumps({'nodes': ['rabbit@h0'], 'running': ['rabbit@h0']})
    assert not users.leader_ready()
    p.app_bag[peers.MEMBERS_KEY] = json.dumps({'nodes': ['rabbit@h0', 'rabbit@h1'],
                                               'running': ['rabbit@h0', 'rabbit@h1']})
    assert users.leader_ready()


@pytest.mark.parametrize('changes, reason', [
    ({}, None),
    ({'messages': 99}, 'messages must be a whole number from 100'),
    ({'size': True}, 'size must'),
    ({'runs': 11}, 'runs must'),
    ({'queue-type': 'stream'}, "queue-type must be one of quorum, classic, not 'stream'"),
])
def test_benchmark_params(changes, reason):
    from charms.layer.rabbitmq import bench
    params = dict({'messages': 2000, 'size': 1024, 'runs': 3, 'queue-type': 'quorum'}, **changes)
    assert bench.params_problem(params) == reason or reason in bench.params_problem(params)
