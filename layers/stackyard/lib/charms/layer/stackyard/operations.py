"""What the layer does at the end of every hook and action, and pause state.

- validators for the layer's own options;
- restart coordination (``restart.coordinate``) once the charm's handlers ran;
- health checks on update-status;
- the paused state held by the ``pause`` action.
"""

from charmhelpers.core import hookenv, unitdata
from charms.reactive import clear_flag, is_flag_set, set_flag

from charms.layer.stackyard import (
    health, idle, options, restart, services, status)

PAUSED_FLAG = 'stackyard.services.paused'
HEALTH_KEY = 'stackyard.health.failing'


def _int_range(low, high, unit=''):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return 'must be a whole number {}from {} to {}, not {!r}'.format(
                'of ' + unit if unit else '', low, high, value)
        return None
    return check


options.rule('restart-batch-size')(_int_range(0, 1000))
options.rule('restart-batch-interval')(_int_range(0, 3600))
# A hook waits at most this long (for the checks after a restart), holding
# the machine lock: a subordinate on the machine (hacluster next to keystone)
# waits as long.  10 minutes covers the slowest start we know of (a Galera
# SST of a large database takes minutes); a service slower than the timeout
# is not lost either: its unit halts and checks again at each later hook,
# giving the slot back once healthy.
MAX_HEALTH_TIMEOUT = 600
options.rule('restart-health-timeout')(_int_range(1, MAX_HEALTH_TIMEOUT, 'seconds '))


def paused():
    """Whether the operator paused this unit."""
    return is_flag_set(PAUSED_FLAG)


def pause():
    """Stop every service and hold restarts."""
    set_flag(PAUSED_FLAG)
    services.stop()


def resume():
    """Start the services again (re-rendering first) and wait until they are healthy.

    At most ``restart-health-timeout`` seconds, as after a restart: a service
    just started is rarely listening yet when its first check runs.
    """
    clear_flag(PAUSED_FLAG)
    services.reconfigure()
    return check_health(wait=restart.settings(options.config())[2])


def check_health(wait=0):
    """Run every declared health check (for up to ``wait`` seconds until they
    pass); remember the failures for status."""
    if wait > 0:
        _, results = health.wait_healthy(services.health_checks(), wait)
    else:
        results = health.run(services.health_checks())
    failing = [health.describe(r) for r in health.failing(results)]
    kv = unitdata.kv()
    if failing:
        kv.set(HEALTH_KEY, failing)
    else:
        kv.unset(HEALTH_KEY)
    return results


def end_of_hook():
    """Coordinate restarts; on update-status, or while a check failed, re-check health.

    Not while a restart is pending: its checks are for the files it has not
    restarted on yet, and the restart waits for them itself.  Not in ``stop``:
    stop never starts or restarts a service.
    """
    if not options.current().valid or hookenv.hook_name() == 'stop':
        return
    restart.coordinate(options.config(), services.health_checks(), paused=paused())
    kv = unitdata.kv()
    if not paused() and not kv.get(restart.PENDING) and \
            (hookenv.hook_name() == 'update-status' or kv.get(HEALTH_KEY)):
        check_health()


def status_checks():
    """Paused, invalid config, halted or queued restarts, failing health."""
    results = []
    if paused():
        results.append(('maintenance', 'Paused'))
    results += options.status_check() or []
    results += restart.status_check(options.config()) or []
    failing = unitdata.kv().get(HEALTH_KEY)
    if failing and not paused():
        results.append(('blocked', 'Health check failing: ' + '; '.join(failing)))
    return results


def idle_eligible(leader):
    """Whether nothing would happen in an update-status but the health checks."""
    kv = unitdata.kv()
    if not status.idle_fast_path_enabled() or not _settled(kv):
        return False
    if kv.get(restart.PENDING) or kv.get(restart.DEFERRED):
        return False
    # The leader's running batch (restart.schedule keeps it up to date).
    return not (leader and kv.get(restart.SLOTS))


def _settled(kv):
    """Active with a valid config, not paused, no failing or halted health check."""
    last = kv.get(status.LAST_KEY) or [None, None]
    return last[0] == status.ACTIVE and not paused() and options.current().valid \
        and not kv.get(restart.UNHEALTHY) and not kv.get(HEALTH_KEY)


def peer_skip(rid, leader):
    """``(peer hook, {unit: [entry, done]})`` when the shell may skip other units' changes.

    Only on a settled unit that is not the leader, with no restart or one
    waiting for its turn: such a unit depends on other units' bags only
    through the done ids of those its restart waits for (see :mod:`idle`).
    ``(None, {})`` otherwise.
    """
    kv = unitdata.kv()
    if not rid or leader or not status.peer_fast_path_enabled() or not _settled(kv):
        return None, {}
    pending = kv.get(restart.PENDING)
    if not pending:
        return restart.PEER + '-relation-changed', {}
    if pending.get('restarted'):
        return None, {}
    batch_n, waiting = restart.my_turn(rid, pending['id'])
    if batch_n is not None and not waiting:
        return None, {}     # its turn came: the next hook takes it
    return restart.PEER + '-relation-changed', {
        u: [entry, restart.read_unit(rid, u)['done']] for u, entry in waiting.items()}


def write_state():
    """After a full hook: what the next update-status and peer changes may skip."""
    rid = restart.peer_relation()
    leader = hookenv.is_leader() if rid else False
    peer_hook, waiting = peer_skip(rid, leader)
    idle.write_state(hookenv.charm_dir(), idle_eligible(leader),
                     [c.spec() for cs in services.health_checks().values() for c in cs],
                     options.current().expires_at, peer_hook, waiting)
