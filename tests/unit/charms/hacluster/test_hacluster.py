"""hacluster: VIP checks, pacemaker status parsing, crm rendering, membership."""

import importlib.util
import ipaddress
import json
import os
import re

import pytest
from charmhelpers.core import unitdata

from charms.layer.hacluster import cluster, crm, resources, vips

TOP = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..')
spec = importlib.util.spec_from_file_location(
    'hacluster_iface_provides', os.path.join(TOP, 'interfaces', 'hacluster', 'provides.py'))
provides = importlib.util.module_from_spec(spec)
spec.loader.exec_module(provides)
spec = importlib.util.spec_from_file_location(
    'hacluster_iface_requires', os.path.join(TOP, 'interfaces', 'hacluster', 'requires.py'))
requires = importlib.util.module_from_spec(spec)
spec.loader.exec_module(requires)

NETWORKS = [('eth0', ipaddress.ip_interface('10.157.83.10/24')),
            ('eth0', ipaddress.ip_interface('fd42::10/64'))]


#: What this unit's node said in its peer bag (``hacluster-online``), last first.
ONLINE = []


@pytest.fixture(autouse=True)
def unit_state(tmp_path, monkeypatch):
    monkeypatch.setenv('UNIT_STATE_DB', str(tmp_path / 'state.db'))
    monkeypatch.setattr(unitdata, '_KV', None)
    monkeypatch.setattr(cluster, 'publish_online', lambda online: ONLINE.insert(0, online))
    monkeypatch.setattr(crm, 'node_name', lambda: 'm-1')
    yield
    unitdata._KV = None


def request_for(*addresses, **kw):
    return provides.parse_request({
        'json_' + k: requires.encode(v)
        for k, v in requires.vip_request('web', addresses, **kw).items() if v})


def test_vip_inside_the_machine_network_passes():
    assert vips.problems(request_for('10.157.83.160'), NETWORKS) == []
    assert vips.problems(request_for('fd42::99'), NETWORKS) == []
    name = requires.vip_resource_name('web', '10.157.83.160')
    assert vips.addresses(request_for('10.157.83.160')) == {name: '10.157.83.160'}


@pytest.mark.parametrize('address, reason', [
    ('192.0.2.10', "vip 192.0.2.10 of res_web_.*_vip is outside this machine's networks "
                   r'\(eth0 10.157.83.0/24\)'),
    ('10.157.83.10', 'is an address of this machine'),
    ('fd43::1', 'outside'),
])
def test_bad_vips_are_named(address, reason):
    found = vips.problems(request_for(address), NETWORKS)
    assert len(found) == 1
    assert re.search(reason, found[0]), found


def test_vip_on_a_named_nic():
    assert vips.problems(request_for('192.0.2.10', nic='eth0', cidr_netmask=24), NETWORKS) == []
    found = vips.problems(request_for('192.0.2.10', nic='eth9', cidr_netmask=24), NETWORKS)
    assert found and 'no interface eth9' in found[0]


def test_ipaddr2_without_ip_is_refused():
    request = provides.parse_request({'json_resources': '{"r": "ocf:heartbeat:IPaddr2"}'})
    assert vips.problems(request, NETWORKS) == ['r (ocf:heartbeat:IPaddr2) has no ip parameter']


def test_params_parsing():
    assert vips.params('params ip="10.0.0.1" nic=eth0 op monitor interval="10s" '
                       'meta a=b') == {'ip': '10.0.0.1', 'nic': 'eth0'}


def test_local_networks_reads_ip_json(monkeypatch):
    out = json.dumps([
        {'ifname': 'lo', 'addr_info': [{'family': 'inet', 'local': '127.0.0.1',
                                        'prefixlen': 8, 'scope': 'host'}]},
        {'ifname': 'eth0', 'addr_info': [{'family': 'inet', 'local': '10.1.2.3',
                                          'prefixlen': 24, 'scope': 'global'},
                                         # a VIP held here (IPaddr2 adds it as secondary)
                                         {'family': 'inet', 'local': '10.1.2.150',
                                          'prefixlen': 24, 'scope': 'global',
                                          'secondary': True}]}])

    class Done:
        stdout = out
    monkeypatch.setattr(vips.subprocess, 'run', lambda *a, **k: Done)
    assert vips.local_networks() == [('eth0', ipaddress.ip_interface('10.1.2.3/24'))]


