"""The hook's log lines, written with as few ``juju-log`` calls as keeps them useful.

Every ``hookenv.log`` is a ``juju-log`` process, and a full hook writes half a
dozen routine lines (charms.reactive's "Reactive main running", each handler
it invokes, charmhelpers' "Writing file", the flag trace).  Once
:func:`install` ran, DEBUG and INFO lines are held and written together: each
run of lines of one level is one ``juju-log`` call, in order.  They are
written

- when a WARNING or worse is logged (the held lines first, then it, at once);
- before the hook starts something long: ``status-set maintenance`` and a
  health wait (:func:`flush` from the restart code);
- when the oldest held line is :data:`MAX_HOLD_SECONDS` old, at the next
  line;
- at the end of the hook, whether it succeeds or fails (:func:`flush` from
  ``hookrun``, and an interpreter exit handler as the last resort).

So nothing is dropped or reordered; routine lines appear in ``juju debug-log``
when the step they describe is over, never later than the hook's end.
"""

import atexit
import time

from charmhelpers.core import hookenv

MAX_HOLD_SECONDS = 2.0
# juju-log takes the message as one argument (charmhelpers cuts it there too).
MAX_CALL_CHARS = 100000
_IMMEDIATE = frozenset(('WARNING', 'ERROR', 'CRITICAL'))

_held = []        # [(level, message)]
_held_since = None
_write = None     # the original hookenv.log


def _level(level):
    return (level or 'INFO').upper()


def log(message, level=None, clock=time.monotonic):
    """``hookenv.log`` that holds DEBUG and INFO lines (see the module docstring)."""
    global _held_since
    if not isinstance(message, str):
        message = repr(message)
    level = _level(level)
    if level in _IMMEDIATE or level not in ('DEBUG', 'INFO', 'TRACE'):
        flush()
        _write(message, level)
        return
    now = clock()
    if _held and now - _held_since >= MAX_HOLD_SECONDS:
        flush()
    if not _held:
        _held_since = now
    _held.append((level, message))


def flush():
    """Write the held lines: one ``juju-log`` per run of one level (and size)."""
    global _held
    lines, _held = _held, []
    if _write is None:
        return
    run_level, run = None, []
    for level, message in lines + [(None, None)]:
        size = sum(len(m) + 1 for m in run)
        if run and (level != run_level or size + len(message or '') > MAX_CALL_CHARS):
            _write('\n'.join(run), run_level)
            run = []
        run_level = level
        if message is not None:
            run.append(message)


def held():
    """The lines not written yet (for tests)."""
    return list(_held)


def _wrap_status_set(original):
    def status_set(workload_state, message, application=False):
        state = getattr(workload_state, 'value', workload_state)
        if str(state).lower() == 'maintenance':
            flush()
        return original(workload_state, message, application)
    status_set.stackyard_hooklog = True
    return status_set


def install():
    """Route ``hookenv.log`` through :func:`log` (idempotent).

    Call before modules that import ``log`` by name (``charmhelpers.core.host``)
    are loaded, as ``compat.install`` does.
    """
    global _write
    if getattr(hookenv.log, 'stackyard_hooklog', False):
        return
    _write = hookenv.log
    log.stackyard_hooklog = True
    hookenv.log = log
    if not getattr(hookenv.status_set, 'stackyard_hooklog', False):
        hookenv.status_set = _wrap_status_set(hookenv.status_set)
    atexit.register(flush)
