#!/usr/bin/env python3
"""`make bench-yard-scale`: yard's controller throughput with N units on one peer relation.

What it measures is yard itself (scheduler, relation views, hook tool server,
hook spawning), not a charm: the charm is a few lines of shell written here.
yard's controller runs in this process on its local provider (each machine
is a folder, hooks run on the host), as ``scalebench.py`` drives it, with
the same cap on hooks at once.

Phases, one table row each:

- ``deploy``: ``deploy -n N`` until settled: N machines, install, leader,
  config-changed, start, and the peer relation's N x (N - 1) joined and
  changed hooks;
- ``roll``: ``config message=...``: every unit's config-changed writes its
  peer bag (the leader's also reads every member's bag, one ``relation-get``
  each, as the stackyard layer's leader does), which wakes a
  ``cluster-relation-changed`` on every other unit: about N x (N - 1) hooks
  of one ``exit 0``, like the layer's shell skip;
- ``built roll`` (``--roll-units``, default 300): the same roll on a model
  built in memory as settled (as the pass table below), whose units get
  their tools and charm before it starts: no N x (N - 1) deploy first. A roll
  not settled after ``--roll-timeout`` is cut (wall ends in ``+ (cut)``) and
  counted so far.

Columns: hooks yard ran (its hook records), wall seconds to settled,
hooks/s, this process's CPU (the controller's threads and the forks it
makes), that CPU per hook, and the hooks' own CPU (children).

A second table needs no hooks: a model of N settled units (every unit has
seen every other unit's bag) is built in memory, and the bench times the
controller's own passes over it: one scheduler pass (``_tick``: nothing to
run), one ``yard wait`` check (``_unsettled``) and one state snapshot save
(``store.save``), each the median of ``--repeat`` runs.

    yardscale.py [--units 60,100] [--pass-units 100,300] [--profile yappi.txt]
"""

import argparse
import os
import pickle
import resource
import shutil
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from yard.controller import Controller, UserError
from yard.controller.common import DEFAULT_CONFIG
from yard.model import (Application, Bag, LocalState, Machine, ModelState, RelEnd, RelLocal,
                        Relation, Unit)
from yard.provider.local import LocalProvider

APP = 'peers'
MAX_WORKERS = 100   # as scalebench.py

METADATA = """\
name: yardscale
summary: a shell charm for yard's controller benchmark
description: every hook is a few lines of shell
peers:
  cluster:
    interface: yardscale-peer
"""

CONFIG = """\
options:
  message:
    type: string
    default: hello
    description: written to the unit's peer bag by config-changed
"""

NOOP = '#!/bin/sh\nexit 0\n'

CONFIG_CHANGED = """\
#!/bin/sh
set -e
rid=$(relation-ids cluster)
[ -n "$rid" ] || exit 0
relation-set -r "$rid" message="$(config-get message)"
if [ "$(is-leader)" = True ]; then
    for u in $(relation-list -r "$rid"); do relation-get -r "$rid" message "$u" >/dev/null; done
fi
"""

HOOKS = ('install', 'start', 'leader-elected', 'leader-settings-changed', 'upgrade-charm',
         'update-status', 'stop', 'remove', 'cluster-relation-created',
         'cluster-relation-joined', 'cluster-relation-changed', 'cluster-relation-departed',
         'cluster-relation-broken')


def write_charm(dest):
    """The benchmark's charm in ``dest``."""
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(os.path.join(dest, 'hooks'))
    for name, text in (('metadata.yaml', METADATA), ('config.yaml', CONFIG)):
        with open(os.path.join(dest, name), 'w') as f:
            f.write(text)
    for hook in HOOKS + ('config-changed',):
        path = os.path.join(dest, 'hooks', hook)
        with open(path, 'w') as f:
            f.write(CONFIG_CHANGED if hook == 'config-changed' else NOOP)
        os.chmod(path, 0o755)
    return dest