CRM_MON = '''<pacemaker-result api-version="2.25" request="crm_mon">
  <summary>
    <current_dc present="true" name="m-1" id="2" with_quorum="true"/>
  </summary>
  <nodes>
    <node name="m-0" id="1" online="true" standby="true" resources_running="0"/>
    <node name="m-1" id="2" online="true" standby="false" resources_running="2"/>
    <node name="m-2" id="3" online="false" standby="false" resources_running="0"/>
  </nodes>
  <resources>
    <group id="grp_web_vips" number_resources="1">
      <resource id="res_web_1_vip" resource_agent="ocf:heartbeat:IPaddr2" role="Started"
                active="true" failed="false"><node name="m-1" id="2"/></resource>
    </group>
    <clone id="cl_x">
      <resource id="res_x:0" resource_agent="lsb:haproxy" role="Started" active="true"
                failed="false"><node name="m-1" id="2"/></resource>
      <resource id="res_x:1" resource_agent="lsb:haproxy" role="Stopped" active="false"/>
    </clone>
    <resource id="res_bad" resource_agent="lsb:y" role="Started" active="true" failed="true">
      <node name="m-1" id="2"/></resource>
  </resources>
  <node_history><node name="m-1"><resource_history id="res_web_1_vip"/></node></node_history>
</pacemaker-result>'''


def test_parse_status():
    status = crm.parse_status(CRM_MON)
    assert status['dc'] and status['quorum']
    assert status['nodes']['m-0'] == {'online': True, 'standby': True, 'running': 0}
    assert not status['nodes']['m-2']['online']
    assert status['resources']['res_web_1_vip']['nodes'] == ['m-1']
    assert status['resources']['res_x']['nodes'] == ['m-1']
    assert status['ids'] >= {'grp_web_vips', 'cl_x', 'res_x', 'res_web_1_vip', 'res_bad'}
    assert crm.not_running(status, ['res_web_1_vip', 'res_bad', 'res_gone']) == [
        'res_bad', 'res_gone']
    assert crm.not_running(None, ['a']) == ['a']


def test_render_orders_statements_and_one_line_each():
    request = provides.parse_request({
        'json_resources': '{"res_b": "lsb:haproxy", "res_a": "ocf:heartbeat:IPaddr2"}',
        'json_resource_params': '{"res_a": "params ip=\\"10.0.0.1\\""}',
        'json_groups': '{"grp": "res_a"}', 'json_clones': '{"cl_b": "res_b"}',
        'json_colocations': '{"co": "inf: grp cl_b"}', 'json_orders': '{"o": "inf: grp cl_b"}'})
    lines = crm.render(request).splitlines()
    assert lines == crm.PROPERTIES.splitlines() + [
                     'primitive res_a ocf:heartbeat:IPaddr2 params ip="10.0.0.1"',
                     'primitive res_b lsb:haproxy',
                     'group grp res_a', 'clone cl_b res_b', 'colocation co inf: grp cl_b',
                     'order o inf: grp cl_b']
    assert crm.digest(request) != crm.digest(dict(request, delete_resources=['x']))


def test_parse_node():
    good = {'name': 'yard-m-0', 'address': '10.157.83.10', 'id': 1}
    assert cluster.parse_node(json.dumps(good)) == good
    for bad in [None, '', 'x', '{}', json.dumps(dict(good, address='nope')),
                json.dumps(dict(good, name='a b')), json.dumps(dict(good, id=0)),
                json.dumps(dict(good, id='1'))]:
        assert cluster.parse_node(bad) is None
    assert cluster.node_id('hacluster/0') == 1 and cluster.node_id('hacluster/11') == 12


class Unit:
    def __init__(self, name, data):
        self.unit_name, self.received_raw = name, data


