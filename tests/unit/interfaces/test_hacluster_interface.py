"""interface:hacluster: a principal's VIP request round-trips; hostile data is refused."""

import hashlib
import json

import pytest
from charms.reactive import is_flag_set

import iface


requires = iface.load('hacluster', 'requires')
provides = iface.load('hacluster', 'provides')


@pytest.fixture(autouse=True)
def unit_state(tmp_path, monkeypatch):
    yield


class Unit:
    def __init__(self, name, data):
        self.unit_name, self.received_raw = name, data


class Relation:
    def __init__(self):
        self.relation_id = 'ha:7'
        self.to_publish_raw = {}


def endpoint(cls, name, units):
    ep = cls.__new__(cls)
    ep._endpoint_name = name
    ep._relations = [Relation()]
    ep._units = units
    type(ep).is_joined = property(lambda self: bool(self._units))
    type(ep).all_joined_units = property(lambda self: self._units)
    type(ep).relations = property(lambda self: self._relations)
    return ep


def sent(ep):
    """The principal's bag as the subordinate reads it (None values are removals)."""
    return {k: v for k, v in ep.relations[0].to_publish_raw.items() if v is not None}


def test_vip_request_uses_charm_helpers_names_and_params():
    name = 'res_db_{}_vip'.format(hashlib.sha1(b'10.157.83.160').hexdigest()[:7])
    sections = requires.vip_request('db', ['10.157.83.160'])
    assert sections == {
        'resources': {name: 'ocf:heartbeat:IPaddr2'},
        'resource_params': {name: 'params ip="10.157.83.160" op monitor timeout="20s" '
                                  'interval="10s" depth="0"'},
        'groups': {'grp_db_vips': name}}
    with_nic = requires.vip_request('db', ['10.0.0.5'], nic='eth0', cidr_netmask=24)
    assert 'cidr_netmask="24" nic="eth0" op monitor' in \
        list(with_nic['resource_params'].values())[0]
    six = requires.vip_request('db', ['fd00::5'])
    assert list(six['resources'].values()) == ['ocf:heartbeat:IPv6addr']
    assert 'ipv6addr="fd00::5"' in list(six['resource_params'].values())[0]
    with pytest.raises(ValueError):
        requires.vip_request('db', ['10.0.0.300'])


def test_request_round_trips_through_the_subordinate_parser():
    ep = endpoint(requires.HAClusterRequires, 'ha', [Unit('hacluster/0', {})])
    ep.request_vips('db', ['10.157.83.160', '10.157.83.161'],
                    extra={'colocations': {'c1': 'inf: grp_db_vips res_x'},
                           'resources': {'res_x': 'systemd:mariadb'},
                           'init_services': {'res_x': 'mariadb'}})
    bag = sent(ep)
    assert json.loads(bag['json_groups'])['grp_db_vips'].count('res_db_') == 2
    assert bag['json_resources'] == json.dumps(json.loads(bag['json_resources']),
                                               sort_keys=True, separators=(',', ':'))
    parsed = provides.parse_request(bag)
    assert parsed['resources']['res_x'] == 'systemd:mariadb'
    assert parsed['init_services'] == {'res_x': ['mariadb']}
    assert parsed['colocations'] == {'c1': 'inf: grp_db_vips res_x'}
    assert parsed['delete_resources'] == [] and parsed['clones'] == {}


def test_a_changed_vip_deletes_the_old_resource_until_asked_again():
    ep = endpoint(requires.HAClusterRequires, 'ha', [Unit('hacluster/0', {})])
    ep.request_vips('db', ['10.157.83.160'])
    old = requires.vip_resource_name('db', '10.157.83.160')
    ep.request_vips('db', ['10.157.83.161'])
    assert json.loads(sent(ep)['json_delete_resources']) == [old]
    ep.request_vips('db', ['10.157.83.161'])
    assert json.loads(sent(ep)['json_delete_resources']) == [old]
    ep.request_vips('db', [])
    bag = sent(ep)
    assert 'json_resources' not in bag and 'json_groups' not in bag
    assert sorted(json.loads(bag['json_delete_resources'])) == sorted(
        [old, requires.vip_resource_name('db', '10.157.83.161'), 'grp_db_vips'])
    ep.request_vips('db', ['10.157.83.160'])
    assert old not in json.loads(sent(ep)['json_delete_resources'])


def test_unknown_section_is_refused():
    ep = endpoint(requires.HAClusterRequires, 'ha', [])
    with pytest.raises(KeyError):
        ep.request({'nope': {}})


