"""Services glue: files rendered with owner/group/mode; restart only on change."""

import os
import subprocess
import stat

import pytest
from charmhelpers.core import hookenv, host, unitdata

from charms.layer.stackyard import options, restart, services


class Workload:
    """Stands in for systemd: records restarts and starts."""

    def __init__(self):
        self.running = False
        self.calls = []

    def restart(self, name, *a, **kw):
        self.calls.append(('restart', name))
        self.running = True

    def start(self, name, *a, **kw):
        self.calls.append(('start', name))
        self.running = True

    def stop(self, name, *a, **kw):
        self.calls.append(('stop', name))
        self.running = False


@pytest.fixture
def workload(hook_env, monkeypatch, tmp_path):
    w = Workload()
    monkeypatch.setattr(host, 'service_restart', w.restart)
    monkeypatch.setattr(host, 'service_start', w.start)
    monkeypatch.setattr(host, 'service_stop', w.stop)
    monkeypatch.setattr(host, 'service_running', lambda name: w.running)
    w.ports = []
    monkeypatch.setattr(hookenv, 'open_port', lambda p, proto='TCP': w.ports.append(('open', p)))
    monkeypatch.setattr(hookenv, 'close_port',
                        lambda p, proto='TCP': w.ports.append(('close', p)))
    monkeypatch.setattr(hookenv, 'relation_ids', lambda *a: [])  # no peers: no leader needed
    new_hook(monkeypatch)
    templates = os.path.join(hook_env.charm_dir, 'templates')
    os.makedirs(templates)
    with open(os.path.join(templates, 'app.conf.j2'), 'w') as f:
        f.write('port={{ port }}\nmessage={{ message }}\n')
    target = str(tmp_path / 'etc' / 'app.conf')
    hook_env.config.update(port=8080, message='hi', **{'restart-batch-size': 1})

    @services.declare
    def definitions():
        ctx = dict(hook_env.config)
        return [{'service': 'app', 'required_data': [ctx],
                 'data_ready': [services.Template('app.conf.j2', target, owner='root',
                                                  group='root', perms=0o640)]}]
    w.target = target
    return w


def new_hook(monkeypatch):
    """A new hook process: nothing changed yet, effective config not evaluated."""
    monkeypatch.setattr(services, '_changed', {})
    monkeypatch.setattr(options, '_current', {'effective': None})


def end_of_hook(workload, hook_env):
    """What the layer does after the handlers: coordinate requested restarts."""
    restart.coordinate(hook_env.config, {}, restart=workload.restart)


def test_renders_with_owner_group_and_mode(workload):
    services.reconfigure()
    st = os.stat(workload.target)
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert (st.st_uid, st.st_gid) == (0, 0)
    with open(workload.target) as f:
        assert f.read() == 'port=8080\nmessage=hi\n'


def test_restarts_only_when_rendered_files_change(workload, hook_env, monkeypatch):
    services.reconfigure()
    end_of_hook(workload, hook_env)
    assert workload.calls == [('start', 'app')], 'a new service is started, not restarted'
    new_hook(monkeypatch)
    services.reconfigure()
    end_of_hook(workload, hook_env)
    assert workload.calls == [('start', 'app')], 'unchanged files must not restart'
    new_hook(monkeypatch)
    hook_env.config['message'] = 'changed'
    services.reconfigure()
    end_of_hook(workload, hook_env)
    assert workload.calls == [('start', 'app'), ('restart', 'app')]
    assert [h['id'] for h in restart.history()] == ['test/0#1']


def test_deferred_when_auto_restarts_are_off(workload, hook_env, monkeypatch):
    services.reconfigure()
    hook_env.config.update({'enable-auto-restarts': False, 'message': 'changed'})
    new_hook(monkeypatch)
    services.reconfigure()
    end_of_hook(workload, hook_env)
    assert workload.calls == [('start', 'app')]
    assert list(restart.deferred()) == ['app']
    assert restart.status_check(hook_env.config) == [
        ('active', 'Services queued for restart: app')]
    restart.apply_deferred(hook_env.config)
    end_of_hook(workload, hook_env)
    assert workload.calls == [('start', 'app'), ('restart', 'app')]
    assert restart.deferred() == {}


def test_starts_a_stopped_service_without_restart(workload, monkeypatch):
    services.reconfigure()
    workload.running = False
    new_hook(monkeypatch)
    services.reconfigure()
    assert workload.calls[-1] == ('start', 'app')


def test_mode_drift_is_repaired_and_restarts(workload, monkeypatch):
    services.reconfigure()
    os.chmod(workload.target, 0o666)
    new_hook(monkeypatch)
    services.reconfigure()
    assert stat.S_IMODE(os.stat(workload.target).st_mode) == 0o640
    assert services.changed_files('app') == [workload.target]


