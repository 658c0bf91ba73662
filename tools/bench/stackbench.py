#!/usr/bin/env python3
"""Benchmarks behind `make bench-yard`, `bench-restarts`, `bench-hooks` and `bench-mirror`.

Each deploys built charms with yard into its own model, measures, prints a
table and destroys the model.  Numbers come from what yard and the units
record (``yard hooks``, the ``restart-history`` action) and from timing
inside the machines, never from guesses.

    stackbench.py yard [--units 1,5,15]
    stackbench.py restarts [--units 6,12] [--batches 1,2,4] [--warmups 0,3]
    stackbench.py hooks [--samples 15]
    stackbench.py mirror [--requests 2000] [--concurrency 8] [--rounds 3] [--samples 9]
    stackbench.py ci [--workers 3]
    stackbench.py openstack-data [--db-seconds 20] [--amqp-messages 1000] [--keep]
"""

import argparse
import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

import yaml
from yard.provider import addresses

import critpath

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BUILD = os.path.join(REPO, 'build')
YARD = os.environ.get('YARD_CLI') or os.path.join(REPO, '.venv', 'bin', 'yard')


def home_tag():
    """4 hex digits naming this YARD_HOME (yard's CLI runs here: the default is REPO/.yard)."""
    home = os.environ.get('YARD_HOME') or os.path.join(REPO, '.yard')
    return hashlib.sha1(home.encode()).hexdigest()[:4]


class Model:
    """The yard CLI bound to one model.

    LXD instance names are host-wide and a model's machines are found by name:
    the model name ends in a tag of YARD_HOME (as the model tests' do), so two
    worktrees running the same bench do not take each other's machines.
    """

    def __init__(self, name):
        self.name = '{}-{}'.format(name, home_tag())

    def run(self, *args, check=True, timeout=1800):
        argv = [YARD, '-m', self.name] + [str(a) for a in args]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=REPO)
        if check and proc.returncode != 0:
            raise SystemExit('`{}` failed ({}):\n{}{}'.format(
                ' '.join(argv), proc.returncode, proc.stdout, proc.stderr))
        return proc.stdout

    def json(self, *args):
        return json.loads(self.run(*args, '--format', 'json'))

    def destroy(self):
        self.run('destroy-model', check=False, timeout=900)

    def hooks(self):
        return self.json('hooks')

    def exec(self, unit, script):
        return self.run('exec', '--unit', unit, '--', script)

    def action(self, unit, name, *params, timeout=1800):
        """The task of ``yard run`` (its ``message`` says why when it failed)."""
        out = self.run('run', unit, name, *params, '--format', 'json', timeout=timeout,
                       check=False)
        try:
            return list(json.loads(out).values())[0]
        except (ValueError, AttributeError, IndexError):
            return {'status': 'failed', 'message': '{} {}: {}'.format(name, unit, out.strip())}


def table(headers, rows):
    """Print an aligned text table."""
    cells = [list(map(str, headers))] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for i, row in enumerate(cells):
        print('  '.join(c.rjust(w) if i and j else c.ljust(w)
                        for j, (c, w) in enumerate(zip(row, widths))))
        if i == 0:
            print('  '.join('-' * w for w in widths))
    sys.stdout.flush()


def need(charm):
    path = os.path.join(BUILD, charm)
    if not os.path.isdir(path):
        raise SystemExit('{} is not built: run `make build`'.format(path))
    return path


IN_MACHINE_TIMER = r'''
import os, statistics, subprocess, sys, time
argv, n = sys.argv[1:-1], int(sys.argv[-1])
times = []
for _ in range(n):
    t = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times.append(time.perf_counter() - t)
print(statistics.median(times))
'''


def time_in_machine(model, unit, argv, samples, cwd=None):
    """Median seconds of ``argv`` run ``samples`` times inside the unit's machine."""
    script = "cd {} && python3 -c {} {} {}".format(
        cwd or '/', sh_quote(IN_MACHINE_TIMER), ' '.join(sh_quote(a) for a in argv), samples)
    return float(model.exec(unit, script).strip().splitlines()[-1])


