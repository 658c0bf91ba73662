"""The idle fast path: an update-status that finds nothing to do costs little.

So does, where the charm allows it, a change of other units' data on the
peer relation that cannot concern this unit (see ``_peer_change_allowed``);
on the leader, placing one unit's restart request in the plan is done here
too, and on a unit whose restart turn comes, the restart itself: the full
hook that follows only waits for health and releases the slot.

Every full hook ends by writing ``$CHARM_DIR/.stackyard-idle.spec``: whether
the unit is idle (active, nothing pending or deferred, not paused, no unit
override due to expire, and on the leader no restart batch in flight) and the
health checks to run.  The next update-status, before the venv is entered,
re-runs those checks with the standard library; if they pass and nothing is
due it records the hook's timing and exits.  Anything else falls through to
the full hook, which also rewrites the file, so the fast path can only skip
work that would have changed nothing.

Charms whose own status checks must run on update-status (a probe, say)
leave it off; a charm turns it on with ``status.idle_fast_path()``.

A fast hook's timing is appended as a line to ``$CHARM_DIR/.stackyard-fast-hooks``
(``<start> <seconds> <hook>``); the next full hook moves the lines into the
kv store's hook records (:mod:`hookstats`).  Once the file holds
``FAST_LOG_LIMIT`` bytes the fast path stands aside until a full hook
emptied it.

Standard library only: this runs before the charm's venv, and imports only
modules the interpreter has loaded anyway or that cost next to nothing
(``marshal`` for the spec, not ``json``; a line of text for the timing, not
``sqlite3``): an idle hook is mostly interpreter start-up.
"""

import marshal
import os
import time