class Peers:
    def __init__(self, units):
        self.all_joined_units = units
        self.relations = []


def test_members_and_context_wait_for_cluster_count(monkeypatch):
    monkeypatch.setattr(cluster.hookenv, 'local_unit', lambda: 'hacluster/0')
    monkeypatch.setattr(cluster.hookenv, 'unit_private_ip', lambda: '10.0.0.1')
    monkeypatch.setattr(cluster.hookenv, 'service_name', lambda: 'hacluster')
    monkeypatch.setattr(cluster.socket, 'gethostname', lambda: 'm-0')
    node = {'name': 'm-1', 'address': '10.0.0.2', 'id': 2}
    units = [Unit('hacluster/1', {cluster.NODE_KEY: json.dumps(node)}),
             # claims another unit's id: left out
             Unit('hacluster/2', {cluster.NODE_KEY: json.dumps(dict(node, name='m-2'))})]
    monkeypatch.setattr(cluster, 'peers', lambda: Peers(units))
    monkeypatch.setattr(cluster, 'cluster_count', lambda: 3)
    monkeypatch.setattr(cluster, 'authkey', lambda: b'k' * 128)
    assert [n['id'] for n in cluster.members()] == [1, 2]
    ctx = cluster.ClusterContext()
    assert not ctx and ctx.missing_message.startswith('1 more unit(s) to form the cluster')
    units[1].received_raw = {cluster.NODE_KEY: json.dumps(
        {'name': 'm-2', 'address': '10.0.0.3', 'id': 3})}
    ctx = cluster.ClusterContext()
    assert ctx['nodes'][2]['address'] == '10.0.0.3' and ctx['two_node'] is False
    monkeypatch.setattr(cluster, 'authkey', lambda: None)
    assert not cluster.ClusterContext()


def test_corosync_template_renders_every_node():
    import jinja2
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(
        os.path.join(TOP, 'charms', 'hacluster', 'templates')),
        keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    text = env.get_template('corosync.conf.j2').render(
        cluster_name='hacluster', two_node=True,
        nodes=[{'name': 'm-0', 'address': '10.0.0.1', 'id': 1},
               {'name': 'm-1', 'address': '10.0.0.2', 'id': 2}])
    assert 'transport: knet' in text and 'two_node: 1' in text
    assert text.count('ring0_addr:') == 2 and 'nodeid: 2' in text


class Principal:
    def __init__(self, data):
        self.data, self.clustered = data, None
        self.is_joined = True
        self.all_joined_units = [Unit('web/0', data)]

    def problem(self):
        try:
            provides.parse_request(self.data)
        except provides.Invalid as e:
            return str(e)

    def request(self):
        return provides.parse_request(self.data)

    def set_clustered(self, value):
        self.clustered = value


def test_configure_reports_clustered_only_when_running(monkeypatch):
    principal = Principal({'json_' + k: requires.encode(v) for k, v in
                           requires.vip_request('web', ['10.157.83.160']).items()})
    name = requires.vip_resource_name('web', '10.157.83.160')
    monkeypatch.setattr(resources, 'principal', lambda: principal)
    monkeypatch.setattr(resources.vips, 'local_networks', lambda: NETWORKS)
    monkeypatch.setattr(resources.crm, 'disable_services', lambda names: None)
    monkeypatch.setattr(resources.hookenv, 'is_leader', lambda: False)
    running = crm.parse_status(CRM_MON)
    running['resources'][name] = {'nodes': ['m-1']}
    monkeypatch.setattr(resources.crm, 'status', lambda: running)
    resources.configure()
    assert principal.clustered is True and ONLINE[0] is True
    assert resources.report()['where'] == {name: ['m-1']}
    assert resources.report()['online'] == ['m-0', 'm-1']
    running['resources'][name]['nodes'] = []
    resources.configure()
    assert principal.clustered is False
    assert resources.report()['waiting'] == 'resources not running yet: ' + name