def sh_quote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


def wait_for_update_status(model, unit, count, timeout=600):
    """Durations of the first ``count`` update-status hooks of ``unit``."""
    deadline = time.monotonic() + timeout
    while True:
        runs = [h for h in model.hooks() if h['unit'] == unit and h['hook'] == 'update-status'
                and h.get('exit-code', 0) == 0]
        if len(runs) >= count:
            return [h['duration'] for h in runs[:count]]
        if time.monotonic() > deadline:
            raise SystemExit('only {} update-status hooks of {} in {}s'.format(
                len(runs), unit, timeout))
        time.sleep(5)


def bench_yard(args):
    test_charm = need('stackyard-test')
    noop = need('yard-noop')
    rows = []
    for n in args.units:
        model = Model('bench-yard-{}'.format(n))
        model.destroy()
        start = time.monotonic()
        model.run('deploy', test_charm, 'web', '-n', n)
        model.run('wait', '--timeout', 1800, timeout=2000)
        settle = time.monotonic() - start
        status = model.json('status')
        hooks = model.hooks()
        rows.append((n, len(status.get('machines') or {}), len(hooks),
                     '{:.0f}'.format(settle),
                     '{:.2f}'.format(statistics.median(h['duration'] for h in hooks))))
        model.destroy()
    table(('units', 'machines', 'hooks run', 'settle s', 'median hook s'), rows)
    print()
    model = Model('bench-yard-overhead')
    model.destroy()
    model.run('deploy', noop, 'noop')
    model.run('wait', '--timeout', 900)
    model.run('model-config', 'update-status-hook-interval=2s')
    through_yard = wait_for_update_status(model, 'noop/0', args.samples)
    direct = time_in_machine(model, 'noop/0',
                             ['/var/lib/juju/agents/unit-noop-0/charm/hooks/update-status'],
                             args.samples)
    model.destroy()
    yard_median = statistics.median(through_yard)
    table(('no-op update-status', 'median ms'), [
        ('through yard', '{:.1f}'.format(yard_median * 1000)),
        ('directly in the machine', '{:.1f}'.format(direct * 1000)),
        ('overhead yard adds', '{:.1f}'.format((yard_median - direct) * 1000))])


def bench_restarts(args):
    """A config change rolls a restart over the application: how long, how many at once.

    ``--warmups`` sets the test service's start delay (its ``warmup`` option):
    0 is a service back in a fraction of a second, which shows the
    coordination's own cost; a few seconds stands in for a real workload.

    ``restart s`` is the median time from a unit's restart until its service
    listens again (the service's own ``ready.log``): the soonest a health
    check can pass.  The ideal roll is that times the number of batches;
    everything beyond it (noticing the service is back, hooks, relation
    round trips) is the coordination's cost.
    """
    charm = need('stackyard-test')
    rows = []
    for n in args.units:
        model = Model('bench-restarts-{}'.format(n))
        model.destroy()
        model.run('deploy', charm, 'web', '-n', n, '--config', 'restart-batch-size=1')
        model.run('wait', '--timeout', 2400, timeout=2600)
        units = sorted(model.json('status')['applications']['web']['units'])
        for warmup in args.warmups:
            for batch in args.batches:
                model.run('config', 'web', 'restart-batch-size={}'.format(batch),
                          'warmup={}'.format(warmup))
                model.run('wait', '--timeout', 1800, timeout=2000)
                rows.append([n, warmup, batch] + roll(model, units, batch))
                print('measured:', *rows[-1], file=sys.stderr, flush=True)
        model.destroy()
    table(('units', 'warmup s', 'batch', 'restarts', 'wall s', 'restart s', 'batches x restart s',
           'ratio', 'max at once', 'hooks', 'host cpu'), rows)


