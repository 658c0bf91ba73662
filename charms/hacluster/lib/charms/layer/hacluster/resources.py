"""The principal's resources: validated, configured by the leader, reported as ``clustered``.

What the last pass found is kept in the unit's kv (``hacluster.report``) for
the status check: ``{"problem": str or None, "waiting": str or None,
"vips": {resource: address}, "where": {resource: [node]}, "clustered": bool}``.
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


def _save(report, ha):
    unitdata.kv().set(REPORT_KEY, report)
    if ha is not None:
        ha.set_clustered(report['clustered'])


def forget():
    """Pacemaker is stopped here: no report, not clustered."""
    ha = principal()
    _save({'problem': None, 'waiting': None, 'vips': {}, 'where': {}, 'clustered': False}, ha)


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


def _leader_configure(request):
    """Leader: wait (bounded) for quorum, configure, wait (bounded) for the resources.

    :returns: a reason to wait, or None
    """
    timeout = restart.settings(options.config())[2]
    if crm.wait_ready(timeout) is None:
        return 'pacemaker has no quorum yet'
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
    report = {'problem': problem, 'waiting': None, 'vips': {}, 'where': {},
              'clustered': False}
    if request is None or not request['resources']:
        _save(report, ha)
        return
    hand_over_services(request)
    if hookenv.is_leader():
        try:
            report['waiting'] = _leader_configure(request)
        except crm.CrmError as e:
            report['problem'] = 'pacemaker refused the resources: {}'.format(e)
            _save(report, ha)
            return
    check(request, report)
    _save(report, ha)


def check(request, report):
    """Fill ``report`` from pacemaker's status: where each resource runs, clustered."""
    now = crm.status()
    missing = crm.not_running(now, request['resources'])
    report['vips'] = vips.addresses(request)
    report['where'] = {name: (now['resources'].get(name, {}).get('nodes') if now else [])
                       for name in request['resources']}
    report['clustered'] = not missing
    if missing and not report['waiting']:
        report['waiting'] = 'resources not running yet: {}'.format(', '.join(missing))


def report():
    """The last report, or None."""
    return unitdata.kv().get(REPORT_KEY)
