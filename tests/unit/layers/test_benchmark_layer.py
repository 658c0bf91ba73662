"""layer:benchmark helpers: action keys Juju accepts, typed values, fingerprint."""

import json
import os
import sys

import pytest

from charms.layer import benchmark

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'yard'))
from fake_context import FakeContext  # noqa: E402  yard's test context, from its test dir
from yard.tools.server import run_tool  # noqa: E402


@pytest.fixture
def unit(tmp_path, monkeypatch):
    charm = tmp_path / 'charm'
    charm.mkdir()
    (charm / 'metadata.yaml').write_text('name: web-app\nsummary: x\n')
    (charm / '.juju-charm').write_text('local:web-app-7')
    monkeypatch.setenv('CHARM_DIR', str(charm))
    monkeypatch.setenv('JUJU_UNIT_NAME', 'web-app/3')
    monkeypatch.setenv('JUJU_ACTION_UUID', 'abc-1')
    return charm


def sample_run():
    run = benchmark.Run('http', {'duration': 10, 'path': '/'})
    run.metric('requests-per-second', 1500, 'req/s', 'higher', samples=[1490, 1500.5, 1510])
    run.metric('latency-p99', 12.5, 'ms', 'lower')
    run.composite(1500, 'req/s', 'higher')
    return run.finish()


def test_results_are_keys_juju_accepts(unit):
    results = sample_run().results()
    assert all(benchmark.valid_key(k) for k in results)
    # The same keys through yard's action-set, which follows Juju's rules and errors.
    ctx = FakeContext(hook_name='', action_name='benchmark-http')
    done = run_tool(ctx, 'action-set', ['{}={}'.format(k, v) for k, v in results.items()],
                    stdin=b'', cwd='/charm')
    assert done.code == 0, done.stderr
    assert ctx.results['results']['requests-per-second'] == {
        'value': '1500.0', 'units': 'req/s', 'direction': 'higher',
        'samples': '1490.0 1500.5 1510.0'}
    assert ctx.results['meta']['composite'] == {'value': '1500.0', 'units': 'req/s',
                                                'direction': 'higher'}
    assert ctx.results['meta']['schema-version'] == '1'


@pytest.mark.parametrize('key, ok', [
    ('results.latency-p99.value', True), ('a.b-c.d1', True), ('results.9x.value', True),
    ('results.latency_p99.value', False), ('results.Latency.value', False),
    ('results.-x.value', False), ('results.x-.value', False), ('results..value', False),
    ('stdout', False), ('stderr.x', False), ('meta.stdout', True)])
def test_valid_key(key, ok):
    assert benchmark.valid_key(key) is ok


def test_the_run_carries_who_where_when_and_what(unit):
    run = sample_run()
    doc = json.loads(run.results()['run'])
    assert doc == run.data
    assert (doc['unit'], doc['charm'], doc['revision'], doc['action-id']) == (
        'web-app/3', 'web-app', '7', 'abc-1')
    assert doc['params'] == {'duration': 10, 'path': '/'}
    assert doc['start'] <= doc['end'] and doc['end'].endswith('Z')
    assert doc['metrics']['latency-p99'] == {'value': 12.5, 'units': 'ms', 'direction': 'lower'}
    assert isinstance(doc['metrics']['requests-per-second']['samples'][0], float)
    assert benchmark.validate(doc) == doc
    assert benchmark.Run('http').data['id'] != run.data['id']


@pytest.mark.parametrize('call, message', [
    (lambda r: r.metric('latency_p99', 1, 'ms', 'lower'), "metric name 'latency_p99'"),
    (lambda r: r.metric('x', '12', 'ms', 'lower'), "x '12' is not a finite number"),
    (lambda r: r.metric('x', True, 'ms', 'lower'), 'x True is not a finite number'),
    (lambda r: r.metric('x', float('nan'), 'ms', 'lower'), 'x nan is not a finite number'),
    (lambda r: r.metric('x', 1, 'ms', 'asc'), "x: direction 'asc' must be higher or lower"),
    (lambda r: r.metric('x', 1, None, 'lower'), 'x: units None must be a string'),
    (lambda r: r.metric('x', 1, 'ms', 'lower', samples=[1, 'a']), "x sample 'a'"),
    (lambda r: r.metric('x', 1, 'ms', 'lower', samples='1 2'), 'x: samples must be a list'),
    (lambda r: r.composite(float('inf'), 'ms', 'lower'), 'composite inf'),
    (lambda r: r.finish(), 'run http has no metrics'),
])
def test_bad_metrics_are_refused_naming_them(unit, call, message):
    with pytest.raises(benchmark.Invalid) as err:
        call(benchmark.Run('http'))
    assert message in str(err.value)