def roll(model, units, batch):
    """One rolling restart (a changed message): the table's measured columns."""
    hooks_before = len(model.hooks())
    since = float(model.exec(units[0], 'date +%s.%N').strip())
    busy_before = host_cpu_busy()
    start = time.monotonic()
    model.run('config', 'web', 'message=bench {} {}'.format(batch, time.time()))
    model.run('wait', '--timeout', 1800, timeout=2000)
    wall = time.monotonic() - start
    # Every machine shares this host's cores: how busy they were says how
    # much of the wall time is hooks queueing for a CPU.
    cpu = (host_cpu_busy() - busy_before) / (wall * (os.cpu_count() or 1))
    entries, own = [], []
    for unit in units:
        hist = json.loads(model.action(unit, 'restart-history')['results']['history'])
        mine = [h for h in hist if (h.get('restarted_at') or 0) > since]
        entries += mine
        ready = listening_times(model, unit)
        for h in mine:
            after = [t for t in ready if t >= h['restarted_at']]
            if after:
                own.append(min(after) - h['restarted_at'])
    spans = [(h['restarted_at'], h['released_at']) for h in entries]
    # restart + health: from the restart until the service listens again, the
    # moment a health check can pass; how soon the unit noticed is overhead.
    # Without a ready.log (an older test charm) only restart-to-release is
    # known, which counts that overhead too: the column says so.
    measured = '{:.2f}'
    if not own:
        own, measured = [b - a for a, b in spans], '{:.2f} (to release)'
    per_restart = statistics.median(own) if own else 0
    ideal = -(-len(units) // batch) * per_restart
    return [len(entries), '{:.1f}'.format(wall), measured.format(per_restart),
            '{:.1f}'.format(ideal),
            '{:.1f}x'.format(wall / ideal) if ideal else '-', concurrency(spans),
            len(model.hooks()) - hooks_before, '{:.0f}%'.format(100 * cpu)]


def listening_times(model, unit):
    """When the unit's test service started listening, each start (its ``ready.log``)."""
    out = model.exec(unit, 'cat /var/log/stackyard-test/ready.log 2>/dev/null || true')
    times = []
    for line in out.splitlines():
        try:
            times.append(float(line.split()[0]))
        except (IndexError, ValueError):
            continue
    return times


def host_cpu_busy():
    """Seconds of CPU time this host spent busy since boot, all cores (``/proc/stat``)."""
    with open('/proc/stat') as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields) - idle) / os.sysconf('SC_CLK_TCK')


def concurrency(spans):
    events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    best = cur = 0
    for _, step in events:
        cur += step
        best = max(best, cur)
    return best


def bench_hooks(args):
    charm = need('stackyard-test')
    model = Model('bench-hooks')
    model.destroy()
    model.run('deploy', charm, 'web')
    model.run('wait', '--timeout', 900)
    model.run('model-config', 'update-status-hook-interval=3s')
    idle = wait_for_update_status(model, 'web/0', args.samples + 2)[2:]
    bare = time_in_machine(model, 'web/0', ['python3', '-c', 'pass'], args.samples)
    charm = '/var/lib/juju/agents/unit-web-0/charm'
    # The idle path needs no hook tools, so the hook itself can be timed in the
    # machine, without what yard adds to every hook.
    direct = time_in_machine(model, 'web/0', [
        'env', 'JUJU_HOOK_NAME=update-status', 'JUJU_CHARM_DIR=' + charm,
        'CHARM_DIR=' + charm, 'JUJU_UNIT_NAME=web/0', charm + '/hooks/update-status'],
        args.samples, cwd=charm)
    stats = model.action('web/0', 'hook-stats')['results']
    # action-set's dotted keys arrive as nested maps, as in juju.
    fast_median = float(stats.get('hooks', {}).get('update-status', {}).get('median', 0))
    model.destroy()
    median = statistics.median(idle)
    table(('what', 'median ms'), [
        ('idle update-status (stackyard-test, through yard)', '{:.0f}'.format(median * 1000)),
        ('idle update-status run directly in the machine', '{:.0f}'.format(direct * 1000)),
        ('  of which work inside the fast path: checks, record (hook-stats)',
         '{:.1f}'.format(fast_median * 1000)),
        ('bare `python3 -c pass` in the machine', '{:.0f}'.format(bare * 1000)),
        ('ratio: direct hook / bare python', '{:.1f}x'.format(direct / bare)),
        ('ratio: through yard / bare python', '{:.1f}x'.format(median / bare))])


