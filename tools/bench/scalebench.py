#!/usr/bin/env python3
"""`make bench-scale`: the layer's restart coordination at 100 and 300 units, on one host.

The built test charm's real hooks run for every unit of one application,
driven by yard's controller (in this process) on its local provider, with
Juju's hook and peer-relation semantics.  No containers: each "machine" is a
folder, and every hook runs in ``scale/sandbox`` (a private mount namespace
where /etc, /usr, /var, /run, /srv and /opt are overlays kept per machine),
with a fake ``systemctl`` first on PATH (``scale/fake-bin/systemctl``): no
service runs, a restart is a recorded no-op that takes ``--restart-seconds``.

A roll is what an operator does: ``yard config web message=...`` changes a
rendered file on every unit, and the layer restarts them in batches of
``restart-batch-size``.  The numbers come from the sandbox's record of every
hook (its wall time, the CPU time of it and its children, whether it started
Python and whether it entered the charm's venv) and from the fake
systemctl's record of every restart; nothing is read from the layer's own
state.

    scalebench.py [--units 100,300] [--batches 10,30] [--restart-seconds 5]

What differs from a real Juju deployment is printed with the table.
"""

import argparse
import collections
import dataclasses
import hashlib
import http.server
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable, List

from yard.controller import UserError

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'scale')
APP = 'web'
# yard's hooks at once: a unit per worker, as Juju's per-machine lock allows, up to
# what this host's memory holds when every unit runs a full hook (about 50 MB each).
MAX_WORKERS = 100

DIFFERENCES = """\
How this differs from real Juju (every unit on its own machine):
- all units share this host's CPUs: a hook waits for a CPU that on a cloud
  its own machine would give it at once, so wall time here grows with the
  hooks of every unit together (hook CPU s), not with one unit's;
- restarts are a fake systemctl on PATH: no service runs; `restart` records
  itself and returns after {restart}s; the charm's health check (HTTP on
  127.0.0.1:<port>) is answered by one listener in this process for all units;
- units are brought into the peer relation by a placeholder of the charm
  (same name, metadata and config, no hooks), then `upgrade-charm` to the
  built charm: the N x N join hooks of a first deployment do not run the
  layer.  Every unit uses one venv built once by the charm's own bootstrap
  (linked as its .venv), instead of building its own on its first hook;
- yard runs up to {workers} hooks at once (one per unit, as Juju's per-machine
  lock does); the controller does not persist its state between hooks
  (nothing restarts it) and update-status is off during the rolls.
"""


@dataclasses.dataclass(frozen=True)
class Hook:
    """One run the sandbox recorded (a hook, an action or an exec)."""

    start: float
    wall: float
    cpu: float
    kind: str      # "skip" (no Python), "python" (system Python only), "full" (the venv)
    name: str
    remote: str
    unit: str
    code: int


@dataclasses.dataclass(frozen=True)
class Call:
    """One call of the fake systemctl."""

    verb: str
    service: str
    unit: str
    start: float
    end: float


def parse_hooks(lines: Iterable[str]) -> List[Hook]:
    """The sandbox's ``hooks.log`` lines; a torn or malformed line is an error."""
    out = []
    for line in lines:
        if not line.strip():
            continue
        f = line.split()
        if len(f) != 8 or f[3] not in ('skip', 'python', 'full'):
            raise ValueError('bad hook record: {!r}'.format(line))
        out.append(Hook(float(f[0]), float(f[1]), float(f[2]), f[3], f[4],
                        '' if f[5] == '-' else f[5], f[6], int(f[7])))
    return out


def parse_calls(lines: Iterable[str]) -> List[Call]:
    """The fake systemctl's ``systemctl.log`` lines."""
    out = []
    for line in lines:
        if not line.strip():
            continue
        f = line.split()
        if len(f) != 5:
            raise ValueError('bad systemctl record: {!r}'.format(line))
        out.append(Call(f[0], f[1], f[2], float(f[3]), float(f[4])))
    return out


def most_at_once(spans):
    """The largest number of (start, end) spans open at one moment.

    A span that ends at the moment another starts does not overlap it.
    """
    events = sorted([(end, -1) for _, end in spans] + [(start, 1) for start, _ in spans])
    best = cur = 0
    for _, step in events:
        cur += step
        best = max(best, cur)
    return best