SPEC_FILE = '.stackyard-idle.spec'
PEER_SKIP = '.stackyard-peer-skip'
FAST_LOG = '.stackyard-fast-hooks'
FAST_LOG_LIMIT = 64 * 1024
EARLY_RESTART = '.stackyard-early-restart'
#: Set by the bootstrap when it re-executes a hook whose fast path declined.
TRIED_ENV = 'STACKYARD_FAST_PATH_TRIED'


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
    :param app_watch: with ``peer_endpoint``, what can still concern this
        unit: the keys ``operations.write_idle_spec`` writes
    """
    body = {'eligible': bool(eligible), 'checks': checks, 'expires_at': expires_at,
            'peer_endpoint': peer_endpoint, 'app_watch': app_watch,
            'written_at': time.time()}
    save_spec(charm_dir, body)


def save_spec(charm_dir, spec):
    """Write the spec, and the peer skip file the hook's shell part reads.

    The hook (``hooks/hook.template``) skips another unit's peer change
    without starting Python when :func:`peer_skip` allows it; the file goes
    before the spec changes and comes back after, so it never says more
    than the spec.
    """
    skip = os.path.join(charm_dir, PEER_SKIP)
    _remove(skip)
    _write(spec_path(charm_dir), spec)
    line = peer_skip(spec)
    if line:
        tmp = skip + '.tmp'
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(line)
        os.rename(tmp, skip)


def peer_skip(spec):
    """The skip file's line for ``spec``, or None when the shell may skip nothing.

    ``<peer>-relation-changed <unit> ...``: a change of another unit's bag
    that the fast path would skip without a hook tool (see
    :func:`_unit_change_is_nothing_for_us`), unless it comes from one of the
    units listed, those this unit's restart waits for.  Nothing on the
    leader, nor when this unit's turn came, nor with a unit override due to
    expire: Python decides those.  The shell does not check the size of the
    fast hooks' log: the next update-status that finds it full runs the full
    hook, which empties it.
    """
    peer, watch = spec.get('peer_endpoint'), spec.get('app_watch')
    if not isinstance(peer, str) or not peer or not isinstance(watch, dict) or \
            watch.get('leader') or spec.get('expires_at'):
        return None
    waiting = watch.get('waiting_on')
    if not isinstance(waiting, dict) or _turn_came(watch):
        return None
    words = [peer + '-relation-changed'] + sorted(waiting)
    if not all(isinstance(w, str) and w and w.split() == [w] for w in words):
        return None
    return ' '.join(words) + '\n'


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _write(path, body):
    tmp = path + '.tmp'
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'wb') as f:
        marshal.dump(body, f)
    os.rename(tmp, path)


def read_spec(charm_dir):
    """The spec the last full hook wrote, or None."""
    try:
        with open(spec_path(charm_dir), 'rb') as f:
            spec = marshal.load(f)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return spec if isinstance(spec, dict) else None


#: The spec the running full hook found (see :func:`clear_spec`), or None.
previous = None


def clear_spec(charm_dir):
    """Remove the spec at the start of a full hook, keeping what it said in :data:`previous`."""
    global previous
    previous = read_spec(charm_dir)
    for name in (PEER_SKIP, SPEC_FILE):
        _remove(os.path.join(charm_dir, name))


def try_fast_path(charm_dir, hook_name, now=None, environ=None):
    """Handle an idle update-status (or peer change) without the venv; True when it did."""
    if hook_name != 'update-status' and not hook_name.endswith('-relation-changed'):
        return False
    started, t0 = time.time(), time.monotonic()
    spec = read_spec(charm_dir)
    if spec is None or _fast_log_full(charm_dir):
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
    forgets that unit, and once nothing is left to wait for the unit
    restarts here (:func:`restart_early`) and the full hook runs.  On the
    leader also unless the bag holds a request the plan has not placed.  The
    app bag (never on the leader): unless it announces a rolling restart
    this unit has not seen, or asks this unit to answer the leader's echo
    (one ``relation-get`` of the app bag); a new place for this unit's
    waiting restart is worked out here, and only a turn that came with it
    runs the full hook.  Neither when this unit's turn came but it did not
    take it yet.  ``app_watch`` in the spec says what to look at.
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
    return _app_change_is_nothing_for_us(watch, environ, charm_dir)


_FAILED = object()


def _run_tool(argv, timeout=30.0):
    """``(exit code, stdout)`` of a hook tool, or None when it could not run.

    Without :mod:`subprocess`: importing it (and the ``locale`` and ``re``
    it pulls in) costs more CPU than the tool call itself, in hooks that
    make one call.  stderr goes to /dev/null; a tool still running after
    ``timeout`` seconds is killed.
    """
    import select
    r, w = os.pipe()
    try:
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, w, 1), (os.POSIX_SPAWN_CLOSE, r), (os.POSIX_SPAWN_CLOSE, w),
            (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)])
    except OSError:
        os.close(r)
        os.close(w)
        return None
    os.close(w)
    chunks, deadline, out = [], time.monotonic() + timeout, None
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([r], [], [], left)[0]:
                os.kill(pid, 9)
                break
            chunk = os.read(r, 65536)
            if not chunk:
                out = b''.join(chunks)
                break
            chunks.append(chunk)
    finally:
        os.close(r)
        _, status = os.waitpid(pid, 0)
    if out is None:
        return None
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
    return code, out


def _relation_get(*args):
    """``relation-get --format=json ...`` parsed, or ``_FAILED``."""
    import json
    ran = _run_tool(['relation-get', '--format=json'] + list(args))
    if ran is None or ran[0] != 0:
        return _FAILED
    try:
        return json.loads(ran[1].decode() or 'null')
    except ValueError:
        return _FAILED


def _done_of(watch, unit):
    """``{"done": id}`` of ``unit``'s bag (one key, read as plain text: no json), or ``_FAILED``.

    An id is ``<unit>#<n>``; anything else than an id or nothing is left to the
    full hook.
    """
    from charms.layer.stackyard import rollplan
    ran = _run_tool(['relation-get', watch.get('done_key') or '', unit])
    if ran is None or ran[0] != 0:
        return _FAILED
    try:
        value = ran[1].decode().strip()
    except UnicodeDecodeError:
        return _FAILED
    if value and rollplan.split_id(value) is None:
        return _FAILED
    return {'done': value}


def _unit_change_is_nothing_for_us(spec, watch, remote, charm_dir):
    """Another unit's bag changed: skip unless it concerns this unit.

    It does when this unit waits for that unit's restart and it is now done,
    or when this unit's turn came and it has not taken it.  On the leader a
    request the plan has not placed is placed here while it joins the
    leader's own batch or the leader's turn has not come; otherwise, and at
    the next change that places nothing (the echo, at the latest), the
    leader's full hook runs and takes its turn.  A leader keeping its own
    request back runs the full hook when every other unit may have asked, a
    planned unit finished or halted, or its echo came back: that hook may
    place it.
    """
    waiting = watch.get('waiting_on')
    placed = watch.get('placed')
    leader = watch.get('leader')
    if not isinstance(waiting, dict) or (leader and not isinstance(placed, list)):
        return False
    if _turn_came(watch) and not leader:
        return False
    if remote not in waiting and not leader:
        return True
    if not leader:
        done = _done_of(watch, remote)
        return done is not _FAILED and _learnt(spec, watch, remote, done, charm_dir)
    from charms.layer.stackyard import rollplan
    bag = _relation_get('-', remote)
    if bag is _FAILED or not isinstance(bag, (dict, type(None))):
        return False
    bag = bag or {}
    done = {'done': bag.get(watch.get('done_key') or '')}
    request = bag.get(watch.get('request_key') or '')
    if leader:
        watch = _remember(_note_ended(watch, remote, bag), remote, bag)
    if leader and request and not rollplan.entry_done(request, done) \
            and [remote, request] not in placed:
        return _place(spec, watch, remote, request, bag, charm_dir)
    if _turn_came(watch) or (leader and _may_place_own(watch, remote, bag)):
        return False
    return _learnt(spec, watch, remote, done, charm_dir)


def _learnt(spec, watch, remote, done, charm_dir):
    """Keep what a skipped unit change taught (``remote`` done, its entry ended).

    When ``remote`` was the last unit this unit's restart waited for, the
    restart happens here and the full hook follows (False).
    """
    from charms.layer.stackyard import rollplan
    waiting = watch['waiting_on']
    struck = remote in waiting and rollplan.entry_done(waiting[remote], done)
    if struck:
        watch = dict(watch, waiting_on={u: r for u, r in waiting.items() if u != remote})
    if watch is spec.get('app_watch'):
        return True         # nothing learnt
    if charm_dir is None:
        return False
    spec['app_watch'] = watch
    save_spec(charm_dir, spec)
    if struck and not watch['waiting_on']:
        restart_early(watch, watch.get('planned'), charm_dir)
        return False
    return True


def _remember(watch, remote, bag):
    """Leader: the watch with ``remote``'s restart keys as this hook saw them.

    The spec keeps what the leader saw last of every peer (``bags``), which
    its next ``config-changed`` uses instead of reading each bag
    (``restart.remembered_bag``).  A spec from an older release has none.
    """
    from charms.layer.stackyard import rollplan
    bags = watch.get('bags')
    if not isinstance(bags, dict):
        return watch
    seen = rollplan.restart_keys(bag)
    if bags.get(remote) == seen:
        return watch
    return dict(watch, bags=dict(bags, **{remote: seen}))


def _note_ended(watch, remote, bag):
    """Leader: the watch with what ``remote``'s bag says of its open entry.

    Done: it leaves ``open`` (and ``halted``); halted: it joins ``halted``.
    The same watch when nothing changed.  The leader sees every unit's
    changes, one hook each, so these lists stay what its full hook would
    read (:func:`_place_one`, :func:`_place_own` and :func:`_drop_finished`
    rely on them).
    """
    from charms.layer.stackyard import rollplan
    opened = _open_entries(watch)
    entry = (opened or {}).get(remote)
    if entry is None:
        return watch
    halted = sorted(_halted_entries(watch))
    if rollplan.entry_done(entry, {'done': bag.get(watch.get('done_key') or '')}):
        return dict(watch, open=sorted([u, r] for u, r in opened.items() if u != remote),
                    halted=[list(e) for e in halted if e[0] != remote])
    if bag.get(watch.get('halted_key') or '') == entry and (remote, entry) not in halted:
        return dict(watch, halted=[list(e) for e in sorted(halted + [(remote, entry)])])
    return watch


def _place(spec, watch, remote, request, remote_bag, charm_dir):
    """Leader: place one unit's request in the plan here, without the full hook.

    Remote unit data is only fresh in a hook for that unit (Juju keeps a
    member's settings from one hook to the next until a hook for that member
    runs), so the leader places requests one hook per unit; a full hook for
    each would make the placements of a roll's requests wait on one another.

    Once every other unit has an open entry (the spec's ``open``, kept up to
    date here), the leader places its own request too (it goes last,
    :func:`rollplan.leader_goes_now`) and works out what it waits for,
    unless its turn would come at once: the full hook does that, and holds
    the turn until the places it wrote are committed.  Anything unusual (an
    malformed plan, a failing hook tool, a batch size of 0) goes to the
    full hook.
    """
    import json
    size = watch.get('batch_size')
    if not isinstance(size, int) or size < 1 or charm_dir is None:
        return False
    bag, plan = _app_bag_and_plan(watch)
    if plan is None:
        return False
    me, own = watch.get('unit'), watch.get('pending')
    opened = _open_entries(watch)
    new, watch = _with_request(plan, watch, remote, request, size, {remote: remote_bag}, opened)
    if new is None:
        return False
    new = _drop_finished(new, opened)
    added = _entries(new) - _entries(plan)
    if _turn_came(watch) and not any(_batch_of(new, me, own).get(u) == r for u, r in added):
        # The leader's own batch is full or closed, so nothing holds its turn
        # back any more: it restarts, and the full hook places these requests
        # (in a later batch) and finishes the turn.
        restart_early(watch, watch.get('planned'), charm_dir)
        return False
    echo = _echo_elsewhere(watch, new, bag)
    if echo is _FAILED:
        return False
    settings = dict({watch['plan_key']: json.dumps(new, sort_keys=True)},
                    **({watch['echo_key']: echo} if echo else {}))
    if new != plan and not _relation_set(settings):
        return False
    spec['app_watch'] = dict(watch, placed=sorted(list(e) for e in _entries(new)))
    if opened is not None:
        spec['app_watch']['open'] = sorted([u, r] for u, r in opened.items())
    save_spec(charm_dir, spec)
    return True


def _drop_finished(plan, opened):
    """The plan without the batches at its head whose entries are all done.

    As the full hook's planning drops them: each unit reads the plan's
    earlier batches to know whether its turn came, one bag per entry.
    ``opened`` None (a spec from an older release) keeps them.
    """
    if opened is None:
        return plan
    batches = list(plan['batches'])
    while batches and all(opened.get(u) != r for u, r in batches[0]['units'].items()):
        batches.pop(0)
    return dict(plan, batches=batches)


def _with_request(plan, watch, remote, request, size, bags, opened):
    """``(plan, watch)`` with ``remote``'s request placed, and the leader's own
    if it goes now (``opened`` updated); ``(None, None)`` for the full hook."""
    try:
        new = _place_one(plan, watch, remote, request, size, bags, opened)
        if opened is not None:
            opened[remote] = request
        return _place_own(new, watch, size, bags, opened)
    except _ReadFailed:
        return None, None


def _place_own(plan, watch, size, bags, opened):
    """Leader: ``(plan, watch)`` with its own request placed once every peer has
    (unchanged while its request is placed or it has none).

    ``(None, None)`` for the full hook: the spec does not list the peers, or
    the leader's turn would come at once.  Else the watch says where the
    leader's request is and whom it waits for, as a unit's own full hook
    would (``restart.my_turn``), and its restart comes when they are done.
    """
    from charms.layer.stackyard import rollplan
    me, own, peers = watch.get('unit'), watch.get('pending'), watch.get('peers')
    if not _own_unplaced(watch):
        return plan, watch
    if not isinstance(peers, list):
        return None, None
    if opened is None or not set(peers) <= set(opened):
        return plan, watch
    mine = _place_one(plan, watch, me, own, size, bags, opened)
    n, earlier = rollplan.place_of(mine, me, own)
    waiting = rollplan.waiting_for(
        earlier, set(peers) | {me},
        lambda u: {'done': _bag(u, bags).get(watch.get('done_key') or '')})
    if not waiting:
        return None, None
    opened[me] = own
    return mine, dict(watch, planned=n, waiting_on=waiting)


def _entries(plan):
    """The plan's ``(unit, id)`` entries, as a set."""
    return {(u, r) for b in plan['batches'] for u, r in b['units'].items()}


