"""What every hook runs once it is inside the charm's venv."""

import time

from charms.layer.stackyard import compat

compat.install()

from charmhelpers.core import hookenv, unitdata  # noqa: E402  after compat.install()
from charms import reactive  # noqa: E402
from charms.reactive import trace  # noqa: E402

from charms.layer.stackyard import (  # noqa: E402
    config_flags, hooklog, hookstats, idle, operations, status)


class OneEntryTracer(trace.LogTracer):
    """charms.reactive's flag tracer, logged as one entry per hook.

    The stock tracer calls ``juju-log`` after each dispatch phase and flag
    change (a process each); this one keeps the lines and writes them at the
    end of the hook, or when it fails.
    """

    def __init__(self):
        super().__init__()
        self._held = []

    def _flush(self):
        self._held.extend(self._msgs)
        self._msgs = []

    def emit(self):
        """Write what was traced (once)."""
        self._flush()
        if self._held:
            hookenv.log('\n'.join(['tracer>'] + self._held), self.LEVEL)
            self._held = []


def main():
    """Dispatch reactive handlers, assess status, and record the hook's timing."""
    name = hookstats.current_name()
    started, t0 = time.time(), time.monotonic()
    # Only a hook that completes writes the state the next hooks may skip by.
    idle.clear_state(hookenv.charm_dir())
    tracer = OneEntryTracer()
    # Registered after charms.reactive's own LogTracer, so it replaces it.
    hookenv.atstart(trace.install_tracer, tracer)
    hookenv.atstart(status.check_peer_fast_path)   # once the handlers are registered
    hookenv.atstart(config_flags.set_flags)
    # atexit callbacks run last-registered first: restarts are coordinated
    # after the charm's own callbacks, then status is assessed, then the
    # state for the next hooks is written, then the config flags are cleared.
    hookenv.atexit(config_flags.clear_flags)
    hookenv.atexit(operations.write_state)
    hookenv.atexit(status.assess_status)
    hookenv.atexit(operations.end_of_hook)
    hookenv.atexit(tracer.emit)  # atexit runs last-registered first: the trace goes first
    try:
        reactive.main()
    except SystemExit as e:
        if e.code not in (None, 0):
            tracer.emit()
            _record_failure(name, started, t0)
        raise
    except BaseException:
        tracer.emit()
        _record_failure(name, started, t0)
        raise
    finally:
        hooklog.flush()
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
