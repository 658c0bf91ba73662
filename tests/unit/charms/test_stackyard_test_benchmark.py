"""stackyard-test's benchmark-http: real ab against a real local HTTP server, then a run."""

import http.server
import json
import os
import shutil
import subprocess
import threading

import pytest

from charms.layer.stackyard import actions
from charms.layer import benchmark
from charms.layer.stackyard_test import bench

HERE = os.path.dirname(__file__)


@pytest.fixture(scope='module')
def ab():
    if not shutil.which('ab'):
        if os.environ.get('CI') != 'true' and os.geteuid() != 0:
            pytest.skip('ab is not installed (apt-get install apache2-utils)')
        subprocess.run(['apt-get', 'install', '-y', '-q', bench.AB_PACKAGE], check=True,
                       stdout=subprocess.DEVNULL)
    return shutil.which('ab')


@pytest.fixture
def server():
    class Hello(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.0'

        def do_GET(self):  # noqa: N802  http.server's naming
            body = b'{"message": "hello"}'
            self.send_response(200)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Hello)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield 'http://127.0.0.1:{}/'.format(srv.server_address[1])
    srv.shutdown()
    srv.server_close()


def test_ab_report_parses_into_a_run_with_valid_keys(ab, server, monkeypatch):
    monkeypatch.setenv('JUJU_UNIT_NAME', 'stackyard-test/0')
    reports = [bench.run_ab(server, 200, 4) for _ in range(2)]
    assert all(r['rps'] > 0 and r['failed'] == 0 and r['p50'] <= r['p99'] for r in reports)
    run = bench.build_run({'requests': 200, 'concurrency': 4, 'repeats': 2, 'path': '/'},
                          reports)
    results = run.results()
    assert all(benchmark.valid_key(k) for k in results)
    doc = json.loads(results['run'])
    assert doc['metrics']['requests-per-second']['samples'] == [r['rps'] for r in reports]
    assert doc['metrics']['latency-p99']['direction'] == 'lower'
    assert doc['composite']['units'] == 'req/s' and doc['unit'] == 'stackyard-test/0'
    assert benchmark.validate(doc) == doc


def test_a_report_without_figures_is_an_error():
    with pytest.raises(ValueError, match='Requests per second'):
        bench.parse_ab('apr_socket_recv: Connection refused (111)\n')


@pytest.mark.parametrize('params, message', [
    ({'requests': 0, 'concurrency': 1, 'repeats': 1}, 'requests must be a whole number'),
    ({'requests': 10, 'concurrency': 1001, 'repeats': 1}, 'concurrency must be'),
    ({'requests': 10, 'concurrency': 1, 'repeats': '3'}, "repeats must be a whole number"),
    ({'requests': 10, 'concurrency': 1, 'repeats': 1, 'path': 'x y'}, "path 'x y'"),
])
def test_bad_params_are_refused_naming_them(params, message):
    with pytest.raises(actions.ActionFailed, match=message):
        bench.check_params(params)