def _open_entries(watch):
    """``{unit: id}`` of the plan entries the leader knows are not done.

    None when the spec has no ``open`` list (one from an older release).
    """
    entries = _pairs(watch.get('open'))
    return None if entries is None else dict(entries)


def _pairs(value):
    """The ``[unit, id]`` pairs of a spec list, as tuples; None when it is not a list."""
    if not isinstance(value, list):
        return None
    return [tuple(e) for e in value
            if isinstance(e, list) and len(e) == 2 and all(isinstance(x, str) for x in e)]


def _bag(unit, bags):
    """A peer unit's bag, read once per hook (raises ``_ReadFailed``)."""
    if unit not in bags:
        data = _relation_get('-', unit)
        if data is _FAILED or not isinstance(data, (dict, type(None))):
            raise _ReadFailed(unit)
        bags[unit] = data or {}
    return bags[unit]


def _halted_entries(watch):
    """``{(unit, id)}`` of the open entries the leader knows halted."""
    return set(_pairs(watch.get('halted')) or [])


def _place_one(plan, watch, unit, request, size, bags, opened):
    """``rollplan.place``, with the states of the last batch's members.

    :param opened: the entries the leader knows are not done (see
        :func:`_note_ended`), with ``halted`` in the watch: no bag is read;
        None reads each member's bag instead (a spec from an older release)
    """
    from charms.layer.stackyard import rollplan
    states = {}
    halted = _halted_entries(watch)
    for member, entry in (plan['batches'][-1]['units'] if plan['batches'] else {}).items():
        if opened is not None:
            states[member] = {'done': entry if opened.get(member) != entry else None,
                              'halted': entry if (member, entry) in halted else None}
            continue
        data = _bag(member, bags)
        states[member] = {'done': data.get(watch['done_key']),
                          'halted': data.get(watch.get('halted_key') or '')}
    return rollplan.place(plan, unit, request, size, states)


