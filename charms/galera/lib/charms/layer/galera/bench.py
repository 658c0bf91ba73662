"""``benchmark-db``: sysbench OLTP read/write against this node, as a benchmark run."""

import re
import subprocess

from charms.layer.stackyard import actions
from charms.layer import benchmark
from charms.layer.galera import cluster, db

DATABASE = 'stackyard_bench'
SOCKET = '/run/mysqld/mysqld.sock'
SYSBENCH = '/usr/bin/sysbench'


def parse(output):
    """``{"tps", "qps", "latency-avg", "latency-p95"}`` from sysbench's run output."""
    found = {}
    for key, pattern in (('tps', r'transactions:\s+\d+\s+\(([\d.]+) per sec'),
                         ('qps', r'queries:\s+\d+\s+\(([\d.]+) per sec'),
                         ('latency-avg', r'avg:\s+([\d.]+)'),
                         ('latency-p95', r'95th percentile:\s+([\d.]+)')):
        match = re.search(pattern, output)
        if match:
            found[key] = float(match.group(1))
    return found


def _sysbench(args, timeout):
    try:
        proc = subprocess.run([SYSBENCH, 'oltp_read_write'] + args, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise actions.ActionFailed('sysbench {} did not finish in {} s'.format(
            args[-1], timeout)) from None
    if proc.returncode:
        tail = proc.stdout.strip().splitlines()[-1:] or ['exit {}'.format(proc.returncode)]
        raise actions.ActionFailed('sysbench {} failed: {}'.format(args[-1], tail[0]))
    return proc.stdout


def _install():
    from charmhelpers import fetch
    if fetch.filter_installed_packages(['sysbench']):
        fetch.apt_install(['sysbench'], fatal=True)


@actions.action('benchmark-db')
def benchmark_db(params):
    """Prepare, run for ``duration`` seconds, clean up; the run's metrics."""
    if not cluster.running():
        raise actions.ActionFailed('MariaDB is not running on this unit')
    keys = ('duration', 'threads', 'tables', 'table-size')
    values = {k: int(params[k]) for k in keys}
    _install()
    db.run('CREATE DATABASE IF NOT EXISTS `{}`;'.format(DATABASE))
    common = ['--db-driver=mysql', '--mysql-socket=' + SOCKET, '--mysql-user=root',
              '--mysql-db=' + DATABASE, '--tables={}'.format(values['tables']),
              '--table-size={}'.format(values['table-size'])]
    run = benchmark.Run('sysbench-oltp', values)
    try:
        _sysbench(common + ['prepare'], 600)
        out = _sysbench(common + ['--threads={}'.format(values['threads']),
                                  '--time={}'.format(values['duration']), 'run'],
                        values['duration'] + 120)
    finally:
        db.run('DROP DATABASE IF EXISTS `{}`;'.format(DATABASE))
    found = parse(out)
    if 'tps' not in found:
        raise actions.ActionFailed('no transactions/s in sysbench output')
    run.metric('transactions', found['tps'], 'tx/s', 'higher')
    run.metric('queries', found.get('qps', 0.0), 'queries/s', 'higher')
    run.metric('latency-avg', found.get('latency-avg', 0.0), 'ms', 'lower')
    run.metric('latency-p95', found.get('latency-p95', 0.0), 'ms', 'lower')
    run.composite(found['tps'], 'tx/s', 'higher')
    results = run.finish().results()
    results['message'] = 'sysbench oltp_read_write: {:.1f} tx/s, p95 {} ms ({} threads, {} s)'\
        .format(found['tps'], found.get('latency-p95'), values['threads'], values['duration'])
    return results
