"""The layer's actions; every file in ``actions/`` runs :func:`main`.

Charms add their own with :func:`action`.  An action loads the charm's
reactive modules but runs no handlers; it ends like a hook (timing, restart
coordination, status) and keeps its kv changes only if it did not raise, or
raised :class:`ActionFailed` with ``done=True`` (it acted, then failed).
"""

import json
import os
import sys
import time

from charms.layer.stackyard import compat

compat.install()

from charmhelpers.core import hookenv, unitdata  # noqa: E402  after compat.install()
from charms.reactive import bus  # noqa: E402
from charms.reactive.endpoints import Endpoint  # noqa: E402

from charms.layer.stackyard import (  # noqa: E402
    hookstats, operations, options, restart, services, status)

_actions = {}


class ActionFailed(Exception):
    """Fail the action with this message (the unit is not put in error).

    :param done: the action changed the unit before it failed (services
        started, say): keep what it recorded and end like a hook that
        succeeded.  By default nothing it recorded is kept.
    """

    def __init__(self, message, done=False):
        super().__init__(message)
        self.done = done


def action(name):
    """Register an action implementation under ``name`` (decorator)."""
    def register(fn):
        _actions[name] = fn
        return fn
    return register


def _service_list(text):
    names = services.names()
    wanted = [s for s in (text or '').replace(',', ' ').split() if s]
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        raise ActionFailed('unknown service(s): {}; this charm has: {}'.format(
            ', '.join(unknown), ', '.join(names) or 'none'))
    return wanted


@action('restart-services')
def restart_services(params):
    if operations.paused():
        raise ActionFailed('the unit is paused; run the resume action first')
    wanted = _service_list(params.get('services'))
    deferred_only = bool(params.get('deferred-only'))
    config = options.config()
    batch_size = restart.settings(config)[0]
    if hookenv.is_leader() and restart.peer_relation() and batch_size > 0:
        roll = restart.announce_roll(wanted, deferred_only)
        return {'roll': roll, 'scope': 'application', 'batch-size': str(batch_size),
                'message': 'Rolling restart announced; units restart {} at a time as slots '
                           'free up (watch status)'.format(batch_size)}
    if deferred_only:
        request = restart.apply_deferred(config, wanted or None)
        if request is None:
            return {'scope': 'unit', 'message': 'No deferred restarts to apply'}
    else:
        request = restart.request(wanted or services.names(), 'restart-services action',
                                  config, force=True)
    return {'request': request, 'scope': 'unit',
            'message': 'Restart requested; it runs when this unit gets a slot'}


@action('skip-restart')
def skip_restart(params):
    try:
        skipped = restart.skip(params.get('unit'))
    except ValueError as e:
        raise ActionFailed(str(e))
    return {'skipped': skipped, 'message': 'Skipped {}: later batches go on without it; the '
            'unit asks for a slot again if it comes back'.format(skipped)}


@action('show-deferred-events')
def show_deferred_events(params):
    queued = restart.deferred()
    return {'services': ' '.join(sorted(queued)),
            'events': json.dumps(queued, sort_keys=True),
            'count': str(len(queued))}


@action('health')
def health_action(params):
    results = operations.check_health()
    lines = ['{} {}: {} ({})'.format(r['service'], r['check'], 'ok' if r['ok'] else 'FAILED',
                                     r['detail']) for r in results]
    return {'healthy': 'true' if all(r['ok'] for r in results) else 'false',
            'results': '\n'.join(lines) or 'no health checks declared'}


@action('restart-history')
def restart_history(params):
    history = restart.history()
    lines = ['{}  {}  restarted {:.3f}  released {:.3f}'.format(
        h['id'], ' '.join(h['services']), h.get('restarted_at') or 0, h.get('released_at') or 0)
        for h in history]
    return {'history': json.dumps(history, sort_keys=True), 'count': str(len(history)),
            'table': '\n'.join(lines) or 'no restarts recorded'}


@action('pause')
def pause_action(params):
    operations.pause()
    return {'message': 'Paused: services stopped, restarts held'}


@action('resume')
def resume_action(params):
    results = operations.resume()
    failing = [r for r in results if not r['ok']]
    if failing:
        # The services run again: status and reconfiguration must follow.
        raise ActionFailed('resumed, but health checks fail: ' + '; '.join(
            '{} {} ({})'.format(r['service'], r['check'], r['detail']) for r in failing),
            done=True)
    return {'message': 'Resumed'}


def _key(name):
    return ''.join(c if c.isalnum() else '-' for c in name.lower()).strip('-')


@action('hook-stats')
def hook_stats(params):
    summary = hookstats.summary(hookstats.records())
    out = {'table': format_table(summary)}
    for hook, stats in summary.items():
        for field, value in stats.items():
            out['hooks.{}.{}'.format(_key(hook), field)] = str(value)
    return out


def format_table(summary):
    """A text table of the hook summary."""
    rows = [('hook', 'count', 'median', 'p95', 'max', 'errors')]
    for hook, s in sorted(summary.items()):
        rows.append((hook, str(s['count']), '{:.3f}'.format(s['median']),
                     '{:.3f}'.format(s['p95']), '{:.3f}'.format(s['max']), str(s['errors'])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return '\n'.join('  '.join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _set_results(results):
    if results:
        hookenv.action_set(dict(results))


def main(name=None):
    """Run the action named after argv[0] (or ``name``)."""
    name = name or os.environ.get('JUJU_ACTION_NAME') or os.path.basename(sys.argv[0])
    started, t0 = time.time(), time.monotonic()
    bus.discover()
    # charms.reactive makes the Endpoint instances only in hooks (at start);
    # without them endpoint_from_flag() gives None here, and a service whose
    # context reads a relation would look unready and be stopped.
    Endpoint._startup()
    fn = _actions.get(name)
    kv = unitdata.kv()
    outcome = 'ok'
    try:
        if fn is None:
            raise ActionFailed('action {} is not implemented by this charm'.format(name))
        try:
            _set_results(fn(hookenv.action_get() or {}))
        except ActionFailed as e:
            if not e.done:
                raise
            hookenv.action_fail(str(e))
            outcome = 'error'
        _end()
    except ActionFailed as e:
        hookenv.action_fail(str(e))
        _discard(kv, name, started, t0)
        return
    except BaseException:
        _discard(kv, name, started, t0)
        raise
    hookstats.record('action:' + name, started, time.monotonic() - t0, outcome, kv=kv)
    kv.flush()


def _end():
    operations.end_of_hook()
    status.assess_status()
    # What the next hooks may skip depends on what the action did.
    operations.write_state()


def _discard(kv, name, started, t0):
    """Forget what a failed action recorded; keep its timing."""
    kv.flush(save=False)
    hookstats.record('action:' + name, started, time.monotonic() - t0, 'error', kv=kv)
    kv.flush()
