"""stackyard-test and stackyard-probe charm logic."""

import pytest

from charms.layer import stackyard_probe as probe  # noqa: E402
from charms.layer.stackyard_test import contexts  # noqa: E402


@pytest.mark.parametrize('port, ok', [
    (8080, True), (1, True), (65535, True), (0, False), (65536, False), (-1, False),
    ('8080', False), (True, False), (None, False)])
def test_port_problem(port, ok):
    problem = contexts.port_problem(port)
    assert (problem is None) == ok
    if not ok:
        assert problem.startswith('port {!r}'.format(port))


@pytest.mark.parametrize('value, ok', [
    (0, True), (3, True), (600, True), (-1, False), (601, False), (2.5, False), ('3', False),
    (True, False), (None, False)])
def test_warmup_reason(value, ok):
    reason = contexts.warmup_reason(value)
    assert (reason is None) == ok
    if not ok:
        assert reason.startswith('must be a whole number of seconds from 0 to 600')


@pytest.mark.parametrize('value, ok', [
    (3.0, True), (0.1, True), (60, True), (0.0, False), (61, False), ('3', False),
    (False, False)])
def test_timeout_problem(value, ok):
    assert (probe.timeout_problem(value) is None) == ok


def test_summarise():
    assert probe.summarise([]) == ('waiting', 'Waiting for http targets to publish an address')
    assert probe.summarise([('web/0', True, 'hi'), ('web/1', True, 'hi')]) == (
        'active', '2/2 targets answer: hi')
    state, message = probe.summarise([('web/0', True, 'hi'), ('web/1', False, 'refused')])
    assert state == 'blocked'
    assert message == '1/2 targets answer; web/1 failed (refused)'


def test_fetch_reads_a_real_server():
    import http.server
    import threading

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = b'{"message": "from a real server"}'
            self.send_response(200)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass
    server = http.server.HTTPServer(('127.0.0.1', 0), H)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert probe.fetch('127.0.0.1', server.server_port, 2) == (True, 'from a real server')
    finally:
        server.shutdown()
    ok, text = probe.fetch('127.0.0.1', server.server_port, 0.5)
    assert not ok and '127.0.0.1' in text


def test_version_is_what_the_server_script_prints(tmp_path, monkeypatch):
    import os
    import subprocess
    import sys
    from charms.layer.stackyard_test import paths, services
    script = os.path.join(os.path.dirname(__file__), '..', '..', 'charms', 'stackyard-test',
                          'files', 'server.py')
    printed = subprocess.check_output([sys.executable, script, '--version'],
                                      universal_newlines=True).strip()
    monkeypatch.setattr(paths, 'SERVER', script)
    assert services.version() == printed and printed
    monkeypatch.setattr(paths, 'SERVER', str(tmp_path / 'missing.py'))
    assert services.version() is None
