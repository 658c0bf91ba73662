#!/usr/bin/env python3
"""Where a deploy's time went, from yard's hook records (``yard hooks --format json``).

    critpath.py -m MODEL [--since EPOCH]

Prints, per application, each hook name with its runs and seconds, and the
critical path: starting from the hook that ended last, each step back is
what that hook most likely waited for: the other hook that ended last before
it started: the previous hook on its machine when that ended just before
(Juju runs one hook per machine at a time), else the hook that ended last
anywhere, whose committed writes (relation data, leader settings) likely
woke it.  A long gap before a hook means it waited for a timer or a retry.

A hook record has no cause attached, so the path is an estimate (the hook
that ended last is the likeliest cause, not a proven one): read it next to
the debug log (``yard debug-log --replay``).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
YARD = os.environ.get('YARD_CLI') or os.path.join(REPO, '.venv', 'bin', 'yard')


def end(hook):
    return hook['start'] + hook['duration']


def per_application(hooks):
    """``{app: [(hook name, runs, total s, longest s), ...]}`` in order of first run."""
    found = {}
    for hook in sorted(hooks, key=lambda h: h['start']):
        app = hook['unit'].split('/')[0]
        rows = found.setdefault(app, {})
        runs, total, longest = rows.get(hook['hook'], (0, 0.0, 0.0))
        rows[hook['hook']] = (runs + 1, total + hook['duration'], max(longest, hook['duration']))
    return {app: [(name,) + figures for name, figures in rows.items()]
            for app, rows in found.items()}


def critical_path(hooks, machine_of, began=None, lock_gap=3.0):
    """The chain of hooks that ends with the last one, first hook first.

    A hook that started within ``lock_gap`` seconds of the end of the
    previous hook on its machine waited for that one (the machine lock, or
    its own unit's queue); any other waited for the hook that ended last
    before it started, elsewhere (whose commit woke it).

    :param hooks: hook records (``unit``, ``hook``, ``start``, ``duration``)
    :param machine_of: ``{unit: machine id}`` (subordinates share their principal's)
    :param began: when the deploy started (epoch s); the chain stops there
    :returns: ``[(hook, cause)]`` where cause is ``'start'``, ``'machine'``
        or ``'woken'``
    """
    done = sorted((h for h in hooks if h['hook'] != 'update-status'), key=end)
    if not done:
        return []
    chain, current = [], done[-1]
    while True:
        before = [h for h in done if end(h) <= current['start'] + 1e-6 and h is not current]
        if not before or (began is not None and current['start'] - began < 1e-6):
            chain.append((current, 'start'))
            break
        here = [h for h in before if machine_of.get(h['unit']) == machine_of.get(current['unit'])]
        if here and current['start'] - end(here[-1]) <= lock_gap:
            chain.append((current, 'machine'))
            current = here[-1]
        else:
            chain.append((current, 'woken'))
            current = before[-1]
    chain.reverse()
    return chain


def print_path(chain, began):
    print('critical path (each hook: what ended last before it started)')
    print('{:>8} {:>8} {:>7}  {:<24} {:<32} {}'.format(
        'start s', 'end s', 'hook s', 'unit', 'hook', 'after'))
    last_end = began
    for hook, cause in chain:
        gap = hook['start'] - last_end
        print('{:8.0f} {:8.0f} {:7.1f}  {:<24} {:<32} {} (+{:.0f} s)'.format(
            hook['start'] - began, end(hook) - began, hook['duration'], hook['unit'],
            hook['hook'], cause, gap))
        last_end = end(hook)
    busy = sum(h['duration'] for h, _ in chain)
    total = end(chain[-1][0]) - began if chain else 0
    print('path: {} hooks, {:.0f} s in hooks, {:.0f} s between them, {:.0f} s in all'.format(
        len(chain), busy, total - busy, total))


def print_apps(hooks):
    for app, rows in per_application(hooks).items():
        durations = [h['duration'] for h in hooks if h['unit'].split('/')[0] == app]
        units = len({h['unit'] for h in hooks if h['unit'].split('/')[0] == app})
        print('{}: {} hooks on {} units, {:.0f} s in hooks, median {:.1f} s'.format(
            app, len(durations), units, sum(durations), statistics.median(durations)))
        for name, runs, total, longest in rows:
            print('  {:<34} {:>3} runs {:>7.1f} s total {:>6.1f} s longest'.format(
                name, runs, total, longest))


def yard_json(model, *args):
    out = subprocess.run([YARD, '-m', model] + list(args) + ['--format', 'json'],
                         check=True, capture_output=True, text=True, cwd=REPO).stdout
    return json.loads(out)


def machines(status):
    """``{unit: machine}``, subordinates with their principal's machine."""
    found = {}
    for app in (status.get('applications') or {}).values():
        for name, unit in (app.get('units') or {}).items():
            found[name] = unit.get('machine')
            for sub in unit.get('subordinates') or {}:
                found[sub] = unit.get('machine')
    return found


def report(hooks, machine_of, began=None):
    began = min(h['start'] for h in hooks) if began is None else began
    print_apps(hooks)
    print()
    print_path(critical_path(hooks, machine_of, began), began)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-m', '--model', required=True)
    parser.add_argument('--since', type=float, help='the deploy time, epoch seconds')
    args = parser.parse_args(argv)
    hooks = yard_json(args.model, 'hooks')
    if not hooks:
        sys.exit('no hooks ran in model {}'.format(args.model))
    report(hooks, machines(yard_json(args.model, 'status')), args.since)


if __name__ == '__main__':
    main()
