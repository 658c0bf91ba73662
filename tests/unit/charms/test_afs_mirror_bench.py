"""afs-mirror's benchmark-http: real ab and real GETs against a local HTTP server."""

import http.server
import json
import os
import shutil
import subprocess
import threading

import pytest

from charms.layer.stackyard import actions
from charms.layer import benchmark
from charms.layer.afs_mirror import bench, contexts

CHARM = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'charms', 'afs-mirror')
PROXIES = [{'name': 'pypi', 'path': '/pypi/', 'probe': 'simple/pip/'},
           {'name': 'npm', 'path': '/npm/', 'probe': '-/ping'}]
STATIC = [{'name': 'ubuntu', 'path': '/ubuntu/'}]


def params(**changes):
    return dict(benchmark.defaults('benchmark-http', CHARM), **changes)


@pytest.fixture
def mirror(monkeypatch):
    """A local server in the mirror's place: records the paths asked for."""
    if not shutil.which('ab'):
        if os.environ.get('CI') != 'true' and os.geteuid() != 0:
            pytest.skip('ab is not installed (apt-get install apache2-utils)')
        subprocess.run(['apt-get', 'install', '-y', '-q', benchmark.AB_PACKAGE], check=True,
                       stdout=subprocess.DEVNULL)
    asked = []

    class Page(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.0'

        def do_GET(self):  # noqa: N802  http.server's naming
            asked.append(self.path)
            status = 200 if self.path.startswith('/pypi/simple/pip/') else 404
            body = b'<html>pip</html>'
            self.send_response(status)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Page)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    monkeypatch.setattr(contexts, 'PORT', srv.server_address[1])
    monkeypatch.setattr(contexts, 'configured_proxies', lambda: PROXIES)
    monkeypatch.setattr(contexts, 'configured_static', lambda: STATIC)
    monkeypatch.setenv('JUJU_UNIT_NAME', 'afs-mirror/0')
    # Every charm's lib is on one path here, and stackyard-test registers an action of
    # the same name: make it afs-mirror's again for this test.
    benchmark.register('benchmark-http', context=bench.http_context)(bench.measure_http)
    yield asked
    srv.shutdown()
    srv.server_close()


def test_targets_are_the_proxies_then_the_static_mirrors(mirror):
    assert bench.targets() == {'pypi': ('/pypi/', 'simple/pip/'), 'npm': ('/npm/', '-/ping'),
                               'ubuntu': ('/ubuntu/', 'timestamp.txt')}
    checked = bench.http_params(params(), bench.targets())
    assert (checked['target'], checked['path']) == ('pypi', 'simple/pip/')
    assert bench.http_params(params(target='ubuntu'), bench.targets())['path'] == 'timestamp.txt'


@pytest.mark.parametrize('changes, says', [
    ({'target': 'nope'}, "target 'nope' is not one of this unit's proxies or static mirrors: "
                         "npm, pypi, ubuntu"),
    ({'path': '/etc/passwd'}, "path '/etc/passwd' must be a relative URL path under /pypi/"),
    ({'path': '../x'}, 'path'),
    ({'path': 'a b'}, 'path'),
    ({'requests': 0}, 'requests must be a whole number from 1 to 1000000'),
    ({'concurrency': 1001}, 'concurrency must be'),
    ({'repeats': 'x'}, 'repeats must be'),
    ({'cold-requests': 0}, 'cold-requests must be a whole number from 1 to 100'),
])
def test_bad_params_are_refused_naming_the_param(mirror, changes, says):
    with pytest.raises(benchmark.Invalid) as err:
        bench.http_params(params(**changes), bench.targets())
    assert says in str(err.value)


def test_no_proxies_is_refused():
    with pytest.raises(benchmark.Invalid, match='^target: this unit serves no proxies'):
        bench.http_params(params(), {})


def test_cold_and_cached_requests_make_a_run(mirror, monkeypatch):
    published = []
    monkeypatch.setattr(benchmark, 'publish', lambda run: published.append(run.data))
    results = actions._actions['benchmark-http'](params(requests=50, concurrency=2, repeats=2,
                                                        **{'cold-requests': 3}))
    assert all(benchmark.valid_key(k) for k in results)
    run = json.loads(results['run'])
    assert published == [run] and run['benchmark'] == 'mirror-http'
    assert run['params']['target'] == 'pypi' and run['unit'] == 'afs-mirror/0'
    cold = [p for p in mirror if 'benchmark-cold=' in p]
    assert len(cold) == 3 and len(set(cold)) == 3           # every cold GET a new URL
    assert mirror.count('/pypi/simple/pip/') >= 101           # warm-up and 2 x 50 by ab
    metrics = run['metrics']
    assert len(metrics['cold-latency']['samples']) == 3 and metrics['cold-latency']['value'] > 0
    assert metrics['requests-per-second']['units'] == 'req/s'
    assert len(metrics['requests-per-second']['samples']) == 2
    assert metrics['failed-requests']['value'] == 0 and metrics['cache-speedup']['units'] == 'x'


def test_an_unreachable_path_fails_the_action(mirror, monkeypatch):
    monkeypatch.setattr(benchmark, 'publish', lambda run: pytest.fail('published'))
    with pytest.raises(actions.ActionFailed, match='^GET http://127.0.0.1:.*/npm/-/ping'):
        actions._actions['benchmark-http'](params(target='npm'))
