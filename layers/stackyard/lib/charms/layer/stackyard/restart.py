"""Batched, health-gated restarts coordinated by the leader over the peer relation.

A unit that needs a restart (changed files, an action, a package upgrade)
records a *request* and publishes its id in its peer unit bag.  The leader
grants slots in batches of ``restart-batch-size`` by writing the current batch
to the peer application bag.  A granted unit restarts, waits until its health
checks pass (at most ``restart-health-timeout`` seconds), waits
``restart-batch-interval`` seconds, and publishes the request id as done,
which releases its slot.  The leader starts the next batch only when every
unit of the current batch released its slot.

A batch may take late requests (units notice a config change one hook
after another) until its first member finishes.  A unit whose checks do not
pass keeps its slot, goes blocked naming the failing check and publishes
``stackyard-restart-halted``; the current batch never completes and while
any unit is halted the leader grants nothing: no restart storm.  It keeps
checking on later hooks (update-status, config-changed after a fix) and
releases its slot once healthy.

All coordination state lives in relation data, so a new leader carries on
from where the old one stopped; a unit restarts at most once per request id,
and grants for units that left are dropped.

``restart-batch-size`` 0 turns coordination off: each unit restarts when it
needs to (still health-checked).  With ``enable-auto-restarts`` false, needed
restarts are queued ("deferred") until ``restart-services deferred-only=true``.

Peer relation keys (endpoint ``cluster``):

- unit bag ``stackyard-restart-request``: id of the unit's open request ("" if none)
- unit bag ``stackyard-restart-done``: id of the unit's last completed request
- unit bag ``stackyard-restart-halted``: id of a request whose health checks timed out
- app bag ``stackyard-restart-batch``: JSON ``{"n": int, "granted": {unit: id}, "sealed": bool}``
- app bag ``stackyard-restart-roll``: JSON ``{"id": str, "services": [..],
  "deferred_only": bool}``, written by the ``restart-services`` action on the leader
"""

import json
import time

from charmhelpers.core import hookenv, host, unitdata

PEER = 'cluster'
REQUEST_KEY = 'stackyard-restart-request'
DONE_KEY = 'stackyard-restart-done'
BATCH_KEY = 'stackyard-restart-batch'
ROLL_KEY = 'stackyard-restart-roll'
HALTED_KEY = 'stackyard-restart-halted'

PENDING = 'stackyard.restart.pending'      # {"id", "services", "restarted"}
DEFERRED = 'stackyard.restart.deferred'    # {service: [reasons]}
COUNTER = 'stackyard.restart.counter'
ROLL_SEEN = 'stackyard.restart.roll-seen'
UNHEALTHY = 'stackyard.restart.unhealthy'  # failing check descriptions
HISTORY = 'stackyard.restart.history'      # [{"id", "services", "restarted_at", ...}]
MAX_HISTORY = 50


# ---- pure planning -----------------------------------------------------------------

def plan_batch(batch, units, batch_size):
    """The leader's next grants: batches of at most ``batch_size`` units.

    A new batch starts only when every unit of the current one published its
    request id as done (restarted, healthy, interval waited).  Requests that
    arrive while the current batch runs may still join it, up to the batch
    size, until its first member finishes (the batch is then *sealed*): units
    notice a config change in their own hooks, one after another, and this
    keeps batches full without ever letting a unit start after an earlier
    batch-mate proved healthy or not.  While any unit reports a halted
    restart (its health checks did not pass in time) nothing new is granted.

    :param batch: current ``{"n", "granted": {unit: id}, "sealed": bool}`` (may be empty)
    :param units: every live unit: ``{unit: {"request", "done", "halted"}}``
    :param batch_size: at most this many units per batch (>= 1)
    :returns: the new batch
    """
    batch = _sane_batch(batch)
    n = batch['n']
    granted = {u: r for u, r in batch['granted'].items() if u in units}
    busy = {u: r for u, r in granted.items() if units[u].get('done') != r}
    sealed = bool(batch.get('sealed')) or len(busy) < len(batch.get('granted') or {})
    current = {'n': n, 'granted': granted, 'sealed': sealed}
    if any(q.get('halted') for q in units.values()):
        return current
    waiting = sorted((u for u, q in units.items()
                      if q.get('request') and q.get('request') != q.get('done')
                      and granted.get(u) != q.get('request')),
                     key=_unit_key)
    if not waiting:
        return current
    size = max(1, batch_size)
    if busy:
        room = size - len(granted)
        if sealed or room <= 0:
            return current
        granted = dict(granted, **{u: units[u]['request'] for u in waiting[:room]})
        return {'n': n, 'granted': granted, 'sealed': False}
    return {'n': n + 1, 'granted': {u: units[u]['request'] for u in waiting[:size]},
            'sealed': False}