def percentile(values, pct):
    """The ``pct`` percentile (nearest rank) of ``values``; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def summarise(hooks, calls, since, units, batch, restart_seconds):
    """The table's measured columns for one roll that began at ``since``.

    :param hooks: every :class:`Hook` recorded; those starting at ``since`` or
        later belong to the roll
    :param calls: every :class:`Call` recorded, likewise
    :param units: the application's units (each should restart exactly once)
    """
    hooks = [h for h in hooks if h.start >= since]
    restarts = [c for c in calls if c.start >= since and c.verb == 'restart']
    kinds = collections.Counter(h.kind for h in hooks)
    per_unit = collections.Counter(c.unit for c in restarts)
    skipped = [h.wall for h in hooks if h.kind == 'skip']
    skipped_cpu = [h.cpu for h in hooks if h.kind == 'skip']
    end = max([h.start + h.wall for h in hooks] + [c.end for c in restarts] + [since])
    ideal = math.ceil(len(units) / batch) * restart_seconds
    return {
        'restarts': len(restarts),
        'not once': sum(1 for u in units if per_unit.get(u, 0) != 1),
        'full': kinds['full'], 'fast': kinds['python'], 'skipped': kinds['skip'],
        'failed': sum(1 for h in hooks if h.code != 0),
        'skip p50 ms': 1000 * statistics.median(skipped) if skipped else 0.0,
        'skip p95 ms': 1000 * percentile(skipped, 95),
        'skip cpu ms': 1000 * statistics.median(skipped_cpu) if skipped_cpu else 0.0,
        'hook cpu': sum(h.cpu for h in hooks),
        'wall': end - since, 'ideal': ideal,
        'at once': most_at_once([(c.start, c.end) for c in restarts]),
    }


def misses(n, batch, r, restart_seconds, cut=False):
    """Issue 15's targets this row misses, each as a short sentence.

    The wall-time target is for 300 units, batch 30, 5 s restarts; it is
    checked on every row, for comparison.  A ``cut`` roll (not settled) is
    missed on time and on units restarted already; only the other misses,
    certain so far, are listed.
    """
    out = []
    if r['full'] > 4 * n:
        out.append('full hooks {:.2f} x N > 4 x N'.format(r['full'] / n))
    if r['skip cpu ms'] > 5:
        out.append('a skipped hook takes {:.1f} ms of CPU > 5 ms'.format(r['skip cpu ms']))
    if r['skip p50 ms'] > 5:
        out.append('a skipped hook takes {:.1f} ms wall (median) > 5 ms'.format(
            r['skip p50 ms']))
    if r['at once'] > batch:
        out.append('{} restarts at once > batch {}'.format(r['at once'], batch))
    if cut:
        return out
    if r['ideal'] and r['wall'] > 1.5 * r['ideal']:
        out.append('wall {:.0f}s > 1.5 x {:.0f}s (this host needs {:.0f}s of its CPUs)'.format(
            r['wall'], r['ideal'], cpu_floor(r)))
    if r['not once'] or r['failed']:
        out.append('{} units not restarted exactly once, {} hooks failed'.format(
            r['not once'], r['failed']))
    return out


class _Health(http.server.BaseHTTPRequestHandler):
    """Answers every unit's health check (the charm's HTTP check on 127.0.0.1)."""

    def do_GET(self):  # noqa: N802 - the name BaseHTTPRequestHandler calls
        body = b'{"bench": "scale"}\n'
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def build_helpers(bench_dir):
    """Compile the sandbox and pymark into ``bench_dir``; copy fake-bin."""
    os.makedirs(bench_dir, exist_ok=True)
    for name in ('sandbox', 'pymark'):
        subprocess.run(['cc', '-O2', '-Wall', '-Wno-format-truncation', '-o',
                        os.path.join(bench_dir, name), os.path.join(HERE, name + '.c')],
                       check=True)
    shutil.rmtree(os.path.join(bench_dir, 'fake-bin'), ignore_errors=True)
    shutil.copytree(os.path.join(HERE, 'fake-bin'), os.path.join(bench_dir, 'fake-bin'))


def placeholder(charm, dest):
    """The charm's metadata, config and actions without hooks: cheap relation joins."""
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(os.path.join(dest, 'hooks'))
    for name in ('metadata.yaml', 'config.yaml', 'actions.yaml'):
        if os.path.exists(os.path.join(charm, name)):
            shutil.copy2(os.path.join(charm, name), dest)
    return dest


