"""ci-worker's benchmarks: ``benchmark-disk`` (fio) and ``benchmark-cpu`` (sysbench).

Each is registered with layer:benchmark's ``benchmark.register``: the action of
that name (the run handed to a related collector too), and what a collector's
suite may run detached.  Tools come from Debian packages installed on first use.
"""

import json
import math
import os
import re
import shutil
import statistics
import subprocess

from charms.layer import benchmark
from charms.layer.ci_worker import contexts

FIO, FIO_PACKAGE = 'fio', 'fio'
SYSBENCH, SYSBENCH_PACKAGE = 'sysbench', 'sysbench'
# Sequential and random, read and write; writes first, so the reads find the file laid out.
PATTERNS = (('seq-write', 'write'), ('seq-read', 'read'),
            ('rand-write', 'randwrite'), ('rand-read', 'randread'))
DATA_DIR = '.benchmark-disk'          # under the workspace; removed after each run
# The longest a benchmark may measure in all (runtime x patterns x repeats), in seconds:
# an action holds the machine lock while it runs.
MAX_SECONDS = 1800
# Slack for fio's own setup (laying the file out) on top of the measured time.
SLACK = 300


def disk_params(params):
    """The checked params of benchmark-disk (every one present: actions.yaml's defaults)."""
    out = {'size': benchmark.size(params, 'size', 1024 ** 2, 64 * 1024 ** 3),
           'block-size': benchmark.size(params, 'block-size', 512, 64 * 1024 ** 2),
           'runtime': benchmark.whole(params, 'runtime', 1, 600),
           'iodepth': benchmark.whole(params, 'iodepth', 1, 256),
           'jobs': benchmark.whole(params, 'jobs', 1, 64),
           'repeats': benchmark.whole(params, 'repeats', 1, 10),
           'direct': params.get('direct')}
    if not isinstance(out['direct'], bool):
        raise benchmark.Invalid('direct must be true or false, not {!r}'.format(out['direct']))
    if out['block-size'] % 512:
        raise benchmark.Invalid('block-size must be a multiple of 512 bytes, not {}'.format(
            out['block-size']))
    if out['block-size'] > out['size']:
        raise benchmark.Invalid('block-size ({}) must not exceed size ({})'.format(
            out['block-size'], out['size']))
    seconds = out['runtime'] * len(PATTERNS) * out['repeats']
    if seconds > MAX_SECONDS:
        raise benchmark.Invalid('runtime x 4 patterns x repeats is {} s; at most {} s'.format(
            seconds, MAX_SECONDS))
    return out


def cpu_params(params):
    """The checked params of benchmark-cpu."""
    out = {'threads': benchmark.whole(params, 'threads', 1, 256),
           'time': benchmark.whole(params, 'time', 1, 600),
           'max-prime': benchmark.whole(params, 'max-prime', 100, 10 ** 7),
           'repeats': benchmark.whole(params, 'repeats', 1, 10)}
    if out['time'] * out['repeats'] > MAX_SECONDS:
        raise benchmark.Invalid('time x repeats is {} s; at most {} s'.format(
            out['time'] * out['repeats'], MAX_SECONDS))
    return out


def fio_command(path, rw, p):
    """The fio command line of one pattern (JSON report on stdout)."""
    return [FIO, '--output-format=json', '--name=' + rw, '--filename=' + path,
            '--size={}'.format(p['size']), '--bs={}'.format(p['block-size']), '--rw=' + rw,
            '--runtime={}'.format(p['runtime']), '--time_based', '--ioengine=libaio',
            '--iodepth={}'.format(p['iodepth']), '--numjobs={}'.format(p['jobs']),
            '--group_reporting', '--direct={}'.format(int(p['direct'])),
            '--end_fsync=1' if 'write' in rw else '--invalidate=1']


def parse_fio(text, rw):
    """``{mbps, iops, latency}`` (MB/s, IO/s, mean completion latency in ms) of fio's JSON.

    :raises ValueError: not fio's JSON report of one job group
    """
    start = text.find('{')   # fio may print notes before the JSON
    report = json.loads(text[start:] if start >= 0 else text)
    side = report['jobs'][0]['write' if 'write' in rw else 'read']
    return {'mbps': side['bw_bytes'] / 1e6, 'iops': float(side['iops']),
            'latency': side['clat_ns']['mean'] / 1e6}