def test_configure_refuses_a_vip_outside_the_network(monkeypatch):
    principal = Principal({'json_' + k: requires.encode(v) for k, v in
                           requires.vip_request('web', ['192.0.2.10']).items()})
    monkeypatch.setattr(resources, 'principal', lambda: principal)
    monkeypatch.setattr(resources.vips, 'local_networks', lambda: NETWORKS)
    monkeypatch.setattr(resources.hookenv, 'is_leader', lambda: True)
    monkeypatch.setattr(resources.crm, 'apply', lambda r: pytest.fail('applied a bad VIP'))
    resources.configure()
    assert principal.clustered is False
    assert 'vip 192.0.2.10' in resources.report()['problem']


def test_configure_refuses_hostile_data(monkeypatch):
    principal = Principal({'json_resources': '{"r": "ocf:heartbeat:IPaddr2\\nx"}'})
    monkeypatch.setattr(resources, 'principal', lambda: principal)
    monkeypatch.setattr(resources.hookenv, 'is_leader', lambda: True)
    monkeypatch.setattr(resources.crm, 'apply', lambda r: pytest.fail('applied hostile data'))
    resources.configure()
    assert resources.report()['problem'].startswith('request from web/0 refused: resources')


CAPTURED = os.path.join(os.path.dirname(__file__), 'captured')
NODE = 'yard-t-hacluster-e2cd-{}'.format
CAPTURED_VIP = '10.157.83.192'


def captured(name):
    """A real ``crm_mon -1 --output-as=xml`` (captured/README.md says where), parsed."""
    with open(os.path.join(CAPTURED, name)) as f:
        return crm.parse_status(f.read())


def test_online_nodes_from_real_crm_mon_output():
    three, two = captured('crm_mon_3of3.xml'), captured('crm_mon_2of3.xml')
    alone = captured('crm_mon_1of3_noquorum.xml')
    assert crm.online_nodes(three) == [NODE(0), NODE(1), NODE(2)]
    assert crm.online_nodes(two) == [NODE(0), NODE(1)]
    assert crm.online_nodes(alone) == [NODE(0)] and crm.online_nodes(None) == []
    assert crm.ready(three, online=3, node=NODE(2))
    assert crm.ready(two, online=2, node=NODE(0))
    assert not crm.ready(two, online=3) and not crm.ready(two, node=NODE(2))
    assert not crm.ready(alone, node=NODE(0))                 # online, without quorum
    assert crm.ready(alone, node=NODE(0), quorum=False)       # what start waits for
    stopped = captured('crm_mon_stopped_node.xml')            # pacemaker stopped here
    assert not stopped['dc'] and crm.online_nodes(stopped) == []


def test_galera_monitor_clone_in_real_crm_mon_output():
    three, two = captured('crm_mon_clone_3of3.xml'), captured('crm_mon_2of3.xml')
    assert sorted(three['resources']['res_mysql_monitor']['nodes']) == [NODE(0), NODE(1), NODE(2)]
    assert three['resources']['res_mysql_monitor']['agent'] == 'ocf:stackyard:galera-monitor'
    assert 'cl_mysql_monitor' in three['ids']
    assert sorted(two['resources']['res_mysql_monitor']['nodes']) == [NODE(0), NODE(1)]
    alone = captured('crm_mon_1of3_noquorum.xml')
    assert crm.not_running(alone, ['res_mysql_monitor']) == ['res_mysql_monitor']


@pytest.mark.parametrize('name, count, expected', [
    ('crm_mon_3of3.xml', 3, None),
    ('crm_mon_2of3.xml', 3, '2 of cluster_count 3 nodes online in pacemaker'),
    ('crm_mon_2of3.xml', 0, None),                    # configured before: quorum is enough
    ('crm_mon_1of3_noquorum.xml', 0, 'pacemaker has no quorum yet'),
    (None, 3, 'pacemaker has no quorum yet'),
])
def test_formation_waits_for_online_nodes(name, count, expected):
    assert resources.formation_wait(captured(name) if name else None, count) == expected


