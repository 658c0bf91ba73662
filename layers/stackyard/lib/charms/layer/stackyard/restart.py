"""Batched, health-gated restarts, planned by the leader over the peer relation.

A unit that needs a restart records a *request* and publishes its id in its
peer unit bag unless the plan holds it already.  The leader places each
request in the *plan*, an ordered list of batches of at most
``restart-batch-size`` units, in the app bag (:mod:`rollplan` decides; the
leader's own request goes last when it can).
A unit's turn comes when every request of every earlier batch is done, which
it reads in those units' bags itself, so batches follow each other without
a leader hook and a roll survives a change of leader.  In its turn a unit
restarts, waits for its health checks (at most ``restart-health-timeout``),
keeps its slot for ``restart-batch-interval`` (:func:`_interval_over`) and
publishes the request id as done.  A unit whose checks fail keeps its slot,
goes blocked and publishes ``stackyard-restart-halted``: later batches wait
(no restart storm) until a later hook finds it healthy.

``restart-batch-size`` 0 turns coordination off (each unit restarts when it
needs to, still health-checked).  With ``enable-auto-restarts`` false,
restarts are queued ("deferred") until ``restart-services deferred-only=true``.

Peer relation keys (endpoint ``cluster``):

- unit bag ``stackyard-restart-request``: id of the unit's open request ("" if none)
- unit bag ``stackyard-restart-done``: id of the unit's last completed request
- unit bag ``stackyard-restart-halted``: id of a request whose health checks timed out
- app bag ``stackyard-restart-plan``: JSON ``{"last": n, "batches": [{"n": n,
  "units": {unit: id}}], "skipped": {unit: id}}`` (see :mod:`rollplan`; ``skipped``
  only when the ``skip-restart`` action skipped a request, see :func:`skip`)
- app bag ``stackyard-restart-roll``: JSON ``{"id": str, "services": [..],
  "deferred_only": bool}``, written by the ``restart-services`` action on the leader
"""

import json
import re
import time
from collections.abc import Mapping

from charmhelpers.core import hookenv, host, unitdata

from charms.layer.stackyard import options, rollplan

PEER = 'cluster'
REQUEST_KEY = 'stackyard-restart-request'
DONE_KEY = 'stackyard-restart-done'
PLAN_KEY = 'stackyard-restart-plan'
ROLL_KEY = 'stackyard-restart-roll'
HALTED_KEY = 'stackyard-restart-halted'

PENDING = 'stackyard.restart.pending'      # {"id", "services", "restarted"}
DEFERRED = 'stackyard.restart.deferred'    # {service: [reasons]}
COUNTER = 'stackyard.restart.counter'
ROLL_SEEN = 'stackyard.restart.roll-seen'
UNHEALTHY = 'stackyard.restart.unhealthy'  # failing check descriptions
HISTORY = 'stackyard.restart.history'      # [{"id", "services", "restarted_at", ...}]
MAX_HISTORY = 50
SLOTS = 'stackyard.restart.slots'          # leader: {id: when it saw that turn come}
#: Seconds a unit may hold its slot past restart-health-timeout and the interval
#: before the leader names it: the hook taking the slot may start late (queued).
SLOT_MARGIN = 60

# What the leader placed in this very hook (one process per hook): its own
# turn then waits for its next hook (see _turn_now()).
_placed_now = set()


def should_restart(pending, done):
    """Whether this unit restarts now (``done``: the id its bag says it finished)."""
    return bool(pending) and done != pending['id'] and not pending.get('restarted')


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
    # charmhelpers forgets cached reads of the unit's own bag after a write, not
    # of the app's: later reads in this hook must see the new value.
    hookenv.flush('"app": {}'.format(json.dumps(hookenv.application_name())))


def read_plan(rid):
    """The leader's restart plan from the app bag (see :func:`rollplan.plan_restarts`)."""
    return rollplan.sane_plan(_load(_app_data(rid).get(PLAN_KEY), {}))


def read_unit(rid, unit):
    """``{"request", "done", "halted"}`` of one unit's bag."""
    data = _unit_data(rid, unit)
    return {'request': data.get(REQUEST_KEY, ''), 'done': data.get(DONE_KEY, ''),
            'halted': data.get(HALTED_KEY, '')}


