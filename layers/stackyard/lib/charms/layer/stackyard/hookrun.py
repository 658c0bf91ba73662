"""What every hook runs once it is inside the charm's venv."""

import time

from charms.layer.stackyard import compat

compat.install()

from charmhelpers.core import hookenv, unitdata  # noqa: E402  after compat.install()
from charms import reactive  # noqa: E402

from charms.layer.stackyard import (  # noqa: E402
    config_flags, hookstats, idle, operations, status)


def main():
    """Dispatch reactive handlers, assess status, and record the hook's timing."""
    name = hookstats.current_name()
    started, t0 = time.time(), time.monotonic()
    # Only a hook that completes writes the state the next hooks may skip by.
    idle.clear_state(hookenv.charm_dir())
    hookenv.atstart(status.check_peer_fast_path)   # once the handlers are registered
    hookenv.atstart(config_flags.set_flags)
    # atexit callbacks run last-registered first: restarts are coordinated
    # after the charm's own callbacks, then status is assessed, then the
    # state for the next hooks is written, then the config flags are cleared.
    hookenv.atexit(config_flags.clear_flags)
    hookenv.atexit(operations.write_state)
    hookenv.atexit(status.assess_status)
    hookenv.atexit(operations.end_of_hook)
    try:
        reactive.main()
    except SystemExit as e:
        if e.code not in (None, 0):
            _record_failure(name, started, t0)
        raise
    except BaseException:
        _record_failure(name, started, t0)
        raise
    kv = unitdata.kv()
    hookstats.record(name, started, time.monotonic() - t0, 'ok', kv=kv)
    kv.flush()


def _record_failure(name, started, t0):
    # The failed hook's own kv changes are discarded (as Juju discards its
    # relation changes); only the timing record is kept.
    kv = unitdata.kv()
    kv.flush(save=False)
    hookstats.record(name, started, time.monotonic() - t0, 'error', kv=kv)
    kv.flush()
