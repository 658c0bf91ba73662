"""ci-worker's options: every bad value is refused with a reason naming it."""

import pathlib

import pytest
import yaml

from charms.layer.ci_worker import contexts, settings

CHARM = pathlib.Path(__file__).resolve().parents[4] / 'charms' / 'ci-worker'


def defaults():
    options = yaml.safe_load((CHARM / 'config.yaml').read_text())['options']
    return {name: spec['default'] for name, spec in options.items()}


def test_every_default_is_valid():
    values = defaults()
    assert contexts.repos_reason(values['git-cache-repos']) is None
    assert contexts.refresh_reason(values['git-cache-refresh']) is None
    assert contexts.min_free_reason(values['min-free-disk']) is None
    assert contexts.executors_reason(values['executors']) is None
    assert contexts.labels_reason(values['labels']) is None


@pytest.mark.parametrize('value, total, size', [
    ('10%', 1000, 100), ('0', 1000, 0), ('0%', 1000, 0), ('512M', 0, 512 * 1024 ** 2),
    ('2G', 0, 2 * 1024 ** 3), ('1.5GiB', 0, int(1.5 * 1024 ** 3)), ('100K', 0, 102400)])
def test_parse_size(value, total, size):
    assert settings.parse_size(value, total) == size


@pytest.mark.parametrize('value', ['-1G', '100%', '150%', 'x%', 'lots', '', None, '5 parsecs'])
def test_bad_min_free_disk(value):
    with pytest.raises(settings.Invalid):
        settings.parse_size(value, 1000)
    assert contexts.min_free_reason(value)


def test_human():
    assert settings.human(512) == '512B'
    assert settings.human(1536) == '1.5K'
    assert settings.human(300 * 1024 ** 2) == '300M'
    assert settings.human(2 * 1024 ** 3) == '2G'


@pytest.mark.parametrize('value, seconds', [
    ('1h', 3600), ('30m', 1800), (120, 120), ('7d', 604800)])
def test_parse_duration(value, seconds):
    assert settings.parse_duration(value) == seconds


@pytest.mark.parametrize('value', ['10s', '8d', 'often', True, '-1h', '1h30m'])
def test_bad_refresh(value):
    assert contexts.refresh_reason(value)


def test_executors_default_to_cpu_count():
    assert settings.executors(0, 8) == 8
    assert settings.executors(0, None) == 1
    assert settings.executors(3, 8) == 3


@pytest.mark.parametrize('value', [-1, 257, True, '2', 1.5])
def test_bad_executors(value):
    assert 'must be 0 (the CPU count) or 1 to 256' in contexts.executors_reason(value)


def test_labels_defaults_then_configured_once_each():
    release = {'ID': 'debian', 'VERSION_ID': '12'}
    assert settings.labels('', 'x86_64', release) == ['x86_64', 'debian-12']
    assert settings.labels('gpu, big x86_64', 'x86_64', release) == [
        'x86_64', 'debian-12', 'gpu', 'big']
    assert settings.labels('', 'aarch64', {}) == ['aarch64']


@pytest.mark.parametrize('value', ['a;b', 'ünï', '-lead', 'x' * 64, 'a"b'])
def test_bad_labels(value):
    assert 'label' in contexts.labels_reason(value)


@pytest.mark.parametrize('url, where', [
    ('https://git.example.test/org/app', 'git.example.test/org/app.git'),
    ('https://git.example.test/org/app.git/', 'git.example.test/org/app.git'),
    ('git://git.example.test/app.git', 'git.example.test/app.git'),
    ('ssh://git@git.example.test:2222/org/app', 'git.example.test/org/app.git'),
    ('git@git.example.test:org/app.git', 'git.example.test/org/app.git'),
    ('/srv/src/demo.git', 'local/srv/src/demo.git'),
    ('file:///srv/src/demo', 'local/srv/src/demo.git'),
])
def test_repo_dir(url, where):
    assert settings.repo_dir(url) == where


@pytest.mark.parametrize('text, reason', [
    ('- https://a.test/x\n- [broken', 'not valid YAML at line'),
    ('url: https://a.test/x', 'must be a YAML list'),
    ('- ftp://a.test/x', 'scheme ftp'),
    ('- https:///nohost', 'has no host'),
    ('- https://a.test/../etc', 'unusable path'),
    ('- https://a.test/x?y=1', 'is not a git URL'),
    ('- 42', 'is not a git URL'),
    ('- "has space"', 'is not a git URL'),
    ('- https://a.test/x\n- https://a.test/x.git', 'would share the mirror'),
    ('- relative/path', 'is not a git URL'),
])
def test_bad_repos(text, reason):
    assert reason in contexts.repos_reason(text)


def test_repos_parse():
    repos = settings.parse_repos('- https://a.test/x\n- /srv/src/demo.git\n')
    assert repos == [{'url': 'https://a.test/x', 'dir': 'a.test/x.git'},
                     {'url': '/srv/src/demo.git', 'dir': 'local/srv/src/demo.git'}]
    assert settings.parse_repos('') == [] and settings.parse_repos(None) == []


def test_packages():
    assert settings.parse_packages('npm, python3-venv npm g++') == ['g++', 'npm', 'python3-venv']
    assert settings.parse_packages('') == []
    for bad in ('Npm', 'a;b', 'x', '../etc'):
        assert 'is not a package name' in contexts.packages_reason(bad)
