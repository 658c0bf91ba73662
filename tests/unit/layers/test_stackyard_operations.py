"""What the layer does around the charm's handlers: pause/resume, the stop hook, defaults."""

import importlib.util
import os

import pytest
import yaml
from charmhelpers.core import unitdata
from charms.reactive import clear_flag, is_flag_set, set_flag

from charms.layer.stackyard import actions, operations, options, restart, services, status

LAYER = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'layers', 'stackyard')


def layer_defaults():
    with open(os.path.join(LAYER, 'config.yaml')) as f:
        return {k: v['default'] for k, v in yaml.safe_load(f)['options'].items()}


@pytest.fixture
def unit(hook_env, monkeypatch):
    """A unit of a charm with one service ``app``, alone (no peer relation).

    ``unit.running`` is what runs; ``unit.healthy`` what its health check says.
    """
    from charmhelpers.core import hookenv, host
    hook_env.config = layer_defaults()
    hook_env.running = set()
    hook_env.healthy = True
    hook_env.restarted = []
    hook_env.failed = []
    hook_env.results = []
    for attr, value in [('_checks', []), ('_ready', {'message': 'Ready'}),
                        ('_version', {'source': None}),
                        ('_idle', {'enabled': False, 'peers': False})]:
        monkeypatch.setattr(status, attr, value)
    monkeypatch.setattr(options, '_current', {'effective': None})
    # Only the layer's own rules (other tests import charms that add theirs).
    monkeypatch.setattr(options, '_rules', {o: fns for o, fns in options._rules.items()
                                            if o in layer_defaults()})
    status.check(services.service_check)
    status.check(operations.status_checks)

    class Check:
        name = 'tcp 127.0.0.1:8080'

        def spec(self):
            return {'kind': 'tcp', 'port': 8080}

        def __call__(self):
            return hook_env.healthy, 'ok' if hook_env.healthy else 'refused'
    check = Check()
    monkeypatch.setattr(services, '_factory', {'fn': lambda: [
        {'service': 'app', 'required_data': [], 'health': [check]}]})
    monkeypatch.setattr(services, 'manage_ports', lambda *a: None)
    monkeypatch.setattr(host, 'service_running', lambda name: name in hook_env.running)
    monkeypatch.setattr(host, 'service_start', lambda name: hook_env.running.add(name))
    monkeypatch.setattr(host, 'service_stop', lambda name: hook_env.running.discard(name))

    def service_restart(name):
        hook_env.restarted.append(name)
        hook_env.running.add(name)
    monkeypatch.setattr(host, 'service_restart', service_restart)
    monkeypatch.setattr(hookenv, 'relation_ids', lambda endpoint=None: [])
    monkeypatch.setattr(hookenv, 'relation_types', lambda: [])
    monkeypatch.setattr(hookenv, 'is_leader', lambda: True)
    monkeypatch.setattr(hookenv, 'charm_dir', lambda: hook_env.charm_dir)
    monkeypatch.setattr(hookenv, 'action_get', lambda key=None: {})
    monkeypatch.setattr(hookenv, 'action_set', hook_env.results.append)
    monkeypatch.setattr(hookenv, 'action_fail', hook_env.failed.append)
    monkeypatch.setattr(actions.bus, 'discover', lambda: None)
    return hook_env


def reload_kv():
    """What the next hook sees: the unit's kv store as committed."""
    unitdata._KV = None
    return unitdata.kv()


def test_a_resume_whose_checks_fail_leaves_the_unit_resumed_and_says_why(unit):
    """The services run again: the unit is not "Paused", and its handlers act again."""
    set_flag(operations.PAUSED_FLAG)
    unitdata.kv().flush()
    unit.healthy = False
    unit.config['restart-health-timeout'] = 1
    actions.main('resume')
    assert unit.running == {'app'}
    assert unit.failed and 'health checks fail' in unit.failed[0]
    reload_kv()
    assert not is_flag_set(operations.PAUSED_FLAG), 'reconfiguration would stay off'
    assert unit.statuses[-1] == (
        'blocked', 'Health check failing: app tcp 127.0.0.1:8080 (refused)')


def test_a_resume_whose_checks_pass(unit):
    set_flag(operations.PAUSED_FLAG)
    actions.main('resume')
    assert unit.running == {'app'} and not unit.failed
    reload_kv()
    assert not is_flag_set(operations.PAUSED_FLAG)
    assert unit.statuses[-1] == ('active', 'Ready')


def test_an_action_refused_changes_nothing(unit):
    """restart-services on a paused unit: refused, and the request is not kept."""
    set_flag(operations.PAUSED_FLAG)
    unitdata.kv().flush()
    actions.main('restart-services')
    assert unit.failed == ['the unit is paused; run the resume action first']
    assert reload_kv().get(restart.PENDING) is None
    assert is_flag_set(operations.PAUSED_FLAG)


def reactive_handlers():
    path = os.path.join(LAYER, 'reactive', 'stackyard.py')
    spec = importlib.util.spec_from_file_location('stackyard_reactive_handlers', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_stop_hook_does_not_start_services_after_a_config_change(unit):
    """An override expired (or config changed) since the last hook: stop still only stops."""
    handlers = reactive_handlers()
    set_flag('stackyard.packages.installed')
    clear_flag(operations.PAUSED_FLAG)
    unitdata.kv().set(handlers.APPLIED_KEY, 'the digest of an older config')
    unit.running = {'app'}
    unit.hook = 'stop'
    handlers.stop_services()
    handlers.reconfigure_services()
    operations.end_of_hook()
    assert unit.running == set() and unit.restarted == []


def test_the_stop_hook_does_not_restart_a_service_whose_turn_came(unit):
    """A restart requested earlier and not done yet is not done in stop."""
    unitdata.kv().set(restart.PENDING, {'id': 'test/0#1', 'services': ['app'],
                                        'restarted': False})
    unit.running = {'app'}
    unit.hook = 'stop'
    services.stop()
    operations.end_of_hook()
    assert unit.running == set() and unit.restarted == []


def test_the_health_timeout_default_is_config_yamls():
    """A charm whose config.yaml lacks the option (or an older one) gets the same default."""
    assert restart.settings({})[2] == layer_defaults()['restart-health-timeout']
    assert restart.settings({}) == restart.settings(layer_defaults())
    assert restart.DEFAULTS == {k: v for k, v in layer_defaults().items() if k in restart.DEFAULTS}


def test_health_is_not_judged_on_files_a_pending_restart_has_not_applied(unit, monkeypatch):
    """update-status while waiting for a slot: the checks are for the new config, so
    they are left to the restart; once released, the next hook clears a failure."""
    checked = []
    monkeypatch.setattr(operations, 'check_health', lambda wait=0: checked.append(wait))
    monkeypatch.setattr(restart, 'coordinate', lambda *a, **k: None)
    unitdata.kv().set(restart.PENDING, {'id': 'test/0#1', 'services': ['app'],
                                        'restarted': False})
    unit.hook = 'update-status'
    operations.end_of_hook()
    assert checked == []
    unitdata.kv().unset(restart.PENDING)
    unitdata.kv().set(operations.HEALTH_KEY, ['app http (refused)'])
    unit.hook = 'cluster-relation-changed'
    operations.end_of_hook()
    assert checked == [0], 'a failure shown is checked again at the next hook'
