"""layer:stackyard - the common layer of Stackyard charms.

Submodules (import them by name; this package imports nothing so that the
bootstrap can run before the charm's venv exists):

Before the venv (standard library only):

- ``bootstrap``: build the charm's venv from its wheelhouse (pip) and enter it.
- ``idle``: the unit state read before the venv; the idle update-status.
- ``health``: TCP, HTTP and command health checks.

In the venv:

- ``hookrun``: what every hook runs; ``actions``: what every action runs.
- ``compat``: charmhelpers fixes.
- ``services``: declare services-framework services; render and restart them.
- ``status``: one status assessment at the end of every hook.
- ``operations``: end of every hook (restart coordination, health), pause.
- ``restart``: batched, health-gated restarts over the peer relation;
  ``rollplan``: the restart plan it writes, pure functions.
- ``options``: config validation and unit-level overrides.
- ``config_flags``: ``config.changed`` / ``config.set`` / ``config.default`` flags.
- ``hookstats``: per-hook timing records; ``migrations``: run by upgrade-charm.
"""