class PeerStates(Mapping):
    """``{unit: read_unit(unit)}`` for this unit and every joined peer, each bag read
    when first looked at: a ``relation-get`` is a call to the unit agent (charmhelpers
    keeps its answer for the hook), so the leader reads only the bags its plan needs.
    """

    def __init__(self, rid):
        self._rid = rid
        self._units = [hookenv.local_unit()] + hookenv.related_units(rid)
        self._live = set(self._units)

    def __getitem__(self, unit):
        if unit not in self._live:
            raise KeyError(unit)
        return read_unit(self._rid, unit)

    def __contains__(self, unit):
        return unit in self._live

    def __iter__(self):
        return iter(self._units)

    def __len__(self):
        return len(self._units)


def may_have_asked(rid):
    """Units whose bags may hold a request the plan lacks; None for every unit.

    In a peer relation hook, the remote unit and the leader itself: Juju runs
    a leader hook after every write of every peer, and each leader hook places
    every open request it reads (:func:`rollplan.plan_restarts`), so another
    unit's request was placed in that unit's own hook.  A new leader
    (``leader-elected``), a config change and every other hook read all bags.
    """
    remote = hookenv.remote_unit()
    if hookenv.relation_id() != rid or not remote:
        return None
    return {hookenv.local_unit(), remote}


def publish(rid, **keys):
    hookenv.relation_set(relation_id=rid, relation_settings=keys)


#: The layer's config.yaml defaults, for a config without the options.
DEFAULTS = {'restart-batch-size': 1, 'restart-batch-interval': 0,
            'restart-health-timeout': 120, 'enable-auto-restarts': True}


def settings(config):
    """``(batch_size, interval, health_timeout, auto)`` from the effective config."""
    def get(option):
        return config.get(option, DEFAULTS[option])
    return (int(get('restart-batch-size')), float(get('restart-batch-interval')),
            float(get('restart-health-timeout')), bool(get('enable-auto-restarts')))


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
        for key in ('checked', 'healthy_at'):     # a new restart waits for its checks
            pending.pop(key, None)
    else:
        counter = kv.get(COUNTER, 0) + 1
        kv.set(COUNTER, counter)
        pending = {'id': '{}#{}'.format(hookenv.local_unit(), counter),
                   'services': sorted(set(services)), 'restarted': False,
                   'reason': reason, 'requested_at': time.time()}
    kv.set(PENDING, pending)     # published at the end of the hook (:func:`announce`)
    return pending['id']


def announce(rid, pending):
    """Publish the open request in this unit's bag, unless the plan holds it already
    or soon will (:func:`ahead_requests`): each write is a hook on every other unit.

    A non-leader in a config-changed that reached every unit alike
    (:func:`app_config_changed`) with no place of its own in the plan yet waits
    one hook: the leader's config-changed changed the same files, so it places
    every unit's next request ahead, and that plan write is this unit's next
    hook, which publishes the request if the plan lacks it.  A roll of 100
    units in batches of 10 ran 9,811 skipped peer hooks instead of 18,787, and
    its hooks and yard took 247-294 CPU seconds instead of 327 (``make bench-scale``).
    """
    me = hookenv.local_unit()
    if not rid or not pending or _unit_data(rid, me).get(REQUEST_KEY) == pending['id']:
        return
    plan = read_plan(rid)
    if rollplan.place_of(plan, me, pending['id'])[0] is not None:
        return
    if not hookenv.is_leader() and app_config_changed(alike=True) and not any(
            u == me and not rollplan.entry_done(r, read_unit(rid, me))
            for b in plan['batches'] for u, r in b['units'].items()):
        hookenv.log('Restart {} asked for when the leader places it ahead '
                    '(or in the next hook)'.format(pending['id']))
        return
    publish(rid, **{REQUEST_KEY: pending['id']})


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


def coordinate(config, checks, restart=None, paused=False):
    """Run at the end of every hook: schedule (leader), restart, release.

    :param checks: ``{service: [health checks]}``
    :param restart: how to restart one service (``host.service_restart``)
    """
    rid = peer_relation()
    if rid:
        decline_unasked(rid)
        ask_again(rid)
        announce(rid, unitdata.kv().get(PENDING))
    restart = restart or host.service_restart
    pending = unitdata.kv().get(PENDING)
    batch_size, interval, timeout, _ = settings(config)
    if paused:
        # Nothing placed, joined or restarted; an empty place (later batches
        # wait for it) is given back in its turn.
        if pending and not pending['services']:
            _step(rid, batch_size, interval, timeout, checks, restart, plan=False)
        return
    if rid:
        follow_roll(rid, config)
    _step(rid, batch_size, interval, timeout, checks, restart)