def _sane_batch(batch):
    """The batch with malformed parts (from the untrusted app bag) dropped."""
    n = batch.get('n', 0) if isinstance(batch, dict) else 0
    granted = batch.get('granted') if isinstance(batch, dict) else {}
    if not isinstance(granted, dict):
        granted = {}
    return {'n': n if isinstance(n, int) and not isinstance(n, bool) else 0,
            'granted': {u: r for u, r in granted.items()
                        if isinstance(u, str) and isinstance(r, str)},
            'sealed': bool(batch.get('sealed')) if isinstance(batch, dict) else False}


def _unit_key(unit):
    app, _, num = unit.partition('/')
    return (app, int(num) if num.isdigit() else 0)


def should_restart(pending, grant, done):
    """Whether this unit restarts now under ``grant``."""
    return bool(pending) and grant == pending['id'] and done != pending['id'] \
        and not pending.get('restarted')


# ---- relation access ---------------------------------------------------------------

def peer_relation():
    """The peer relation id, or None."""
    ids = hookenv.relation_ids(PEER)
    return ids[0] if ids else None


def _load(text, default):
    try:
        value = json.loads(text) if text else default
    except ValueError:
        hookenv.log('Ignoring malformed restart data: {!r}'.format(text), level=hookenv.WARNING)
        return default
    return value if isinstance(value, type(default)) else default


def _app_data(rid):
    """The peer relation's application bag (one ``relation-get`` per hook, cached)."""
    return hookenv.relation_get(rid=rid, app=hookenv.application_name()) or {}


def _unit_data(rid, unit):
    """A unit's bag on the peer relation (cached like :func:`_app_data`)."""
    return hookenv.relation_get(rid=rid, unit=unit) or {}


def _publish_app(rid, key, value):
    """Leader: write one key of the application bag."""
    hookenv.relation_set(relation_id=rid, app=True, relation_settings={key: value})
    # charmhelpers forgets cached reads of the local unit's bag after a write,
    # not of the app's; a later read in this hook must see the new value, as
    # relation-get itself would.
    hookenv.flush('"app": {}'.format(json.dumps(hookenv.application_name())))


def read_batch(rid):
    return _load(_app_data(rid).get(BATCH_KEY), {})


def read_units(rid):
    """``{unit: {"request", "done"}}`` for this unit and every joined peer."""
    me = hookenv.local_unit()
    units = {}
    for unit in [me] + hookenv.related_units(rid):
        data = _unit_data(rid, unit)
        units[unit] = {'request': data.get(REQUEST_KEY, ''), 'done': data.get(DONE_KEY, ''),
                       'halted': data.get(HALTED_KEY, '')}
    return units


def publish(rid, **keys):
    hookenv.relation_set(relation_id=rid, relation_settings=keys)


# ---- config ------------------------------------------------------------------------

def settings(config):
    """``(batch_size, interval, health_timeout, auto)`` from the effective config."""
    return (int(config.get('restart-batch-size', 1)),
            float(config.get('restart-batch-interval', 0)),
            float(config.get('restart-health-timeout', 60)),
            bool(config.get('enable-auto-restarts', True)))


# ---- requests ----------------------------------------------------------------------

def request(services, reason, config, force=False):
    """Ask for a restart of ``services`` (or queue it when auto restarts are off).

    :param force: ignore ``enable-auto-restarts`` (operator actions)
    """
    kv = unitdata.kv()
    if not settings(config)[3] and not force:
        deferred = kv.get(DEFERRED, {})
        for service in services:
            reasons = deferred.setdefault(service, [])
            if reason not in reasons:
                reasons.append(reason)
        kv.set(DEFERRED, deferred)
        hookenv.log('Restart of {} deferred: {}'.format(', '.join(services), reason))
        return None
    pending = kv.get(PENDING)
    if pending:
        pending['services'] = sorted(set(pending['services']) | set(services))
        pending['restarted'] = False
    else:
        counter = kv.get(COUNTER, 0) + 1
        kv.set(COUNTER, counter)
        pending = {'id': '{}#{}'.format(hookenv.local_unit(), counter),
                   'services': sorted(set(services)), 'restarted': False,
                   'reason': reason, 'requested_at': time.time()}
    kv.set(PENDING, pending)
    rid = peer_relation()
    if rid:
        publish(rid, **{REQUEST_KEY: pending['id']})
    return pending['id']


def deferred():
    """Queued restarts: ``{service: [reasons]}``."""
    return unitdata.kv().get(DEFERRED, {})


def apply_deferred(config, services=None):
    """Turn queued restarts into a request; returns the request id or None."""
    kv = unitdata.kv()
    queued = kv.get(DEFERRED, {})
    chosen = [s for s in sorted(queued) if services is None or s in services]
    if not chosen:
        return None
    for s in chosen:
        queued.pop(s)
    kv.set(DEFERRED, queued)
    return request(chosen, 'deferred restart applied', config, force=True)


