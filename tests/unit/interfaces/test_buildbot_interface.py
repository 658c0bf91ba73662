"""interface:buildbot: worker data is validated, passwords travel as per-worker secrets."""

import json
import os

import pytest
from charms.reactive import is_flag_set, set_flag

import iface


requires = iface.load('buildbot', 'requires')
provides = iface.load('buildbot', 'provides')


@pytest.fixture(autouse=True)
def unit_state(tmp_path, monkeypatch):
    monkeypatch.setattr(provides.hookenv, 'log', lambda *a, **k: None)
    monkeypatch.setattr(requires.hookenv, 'log', lambda *a, **k: None)
    yield


class Unit:
    def __init__(self, name, data):
        self.unit_name, self.received_raw = name, data


class Relation:
    def __init__(self, rid, units, app=None):
        self.relation_id, self.joined_units = rid, units
        self.received_app_raw = app or {}
        self.to_publish_raw, self.to_publish_app_raw = {}, {}


def endpoint(cls, name, relations):
    ep = cls.__new__(cls)
    ep._endpoint_name = name
    ep._rels = relations
    type(ep).relations = property(lambda self: self._rels)
    type(ep).is_joined = property(lambda self: any(r.joined_units for r in self._rels))
    return ep


def worker_bag(name, labels=('linux', 'amd64'), executors=2):
    return {'worker-name': name, 'labels': json.dumps(list(labels)),
            'executors': json.dumps(executors)}


# -- provides (master) -----------------------------------------------------------------

def test_parse_worker_normalises_labels():
    worker = provides.parse_worker('ci-worker/0', worker_bag('ci-worker-0', ['b', 'a', 'b']))
    assert worker == {'name': 'ci-worker-0', 'labels': ['a', 'b'], 'executors': 2}


@pytest.mark.parametrize('unit, data, reason', [
    ('ci-worker/0', worker_bag('ci-worker-1'), 'is not'),
    ('ci-worker/0', dict(worker_bag('ci-worker-0'), labels='x'), 'not JSON'),
    ('ci-worker/0', dict(worker_bag('ci-worker-0'), labels='"linux"'), 'labels must'),
    ('ci-worker/0', worker_bag('ci-worker-0', ['a b']), 'labels must'),
    ('ci-worker/0', worker_bag('ci-worker-0', ['x'] * 33), 'labels must'),
    ('ci-worker/0', worker_bag('ci-worker-0', executors=0), 'executors'),
    ('ci-worker/0', worker_bag('ci-worker-0', executors=True), 'executors'),
    ('ci-worker/0', worker_bag('ci-worker-0', executors=1.5), 'executors'),
    ('ci-worker/0', {'worker-name': 'ci-worker-0'}, 'not JSON'),
    ('CI/0', worker_bag('CI-0'), 'is not'),
])
def test_parse_worker_refuses(unit, data, reason):
    with pytest.raises(provides.Invalid, match=reason):
        provides.parse_worker(unit, data)


def master_endpoint(*units):
    rel = Relation('workers:3', [Unit(name, data) for name, data in units])
    return endpoint(provides.BuildbotProvides, 'workers', [rel]), rel


def test_workers_skips_bad_and_empty_bags():
    ep, _ = master_endpoint(('ci-worker/1', worker_bag('ci-worker-1')),
                            ('ci-worker/0', worker_bag('ci-worker-0', ['gpu'], 4)),
                            ('ci-worker/2', {}),
                            ('ci-worker/3', worker_bag('evil')))
    assert ep.workers() == [
        {'name': 'ci-worker-0', 'labels': ['gpu'], 'executors': 4, 'unit': 'ci-worker/0',
         'relation_id': 'workers:3'},
        {'name': 'ci-worker-1', 'labels': ['amd64', 'linux'], 'executors': 2,
         'unit': 'ci-worker/1', 'relation_id': 'workers:3'}]
    ep.manage_flags()
    assert is_flag_set('workers.connected') and is_flag_set('workers.available')


