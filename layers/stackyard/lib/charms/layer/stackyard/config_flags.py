"""Config flags for reactive handlers, as layer:basic users know them.

From this unit's effective config (:func:`options.config`: the application
config with its ``unit-overrides`` entry), as templates see it, at the start
of a hook: ``config.changed`` and ``config.changed.<opt>`` for options whose
value differs from the last successful hook (``unit-overrides`` itself sets
none: an override changes the options it names, on its unit only),
``config.set.<opt>`` for options with a truthy value, ``config.default.<opt>``
for options at their default.  The ``changed`` flags are cleared at the end of
the hook.
"""

from charmhelpers.core import hookenv, unitdata
from charms.reactive import clear_flag, set_flag, toggle_flag

from charms.layer.stackyard import options

# The effective config the flags were last set from (kept only when the hook succeeds).
SEEN_KEY = 'stackyard.config-flags.seen'


def _defaults():
    return {name: (spec or {}).get('default') for name, spec in options.declared_options().items()}


def set_flags():
    """Set the config flags for this hook."""
    kv = unitdata.kv()
    config, seen = options.config(), kv.get(SEEN_KEY)
    defaults = _defaults()
    for opt, value in config.items():
        if opt != options.OVERRIDES and (seen is None or seen.get(opt) != value):
            set_flag('config.changed')
            set_flag('config.changed.{}'.format(opt))
        toggle_flag('config.set.{}'.format(opt), bool(value))
        toggle_flag('config.default.{}'.format(opt), value == defaults.get(opt))
    kv.set(SEEN_KEY, config)


def clear_flags():
    """Clear the per-hook ``config.changed`` flags."""
    config = hookenv.config()
    clear_flag('config.changed')
    for opt in config.keys():
        clear_flag('config.changed.{}'.format(opt))
