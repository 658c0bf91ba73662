"""Hook timing: each hook's name, start, duration and outcome, kept in unitdata.

Records are a bounded list (the newest ``MAX_RECORDS``) under one kv key, so a
long-lived unit never grows its state without limit.  Hooks that took the
idle fast path leave a line in a file instead (:mod:`idle`); the next full
hook moves them in.  The ``hook-stats`` action summarises them.
"""

import os
import statistics

from charmhelpers.core import hookenv, unitdata

KEY = 'stackyard.hookstats.records'
MAX_RECORDS = 500


def current_name():
    """The hook's name, or ``action:<name>`` inside an action."""
    action = os.environ.get('JUJU_ACTION_NAME')
    if action:
        return 'action:' + action
    return hookenv.hook_name()


def record(name, start, duration, outcome, kv=None):
    """Append one record (``start`` epoch seconds, ``duration`` seconds, ``outcome``
    "ok" or "error") and keep only the newest ``MAX_RECORDS``."""
    kv = kv or unitdata.kv()
    records = kv.get(KEY, []) + _fast(keep=False)
    records.append({'hook': name, 'start': round(start, 3),
                    'duration': round(duration, 4), 'outcome': outcome})
    kv.set(KEY, records[-MAX_RECORDS:])


def records(kv=None):
    """All kept records, oldest first (fast hooks' not moved in yet included)."""
    return list((kv or unitdata.kv()).get(KEY, [])) + _fast(keep=True)


def _fast(keep):
    from charms.layer.stackyard import idle
    charm_dir = hookenv.charm_dir()
    return idle.take_fast_records(charm_dir, keep=keep) if charm_dir else []


def summary(recs):
    """Per hook name: count, median, p95 and max seconds, and errors.

    :returns: ``{hook: {"count": n, "median": s, "p95": s, "max": s, "errors": n}}``
    """
    by_hook = {}
    for rec in recs:
        by_hook.setdefault(rec['hook'], []).append(rec)
    out = {}
    for hook, items in sorted(by_hook.items()):
        durations = sorted(r['duration'] for r in items)
        p95_index = max(0, -(-95 * len(durations) // 100) - 1)
        out[hook] = {'count': len(items),
                     'median': round(statistics.median(durations), 4),
                     'p95': durations[p95_index],
                     'max': durations[-1],
                     'errors': sum(1 for r in items if r['outcome'] != 'ok')}
    return out
