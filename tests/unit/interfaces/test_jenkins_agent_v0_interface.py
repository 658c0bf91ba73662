"""interface:jenkins_agent_v0 (agent side): keys of both upstream masters, bad data refused."""

import os
import shutil
import sys

import pytest
from charms.reactive import is_flag_set

import iface

TOP = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'interfaces')
SECRET = 'a1' * 32


provides = iface.load('jenkins_agent_v0', 'provides')


@pytest.fixture(autouse=True)
def unit_state(tmp_path, monkeypatch):
    monkeypatch.setattr(provides.hookenv, 'model_name', lambda: 'ci')
    monkeypatch.setattr(provides.hookenv, 'local_unit', lambda: 'ci-worker/3')
    monkeypatch.setattr(provides.hookenv, 'log', lambda *a, **k: None)
    yield


class Unit:
    def __init__(self, name, data):
        self.unit_name, self.received_raw = name, data


class Relation:
    def __init__(self, units):
        self.joined_units = units
        self.to_publish_raw = {}


class Agent(provides.JenkinsAgentProvides):
    """The endpoint over fake relations (charms.reactive's own need a hook context)."""

    def __init__(self, relations):
        self._endpoint_name = 'jenkins'
        self._fake = relations

    relations = property(lambda self: self._fake)
    is_joined = property(lambda self: any(r.joined_units for r in self._fake))


def test_publishes_the_keys_of_both_generations():
    rel = Relation([Unit('jenkins/0', {})])
    Agent([rel]).publish(4, ['x86_64', 'debian-12', 'gpu'], '/srv/ws/jenkins')
    assert rel.to_publish_raw == {
        'executors': '4', 'labels': 'x86_64 debian-12 gpu', 'name': 'ci-ci-worker-3',
        'slavehost': 'ci-worker-3', 'remote_fs': '/srv/ws/jenkins'}


def test_current_master_secret_keyed_by_name():
    agent = Agent([Relation([Unit('jenkins-k8s/0', {
        'url': 'http://10.0.0.7:8080/', 'ci-ci-worker-3_secret': SECRET,
        'ci-ci-worker-4_secret': 'b2' * 32})])])
    assert agent.master() == {'url': 'http://10.0.0.7:8080', 'secret': SECRET,
                              'node': 'ci-ci-worker-3'}
    agent.manage_flags()
    assert is_flag_set('jenkins.connected') and is_flag_set('jenkins.available')


def test_classic_master_secret_and_slavehost():
    agent = Agent([Relation([Unit('jenkins/0', {
        'url': 'http://10.0.0.8:8080', 'secret': SECRET, 'username': 'admin',
        'password': 'ignored'})])])
    assert agent.master() == {'url': 'http://10.0.0.8:8080', 'secret': SECRET,
                              'node': 'ci-worker-3'}


def test_not_available_until_url_and_own_secret():
    agent = Agent([Relation([Unit('jenkins/0', {'url': 'http://10.0.0.8:8080',
                                                'other-unit_secret': SECRET})])])
    agent.manage_flags()
    assert is_flag_set('jenkins.connected') and not is_flag_set('jenkins.available')
    agent = Agent([Relation([])])
    agent.manage_flags()
    assert not is_flag_set('jenkins.connected')


@pytest.mark.parametrize('data', [
    {'url': 'ftp://10.0.0.8/', 'secret': SECRET},
    {'url': 'http://10.0.0.8:99999/', 'secret': SECRET},
    {'url': 'http:///x', 'secret': SECRET},
    {'url': 'http://10.0.0.8/ -jar evil', 'secret': SECRET},
    {'url': 'http://10.0.0.8/', 'secret': 'has space in it'},
    {'url': 'http://10.0.0.8/', 'secret': 'short'},
    {'url': 'http://10.0.0.8/', 'ci-ci-worker-3_secret': '$(reboot)xxxxxxxx'},
])
def test_bad_master_data_is_ignored(data):
    agent = Agent([Relation([Unit('jenkins/0', data)])])
    assert agent.master() is None
    agent.manage_flags()
    assert not is_flag_set('jenkins.available')


def test_a_bad_unit_does_not_hide_a_good_one():
    agent = Agent([Relation([Unit('jenkins/0', {'url': 'nope', 'secret': SECRET}),
                             Unit('jenkins/1', {'url': 'https://j.test', 'secret': SECRET})])])
    assert agent.master()['url'] == 'https://j.test'


def test_classic_interface_name_finds_the_same_endpoint_class(tmp_path, monkeypatch):
    """As in a built charm: hooks/relations/<interface>/, found by reactive's own lookup."""
    from charms.reactive import relations
    for name in ('jenkins_agent_v0', 'jenkins-slave'):
        shutil.copytree(os.path.join(TOP, name), str(tmp_path / 'hooks' / 'relations' / name))
    monkeypatch.setattr(relations.hookenv, 'charm_dir', lambda: str(tmp_path))
    monkeypatch.setattr(sys, 'path', list(sys.path))
    for module in [m for m in sys.modules if m == 'relations' or m.startswith('relations.')]:
        monkeypatch.delitem(sys.modules, module)
    classic = relations._find_relation_factory(relations._relation_module('provides',
                                                                          'jenkins-slave'))
    current = relations._find_relation_factory(relations._relation_module('provides',
                                                                          'jenkins_agent_v0'))
    assert classic is current
    assert classic.__name__ == 'JenkinsAgentProvides'
