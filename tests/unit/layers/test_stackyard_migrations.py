"""Upgrade migrations: ordered, recorded, and not half-applied when one fails."""

import pytest
from charmhelpers.core import unitdata

from charms.layer.stackyard import migrations


@pytest.fixture
def steps(hook_env, monkeypatch):
    monkeypatch.setattr(migrations, '_steps', {})
    ran = []
    for version in (3, 1, 2):
        migrations.step(version)(lambda v=version: ran.append(v))
    return ran


def test_runs_pending_steps_in_order_once(steps):
    kv = unitdata.kv()
    assert migrations.run_pending(kv) == [1, 2, 3]
    assert migrations.current_version(kv) == 3
    assert migrations.run_pending(kv) == []
    assert steps == [1, 2, 3]


def test_fresh_install_has_nothing_to_migrate(steps):
    kv = unitdata.kv()
    migrations.mark_current(kv)
    assert migrations.run_pending(kv) == [] and steps == []


def test_failed_step_leaves_the_recorded_version(steps, hook_env):
    def broken():
        raise RuntimeError('disk full')
    migrations.step(4)(broken)
    kv = unitdata.kv()
    kv.set(migrations.VERSION_KEY, 2)
    kv.flush()
    with pytest.raises(RuntimeError):
        migrations.run_pending(kv)
    kv.flush(save=False)          # what a failed hook does
    unitdata._KV = None
    assert migrations.current_version(unitdata.kv()) == 2


def test_two_steps_for_one_version_are_refused(steps):
    with pytest.raises(ValueError, match='two migrations for state version 1'):
        migrations.step(1)(lambda: None)