def test_clustered_flags_on_both_sides(monkeypatch):
    written = []    # relation-set at once too: an action has no hook end to flush
    monkeypatch.setattr(provides.hookenv, 'relation_set',
                        lambda rid, settings: written.append((rid, settings)))
    sub = endpoint(provides.HAClusterProvides, 'ha', [Unit('db/0', {})])
    sub.set_clustered(True)
    assert written == [('ha:7', {'clustered': 'yes'})]
    sub.set_clustered(True)
    assert len(written) == 1
    principal = endpoint(requires.HAClusterRequires, 'ha', [Unit('hacluster/0', sent(sub))])
    principal.manage_flags()
    assert is_flag_set('ha.connected') and is_flag_set('ha.clustered')
    sub.set_clustered(False)
    assert written[-1] == ('ha:7', {'clustered': None})
    principal._units = [Unit('hacluster/0', sent(sub))]
    principal.manage_flags()
    assert not is_flag_set('ha.clustered')


def test_subordinate_available_only_with_a_valid_request():
    principal = endpoint(requires.HAClusterRequires, 'ha', [])
    principal.request_vips('db', ['10.157.83.160'])
    sub = endpoint(provides.HAClusterProvides, 'hax', [Unit('db/0', sent(principal))])
    sub.manage_flags()
    assert is_flag_set('hax.connected') and is_flag_set('hax.available')
    sub._units = [Unit('db/0', {'json_resources': '{"res x": "ocf:heartbeat:IPaddr2"}'})]
    sub.manage_flags()
    assert not is_flag_set('hax.available')
    assert 'bad name' in sub.problem()
    sub._units = [Unit('db/0', {})]
    sub.manage_flags()
    assert is_flag_set('hax.connected') and not is_flag_set('hax.available')


def test_legacy_plain_keys_as_python_literals():
    # What charm-helpers' relation_set makes of dicts (rabbitmq-server's form).
    bag = {'resources': str({'res_rabbitmq_vip': 'ocf:heartbeat:IPaddr2'}),
           'resource_params': str({'res_rabbitmq_vip': 'params ip="10.0.0.9"'}),
           'corosync_bindiface': 'eth0', 'corosync_mcastport': '5406'}
    parsed = provides.parse_request(bag)
    assert parsed['resources'] == {'res_rabbitmq_vip': 'ocf:heartbeat:IPaddr2'}
    # json_ wins over the plain key.
    bag['json_resources'] = '{"res_b": "lsb:haproxy"}'
    bag['resource_params'] = '{}'
    assert provides.parse_request(bag)['resources'] == {'res_b': 'lsb:haproxy'}


@pytest.mark.parametrize('bag, reason', [
    ({'json_resources': 'not json ['}, 'not JSON nor a literal'),
    ({'json_resources': '["a"]'}, 'not an object'),
    ({'json_resources': '{"r": "ocf:heartbeat:IPaddr2; rm -rf /"}'}, 'bad resource agent'),
    ({'json_resources': '{"r": "bash:x"}'}, 'bad resource agent'),
    ({'json_resources': '{"r": "lsb:haproxy"}',
      'json_resource_params': '{"r": "params ip=\\"1\\"\\nprimitive evil lsb:x"}'},
     'bad value'),
    ({'json_resources': '{"r": "lsb:haproxy"}',
      'json_resource_params': '{"r": "params ip=\\"1"}'}, 'unbalanced quotes'),
    ({'json_resources': '{"r": "lsb:haproxy"}',
      'json_resource_params': '{"r": "params a=1 # x"}'}, 'bad value'),
    ({'json_resources': '{"r": "lsb:haproxy"}',
      'json_resource_params': '{"q": "params a=1"}'}, 'no such resource'),
    ({'json_resources': '{"r": "lsb:haproxy"}', 'json_groups': '{"g": "r s"}'},
     "no such resource 's'"),
    ({'json_resources': '{"r": "lsb:haproxy"}', 'json_clones': '{"c": "s meta a=b"}'},
     "no such resource 's'"),
    ({'json_resources': '{"r": "lsb:haproxy"}', 'json_init_services': '{"r": "a b"}'},
     'bad service name'),
    ({'json_delete_resources': '{"a": 1}'}, 'not a list'),
    ({'json_delete_resources': '["a;b"]'}, 'bad name'),
    ({'resources': "__import__('os').system('id')"}, 'not JSON nor a literal'),
])
def test_hostile_requests_are_refused(bag, reason):
    with pytest.raises(provides.Invalid, match=reason):
        provides.parse_request(bag)


def test_bad_request_is_logged_once(monkeypatch):
    logged = []
    monkeypatch.setattr(provides.hookenv, 'log', lambda msg, level=None: logged.append(msg))
    sub = endpoint(provides.HAClusterProvides, 'ha', [Unit('db/0', {'json_resources': '['})])
    assert sub.request() is None and sub.request() is None
    assert len(logged) == 1 and 'db/0' in logged[0]
