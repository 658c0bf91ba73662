"""ci-worker's rendered files: mirror config, git cache units, agent units."""

import configparser
import json
import pathlib
import subprocess
import sys

import jinja2
import pytest
import yaml

from charmhelpers.core import unitdata
from charms.layer.ci_worker import mirror_config, paths

CHARM = pathlib.Path(__file__).resolve().parents[4] / 'charms' / 'ci-worker'


def render(name, **context):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(CHARM / 'templates')),
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return env.get_template(name).render(context)


def mirror(**extra):
    info = {
        'pypi': {'type': 'pypi', 'path': '/pypi/simple/', 'url': 'http://10.0.0.5/pypi/simple/'},
        'npm': {'type': 'npm', 'path': '/npm/', 'url': 'http://10.0.0.5/npm/'},
        'debian': {'type': 'apt', 'path': '/debian/', 'url': 'http://10.0.0.5/debian/',
                   'suites': ['bookworm', 'bookworm-updates'], 'components': ['main', 'contrib'],
                   'trusted': False},
    }
    info.update(extra)
    return {'unit': 'mirror/0', 'address': '10.0.0.5', 'port': 80,
            'info': {k: v for k, v in info.items() if v is not None}}


def test_pip_conf_points_at_the_pypi_mirror():
    text = render('pip.conf.j2', **mirror_config.context(mirror()))
    parser = configparser.ConfigParser()
    parser.read_string(text)
    assert parser['global']['index-url'] == 'http://10.0.0.5/pypi/simple/'
    assert parser['global']['trusted-host'] == '10.0.0.5'


def test_npmrc_and_apt_sources():
    ctx = mirror_config.context(mirror())
    assert 'registry=http://10.0.0.5/npm/\n' in render('npmrc.j2', **ctx)
    sources = [line for line in render('ci-mirror.list.j2', **ctx).splitlines()
               if line.startswith('deb ')]
    assert sources == ['deb http://10.0.0.5/debian/ bookworm main contrib',
                       'deb http://10.0.0.5/debian/ bookworm-updates main contrib']
    trusted = dict(mirror()['info']['debian'], trusted=True, suites=['x'])
    ctx = mirror_config.context(mirror(debian=trusted))
    assert 'deb [trusted=yes] http://10.0.0.5/debian/ x main contrib' in render(
        'ci-mirror.list.j2', **ctx)


def test_mirror_info_files_for_jobs():
    ctx = mirror_config.context(mirror())
    info = yaml.safe_load(render('ci-mirror-info.yaml.j2', **ctx))
    assert info['version'] == 1 and info['host'] == '10.0.0.5'
    assert info['mirrors']['pypi']['url'] == 'http://10.0.0.5/pypi/simple/'
    assert info['mirrors']['debian']['suites'] == ['bookworm', 'bookworm-updates']
    env = render('ci-mirror-info.sh.j2', **ctx)
    out = subprocess.run(['sh', '-c', env + '\nenv'], stdout=subprocess.PIPE,
                         universal_newlines=True, check=True).stdout
    assert 'PIP_INDEX_URL=http://10.0.0.5/pypi/simple/\n' in out
    assert 'NPM_CONFIG_REGISTRY=http://10.0.0.5/npm/\n' in out
    assert 'CI_MIRROR_DEBIAN_URL=http://10.0.0.5/debian/\n' in out
    assert 'PIP_TRUSTED_HOST=10.0.0.5\n' in out


