"""Upgrade migrations: ordered, idempotent steps run by upgrade-charm.

The layer keeps the unit's state version in its kv store.  A charm registers
each step with the version it brings state to::

    @migrations.step(2)
    def rename_keys():
        ...

On upgrade-charm every step above the recorded version runs in order.  A step
that raises fails the hook, whose kv changes are discarded, so ``juju
resolved`` retries from the recorded version: steps must be idempotent.
"""

from charmhelpers.core import hookenv, unitdata

VERSION_KEY = 'stackyard.state-version'
_steps = {}


def step(version):
    """Register a migration that brings state to ``version`` (an int >= 1)."""
    def register(fn):
        if version in _steps and _steps[version] is not fn:
            raise ValueError('two migrations for state version {}'.format(version))
        _steps[version] = fn
        return fn
    return register


def target_version():
    """The newest state version this charm knows."""
    return max(_steps) if _steps else 0


def current_version(kv=None):
    """The unit's recorded state version (a new unit starts at the newest)."""
    return (kv or unitdata.kv()).get(VERSION_KEY, 0)


def run_pending(kv=None):
    """Run every step newer than the recorded version, in order.

    :returns: the versions that ran
    """
    kv = kv or unitdata.kv()
    ran = []
    for version in sorted(v for v in _steps if v > current_version(kv)):
        hookenv.log('Running state migration {} ({})'.format(version, _steps[version].__name__))
        _steps[version]()
        kv.set(VERSION_KEY, version)
        ran.append(version)
    return ran


def mark_current(kv=None):
    """A fresh install has nothing to migrate: record the newest version."""
    kv = kv or unitdata.kv()
    if kv.get(VERSION_KEY) is None:
        kv.set(VERSION_KEY, target_version())