def cpu():
    """(this process's CPU, its waited-for children's CPU) in seconds."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def phase(ctl, name, n, act, timeout):
    """Run ``act``, wait until settled (or ``timeout``: the row is cut), the row's figures."""
    since = time.time()
    before = cpu()
    act()
    cut = ''
    try:
        ctl.handle('wait', {'timeout': timeout})
    except UserError as e:
        if 'timed out' not in str(e):
            raise
        cut = '+ (cut)'
    wall = time.time() - since
    after = cpu()
    hooks = [h for h in ctl.handle('hooks', {}) if h['start'] >= since and not h['skipped']]
    own, kids = after[0] - before[0], after[1] - before[1]
    return (name, n, len(hooks), '{:.1f}{}'.format(wall, cut),
            '{:.0f}'.format(len(hooks) / wall), '{:.1f}'.format(own),
            '{:.2f}'.format(1000 * own / max(1, len(hooks))), '{:.1f}'.format(kids))


def roll(ctl, n, timeout, name='roll'):
    """Change ``message``: every unit writes its peer bag; the roll's row."""
    return phase(ctl, name, n, lambda: ctl.handle(
        'config', {'app': APP, 'values': {'message': 'roll {}'.format(time.time())}}), timeout)


def start(work, n, state=None):
    """A controller in this process on the local provider (with ``state``, if given)."""
    shutil.rmtree(work, ignore_errors=True)
    charm = write_charm(os.path.join(work, 'charm'))
    provider = LocalProvider('yardscale', root=os.path.join(work, 'machines'))
    ctl = Controller(os.path.join(work, 'home'), 'yardscale', provider=provider)
    ctl.pool = ThreadPoolExecutor(max_workers=min(n + 8, MAX_WORKERS))
    if state is not None:
        ctl._set(**{f: getattr(state(charm), f) for f in STATE_FIELDS})
    ctl.start()
    return ctl, charm


def run(n, work, timeout):
    """Deploy ``n`` units and roll them once; the two rows."""
    ctl, charm = start(work, n)
    try:
        ctl.handle('model-config', {'values': {'automatically-retry-hooks': 'false',
                                               'update-status-hook-interval': '24h'}})
        rows = [phase(ctl, 'deploy', n, lambda: ctl.handle(
            'deploy', {'path': charm, 'name': APP, 'num_units': n}), timeout)]
        rows.append(roll(ctl, n, timeout))
        return rows
    finally:
        ctl.stop()
        shutil.rmtree(work, ignore_errors=True)


def run_built(n, work, timeout):
    """Roll ``n`` units of a model built in memory as settled (no deploy): one row."""
    ctl, charm = start(work, n, lambda charm: settled_state(n, charm))
    try:
        for mid in ctl.state.machines:
            ctl.provider.create_machine(mid)
        deadline = time.time() + 60
        while not ctl.ready and time.time() < deadline:
            time.sleep(0.1)
        for name, u in sorted(ctl.state.units.items()):  # tools and charm, as a first hook would
            ctl._prepare_unit(name, u.machine, False)
        return [roll(ctl, n, timeout, 'built roll')]
    finally:
        ctl.stop()
        shutil.rmtree(work, ignore_errors=True)


