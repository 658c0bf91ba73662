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
    with open(hook_env.charm_dir + '/config.yaml', 'w') as f:
        yaml.safe_dump({'options': {'port': {'type': 'int', 'default': 8080},
                                    'debug': {'type': 'boolean', 'default': False}}}, f)
    cfg = Config({'port': 9000, 'debug': False}, {'port': 8080, 'debug': False})
    monkeypatch.setattr(hookenv, 'config', lambda key=None: cfg)
    config_flags.set_flags()
    assert is_flag_set('config.changed') and is_flag_set('config.changed.port')
    assert not is_flag_set('config.changed.debug')
    assert is_flag_set('config.set.port') and not is_flag_set('config.set.debug')
    assert is_flag_set('config.default.debug') and not is_flag_set('config.default.port')
    config_flags.clear_flags()
    assert not is_flag_set('config.changed') and not is_flag_set('config.changed.port')