def follow_roll(rid, config):
    """Join a rolling restart the leader announced (once per roll id)."""
    roll = _load(_app_data(rid).get(ROLL_KEY), {})
    kv = unitdata.kv()
    if not roll.get('id') or kv.get(ROLL_SEEN) == roll['id']:
        return
    kv.set(ROLL_SEEN, roll['id'])
    services = roll.get('services') or None
    if roll.get('deferred_only'):
        apply_deferred(config, services)
    else:
        from charms.layer.stackyard import services as sy
        request(services or sy.names(), 'rolling restart {}'.format(roll['id']), config,
                force=True)


# ---- acting ------------------------------------------------------------------------

def coordinate(config, checks, restart=host.service_restart, paused=False):
    """Run at the end of every hook: schedule (leader), restart, release.

    :param config: effective config
    :param checks: ``{service: [health checks]}``
    :param restart: how to restart one service
    :param paused: hold everything while the unit is paused
    """
    if paused:
        return
    batch_size, interval, timeout, _ = settings(config)
    rid = peer_relation()
    if rid:
        follow_roll(rid, config)
    for _ in range(2):  # the leader may finish its own slot and grant the next batch
        if not _step(rid, batch_size, interval, timeout, checks, restart):
            break


def _step(rid, batch_size, interval, timeout, checks, restart):
    kv = unitdata.kv()
    pending = kv.get(PENDING)
    me = hookenv.local_unit()
    batch_n = None
    if rid and batch_size > 0:
        if hookenv.is_leader():
            schedule(rid, batch_size)
        batch = read_batch(rid)
        grant, batch_n = (batch.get('granted') or {}).get(me), batch.get('n')
        done = _unit_data(rid, me).get(DONE_KEY) or ''
    else:
        grant, done = (pending or {}).get('id'), ''
    if not pending or grant != pending['id']:
        return False
    if should_restart(pending, grant, done):
        for service in pending['services']:
            hookenv.log('Restarting {} ({})'.format(service, pending['id']))
            restart(service)
        pending['restarted'] = True
        pending['restarted_at'] = time.time()
        pending['batch'] = batch_n
        kv.set(PENDING, pending)
    from charms.layer.stackyard import health
    relevant = {s: c for s, c in checks.items() if s in pending['services']}
    ok, results = health.wait_healthy(relevant, timeout)
    if not ok:
        kv.set(UNHEALTHY, [health.describe(r) for r in health.failing(results)])
        if rid and batch_size > 0:
            publish(rid, **{HALTED_KEY: pending['id']})
        return False
    kv.unset(UNHEALTHY)
    if interval > 0:
        time.sleep(interval)
    _release(rid if batch_size > 0 else None, pending)
    return bool(rid) and batch_size > 0 and hookenv.is_leader()


def _release(rid, pending):
    kv = unitdata.kv()
    history = kv.get(HISTORY, [])
    history.append({'id': pending['id'], 'services': pending['services'],
                    'reason': pending.get('reason', ''), 'batch': pending.get('batch'),
                    'restarted_at': pending.get('restarted_at'), 'released_at': time.time()})
    kv.set(HISTORY, history[-MAX_HISTORY:])
    kv.unset(PENDING)
    if rid:
        publish(rid, **{DONE_KEY: pending['id'], REQUEST_KEY: '', HALTED_KEY: ''})


def history():
    """This unit's completed restarts, oldest first (the newest ``MAX_HISTORY``)."""
    return list(unitdata.kv().get(HISTORY, []))


def history_ids():
    """Ids of this unit's completed restarts, oldest first."""
    return [h['id'] for h in history()]


def schedule(rid, batch_size):
    """Leader: grant the next batch when the current one is done."""
    current = read_batch(rid)
    units = read_units(rid)
    new = plan_batch(current, units, batch_size)
    # Sealing alone is not written: plan_batch derives it again from the
    # finished members, and each write of the app bag costs a relation-changed
    # hook on every other unit.
    if dict(new, sealed=False) != dict(_sane_batch(current), sealed=False):
        _publish_app(rid, BATCH_KEY, json.dumps(new, sort_keys=True))


def announce_roll(services, deferred_only):
    """Leader: start a rolling restart of the whole application."""
    rid = peer_relation()
    roll_id = '{}@{}'.format(hookenv.local_unit(), int(time.time() * 1000))
    body = {'id': roll_id, 'services': services or [], 'deferred_only': bool(deferred_only)}
    if rid:
        _publish_app(rid, ROLL_KEY, json.dumps(body, sort_keys=True))
    return roll_id


def status_check(config):
    """Status for restarts: blocked when a restart's health check fails, queued restarts."""
    kv = unitdata.kv()
    unhealthy = kv.get(UNHEALTHY)
    if unhealthy:
        return [('blocked', 'Restart halted: health check failing: ' + '; '.join(unhealthy))]
    results = []
    pending = kv.get(PENDING)
    if pending and not pending.get('restarted'):
        results.append(('active', 'Waiting for a restart slot ({})'.format(
            ', '.join(pending['services']))))
    queued = kv.get(DEFERRED, {})
    if queued:
        results.append(('active', 'Services queued for restart: ' + ', '.join(sorted(queued))))
    return results
