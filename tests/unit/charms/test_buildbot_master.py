"""buildbot-master charm logic: jobs parsing, master.cfg rendering, the config check."""

import grp
import os
import pathlib
import pwd
import re
import sys
import types

import jinja2
import pytest
import yaml

from charmhelpers.core import unitdata
from charms.layer.buildbot_master import api, checks, contexts, jobs, paths, services

CHARM = pathlib.Path(__file__).resolve().parents[3] / 'charms' / 'buildbot-master'
BUNDLE = pathlib.Path(__file__).resolve().parents[3] / 'bundles' / 'ci-workers.yaml'


def job(**changes):
    base = {'name': 'unit-tests', 'repo': 'https://git.test/app.git', 'labels': ['linux'],
            'steps': [{'name': 'test', 'run': 'make test'}]}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def test_a_job_parses_with_defaults():
    [parsed] = jobs.parse(yaml.safe_dump([job()]))
    assert parsed == {'name': 'unit-tests', 'repo': 'https://git.test/app.git', 'branch': None,
                      'labels': ['linux'],
                      'steps': [{'name': 'test', 'run': 'make test', 'timeout': 1200}]}
    assert jobs.parse('') == [] and jobs.parse('[]') == []
    assert contexts.jobs_reason(yaml.safe_dump([job()])) is None


@pytest.mark.parametrize('repo', ['https://git.test/a.git', 'git://git.test/a', '/srv/src/app',
                                  'file:///srv/src/app', 'git@git.test:org/app.git',
                                  'ssh://git@git.test/org/app'])
def test_good_repos(repo):
    assert jobs.check_repo(repo, 'j') == repo


@pytest.mark.parametrize('text, reason', [
    ('- name: x\n  steps: [broken', 'not valid YAML at line'),
    ('name: x', 'must be a YAML list of jobs'),
    ('- just-a-string', 'each job must be a mapping'),
    (yaml.safe_dump([job(colour='blue')]), 'unit-tests: unknown key(s) colour'),
    (yaml.safe_dump([job(name='Unit Tests')]), "job name 'Unit Tests'"),
    (yaml.safe_dump([job(repo='ftp://git.test/a')]), "repo 'ftp://git.test/a' is not a git URL"),
    (yaml.safe_dump([job(repo='https://git.test/a b')]), 'is not a git URL'),
    (yaml.safe_dump([job(repo='$(reboot)')]), 'is not a git URL'),
    (yaml.safe_dump([job(repo=None, branch='main')]), 'branch needs a repo'),
    (yaml.safe_dump([job(branch='a..b')]), 'is not a branch name'),
    (yaml.safe_dump([job(labels='linux')]), 'labels must be a list of words'),
    (yaml.safe_dump([job(labels=['a b'])]), 'labels must be a list of words'),
    (yaml.safe_dump([job(steps=[])]), 'steps must be a list of one or more'),
    (yaml.safe_dump([job(steps=['make test'])]), 'each step must be a mapping'),
    (yaml.safe_dump([job(steps=[{'name': 'x'}])]), 'step x: run must be a non-empty'),
    (yaml.safe_dump([job(steps=[{'name': 'x', 'run': 'y', 'env': {}}])]),
     'unit-tests step x: unknown key(s) env'),
    (yaml.safe_dump([job(steps=[{'name': 'x', 'run': 'y', 'timeout': -1}])]), 'timeout -1'),
    (yaml.safe_dump([job(steps=[{'name': 'x', 'run': 'y', 'timeout': '5m'}])]), 'timeout'),
    (yaml.safe_dump([job(steps=[{'name': 'x', 'run': 'y'}, {'name': 'x', 'run': 'z'}])]),
     'step name x is used twice'),
    (yaml.safe_dump([job(), job()]), 'job name unit-tests is used twice'),
])
def test_bad_jobs_are_refused_naming_the_problem(text, reason):
    with pytest.raises(jobs.Invalid) as err:
        jobs.parse(text)
    assert reason in str(err.value)
    assert reason in contexts.jobs_reason(text)


