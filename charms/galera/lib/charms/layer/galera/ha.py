"""galera behind hacluster: the VIP, a monitor of each node's Galera state, who answers the VIP.

What each unit asks of its hacluster subordinate (interfaces/hacluster,
upstream's ``json_*`` keys; names as upstream percona-cluster's):

- ``res_mysql_<sha1(vip)[:7]>_vip`` (``ocf:heartbeat:IPaddr2``) in group
  ``grp_mysql_vips``;
- ``res_mysql_monitor`` (``ocf:stackyard:galera-monitor``, the agent this
  charm installs, :data:`paths.OCF_AGENT`), cloned on every node as
  ``cl_mysql_monitor``: it sets the node attribute ``galera-synced`` to 1
  while the node is Synced and ready, 0 otherwise, and never starts or
  stops MariaDB;
- location ``loc_mysql``: the VIP group may not run on a node whose
  ``galera-synced`` is not 1; colocation ``colo_mysql``: only with a
  running monitor.  So a node whose MariaDB stops or leaves Synced (a
  rolling restart, a donor) hands the VIP to a Synced node.

Peer unit bag (``cluster`` relation): ``ha-vip-running``: the VIP this
unit's hacluster reports running (``clustered``), absent otherwise.  A unit
answers shared-db with the VIP while its own hacluster or that of a live
peer (its Galera port answers) reports it running: one hacluster unit's
stale "not clustered" (seen after add-unit) does not take the answer away,
and when the VIP stops everywhere (hacluster removed, resources stopped)
every live unit's report goes and so does the answer.
"""

import os
import socket

from charmhelpers.core import hookenv, host

from charms.layer.galera import cluster, paths

SERVICE = 'mysql'
MONITOR = 'res_mysql_monitor'
MONITOR_CLONE = 'cl_mysql_monitor'
ATTRIBUTE = 'galera-synced'
VIP_KEY = 'ha-vip-running'
# A monitor every 3 s: a stopped MariaDB moves the VIP within seconds.
MONITOR_PARAMS = 'op monitor interval="3s" timeout="20s"'


def sections(vip):
    """What to ask hacluster for besides the VIP group (``extra`` of ``request_vips``)."""
    group = 'grp_{}_vips'.format(SERVICE)
    return {
        'resources': {MONITOR: 'ocf:stackyard:galera-monitor'},
        'resource_params': {MONITOR: MONITOR_PARAMS},
        'clones': {MONITOR_CLONE: '{} meta interleave=true'.format(MONITOR)},
        'locations': {'loc_mysql': '{} rule -inf: not_defined {} or {} ne 1'.format(
            group, ATTRIBUTE, ATTRIBUTE)},
        'colocations': {'colo_mysql': 'inf: {} {}'.format(group, MONITOR_CLONE)},
    }


def request(endpoint, vip):
    """Ask ``endpoint`` (``ha``) for the VIP and the monitor; nothing when ``vip`` is empty."""
    endpoint.request_vips(SERVICE, [vip] if vip else [], extra=sections(vip) if vip else None)


def install_agent():
    """Install the OCF agent (root, 0755) when it differs from the charm's copy."""
    with open(os.path.join(hookenv.charm_dir(), 'files', 'galera-monitor'), 'rb') as f:
        content = f.read()
    try:
        with open(paths.OCF_AGENT, 'rb') as f:
            if f.read() == content and os.stat(paths.OCF_AGENT).st_mode & 0o777 == 0o755:
                return False
    except OSError:
        pass
    host.mkdir(os.path.dirname(paths.OCF_AGENT), owner='root', group='root', perms=0o755)
    host.write_file(paths.OCF_AGENT, content, owner='root', group='root', perms=0o755)
    return True


def publish_report(vip, clustered):
    """Write ``ha-vip-running`` (the VIP while this unit's hacluster runs it) to the peer bag."""
    value = vip if vip and clustered else None
    for rid in hookenv.relation_ids(cluster.PEER_ENDPOINT):
        if hookenv.relation_get(VIP_KEY, unit=hookenv.local_unit(), rid=rid) != value:
            hookenv.relation_set(relation_id=rid, relation_settings={VIP_KEY: value})


def peer_reports():
    """``{unit: vip}`` the peers report running."""
    from charms.reactive import endpoint_from_name
    endpoint = endpoint_from_name(cluster.PEER_ENDPOINT)
    return {unit.unit_name: unit.received_raw.get(VIP_KEY)
            for unit in (endpoint.all_joined_units if endpoint else [])
            if unit.received_raw.get(VIP_KEY)}


def _up(address, timeout=1.0):
    try:
        with socket.create_connection((address, cluster.GALERA_PORT), timeout=timeout):
            return True
    except OSError:
        return False


def vip_running(vip, clustered):
    """Whether hacluster runs ``vip``: this unit's says so (``clustered``), or a live peer's.

    A peer counts only while its Galera port answers: a killed unit's last
    report stays in its bag for ever.
    """
    if clustered:
        return True
    addresses = cluster.peers()
    return any(reported == vip and _up(addresses.get(unit))
               for unit, reported in sorted(peer_reports().items()) if addresses.get(unit))