def _app_bag_and_plan(watch):
    """``(app bag, plan)`` for the leader's fast path; ``(None, None)`` for the full hook."""
    import json
    from charms.layer.stackyard import rollplan
    bag = _relation_get('--app', '-', watch.get('app') or '')
    if bag is _FAILED or not isinstance(bag, (dict, type(None))):
        return None, None
    bag = bag or {}
    try:
        return bag, rollplan.sane_plan(json.loads(bag.get(watch['plan_key']) or '{}'))
    except (ValueError, KeyError):
        return None, None


def _own_unplaced(watch):
    """Leader: its own restart request waits to be placed (it goes last when it can)."""
    return bool(watch.get('leader') and watch.get('pending')) and watch.get('planned') is None


def _may_place_own(watch, remote, bag):
    """Leader keeping its own request back: a change that may let it place it.

    A planned unit that finished or halted, or the answer to the leader's
    echo: the full hook decides (``rollplan.leader_goes_now``).
    """
    if not _own_unplaced(watch):
        return False
    placed = watch.get('placed') or []
    ended = [bag.get(watch.get('done_key') or ''), bag.get(watch.get('halted_key') or '')]
    if any(r and [remote, r] in placed for r in ended):
        return True
    answer = bag.get(watch.get('echo_key') or '')
    return isinstance(answer, str) and answer.startswith(watch['pending'] + '@')


