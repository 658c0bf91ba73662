"""ci-worker's benchmark-disk (real fio) and benchmark-cpu (real sysbench); bad params refused."""

import json
import os
import shutil
import subprocess

import pytest
import yaml

from charms.layer.stackyard import actions
from charms.layer import benchmark
from charms.layer.ci_worker import bench, contexts

CHARM = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'charms', 'ci-worker')


def defaults(name):
    return benchmark.defaults(name, CHARM)


def tool(command, package):
    if not shutil.which(command):
        if os.environ.get('CI') != 'true' and os.geteuid() != 0:
            pytest.skip('{} is not installed (apt-get install {})'.format(command, package))
        subprocess.run(['apt-get', 'install', '-y', '-q', package], check=True,
                       stdout=subprocess.DEVNULL)


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.setattr(contexts, 'workspace_dir', lambda: str(tmp_path))
    monkeypatch.setenv('JUJU_UNIT_NAME', 'ci-worker/0')
    return tmp_path


def test_actions_yaml_defaults_pass_the_checks():
    assert bench.disk_params(defaults('benchmark-disk'))['block-size'] == 1024 ** 2
    assert bench.cpu_params(defaults('benchmark-cpu'))['max-prime'] == 10000
    for text, size in (('512b', 512), ('4k', 4096), ('2MB', 2 * 1024 ** 2)):
        assert bench.disk_params(dict(defaults('benchmark-disk'), **{'block-size': text}))[
            'block-size'] == size
    spec = yaml.safe_load(open(os.path.join(CHARM, 'actions.yaml')))
    for name in ('benchmark-disk', 'benchmark-cpu'):
        assert name in benchmark.registered()
        assert os.access(os.path.join(CHARM, 'actions', name), os.X_OK)
        assert spec[name]['additionalProperties'] is False


@pytest.mark.parametrize('param, value, says', [
    ('size', '0', 'size must be a size from 1048576'),
    ('size', 'lots', 'size must be a size'),
    ('block-size', '1000', 'block-size must be a multiple of 512'),
    ('block-size', '1000b', 'block-size must be a multiple of 512'),
    ('block-size', 512, 'block-size must be a size'),
    ('block-size', '128M', 'block-size must be a size from 512'),
    ('block-size', '128M', "not '128M'"),
    ('runtime', 0, 'runtime must be a whole number from 1 to 600'),
    ('runtime', True, 'runtime must be a whole number'),
    ('iodepth', 1000, 'iodepth must be a whole number from 1 to 256'),
    ('jobs', -1, 'jobs must be'),
    ('repeats', 11, 'repeats must be'),
    ('direct', 'yes', 'direct must be true or false'),
])
def test_bad_disk_params_are_refused_naming_the_param(param, value, says):
    params = dict(defaults('benchmark-disk'), **{param: value})
    with pytest.raises(benchmark.Invalid) as err:
        bench.disk_params(params)
    assert says in str(err.value)


def test_disk_time_and_sizes_are_bounded_together():
    params = dict(defaults('benchmark-disk'), runtime=600, repeats=10)
    with pytest.raises(benchmark.Invalid, match='runtime x 4 patterns x repeats is 24000 s'):
        bench.disk_params(params)
    params = dict(defaults('benchmark-disk'), size='1M', **{'block-size': '2M'})
    with pytest.raises(benchmark.Invalid, match=r'block-size \(2097152\) must not exceed'):
        bench.disk_params(params)


@pytest.mark.parametrize('param, value', [('threads', 0), ('time', 601),
                                          ('max-prime', 10), ('repeats', '3')])
def test_bad_cpu_params_are_refused_naming_the_param(param, value):
    with pytest.raises(benchmark.Invalid, match='^{} must be'.format(param)):
        bench.cpu_params(dict(defaults('benchmark-cpu'), **{param: value}))


def test_the_action_fails_naming_the_param(workspace, monkeypatch):
    published = []
    monkeypatch.setattr(benchmark, 'publish', published.append)
    action = actions._actions['benchmark-disk']
    with pytest.raises(actions.ActionFailed, match='^iodepth must be'):
        action(dict(defaults('benchmark-disk'), iodepth=0))
    assert published == []


def test_size_must_fit_twice_in_the_workspace(workspace, monkeypatch):
    monkeypatch.setattr(shutil, 'disk_usage', lambda p: shutil._ntuple_diskusage(
        100 * 1024 ** 2, 90 * 1024 ** 2, 10 * 1024 ** 2))
    with pytest.raises(benchmark.Invalid, match='size 67108864 needs twice that free on '):
        bench.measure_disk(defaults('benchmark-disk'), str(workspace))


def test_fio_measures_the_workspace_and_cleans_up(workspace, monkeypatch):
    tool('fio', 'fio')
    published = []
    monkeypatch.setattr(benchmark, 'publish', lambda run: published.append(run.data))
    params = dict(defaults('benchmark-disk'), size='8M', runtime=1, repeats=2,
                  direct=False, **{'block-size': '64k'})
    results = actions._actions['benchmark-disk'](params)
    assert all(benchmark.valid_key(k) for k in results)
    run = json.loads(results['run'])
    assert published == [run] and run['benchmark'] == 'disk' and run['unit'] == 'ci-worker/0'
    assert set(run['metrics']) == {'{}-{}'.format(p, m) for p, _ in bench.PATTERNS
                                   for m in ('bandwidth', 'iops', 'latency')}
    for name, metric in run['metrics'].items():
        assert metric['value'] > 0 and len(metric['samples']) == 2, (name, metric)
    assert run['metrics']['seq-read-bandwidth']['units'] == 'MB/s'
    assert run['metrics']['rand-read-iops']['direction'] == 'higher'
    assert run['metrics']['rand-write-latency']['direction'] == 'lower'
    assert run['params']['block-size'] == 65536 and run['params']['directory'] == str(workspace)
    assert run['composite']['units'] == 'MB/s' and run['composite']['value'] > 0
    assert os.listdir(str(workspace)) == []       # the data file and its directory are gone


def test_fio_failure_is_reported(workspace):
    tool('fio', 'fio')
    p = bench.disk_params(dict(defaults('benchmark-disk'), size='1M', runtime=1))
    with pytest.raises(benchmark.Invalid, match='^fio read failed: '):
        bench.run_fio(str(workspace), 'read', p)     # a directory, not a file


def test_sysbench_measures_the_cpu(monkeypatch):
    tool('sysbench', 'sysbench')
    monkeypatch.setenv('JUJU_UNIT_NAME', 'ci-worker/0')
    run = bench.measure_cpu(dict(defaults('benchmark-cpu'), time=1, repeats=2)).data
    assert run['benchmark'] == 'cpu' and run['params']['threads'] == 1
    eps = run['metrics']['events-per-second']
    assert eps['units'] == 'events/s' and eps['value'] > 0 and len(eps['samples']) == 2
    assert run['metrics']['latency-p95']['units'] == 'ms'
    assert run['metrics']['latency-avg']['direction'] == 'lower'


def test_sysbench_report_without_figures_is_an_error():
    with pytest.raises(ValueError, match='events per second'):
        bench.parse_sysbench('FATAL: bad option\n')
