"""The unit state read before the venv: the idle update-status, the shell's peer skip."""

import http.server
import os
import threading

import pytest
from charmhelpers.core import unitdata

from charms.layer.stackyard import health, hookstats, idle


@pytest.fixture
def server():
    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header('Content-Length', '0')
            self.end_headers()

        def log_message(self, *a):
            pass
    srv = http.server.HTTPServer(('127.0.0.1', 0), Ok)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def checks_for(srv):
    return [health.HTTP('http://127.0.0.1:{}/'.format(srv.server_port)).spec(),
            health.TCP(srv.server_port).spec()]


def test_fast_path_runs_checks_and_records_timing(hook_env, server, monkeypatch):
    kv = unitdata.kv()
    kv.set('something', 1)
    kv.flush()
    idle.write_state(hook_env.charm_dir, True, checks_for(server))
    assert idle.try_fast_path(hook_env.charm_dir, 'update-status')
    unitdata._KV = None
    [rec] = hookstats.records()
    assert rec['hook'] == 'update-status' and rec['fast'] is True


@pytest.mark.parametrize('hook, eligible, expires, ok', [
    ('update-status', True, None, True),
    ('config-changed', True, None, False),
    ('update-status', False, None, False),
    ('update-status', True, 1.0, False),
])
def test_fast_path_conditions(hook_env, server, hook, eligible, expires, ok):
    idle.write_state(hook_env.charm_dir, eligible, checks_for(server), expires)
    assert idle.try_fast_path(hook_env.charm_dir, hook) is ok


def test_failing_check_falls_through(hook_env, server):
    port = server.server_port
    idle.write_state(hook_env.charm_dir, True, checks_for(server))
    server.shutdown()
    server.server_close()
    assert not idle.try_fast_path(hook_env.charm_dir, 'update-status'), port


def test_no_spec_or_a_broken_one_falls_through(hook_env):
    assert not idle.try_fast_path(hook_env.charm_dir, 'update-status')
    with open(idle.state_path(hook_env.charm_dir), 'w') as f:
        f.write('{not a spec')
    assert not idle.try_fast_path(hook_env.charm_dir, 'update-status')
    with open(idle.state_path(hook_env.charm_dir), 'wb') as f:
        f.write(b'')
    assert not idle.try_fast_path(hook_env.charm_dir, 'update-status')
    idle.write_state(hook_env.charm_dir, True, [{'kind': 'nosuch'}])
    assert not idle.try_fast_path(hook_env.charm_dir, 'update-status')
    idle.clear_state(hook_env.charm_dir)
    assert not idle.try_fast_path(hook_env.charm_dir, 'update-status')


def test_fast_hooks_leave_a_line_that_the_next_full_hook_moves_in(hook_env, server):
    import os
    idle.write_state(hook_env.charm_dir, True, checks_for(server))
    assert idle.try_fast_path(hook_env.charm_dir, 'update-status')
    assert idle.try_fast_path(hook_env.charm_dir, 'update-status')
    assert [r['fast'] for r in hookstats.records()] == [True, True]
    hookstats.record('config-changed', 1.0, 0.5, 'ok')
    assert not os.path.exists(idle.fast_log_path(hook_env.charm_dir))
    recs = hookstats.records()
    assert [(r['hook'], r.get('fast', False)) for r in recs] == [
        ('update-status', True), ('update-status', True), ('config-changed', False)]