def shared_venv(charm, bench_dir, sandbox):
    """Build the charm's venv once, by its own bootstrap (its first hook), for every unit.

    The hook runs with no hook tools, so it fails after the bootstrap made the
    venv; only the venv is kept.  ``scale/venv-bin/dpkg-query`` reports the
    bootstrap's system packages installed, so it runs no apt-get.
    """
    wheels = os.path.join(charm, 'wheelhouse')
    listing = sorted('{}:{}'.format(n, os.path.getsize(os.path.join(wheels, n)))
                     for n in os.listdir(wheels))
    scratch = os.path.join(bench_dir, 'venv-' + hashlib.sha256(
        '\n'.join(listing).encode()).hexdigest()[:12])
    copy = os.path.join(scratch, 'charm')
    venv = os.path.join(copy, '.venv')
    if os.path.exists(os.path.join(venv, 'bin', 'python3')):
        return venv
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(charm, copy, symlinks=True)
    env = {'PATH': os.path.join(HERE, 'venv-bin') + ':/usr/sbin:/usr/bin:/sbin:/bin',
           'CHARM_DIR': copy, 'JUJU_CHARM_DIR': copy,
           'JUJU_HOOK_NAME': 'install', 'YARD_MACHINE_ROOT': scratch,
           'SCALE_BENCH_DIR': bench_dir, 'LANG': 'C.UTF-8'}
    proc = subprocess.run([sandbox, os.path.join(copy, 'hooks', 'install')], env=env,
                          cwd=copy, capture_output=True, text=True)
    if not os.path.exists(os.path.join(venv, 'bin', 'python3')):
        raise SystemExit('the charm bootstrap made no venv:\n' + proc.stderr[-2000:])
    return venv


def make_controller(work, bench_dir, restart_seconds, workers):
    """A yard controller (in this process) whose local provider runs every command sandboxed."""
    from yard.controller import Controller
    from yard.provider.local import LocalProvider

    sandbox = os.path.join(bench_dir, 'sandbox')

    class SandboxProvider(LocalProvider):
        def exec(self, machine_id, argv, env=None, **kw):
            env = dict(env or {}, SCALE_BENCH_DIR=bench_dir,
                       SCALE_BENCH_RESTART_SECONDS=str(restart_seconds))
            return super().exec(machine_id, [sandbox] + list(argv), env, **kw)

    class BenchController(Controller):
        def _save(self):
            pass    # nothing restarts this controller: no snapshot after every hook

        def save_now(self):
            super()._save()

    provider = SandboxProvider('scale', root=os.path.join(work, 'machines'))
    ctl = BenchController(os.path.join(work, 'home'), 'scale', provider=provider)
    ctl.pool = ThreadPoolExecutor(max_workers=workers)
    ctl.start()
    return ctl


class Bench:
    """One model of ``units`` units of the test charm, rolled once per batch size."""

    def __init__(self, args, units, bench_dir, venv, port):
        self.args, self.n, self.bench_dir = args, units, bench_dir
        self.work = os.path.join(bench_dir, 'n{}'.format(units))
        self.workers = min(units + 8, MAX_WORKERS)
        self.venv, self.port = venv, port
        self.ctl = None

    def call(self, cmd, **kw):
        return self.ctl.handle(cmd, kw)

    def wait(self):
        self.call('wait', timeout=self.args.timeout)

    def start(self):
        self.ctl = make_controller(self.work, self.bench_dir, self.args.restart_seconds,
                                   self.workers)

    def join(self, charm):
        """The placeholder's units in the peer relation, made once and kept for later runs.

        A kept model is started again as a controller restart would (the units run
        config-changed and leader-settings-changed, which the placeholder does not have).
        """
        keep = os.path.join(self.bench_dir, 'joined-{}-{}'.format(self.n, digest(charm)))
        shutil.rmtree(self.work, ignore_errors=True)
        if not os.path.isdir(keep):
            self.start()
            self.call('model-config', values={'automatically-retry-hooks': 'false',
                                              'update-status-hook-interval': '24h'})
            self.call('deploy', path=placeholder(charm, os.path.join(self.work, 'placeholder')),
                      name=APP, num_units=self.n)
            self.wait()
            self.ctl.save_now()
            self.stop()
            shutil.copytree(self.work, keep + '.new', symlinks=True)
            os.rename(keep + '.new', keep)
        else:
            shutil.copytree(keep, self.work, symlinks=True)
        self.start()
        self.wait()

    def deploy(self, charm):
        """Joined placeholder units, the shared venv, then the real charm."""
        start = time.monotonic()
        self.join(charm)
        joined = time.monotonic()
        self.call('config', app=APP, values={'port': self.port})
        self.wait()
        for unit in self.units():
            os.symlink(self.venv, os.path.join(self.charm_dir(unit), '.venv'))
        self.call('upgrade-charm', app=APP, path=charm)
        self.wait()
        log('{} units: joined (or restored) in {:.0f}s, upgraded to the charm in {:.0f}s'.format(
            self.n, joined - start, time.monotonic() - joined))

    def units(self):
        return sorted(u for u in self.ctl.state.units if u.startswith(APP + '/'))

    def machine_dir(self, unit):
        return os.path.join(self.work, 'machines', self.ctl.state.units[unit].machine)

    def charm_dir(self, unit):
        return os.path.join(self.machine_dir(unit), 'var/lib/juju/agents',
                            'unit-' + unit.replace('/', '-'), 'charm')

    def records(self, name, parse):
        out = []
        for unit in self.units():
            try:
                with open(os.path.join(self.machine_dir(unit), '.sandbox', name)) as f:
                    out += parse(f)
            except FileNotFoundError:
                continue
        return out

    def roll(self, batch):
        """Set the batch size (no restart), then change the message: one rolling restart."""
        self.call('config', app=APP, values={'restart-batch-size': batch})
        self.wait()
        since = time.time()
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        self.call('config', app=APP, values={'message': 'bench-scale {} {}'.format(batch, since)})
        cut = None
        try:
            self.call('wait', timeout=self.args.roll_timeout)
        except UserError as e:
            if 'timed out' not in str(e):
                raise
            cut = time.time() - since
        after = resource.getrusage(resource.RUSAGE_SELF)
        row = summarise(self.records('hooks.log', parse_hooks),
                        self.records('systemctl.log', parse_calls), since, self.units(), batch,
                        self.args.restart_seconds)
        row['yard cpu'] = (after.ru_utime + after.ru_stime) - (cpu.ru_utime + cpu.ru_stime)
        yard_hooks = [h for h in self.call('hooks') if h['start'] >= since and not h['skipped']]
        row['yard hooks'] = len(yard_hooks)
        row['cut'] = cut
        return row

    def stop(self):
        if self.ctl is not None:
            self.ctl.stop()
            self.ctl = None


