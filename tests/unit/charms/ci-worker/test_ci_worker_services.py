"""ci-worker's service definitions: an agent per relation, offline means not ready."""

import pytest

from charmhelpers.core import unitdata
from charms.reactive import clear_flag, set_flag

from charms.layer.ci_worker import contexts, offline, paths, services


class Master:
    def __init__(self, found):
        self.found = found

    def master(self):
        return self.found


@pytest.fixture
def unit(tmp_path, monkeypatch):
    monkeypatch.setenv('UNIT_STATE_DB', str(tmp_path / 'state.db'))
    monkeypatch.setattr(unitdata, '_KV', None)
    endpoints = {}
    for module in (services, contexts):
        monkeypatch.setattr(module, 'endpoint_from_flag',
                            lambda flag: endpoints.get(flag.split('.')[0]))
    monkeypatch.setattr(contexts.options, 'config', lambda: {
        'git-cache-refresh': '1h', 'git-cache-repos': '', 'executors': 2, 'labels': ''})
    monkeypatch.setattr(contexts.hookenv, 'storage_list', lambda name: [])
    monkeypatch.setattr(services.os.path, 'exists', lambda path: True)
    for flag in ('buildbot.connected', 'buildbot.available', 'jenkins.connected',
                 'jenkins.available', 'jenkins-classic.connected', 'jenkins-classic.available',
                 'mirror.available'):
        clear_flag(flag)
    yield endpoints
    unitdata._KV = None


def by_name(defs):
    return {d['service']: d for d in defs}


def ready(definition):
    return all(definition['required_data'])


def test_only_the_timer_without_agent_relations(unit):
    defs = by_name(services.definitions())
    assert list(defs) == [paths.GIT_CACHE_TIMER]
    assert ready(defs[paths.GIT_CACHE_TIMER]) and defs[paths.GIT_CACHE_TIMER]['health'] == []


def test_buildbot_worker_ready_with_the_master_and_online(unit):
    set_flag('buildbot.connected')
    defs = by_name(services.definitions())
    assert not ready(defs[paths.BUILDBOT])          # connected, no password yet
    set_flag('buildbot.available')
    unit['buildbot'] = Master({'address': '10.0.0.9', 'port': 9989, 'unit': 'bb/0',
                               'worker_name': 'ci-worker-0', 'password': 'p' * 32})
    defs = by_name(services.definitions())
    assert ready(defs[paths.BUILDBOT])
    bb = defs[paths.BUILDBOT]['required_data'][0]
    assert bb['basedir'] == paths.DEFAULT_WORKSPACE + '/buildbot' and bb['executors'] == 2
    offline.set_reason(offline.DISK, 'full')
    defs = by_name(services.definitions())
    assert not ready(defs[paths.BUILDBOT])
    assert defs[paths.BUILDBOT]['required_data'][1].missing_message == 'Agent offline: full'


def test_jenkins_agent_and_mirror_health(unit):
    set_flag('jenkins.connected')
    set_flag('jenkins.available')
    unit['jenkins'] = Master({'url': 'http://j:8080', 'secret': 's' * 64, 'node': 'm-ci-0'})
    set_flag('mirror.available')

    class Mirror:
        def mirrors(self):
            return [{'address': '10.0.0.5', 'port': 80}]
    unit['mirror'] = Mirror()
    defs = by_name(services.definitions())
    assert ready(defs[paths.JENKINS])
    assert [c.name for c in defs[paths.GIT_CACHE_TIMER]['health']] == ['tcp 10.0.0.5:80']
    assert [c.name for c in defs[paths.JENKINS]['health']] == [
        'command systemctl is-active --quiet ci-worker-jenkins']
    del unit['mirror']                              # an action before endpoints existed
    assert by_name(services.definitions())[paths.GIT_CACHE_TIMER]['health'] == []


def test_classic_jenkins_master_runs_the_same_agent(unit):
    set_flag('jenkins-classic.connected')
    assert paths.JENKINS in by_name(services.definitions())
    assert not ready(by_name(services.definitions())[paths.JENKINS])   # no secret yet
    set_flag('jenkins-classic.available')
    unit['jenkins-classic'] = Master({'url': 'http://old:8080', 'secret': 's' * 64,
                                      'node': 'ci-worker-0'})
    definition = by_name(services.definitions())[paths.JENKINS]
    assert ready(definition)
    assert definition['required_data'][0]['url'] == 'http://old:8080'