def settled_state(n, charm):
    """A model of ``n`` units on one peer relation with nothing left to run."""
    names = ['{}/{}'.format(APP, i) for i in range(n)]
    now = time.time()
    units, machines, bags = {}, {}, {}
    for i, name in enumerate(names):
        members = {other: 1 for other in names if other != name}
        rel = RelLocal(endpoint='cluster', remote_app=APP, peer=True, created=True,
                       members=members)
        local = LocalState(installed=True, started=True, leader=i == 0, config_version=1,
                           leader_settings_version=None if i == 0 else 1,
                           charm_modified_version=0, relations={0: rel})
        units[name] = Unit(name=name, app=APP, machine=str(i), local=local,
                           last_update_status=now)
        machines[str(i)] = Machine(id=str(i), instance='m{}'.format(i),
                                   address='10.0.{}.{}'.format(i // 250, i % 250 + 2),
                                   status='started')
        bags['0|' + name] = Bag({'message': 'hello'}, version=1)
    app = Application(name=APP, charm_path=charm, charm_name='yardscale', leader=names[0],
                      next_unit=n)
    rel = Relation(id=0, ends=(RelEnd(APP, 'cluster', 'peers', 'yardscale-peer'),),
                   in_scope=tuple(sorted(names)))
    config = dict(DEFAULT_CONFIG, **{'update-status-hook-interval': '24h'})
    return ModelState(name='yardscale', uuid='bench', provider='local', config=config,
                      machines=machines, applications={APP: app}, units=units,
                      relations={0: rel}, bags=bags, next_machine=n, next_relation=1)


def timed(fn, repeat):
    """The median wall milliseconds of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def passes(n, work, repeat):
    """The controller's pass, wait check and save over ``n`` settled units: one row."""
    shutil.rmtree(work, ignore_errors=True)
    charm = write_charm(os.path.join(work, 'charm'))
    provider = LocalProvider('yardscale', root=os.path.join(work, 'machines'))
    ctl = Controller(os.path.join(work, 'home'), 'yardscale', provider=provider)
    try:
        ctl._set(**{f: getattr(settled_state(n, charm), f) for f in STATE_FIELDS})
        ctl.ready = True
        with ctl.lock:
            ctl._tick()
            if ctl.busy_units or ctl._unsettled() != (None, None):
                raise SystemExit('the built model is not settled: {}'.format(ctl._unsettled()))
            tick = timed(ctl._tick, repeat)
            wait = timed(ctl._unsettled, repeat)
            save = timed(lambda: ctl.store.save(ctl.state), repeat)
            size = len(pickle.dumps(ctl.state))
        return (n, '{:.1f}'.format(tick), '{:.1f}'.format(wait), '{:.1f}'.format(save),
                '{:.0f}'.format(size / 1024))
    finally:
        ctl.store.close()
        shutil.rmtree(work, ignore_errors=True)


def table(headers, rows):
    """Print an aligned text table."""
    cells = [list(map(str, headers))] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for i, row in enumerate(cells):
        print('  '.join(c.rjust(w) for c, w in zip(row, widths)))
        if i == 0:
            print('  '.join('-' * w for w in widths))
    sys.stdout.flush()


STATE_FIELDS = ('name', 'uuid', 'provider', 'config', 'machines', 'applications', 'units',
                'relations', 'bags', 'next_machine', 'next_relation')
PASS_HEADERS = ('settled units', 'scheduler pass ms', 'wait check ms', 'state save ms',
                'state KiB')
HEADERS = ('phase', 'units', 'hooks', 'wall s', 'hooks/s', 'yard cpu s', 'yard cpu ms/hook',
           'hook cpu s')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--units', type=lambda s: [int(x) for x in s.split(',') if x],
                        default=[60, 100])
    parser.add_argument('--pass-units', type=lambda s: [int(x) for x in s.split(',') if x],
                        default=[100, 300])
    parser.add_argument('--roll-units', type=lambda s: [int(x) for x in s.split(',') if x],
                        default=[300], help='units of a model built settled, then rolled')
    parser.add_argument('--roll-timeout', type=float, default=600,
                        help='seconds a roll of --roll-units may take; a longer one is cut')
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--dir', default='/tmp/yard-bench-scale', help='work folder')
    parser.add_argument('--timeout', type=float, default=3600,
                        help='seconds a phase may take to settle')
    parser.add_argument('--profile', metavar='FILE',
                        help='profile every thread with yappi (if importable) into FILE')
    args = parser.parse_args(argv)
    prof = None
    if args.profile:
        import yappi
        prof = yappi
        yappi.set_clock_type('cpu')
        yappi.start()
    load = os.getloadavg()
    print('bench-yard-scale: load average {:.1f} {:.1f} {:.1f} on {} CPUs at the start'.format(
        load[0], load[1], load[2], os.cpu_count()))
    work = os.path.abspath(args.dir)
    prows = [passes(n, os.path.join(work, 'p{}'.format(n)), args.repeat)
             for n in args.pass_units]
    if prows:
        table(PASS_HEADERS, prows)
        print()
    rows = []
    for n in args.units:
        rows += run(n, os.path.join(work, 'n{}'.format(n)), args.timeout)
    for n in args.roll_units:
        rows += run_built(n, os.path.join(work, 'r{}'.format(n)), args.roll_timeout)
    if prof is not None:
        prof.stop()
        with open(args.profile, 'w') as out:
            prof.get_func_stats().sort('tsub').print_all(out=out, columns={
                0: ('name', 90), 1: ('ncall', 10), 2: ('tsub', 8), 3: ('ttot', 8)})
    if rows:
        table(HEADERS, rows)
    load = os.getloadavg()
    print('load average {:.1f} {:.1f} {:.1f} at the end'.format(*load))


if __name__ == '__main__':
    main()
