"""layer:stackyard - the common layer of Stackyard charms.

Submodules (import them by name; this package imports nothing so that the
bootstrap can run before the charm's venv exists):

- ``bootstrap``: build and enter the charm's venv (standard library only).
- ``hookrun``: what every hook runs once inside the venv.
- ``services``: declare services-framework services; render and restart them.
- ``status``: one status assessment at the end of every hook.
- ``hookstats``: per-hook timing records in the unit's kv store.
- ``config_flags``: ``config.changed`` / ``config.set`` / ``config.default`` flags.
- ``compat``: fixes charmhelpers 1.2.1 needs on Python 3.10+ and on Debian.
"""
