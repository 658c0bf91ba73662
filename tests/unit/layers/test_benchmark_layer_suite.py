"""layer:benchmark's suites: the spec a hook writes, the detached run, its result."""

import http.server
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading

import pytest

from charms.layer.stackyard import actions
from charms.layer import benchmark

LIB = os.path.abspath(os.path.join(os.path.dirname(benchmark.__file__), '..', '..'))
STACKYARD_LIB = os.path.abspath(os.path.join(os.path.dirname(actions.__file__), '..', '..', '..'))
MODULE = textwrap.dedent('''\
    """Two benchmarks for the suite tests: one measures, one always fails."""
    from charmhelpers.core import host  # noqa: F401  as charm modules do (needs compat)
    from charms.layer import benchmark

    CONTEXT_CALLS = []


    def where():
        CONTEXT_CALLS.append(1)
        return {'where': '/srv/here'}


    @benchmark.register('benchmark-count', context=where)
    def count(params, where):
        if not isinstance(params.get('upto'), int) or params['upto'] < 1:
            raise benchmark.Invalid('upto must be a whole number from 1')
        run = benchmark.Run('count', dict(params, where=where))
        run.metric('total', float(sum(range(params['upto']))), 'items', 'higher',
                   samples=[1.0, 2.0])
        return run.finish()


    @benchmark.register('benchmark-broken')
    def broken(params):
        raise RuntimeError('the tool is missing')
''')
ACTIONS_YAML = textwrap.dedent('''\
    benchmark-count:
      params:
        upto: {type: integer, default: 1000}
    benchmark-broken:
      params: {}
''')


@pytest.fixture
def charm(tmp_path, monkeypatch):
    """A charm dir with actions.yaml and an importable module registering two benchmarks."""
    (tmp_path / 'charm').mkdir()
    (tmp_path / 'charm' / 'actions.yaml').write_text(ACTIONS_YAML)
    (tmp_path / 'mods').mkdir()
    (tmp_path / 'mods' / 'suite_fixture_bench.py').write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path / 'mods'))
    monkeypatch.setenv('CHARM_DIR', str(tmp_path / 'charm'))
    monkeypatch.setenv('JUJU_UNIT_NAME', 'worker/3')
    sys.modules.pop('suite_fixture_bench', None)
    import suite_fixture_bench
    yield suite_fixture_bench
    sys.modules.pop('suite_fixture_bench', None)
    for name in ('benchmark-count', 'benchmark-broken'):
        benchmark._registry.pop(name, None)
        actions._actions.pop(name, None)


@pytest.fixture
def collector():
    """A local HTTP server taking POSTed runs, as the collector's API does."""
    got = []

    class Api(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802  http.server's naming
            got.append(json.loads(self.rfile.read(int(self.headers['Content-Length']))))
            self.send_response(201)
            self.send_header('Content-Length', '0')
            self.end_headers()

        def log_message(self, *args):
            pass
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Api)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield 'http://127.0.0.1:{}/api/runs'.format(srv.server_address[1]), got
    srv.shutdown()
    srv.server_close()


def test_registering_makes_the_action(charm, monkeypatch):
    published = []
    monkeypatch.setattr(benchmark, 'publish', lambda run: published.append(run.data))
    results = actions._actions['benchmark-count']({'upto': 4})
    assert json.loads(results['run'])['metrics']['total']['value'] == 6.0
    assert published[0]['params'] == {'upto': 4, 'where': '/srv/here'}
    with pytest.raises(actions.ActionFailed, match='^upto must be'):
        actions._actions['benchmark-count']({'upto': 0})
    assert {'benchmark-count', 'benchmark-broken'} <= set(benchmark.registered())