MIRROR_FILES = '/srv/bench/files'
AB_FIELDS = {'Requests per second:': 'rps', 'Transfer rate:': 'kbps',
             'Failed requests:': 'failed', 'Non-2xx responses:': 'non2xx'}


def ab(model, unit, url, requests, concurrency):
    """ApacheBench (ab, from apache2-utils) in the unit's machine: its figures for ``url``."""
    out = model.exec(unit, 'ab -k -q -n {} -c {} {}'.format(requests, concurrency, url))
    found = {'non2xx': 0.0}
    for line in out.splitlines():
        for label, key in AB_FIELDS.items():
            if line.startswith(label):
                found[key] = float(line[len(label):].split()[0])
    if found.get('failed') or found['non2xx'] or 'rps' not in found:
        raise SystemExit('ab of {} failed:\n{}'.format(url, out))
    return found


def latencies(model, unit, urls):
    """Seconds of one curl GET of each URL, in order (curl's time_total)."""
    script = '; '.join("curl -s -o /dev/null -w '%{{time_total}}\\n' {}".format(u) for u in urls)
    return [float(x) for x in model.exec(unit, script).split()]


def ab_rounds(model, unit, urls, args):
    """``{kind: [ab figures, ...]}``: ``args.rounds`` rounds, the kinds interleaved."""
    found = {kind: [] for kind in urls}
    for _ in range(args.rounds):
        for kind, url in urls.items():
            found[kind].append(ab(model, unit, url, args.requests, args.concurrency))
    return found


def bench_mirror(args):
    """Cached file through the proxy vs the same file served statically, same Apache."""
    charm = need('afs-mirror')
    model = Model('bench-mirror')
    model.destroy()
    proxies = ('- {name: cached, type: generic, upstream: "http://127.0.0.1/files/", '
               'path: /cached/, ttl: 1h}')
    model.run('deploy', charm, 'mirror', '--config', 'proxies=' + proxies)
    model.run('wait', '--timeout', 900)
    unit = 'mirror/0'
    sizes = {'10K': 10 * 1024, '1M': 1024 ** 2}
    # Files two days old, like a mirror's: mod_cache's heuristic freshness
    # (a tenth of their age, capped by the ttl) keeps them fresh for the run,
    # so the cached figures are hits, not revalidations.
    model.exec(unit, 'set -e; mkdir -p {0}; date +%s > {0}/timestamp.txt; '.format(MIRROR_FILES) +
               '; '.join('head -c {} /dev/urandom > {}/blob-{}'.format(n, MIRROR_FILES, name)
                         for name, n in sizes.items()) + '; ' +
               '; '.join('head -c 1048576 /dev/urandom > {}/lat-{}'.format(MIRROR_FILES, i)
                         for i in range(args.samples)) +
               "; touch -d '2 days ago' {}/blob-* {}/lat-*".format(MIRROR_FILES, MIRROR_FILES))
    model.run('config', 'mirror', 'static-mirrors=files: ' + MIRROR_FILES)
    model.run('wait', '--timeout', 600)
    version = model.exec(unit, 'ab -V | head -1').strip()
    rows = []
    for name in sizes:
        urls = {'static': 'http://127.0.0.1/files/blob-' + name,
                'cached': 'http://127.0.0.1/cached/blob-' + name}
        latencies(model, unit, [urls['cached']])   # the one miss that fills the cache
        found = ab_rounds(model, unit, urls, args)
        median = {kind: {key: statistics.median(f[key] for f in runs) for key in ('rps', 'kbps')}
                  for kind, runs in found.items()}
        ratio = median['cached']['rps'] / median['static']['rps']
        for kind in ('static', 'cached'):
            rows.append((name, kind, '{:.0f}'.format(median[kind]['rps']),
                         '{:.1f}'.format(median[kind]['kbps'] / 1024),
                         ' '.join('{:.0f}'.format(f['rps']) for f in found[kind]),
                         '{:.0%}'.format(ratio) if kind == 'cached' else ''))
    lookups = model.exec(unit, "grep 'GET /cached/blob-1M ' /var/log/apache2/afs-mirror-access.log"
                               " | sed 's/.*\"\\([^\"]*\\)\"$/\\1/' | sort | uniq -c").strip()
    lat_urls = ['http://127.0.0.1/cached/lat-{}'.format(i) for i in range(args.samples)]
    first = latencies(model, unit, lat_urls)
    static_lat = latencies(model, unit, [u.replace('/cached/', '/files/') for u in lat_urls])
    again = latencies(model, unit, lat_urls)
    log = model.exec(unit, 'grep "GET /cached/lat-" /var/log/apache2/afs-mirror-access.log')
    statuses = [line.rsplit('"', 2)[-2] for line in log.splitlines()]
    model.destroy()
    print('tool: {} in the mirror\'s machine, {} requests x {} rounds, concurrency {}, '
          'keep-alive'.format(version, args.requests, args.rounds, args.concurrency))
    table(('file', 'served', 'requests/s (median)', 'MB/s (median)', 'each round req/s',
           'cached/static'), rows)
    print('cache-status of the 1M file through the proxy, from the access log:')
    print(lookups)
    print()
    table(('1 MiB file, one curl GET each', 'median ms', 'samples', 'cache-status'), [
        ('first fetch through the proxy (upstream: same Apache)',
         '{:.2f}'.format(statistics.median(first) * 1000), len(first),
         ', '.join(sorted(set(statuses[:len(first)])))),
        ('cached fetch through the proxy', '{:.2f}'.format(statistics.median(again) * 1000),
         len(again), ', '.join(sorted(set(statuses[len(first):])))),
        ('static file', '{:.2f}'.format(statistics.median(static_lat) * 1000),
         len(static_lat), '-')])