def vip_principal(vip):
    return Principal({'json_' + k: requires.encode(v) for k, v in
                      requires.vip_request('web', [vip]).items()})


@pytest.fixture
def on_node(monkeypatch):
    """Configure on a node of the captured cluster with a given crm_mon output."""
    from charms.layer.hacluster import checks
    principal = vip_principal(CAPTURED_VIP)
    monkeypatch.setattr(resources, 'principal', lambda: principal)
    monkeypatch.setattr(resources.vips, 'local_networks', lambda: NETWORKS[:1] + [
        ('eth0', ipaddress.ip_interface('10.157.83.10/24'))])
    monkeypatch.setattr(resources.crm, 'disable_services', lambda names: None)
    monkeypatch.setattr(resources.hookenv, 'is_leader', lambda: False)
    monkeypatch.setattr(cluster, 'members', lambda: [{}, {}, {}])

    def configure(node, name):
        monkeypatch.setattr(crm, 'node_name', lambda: NODE(node))
        monkeypatch.setattr(resources.crm, 'status', lambda: captured(name) if name else None)
        resources.configure()
        return principal.clustered, resources.report(), checks.ready_message()
    return configure


def test_clustered_only_while_this_node_is_online_with_quorum(on_node):
    clustered, report, message = on_node(0, 'crm_mon_3of3.xml')
    assert clustered is True and ONLINE[0] is True
    assert message == 'Clustered (3 of 3 nodes online): VIP {} on {}'.format(
        CAPTURED_VIP, NODE(1))
    clustered, report, message = on_node(0, 'crm_mon_2of3.xml')
    assert clustered is True
    assert message.startswith('Clustered (2 of 3 nodes online): VIP ')
    # The node whose pacemaker stopped: crm_mon fails there (status None) ...
    clustered, report, _ = on_node(2, None)
    assert clustered is False and ONLINE[0] is False
    assert report['waiting'] == 'this node ({}) is not online with quorum in ' \
        'pacemaker'.format(NODE(2))
    # ... and seen from a node that is online, it is not.
    clustered, report, _ = on_node(2, 'crm_mon_2of3.xml')
    assert clustered is False and ONLINE[0] is False
    # Online, but alone without quorum: nothing runs, and this node says so.
    clustered, report, message = on_node(0, 'crm_mon_1of3_noquorum.xml')
    assert clustered is False and ONLINE[0] is True
    assert report['waiting'].startswith('this node ({}) is not online with quorum'.format(
        NODE(0)))
    assert message == 'Cluster formed (1 of 3 nodes online); no resources requested'


def test_leader_configures_first_only_with_cluster_count_online(on_node, monkeypatch):
    applied, bag = [], {}
    monkeypatch.setattr(resources.hookenv, 'is_leader', lambda: True)
    monkeypatch.setattr(cluster, 'cluster_count', lambda: 3)
    monkeypatch.setattr(cluster, 'app_value', lambda key: bag.get(key))
    monkeypatch.setattr(cluster, 'set_app_value', lambda key, value: bag.update({key: value}))
    monkeypatch.setattr(resources.restart, 'settings', lambda config: (1, 0, 120))
    monkeypatch.setattr(resources.options, 'config', lambda: {})
    monkeypatch.setattr(resources.crm, 'apply', lambda request: applied.append(request))
    # The real ready() on the status as it is (no polling in a unit test).
    monkeypatch.setattr(resources.crm, 'wait_ready', lambda timeout, online=0, node=None,
                        quorum=True: crm.status() if crm.ready(crm.status(), online, node,
                                                               quorum) else None)
    clustered, report, _ = on_node(0, 'crm_mon_2of3.xml')
    assert not applied and report['waiting'] == \
        '2 of cluster_count 3 nodes online in pacemaker'
    clustered, report, _ = on_node(0, 'crm_mon_3of3.xml')
    assert len(applied) == 1 and clustered is True and bag[cluster.APPLIED_KEY]
    clustered, report, _ = on_node(0, 'crm_mon_2of3.xml')     # a node died afterwards
    assert len(applied) == 2 and clustered is True