def run_fio(path, rw, p):
    timeout = p['runtime'] + SLACK
    try:
        proc = subprocess.run(fio_command(path, rw, p), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise benchmark.Invalid('fio {} took more than {} s'.format(rw, timeout)) from None
    if proc.returncode != 0:
        raise benchmark.Invalid('fio {} failed: {}'.format(
            rw, (proc.stderr or proc.stdout).strip()[-300:]))
    return parse_fio(proc.stdout, rw)


def disk_run(p, samples, directory):
    """The run of ``samples``: ``{pattern: [parse_fio dict per repeat]}``."""
    run = benchmark.Run('disk', dict(p, directory=directory))
    for name, _ in PATTERNS:
        got = samples[name]
        for key, metric, units, direction in (
                ('mbps', 'bandwidth', 'MB/s', 'higher'), ('iops', 'iops', 'IO/s', 'higher'),
                ('latency', 'latency', 'ms', 'lower')):
            values = [s[key] for s in got]
            run.metric('{}-{}'.format(name, metric), statistics.fmean(values), units,
                       direction, samples=values)
    # The geometric mean of the four bandwidths: one slower pattern lowers it.
    means = [statistics.fmean(s['mbps'] for s in samples[n]) for n, _ in PATTERNS]
    run.composite(math.exp(statistics.fmean(math.log(max(m, 1e-9)) for m in means)),
                  'MB/s', 'higher')
    return run.finish()


def disk_context():
    """Where to measure, read in the hook (storage-get is a hook tool)."""
    return {'workspace': contexts.workspace_dir()}


@benchmark.register('benchmark-disk', context=disk_context)
def measure_disk(params, workspace):
    """fio on the ``workspace`` volume: each pattern ``repeats`` times; the data file removed."""
    p = disk_params(params)
    free = shutil.disk_usage(workspace).free if os.path.isdir(workspace) else 0
    if p['size'] * 2 > free:
        raise benchmark.Invalid('size {} needs twice that free on {} ({} free)'.format(
            p['size'], workspace, free))
    benchmark.ensure_command(FIO, FIO_PACKAGE)
    directory = os.path.join(workspace, DATA_DIR)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    path = os.path.join(directory, 'fio.data')
    samples = {name: [] for name, _ in PATTERNS}
    try:
        for _ in range(p['repeats']):
            for name, rw in PATTERNS:
                samples[name].append(run_fio(path, rw, p))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return disk_run(p, samples, workspace)


def parse_sysbench(text):
    """``{eps, avg, p95}`` (events/s, latency ms) of ``sysbench cpu run``'s report.

    :raises ValueError: a figure is missing
    """
    def figure(pattern):
        found = re.search(pattern, text, re.M)
        if not found:
            raise ValueError('sysbench output has no match for {!r}'.format(pattern))
        return float(found.group(1))
    return {'eps': figure(r'^\s*events per second:\s+([\d.]+)'),
            'avg': figure(r'^\s*avg:\s+([\d.]+)'),
            'p95': figure(r'^\s*95th percentile:\s+([\d.]+)')}


def run_sysbench(p):
    command = [SYSBENCH, 'cpu', '--threads={}'.format(p['threads']),
               '--time={}'.format(p['time']), '--cpu-max-prime={}'.format(p['max-prime']), 'run']
    timeout = p['time'] + 60
    try:
        proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise benchmark.Invalid('sysbench took more than {} s'.format(timeout)) from None
    if proc.returncode != 0:
        raise benchmark.Invalid('sysbench failed: {}'.format(proc.stdout.strip()[-300:]))
    try:
        return parse_sysbench(proc.stdout)
    except ValueError as e:
        raise benchmark.Invalid(str(e)) from None


def cpu_run(p, reports):
    run = benchmark.Run('cpu', p)
    for key, metric, units, direction in (('eps', 'events-per-second', 'events/s', 'higher'),
                                          ('avg', 'latency-avg', 'ms', 'lower'),
                                          ('p95', 'latency-p95', 'ms', 'lower')):
        values = [r[key] for r in reports]
        run.metric(metric, statistics.fmean(values), units, direction, samples=values)
    run.composite(statistics.fmean(r['eps'] for r in reports), 'events/s', 'higher')
    return run.finish()


@benchmark.register('benchmark-cpu')
def measure_cpu(params):
    """sysbench cpu, ``repeats`` times."""
    p = cpu_params(params)
    benchmark.ensure_command(SYSBENCH, SYSBENCH_PACKAGE)
    return cpu_run(p, [run_sysbench(p) for _ in range(p['repeats'])])
