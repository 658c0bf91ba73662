"""One status assessment at the end of every hook.

Charms register checks; each returns ``None`` when it has nothing to say, or a
``(state, message)`` pair (or a list of pairs).  The worst state wins, in the
order blocked > waiting > maintenance > active; messages of that state are
joined with "; ".  With no complaints the unit is active with the messages
of checks that returned active, or else the charm's ready message.
``status-set`` runs only when the result changed.
"""

from charmhelpers.core import hookenv, unitdata

BLOCKED, WAITING, MAINTENANCE, ACTIVE = 'blocked', 'waiting', 'maintenance', 'active'
PRIORITY = {BLOCKED: 0, WAITING: 1, MAINTENANCE: 2, ACTIVE: 3}
LAST_KEY = 'stackyard.status.last'
VERSION_KEY = 'stackyard.status.version'
# Hooks after which the workload version may have changed.
VERSION_HOOKS = ('install', 'config-changed', 'start', 'upgrade-charm', 'post-series-upgrade')

_checks = []
_ready = {'message': 'Ready'}
_version = {'source': None}
_idle = {'enabled': False, 'peers': False}


def idle_fast_path(enabled=True, peer_changes=False):
    """Let an idle update-status skip the full hook (see ``idle``).

    Only for charms whose status checks need not run on update-status: the
    fast path re-runs the declared health checks, nothing else.

    :param peer_changes: also let a unit that does not lead skip, in its
        hook's shell part, other units' peer changes that cannot concern it.
        Only for charms with no handlers of their own on peer data (else
        every hook fails, and :func:`check_peer_fast_path` in unit tests).
    """
    _idle['enabled'] = bool(enabled)
    _idle['peers'] = bool(enabled) and bool(peer_changes)


class PeerFastPathMisuse(Exception):
    """A charm skips peer changes in the fast path but has handlers on peer data."""


def peer_data_handlers():
    """Ids of the registered handlers on the peer relation's data: a flag
    ``cluster.*`` or ``endpoint.cluster.*``, or a ``@hook`` of its relation hooks."""
    from charms.reactive import bus
    from charms.layer.stackyard import restart
    endpoint = restart.PEER
    prefixes = (endpoint + '.', 'endpoint.{}.'.format(endpoint))
    found = []
    for handler in bus.Handler.get_handlers():
        hooks = [p for pred in handler._predicates
                 if getattr(getattr(pred, 'func', None), '__name__', '') == '_hook'
                 for p in pred.args[0]]
        if any(f.startswith(prefixes) for f in handler._flags) or \
                any(endpoint + '-relation-' in p for p in hooks):
            found.append(handler.id())
    return sorted(found)


def check_peer_fast_path():
    """Refuse ``idle_fast_path(peer_changes=True)`` in a charm with handlers on peer data.

    Run at the start of every hook, and by charms' unit tests.

    :raises PeerFastPathMisuse: naming the handlers
    """
    if not peer_fast_path_enabled():
        return
    handlers = peer_data_handlers()
    if handlers:
        raise PeerFastPathMisuse(
            'idle_fast_path(peer_changes=True) skips peer changes that the layer does not '
            'need, but these handlers react to peer data: {}; drop peer_changes=True or '
            'the handlers'.format(', '.join(handlers)))


def idle_fast_path_enabled():
    return _idle['enabled']


def peer_fast_path_enabled():
    return _idle['peers']


def check(fn):
    """Register ``fn`` as a status check (usable as a decorator); returns ``fn``."""
    if fn not in _checks:
        _checks.append(fn)
    return fn


def ready_message(message_or_fn):
    """Set the active message: a string, or a callable returning one."""
    _ready['message'] = message_or_fn


def version_source(fn):
    """Register a callable returning the workload's version string (or None)."""
    _version['source'] = fn
    return fn


def _results(fn):
    result = fn()
    if not result:
        return []
    if isinstance(result, tuple):
        return [result]
    return [r for r in result if r]


def evaluate(checks=None):
    """Run every check and pick the status to show.

    :returns: ``(state, message)``
    :raises ValueError: if a check returns an unknown state
    """
    found = []
    for fn in _checks if checks is None else checks:
        for state, message in _results(fn):
            if state not in PRIORITY:
                raise ValueError('status check {} returned unknown state {!r}'.format(
                    getattr(fn, '__name__', fn), state))
            found.append((PRIORITY[state], state, message))
    worst = [f for f in found if f[0] < PRIORITY[ACTIVE]]
    if worst:
        top = min(f[0] for f in worst)
        state = next(f[1] for f in worst if f[0] == top)
        messages = []
        for f in worst:
            if f[0] == top and f[2] not in messages:
                messages.append(f[2])
        return state, '; '.join(messages)
    active = []
    for f in found:
        if f[2] and f[2] not in active:
            active.append(f[2])
    if active:
        return ACTIVE, '; '.join(active)
    message = _ready['message']
    return ACTIVE, message() if callable(message) else message


def set_status(state, message, kv=None):
    """Set the workload status now (e.g. maintenance during a long step)."""
    kv = kv or unitdata.kv()
    hookenv.status_set(state, message)
    kv.set(LAST_KEY, [state, message])


def assess_status():
    """Set the unit's status from all checks, and its workload version."""
    kv = unitdata.kv()
    state, message = evaluate()
    if kv.get(LAST_KEY) != [state, message]:
        set_status(state, message, kv=kv)
    if hookenv.hook_name() in VERSION_HOOKS:
        update_version(kv)


def update_version(kv=None):
    """Call ``application-version-set`` when the workload's version changed."""
    source = _version['source']
    if source is None:
        return
    kv = kv or unitdata.kv()
    version = source()
    if version and kv.get(VERSION_KEY) != version:
        hookenv.application_version_set(version)
        kv.set(VERSION_KEY, version)
