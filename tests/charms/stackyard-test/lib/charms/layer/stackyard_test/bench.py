"""stackyard-test's ``benchmark-http``: ApacheBench against its own service.

Shows how a charm builds a benchmark with layer:benchmark's helpers and hands
the run to a related collector (interface:benchmark).
"""

import re
import statistics

from charmhelpers.core import hookenv
from charms.reactive.relations import relation_factory

from charms.layer.stackyard import actions, options
from charms.layer import benchmark

ENDPOINT = 'benchmark'
LIMITS = {'requests': (1, 1000000), 'concurrency': (1, 1000), 'repeats': (1, 20)}
# ab's report parser and runner live in layer:benchmark's module.
AB_PACKAGE = benchmark.AB_PACKAGE
parse_ab = benchmark.parse_ab


def check_params(params):
    """The integer params, each in range; :class:`actions.ActionFailed` names a bad one."""
    out = {}
    for name, (low, high) in LIMITS.items():
        value = params.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise actions.ActionFailed('{} must be a whole number from {} to {}, not {!r}'.format(
                name, low, high, value))
        out[name] = value
    path = params.get('path') or '/'
    if not re.match(r'^/[A-Za-z0-9._~/-]*$', path):
        raise actions.ActionFailed('path {!r} must be an absolute URL path'.format(path))
    out['path'] = path
    return out


def run_ab(url, requests, concurrency):
    try:
        return benchmark.run_ab(url, requests, concurrency)
    except benchmark.Invalid as e:
        raise actions.ActionFailed(str(e)) from None


def build_run(params, reports):
    """The benchmark run of ``reports`` (one ``parse_ab`` dict per repeat)."""
    run = benchmark.Run('http', params)
    benchmark.ab_metrics(run, reports)
    run.composite(statistics.fmean(r['rps'] for r in reports), 'req/s', 'higher')
    return run.finish()


def publish(run):
    """Hand the run to every related collector (nothing to do without one)."""
    if not hookenv.relation_ids(ENDPOINT):
        return []
    endpoint = relation_factory(ENDPOINT)(ENDPOINT, hookenv.relation_ids(ENDPOINT))
    return endpoint.publish_run(run.data)


@actions.action('benchmark-http')
def benchmark_http(params):
    """``repeats`` runs of ab against this unit's own service; one benchmark run."""
    checked = check_params(params)
    url = 'http://127.0.0.1:{}{}'.format(options.config().get('port'), checked['path'])
    reports = [run_ab(url, checked['requests'], checked['concurrency'])
               for _ in range(checked['repeats'])]
    run = build_run(checked, reports)
    publish(run)
    return run.results()
