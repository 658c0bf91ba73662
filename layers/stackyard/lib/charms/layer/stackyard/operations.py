"""What the layer does at the end of every hook and action, and pause state.

- validators for the layer's own options;
- restart coordination (``restart.coordinate``) once the charm's handlers ran;
- health checks on update-status;
- the paused state held by the ``pause`` action.
"""

from charmhelpers.core import hookenv, unitdata
from charms.reactive import clear_flag, is_flag_set, set_flag

from charms.layer.stackyard import health, options, restart, services

PAUSED_FLAG = 'stackyard.services.paused'
HEALTH_KEY = 'stackyard.health.failing'


def _int_range(low, high):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return 'must be a whole number from {} to {}, not {!r}'.format(low, high, value)
        return None
    return check


options.rule('restart-batch-size')(_int_range(0, 1000))
options.rule('restart-batch-interval')(_int_range(0, 3600))
options.rule('restart-health-timeout')(_int_range(1, 3600))


def paused():
    """Whether the operator paused this unit."""
    return is_flag_set(PAUSED_FLAG)


def pause():
    """Stop every service and hold restarts."""
    set_flag(PAUSED_FLAG)
    services.stop()


def resume():
    """Start the services again (re-rendering first) and check their health."""
    clear_flag(PAUSED_FLAG)
    services.reconfigure()
    return check_health()


def check_health():
    """Run every declared health check once; remember the failures for status."""
    results = health.run(services.health_checks())
    failing = [health.describe(r) for r in health.failing(results)]
    kv = unitdata.kv()
    if failing:
        kv.set(HEALTH_KEY, failing)
    else:
        kv.unset(HEALTH_KEY)
    return results


def end_of_hook():
    """Coordinate restarts; on update-status also re-check health."""
    if not options.current().valid:
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