def _step(rid, batch_size, interval, timeout, checks, restart, plan=True):
    kv = unitdata.kv()
    pending = kv.get(PENDING)
    coordinated = bool(rid) and batch_size > 0
    if plan and coordinated and hookenv.is_leader():
        schedule(rid, batch_size)
    if not pending:
        return
    batch_n, done = None, ''
    if coordinated:
        batch_n = _turn_now(rid, pending)
        if batch_n is None:
            return
        done = read_unit(rid, hookenv.local_unit())['done']
    if should_restart(pending, done):
        for service in pending['services']:
            hookenv.log('Restarting {} ({})'.format(service, pending['id']))
            restart(service)
        pending['restarted'] = True
        pending['restarted_at'] = time.time()
        pending['batch'] = batch_n
        kv.set(PENDING, pending)
    from charms.layer.stackyard import health
    relevant = {s: c for s, c in checks.items() if s in pending['services']}
    began = time.monotonic()
    # Only the hook after the restart waits; later ones (halted, or holding
    # the slot for the interval) check once: a hook holds the machine lock.
    ok, results = health.wait_healthy(relevant, 0 if pending.get('checked') else timeout)
    pending['checked'] = True
    if not ok:
        kv.set(PENDING, pending)
        kv.set(UNHEALTHY, [health.describe(r) for r in health.failing(results)])
        if coordinated:
            publish(rid, **{HALTED_KEY: pending['id']})
        return
    kv.unset(UNHEALTHY)
    if coordinated and not _interval_over(pending, interval,
                                          timeout - (time.monotonic() - began)):
        kv.set(PENDING, pending)
        return
    _release(rid if coordinated else None, pending)


def ask_again(rid):
    """The operator skipped this unit's open request (it was lost, say): ask anew."""
    pending = unitdata.kv().get(PENDING)
    if not pending or read_plan(rid).get('skipped', {}).get(hookenv.local_unit()) != pending['id']:
        return
    hookenv.log('Restart {} was skipped (skip-restart); asking for a slot again'.format(
        pending['id']), level=hookenv.WARNING)
    unitdata.kv().unset(PENDING)
    if not pending['services']:     # a place given back restarts nothing
        publish(rid, **{REQUEST_KEY: ''})
    else:
        request(pending['services'], 'asked again: {} was skipped'.format(pending['id']), {},
                force=True)


def _interval_over(pending, interval, budget):
    """Whether ``restart-batch-interval`` since the checks passed is over (then release).

    Slept here only within ``budget`` (what is left of ``restart-health-timeout``)
    and not on the leader, whose hooks place requests; else the first hook after
    the interval gives the slot back (update-status at the latest).
    """
    if interval <= 0 or not pending['services']:
        return True
    pending.setdefault('healthy_at', time.time())
    left = pending['healthy_at'] + interval - time.time()
    if left <= 0:
        return True
    if hookenv.is_leader() or left > budget:
        return False
    time.sleep(left)
    return True


def _turn_now(rid, pending):
    """The batch number when this unit's turn came in this hook, else None.

    Not on the leader in a hook that placed batch-mates of its own (its data is
    committed when the hook ends): their next write (a release, a halt) is its
    next hook; one that never writes is a lost slot holder (:func:`overdue`).
    """
    batch_n, waiting = my_turn(rid, pending['id'])
    if batch_n is None or waiting:
        return None
    me = hookenv.local_unit()
    mates = next((b['units'] for b in read_plan(rid)['batches'] if b['n'] == batch_n), {})
    if not pending.get('restarted') and any(
            u != me and (u, r) in _placed_now for u, r in mates.items()):
        return None
    return batch_n


def my_turn(rid, request_id):
    """``(batch n, {unit: id} still to finish before this unit may go)``; ``(None, {})``
    while the request is not placed.  Units that left hold nobody up."""
    me = hookenv.local_unit()
    live = set(hookenv.related_units(rid)) | {me}
    n, earlier = rollplan.place_of(read_plan(rid), me, request_id, live)
    if n is None:
        return None, {}
    return n, rollplan.waiting_for(earlier, live, lambda unit: read_unit(rid, unit))