def test_assign_needs_every_label():
    workers = [{'name': 'w-0', 'labels': ['amd64', 'linux']}, {'name': 'w-1', 'labels': ['gpu']}]
    parsed = jobs.parse(yaml.safe_dump([job(), job(name='gpu', labels=['gpu', 'linux']),
                                        job(name='any', labels=None)]))
    assert [j['workers'] for j in jobs.assign(parsed, workers)] == [['w-0'], [], ['w-0', 'w-1']]


@pytest.mark.parametrize('option, value, ok', [
    ('web-port', 8010, True), ('web-port', 80, False), ('web-port', 70000, False),
    ('worker-port', 9989, True), ('worker-port', 8010, False)])
def test_port_rules(monkeypatch, option, value, ok):
    monkeypatch.setattr(contexts.hookenv, 'config', lambda: {'web-port': 8010})
    rule = contexts.web_port_reason if option == 'web-port' else contexts.worker_port_reason
    assert (rule(value) is None) == ok


# -- master.cfg ------------------------------------------------------------------------

def render(name, **context):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(CHARM / 'templates')),
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return env.get_template(name).render(context)


class Recorder:
    """Stands for a Buildbot class: keeps its arguments."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs, self.steps = args, kwargs, []

    def addStep(self, step):
        self.steps.append(step)


def fake_plugins():
    names = {'schedulers': ['ForceScheduler'], 'worker': ['Worker'],
             'steps': ['SetPropertyFromCommand', 'Git', 'ShellCommand'],
             'util': ['BuildFactory', 'BuilderConfig', 'Property']}
    plugins = types.ModuleType('buildbot.plugins')
    for module, classes in names.items():
        setattr(plugins, module, types.SimpleNamespace(
            **{c: type(c, (Recorder,), {}) for c in classes}))
    return plugins


def master_context(job_list, workers):
    return {'title': 'CI', 'url': 'http://10.0.0.5:8010/', 'web_port': 8010,
            'worker_port': 9989, 'git_cache_index': paths.WORKER_GIT_CACHE_INDEX,
            'workers': workers, 'jobs': jobs.assign(job_list, workers)}


def load_master_cfg(monkeypatch, data):
    text = render('master.cfg.j2', data_literal=repr(__import__('json').dumps(data)))
    monkeypatch.setitem(sys.modules, 'buildbot', types.ModuleType('buildbot'))
    monkeypatch.setitem(sys.modules, 'buildbot.plugins', fake_plugins())
    scope = {}
    exec(compile(text, 'master.cfg', 'exec'), scope)
    return scope['BuildmasterConfig'], text


WORKERS = [{'name': 'ci-worker-0', 'labels': ['linux'], 'executors': 2},
           {'name': 'ci-worker-1', 'labels': ['linux'], 'executors': 1}]
TRICKY = "echo '''\"$HOME\"''' \\\\ {{ x }}"


def test_master_cfg_registers_workers_with_their_passwords_and_builds_jobs(monkeypatch):
    parsed = jobs.parse(yaml.safe_dump([
        job(steps=[{'name': 'tricky', 'run': TRICKY, 'timeout': 60}]),
        job(name='gpu', labels=['gpu'], repo=None)]))
    # ci-worker-1's secret is not published yet: left out everywhere.
    data = services.config_data(master_context(parsed, WORKERS), {'ci-worker-0': 'p' * 32})
    config, text = load_master_cfg(monkeypatch, data)
    [w] = config['workers']
    assert w.args == ('ci-worker-0', 'p' * 32)
    assert w.kwargs == {'max_builds': 2, 'properties': {'labels': ['linux']}}
    assert config['protocols'] == {'pb': {'port': 'tcp:9989'}}
    assert config['www']['port'] == 'tcp:8010'
    assert config['buildbotURL'] == 'http://10.0.0.5:8010/'
    # Only the job with a worker gets a builder and the force scheduler.
    [builder] = config['builders']
    assert builder.kwargs['name'] == 'unit-tests'
    assert builder.kwargs['workernames'] == ['ci-worker-0']
    lookup, checkout, step = builder.kwargs['factory'].steps
    assert lookup.kwargs['command'][-2:] == [paths.WORKER_GIT_CACHE_INDEX,
                                             'https://git.test/app.git']
    assert checkout.kwargs['repourl'] == 'https://git.test/app.git'
    assert checkout.kwargs['mode'] == 'full' and checkout.kwargs['method'] == 'clobber'
    # The script arrives unchanged, whatever quotes it holds.
    assert step.kwargs['command'] == ['bash', '-eo', 'pipefail', '-c', TRICKY]
    assert step.kwargs['timeout'] == 60 and step.kwargs['haltOnFailure'] is True
    [force] = config['schedulers']
    assert force.kwargs == {'name': 'force', 'builderNames': ['unit-tests']}


def test_master_cfg_without_workers_has_no_builders(monkeypatch):
    data = services.config_data(master_context(jobs.parse(yaml.safe_dump([job()])), []), {})
    config, _ = load_master_cfg(monkeypatch, data)
    assert config['workers'] == [] and config['builders'] == [] and config['schedulers'] == []


def test_service_unit_template():
    unit = render('buildbot-master.service.j2', user='buildbot', group='buildbot',
                  basedir='/var/lib/buildbot-master', python=paths.PYTHON,
                  buildbot='/usr/bin/buildbot')
    assert 'ExecStart={} /usr/bin/buildbot start --nodaemon /var/lib/buildbot-master\n'.format(
        paths.PYTHON) in unit
    assert 'ExecReload=/bin/kill -HUP $MAINPID' in unit and 'User=buildbot' in unit


def test_health_checks():
    names = [c.name for c in services.health_checks({'web_port': 8010, 'worker_port': 9989})]
    assert names == ['http http://127.0.0.1:8010/', 'tcp 127.0.0.1:9989']
    assert services.health_checks({}) == []


# -- the checked config ----------------------------------------------------------------

@pytest.fixture
def kv(tmp_path, monkeypatch):
    monkeypatch.setenv('UNIT_STATE_DB', str(tmp_path / 'state.db'))
    monkeypatch.setattr(unitdata, '_KV', None)
    yield unitdata.kv()
    unitdata._KV = None


class FakeConfig(services.CheckedConfig):
    text = ''

    def render(self, context):
        return self.text

    def context(self, manager, service_name):
        return {}


@pytest.fixture
def checked(tmp_path, monkeypatch, kv):
    """A CheckedConfig on tmp files; checkconfig refuses text holding BAD."""
    target = tmp_path / 'master.cfg'
    monkeypatch.setattr(paths, 'MASTER_CFG_NEW', str(tmp_path / 'master.cfg.new'))
    seen = []

    def fake_check(path):
        seen.append(open(path).read())
        if 'BAD' in seen[-1]:
            return False, "error while parsing config file: NameError: name 'BAD'"
        return True, 'Config file is good!'
    monkeypatch.setattr(services, 'checkconfig', fake_check)
    reloads = []
    monkeypatch.setattr(services.subprocess, 'check_call', reloads.append)
    monkeypatch.setattr(services.host, 'service_running', lambda name: True)
    tmpl = FakeConfig('master.cfg.j2', str(target), owner=pwd.getpwuid(os.getuid()).pw_name,
                      group=grp.getgrgid(os.getgid()).gr_name, perms=0o640)
    return tmpl, target, seen, reloads


def test_checked_config_replaces_and_reloads(checked):
    tmpl, target, seen, reloads = checked
    tmpl.text = 'good\n'
    tmpl(None, 'buildbot-master', 'data_ready')
    assert target.read_text() == 'good\n' and oct(target.stat().st_mode & 0o777) == '0o640'
    assert seen == ['good\n']
    assert reloads == [['systemctl', 'reload', 'buildbot-master']]
    assert not os.path.exists(paths.MASTER_CFG_NEW)
    # Unchanged: not checked or reloaded again.
    tmpl(None, 'buildbot-master', 'data_ready')
    assert len(seen) == 1 and len(reloads) == 1


def test_refused_config_keeps_the_previous_one(checked):
    tmpl, target, seen, reloads = checked
    tmpl.text = 'good\n'
    tmpl(None, 'buildbot-master', 'data_ready')
    tmpl.text = 'BAD\n'
    tmpl(None, 'buildbot-master', 'data_ready')
    assert target.read_text() == 'good\n' and len(reloads) == 1
    assert not os.path.exists(paths.MASTER_CFG_NEW)
    assert services.rejected() == "error while parsing config file: NameError: name 'BAD'"
    state, message = checks.config_check()
    assert state == 'blocked' and message.startswith(
        'buildbot checkconfig refused the new master.cfg (previous one kept): error while')
    tmpl.text = 'good\n'
    tmpl(None, 'buildbot-master', 'data_ready')
    assert services.rejected() is None and checks.config_check() is None


# -- run-job through the REST client ---------------------------------------------------

class FakeApi(api.Client):
    def __init__(self, answers):
        super().__init__(8010)
        self.answers, self.asked = answers, []

    def get(self, path):
        self.asked.append(path)
        answer = self.answers[path]
        return answer.pop(0) if isinstance(answer, list) else answer


def test_wait_build_polls_until_complete():
    client = FakeApi({'/builds?buildrequestid=7': [
        {'builds': []}, {'builds': [{'complete': False}]},
        {'builds': [{'complete': True, 'number': 3}]}]})
    sleeps = []
    assert client.wait_build(7, 60, clock=lambda: 0, sleep=sleeps.append)['number'] == 3
    assert len(sleeps) == 2


def test_wait_build_gives_up_after_the_timeout():
    client = FakeApi({'/builds?buildrequestid=7': {'builds': []}})
    times = iter([0, 5, 11])
    with pytest.raises(api.Error, match='not finished after 10 s .waiting for a worker'):
        client.wait_build(7, 10, clock=lambda: next(times), sleep=lambda s: None)


def test_bundle_job_parses():
    bundle = yaml.safe_load(BUNDLE.read_text())
    master = bundle['applications']['buildbot-master']
    parsed = jobs.parse(master['options']['jobs'])
    assert parsed and all(j['steps'] for j in parsed)


@pytest.mark.parametrize('lines, reason', [
    (['Configuration Errors:', 'no workers are configured', 'no builders are configured'],
     'no workers are configured; no builders are configured'),
    (['error while parsing config file:', 'Traceback (most recent call last):', '  x',
      "NameError: name 'BAD' is not defined"], "NameError: name 'BAD' is not defined"),
    ([], 'exit 1')])
def test_checkconfig_failure_reason(lines, reason):
    assert services.failure_reason(lines, 1) == reason


def test_output_strips_stream_tags_and_a_step_without_log_has_none():
    client = FakeApi({'/steps/4/logs/stdio/contents': {'logchunks': [
        {'content': 'hbash -c ...\nocollected\n'}, {'content': 'etiming pip-install 2.345\n'}]}})
    assert client.output(4) == ['bash -c ...', 'collected', 'timing pip-install 2.345']

    class NoLog(FakeApi):
        def get(self, path):
            raise api.Error('GET {}: HTTP Error 404: Not Found'.format(path))
    assert NoLog({}).output(5) == []


def test_timings_from_a_jobs_lines():
    lines = ['timing pip-install 2.345', 'Collecting requests', '  timing apt-update 0.5 ',
             'timing apt-update 1.25', 'timing bad name 3', 'timing npm-install soon',
             'xtiming node-download 1.0']
    assert api.timings(lines) == {'pip-install': 2.345, 'apt-update': 1.75}


def test_bundle_job_times_each_download_phase():
    bundle = yaml.safe_load(BUNDLE.read_text())
    [job] = jobs.parse(bundle['applications']['buildbot-master']['options']['jobs'])
    script = '\n'.join(s['run'] for s in job['steps'])
    phases = re.findall(r"TIMEFORMAT='timing ([a-z-]+) %3R'", script)
    assert phases == ['pip-install', 'apt-update', 'apt-download', 'node-download',
                      'npm-download', 'npm-install'], phases


def test_client_methods_after_steps_are_methods():
    # run-job calls these after the step logs (the module's timings() once swallowed them).
    client = FakeApi({'/workers/2': {'workers': [{'name': 'ci-worker-0'}]},
                      '/workers': {'workers': [{'name': 'b', 'connected_to': [1]},
                                               {'name': 'a', 'connected_to': []}]}})
    assert client.worker_name(2) == 'ci-worker-0'
    assert client.connected_workers() == ['b']