def app_hooks_table(hooks, began=None, full=None):
    """Hooks per application (subordinates are applications of their own), and all.

    With ``began`` (the deploy's epoch time), when each application's last hook
    other than update-status ended, in seconds from the deploy: when it settled.
    With ``full`` (:func:`full_hooks`), how many of them ran the reactive
    dispatch (the rest took the layer's shell skip or fast path).
    """
    def row(name, mine):
        cells = [name, len(mine)]
        if full is not None:
            cells.append(sum(n for app, n in full.items() if name in (app, 'all')))
        cells += [sum(1 for h in mine if h.get('exit-code')),
                  sum(1 for h in mine if h['hook'] == 'update-status'),
                  '{:.1f}'.format(sum(h['duration'] for h in mine)),
                  '{:.2f}'.format(statistics.median(h['duration'] for h in mine))]
        if began is not None:
            cells.append('{:.0f}'.format(max(h['start'] + h['duration'] for h in mine
                                             if h['hook'] != 'update-status') - began))
        return cells
    rows = [row(app, [h for h in hooks if h['unit'].split('/')[0] == app])
            for app in sorted({h['unit'].split('/')[0] for h in hooks})]
    rows.append(row('all', hooks))
    headers = ['application', 'hooks run'] + (['full'] if full is not None else []) + [
        'failed', 'update-status', 'hook s total', 'median hook s']
    table(headers + (['settled at s'] if began is not None else []), rows)


HOOK_KINDS = (
    'cd "$CHARM_DIR" && .venv/bin/python -c \''
    'import json, sys; sys.path.insert(0, "lib"); '
    'from charms.layer.stackyard import hookstats; '
    'print(json.dumps(sum(1 for r in hookstats.records() if not r.get("fast"))))\'')


def full_hooks(model):
    """``{application: hooks that ran the reactive dispatch}``, from each unit's own
    record (layer:stackyard's hookstats: the shell skip and the fast path are marked)."""
    found = {}
    for app, data in model.json('status')['applications'].items():
        for name, unit in (data.get('units') or {}).items():
            for unit_name in [name] + list(unit.get('subordinates') or {}):
                owner = unit_name.split('/')[0]
                found[owner] = found.get(owner, 0) + int(
                    model.exec(unit_name, HOOK_KINDS).strip().splitlines()[-1])
    return found


