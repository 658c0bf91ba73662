"""afs-mirror's ``benchmark-http``: its own proxies and static mirrors, cold and cached.

Cold: ``cold-requests`` GETs of the URL each with a query string never asked
before, so Apache's cache misses and fetches from the upstream (for a static
mirror: a read from its directory) - timed one by one.  Cached: after one
warm-up GET, ApacheBench (layer:benchmark's ``benchmark.run_ab``) ``repeats``
times on the plain URL, which the cache answers.  Registered with
``benchmark.register``: the action, and what a collector's suite may run.
"""

import re
import statistics
import time
import urllib.error
import urllib.request
import uuid

from charms.layer import benchmark
from charms.layer.afs_mirror import contexts

_PATH = re.compile(r'^[A-Za-z0-9._~/-]*$')
COLD_TIMEOUT = 60


def targets():
    """``{name: (path prefix, default path under it)}`` of the proxies and static mirrors."""
    out = {p['name']: (p['path'], p['probe']) for p in contexts.configured_proxies()}
    out.update((s['name'], (s['path'], 'timestamp.txt')) for s in contexts.configured_static())
    return out


def http_params(params, known):
    """The checked params; ``known`` is :func:`targets`' mapping."""
    out = {'requests': benchmark.whole(params, 'requests', 1, 1000000),
           'concurrency': benchmark.whole(params, 'concurrency', 1, 1000),
           'repeats': benchmark.whole(params, 'repeats', 1, 20),
           'cold-requests': benchmark.whole(params, 'cold-requests', 1, 100)}
    if not known:
        raise benchmark.Invalid('target: this unit serves no proxies or static mirrors')
    target = params.get('target') or next(iter(known))
    if target not in known:
        raise benchmark.Invalid('target {!r} is not one of this unit\'s proxies or static '
                                'mirrors: {}'.format(target, ', '.join(sorted(known))))
    path = params.get('path') or known[target][1]
    if not isinstance(path, str) or not _PATH.match(path) or path.startswith('/') or \
            '..' in path.split('/'):
        raise benchmark.Invalid('path {!r} must be a relative URL path under /{}/'.format(
            path, target))
    out.update(target=target, path=path)
    return out


def url_of(prefix, path):
    return 'http://127.0.0.1:{}{}{}'.format(contexts.PORT, prefix, path)


def cold_get(url):
    """Milliseconds for one GET of ``url`` with a fresh query string (a cache miss)."""
    fresh = '{}?benchmark-cold={}'.format(url, uuid.uuid4().hex)
    start = time.monotonic()
    try:
        with urllib.request.urlopen(fresh, timeout=COLD_TIMEOUT) as response:  # noqa: S310
            response.read()
    except (OSError, urllib.error.HTTPError) as e:
        raise benchmark.Invalid('GET {} failed: {}'.format(fresh, e)) from None
    return (time.monotonic() - start) * 1000


def http_run(p, cold, reports):
    """The run of ``cold`` (ms per cold GET) and ``reports`` (``parse_ab`` dicts)."""
    run = benchmark.Run('mirror-http', p)
    run.metric('cold-latency', statistics.fmean(cold), 'ms', 'lower', samples=cold)
    benchmark.ab_metrics(run, reports)
    # How much faster the cache answers than the upstream (mean latencies).
    run.metric('cache-speedup', statistics.fmean(cold) / max(
        statistics.fmean(r['mean'] for r in reports), 1e-6), 'x', 'higher')
    run.composite(statistics.fmean(r['rps'] for r in reports), 'req/s', 'higher')
    return run.finish()


def http_context():
    """The targets, read in the hook (the config is read with a hook tool)."""
    return {'known': targets()}


@benchmark.register('benchmark-http', context=http_context)
def measure_http(params, known):
    p = http_params(params, known)
    url = url_of(known[p['target']][0], p['path'])
    cold = [cold_get(url) for _ in range(p['cold-requests'])]
    warm(url)
    reports = [benchmark.run_ab(url, p['requests'], p['concurrency'])
               for _ in range(p['repeats'])]
    if any(r['failed'] == p['requests'] for r in reports):
        raise benchmark.Invalid('every request to {} failed'.format(url))
    return http_run(p, cold, reports)


def warm(url):
    """One GET of the plain URL, so the cached pass finds it stored."""
    try:
        with urllib.request.urlopen(url, timeout=COLD_TIMEOUT) as response:  # noqa: S310
            response.read()
    except (OSError, urllib.error.HTTPError) as e:
        raise benchmark.Invalid('GET {} failed: {}'.format(url, e)) from None
