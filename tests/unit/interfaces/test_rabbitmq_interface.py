"""interface:rabbitmq: consumers' requests are validated, answers go per relation."""

import pytest
from charmhelpers.core import unitdata
from charms.reactive import is_flag_set

import iface


requires = iface.load('rabbitmq', 'requires')
provides = iface.load('rabbitmq', 'provides')


@pytest.fixture(autouse=True)
def unit_state(tmp_path, monkeypatch):
    logged = []
    monkeypatch.setattr(provides.hookenv, 'log', lambda msg, level=None: logged.append(msg))
    monkeypatch.setattr(requires.hookenv, 'log', lambda msg, level=None: logged.append(msg))
    yield logged
    unitdata._KV = None


class Unit:
    def __init__(self, name, data):
        self.unit_name, self.received_raw = name, data


class Relation:
    def __init__(self, rid, app, units):
        self.relation_id, self.application_name, self.joined_units = rid, app, units
        self.to_publish_raw = {}


def endpoint(cls, name, relations):
    ep = cls.__new__(cls)
    ep._endpoint_name = name
    ep._rels = relations
    type(ep).relations = property(lambda self: self._rels)
    type(ep).is_joined = property(lambda self: any(r.joined_units for r in self._rels))
    return ep


def test_parse_request_reads_upstream_keys():
    assert provides.parse_request({'username': 'nova', 'vhost': 'openstack'}) == {
        'username': 'nova', 'vhost': 'openstack', 'admin': False, 'ttl': None}
    got = provides.parse_request({'username': 'heat', 'vhost': 'openstack', 'admin': 'False',
                                  'ttlname': 'heat_expiry', 'ttlreg': 'heat-engine-listener',
                                  'ttl': '3600000'})
    # upstream: any non-empty admin value counts
    assert got['admin'] is True
    assert got['ttl'] == {'name': 'heat_expiry', 'regex': 'heat-engine-listener',
                          'ms': 3600000}


@pytest.mark.parametrize('data', [{}, {'username': 'nova'}, {'username': '', 'vhost': 'x'}])
def test_parse_request_not_asked_yet(data):
    assert provides.parse_request(data) is None


@pytest.mark.parametrize('data, reason', [
    ({'username': 'nova; rm -rf /', 'vhost': 'openstack'}, 'username'),
    ({'username': '-nova', 'vhost': 'openstack'}, 'username'),
    ({'username': 'nova', 'vhost': '/'}, 'vhost'),
    ({'username': 'nova', 'vhost': 'a' * 65}, 'vhost'),
    ({'username': 'nova', 'vhost': 'open\nstack'}, 'vhost'),
    ({'username': 'guest', 'vhost': 'openstack'}, 'reserved'),
    ({'username': 'stackyard-bench', 'vhost': 'openstack'}, 'reserved'),
    ({'username': 'heat', 'vhost': 'openstack', 'ttlname': 'x'}, 'go together'),
    ({'username': 'heat', 'vhost': 'o', 'ttlname': 'x', 'ttlreg': '(', 'ttl': '1'}, 'regular'),
    ({'username': 'heat', 'vhost': 'o', 'ttlname': 'x', 'ttlreg': 'a', 'ttl': '-1'}, 'ttl'),
    ({'username': 'heat', 'vhost': 'o', 'ttlname': 'x y', 'ttlreg': 'a', 'ttl': '1'}, 'ttlname'),
])
def test_parse_request_refuses_hostile_data(data, reason):
    with pytest.raises(provides.Invalid, match=reason):
        provides.parse_request(data)


def test_requests_one_per_relation_bad_ones_logged_once(unit_state):
    good = Relation('amqp:1', 'nova', [Unit('nova/0', {'username': 'nova', 'vhost': 'os'}),
                                       Unit('nova/1', {'username': 'nova', 'vhost': 'os'})])
    bad = Relation('amqp:2', 'evil', [Unit('evil/0', {'username': 'x y', 'vhost': 'os'})])
    ep = endpoint(provides.RabbitMQProvides, 'amqp', [good, bad])
    assert ep.requests() == [{'username': 'nova', 'vhost': 'os', 'admin': False, 'ttl': None,
                              'relation_id': 'amqp:1', 'application': 'nova'}]
    ep.requests()
    assert len(unit_state) == 1 and 'evil/0 (amqp:2)' in unit_state[0]
    ep.manage_flags()
    assert is_flag_set('amqp.connected')


def test_publish_and_withdraw_touch_only_that_relation():
    one, two = Relation('amqp:1', 'a', [Unit('a/0', {})]), Relation('amqp:2', 'b', [])
    ep = endpoint(provides.RabbitMQProvides, 'amqp', [one, two])
    ep.publish('amqp:1', '10.0.0.5', 'pw')
    assert one.to_publish_raw == {'hostname': '10.0.0.5', 'password': 'pw'}
    assert two.to_publish_raw == {}
    ep.withdraw('amqp:1')
    assert one.to_publish_raw == {'hostname': None, 'password': None}


def test_requires_lists_answering_hosts_and_flags():
    rel = Relation('amqp:3', 'rabbitmq', [
        Unit('rabbitmq/1', {'hostname': '10.0.0.2', 'password': 'pw'}),
        Unit('rabbitmq/0', {'hostname': '10.0.0.1', 'password': 'pw'}),
        Unit('rabbitmq/2', {'hostname': '10.0.0.3'}),              # not serving yet
        Unit('rabbitmq/3', {'hostname': 'a b', 'password': 'pw'})])  # malformed
    ep = endpoint(requires.RabbitMQRequires, 'amqp', [rel])
    assert ep.hosts() == ['10.0.0.1', '10.0.0.2']
    assert ep.password() == 'pw'
    ep.manage_flags()
    assert is_flag_set('amqp.connected') and is_flag_set('amqp.available')
    ep.request_access('probe', 'probe')
    assert rel.to_publish_raw == {'username': 'probe', 'vhost': 'probe'}


def test_requires_not_available_without_answers():
    ep = endpoint(requires.RabbitMQRequires, 'amqp',
                  [Relation('amqp:3', 'rabbitmq', [Unit('rabbitmq/0', {})])])
    ep.manage_flags()
    assert is_flag_set('amqp.connected') and not is_flag_set('amqp.available')
