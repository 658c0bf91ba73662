"""Interface flags are managed in ``manage_flags`` from the relation's state."""

import pytest
from charms.reactive import clear_flag, is_flag_set, set_flag

import iface


@pytest.fixture(autouse=True)
def unit_state(tmp_path, monkeypatch):
    yield


class Unit:
    def __init__(self, name, data):
        self.unit_name, self.received_raw = name, data


def endpoint(cls, name, units, relations=1):
    """An Endpoint of ``cls`` named ``name`` whose joined units are ``units``."""
    ep = cls.__new__(cls)
    ep._endpoint_name = name
    ep._relations = list(range(relations))
    ep._all_joined_units = units
    type(ep).is_joined = property(lambda self: bool(self._all_joined_units))
    type(ep).all_joined_units = property(lambda self: self._all_joined_units)
    type(ep).relations = property(lambda self: self._relations)
    return ep


def test_http_provides_connected_follows_joined_units():
    provides = iface.load('http', 'provides')
    ep = endpoint(provides.HttpProvides, 'website', [Unit('probe/0', {})])
    ep.manage_flags()
    assert is_flag_set('website.connected')
    ep._all_joined_units = []
    ep.manage_flags()
    assert not is_flag_set('website.connected')


def test_http_requires_available_only_with_valid_data_and_changed_renamed():
    requires = iface.load('http', 'requires')
    ep = endpoint(requires.HttpRequires, 'target', [Unit('web/0', {'hostname': 'x'})])
    ep.manage_flags()
    assert is_flag_set('target.connected') and not is_flag_set('target.available')
    ep._all_joined_units = [Unit('web/0', {'hostname': '10.0.0.5', 'port': '8080'})]
    set_flag('endpoint.target.changed')
    ep.manage_flags()
    assert is_flag_set('target.available') and is_flag_set('target.changed')
    assert not is_flag_set('endpoint.target.changed')
    ep._all_joined_units = []
    ep.manage_flags()
    for flag in ('connected', 'available', 'changed'):
        assert not is_flag_set('target.' + flag), flag


def test_peers_connected_from_created_joined_from_units():
    peers = iface.load('stackyard-peers', 'peers')
    ep = endpoint(peers.StackyardPeers, 'cluster', [])
    ep.manage_flags()
    assert is_flag_set('cluster.connected') and not is_flag_set('cluster.joined')
    ep._all_joined_units = [Unit('web/1', {})]
    set_flag('endpoint.cluster.changed')
    ep.manage_flags()
    assert is_flag_set('cluster.joined') and is_flag_set('cluster.changed')
    assert not is_flag_set('endpoint.cluster.changed')
    clear_flag('cluster.changed')
    ep._relations, ep._all_joined_units = [], []
    ep.manage_flags()
    assert not is_flag_set('cluster.connected') and not is_flag_set('cluster.joined')


class Relation:
    def __init__(self, rid):
        self.relation_id = rid


class CountingUnit:
    """A joined unit whose bag counts how often it is read (each read is a relation-get)."""

    def __init__(self, name, data, rid='cluster:0'):
        self.unit_name, self._data, self.reads = name, data, 0
        self.relation = Relation(rid)

    @property
    def received(self):
        self.reads += 1
        return self._data


def joined_peers(count):
    """A joined StackyardPeers endpoint with ``count`` counting units web/1..web/count."""
    peers = iface.load('stackyard-peers', 'peers')
    units = [CountingUnit('web/{}'.format(n), {'k': str(n)}) for n in range(1, count + 1)]
    set_flag('endpoint.cluster.joined')
    return endpoint(peers.StackyardPeers, 'cluster', units), units


def peer_hook(monkeypatch, hook, remote):
    monkeypatch.setenv('JUJU_HOOK_NAME', hook)
    monkeypatch.setenv('JUJU_REMOTE_UNIT', remote)
    monkeypatch.setenv('JUJU_RELATION_ID', 'cluster:0')


def test_peers_changed_hook_reads_only_the_remote_units_bag(monkeypatch):
    ep, units = joined_peers(5)
    peer_hook(monkeypatch, 'cluster-relation-changed', 'web/3')
    ep._manage_flags()
    assert [u.reads for u in units] == [0, 0, 1, 0, 0]
    assert is_flag_set('cluster.changed')      # first sight of web/3's data
    clear_flag('cluster.changed')
    ep._manage_flags()                         # same data again: not changed
    assert not is_flag_set('cluster.changed')
    units[2]._data = {'k': 'new'}
    ep._manage_flags()
    assert is_flag_set('cluster.changed') and is_flag_set('endpoint.cluster.changed.k')
    assert [u.reads for u in units] == [0, 0, 3, 0, 0]


def test_peers_other_hooks_scan_every_bag_as_charms_reactive_does(monkeypatch):
    ep, units = joined_peers(3)
    peer_hook(monkeypatch, 'cluster-relation-joined', 'web/2')
    ep._manage_flags()
    assert [u.reads for u in units] == [1, 1, 1]
    # Before the joined flag was ever set (an upgrade to Endpoints, say),
    # even a changed hook compares every bag.
    clear_flag('endpoint.cluster.joined')
    peer_hook(monkeypatch, 'cluster-relation-changed', 'web/2')
    ep._manage_flags()
    assert [u.reads for u in units] == [2, 2, 2]
    assert is_flag_set('endpoint.cluster.joined')


def test_peers_app_bag_change_reads_no_unit_bag(monkeypatch):
    ep, units = joined_peers(3)
    peer_hook(monkeypatch, 'cluster-relation-changed', '')
    ep._manage_flags()
    assert [u.reads for u in units] == [0, 0, 0]
    assert is_flag_set('cluster.joined')
