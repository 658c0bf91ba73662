"""The restart plan: which units restart in which batch (pure functions).

The leader writes the plan to the peer application bag; every unit reads it
to know when its turn comes (``restart.my_turn``).
"""


def split_id(request_id):
    """``("web/3", 7)`` from a request id ``"web/3#7"``; None when malformed."""
    if not isinstance(request_id, str):
        return None
    unit, sep, num = request_id.rpartition('#')
    return (unit, int(num)) if sep and unit and num.isdigit() else None


def entry_done(entry_id, state):
    """Whether a unit's state (``{"done": id, ...}``) shows request ``entry_id`` finished.

    A unit publishes only its last finished request, so a later one of the
    same unit counts too.
    """
    done = (state or {}).get('done')
    if not done:
        return False
    if done == entry_id:
        return True
    a, b = split_id(done), split_id(entry_id)
    return bool(a and b) and a[0] == b[0] and a[1] >= b[1]


def waiting_for(earlier, live, state_of):
    """``{unit: id}`` of the ``earlier`` entries a unit still waits for.

    :param earlier: ``{unit: [ids]}`` (from :func:`place_of`)
    :param live: units still on the relation; those that left hold nobody up
    :param state_of: ``state_of(unit)`` gives that unit's ``{"done": id}``
    """
    waiting = {}
    for unit, ids in sorted(earlier.items()):
        if unit not in live:
            continue
        state = state_of(unit)
        for entry in ids:
            if not entry_done(entry, state):
                waiting[unit] = entry
    return waiting


def plan_restarts(plan, units, batch_size, leader=None, asked=None):
    """The leader's plan: every open request placed in a batch of at most ``batch_size``.

    A unit starts when every entry of every earlier batch is done (or its
    unit left).  New requests fill the last batch while none of its members
    finished or halted, then open new batches; planned batches are never
    regrouped, and finished ones at the head are dropped.

    :param plan: current ``{"last": n, "batches": [{"n": n, "units": {unit: id}}]}``
    :param units: every live unit: ``{unit: {"request", "done", "halted"}}``
    :param leader: the planning unit, whose request goes last when it can
        (:func:`leader_goes_now`); None places every request in unit order
    :param asked: the only units whose requests may be new (see :func:`unplaced`)
    """
    plan = sane_plan(plan)
    last = plan['last']
    # Skipped while its unit still shows the request open: not placed again.
    skipped = {u: r for u, r in plan.get('skipped', {}).items()
               if u in units and units[u].get('request') == r and not entry_done(r, units[u])}
    batches = []
    for batch in plan['batches']:
        kept = {u: r for u, r in batch['units'].items() if u in units}
        if kept:
            batches.append({'n': batch['n'], 'units': kept})
    while batches and all(entry_done(r, units[u]) for u, r in batches[0]['units'].items()):
        batches.pop(0)
    plan = dict({'last': last, 'batches': batches}, **({'skipped': skipped} if skipped else {}))
    for u in unplaced(plan, units, asked):
        if u != leader:
            plan = place(plan, u, units[u]['request'], batch_size, units)
    if leader in unplaced(plan, units, asked) and leader_goes_now(plan, leader, units, asked):
        plan = place(plan, leader, units[leader]['request'], batch_size, units)
    return plan


def unplaced(plan, units, asked=None):
    """Units (in unit order) whose open request the plan does not hold.

    :param asked: when not None, only these units are looked at (the others'
        states are not read: ``units`` may read each on first use)
    """
    plan = sane_plan(plan)
    placed = {(u, r) for b in plan['batches'] for u, r in b['units'].items()}
    placed |= set(plan.get('skipped', {}).items())
    looked_at = units if asked is None else [u for u in units if u in asked]
    return sorted((u for u in looked_at
                   if units[u].get('request') and not entry_done(units[u]['request'], units[u])
                   and (u, units[u]['request']) not in placed), key=unit_key)


def unfinished(plan, units, limit=None):
    """The batches (the first ``limit`` of them) still holding an entry of a live unit
    that is not done."""
    found = []
    for b in sane_plan(plan)['batches']:
        if limit is not None and len(found) >= limit:
            break
        if any(u in units and not entry_done(r, units[u]) for u, r in b['units'].items()):
            found.append(b)
    return found