def _batch_of(plan, unit, request_id):
    """``{unit: id}`` of the batch holding ``unit``'s ``request_id`` ({} if none)."""
    return next((b['units'] for b in plan['batches'] if b['units'].get(unit) == request_id), {})


def _echo_elsewhere(watch, plan, bag):
    """A new echo request when the peer named to answer joined the leader's batch.

    That peer would answer only once its own restart is over, and the leader
    waits for the answer to take its turn.  Returns the new JSON value, None
    (keep it) or ``_FAILED``.
    """
    import json
    try:
        echo = json.loads(bag.get(watch['echo_key']) or '{}')
    except (ValueError, KeyError):
        return _FAILED
    mates = _batch_of(plan, watch.get('unit'), watch.get('pending'))
    if not isinstance(echo, dict) or echo.get('by') not in mates:
        return None
    peers = _relation_list()
    if peers is _FAILED:
        return _FAILED
    others = [u for u in peers if u not in mates]
    if not others:
        return None
    return json.dumps(dict(echo, by=others[-1]), sort_keys=True)


def _relation_list():
    import json
    ran = _run_tool(['relation-list', '--format=json'])
    if ran is None or ran[0] != 0:
        return _FAILED
    try:
        peers = json.loads(ran[1].decode() or '[]')
    except ValueError:
        return _FAILED
    return peers if isinstance(peers, list) else _FAILED


