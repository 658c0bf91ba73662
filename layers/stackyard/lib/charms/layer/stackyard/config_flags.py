"""Config flags for reactive handlers, as layer:basic users know them.

At the start of a hook: ``config.changed`` and ``config.changed.<opt>`` for
options whose value differs from the last successful hook, ``config.set.<opt>``
for options with a truthy value, ``config.default.<opt>`` for options at their
default.  The ``changed`` flags are cleared at the end of the hook.
"""

from charmhelpers.core import hookenv
from charms.reactive import clear_flag, set_flag, toggle_flag

from charms.layer.stackyard import options


def _defaults():
    return {name: (spec or {}).get('default') for name, spec in options.declared_options().items()}


def set_flags():
    """Set the config flags for this hook."""
    config = hookenv.config()
    defaults = _defaults()
    for opt in config.keys():
        if config.changed(opt):
            set_flag('config.changed')
            set_flag('config.changed.{}'.format(opt))
        toggle_flag('config.set.{}'.format(opt), bool(config.get(opt)))
        toggle_flag('config.default.{}'.format(opt), config.get(opt) == defaults.get(opt))


def clear_flags():
    """Clear the per-hook ``config.changed`` flags."""
    config = hookenv.config()
    clear_flag('config.changed')
    for opt in config.keys():
        clear_flag('config.changed.{}'.format(opt))