def test_a_bad_benchmark_name_is_refused(unit):
    with pytest.raises(benchmark.Invalid, match="benchmark name 'HTTP'"):
        benchmark.Run('HTTP')


@pytest.mark.parametrize('change, message', [
    (lambda d: d.update(metrics={}), 'metrics must hold 1 to 500 objects'),
    (lambda d: d.update(metrics={'x': 5}), 'metrics must hold 1 to 500 objects'),
    (lambda d: d.update(metrics={'Bad': {'value': 1, 'units': '', 'direction': 'lower'}}),
     "metric name 'Bad'"),
    (lambda d: d['metrics']['latency-p99'].update(value='fast'), "'fast' is not a finite"),
    (lambda d: d.update(id=None), 'id, start, end required'),
    (lambda d: d.update(unit=['x']), 'run fields unit must be strings'),
    (lambda d: d.update(charm='x' * 201), 'run fields charm'),
    (lambda d: d.update(benchmark='a b'), "benchmark 'a b'"),
    (lambda d: d.update(composite='1'), 'composite must hold'),
])
def test_validate_refuses_malformed_runs(unit, change, message):
    doc = json.loads(sample_run().results()['run'])
    change(doc)
    with pytest.raises(benchmark.Invalid) as err:
        benchmark.validate(doc)
    assert message in str(err.value)


def test_validate_drops_what_it_does_not_know(unit):
    doc = json.loads(sample_run().results()['run'])
    doc.update(extra='x', params='not a dict', composite=None)
    out = benchmark.validate(doc)
    assert 'extra' not in out and out['params'] == {} and out['composite'] is None
    with pytest.raises(benchmark.Invalid, match='JSON object'):
        benchmark.validate([doc])


def test_fingerprint_reads_cpu_memory_kernel_and_packages(tmp_path):
    (tmp_path / 'cpuinfo').write_text('processor\t: 0\nmodel name\t: Test CPU @ 2.0GHz\n'
                                      'processor\t: 1\nmodel name\t: Test CPU @ 2.0GHz\n')
    (tmp_path / 'meminfo').write_text('MemTotal:        2048 kB\nMemFree: 1 kB\n')
    fp = benchmark.fingerprint(str(tmp_path), packages=('libc6', 'no-such-package-here'))
    assert fp['cpu-model'] == 'Test CPU @ 2.0GHz'
    assert fp['cpu-count'] == len(os.sched_getaffinity(0))
    assert fp['memory-bytes'] == 2048 * 1024
    assert fp['kernel'] == os.uname().release
    # The host's real dpkg database: libc6 is installed on every Debian/Ubuntu machine.
    assert list(fp['packages']) == ['libc6'] and fp['packages']['libc6'][0].isdigit()


def test_fingerprint_of_this_machine():
    fp = benchmark.fingerprint()
    assert fp['cpu-model'] and fp['cpu-count'] >= 1 and fp['memory-bytes'] > 2 ** 20
    assert 'python3' in fp['packages'] or 'libc6' in fp['packages']


def test_revision_without_a_juju_charm_file(tmp_path):
    assert benchmark.charm_revision(str(tmp_path)) == ''


@pytest.mark.parametrize('text', ['name: web-app\n', '"name": "web-app"\n"summary": "x"\n',
                                  "summary: x\nname: 'web-app'\n"])
def test_charm_name_from_source_and_built_metadata(unit, text):
    (unit / 'metadata.yaml').write_text(text)
    assert benchmark.Run('http').data['charm'] == 'web-app'