def test_master_flags_changed_on_departed_and_cleared_without_units():
    ep, rel = master_endpoint(('ci-worker/0', {}))
    ep.manage_flags()
    assert is_flag_set('workers.connected') and not is_flag_set('workers.available')
    set_flag('endpoint.workers.departed')
    ep.manage_flags()
    assert is_flag_set('workers.changed') and not is_flag_set('endpoint.workers.departed')
    rel.joined_units = []
    ep.manage_flags()
    for flag in ('connected', 'available', 'changed'):
        assert not is_flag_set('workers.' + flag), flag


class FakeSecrets:
    """The secret hook tools, on a dict; records every call."""

    def __init__(self):
        self.store, self.calls, self.n = {}, [], 0

    def __call__(self, *argv):
        self.calls.append(argv)
        tool, args = argv[0], argv[1:]
        if tool == 'secret-ids':
            # As yard and Juju print them: bare ids.
            return json.dumps(sorted(u.split(':', 1)[1] for u in self.store))
        if tool == 'secret-info-get':
            return json.dumps({args[0]: {'label': self.store['secret:' + args[0]]['label']}})
        if tool == 'secret-add':
            self.n += 1
            uri = 'secret:id{}'.format(self.n)
            path = args[-1].split('=', 1)[1]
            assert oct(os.stat(path).st_mode & 0o777) == '0o600'
            self.store[uri] = {'label': args[1], 'password': open(path).read()}
            return uri + '\n'
        if tool == 'secret-get':
            return self.store[args[0]][args[1]] + '\n'
        if tool == 'secret-remove':
            del self.store[args[0]]
        return ''


def test_update_secrets_one_per_worker_granted_to_its_unit_and_removed_after(monkeypatch):
    tools = FakeSecrets()
    monkeypatch.setattr(provides, '_tool', tools)
    ep, rel = master_endpoint(('ci-worker/0', worker_bag('ci-worker-0')),
                              ('ci-worker/1', worker_bag('ci-worker-1')))
    assert ep.update_secrets() == {'ci-worker-0': 'secret:id1', 'ci-worker-1': 'secret:id2'}
    assert json.loads(rel.to_publish_app_raw['workers']) == {
        'ci-worker-0': 'secret:id1', 'ci-worker-1': 'secret:id2'}
    grants = [c for c in tools.calls if c[0] == 'secret-grant']
    assert grants == [('secret-grant', 'secret:id1', '-r', 'workers:3', '--unit', 'ci-worker/0'),
                      ('secret-grant', 'secret:id2', '-r', 'workers:3', '--unit', 'ci-worker/1')]
    passwords = ep.passwords()
    assert set(passwords) == {'ci-worker-0', 'ci-worker-1'}
    assert passwords['ci-worker-0'] != passwords['ci-worker-1']
    assert all(requires._PASSWORD.match(p) for p in passwords.values())
    # No secret in any command line.
    assert not any(p in ' '.join(c) for c in tools.calls for p in passwords.values())
    # Again: nothing new is made or granted.
    tools.calls.clear()
    ep.update_secrets()
    assert {c[0] for c in tools.calls} == {'secret-ids', 'secret-info-get'}
    # ci-worker/0 leaves: its secret goes, ci-worker/1 keeps its own.
    rel.joined_units = rel.joined_units[1:]
    assert ep.update_secrets() == {'ci-worker-1': 'secret:id2'}
    assert ('secret-remove', 'secret:id1') in tools.calls
    assert list(tools.store) == ['secret:id2']


def test_update_secrets_removes_secrets_of_a_relation_gone(monkeypatch):
    tools = FakeSecrets()
    monkeypatch.setattr(provides, '_tool', tools)
    tools.store['secret:old'] = {'label': 'buildbot-worker-ci-worker-9', 'password': 'x' * 20}
    tools.store['secret:other'] = {'label': 'something-else', 'password': 'y'}
    ep = endpoint(provides.BuildbotProvides, 'workers', [])
    assert ep.update_secrets() == {}
    assert list(tools.store) == ['secret:other']


def test_publish_address():
    ep, rel = master_endpoint(('ci-worker/0', {}))
    ep.publish_address('10.0.0.7', 9989)
    assert rel.to_publish_raw == {'address': '10.0.0.7', 'port': '9989'}


