"""Status assessment: priority, joining, caching, workload version."""

import pytest
from charms import reactive
from charmhelpers.core import unitdata

from charms.layer.stackyard import status


@pytest.fixture(autouse=True)
def clean_registry(monkeypatch):
    monkeypatch.setattr(status, '_checks', [])
    monkeypatch.setattr(status, '_ready', {'message': 'Ready'})
    monkeypatch.setattr(status, '_version', {'source': None})


@pytest.mark.parametrize('results, expected', [
    ([], ('active', 'Ready')),
    ([None, ('active', '')], ('active', 'Ready')),
    ([None, ('active', '3/3 targets answer')], ('active', '3/3 targets answer')),
    ([('waiting', 'w'), ('active', 'fine')], ('waiting', 'w')),
    ([('maintenance', 'm'), ('waiting', 'w')], ('waiting', 'w')),
    ([('waiting', 'w'), ('blocked', 'b'), ('maintenance', 'm')], ('blocked', 'b')),
    ([('blocked', 'port 0 is bad'), ('blocked', 'vip missing')],
     ('blocked', 'port 0 is bad; vip missing')),
    ([[('waiting', 'db'), ('waiting', 'db')]], ('waiting', 'db')),
    ([('maintenance', 'Paused')], ('maintenance', 'Paused')),
])
def test_priority_blocked_waiting_maintenance_active(results, expected):
    checks = [lambda r=r: r for r in results]
    assert status.evaluate(checks) == expected


def test_unknown_state_is_an_error():
    with pytest.raises(ValueError, match='unknown state'):
        status.evaluate([lambda: ('broken', 'x')])


def test_ready_message_may_be_callable():
    status.ready_message(lambda: 'Serving on port 8080')
    assert status.evaluate([]) == ('active', 'Serving on port 8080')


def test_assess_sets_status_only_when_it_changes(hook_env):
    state = {'r': ('waiting', 'Waiting for db')}
    status.check(lambda: state['r'])
    status.assess_status()
    status.assess_status()
    assert hook_env.statuses == [('waiting', 'Waiting for db')]
    state['r'] = None
    status.assess_status()
    assert hook_env.statuses[-1] == ('active', 'Ready')
    assert unitdata.kv().get(status.LAST_KEY) == ['active', 'Ready']


def test_version_set_once_and_only_after_version_hooks(hook_env):
    status.version_source(lambda: '1.2.3')
    hook_env.hook = 'update-status'
    status.assess_status()
    assert hook_env.versions == []
    hook_env.hook = 'config-changed'
    status.assess_status()
    status.assess_status()
    assert hook_env.versions == ['1.2.3']


@pytest.fixture
def no_handlers(monkeypatch):
    from charms.reactive import bus
    monkeypatch.setattr(bus.Handler, '_HANDLERS', {})
    monkeypatch.setattr(status, '_idle', {'enabled': False, 'peers': False})


@pytest.mark.parametrize('decorate, concerns_peers', [
    (lambda: reactive.when('cluster.changed'), True),
    (lambda: reactive.when_not('endpoint.cluster.changed.address'), True),
    (lambda: reactive.hook('cluster-relation-changed'), True),
    (lambda: reactive.when('website.connected'), False),
    (lambda: reactive.hook('config-changed'), False),
])
def test_a_charm_skipping_peer_changes_may_not_handle_peer_data(
        no_handlers, decorate, concerns_peers):
    def on_peers():
        pass
    decorate()(on_peers)
    status.idle_fast_path()
    status.check_peer_fast_path()
    status.idle_fast_path(peer_changes=True)
    if not concerns_peers:
        status.check_peer_fast_path()
        return
    with pytest.raises(status.PeerFastPathMisuse, match='on_peers'):
        status.check_peer_fast_path()


def test_every_charm_skipping_peer_changes_has_no_peer_handlers(no_handlers):
    """What a hook of each charm would refuse, at unit-test time."""
    import glob
    import importlib.util
    import os
    top = os.path.join(os.path.dirname(__file__), '..', '..', '..')
    checked = 0
    for path in sorted(glob.glob(os.path.join(top, 'charms', '*', 'reactive', '*.py')) +
                       glob.glob(os.path.join(top, 'tests', 'charms', '*', 'reactive', '*.py'))):
        with open(path) as f:
            if 'peer_changes=True' not in f.read():
                continue
        spec = importlib.util.spec_from_file_location('reactive_' + os.path.basename(path)[:-3],
                                                      path)
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
        status.check_peer_fast_path()
        checked += 1
    assert checked, 'no charm uses the peer fast path: nothing checked'


def test_the_layer_declares_its_peer_relation_and_no_charm_names_another_one_so():
    """charm build merges the layer's metadata.yaml into each charm's: a charm
    declaring ``cluster`` otherwise would replace the layer's interface."""
    import glob
    import os
    import yaml
    from charms.layer.stackyard import restart
    top = os.path.join(os.path.dirname(__file__), '..', '..', '..')
    with open(os.path.join(top, 'layers', 'stackyard', 'metadata.yaml')) as f:
        layer_peer = {'interface': 'stackyard-peers'}
        assert yaml.safe_load(f)['peers'] == {restart.PEER: layer_peer}
    charms = []
    for layer_yaml in sorted(glob.glob(os.path.join(top, 'charms', '*', 'layer.yaml')) +
                             glob.glob(os.path.join(top, 'tests', 'charms', '*', 'layer.yaml'))):
        with open(layer_yaml) as f:
            if 'layer:stackyard' not in (yaml.safe_load(f) or {}).get('includes', []):
                continue
        with open(os.path.join(os.path.dirname(layer_yaml), 'metadata.yaml')) as f:
            meta = yaml.safe_load(f)
        assert not any(restart.PEER in (meta.get(kind) or {})
                       for kind in ('provides', 'requires')), layer_yaml
        assert (meta.get('peers') or {}).get(restart.PEER, layer_peer) == layer_peer, layer_yaml
        charms.append(meta['name'])
    assert {'afs-mirror', 'stackyard-test', 'stackyard-probe'} <= set(charms)
