"""The unit state that hooks read before the venv, and the idle update-status.

This module owns the one file a hook reads before Python's venv (or before
Python at all): ``$CHARM_DIR/.stackyard-state``, mode 0600.  Every full hook
removes it at its start (:func:`clear_state`) and writes it again once it
completed (:func:`write_state`, called by ``operations.write_state``), so a
failed hook leaves none and the next hook runs in full.  It holds two lines:

1. for the hook's shell part (``hooks/hook.template``, which checks the
   version itself): ``<version> <peer hook or -> [<unit>=<entry>=<done> ...]``,
   that is ``version``, ``peer_hook`` and ``waiting_for`` below;
2. the state as one JSON object:

   - ``version`` (int): :data:`VERSION`; a file of another version is
     ignored (every hook then runs in full and writes the current one);
   - ``written_at`` (float): when it was written, epoch seconds;
   - ``eligible`` (bool): the next update-status may be a fast one: the
     charm enabled ``status.idle_fast_path()``, the unit is active with a
     valid config, not paused, no restart pending, deferred or halted, no
     failing health check, and on the leader no planned restart unfinished;
   - ``checks`` (list): the ``spec()`` of every declared health check, which
     the fast update-status runs (:mod:`health`);
   - ``expires_at`` (float or null): when the earliest unit override
     expires; from then on no hook is fast or skipped;
   - ``peer_hook`` (str or null): ``<peer>-relation-changed`` when the shell
     may skip other units' peer bag changes: the charm enabled
     ``idle_fast_path(peer_changes=True)``, the unit does not lead, is active
     with a valid config, not paused, no failing check, no override due to
     expire, and has no restart, or one waiting for its turn;
   - ``waiting_for`` (object): ``{unit: [entry, done]}``: the units this unit's
     restart waits for (``restart.my_turn``), each with the plan entry waited
     for and its done id (``restart.DONE_KEY``) when the state was written.

A non-leader's restart depends on other units' bags only through the done
ids of the units it waits for (app bag changes, joins and departures always
run in full).  The shell notes each waited unit it saw done in
``.stackyard-seen`` (:data:`SEEN_FILE`; a done id only grows, so the note
stays true) and runs the full hook for the last of them; no Python reads
that file, and :func:`clear_state` removes it with the state.

Fast hooks (an idle update-status here, a skipped peer change in the shell)
append their timing to ``$CHARM_DIR/.stackyard-fast-hooks``, one line each:
``<start epoch seconds> <seconds> <hook>``; the next full hook moves them into
the hook records (:mod:`hookstats`).  Once that file holds
``FAST_LOG_LIMIT`` bytes update-status runs in full, which empties it.

Standard library only: this runs before the charm's venv exists.
"""

import json
import os
import time

STATE_FILE = '.stackyard-state'
VERSION = 2
SEEN_FILE = '.stackyard-seen'
FAST_LOG = '.stackyard-fast-hooks'
FAST_LOG_LIMIT = 64 * 1024


def state_path(charm_dir):
    return os.path.join(charm_dir, STATE_FILE)


def write_state(charm_dir, eligible, checks, expires_at=None, peer_hook=None,
                waiting_for=None):
    """Write the state (see the module docstring for each key)."""
    waiting = {u: list(ed) for u, ed in (waiting_for or {}).items()}
    state = {'version': VERSION, 'written_at': time.time(), 'eligible': bool(eligible),
             'checks': list(checks), 'expires_at': expires_at,
             'peer_hook': None if expires_at else peer_hook, 'waiting_for': waiting}
    words = [str(VERSION), state['peer_hook']] + [
        '='.join([u] + waiting[u]) for u in sorted(waiting)]
    parts = [str(p) for u, ed in waiting.items() for p in [u] + ed]
    if not state['peer_hook'] or any(len(ed) != 2 for ed in waiting.values()) or \
            not all(w.split() == [w] for w in words) or any('=' in p for p in parts):
        state['peer_hook'], words = None, [str(VERSION), '-']
    path = state_path(charm_dir)
    fd = os.open(path + '.tmp', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write(' '.join(words) + '\n' + json.dumps(state, sort_keys=True) + '\n')
    os.rename(path + '.tmp', path)
    return state


def read_state(charm_dir):
    """The state the last full hook wrote, or None (none, malformed, another version)."""
    try:
        with open(state_path(charm_dir)) as f:
            f.readline()
            state = json.loads(f.readline())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and state.get('version') == VERSION else None


def clear_state(charm_dir):
    """At the start of a full hook: only a hook that completes writes the state."""
    for name in (STATE_FILE, SEEN_FILE):
        try:
            os.remove(os.path.join(charm_dir, name))
        except FileNotFoundError:
            pass


def try_fast_path(charm_dir, hook_name, now=None):
    """Handle an idle update-status without the venv; True when it did."""
    if hook_name != 'update-status':
        return False
    started, t0 = time.time(), time.monotonic()
    state = read_state(charm_dir)
    now = time.time() if now is None else now
    if state is None or not state.get('eligible') or _fast_log_full(charm_dir) or \
            now >= (state.get('expires_at') or float('inf')) or \
            not _checks_pass(state.get('checks') or []):
        return False
    record(charm_dir, started, time.monotonic() - t0, hook_name)
    return True


def _checks_pass(check_specs):
    """Whether every health check of the state passes (a malformed one does not)."""
    from charms.layer.stackyard import health
    for check_spec in check_specs:
        try:
            ok, _ = health.from_spec(check_spec)()
        except (KeyError, TypeError, ValueError):
            return False
        if not ok:
            return False
    return True


def fast_log_path(charm_dir):
    return os.path.join(charm_dir, FAST_LOG)


def _fast_log_full(charm_dir):
    try:
        return os.stat(fast_log_path(charm_dir)).st_size >= FAST_LOG_LIMIT
    except OSError:
        return False


def record(charm_dir, started, duration, hook_name='update-status'):
    """Append a fast hook's timing: one line, ``<start> <seconds> <hook>``."""
    line = '{:.3f} {:.4f} {}\n'.format(started, duration, hook_name).encode()
    fd = os.open(fast_log_path(charm_dir), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def take_fast_records(charm_dir, keep=True):
    """The fast hooks' records (``hookstats`` form), oldest first; ``keep`` False empties
    the file (the caller stores them)."""
    path = fast_log_path(charm_dir)
    try:
        with open(path, 'rb') as f:
            lines = f.read().decode(errors='replace').splitlines()
    except OSError:
        return []
    if not keep:
        os.remove(path)
    records = []
    for line in lines:
        parts = line.split(' ', 2)
        try:
            records.append({'hook': parts[2], 'start': float(parts[0]),
                            'duration': float(parts[1]), 'outcome': 'ok', 'fast': True})
        except (IndexError, ValueError):
            continue
    return records