def test_a_mirror_without_npm_or_apt_drops_those_files(tmp_path, monkeypatch):
    targets = {t: str(tmp_path / pathlib.Path(t).name) for t in paths.MIRROR_FILES}
    monkeypatch.setattr(mirror_config, 'FILES', tuple(
        (s, targets[t], w) for s, t, w in mirror_config.FILES))
    monkeypatch.setattr(mirror_config, 'render_text', lambda s, c: render(s, **c))
    monkeypatch.setattr(mirror_config.host, 'write_file',
                        lambda path, data, **kw: pathlib.Path(path).write_bytes(data))
    monkeypatch.setattr(mirror_config.hookenv, 'log', lambda *a, **k: None)
    written = mirror_config.apply(mirror())
    assert sorted(written) == sorted(targets.values())
    assert mirror_config.apply(mirror()) == []          # unchanged: nothing written
    written = mirror_config.apply(mirror(npm=None, debian=None))
    assert sorted(written) == sorted([targets[paths.NPMRC], targets[paths.APT_SOURCES],
                                      targets[paths.MIRROR_INFO_YAML],
                                      targets[paths.MIRROR_INFO_SH]])
    assert not pathlib.Path(targets[paths.NPMRC]).exists()
    monkeypatch.setattr(paths, 'MIRROR_FILES', tuple(targets.values()))
    assert sorted(mirror_config.remove_all()) == sorted(
        [targets[paths.PIP_CONF], targets[paths.MIRROR_INFO_YAML], targets[paths.MIRROR_INFO_SH]])
    assert not list(tmp_path.iterdir())


def test_git_cache_units_and_env():
    ctx = {'git_cache': '/srv/ci-worker/cache/git', 'interval': 3600, 'user': 'ci',
           'group': 'ci', 'script': paths.GIT_CACHE_SCRIPT, 'config_file': paths.GIT_CACHE_CONFIG,
           'workspace': '/srv/ci-worker/workspace', 'mirror_env': paths.MIRROR_INFO_SH}
    service = render('ci-worker-git-cache.service.j2', **ctx)
    assert 'Type=oneshot' in service and 'User=ci\n' in service
    assert 'ExecStart=/usr/bin/python3 {} {}\n'.format(
        paths.GIT_CACHE_SCRIPT, paths.GIT_CACHE_CONFIG) in service
    assert 'OnUnitInactiveSec=3600s' in render('ci-worker-git-cache.timer.j2', **ctx)
    env = render('ci-worker-env.sh.j2', **ctx)
    out = subprocess.run(['sh', '-c', env.replace(paths.MIRROR_INFO_SH, '/nonexistent') +
                          '\nenv'], stdout=subprocess.PIPE, universal_newlines=True,
                         check=True).stdout
    assert 'CI_GIT_CACHE=/srv/ci-worker/cache/git\n' in out
    assert 'CI_WORKSPACE=/srv/ci-worker/workspace\n' in out


def buildbot_context():
    return {'master_address': '10.0.0.9', 'master_port': 9989, 'worker_name': 'ci-worker-0',
            'password': 'not-in-any-file-but-the-secret', 'basedir': '/srv/ws/buildbot',
            'password_file': paths.BUILDBOT_PASSWORD, 'user': 'ci', 'group': 'ci',
            'executors': 2, 'worker_bin': paths.BUILDBOT_WORKER, 'job_env': paths.JOB_ENV}


def test_buildbot_tac_is_python_and_keeps_the_password_out():
    ctx = buildbot_context()
    tac = render('buildbot.tac.j2', **ctx)
    compile(tac, 'buildbot.tac', 'exec')
    assert ctx['password'] not in tac
    assert "open(\"{}\")".format(paths.BUILDBOT_PASSWORD) in tac
    assert "Worker(\"10.0.0.9\", 9989, \"ci-worker-0\"" in tac
    assert "allow_shutdown='file'" in tac
    unit = render('ci-worker-buildbot.service.j2', **ctx)
    assert ctx['password'] not in unit
    assert 'ExecStart={} start --nodaemon /srv/ws/buildbot\n'.format(
        paths.BUILDBOT_WORKER) in unit
    assert 'User=ci\n' in unit and 'Restart=on-failure' in unit


