"""The idle fast path: an update-status that finds nothing to do costs little.

Every full hook ends by writing ``$CHARM_DIR/.stackyard-idle.json``: whether
the unit is idle (active, nothing pending or deferred, not paused, no unit
override due to expire, and on the leader no restart batch in flight) and the
health checks to run.  The next update-status, before the venv is entered,
re-runs those checks with the standard library; if they pass and nothing is
due it records the hook's timing and exits.  Anything else falls through to
the full hook, which also rewrites the file, so the fast path can only skip
work that would have changed nothing.

Charms whose own status checks must run on update-status (a probe, say)
leave it off; a charm turns it on with ``status.idle_fast_path()``.

Standard library only: this runs before the charm's venv.
"""

import json
import os
import sqlite3
import time

SPEC_FILE = '.stackyard-idle.json'
RECORDS_KEY = 'stackyard.hookstats.records'
MAX_RECORDS = 500


def spec_path(charm_dir):
    return os.path.join(charm_dir, SPEC_FILE)


def write_spec(charm_dir, eligible, checks, expires_at=None):
    """Record whether the next update-status may take the fast path.

    :param checks: list of check specs (``check.spec()``)
    """
    body = {'eligible': bool(eligible), 'checks': checks, 'expires_at': expires_at,
            'written_at': time.time()}
    path = spec_path(charm_dir)
    tmp = path + '.tmp'
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        json.dump(body, f)
    os.rename(tmp, path)


def clear_spec(charm_dir):
    try:
        os.remove(spec_path(charm_dir))
    except FileNotFoundError:
        pass


def try_fast_path(charm_dir, hook_name, now=None):
    """Handle an idle update-status without the venv; True when it did."""
    if hook_name != 'update-status':
        return False
    started, t0 = time.time(), time.monotonic()
    try:
        with open(spec_path(charm_dir)) as f:
            spec = json.load(f)
    except (OSError, ValueError):
        return False
    if not spec.get('eligible'):
        return False
    now = time.time() if now is None else now
    if spec.get('expires_at') and now >= spec['expires_at']:
        return False
    from charms.layer.stackyard import health
    for check_spec in spec.get('checks') or []:
        try:
            ok, _ = health.from_spec(check_spec)()
        except (KeyError, TypeError, ValueError):
            return False
        if not ok:
            return False
    record(charm_dir, started, time.monotonic() - t0)
    return True


def record(charm_dir, started, duration):
    """Append the fast hook's timing to the unit's kv store, as hookstats does."""
    path = os.environ.get('UNIT_STATE_DB') or os.path.join(charm_dir, '.unit-state.db')
    if not os.path.exists(path):
        return
    conn = sqlite3.connect(path, timeout=10)
    try:
        row = conn.execute('SELECT data FROM kv WHERE key=?', (RECORDS_KEY,)).fetchone()
        records = json.loads(row[0]) if row else []
        records.append({'hook': 'update-status', 'start': round(started, 3),
                        'duration': round(duration, 4), 'outcome': 'ok', 'fast': True})
        conn.execute('REPLACE INTO kv (key, data) VALUES (?, ?)',
                     (RECORDS_KEY, json.dumps(records[-MAX_RECORDS:])))
        conn.commit()
    except sqlite3.Error:
        pass
    finally:
        conn.close()
