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
    _write(spec_path(charm_dir), body)


def _write(path, body):
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
    elif not _peer_change_allowed(spec, hook_name, os.environ if environ is None else environ,
                                  charm_dir):
        return False
    now = time.time() if now is None else now
    if spec.get('expires_at') and now >= spec['expires_at']:
        return False
    # Health is update-status' business: a full peer hook does not check it either.
    if hook_name == 'update-status' and not _checks_pass(spec.get('checks') or []):
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


def _peer_change_allowed(spec, hook_name, environ, charm_dir=None):
    """A peer relation change that cannot concern this unit.

    Another unit's bag: unless this unit's restart waits for that unit's,
    and the bag now shows it done (one ``relation-get``); the spec then
    forgets that unit, and the full hook runs once nothing is left to wait
    for.  On the leader also unless the bag holds a request the plan has not
    placed.  The app bag (never on the leader): unless it announces a
    rolling restart this unit has not seen, or places this unit's waiting
    restart in another batch than the spec knows (one ``relation-get`` of
    the app bag).  ``app_watch`` in the spec says what to look at.
    """
    peer = spec.get('peer_endpoint')
    if not peer or hook_name != peer + '-relation-changed':
        return False
    watch = spec.get('app_watch')
    if not isinstance(watch, dict):
        return False
    remote = environ.get('JUJU_REMOTE_UNIT')
    if remote:
        return _unit_change_is_nothing_for_us(spec, watch, remote, charm_dir)
    return _app_change_is_nothing_for_us(watch, environ)


_FAILED = object()


def _relation_get(*args):
    """``relation-get --format=json ...`` parsed, or ``_FAILED``."""
    import subprocess
    try:
        proc = subprocess.run(['relation-get', '--format=json'] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=30)
        if proc.returncode != 0:
            return _FAILED
        return json.loads(proc.stdout.decode() or 'null')
    except (OSError, ValueError, subprocess.SubprocessError):
        return _FAILED


def _unit_change_is_nothing_for_us(spec, watch, remote, charm_dir):
    """Another unit's bag changed: skip unless it concerns this unit.

    It does when this unit waits for that unit's restart and it is now done,
    or, on the leader, when it holds a request the plan has not placed.
    """
    waiting = watch.get('waiting_on')
    placed = watch.get('placed')
    leader = watch.get('leader')
    if not isinstance(waiting, dict) or (leader and not isinstance(placed, list)):
        return False
    if remote not in waiting and not leader:
        return True
    from charms.layer.stackyard import rollplan
    bag = _relation_get('-', remote)
    if bag is _FAILED or not isinstance(bag, (dict, type(None))):
        return False
    bag = bag or {}
    done = {'done': bag.get(watch.get('done_key') or '')}
    request = bag.get(watch.get('request_key') or '')
    if leader and request and not rollplan.entry_done(request, done) \
            and [remote, request] not in placed:
        return False
    if remote not in waiting or not rollplan.entry_done(waiting[remote], done):
        return True
    waiting = {u: r for u, r in waiting.items() if u != remote}
    if not waiting or charm_dir is None:
        return False
    spec['app_watch'] = dict(watch, waiting_on=waiting)
    _write(spec_path(charm_dir), spec)
    return True


def _app_change_is_nothing_for_us(watch, environ):
    if watch.get('leader') or environ.get('JUJU_REMOTE_APP') != watch.get('app'):
        return False
    from charms.layer.stackyard import rollplan
    bag = _relation_get('--app', '-', watch.get('app') or '')
    if bag is _FAILED:
        return False
    try:
        bag = bag or {}
        roll = json.loads(bag.get(watch['roll_key']) or '{}')
        plan = json.loads(bag.get(watch['plan_key']) or '{}')
        roll_id = roll.get('id')
    except (ValueError, KeyError, TypeError, AttributeError):
        return False
    if roll_id and roll_id != watch.get('roll_seen'):
        return False
    if not watch.get('pending'):
        return True
    placed, _ = rollplan.place_of(plan, watch.get('unit'), watch['pending'])
    return placed == watch.get('planned')


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