def hook_names(hooks, app):
    """Print which hooks each unit of ``app`` ran: runs per unit by hook name, and seconds."""
    mine = [h for h in hooks if h['unit'].startswith(app + '/')]
    units = len({h['unit'] for h in mine})
    rows = []
    for name in dict.fromkeys(h['hook'] for h in mine):   # in the order they first ran
        runs = [h['duration'] for h in mine if h['hook'] == name]
        rows.append((name, '{:g}'.format(len(runs) / units), '{:.2f}'.format(
            statistics.median(runs))))
    rows.append(('all', '{:g}'.format(len(mine) / units), ''))
    table(('{} hook ({} units)'.format(app, units), 'runs per unit', 'median s'), rows)


def bench_ci(args):
    """bundles/ci-workers.yaml: settle time, hooks per application, two builds of its job."""
    for charm in ('buildbot-master', 'ci-worker', 'afs-mirror'):
        need(charm)
    overlay = os.path.join(BUILD, '.bench-ci-overlay.yaml')
    upstreams = subprocess.run([sys.executable, os.path.join(REPO, 'tools', 'mirror-upstreams')],
                               check=True, capture_output=True, text=True).stdout
    with open(overlay, 'w') as f:
        f.write(upstreams.replace('applications:\n', 'applications:\n  ci-worker:\n'
                                  '    num_units: {}\n'.format(args.workers), 1))
    model = Model('bench-ci')
    model.destroy()
    start = time.monotonic()
    model.run('deploy', os.path.join(REPO, 'bundles', 'ci-workers.yaml'), '--overlay', overlay)
    model.run('wait', '--timeout', 2400, timeout=2500)
    settle = time.monotonic() - start
    print('ci-workers bundle, {} workers: settled in {:.0f} s'.format(args.workers, settle))
    hooks = model.hooks()
    app_hooks_table(hooks)
    print()
    hook_names(hooks, 'ci-worker')
    print()
    builds = [model.action('buildbot-master/0', 'run-job', 'job=mirror-smoke',
                           'timeout=900')['results'] for _ in (1, 2)]
    model.destroy()
    table(('mirror-smoke', 'result', 'seconds (Buildbot, whole)'),
          [('build {} ({} cache)'.format(n, kind), b['result'], b['seconds'])
           for n, kind, b in zip((1, 2), ('cold', 'warm'), builds)])
    print()
    # The job's own "timing <phase> <seconds>" lines (bash's time, ms), per download phase.
    cold, warm = (json.loads(b['timings']) for b in builds)
    rows = [(phase, '{:.3f}'.format(cold[phase]), '{:.3f}'.format(warm.get(phase, 0.0)),
             '{:.2f}x'.format(cold[phase] / warm[phase]) if warm.get(phase) else '-')
            for phase in cold]
    rows.append(('all phases', '{:.3f}'.format(sum(cold.values())),
                 '{:.3f}'.format(sum(warm.values())),
                 '{:.2f}x'.format(sum(cold.values()) / sum(warm.values()))
                 if sum(warm.values()) else '-'))
    table(('download phase', 'cold s', 'warm s', 'cold/warm'), rows)


OPENSTACK_DATA = os.path.join(REPO, 'bundles', 'openstack-data.yaml')
NO_VIP = 'n/a (no VIP in the bundle)'


