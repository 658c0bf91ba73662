"""Runs for the benchmark-collector tests, made with layer:benchmark's helpers."""

import random

from charms.layer import benchmark


def make_run(unit='web/0', name='http', rps=1000.0, latency=10.0, seed=1, start=None,
             samples=8, noise=0.01):
    """A finished run; samples scatter around the values by ``noise`` (relative)."""
    rnd = random.Random(seed)
    run = benchmark.Run(name, {'duration': 10}, unit=unit, charm=unit.split('/')[0],
                        revision='3')
    rps_samples = [rps * (1 + rnd.gauss(0, noise)) for _ in range(samples)] or [rps]
    lat_samples = [latency * (1 + rnd.gauss(0, noise)) for _ in range(samples)] or [latency]
    keep = samples > 0
    run.metric('requests', sum(rps_samples) / len(rps_samples), 'req/s', 'higher',
               samples=rps_samples if keep else None)
    run.metric('latency-p99', sum(lat_samples) / len(lat_samples), 'ms', 'lower',
               samples=lat_samples if keep else None)
    run.composite(run.data['metrics']['requests']['value'], 'req/s', 'higher')
    run.finish()
    if start:
        run.data['start'] = run.data['end'] = start
    return run.data


def stamp(i):
    return '2026-12-01T10:{:02d}:00.000000Z'.format(i)
