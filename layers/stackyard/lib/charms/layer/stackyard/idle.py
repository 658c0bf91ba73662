"""The idle fast path: an update-status that finds nothing to do costs little.

So does, where the charm allows it, a change of another unit's data on the
peer relation seen by a unit that is not the leader and is idle or waiting for
its restart slot.

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


def write_spec(charm_dir, eligible, checks, expires_at=None, peer_endpoint=None,
               app_watch=None):
    """Record whether the next update-status may take the fast path.

    :param checks: list of check specs (``check.spec()``)
    :param peer_endpoint: when set, a ``<peer_endpoint>-relation-changed`` for
        another unit's data may take it too (whatever ``eligible`` says: a unit
        waiting for a restart slot is not idle, but other units' data does
        not concern it)
    :param app_watch: with ``peer_endpoint``, what makes an app-bag change
        concern this unit: ``{"app", "unit", "roll_key", "roll_seen",
        "batch_key", "pending"}``
    """
    body = {'eligible': bool(eligible), 'checks': checks, 'expires_at': expires_at,
            'peer_endpoint': peer_endpoint, 'app_watch': app_watch,
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


def try_fast_path(charm_dir, hook_name, now=None, environ=None):
    """Handle an idle update-status (or peer change) without the venv; True when it did."""
    if hook_name != 'update-status' and not hook_name.endswith('-relation-changed'):
        return False
    started, t0 = time.time(), time.monotonic()
    try:
        with open(spec_path(charm_dir)) as f:
            spec = json.load(f)
    except (OSError, ValueError):
        return False
    if hook_name == 'update-status':
        if not spec.get('eligible'):
            return False
    elif not _peer_change_allowed(spec, hook_name, os.environ if environ is None else environ):
        return False
    now = time.time() if now is None else now
    if spec.get('expires_at') and now >= spec['expires_at']:
        return False
    if not _checks_pass(spec.get('checks') or []):
        return False
    record(charm_dir, started, time.monotonic() - t0, hook_name)
    return True


def _checks_pass(check_specs):
    """Whether every health check of the spec passes (a malformed one does not)."""
    from charms.layer.stackyard import health
    for check_spec in check_specs:
        try:
            ok, _ = health.from_spec(check_spec)()
        except (KeyError, TypeError, ValueError):
            return False
        if not ok:
            return False
    return True


def _peer_change_allowed(spec, hook_name, environ):
    """A peer relation change that cannot concern this unit.

    Another unit's bag: never (the spec is only offered to units for which
    that holds).  The app bag: only when it neither announces a rolling
    restart this unit has not seen nor grants this unit's waiting restart,
    which one ``relation-get`` of the app bag tells (``app_watch`` in the
    spec says what to look at).
    """
    peer = spec.get('peer_endpoint')
    if not peer or hook_name != peer + '-relation-changed':
        return False
    if environ.get('JUJU_REMOTE_UNIT'):
        return True
    return _app_change_is_nothing_for_us(spec.get('app_watch'), environ)


def _app_change_is_nothing_for_us(watch, environ):
    if not isinstance(watch, dict) or environ.get('JUJU_REMOTE_APP') != watch.get('app'):
        return False
    import subprocess
    try:
        proc = subprocess.run(['relation-get', '--format=json', '--app', '-', watch['app']],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=30)
        if proc.returncode != 0:
            return False
        bag = json.loads(proc.stdout.decode() or 'null') or {}
        roll = json.loads(bag.get(watch['roll_key']) or '{}')
        batch = json.loads(bag.get(watch['batch_key']) or '{}')
        granted = (batch.get('granted') or {}).get(watch['unit'])
        roll_id = roll.get('id')
    except (OSError, ValueError, KeyError, TypeError, AttributeError,
            subprocess.SubprocessError):
        return False
    if roll_id and roll_id != watch.get('roll_seen'):
        return False
    return not (watch.get('pending') and granted == watch['pending'])


def record(charm_dir, started, duration, hook_name='update-status'):
    """Append the fast hook's timing to the unit's kv store, as hookstats does."""
    path = os.environ.get('UNIT_STATE_DB') or os.path.join(charm_dir, '.unit-state.db')
    if not os.path.exists(path):
        return
    conn = sqlite3.connect(path, timeout=10)
    try:
        row = conn.execute('SELECT data FROM kv WHERE key=?', (RECORDS_KEY,)).fetchone()
        records = json.loads(row[0]) if row else []
        records.append({'hook': hook_name, 'start': round(started, 3),
                        'duration': round(duration, 4), 'outcome': 'ok', 'fast': True})
        conn.execute('REPLACE INTO kv (key, data) VALUES (?, ?)',
                     (RECORDS_KEY, json.dumps(records[-MAX_RECORDS:])))
        conn.commit()
    except sqlite3.Error:
        pass
    finally:
        conn.close()