def test_not_ready_means_waiting_and_stopped(workload, hook_env, monkeypatch):
    services.reconfigure()

    @services.declare
    def definitions():
        return [{'service': 'app', 'required_data': [{}]}]
    new_hook(monkeypatch)
    services.reconfigure()
    assert workload.calls[-1] == ('stop', 'app')
    assert services.service_check() == [('waiting', 'Waiting for dict')]


def test_stopped_service_is_blocked_by_name(workload):
    services.reconfigure()
    workload.running = False
    assert services.service_check() == [('blocked', 'Service app is not running')]


def test_ports_opened_at_start_closed_at_stop_and_moved_on_change(workload, hook_env):
    ports = {'app': [8080]}

    class Manager:
        def get_service(self, name):
            return {'service': name, 'ports': ports[name]}
    mgr = Manager()
    services.manage_ports(mgr, 'app', 'start')
    assert workload.ports == [('open', 8080)]
    services.manage_ports(mgr, 'app', 'stop')
    assert workload.ports[1:] == [('close', 8080)]
    services.manage_ports(mgr, 'app', 'start')
    ports['app'] = [9090]
    services.manage_ports(mgr, 'app', 'start')
    assert workload.ports[2:] == [('open', 8080), ('close', '8080'), ('open', 9090)]


def test_stopped_until_its_restart_slot_is_waiting_with_the_reason(workload, hook_env):
    """A planned start (a node joining its cluster in its slot) is no fault: not blocked."""
    services.reconfigure()
    workload.running = False
    restart.request(['app'], 'join the cluster of rabbit@seed', hook_env.config, force=True)
    assert services.service_check() == [
        ('waiting', 'Service app starts in its restart slot (join the cluster of rabbit@seed)')]
    # Once restarted in its slot, a stopped service is a fault again.
    pending = unitdata.kv().get(restart.PENDING)
    pending['restarted'] = True
    unitdata.kv().set(restart.PENDING, pending)
    assert services.service_check() == [('blocked', 'Service app is not running')]


class FakeApt:
    """charmhelpers.fetch's two calls: what was missing, and whether policy-rc.d was there."""

    def __init__(self, policy, installed=(), fail=False):
        self.policy, self.installed, self.fail, self.calls = policy, set(installed), fail, []

    def filter_installed_packages(self, packages):
        return [p for p in packages if p not in self.installed]

    def apt_install(self, packages, fatal=False):
        held = open(self.policy).read() if os.path.exists(self.policy) else None
        self.calls.append((list(packages), held))
        if self.fail:
            raise subprocess.CalledProcessError(100, 'apt-get')


@pytest.fixture
def apt(hook_env, monkeypatch, tmp_path):
    import sys
    import types
    import charmhelpers
    fake = FakeApt(str(tmp_path / 'policy-rc.d'), installed=['galera-4'])
    module = types.SimpleNamespace(filter_installed_packages=fake.filter_installed_packages,
                                   apt_install=fake.apt_install)
    monkeypatch.setitem(sys.modules, 'charmhelpers.fetch', module)
    monkeypatch.setattr(charmhelpers, 'fetch', module, raising=False)
    monkeypatch.setattr(services, 'POLICY_RC_D', fake.policy)
    monkeypatch.setattr(host, 'write_file', lambda path, data, perms=0o444, **kw: (
        open(path, 'wb').write(data), os.chmod(path, perms)))
    return fake


def test_packages_install_with_their_services_held_when_asked(apt):
    services.install_packages(['mariadb-server', 'galera-4'], start=False)
    assert apt.calls == [(['mariadb-server'], '#!/bin/sh\nexit 101\n')]
    assert not os.path.exists(apt.policy)        # gone after the install
    services.install_packages(['rabbitmq-server'])
    assert apt.calls[-1] == (['rabbitmq-server'], None)   # the default lets them start


def test_a_failed_install_removes_the_policy_and_keeps_one_already_there(apt):
    apt.fail = True
    with pytest.raises(subprocess.CalledProcessError):
        services.install_packages(['rabbitmq-server'], start=False)
    assert not os.path.exists(apt.policy)
    with open(apt.policy, 'w') as f:       # the operator's own: neither replaced nor removed
        f.write('#!/bin/sh\nexit 0\n')
    apt.fail = False
    services.install_packages(['rabbitmq-server'], start=False)
    assert apt.calls[-1] == (['rabbitmq-server'], '#!/bin/sh\nexit 0\n')
    assert os.path.exists(apt.policy)
    services.install_packages(['galera-4'], start=False)     # nothing missing: no apt
    assert len(apt.calls) == 2