def test_jenkins_unit_reads_the_secret_from_its_file():
    ctx = {'url': 'http://10.0.0.7:8080', 'secret': 'abc123' * 10, 'node': 'm-ci-worker-0',
           'workdir': '/srv/ws/jenkins', 'secret_file': paths.JENKINS_SECRET, 'user': 'ci',
           'group': 'ci', 'java': paths.JAVA, 'job_env': paths.JOB_ENV}
    unit = render('ci-worker-jenkins.service.j2', **ctx)
    assert ctx['secret'] not in unit
    assert ('-jar /srv/ws/jenkins/agent.jar -url http://10.0.0.7:8080/ -name m-ci-worker-0 '
            '-secret @{} -workDir /srv/ws/jenkins -webSocket'.format(paths.JENKINS_SECRET)) in unit
    assert 'http://10.0.0.7:8080/jnlpJars/agent.jar' in unit


@pytest.fixture
def kv(tmp_path, monkeypatch):
    monkeypatch.setenv('UNIT_STATE_DB', str(tmp_path / 'state.db'))
    monkeypatch.setattr(unitdata, '_KV', None)
    yield unitdata.kv()
    unitdata._KV = None


def git(*args, cwd=None):
    return subprocess.run(['git'] + list(args), cwd=cwd, check=True, stdout=subprocess.PIPE,
                          universal_newlines=True,
                          env={'GIT_AUTHOR_NAME': 't', 'GIT_AUTHOR_EMAIL': 't@t',
                               'GIT_COMMITTER_NAME': 't', 'GIT_COMMITTER_EMAIL': 't@t',
                               'HOME': str(cwd or '/tmp'), 'PATH': '/usr/bin:/bin'}).stdout


def test_git_cache_script_mirrors_then_fetches_new_commits(tmp_path):
    src = tmp_path / 'src'
    git('init', '-q', '-b', 'main', str(src))
    (src / 'a').write_text('1')
    git('add', 'a', cwd=src)
    git('commit', '-qm', 'one', cwd=src)
    first = git('rev-parse', 'HEAD', cwd=src).strip()
    root = tmp_path / 'cache' / 'git'
    config = tmp_path / 'git-cache.json'
    config.write_text(json.dumps({'root': str(root), 'status': paths.GIT_CACHE_STATUS, 'repos': [
        {'url': str(src), 'dir': 'local/src.git'},
        {'url': str(tmp_path / 'missing'), 'dir': 'local/missing.git'}]}))
    script = str(CHARM / 'files' / 'ci-worker-git-cache')
    proc = subprocess.run([sys.executable, script, str(config)], stdout=subprocess.PIPE,
                          universal_newlines=True)
    assert proc.returncode == 1
    status = json.loads((root / paths.GIT_CACHE_STATUS).read_text())
    ok, failed = status['repos']
    assert ok['ok'] and ok['head'] == first
    assert not failed['ok'] and failed['error']
    (src / 'a').write_text('2')
    git('commit', '-qam', 'two', cwd=src)
    second = git('rev-parse', 'HEAD', cwd=src).strip()
    subprocess.run([sys.executable, script, str(config)], stdout=subprocess.PIPE)
    status = json.loads((root / paths.GIT_CACHE_STATUS).read_text())
    assert status['repos'][0]['head'] == second != first
    assert git('--git-dir', str(root / 'local/src.git'), 'cat-file', '-t', second).strip() == \
        'commit'


def test_apt_update_reads_only_the_mirror_sources(monkeypatch):
    seen = []

    class Done:
        returncode, stdout = 0, 'Get:1 http://10.0.0.5/debian bookworm InRelease'

    monkeypatch.setattr(mirror_config.subprocess, 'run', lambda argv, **kw: seen.append(argv)
                        or Done())
    assert mirror_config.update_apt_lists() is True
    assert seen == [['apt-get', 'update', '-q', '-o',
                     'Dir::Etc::SourceList=' + paths.APT_SOURCES, '-o',
                     'Dir::Etc::SourceParts=/nonexistent', '-o', 'APT::Get::List-Cleanup=0']]
    Done.stdout = 'Err:1 http://10.0.0.5/debian bookworm InRelease'
    monkeypatch.setattr(mirror_config.hookenv, 'log', lambda *a, **k: None)
    assert mirror_config.update_apt_lists() is False
