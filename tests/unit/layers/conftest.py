"""Fixtures for the common layer's unit tests: one place patches the hook env."""

import os

import pytest


class HookEnv:
    """What a hook sees: config, calls to status-set and friends, recorded."""

    def __init__(self, charm_dir):
        self.charm_dir = str(charm_dir)
        self.config = {}
        self.hook = 'config-changed'
        self.statuses = []
        self.versions = []
        self.logs = []


@pytest.fixture(autouse=True)
def nothing_from_an_earlier_hook(monkeypatch):
    """What one test's hook did does not leak into the next."""
    from charms.layer.stackyard import restart
    # Nor what one test's leader placed (one process is one hook).
    monkeypatch.setattr(restart, '_placed_now', set())
    # Only the layer's own option rules: a built charm has its charm's rules
    # alone, while the unit suites import every charm into one process.
    from charms.layer.stackyard import options
    monkeypatch.setattr(options, '_rules', {
        o: [fn for fn in fns if fn.__module__.startswith('charms.layer.stackyard')]
        for o, fns in options._rules.items()})


@pytest.fixture
def hook_env(tmp_path, monkeypatch):
    """Patch charmhelpers' hook tools and give each test its own unit state."""
    from charmhelpers.core import hookenv, unitdata

    env = HookEnv(tmp_path / 'charm')
    os.makedirs(env.charm_dir)
    monkeypatch.setenv('CHARM_DIR', env.charm_dir)
    monkeypatch.setenv('JUJU_CHARM_DIR', env.charm_dir)
    monkeypatch.setenv('JUJU_UNIT_NAME', 'test/0')
    monkeypatch.setenv('UNIT_STATE_DB', str(tmp_path / 'unit-state.db'))
    monkeypatch.delenv('JUJU_ACTION_NAME', raising=False)
    monkeypatch.setattr(unitdata, '_KV', None)
    monkeypatch.setattr(hookenv, 'hook_name', lambda: env.hook)
    monkeypatch.setattr(hookenv, 'config', lambda key=None: env.config if key is None
                        else env.config.get(key))
    monkeypatch.setattr(hookenv, 'status_set',
                        lambda state, msg, application=False: env.statuses.append((state, msg)))
    monkeypatch.setattr(hookenv, 'application_version_set', env.versions.append)
    monkeypatch.setattr(hookenv, 'log', lambda msg, level=None: env.logs.append(msg))
    monkeypatch.setattr(hookenv, 'local_unit', lambda: 'test/0')
    yield env
    unitdata._KV = None
