"""Why the agents are offline: one kv entry, owned by this module.

``ci-worker.offline`` maps a reason (``disk``, ``drain``) to its message.
While it holds any reason the agent services are not ready, so the services
framework stops them and the layer's status names the reason.
"""

from charmhelpers.core import unitdata

KEY = 'ci-worker.offline'
DISK, DRAIN = 'disk', 'drain'


def reasons():
    """``{reason: message}``."""
    return dict(unitdata.kv().get(KEY) or {})


def set_reason(reason, message):
    """Take the agents offline for ``reason``; True when that changed anything."""
    current = reasons()
    was_online = not current
    current[reason] = message
    unitdata.kv().set(KEY, current)
    return was_online


def clear(reason):
    """Drop ``reason``; True when the agents may come back (no reason left, one dropped)."""
    current = reasons()
    if reason not in current:
        return False
    del current[reason]
    unitdata.kv().set(KEY, current)
    return not current


def online():
    return not reasons()