# -- requires (worker) -----------------------------------------------------------------

class FakeRun:
    def __init__(self, returncode=0, stdout='', stderr=''):
        self.returncode, self.stdout, self.stderr, self.argv = returncode, stdout, stderr, None

    def __call__(self, argv, **kwargs):
        self.argv = argv
        return self


def worker_endpoint(monkeypatch, app, master_bag):
    monkeypatch.setattr(requires.hookenv, 'local_unit', lambda: 'ci-worker/0')
    rel = Relation('buildbot:5', [Unit('buildbot-master/0', master_bag)], app)
    return endpoint(requires.BuildbotRequires, 'buildbot', [rel]), rel


GOOD_PASSWORD = 'A' * 20 + '-_x'


def test_worker_publishes_its_name_labels_and_executors(monkeypatch):
    ep, rel = worker_endpoint(monkeypatch, {}, {})
    ep.publish(['linux', 'amd64', 'linux'], 3)
    assert rel.to_publish_raw == {'worker-name': 'ci-worker-0',
                                  'labels': '["amd64", "linux"]', 'executors': '3'}
    assert provides.parse_worker('ci-worker/0', rel.to_publish_raw)['executors'] == 3


def test_worker_available_with_address_and_its_secret(monkeypatch):
    run = FakeRun(stdout=GOOD_PASSWORD + '\n')
    monkeypatch.setattr(requires.subprocess, 'run', run)
    ep, _ = worker_endpoint(monkeypatch, {'workers': '{"ci-worker-0": "secret:abc"}'},
                            {'address': '10.0.0.7', 'port': '9989'})
    assert ep.master() == {'unit': 'buildbot-master/0', 'address': '10.0.0.7', 'port': 9989,
                           'worker_name': 'ci-worker-0', 'password': GOOD_PASSWORD}
    assert run.argv == ['secret-get', 'secret:abc', 'password', '--refresh']
    set_flag('endpoint.buildbot.changed')
    ep.manage_flags()
    assert is_flag_set('buildbot.connected') and is_flag_set('buildbot.available')
    assert is_flag_set('buildbot.changed')


@pytest.mark.parametrize('app, bag, run', [
    ({}, {'address': '10.0.0.7', 'port': '9989'}, FakeRun(stdout=GOOD_PASSWORD)),
    ({'workers': '{"ci-worker-1": "secret:abc"}'}, {'address': '10.0.0.7', 'port': '9989'},
     FakeRun(stdout=GOOD_PASSWORD)),
    ({'workers': 'nope'}, {'address': '10.0.0.7', 'port': '9989'}, FakeRun(stdout=GOOD_PASSWORD)),
    ({'workers': '{"ci-worker-0": "secret:$(x)"}'}, {'address': '10.0.0.7', 'port': '9989'},
     FakeRun(stdout=GOOD_PASSWORD)),
    ({'workers': '{"ci-worker-0": "secret:abc"}'}, {'address': '10.0.0.7', 'port': '9989'},
     FakeRun(returncode=1, stderr='ERROR permission denied')),
    ({'workers': '{"ci-worker-0": "secret:abc"}'}, {'address': '10.0.0.7', 'port': '9989'},
     FakeRun(stdout='short')),
    ({'workers': '{"ci-worker-0": "secret:abc"}'}, {'address': '10.0.0.7', 'port': '99999'},
     FakeRun(stdout=GOOD_PASSWORD)),
    ({'workers': '{"ci-worker-0": "secret:abc"}'}, {'address': 'a b', 'port': '9989'},
     FakeRun(stdout=GOOD_PASSWORD)),
    ({'workers': '{"ci-worker-0": "secret:abc"}'}, {}, FakeRun(stdout=GOOD_PASSWORD)),
])
def test_worker_not_available_on_missing_or_bad_data(monkeypatch, app, bag, run):
    monkeypatch.setattr(requires.subprocess, 'run', run)
    ep, _ = worker_endpoint(monkeypatch, app, bag)
    assert ep.master() is None
    ep.manage_flags()
    assert is_flag_set('buildbot.connected') and not is_flag_set('buildbot.available')