def digest(charm):
    """What a kept placeholder model depends on: the charm's metadata and config."""
    h = hashlib.sha256()
    for name in ('metadata.yaml', 'config.yaml', 'actions.yaml'):
        try:
            with open(os.path.join(charm, name), 'rb') as f:
                h.update(name.encode() + b'\0' + f.read())
        except FileNotFoundError:
            continue
    return h.hexdigest()[:12]


def log(text):
    print(text, file=sys.stderr, flush=True)


def table(headers, rows):
    """Print an aligned text table."""
    cells = [list(map(str, headers))] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for i, row in enumerate(cells):
        print('  '.join(c.rjust(w) for c, w in zip(row, widths)))
        if i == 0:
            print('  '.join('-' * w for w in widths))
    sys.stdout.flush()


HEADERS = ('units', 'batch', 'restarts', 'not once', 'full hooks', 'full/N', 'fast', 'skipped',
           'yard hooks', 'failed', 'skip ms p50/p95', 'skip cpu ms', 'hook cpu s', 'yard cpu s',
           'wall s', 'ideal s', 'ratio', 'cpu floor s', 'most at once')


def row_cells(n, batch, r):
    return (n, batch, r['restarts'], r['not once'], r['full'], '{:.1f}'.format(r['full'] / n),
            r['fast'], r['skipped'], r['yard hooks'], r['failed'],
            '{:.1f}/{:.1f}'.format(r['skip p50 ms'], r['skip p95 ms']),
            '{:.1f}'.format(r['skip cpu ms']),
            '{:.1f}'.format(r['hook cpu']), '{:.1f}'.format(r['yard cpu']),
            '{:.0f}'.format(r['wall']) + ('+ (cut)' if r.get('cut') else ''),
            '{:.0f}'.format(r['ideal']),
            '{:.2f}x'.format(r['wall'] / r['ideal']) if r['ideal'] else '-',
            '{:.0f}'.format(cpu_floor(r)), r['at once'])


def cpu_floor(r):
    """The shortest this host could run the roll: every hook's CPU and yard's spread over
    all its CPUs (on a cloud, each unit's machine has its own)."""
    return (r['hook cpu'] + r['yard cpu']) / (os.cpu_count() or 1)