def test_a_full_fast_log_sends_the_hook_the_full_way(hook_env, server):
    idle.write_state(hook_env.charm_dir, True, checks_for(server))
    with open(idle.fast_log_path(hook_env.charm_dir), 'w') as f:
        f.write('1.000 0.0100 update-status\n' * (idle.FAST_LOG_LIMIT // 20))
    assert not idle.try_fast_path(hook_env.charm_dir, 'update-status')
    hookstats.record('update-status', 2.0, 0.3, 'ok')
    assert idle.try_fast_path(hook_env.charm_dir, 'update-status')


def test_state_is_private(hook_env):
    import os
    import stat
    idle.write_state(hook_env.charm_dir, True, [])
    assert stat.S_IMODE(os.stat(idle.state_path(hook_env.charm_dir)).st_mode) == 0o600


TEMPLATE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'layers', 'stackyard',
                        'hooks', 'hook.template')


def built_hooks(charm, *names):
    """``charm/hooks`` as charm build writes it: the template per hook, the Python entry."""
    import shutil
    hooks = charm / 'hooks'
    hooks.mkdir(parents=True, exist_ok=True)
    with open(TEMPLATE) as f:
        template = f.read()
    for name in names:
        (hooks / name).write_text(template.format(name))
        (hooks / name).chmod(0o755)
    shutil.copy(os.path.join(os.path.dirname(TEMPLATE), 'stackyard-hook.py'),
                str(hooks / 'stackyard-hook.py'))
    lib = os.path.join(os.path.dirname(idle.__file__), '..', '..', '..')
    if not (charm / 'lib').exists():
        os.symlink(os.path.abspath(lib), str(charm / 'lib'))


def run_hook(charm, name, **env):
    import subprocess
    base = {'PATH': '/usr/bin:/bin', 'JUJU_CHARM_DIR': str(charm), 'JUJU_HOOK_NAME': name,
            'UNIT_STATE_DB': os.environ['UNIT_STATE_DB']}
    return subprocess.run([str(charm / 'hooks' / name)], env=dict(base, **env),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_the_real_hook_takes_the_fast_path_under_its_shebang(hook_env, server, tmp_path):
    """hooks/update-status as charm build writes it, run through its own ``#!`` line."""
    with open(os.path.join(os.path.dirname(TEMPLATE), 'stackyard-hook.py')) as f:
        interpreter = f.readline()[2:].split()[0]
    if not os.path.exists(interpreter):
        pytest.skip('{} is not on this machine'.format(interpreter))
    charm = tmp_path / 'built'
    built_hooks(charm, 'update-status')
    kv = unitdata.kv()
    kv.set('something', 1)
    kv.flush()
    idle.write_state(str(charm), True, checks_for(server))
    # No venv exists: only the fast path can make this exit 0 without building one.
    proc = run_hook(charm, 'update-status')
    assert proc.returncode == 0 and proc.stderr == b'', proc.stderr
    assert not (charm / '.venv').exists()
    [rec] = idle.take_fast_records(str(charm))
    assert rec['fast'] is True and rec['hook'] == 'update-status'


def test_the_state_is_one_versioned_document(hook_env):
    """Line 1 for the shell, then every key as JSON; another version is not read."""
    import json
    waiting = {'web/3': ['web/3#2', 'web/3#1'], 'web/2': ['web/2#1', '']}
    state = idle.write_state(hook_env.charm_dir, True, [{'kind': 'tcp', 'port': 1}], 5.0,
                             'cluster-relation-changed', waiting)
    with open(idle.state_path(hook_env.charm_dir)) as f:
        line, body = f.read().splitlines()
    assert json.loads(body) == state == idle.read_state(hook_env.charm_dir)
    assert sorted(state) == ['checks', 'eligible', 'expires_at', 'peer_hook', 'version',
                             'waiting_for', 'written_at']
    # An override due to expire: the shell may skip nothing (it cannot tell the time).
    assert line == '2 -' and state['peer_hook'] is None
    state = idle.write_state(hook_env.charm_dir, False, [], None,
                             'cluster-relation-changed', waiting)
    assert state['waiting_for'] == waiting
    with open(idle.state_path(hook_env.charm_dir)) as f:
        assert f.readline() == '2 cluster-relation-changed web/2=web/2#1= web/3=web/3#2=web/3#1\n'
    # A word the shell could not split: it may skip nothing.
    idle.write_state(hook_env.charm_dir, False, [], None, 'cluster-relation-changed',
                     {'web/3': ['web/3#2', 'a=b']})
    with open(idle.state_path(hook_env.charm_dir)) as f:
        assert f.readline() == '2 -\n'
    with open(idle.state_path(hook_env.charm_dir), 'w') as f:
        f.write('3 -\n' + json.dumps(dict(state, version=3)) + '\n')
    assert idle.read_state(hook_env.charm_dir) is None


def test_the_hook_template_survives_charm_builds_substitution():
    """charm build formats the template with the hook's name: it must hold no braces."""
    import subprocess
    with open(TEMPLATE) as f:
        text = f.read()
    assert text.format('install') == text
    subprocess.run(['bash', '-n', TEMPLATE], check=True)


SHELL_CASES = [
    # (state's peer hook, units waited for, version, hook, remote unit, the shell skips it)
    ('cluster-relation-changed', {'web/0': ['web/0#2', 'web/0#1']}, 2,
     'cluster-relation-changed', 'web/2', True),
    ('cluster-relation-changed', {}, 2, 'cluster-relation-changed', 'web/2', True),
    ('cluster-relation-changed', {'web/0': ['web/0#2', 'web/0#1']}, 2,
     'cluster-relation-changed', 'web/0', True),    # its done id is unchanged (it halted, say)
    ('cluster-relation-changed', {'web/0': ['web/0#2', '']}, 2,
     'cluster-relation-changed', 'web/0', False),   # web/0#1 done: not what the state said
    ('cluster-relation-changed', {'web/0': ['web/0#1', '']}, 2,
     'cluster-relation-changed', 'web/0', False),   # the entry is done: the turn came
    ('cluster-relation-changed', {'web/0': ['web/0#2', 'web/0#1']}, 2,
     'cluster-relation-changed', '', False),  # app
    ('cluster-relation-changed', {}, 2, 'website-relation-changed', 'web/2', False),
    ('cluster-relation-changed', {}, 2, 'update-status', 'web/2', False),
    (None, {}, 2, 'cluster-relation-changed', 'web/2', False),   # leader, turn came, ...
    ('cluster-relation-changed', {}, 3, 'cluster-relation-changed', 'web/2', False),
]


def fake_relation_get(tmp_path, done):
    """A ``relation-get`` on PATH answering ``done[unit]`` for the done key (a missing
    unit fails, as a tool that cannot answer)."""
    import json
    bin_dir = tmp_path / 'tools'
    bin_dir.mkdir(exist_ok=True)
    tool = bin_dir / 'relation-get'
    tool.write_text('#!/usr/bin/python3\nimport sys\ndone = {}\n'
                    'assert sys.argv[1] == "stackyard-restart-done", sys.argv\n'
                    'sys.exit(print(done[sys.argv[2]]) if sys.argv[2] in done else 1)\n'
                    .format(json.dumps(done)))
    tool.chmod(0o755)
    return '{}:/usr/bin:/bin'.format(bin_dir)


@pytest.mark.parametrize('peer_hook, waiting, version, hook, remote, skips', SHELL_CASES)
def test_the_hooks_shell_skips_what_the_state_allows(
        hook_env, tmp_path, monkeypatch, peer_hook, waiting, version, hook, remote, skips):
    """The shell part of the hook, as charm build writes it, against a written state."""
    charm = tmp_path / 'built'
    built_hooks(charm, hook)
    # A Python entry that only says it ran: whatever the shell does not skip.
    (charm / 'hooks' / 'stackyard-hook.py').write_text('print("python")\n')
    monkeypatch.setattr(idle, 'VERSION', version)
    idle.write_state(str(charm), False, [], None, peer_hook, waiting)
    path = fake_relation_get(tmp_path, {'web/0': 'web/0#1'})
    proc = run_hook(charm, hook, JUJU_REMOTE_UNIT=remote, JUJU_REMOTE_APP='web', PATH=path)
    assert proc.returncode == 0 and proc.stderr == b'', proc.stderr
    assert (proc.stdout == b'') is skips, proc.stdout
    records = idle.take_fast_records(str(charm))
    assert [r['hook'] for r in records] == ([hook] if skips else [])
    if skips:
        assert 0 <= records[0]['duration'] < 1


def test_only_the_last_waited_unit_to_finish_runs_the_full_hook(hook_env, tmp_path):
    """A batch of three finishing one by one: two skipped, the third one's change runs."""
    charm = tmp_path / 'built'
    built_hooks(charm, 'cluster-relation-changed')
    (charm / 'hooks' / 'stackyard-hook.py').write_text('print("python")\n')
    idle.write_state(str(charm), False, [], None, 'cluster-relation-changed', {
        'web/1': ['web/1#2', 'web/1#1'], 'web/2': ['web/2#2', 'web/2#1'],
        'web/3': ['web/3#2', 'web/3#1']})
    done = {'web/1': 'web/1#1', 'web/2': 'web/2#1', 'web/3': 'web/3#1'}

    def change(unit, now):
        done[unit] = now
        return run_hook(charm, 'cluster-relation-changed', JUJU_REMOTE_UNIT=unit,
                        PATH=fake_relation_get(tmp_path, done)).stdout
    assert change('web/2', 'web/2#2') == b''
    assert change('web/2', 'web/2#2') == b'', 'seen once, still skipped'
    assert change('web/1', 'web/1#1') == b'', 'halted: its done id is unchanged'
    assert change('web/1', 'web/1#2') == b''
    assert change('web/3', 'web/3#2') == b'python\n', 'the last one: its turn came'
    del done['web/3']
    assert change('web/3', 'web/3#2') == b'python\n', 'relation-get failed: the full hook'
    idle.clear_state(str(charm))
    assert not (charm / idle.SEEN_FILE).exists(), 'a full hook forgets what the shell saw'


def test_a_full_hook_start_removes_the_state(hook_env, tmp_path):
    charm = tmp_path / 'built'
    built_hooks(charm, 'cluster-relation-changed')
    (charm / 'hooks' / 'stackyard-hook.py').write_text('print("python")\n')
    idle.write_state(str(charm), True, [], None, "cluster-relation-changed", {})
    idle.clear_state(str(charm))
    proc = run_hook(charm, 'cluster-relation-changed', JUJU_REMOTE_UNIT='web/2')
    assert proc.stdout == b'python\n'
    idle.clear_state(str(charm))    # none there: fine too


def test_the_template_checks_the_state_version_the_module_writes():
    with open(TEMPLATE) as f:
        assert '[ "$version" = {} ]'.format(idle.VERSION) in f.read()


@pytest.mark.parametrize('leader, allowed, pending, turn, paused, expected', [
    (False, True, None, None, False, ('cluster-relation-changed', {})),
    (True, True, None, None, False, (None, {})),             # the leader places requests
    (False, False, None, None, False, (None, {})),           # the charm did not allow it
    (False, True, False, (None, {}), False, ('cluster-relation-changed', {})),  # unplaced
    (False, True, False, (4, {'web/0': 'web/0#2'}), False,
     ('cluster-relation-changed', {'web/0': ['web/0#2', 'web/0#1']})),
    (False, True, False, (4, {}), False, (None, {})),        # its turn came
    (False, True, True, None, False, (None, {})),            # restarted, not released
    (False, True, None, None, True, (None, {})),             # paused
])
def test_the_state_lets_the_shell_skip_only_a_settled_minions_peer_changes(
        hook_env, monkeypatch, leader, allowed, pending, turn, paused, expected):
    from charms.layer.stackyard import operations, options, restart, services, status
    monkeypatch.setattr(restart, 'peer_relation', lambda: 'cluster:0')
    monkeypatch.setattr(operations.hookenv, 'is_leader', lambda: leader)
    monkeypatch.setattr(restart, 'my_turn', lambda rid, request_id: turn)
    monkeypatch.setattr(restart, 'read_unit', lambda rid, unit: {'done': unit + '#1'})
    monkeypatch.setattr(services, 'health_checks', lambda: {})
    monkeypatch.setattr(options, 'current', lambda: type('E', (), {
        'valid': True, 'expires_at': None})())
    monkeypatch.setattr(operations, 'paused', lambda: paused)
    monkeypatch.setattr(status, '_idle', {'enabled': True, 'peers': allowed})
    kv = unitdata.kv()
    kv.set(status.LAST_KEY, [status.ACTIVE, 'Ready'])
    if pending is not None:
        kv.set(restart.PENDING, {'id': 'test/0#1', 'services': ['app'], 'restarted': pending})
    operations.write_state()
    state = idle.read_state(hook_env.charm_dir)
    assert (state['peer_hook'], state['waiting_for']) == expected
    assert state['eligible'] is (pending is None and not paused)