def leader_goes_now(plan, leader, units, asked=None):
    """Whether the leader places its own open request now, or keeps it back.

    Its own restart holds its hook, so it goes last when it can: now when
    every other live unit has an open request in the plan, when the first
    unfinished batch closed (a later request would open a new batch anyway),
    or when nothing is in flight.

    :param plan: the plan with every other open request placed
    :param asked: as for :func:`unplaced`
    """
    peers = [u for u in units if u != leader]
    if all(units[u].get('request') and not entry_done(units[u]['request'], units[u])
           for u in peers) and not [u for u in unplaced(plan, units, asked) if u != leader]:
        return True
    running = unfinished(plan, units, 1)
    if not running:
        return True
    return any(u in units and (entry_done(r, units[u]) or units[u].get('halted') == r)
               for u, r in running[0]['units'].items())


def place(plan, unit, request_id, batch_size, states):
    """The plan with one more request placed, as :func:`plan_restarts` places it:
    in the last batch while it has room and none of its members finished or
    halted, else in a new batch.

    :param states: ``{unit: {"done", "halted"}}`` of the last batch's members
    """
    plan = sane_plan(plan)
    if any(b['units'].get(unit) == request_id for b in plan['batches']):
        return plan
    if plan['batches']:
        tail = plan['batches'][-1]['units']
        closed = any(entry_done(r, states.get(u)) or (states.get(u) or {}).get('halted') == r
                     for u, r in tail.items())
        if not closed and len(tail) < max(1, batch_size):
            tail[unit] = request_id
            return plan
    plan['last'] += 1
    plan['batches'].append({'n': plan['last'], 'units': {unit: request_id}})
    return plan


def sane_plan(plan):
    """The plan with malformed parts (from the untrusted app bag) dropped."""
    if not isinstance(plan, dict):
        plan = {}
    last = plan.get('last', 0)
    last = last if isinstance(last, int) and not isinstance(last, bool) else 0
    batches = []
    for batch in plan.get('batches') if isinstance(plan.get('batches'), list) else []:
        if not isinstance(batch, dict) or not isinstance(batch.get('units'), dict):
            continue
        n = batch.get('n')
        if not isinstance(n, int) or isinstance(n, bool):
            continue
        entries = {u: r for u, r in batch['units'].items()
                   if isinstance(u, str) and isinstance(r, str)}
        if entries:
            batches.append({'n': n, 'units': entries})
            last = max(last, n)
    skipped = plan.get('skipped') if isinstance(plan.get('skipped'), dict) else {}
    skipped = {u: r for u, r in skipped.items() if isinstance(u, str) and isinstance(r, str)}
    return dict({'last': last, 'batches': batches}, **({'skipped': skipped} if skipped else {}))


def skip(plan, unit, entries):
    """The plan without ``unit``'s ``entries``, its last noted as skipped (``skipped``).

    Later batches stop waiting for them, and the leader does not place the
    request again while the unit's bag shows it open (a lost unit's does);
    the unit, should it come back, asks anew (``restart.coordinate``).
    """
    plan = sane_plan(plan)
    for batch in plan['batches']:
        batch['units'] = {u: r for u, r in batch['units'].items()
                          if u != unit or r not in entries}
    last = max(entries, key=lambda r: (split_id(r) or ('', 0))[1])
    skipped = dict(plan.get('skipped', {}), **{unit: last})
    return sane_plan(dict(plan, skipped=skipped))


def place_of(plan, unit, request_id, live=None):
    """``(n, earlier entries)`` of the batch holding ``unit``'s ``request_id``.

    An entry is done only after every earlier batch was, so with ``live``
    (units on the relation, this one included) the earlier entries start at
    the nearest earlier batch holding a live unit: a third-batch unit waits
    for the second batch only.  ``(None, {})`` when the request is not
    planned yet; earlier entries as ``{unit: [ids]}``.
    """
    batches = sane_plan(plan)['batches']
    for i, batch in enumerate(batches):
        if batch['units'].get(unit) != request_id:
            continue
        first = 0
        if live is not None:
            first = next((j for j in range(i - 1, -1, -1)
                          if any(u in live for u in batches[j]['units'])), 0)
        earlier = {}
        for before in batches[first:i]:
            for u, r in before['units'].items():
                earlier.setdefault(u, []).append(r)
        return batch['n'], earlier
    return None, {}


def unit_key(unit):
    app, _, num = unit.partition('/')
    return (app, int(num) if num.isdigit() else 0)
