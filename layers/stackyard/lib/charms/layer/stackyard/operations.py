"""What the layer does at the end of every hook and action, and pause state.

- validators for the layer's own options;
- restart coordination (``restart.coordinate``) once the charm's handlers ran;
- health checks on update-status;
- the paused state held by the ``pause`` action.
"""

from charmhelpers.core import hookenv, unitdata
from charms.reactive import clear_flag, is_flag_set, set_flag

from charms.layer.stackyard import (
    health, hooklog, idle, options, restart, rollplan, services, status)

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
        hooklog.flush()
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
    """Coordinate restarts; on update-status also re-check health.

    Not in ``stop``: the unit is going away, and stop never starts or
    restarts a service (its peers stopped waiting for it when it left).
    """
    if not options.current().valid or hookenv.hook_name() == 'stop':
        return
    restart.coordinate(options.config(), services.health_checks(), paused=paused())
    if hookenv.hook_name() == 'update-status' and not paused():
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
    """Whether nothing would happen in an update-status but the health checks.

    :param leader: whether this unit leads
    """
    kv = unitdata.kv()
    last = kv.get(status.LAST_KEY) or [None, None]
    if not status.idle_fast_path_enabled() or paused() or last[0] != status.ACTIVE:
        return False
    if not options.current().valid or kv.get(restart.PENDING) or kv.get(restart.DEFERRED):
        return False
    if kv.get(restart.UNHEALTHY) or kv.get(HEALTH_KEY):
        return False
    rid = restart.peer_relation()
    if rid and leader and restart.in_flight(rid):
        return False
    return True


def peer_changes_skippable(leader):
    """Whether other units' peer data changes can change nothing here, mostly.

    True on a unit whose status is active and config valid, not paused, with
    no failing or halted health check, and either no restart of its own or
    one still waiting for its turn.  What can still concern it is written
    next to it (``app_watch``) for the fast path to check: an app-bag change
    that announces a new roll or places its waiting restart, a change of a
    unit it waits for whose restart is now done, and on the leader a request
    the plan has not placed.
    """
    kv = unitdata.kv()
    last = kv.get(status.LAST_KEY) or [None, None]
    if not status.peer_fast_path_enabled() or paused() or last[0] != status.ACTIVE:
        return False
    if not options.current().valid or kv.get(restart.UNHEALTHY) or kv.get(HEALTH_KEY):
        return False
    pending = kv.get(restart.PENDING)
    return not pending or not pending.get('restarted')


def write_idle_spec():
    """After a full hook: tell the next update-status (and peer change) whether it may be fast."""
    checks = [c.spec() for cs in services.health_checks().values() for c in cs]
    rid = restart.peer_relation()
    leader = hookenv.is_leader() if rid else False
    eligible = idle_eligible(leader)
    peer, watch = None, None
    if rid and peer_changes_skippable(leader):
        kv = unitdata.kv()
        pending = kv.get(restart.PENDING)
        planned, waiting_on = None, {}
        if pending:
            planned, waiting_on = restart.my_turn(rid, pending['id'])
        peer = restart.PEER
        watch = {'app': hookenv.application_name(), 'unit': hookenv.local_unit(),
                 'roll_key': restart.ROLL_KEY, 'roll_seen': kv.get(restart.ROLL_SEEN),
                 'plan_key': restart.PLAN_KEY, 'done_key': restart.DONE_KEY,
                 'request_key': restart.REQUEST_KEY, 'echo_key': restart.ECHO_KEY,
                 'echo_sent': restart.read_unit(rid, hookenv.local_unit()).get('echo'),
                 'pending': pending and pending['id'], 'planned': planned,
                 'issued': kv.get(restart.COUNTER, 0),
                 'waiting_on': waiting_on, 'leader': leader,
                 'early_restart': restart.early_restart_spec()}
        if leader:
            watch.update(batch_size=restart.settings(options.config())[0],
                         halted_key=restart.HALTED_KEY)
            plan = restart.read_plan(rid)
            watch['placed'] = sorted([u, r] for b in plan['batches']
                                     for u, r in b['units'].items())
            # Joins and departures run full hooks, which rewrite this list.
            watch['peers'] = sorted(hookenv.related_units(rid))
            # Entries not done, and those of them halted (the bags were read
            # for the planning already): the fast path keeps these up to date.
            live = set(watch['peers']) | {hookenv.local_unit()}
            states = {u: restart.read_unit(rid, u) for u, _ in watch['placed'] if u in live}
            watch['open'] = sorted([u, r] for u, r in watch['placed']
                                   if u in states and not rollplan.entry_done(r, states[u]))
            watch['halted'] = [[u, r] for u, r in watch['open'] if states[u].get('halted') == r]
            # What the leader saw of each peer: its next config-changed reads
            # this instead of every bag (restart.remembered_bag).
            watch['bags'] = {u: rollplan.restart_keys(restart.peer_bag(rid, u))
                             for u in watch['peers']}
    idle.write_spec(hookenv.charm_dir(), eligible, checks, options.current().expires_at,
                    peer_endpoint=peer, app_watch=watch)
