"""hacluster's actions: pause/resume with pacemaker standby, cleanup, status."""

import json
import time

from charmhelpers.core import host

from charms.layer.stackyard import actions, operations, options, restart
from charms.layer.hacluster import crm, paths, resources


def _timeout():
    return restart.settings(options.config())[2]


def _wait_empty(node, timeout, t0):
    """Poll until no resource runs on ``node``; the seconds since ``t0``, or None."""
    while time.monotonic() - t0 < timeout:
        now = crm.status()
        if now and now['nodes'].get(node, {}).get('running', 1) == 0:
            return time.monotonic() - t0
        time.sleep(0.5)
    return None


@actions.action('pause')
def pause(params):
    """Standby first (the resources move), then stop the services and hold restarts."""
    node = crm.node_name()
    before = crm.status()
    if before is None:
        operations.pause()
        return {'message': 'Paused (pacemaker was not running)'}
    here = sorted(name for name, r in before['resources'].items() if node in r['nodes'])
    t0 = time.monotonic()
    crm.standby(True)
    took = _wait_empty(node, _timeout(), t0)
    if took is None:
        raise actions.ActionFailed('node {} is in standby but still runs resources after {} s; '
                                   'services left running'.format(node, _timeout()), done=True)
    after = crm.status() or {'resources': {}}
    moved = {name: after['resources'].get(name, {}).get('nodes', []) for name in here}
    operations.pause()
    return {'message': 'Paused: {} in standby, {} resource(s) moved off in {:.1f} s, '
                       'corosync and pacemaker stopped'.format(node, len(here), took),
            'moved': json.dumps(moved, sort_keys=True), 'seconds': '{:.1f}'.format(took)}


@actions.action('resume')
def resume(params):
    """Start the services, wait for quorum (bounded), take the node out of standby."""
    results = operations.resume()
    if crm.wait_ready(_timeout()) is None:
        raise actions.ActionFailed('resumed, but pacemaker has no quorum after {} s; node '
                                   'still in standby'.format(_timeout()), done=True)
    crm.standby(False)
    resources.configure()   # online again: the report, clustered, the peers told
    failing = [r for r in results if not r['ok']]
    if failing:
        raise actions.ActionFailed('resumed, but health checks fail: ' + '; '.join(
            '{} {} ({})'.format(r['service'], r['check'], r['detail']) for r in failing),
            done=True)
    return {'message': 'Resumed: {} online'.format(crm.node_name())}


@actions.action('cleanup')
def cleanup(params):
    """``crm resource cleanup`` of one resource or all."""
    resource = (params.get('resource') or '').strip()
    if resource and not crm.NAME.match(resource):
        raise actions.ActionFailed('resource {!r} is not a resource name'.format(resource))
    if not host.service_running(paths.PACEMAKER):
        raise actions.ActionFailed('pacemaker is not running on this unit')
    try:
        output = crm.cleanup(resource or None)
    except crm.CrmError as e:
        raise actions.ActionFailed(str(e))
    return {'message': 'Cleaned up {}'.format(resource or 'every resource'),
            'output': output.strip()}


@actions.action('status')
def status(params):
    """Nodes and resources as pacemaker reports them."""
    now = crm.status()
    if now is None:
        raise actions.ActionFailed('pacemaker is not running on this unit')
    text = crm.run(['crm_mon', '-1', '--output-as=text'], timeout=20)
    resources = {name: r['nodes'] for name, r in now['resources'].items()}
    return {'nodes': json.dumps(now['nodes'], sort_keys=True),
            'resources': json.dumps(resources, sort_keys=True),
            'quorum': str(now['quorum']).lower(), 'crm-mon': text.strip()}
