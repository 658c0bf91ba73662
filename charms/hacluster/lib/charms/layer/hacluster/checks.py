"""hacluster's status: what blocks it, what it waits for, what it runs."""

from charmhelpers.core import hookenv
from charms.reactive import is_flag_set

from charms.layer.stackyard import status
from charms.layer.hacluster import cluster, resources


@status.check
def request_check():
    """Blocked on a refused request or a VIP that cannot be here; waiting on the cluster."""
    if is_flag_set('stackyard.services.paused'):
        return None
    _, problem = resources.validated_request(resources.principal())
    if problem:
        return status.BLOCKED, problem
    report = resources.report()
    if report and report.get('problem'):
        return status.BLOCKED, report['problem']
    if report and report.get('waiting'):
        return status.WAITING, report['waiting']
    return None


def nodes_online(report):
    """``2 of 3 nodes online``: pacemaker's online nodes of the configured members."""
    return '{} of {} nodes online'.format(len(report.get('online') or []),
                                          len(cluster.members()))


def ready_message():
    """``Clustered (3 of 3 nodes online): VIP 10.0.0.5 on node-1``, or what the cluster runs."""
    report = resources.report() or {}
    nodes = nodes_online(report)
    if not report.get('clustered'):
        return 'Cluster formed ({}); no resources requested'.format(nodes)
    vips = report.get('vips') or {}
    where = report.get('where') or {}
    if vips:
        text = ', '.join('VIP {} on {}'.format(address, ' '.join(where.get(name) or ['?']))
                         for name, address in sorted(vips.items(), key=lambda i: i[1]))
    else:
        text = '{} resources running'.format(len(where))
    hookenv.log('hacluster: {}'.format(text), level=hookenv.DEBUG)
    return 'Clustered ({}): {}'.format(nodes, text)
