"""The principal's resources: validated, configured by the leader, reported as ``clustered``.

What the last pass found is kept in the unit's kv (``hacluster.report``) for
the status check: ``{"problem": str or None, "waiting": str or None,
"vips": {resource: address}, "where": {resource: [node]}, "online": [node
pacemaker reports online], "clustered": bool}``.

Online means pacemaker's view (``crm_mon``), not the peers configured in
corosync.conf: the leader configures the first time only once
``cluster_count`` nodes are online with quorum (later changes need quorum
only: a dead node must not freeze the cluster's configuration), and a unit
reports ``clustered`` only while its own node is online with quorum and
every requested resource runs somewhere in the cluster.
"""

import time

from charmhelpers.core import hookenv, unitdata
from charms.reactive import endpoint_from_name

from charms.layer.stackyard import options, restart
from charms.layer.hacluster import cluster, crm, vips

REPORT_KEY = 'hacluster.report'
#: Seconds the leader waits for its resources to start after configuring them.
START_WAIT = 60


def principal():
    """The ``ha`` endpoint (the principal's side of the subordinate relation)."""
    return endpoint_from_name('ha')


def _new_report(problem=None):
    return {'problem': problem, 'waiting': None, 'vips': {}, 'where': {}, 'online': [],
            'clustered': False}


def _save(report, ha):
    unitdata.kv().set(REPORT_KEY, report)
    if ha is not None:
        ha.set_clustered(report['clustered'])
    cluster.publish_online(crm.node_name() in report['online'])


def forget():
    """Pacemaker is stopped here: no report, not clustered, not online."""
    _save(_new_report(), principal())


def validated_request(ha):
    """``(request, problem)``: the principal's request and what is wrong with it."""
    if ha is None or not ha.is_joined:
        return None, None
    problem = ha.problem()
    if problem:
        return None, 'request from {} refused: {}'.format(
            ha.all_joined_units[0].unit_name, problem)
    request = ha.request()
    found = vips.problems(request, vips.local_networks())
    if found:
        return None, '; '.join(found)
    return request, None


def hand_over_services(request):
    """Services pacemaker takes over are disabled and stopped on this node."""
    names = [s for services in request['init_services'].values() for s in services]
    names += [agent.split(':', 1)[1] for agent in request['resources'].values()
              if agent.split(':', 1)[0] in ('lsb', 'systemd')]
    crm.disable_services(sorted(set(names)))


def formation_wait(now, count):
    """Why the leader may not configure yet in ``now``, or None.

    :param count: nodes that must be online (``cluster_count`` before the
        first configuration, 0 after it)
    """
    if not now or not now['dc'] or not now['quorum']:
        return 'pacemaker has no quorum yet'
    online = len(crm.online_nodes(now))
    if online < count:
        return '{} of cluster_count {} nodes online in pacemaker'.format(online, count)
    return None


def _leader_configure(request):
    """Leader: wait (bounded) for quorum and the nodes, configure, wait for the resources.

    :returns: a reason to wait, or None
    """
    timeout = restart.settings(options.config())[2]
    count = 0 if cluster.app_value(cluster.APPLIED_KEY) else cluster.cluster_count()
    if crm.wait_ready(timeout, online=count) is None:
        return formation_wait(crm.status(), count) or 'pacemaker has no quorum yet'
    crm.apply(request)
    for _ in range(START_WAIT // 2):
        if not crm.not_running(crm.status(), request['resources']):
            break
        time.sleep(2)
    cluster.set_app_value(cluster.APPLIED_KEY, crm.digest(request))
    return None


def configure():
    """Check, configure (leader) and report the principal's request on this node."""
    ha = principal()
    request, problem = validated_request(ha)
    report = _new_report(problem)
    if request is not None and request['resources']:
        hand_over_services(request)
        if hookenv.is_leader():
            try:
                report['waiting'] = _leader_configure(request)
            except crm.CrmError as e:
                report['problem'] = 'pacemaker refused the resources: {}'.format(e)
    check(request, report, crm.status())
    _save(report, ha)


def check(request, report, now):
    """Fill ``report`` from pacemaker's status ``now``: nodes online, where each resource
    runs, clustered (this node online with quorum and every resource running)."""
    report['online'] = crm.online_nodes(now)
    if request is None or not request['resources'] or report['problem']:
        return
    missing = crm.not_running(now, request['resources'])
    report['vips'] = vips.addresses(request)
    report['where'] = {name: (now['resources'].get(name, {}).get('nodes') if now else [])
                       for name in request['resources']}
    here = crm.ready(now, node=crm.node_name())
    report['clustered'] = here and not missing
    if report['waiting']:
        return
    if not here:
        report['waiting'] = 'this node ({}) is not online with quorum in pacemaker'.format(
            crm.node_name())
    elif missing:
        report['waiting'] = 'resources not running yet: {}'.format(', '.join(missing))


def report():
    """The last report, or None."""
    return unitdata.kv().get(REPORT_KEY)
