#!/usr/bin/env python3
"""`make bench-collector`: benchmark-collector's ingest rate and page times.

For each size (default 10,000 and 100,000 runs) it fills a fresh SQLite
database the way the charm does (``Store.add_run``: one transaction per run,
as runs arrive from the relation or the API), then starts the collector's
real web server on localhost and times each page and API call (median and
p95 of ``--samples`` requests, one at a time).  Runs cycle through 4
benchmarks and 8 units; each has 5 metrics with 5 samples.  No charm or
container is involved: this measures the collector's own code and database.

    collectorbench.py [--sizes 10000,100000] [--samples 30] [--postgresql URI]
"""

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, os.path.join(REPO, 'layers', 'stackyard', 'lib'))
import charms.layer  # noqa: E402  the layers' shared namespace, as in a built charm
for lib in (('layers', 'benchmark'), ('charms', 'benchmark-collector')):
    charms.layer.__path__.append(os.path.join(REPO, *lib, 'lib', 'charms', 'layer'))

from charms.layer.benchmark_collector import store, web  # noqa: E402
from charms.layer import benchmark  # noqa: E402

BENCHMARKS = ('http', 'disk', 'cpu', 'latency')


def template():
    run = benchmark.Run('http', {'requests': 2000, 'concurrency': 10}, unit='web/0',
                        charm='web', revision='7')
    for i, name in enumerate(('requests-per-second', 'latency-mean', 'latency-p50',
                              'latency-p95', 'latency-p99')):
        run.metric(name, 100.0 + i, 'ms' if i else 'req/s', 'lower' if i else 'higher',
                   samples=[100.0 + i + j for j in range(5)])
    run.composite(100.0, 'req/s', 'higher')
    return run.finish().data


def make_runs(count, base):
    for i in range(count):
        run = copy.deepcopy(base)
        run['id'] = str(uuid.uuid4())
        run['benchmark'] = BENCHMARKS[i % len(BENCHMARKS)]
        run['unit'] = 'web/{}'.format(i % 8)
        run['start'] = run['end'] = '2026-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.000000Z'.format(
            1 + i // 500000 % 12, 1 + i // 20000 % 28, i // 1000 % 20, i // 60 % 60, i % 60)
        for m in run['metrics'].values():
            m['value'] += (i % 17) * 0.5
        yield run


def ingest(db, count):
    """``(runs/s of wall time, runs/s of this process's CPU time, runs)``."""
    runs = list(make_runs(count, template()))
    started, cpu = time.monotonic(), time.process_time()
    for run in runs:
        db.add_run(run, run['end'])
    return (count / (time.monotonic() - started), count / (time.process_time() - cpu), runs)


def timed(url, samples):
    """``(median ms, p95 ms, median CPU ms)`` of ``samples`` GETs one at a time.

    The CPU time is this process's (the server's thread and the client's):
    on a shared host the wall time mostly measures how long the process
    waited for a core.
    """
    times, cpus = [], []
    for _ in range(samples):
        t0, c0 = time.monotonic(), time.process_time()
        with urllib.request.urlopen(url, timeout=60) as r:
            r.read()
            assert r.status == 200, url
        times.append((time.monotonic() - t0) * 1000)
        cpus.append((time.process_time() - c0) * 1000)
    times.sort()
    return (statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))],
            statistics.median(cpus))


def pages(runs):
    middle = runs[len(runs) // 2]
    deep = urllib.parse.quote('{}_{}'.format(middle['start'], middle['id']))
    return [('/api/runs', 'API: newest 100 runs + count'),
            ('/api/runs?benchmark=disk&unit=web/1', 'API: filtered runs'),
            ('/api/runs?before=' + deep, 'API: 100 runs half-way down'),
            ('/api/runs/' + middle['id'], 'API: one run'),
            ('/api/compare?benchmark=http', 'API: newest vs baseline'),
            ('/', 'page: runs'),
            ('/?application=web&before=' + deep, 'page: runs, filtered, half-way'),
            ('/benchmarks/http', 'page: plots (200 runs)'),
            ('/compare?benchmark=http', 'page: comparison'),
            ('/export.csv?benchmark=cpu&since=2026-01-01T19&until=2026-01-01T20',
             'CSV: one hour of cpu (250 runs)')]


def measure(size, samples, uri):
    tmp = tempfile.mkdtemp(prefix='collectorbench-')
    uri = uri or os.path.join(tmp, 'runs.sqlite')
    db = store.Store(uri)
    db.migrate()
    rate, cpu_rate, runs = ingest(db, size)
    db.set_baseline('http', runs[0]['id'], runs[0]['end'])
    db.close()
    server = web.serve({'database': uri, 'port': 0, 'threshold': 0.05, 'alpha': 0.05},
                       address='127.0.0.1')
    base = 'http://127.0.0.1:{}'.format(server.server_address[1])
    rows = []
    try:
        for path, label in pages(runs):
            rows.append((size, label) + timed(base + path, samples))
    finally:
        server.shutdown()
        server.server_close()
    return rate, cpu_rate, rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', default='10000,100000')
    parser.add_argument('--samples', type=int, default=30)
    parser.add_argument('--postgresql', default='', help='an empty PostgreSQL database URI')
    args = parser.parse_args()
    print('load average at the start: {:.1f} {:.1f} {:.1f}'.format(*os.getloadavg()))
    print('{:>8}  {:<32} {:>10} {:>10} {:>10}'.format(
        'runs', 'request', 'median ms', 'p95 ms', 'CPU ms'))
    rates = []
    for size in [int(s) for s in args.sizes.split(',')]:
        rate, cpu_rate, rows = measure(size, args.samples, args.postgresql)
        rates.append((size, rate, cpu_rate))
        for row in rows:
            print('{:>8}  {:<32} {:>10.1f} {:>10.1f} {:>10.1f}'.format(*row), flush=True)
    print()
    print('ingest, one transaction per run, {}'.format(
        'PostgreSQL' if args.postgresql else 'SQLite WAL'))
    print('{:>8}  {:>12} {:>16}'.format('runs', 'runs/s', 'runs/CPU-second'))
    for size, rate, cpu_rate in rates:
        print('{:>8}  {:>12.0f} {:>16.0f}'.format(size, rate, cpu_rate))
    print('load average at the end: {:.1f} {:.1f} {:.1f}'.format(*os.getloadavg()))


if __name__ == '__main__':
    main()
