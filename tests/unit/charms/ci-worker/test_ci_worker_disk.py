"""The disk watchdog takes the agents offline and back; cleanup removes what is old."""

import os
import time

import pytest

from charmhelpers.core import unitdata
from charms.layer.ci_worker import checks, contexts, disk, jobs, offline


@pytest.fixture(autouse=True)
def kv(tmp_path, monkeypatch):
    monkeypatch.setenv('UNIT_STATE_DB', str(tmp_path / 'state.db'))
    monkeypatch.setattr(unitdata, '_KV', None)
    yield unitdata.kv()
    unitdata._KV = None


def test_verdict_shows_the_figures():
    mib = 1024 ** 2
    message = disk.verdict('/srv/ws', 20 * mib, 256 * mib, '50M')
    assert message == ('Workspace /srv/ws: 20M free of 256M, below min-free-disk 50M; '
                       'agent offline, run the cleanup action')
    assert '10% (26M)' in disk.verdict('/srv/ws', 20 * mib, 256 * mib, '10%')
    assert disk.verdict('/srv/ws', 60 * mib, 256 * mib, '50M') is None
    assert disk.verdict('/srv/ws', 0, 256 * mib, '0') is None


def test_watch_goes_offline_and_back(monkeypatch):
    free = {'bytes': 10 * 1024 ** 2}
    monkeypatch.setattr(disk, 'usage', lambda path: (free['bytes'], 100 * 1024 ** 2))
    assert disk.watch('/ws', '50M') is True
    assert not offline.online()
    status, message = checks.disk_check()
    assert status == 'blocked' and '10M free of 100M' in message
    ctx = contexts.OnlineContext()
    assert not ctx and 'Agent offline: Workspace /ws' in ctx.missing_message
    assert disk.watch('/ws', '50M') is False           # still offline: no change
    free['bytes'] = 60 * 1024 ** 2
    assert disk.watch('/ws', '50M') is True
    assert offline.online() and checks.disk_check() is None and contexts.OnlineContext()


def test_disk_and_drain_are_separate_reasons(monkeypatch):
    monkeypatch.setattr(disk, 'usage', lambda path: (0, 100))
    offline.set_reason(offline.DRAIN, 'drained')
    assert disk.watch('/ws', '50%') is True
    monkeypatch.setattr(disk, 'usage', lambda path: (100, 100))
    assert disk.watch('/ws', '50%') is False            # back from disk, still drained
    assert offline.reasons() == {'drain': 'drained'}
    assert checks.drain_check() == ('maintenance', 'drained')
    assert offline.clear(offline.DRAIN) is True and offline.online()


def test_an_invalid_option_changes_nothing(monkeypatch):
    monkeypatch.setattr(disk, 'usage', lambda path: (0, 100))
    assert disk.watch('/ws', 'lots') is False and offline.online()


def make(path, size=10, age=0, top=None):
    """A file of ``size`` bytes; it and its dirs up to ``top`` last changed ``age`` s ago."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(b'x' * size)
    stamp = time.time() - age
    while path != top and len(path) > 1:
        os.utime(path, (stamp, stamp))
        path = os.path.dirname(path)
        if top is None:
            break


def test_cleanup_removes_old_workspaces_and_unused_mirrors(tmp_path):
    ws, git = tmp_path / 'ws', tmp_path / 'cache' / 'git'
    bb = str(ws / 'buildbot')
    make(str(ws / 'buildbot' / 'old-builder' / 'build' / 'f'), 1000, age=3 * 86400, top=bb)
    make(str(ws / 'buildbot' / 'new-builder' / 'build' / 'f'), 10, age=60, top=bb)
    make(str(ws / 'buildbot' / 'buildbot.tac'), 10, age=9 * 86400)
    make(str(ws / 'jenkins' / 'workspace' / 'job' / 'f'), 500, age=2 * 86400,
         top=str(ws / 'jenkins' / 'workspace'))
    make(str(ws / 'tmp' / 'scratch'), 5, age=86400 * 2)
    make(str(git / 'a.test' / 'keep.git' / 'HEAD'), 5)
    make(str(git / 'a.test' / 'gone.git' / 'HEAD'), 7)
    make(str(git / 'local' / 'x.git.partial' / 'HEAD'), 3)
    repos = [{'url': 'https://a.test/keep', 'dir': 'a.test/keep.git'}]
    dry = disk.cleanup(str(ws), str(git), repos, 86400, agent_running=False, dry_run=True)
    assert sorted(os.path.relpath(p, str(tmp_path)) for p in dry['removed']) == [
        'cache/git/a.test/gone.git', 'cache/git/local/x.git.partial',
        'ws/buildbot/old-builder', 'ws/jenkins/workspace/job', 'ws/tmp/scratch']
    assert dry['kept'] == 1 and dry['freed'] >= 1515
    assert (ws / 'buildbot' / 'old-builder').exists()       # dry run: nothing removed
    done = disk.cleanup(str(ws), str(git), repos, 86400, agent_running=False, dry_run=False)
    assert done['removed'] == dry['removed']
    assert not (ws / 'buildbot' / 'old-builder').exists()
    assert (ws / 'buildbot' / 'buildbot.tac').exists() and (git / 'a.test' / 'keep.git').exists()
    # max-age 0 with the agent stopped: everything; with it running, the last hour stays.
    running = disk.cleanup(str(ws), str(git), repos, 0, agent_running=True, dry_run=True)
    assert running['removed'] == [] and running['kept'] == 1
    stopped = disk.cleanup(str(ws), str(git), repos, 0, agent_running=False, dry_run=False)
    assert [os.path.basename(p) for p in stopped['removed']] == ['new-builder']


def test_wait_idle_is_bounded(monkeypatch):
    calls = []
    monkeypatch.setattr(jobs, 'job_pids', lambda unit: calls.append(unit) or ['42'])
    now = {'t': 0.0}
    busy = jobs.wait_idle(['ci-worker-buildbot'], 10, clock=lambda: now['t'],
                          sleep=lambda s: now.__setitem__('t', now['t'] + s))
    assert busy == {'ci-worker-buildbot': ['42']} and now['t'] == 10.0 and len(calls) == 6
    monkeypatch.setattr(jobs, 'job_pids', lambda unit: [])
    assert jobs.wait_idle(['ci-worker-buildbot'], 10) == {}


def test_a_failed_package_install_blocks_naming_them(kv):
    assert checks.packages_check() is None
    kv.set(checks.PACKAGES_FAILED_KEY, ['npm', 'nodejs'])
    state, message = checks.packages_check()
    assert state == 'blocked' and message.startswith('packages: installing npm nodejs failed')