def mysql_answers(address, port=3306, timeout=1.0):
    """True when a MariaDB server greets on ``address``:``port`` (its handshake packet)."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as conn:
            conn.settimeout(timeout)
            return len(conn.recv(64)) > 4
    except OSError:
        return False


class VipWatcher(threading.Thread):
    """Connects to the VIP's MariaDB every 0.2 s: failed tries, and the longest time from
    the last answer before failures to the first answer after them."""

    def __init__(self, vip):
        super().__init__(daemon=True)
        self.vip, self.stop, self.failures, self.gap = vip, threading.Event(), 0, 0.0

    def run(self):
        last_ok, failing = time.monotonic(), False
        while not self.stop.is_set():
            if mysql_answers(self.vip):
                if failing:
                    self.gap = max(self.gap, time.monotonic() - last_ok)
                last_ok, failing = time.monotonic(), False
            else:
                self.failures, failing = self.failures + 1, True
            time.sleep(0.2)


def vip_holder(model, vip):
    """The galera unit whose machine has the VIP on an interface, or None."""
    for name in sorted(model.json('status')['applications']['galera']['units']):
        if ' {}/'.format(vip) in model.exec(name, 'ip -o -4 addr show'):
            return name
    return None


def hacluster_of(model, principal):
    unit = model.json('status')['applications']['galera']['units'][principal]
    subs = [s for s in unit.get('subordinates') or {} if s.startswith('hacluster/')]
    return subs[0] if subs else None


def vip_failover(model, vip):
    """``pause`` on the VIP holder's hacluster: rows of how the VIP moved, then resume."""
    before = vip_holder(model, vip)
    if before is None:
        return [('VIP failover', 'VIP {} is on no galera unit'.format(vip))]
    sub = hacluster_of(model, before)
    watcher = VipWatcher(vip)
    watcher.start()
    time.sleep(2)
    began = time.monotonic()
    result = model.action(sub, 'pause', timeout=600)
    paused = time.monotonic() - began
    after = None
    while time.monotonic() - began < 180:
        after = vip_holder(model, vip)
        if after and after != before and mysql_answers(vip):
            break
        time.sleep(0.5)
    answered = time.monotonic() - began
    time.sleep(2)
    watcher.stop.set()
    watcher.join()
    model.action(sub, 'resume', timeout=600)
    moved = after and after != before
    return [
        ('VIP failover: pause on', '{} (VIP {} on {})'.format(sub, vip, before)),
        ('VIP failover: moved to', after if moved else 'did not move in 180 s'),
        ('VIP failover: pause action s', '{:.1f} ({} s in standby by its own count)'.format(
            paused, result.get('results', {}).get('seconds', '?'))),
        ('VIP failover: seen on the new holder, answering s', '{:.1f}'.format(answered)
         if moved else 'n/a'),
        ('VIP failover: longest gap without an answer s', '{:.1f} ({} failed connects at '
         '0.2 s)'.format(watcher.gap, watcher.failures)),
    ]


def action_number(results, *path):
    """A number from an action's results (nested, as juju shows dotted keys), or None."""
    if '.'.join(path) in results:
        return float(results['.'.join(path)])
    for key in path:
        if not isinstance(results, dict) or key not in results:
            return None
        results = results[key]
    return float(results)


def sysbench_client(units, holder):
    """The galera unit that runs sysbench: one that does not hold the VIP, so the VIP's
    run crosses the bridge to the holder as a consumer's connection does."""
    others = [u for u in sorted(units) if u != holder]
    return others[0] if others else holder


def sysbench_rows(model, vip, seconds):
    """galera's ``benchmark-db`` from one unit: through the VIP, then on its own node."""
    holder = vip_holder(model, vip) if vip else None
    client = sysbench_client(model.json('status')['applications']['galera']['units'], holder)
    rows = []
    for host in (['vip'] if vip else []) + ['local']:
        out = model.action(client, 'benchmark-db', 'host=' + host, 'threads=4',
                           'duration={}'.format(seconds), timeout=seconds + 900)
        results = out.get('results', {})
        tps = action_number(results, 'results', 'transactions', 'value')
        p95 = action_number(results, 'results', 'latency-p95', 'value')
        where = 'through the VIP ({} -> {}, its holder)'.format(client, holder) \
            if host == 'vip' else 'on a node ({} -> its own address)'.format(client)
        rows.append(('sysbench tx/s {}, {} s, 4 threads'.format(where, seconds),
                     '{:.1f} (p95 {:.1f} ms)'.format(tps, p95) if tps is not None and
                     p95 is not None else out.get('message') or out))
    if not vip:
        rows.insert(0, ('sysbench tx/s through the VIP', NO_VIP))
    return rows


