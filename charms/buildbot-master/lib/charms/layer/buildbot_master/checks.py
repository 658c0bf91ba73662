"""buildbot-master's status: what the operator must fix, or what it serves."""

from charms.layer.stackyard import status
from charms.layer.buildbot_master import contexts, jobs, services, www


@status.check
def www_check():
    """Blocked while the web UI could not be installed."""
    reason = www.failure()
    if reason and not www.installed():
        return status.BLOCKED, 'Could not install buildbot-www (retried every hook): {}'.format(
            reason)
    return None


@status.check
def config_check():
    """Blocked while the last rendered master.cfg is refused by ``buildbot checkconfig``."""
    reason = services.rejected()
    if reason:
        return status.BLOCKED, ('buildbot checkconfig refused the new master.cfg (previous '
                                'one kept): {}'.format(reason))
    return None


def ready_message():
    """``Web UI http://10.0.0.5:8010/; 3 workers; jobs: a, b``.

    Related workers, not connected ones: workers connect between hooks, so a
    count here would be stale (the web UI and ``/api/v2/workers`` show it).
    """
    found = contexts.workers()
    assigned = jobs.assign(contexts.configured_jobs(), found)
    idle = [j['name'] for j in assigned if not j['workers']]
    text = 'Web UI {}; {} workers; jobs: {}'.format(
        contexts.web_url(), len(found),
        ', '.join(j['name'] for j in assigned) or 'none')
    if idle:
        text += '; no worker with the labels of: {}'.format(', '.join(idle))
    return text