def _release(rid, pending):
    kv = unitdata.kv()
    if pending['services']:     # a place given back restarted nothing
        history = kv.get(HISTORY, [])
        history.append({'id': pending['id'], 'services': pending['services'],
                        'reason': pending.get('reason', ''), 'batch': pending.get('batch'),
                        'restarted_at': pending.get('restarted_at'),
                        'released_at': time.time()})
        kv.set(HISTORY, history[-MAX_HISTORY:])
    kv.unset(PENDING)
    if rid:
        publish(rid, **{DONE_KEY: pending['id'], REQUEST_KEY: '', HALTED_KEY: ''})


def history():
    """This unit's completed restarts, oldest first (the newest ``MAX_HISTORY``)."""
    return list(unitdata.kv().get(HISTORY, []))


def schedule(rid, batch_size):
    """Leader: place new requests (:func:`rollplan.plan_restarts`); the plan is written
    only when that places something (each app bag write is a hook on every other unit)."""
    me = hookenv.local_unit()
    current = read_plan(rid)
    units, asked = PeerStates(rid), may_have_asked(rid)
    own = units[me]['request'] if not rollplan.entry_done(units[me]['request'], units[me]) else ''
    if own and app_config_changed():
        units, asked = {**units, **ahead_requests(current, units, me)}, None
    new = rollplan.plan_restarts(current, units, batch_size, leader=me, asked=asked)
    before = {(u, r) for b in current['batches'] for u, r in b['units'].items()}
    placed = {(u, r) for b in new['batches'] for u, r in b['units'].items()} - before
    if placed:
        _publish_app(rid, PLAN_KEY, json.dumps(new, sort_keys=True))
        _placed_now.update(placed)
    # When the leader first saw each turn of the running batch come (for status_check).
    seen, now = unitdata.kv().get(SLOTS, {}), time.time()
    unitdata.kv().set(SLOTS, {r: seen.get(r, now) for b in rollplan.unfinished(new, units, 1)
                              for u, r in b['units'].items()
                              if u != me and u in units and not rollplan.entry_done(r, units[u])})


def app_config_changed(alike=False):
    """Whether this is a config-changed hook for an application option (not only overrides).

    Such a change reaches every unit: when it made the leader's own files
    change, it most likely changes every unit's.  With ``alike``, only when no
    unit overrides a changed option (``unit-overrides``), so every unit's
    effective config changed the same way.
    """
    if hookenv.hook_name() != 'config-changed':
        return False
    config = hookenv.config()
    changed = getattr(config, 'changed', None)  # charmhelpers' Config knows the last values
    if not callable(changed):
        return False
    keys = {key for key in config if key != options.OVERRIDES and changed(key)}
    if not keys or not alike:
        return bool(keys)
    overrides = options.all_overrides(config.get(options.OVERRIDES))
    return overrides is not None and not any(keys & set(e) for e in overrides.values())


def request_number(request_id):
    """The number of a request id (``web/3#7`` -> 7), 0 when there is none."""
    parts = rollplan.split_id(request_id)
    return parts[1] if parts else 0


def ahead_requests(plan, units, leader):
    """Leader: ``{unit: state}`` with the next request of every unit placed ahead.

    After an application config change, every other unit's next request id
    (one more than the last it saw) is placed in one plan write, instead of
    one write per leader hook; a unit that needs no restart gives the place
    back in its turn (:func:`decline_unasked`).  Units with an open request
    or an unfinished place are left to the usual placing.
    """
    holding = {u for b in rollplan.sane_plan(plan)['batches'] for u, r in b['units'].items()
               if u in units and not rollplan.entry_done(r, units[u])}
    ahead = {}
    for unit, state in units.items():
        if unit == leader or unit in holding:
            continue
        if state.get('request') and not rollplan.entry_done(state['request'], state):
            continue
        n = max(request_number(state.get('request')), request_number(state.get('done'))) + 1
        ahead[unit] = dict(state, request='{}#{}'.format(unit, n))
    return ahead