def source(charm):
    """Which commit the charm was built from, as far as its folder's git tree tells."""
    where = os.path.dirname(os.path.abspath(charm))
    proc = subprocess.run(['git', '-C', where, 'log', '-1', '--format=%h %s'],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return 'charm {} (not in a git tree: its commit is unknown)'.format(charm)
    dirty = subprocess.run(['git', '-C', where, 'status', '--porcelain', '--', 'layers',
                            'interfaces', 'tests/charms'], capture_output=True, text=True)
    return 'charm {} built at {}{}'.format(
        os.path.relpath(charm, REPO) if charm.startswith(REPO) else charm,
        proc.stdout.strip()[:60], ' (+ uncommitted changes)' if dirty.stdout.strip() else '')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ints = lambda s: [int(x) for x in s.split(',')]  # noqa: E731 - an argparse type
    parser.add_argument('--units', type=ints, default=[100, 300])
    parser.add_argument('--batches', type=ints, default=[10, 30])
    parser.add_argument('--restart-seconds', type=float, default=5.0)
    parser.add_argument('--charm', default=os.path.join(REPO, 'build', 'stackyard-test'))
    parser.add_argument('--dir', default='/tmp/stackyard-bench-scale',
                        help='work folder (not under /etc /usr /var /run /srv /opt)')
    parser.add_argument('--timeout', type=float, default=3600,
                        help='seconds to wait for the model to settle while setting up')
    parser.add_argument('--roll-timeout', type=float, default=1800,
                        help='seconds a roll may take; a longer one is cut and reported so far')
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit('bench-scale needs root (mount namespaces and overlays)')
    if not os.path.isdir(args.charm):
        raise SystemExit('{} is not built: run `make build`'.format(args.charm))
    bench_dir = os.path.abspath(args.dir)
    if bench_dir.split('/')[1] in ('etc', 'usr', 'var', 'run', 'srv', 'opt'):
        raise SystemExit('--dir must not be under a folder the sandbox overlays')
    build_helpers(bench_dir)
    venv = shared_venv(args.charm, bench_dir, os.path.join(bench_dir, 'sandbox'))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    built = source(args.charm)
    rows, verdicts = [], []
    for n in args.units:
        bench = Bench(args, n, bench_dir, venv, server.server_address[1])
        try:
            bench.deploy(args.charm)
            for batch in args.batches:
                r = bench.roll(batch)
                rows.append(row_cells(n, batch, r))
                if r['cut']:
                    verdicts.append('{} units, batch {}: not settled {:.0f}s after the change '
                                    '(--roll-timeout): the counts are of the roll so far{}'.format(
                                        n, batch, r['cut'], ''.join(
                                            '; ' + m for m in misses(
                                                n, batch, r, args.restart_seconds, cut=True))))
                    break
                verdicts.append('{} units, batch {}: {}'.format(
                    n, batch, '; '.join(misses(n, batch, r, args.restart_seconds)) or
                    'every target met'))
                log('measured: ' + ' '.join(map(str, rows[-1])))
        finally:
            bench.stop()
    server.shutdown()
    print('bench-scale: {}; restarts are a fake systemctl taking {:g}s'.format(
        built, args.restart_seconds))
    table(HEADERS, rows)
    print()
    print('Targets of issue 15 (full hooks <= 4 x N, a skipped hook <= 5 ms, never more than B')
    print('at once, wall <= 1.5 x ideal; each unit restarted once, no hook failed):')
    for line in verdicts:
        print('  ' + line)
    print()
    print(COLUMNS)
    print(DIFFERENCES.format(restart='{:g}'.format(args.restart_seconds),
                             workers='min(N + 8, {})'.format(MAX_WORKERS)))


COLUMNS = """\
Columns (one roll: a changed `message`, from the config change until the last hook ends):
  restarts      fake `systemctl restart` calls; not once: units restarted other than once
  full hooks    hooks that entered the charm's venv (reactive dispatch); full/N per unit
  fast          hooks that started only the system Python (the layer's stdlib fast path)
  skipped       hooks that started no Python (the hook script's shell skip); p50/p95 ms
                is their wall time, from the sandbox's fork to their exit; skip cpu
                ms their median CPU time (the wall time includes waiting for a CPU)
  yard hooks    the hooks yard recorded running in the roll: full + fast + skipped
  failed        hooks that exited non-zero
  hook cpu s    CPU of every hook process and its children (hook tools, systemctl)
  yard cpu s    CPU of the controller in this process (scheduler, hook tool server)
  wall s        config change to the last hook's end; ideal s = ceil(N/B) x restart s
  cpu floor s   (hook cpu s + yard cpu s) / this host's CPUs: no roll here can be shorter
  most at once  the most fake restarts that overlapped in time
"""


if __name__ == '__main__':
    main()