def _relation_set(settings, app=True):
    args = ['{}={}'.format(k, v) for k, v in sorted(settings.items())]
    ran = _run_tool(['relation-set'] + (['--app'] if app else []) + args)
    return ran is not None and ran[0] == 0


def turn_known(request_id, batch_n):
    """Whether the spec this hook found says ``request_id``'s turn in batch ``batch_n`` came.

    The last full hook worked out what the request waits for, and fast hooks
    since struck off each unit as its bag showed it done; an entry once done
    stays done, and the plan only appends batches, so while the request is
    still in the same batch nothing new can stand before it.  The full hook
    then need not read every earlier unit's bag again.
    """
    watch = (previous or {}).get('app_watch')
    return isinstance(watch, dict) and watch.get('pending') == request_id \
        and watch.get('planned') == batch_n and watch.get('waiting_on') == {}


def _turn_came(watch):
    """Placed, nothing left to wait for, not restarted: the next hook takes the turn.

    (The leader leaves its own turn to its next hook; any peer change is one.)
    """
    return bool(watch.get('pending')) and watch.get('planned') is not None \
        and not watch.get('waiting_on')


def _app_change_is_nothing_for_us(watch, environ, charm_dir=None):
    if watch.get('leader') or environ.get('JUJU_REMOTE_APP') != watch.get('app'):
        return False
    if _turn_came(watch):
        return False
    bag = _relation_get('--app', '-', watch.get('app') or '')
    if bag is _FAILED:
        return False
    import json
    try:
        bag = bag or {}
        roll = json.loads(bag.get(watch['roll_key']) or '{}')
        plan = json.loads(bag.get(watch['plan_key']) or '{}')
        echo = json.loads(bag.get(watch['echo_key']) or '{}')
        roll_id = roll.get('id')
        echo_wanted = echo.get('by') == watch.get('unit') and \
            echo.get('token') != watch.get('echo_sent')
    except (ValueError, KeyError, TypeError, AttributeError):
        return False
    if roll_id and roll_id != watch.get('roll_seen'):
        return False
    if echo_wanted:
        watch = _answer_echo(watch, echo.get('token'), charm_dir)
        if watch is None:
            return False
    if not watch.get('pending'):
        return not _placed_ahead(watch, plan)
    return _placement_unchanged(watch, plan, charm_dir)


def _placed_ahead(watch, plan):
    """Whether the plan holds a place for a request this unit has not made.

    The leader placed it ahead (``restart.ahead_requests``); the full hook
    takes it as a request with nothing to restart, given back in its turn
    (``restart.decline_unasked``).
    """
    from charms.layer.stackyard import rollplan
    me, issued = watch.get('unit'), watch.get('issued')
    if not isinstance(issued, int):
        return False    # a spec from before places were made ahead
    for batch in rollplan.sane_plan(plan)['batches']:
        parts = rollplan.split_id(batch['units'].get(me))
        if parts and parts[0] == me and parts[1] > issued:
            return True
    return False


def _answer_echo(watch, token, charm_dir):
    """Answer the leader's echo (``restart.answer_echo``) here: the watch that says so, or None."""
    if not isinstance(token, str) or not token or charm_dir is None:
        return None
    spec = read_spec(charm_dir)
    if spec is None or not _relation_set({watch['echo_key']: token}, app=False):
        return None
    watch = spec['app_watch'] = dict(watch, echo_sent=token)
    save_spec(charm_dir, spec)
    return watch


