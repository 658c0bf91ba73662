"""config.changed / config.set / config.default flags."""

import yaml
from charmhelpers.core import hookenv
from charms.reactive import is_flag_set

from charms.layer.stackyard import config_flags


class Config(dict):
    """hookenv.Config's ``changed`` against a previous dict."""

    def __init__(self, values, previous):
        super().__init__(values)
        self.previous = previous

    def changed(self, key):
        return self.previous.get(key) != self.get(key)


def test_flags(hook_env, monkeypatch):
    from charmhelpers.core import unitdata
    from charms.layer.stackyard import options
    with open(hook_env.charm_dir + '/config.yaml', 'w') as f:
        yaml.safe_dump({'options': {'port': {'type': 'int', 'default': 8080},
                                    'debug': {'type': 'boolean', 'default': False}}}, f)
    for values in ({'port': 8080, 'debug': False}, {'port': 9000, 'debug': False}):
        monkeypatch.setattr(options, '_current', {'effective': None})
        monkeypatch.setattr(hookenv, 'config', lambda key=None, values=values: values)
        config_flags.clear_flags()
        unitdata.kv().flush()
        config_flags.set_flags()
    assert is_flag_set('config.changed') and is_flag_set('config.changed.port')
    assert not is_flag_set('config.changed.debug')
    assert is_flag_set('config.set.port') and not is_flag_set('config.set.debug')
    assert is_flag_set('config.default.debug') and not is_flag_set('config.default.port')
    config_flags.clear_flags()
    assert not is_flag_set('config.changed') and not is_flag_set('config.changed.port')


def run_hook(hook_env, monkeypatch, app_config, previous):
    """One hook's config flags: set, read, cleared; the kv committed as after a good hook."""
    from charmhelpers.core import unitdata
    from charms.layer.stackyard import options
    monkeypatch.setattr(options, '_current', {'effective': None})
    cfg = Config(app_config, previous)
    monkeypatch.setattr(hookenv, 'config', lambda key=None: cfg)
    config_flags.set_flags()
    flags = {f for f in ('config.changed', 'config.changed.debug', 'config.changed.message',
                         'config.changed.unit-overrides', 'config.set.debug')
             if is_flag_set(f)}
    config_flags.clear_flags()
    unitdata.kv().flush()
    return flags


def test_changed_flags_follow_this_units_effective_config(hook_env, monkeypatch):
    """An override for one unit sets config.changed.<opt> on that unit only."""
    from charms.layer.stackyard import options
    with open(hook_env.charm_dir + '/config.yaml', 'w') as f:
        yaml.safe_dump({'options': {'debug': {'type': 'boolean', 'default': False},
                                    'message': {'type': 'string', 'default': 'hi'},
                                    'unit-overrides': {'type': 'string', 'default': ''}}}, f)
    monkeypatch.setattr(options, '_overridable', {'debug'})
    monkeypatch.setattr(options, '_rules', {})
    plain = {'debug': False, 'message': 'hi', 'unit-overrides': ''}
    override = dict(plain, **{'unit-overrides': 'test/1: {debug: true}'})
    for unit, expected in (('test/1', {'config.changed', 'config.changed.debug',
                                       'config.set.debug'}),
                           ('test/0', set())):
        monkeypatch.setattr(hookenv, 'local_unit', lambda: unit)
        monkeypatch.setattr(unitdata_module(), '_KV', None)
        db = '{}/{}.db'.format(hook_env.charm_dir, unit.replace('/', '-'))
        monkeypatch.setenv('UNIT_STATE_DB', db)
        assert 'config.changed.message' in run_hook(hook_env, monkeypatch, plain, {})
        assert run_hook(hook_env, monkeypatch, plain, plain) == set()
        assert run_hook(hook_env, monkeypatch, override, plain) == expected, unit
        # Expired or removed: the effective value changes back on that unit only.
        back = expected - {'config.set.debug'}
        assert run_hook(hook_env, monkeypatch, plain, override) == back, unit


def unitdata_module():
    from charmhelpers.core import unitdata
    return unitdata