def test_the_spec_has_the_defaults_and_the_context_read_in_the_hook(charm):
    spec = benchmark.suite_spec('suite-0001', ['benchmark-count'], 'suite_fixture_bench',
                                ['http://10.0.0.1:8080/api/runs'])
    assert spec['benchmarks'] == [{'action': 'benchmark-count', 'params': {'upto': 1000},
                                   'context': {'where': '/srv/here'}}]
    assert charm.CONTEXT_CALLS == [1]
    with pytest.raises(benchmark.Invalid, match="unknown benchmark.s.: benchmark-nope; this "
                                                "unit has: .*benchmark-count"):
        benchmark.suite_spec('suite-0001', ['benchmark-nope'], 'x', [])
    with pytest.raises(benchmark.Invalid, match="suite id '../x'"):
        benchmark.suite_spec('../x', [], 'x', [])


def test_a_detached_suite_runs_posts_and_writes_its_result(charm, collector, tmp_path,
                                                           monkeypatch):
    url, got = collector
    spec = benchmark.suite_spec('suite-0002', ['benchmark-broken', 'benchmark-count'],
                                'suite_fixture_bench', [url])
    started = []

    def fake_run(command, **kw):
        started.append(command)
        return subprocess.CompletedProcess(command, 0, '')
    root = str(tmp_path / 'suites')
    monkeypatch.setattr(subprocess, 'run', fake_run)
    service = benchmark.start_suite(spec, root=root, python=sys.executable)
    monkeypatch.undo()
    [command] = started
    assert service == 'benchmark-suite-suite-0002'
    assert command[:5] == ['systemd-run', '--unit', service, '--collect', '--quiet']
    assert '--setenv=JUJU_UNIT_NAME=worker/3' in command
    assert oct(os.stat(os.path.join(root, 'suite-0002.spec.json')).st_mode & 0o777) == '0o600'
    assert benchmark.suite_result('suite-0002', root) is None

    # What systemd would run, run here for real: its --setenv environment only (plus
    # the test module's directory on the path).
    tail = command[command.index(sys.executable):]
    env = dict(a[len('--setenv='):].split('=', 1) for a in command if a.startswith('--setenv='))
    assert env['PYTHONPATH'] == LIB and env['CHARM_DIR'] == str(tmp_path / 'charm')
    # A built charm has one lib/ that merges every layer's: make one the same way.
    merged = str(tmp_path / 'lib')
    for lib in (STACKYARD_LIB, LIB):
        shutil.copytree(lib, merged, dirs_exist_ok=True)
    env['PYTHONPATH'] = merged + os.pathsep + str(tmp_path / 'mods')
    subprocess.run(tail, check=True, env=env, timeout=120)
    result = benchmark.suite_result('suite-0002', root)
    assert result['state'] == 'failed'
    assert result['errors'] == ['benchmark-broken: the tool is missing']
    [run] = result['runs']
    assert run['params'] == {'upto': 1000, 'where': '/srv/here', 'suite': 'suite-0002'}
    assert run['unit'] == 'worker/3' and got == [run]
    assert benchmark.validate(run)['metrics']['total']['value'] == float(sum(range(1000)))


def test_an_unreachable_collector_is_an_error_of_the_suite(charm, tmp_path):
    spec = benchmark.suite_spec('suite-0003', ['benchmark-count'], 'suite_fixture_bench',
                                ['http://127.0.0.1:9/api/runs'])
    os.makedirs(str(tmp_path / 's'))
    path = os.path.join(str(tmp_path / 's'), 'suite-0003.spec.json')
    with open(path, 'w') as f:
        json.dump(spec, f)
    result = benchmark.run_suite(path)
    assert result['state'] == 'failed' and len(result['runs']) == 1
    assert result['errors'][0].startswith('benchmark-count: POST to http://127.0.0.1:9/')


def test_a_module_that_does_not_load_fails_the_suite(charm, tmp_path):
    spec = benchmark.suite_spec('suite-0004', ['benchmark-count'], 'suite_fixture_bench', [])
    spec['module'] = 'no_such_charm_module'
    path = str(tmp_path / 'suite-0004.spec.json')
    with open(path, 'w') as f:
        json.dump(spec, f)
    result = benchmark.run_suite(path)
    assert result['state'] == 'failed' and result['runs'] == []
    assert result['errors'] == ["loading no_such_charm_module: No module named "
                                "'no_such_charm_module'"]
    assert benchmark.suite_result('suite-0004', str(tmp_path)) == result