def bench_openstack_data(args):
    """bundles/openstack-data.yaml: settle time and hooks, sysbench, AMQP rates, VIP failover."""
    with open(OPENSTACK_DATA) as f:
        apps = yaml.safe_load(f)['applications']
    for spec in apps.values():
        need(os.path.basename(spec['charm']))
    model = Model('bench-openstack-data')
    model.destroy()
    deploy = ['deploy', OPENSTACK_DATA]
    vip = None
    if 'hacluster' in apps:
        vip = addresses.free_vip(model.run('model-config', 'vip-range'), model.name)
        overlay = os.path.join(BUILD, '.bench-openstack-data-overlay.yaml')
        with open(overlay, 'w') as f:
            yaml.safe_dump({'applications': {'galera': {'options': {'vip': vip}}}}, f)
        deploy += ['--overlay', overlay]
    try:
        measure_openstack_data(model, deploy, vip, args)
    finally:
        if not args.keep:
            model.destroy()


def measure_openstack_data(model, deploy, vip, args):
    """Deploy, wait, print the settle table, then the figures."""
    began, start = time.time(), time.monotonic()
    model.run(*deploy)
    model.run('wait', '--timeout', 2400, timeout=2500)
    settle = time.monotonic() - start
    status = model.json('status')['applications']
    states = sorted({u['workload-status']['current'] for a in status.values()
                     for u in (a.get('units') or {}).values()})
    print('openstack-data bundle{}: settled in {:.0f} s ({:.1f} min; target under 6 min); '
          'workload states: {}'.format(' with VIP ' + vip if vip else '', settle, settle / 60,
                                       ', '.join(states)))
    hooks = model.hooks()
    app_hooks_table(hooks, began, full_hooks(model))
    print()
    critpath.report(hooks, critpath.machines(model.json('status')), began)
    print()
    rows = []
    rows += sysbench_rows(model, vip, args.db_seconds)
    amqp = model.action('rabbitmq/leader', 'benchmark-amqp',
                        'messages={}'.format(args.amqp_messages), timeout=1200)
    for key, label in (('publish-rate', 'AMQP publish msg/s (confirmed'),
                       ('consume-rate', 'AMQP consume msg/s (acked')):
        value = action_number(amqp.get('results', {}), 'results', key, 'value')
        rows.append(('{}, {} x 1 KiB, quorum)'.format(label, args.amqp_messages),
                     '{:.0f}'.format(value) if value is not None
                     else amqp.get('message') or amqp))
    rows += vip_failover(model, vip) if vip else [('VIP failover s', NO_VIP)]
    table(('measure', 'value'), rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='bench', required=True)
    p = sub.add_parser('yard')
    p.add_argument('--units', type=lambda s: [int(x) for x in s.split(',')], default=[1, 5, 15])
    p.add_argument('--samples', type=int, default=15)
    p = sub.add_parser('restarts')
    p.add_argument('--units', type=lambda s: [int(x) for x in s.split(',')], default=[6, 12])
    p.add_argument('--batches', type=lambda s: [int(x) for x in s.split(',')],
                   default=[1, 2, 4])
    p.add_argument('--warmups', type=lambda s: [int(x) for x in s.split(',')],
                   default=[0, 3])
    p = sub.add_parser('hooks')
    p.add_argument('--samples', type=int, default=15)
    p = sub.add_parser('mirror')
    p.add_argument('--requests', type=int, default=2000)
    p.add_argument('--concurrency', type=int, default=8)
    p.add_argument('--samples', type=int, default=9)
    p.add_argument('--rounds', type=int, default=3)
    p = sub.add_parser('ci')
    p.add_argument('--workers', type=int, default=3)
    p = sub.add_parser('openstack-data')
    p.add_argument('--db-seconds', type=int, default=20)
    p.add_argument('--amqp-messages', type=int, default=1000)
    p.add_argument('--keep', action='store_true', help='leave the model deployed')
    args = parser.parse_args(argv)
    {'yard': bench_yard, 'restarts': bench_restarts, 'hooks': bench_hooks,
     'mirror': bench_mirror, 'ci': bench_ci, 'openstack-data': bench_openstack_data}[
         args.bench](args)


if __name__ == '__main__':
    main()