def decline_unasked(rid):
    """Take a place made ahead for a request this unit did not make; returns its id or None.

    It becomes a request with nothing to restart, done in its turn (an entry is
    done only after every earlier batch: :func:`rollplan.place_of`); a restart
    needed meanwhile joins it.
    """
    kv = unitdata.kv()
    if kv.get(PENDING):
        return None
    me = hookenv.local_unit()
    issued = kv.get(COUNTER, 0)
    mine = [r for b in read_plan(rid)['batches'] for u, r in b['units'].items()
            if u == me and (rollplan.split_id(r) or ('', 0))[0] == me
            and request_number(r) > issued]
    if not mine:
        return None
    taken = max(mine, key=request_number)
    kv.set(COUNTER, request_number(taken))
    kv.set(PENDING, {'id': taken, 'services': [], 'restarted': False,
                     'reason': 'a place the leader made ahead', 'requested_at': time.time()})
    hookenv.log('Restart place {} made ahead: given back in its turn '
                'unless a restart is needed by then'.format(taken))
    return taken


def announce_roll(services, deferred_only):
    """Leader: start a rolling restart of the whole application."""
    rid = peer_relation()
    roll_id = '{}@{}'.format(hookenv.local_unit(), int(time.time() * 1000))
    body = {'id': roll_id, 'services': services or [], 'deferred_only': bool(deferred_only)}
    if rid:
        _publish_app(rid, ROLL_KEY, json.dumps(body, sort_keys=True))
    return roll_id


def skip(unit):
    """Leader: take ``unit``'s unfinished restart out of the plan (the ``skip-restart`` action).

    :returns: the request id skipped
    :raises ValueError: naming what is wrong
    """
    app, rid = hookenv.application_name(), peer_relation()
    if not hookenv.is_leader():
        raise ValueError('only the leader skips restarts: run it on {}/leader'.format(app))
    if not isinstance(unit, str) or not re.fullmatch(re.escape(app) + r'/\d+', unit):
        raise ValueError('unit must name a unit of {0} (like {0}/3), not {1!r}'.format(app, unit))
    if unit == hookenv.local_unit():
        raise ValueError('{} is the leader: it gives its own slot back'.format(unit))
    entries = []
    if rid and unit in hookenv.related_units(rid):
        state = read_unit(rid, unit)
        entries = [r for b in read_plan(rid)['batches'] for u, r in b['units'].items()
                   if u == unit and not rollplan.entry_done(r, state)]
    if not entries:
        raise ValueError('{} has no unfinished restart in the plan: nothing to skip'.format(unit))
    _publish_app(rid, PLAN_KEY, json.dumps(rollplan.skip(read_plan(rid), unit, entries),
                                           sort_keys=True))
    return entries[-1]


def overdue(config, now):
    """Leader: ``blocked`` naming each unit holding its slot too long (see ``SLOT_MARGIN``)."""
    batch_size, interval, timeout, _ = settings(config)
    slots = unitdata.kv().get(SLOTS)
    if not slots or not batch_size or not hookenv.is_leader():
        return []
    return [('blocked', '{0} took a restart slot {1} min ago and never released it '
                        '(run skip-restart unit={0} to go on without it)'.format(
                            entry.rpartition('#')[0], int(now - since) // 60))
            for entry, since in sorted(slots.items())
            if now - since > timeout + interval + SLOT_MARGIN]


def status_check(config):
    """Status for restarts: a lost slot holder (leader), a failing health check, queued
    restarts."""
    kv = unitdata.kv()
    unhealthy = kv.get(UNHEALTHY)
    results = overdue(config, time.time())
    if unhealthy:
        return results + [('blocked', 'Restart halted: health check failing: ' +
                           '; '.join(unhealthy))]
    pending = kv.get(PENDING)
    if pending and pending['services'] and not pending.get('restarted'):
        results.append(('active', 'Waiting for a restart slot ({})'.format(
            ', '.join(pending['services']))))
    elif pending and pending.get('healthy_at'):
        results.append(('active', 'Restarted {}; restart slot given back after {} UTC'.format(
            ', '.join(pending['services']), time.strftime('%H:%M:%S', time.gmtime(
                pending['healthy_at'] + settings(config)[1])))))
    queued = kv.get(DEFERRED, {})
    if queued:
        results.append(('active', 'Services queued for restart: ' + ', '.join(sorted(queued))))
    return results