def _placement_unchanged(watch, plan, charm_dir):
    """A new place for this unit's request: what it waits for, worked out here.

    The units of earlier batches that are not done yet go into the spec (one
    ``relation-get`` each, and a ``relation-list`` for who is still there,
    as ``restart.my_turn`` does); when none is left, the turn came with the
    place (the leader wrote the plan in the hook that also finished the
    batch before, say) and the unit restarts here.  Only a turn that came
    needs the full hook.
    """
    from charms.layer.stackyard import rollplan
    placed, _ = rollplan.place_of(plan, watch.get('unit'), watch['pending'])
    if placed == watch.get('planned'):
        return True
    if placed is None or charm_dir is None:
        return False
    waiting = _still_to_finish(watch, plan)
    spec = read_spec(charm_dir)
    if waiting is _FAILED or spec is None:
        return False
    # The spec says so before any restart, so the full hook's own pass
    # through here (after it re-executes under the venv's python) does not
    # restart again.
    spec['app_watch'] = dict(watch, planned=placed, waiting_on=waiting)
    save_spec(charm_dir, spec)
    if waiting:
        return True
    restart_early(watch, placed, charm_dir)
    return False


def _still_to_finish(watch, plan):
    """``{unit: id}`` of the earlier entries this unit's place waits for whose
    units are here and not done (``rollplan.place_of``), or ``_FAILED``."""
    from charms.layer.stackyard import rollplan
    me = watch.get('unit')
    if not rollplan.place_of(plan, me, watch['pending'])[1]:
        return {}
    live = _relation_list()
    if live is _FAILED:
        return _FAILED
    live = set(live) | {me}
    earlier = rollplan.place_of(plan, me, watch['pending'], live)[1]

    def state_of(unit):
        done = _done_of(watch, unit)
        if done is _FAILED:
            raise _ReadFailed(unit)
        return done
    try:
        return rollplan.waiting_for(earlier, live, state_of)
    except _ReadFailed:
        return _FAILED


class _ReadFailed(Exception):
    """A hook tool failed: the full hook does the work instead."""


def restart_early(watch, batch_n, charm_dir):
    """A unit whose turn just came restarts its services here, before the full hook.

    The full hook that follows (in this same process) would spend its
    interpreter start, imports and handlers first; the restart needs none of
    them.  It runs the commands the last full hook wrote in the spec (those
    charmhelpers' ``service_restart`` runs), then leaves a note that the full
    hook takes at its start (``restart.take_early_restart``): it waits for the
    health checks and releases the slot as usual.  A command that fails
    leaves no note, and the full hook restarts the services itself.

    On the leader only where the hook places nobody in its own batch (its
    batch is full, or the remote unit had nothing to place): otherwise its
    turn waits for the placement to be committed (``restart.hold_own_turn``).
    """
    early = watch.get('early_restart')
    if not isinstance(early, dict) or not watch.get('pending'):
        return False
    import subprocess
    commands = early.get('commands')
    if not isinstance(commands, list) or not commands:
        return False
    path = os.path.join(charm_dir, EARLY_RESTART)
    if os.path.exists(path):
        return False        # restarted already; the full hook has not taken the note yet
    started = time.time()
    for argv in commands:
        try:
            if subprocess.call(argv, stdout=subprocess.DEVNULL) != 0:
                return False
        except (OSError, TypeError, ValueError):
            return False
    _write(path, {
        'id': watch['pending'], 'services': early.get('services'), 'batch': batch_n,
        'at': started})
    return True


def read_early_restart(charm_dir):
    """The note :func:`restart_early` left, or None.

    The full hook reads it at its start and removes it only once it
    succeeded (:func:`drop_early_restart`): a hook that fails has its kv
    changes discarded, and its retry must find the note again.
    """
    try:
        with open(os.path.join(charm_dir, EARLY_RESTART), 'rb') as f:
            note = marshal.load(f)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return note if isinstance(note, dict) else None


def drop_early_restart(charm_dir):
    try:
        os.remove(os.path.join(charm_dir, EARLY_RESTART))
    except OSError:
        pass


def fast_log_path(charm_dir):
    return os.path.join(charm_dir, FAST_LOG)


def _fast_log_full(charm_dir):
    try:
        return os.stat(fast_log_path(charm_dir)).st_size >= FAST_LOG_LIMIT
    except OSError:
        return False


def record(charm_dir, started, duration, hook_name='update-status'):
    """Append the fast hook's timing: one line, ``<start> <seconds> <hook>``."""
    line = '{:.3f} {:.4f} {}\n'.format(started, duration, hook_name).encode()
    fd = os.open(fast_log_path(charm_dir), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def take_fast_records(charm_dir, keep=True):
    """The fast hooks' records (``hookstats`` form), oldest first.

    :param keep: False empties the file (the caller stores the records)
    """
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
