"""The idle fast path: taken only when nothing would change, recorded like a hook."""

import http.server
import os
import time
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
    idle.write_spec(hook_env.charm_dir, True, checks_for(server))
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
    idle.write_spec(hook_env.charm_dir, eligible, checks_for(server), expires)
    assert idle.try_fast_path(hook_env.charm_dir, hook) is ok


def test_failing_check_falls_through(hook_env, server):
    port = server.server_port
    idle.write_spec(hook_env.charm_dir, True, checks_for(server))
    server.shutdown()
    server.server_close()
    assert not idle.try_fast_path(hook_env.charm_dir, 'update-status'), port


def test_no_spec_or_a_broken_one_falls_through(hook_env):
    assert not idle.try_fast_path(hook_env.charm_dir, 'update-status')
    with open(idle.spec_path(hook_env.charm_dir), 'w') as f:
        f.write('{not a spec')
    assert not idle.try_fast_path(hook_env.charm_dir, 'update-status')
    with open(idle.spec_path(hook_env.charm_dir), 'wb') as f:
        f.write(b'')
    assert not idle.try_fast_path(hook_env.charm_dir, 'update-status')
    idle.write_spec(hook_env.charm_dir, True, [{'kind': 'nosuch'}])
    assert not idle.try_fast_path(hook_env.charm_dir, 'update-status')
    idle.clear_spec(hook_env.charm_dir)
    assert not idle.try_fast_path(hook_env.charm_dir, 'update-status')


def test_fast_hooks_leave_a_line_that_the_next_full_hook_moves_in(hook_env, server):
    import os
    idle.write_spec(hook_env.charm_dir, True, checks_for(server))
    assert idle.try_fast_path(hook_env.charm_dir, 'update-status')
    assert idle.try_fast_path(hook_env.charm_dir, 'update-status')
    assert [r['fast'] for r in hookstats.records()] == [True, True]
    hookstats.record('config-changed', 1.0, 0.5, 'ok')
    assert not os.path.exists(idle.fast_log_path(hook_env.charm_dir))
    recs = hookstats.records()
    assert [(r['hook'], r.get('fast', False)) for r in recs] == [
        ('update-status', True), ('update-status', True), ('config-changed', False)]


def test_a_full_fast_log_sends_the_hook_the_full_way(hook_env, server):
    idle.write_spec(hook_env.charm_dir, True, checks_for(server))
    with open(idle.fast_log_path(hook_env.charm_dir), 'w') as f:
        f.write('1.000 0.0100 update-status\n' * (idle.FAST_LOG_LIMIT // 20))
    assert not idle.try_fast_path(hook_env.charm_dir, 'update-status')
    hookstats.record('update-status', 2.0, 0.3, 'ok')
    assert idle.try_fast_path(hook_env.charm_dir, 'update-status')


def test_spec_is_private(hook_env):
    import os
    import stat
    idle.write_spec(hook_env.charm_dir, True, [])
    assert stat.S_IMODE(os.stat(idle.spec_path(hook_env.charm_dir)).st_mode) == 0o600


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
    idle.write_spec(str(charm), True, checks_for(server))
    # No venv exists: only the fast path can make this exit 0 without building one.
    proc = run_hook(charm, 'update-status')
    assert proc.returncode == 0 and proc.stderr == b'', proc.stderr
    assert not (charm / '.venv').exists()
    [rec] = idle.take_fast_records(str(charm))
    assert rec['fast'] is True and rec['hook'] == 'update-status'


WATCH = {'app': 'web', 'unit': 'web/1', 'roll_key': 'stackyard-restart-roll',
         'roll_seen': 'web/0@1', 'plan_key': 'stackyard-restart-plan',
         'done_key': 'stackyard-restart-done', 'echo_key': 'stackyard-restart-echo',
         'echo_sent': None, 'pending': None, 'planned': None, 'waiting_on': {}}


FAIL = object()


#: A fake relation-get: JSON with --format=json, else the one key's value as text.
RELATION_GET = """#!{python}
import json, sys
args = sys.argv[1:]
with open({calls!r}, 'a') as f:
    f.write(' '.join(args) + '\\n')
bags = {bags}
bag = json.load(open(bags)).get(args[-1], {{}}) if bags else json.loads({answer!r})
if '--format=json' in args:
    print(json.dumps(bag))
else:
    key = [a for a in args if not a.startswith('-')][0]
    print((bag or {{}}).get(key, ''))
"""


def fake_relation_get(tmp_path, monkeypatch, answer):
    """A ``relation-get`` on PATH answering ``answer`` for any unit (``FAIL``: it fails)."""
    import json
    import os
    import sys
    tools = tmp_path / 'tools'
    tools.mkdir(exist_ok=True)
    script = tools / 'relation-get'
    if answer is FAIL:
        script.write_text('#!/bin/sh\necho "ERROR permission denied" >&2\nexit 1\n')
    else:
        script.write_text(RELATION_GET.format(
            python=sys.executable, calls=str(tmp_path / 'calls'), answer=json.dumps(answer),
            bags='None'))
    script.chmod(0o755)
    monkeypatch.setenv('PATH', '{}:{}'.format(tools, os.environ['PATH']))
    return tmp_path / 'calls'


@pytest.mark.parametrize('peer, hook, remote, ok', [
    ('cluster', 'cluster-relation-changed', 'web/1', True),
    ('cluster', 'cluster-relation-changed', '', False),      # app bag, from no app
    ('cluster', 'website-relation-changed', 'probe/0', False),
    ('cluster', 'cluster-relation-joined', 'web/1', False),
    ('cluster', 'cluster-relation-departed', 'web/1', False),
    (None, 'cluster-relation-changed', 'web/1', False),       # leader, or not allowed
])
def test_peer_change_fast_path(hook_env, server, peer, hook, remote, ok):
    kv = unitdata.kv()
    kv.set('something', 1)
    kv.flush()
    idle.write_spec(hook_env.charm_dir, True, checks_for(server), peer_endpoint=peer,
                    app_watch=WATCH)
    assert idle.try_fast_path(hook_env.charm_dir, hook,
                              environ={'JUJU_REMOTE_UNIT': remote}) is ok
    if ok:
        unitdata._KV = None
        assert [r['hook'] for r in hookstats.records()] == [hook]


def test_peer_change_fast_path_needs_to_know_what_to_watch(hook_env, server):
    """A spec from an older release (no watch list) never skips a peer change."""
    idle.write_spec(hook_env.charm_dir, True, checks_for(server), peer_endpoint='cluster')
    assert not idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                                  environ={'JUJU_REMOTE_UNIT': 'web/2'})


def test_peer_change_fast_path_is_its_own_permission(hook_env, server):
    """A unit waiting for its restart slot is not idle, but may skip peer changes."""
    kv = unitdata.kv()
    kv.set('something', 1)
    kv.flush()
    idle.write_spec(hook_env.charm_dir, False, checks_for(server), peer_endpoint='cluster',
                    app_watch=dict(WATCH, pending='web/1#2', planned=3,
                                   waiting_on={'web/0': 'web/0#5'}))
    assert idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                              environ={'JUJU_REMOTE_UNIT': 'web/2'})
    assert not idle.try_fast_path(hook_env.charm_dir, 'update-status')


@pytest.mark.parametrize('done, ok, left', [
    ('web/0#4', True, ['web/0', 'web/3']),     # an older restart: still waiting
    (None, True, ['web/0', 'web/3']),          # nothing finished yet
    ('web/0#5', True, ['web/3']),              # done, but web/3 is still to come
    ('web/0#6', True, ['web/3']),              # a later one counts too
    ('{"web/0#6"', False, None),               # not an id: the full hook reads it
])
def test_a_waiting_unit_tracks_the_units_it_waits_for(
        hook_env, server, tmp_path, monkeypatch, done, ok, left):
    calls = fake_relation_get(tmp_path, monkeypatch,
                              {'stackyard-restart-done': done} if done else {})
    idle.write_spec(hook_env.charm_dir, False, checks_for(server), peer_endpoint='cluster',
                    app_watch=dict(WATCH, pending='web/1#2', planned=3,
                                   waiting_on={'web/0': 'web/0#5', 'web/3': 'web/3#1'}))
    assert idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                              environ={'JUJU_REMOTE_UNIT': 'web/0'}) is ok
    assert calls.read_text().split() == ['stackyard-restart-done', 'web/0'], \
        'one key, read as plain text'
    if left is not None:
        assert sorted(idle.read_spec(hook_env.charm_dir)['app_watch']['waiting_on']) == \
            left


def test_the_last_unit_waited_for_finishing_runs_the_full_hook(
        hook_env, server, tmp_path, monkeypatch):
    fake_relation_get(tmp_path, monkeypatch, {'stackyard-restart-done': 'web/0#5'})
    idle.write_spec(hook_env.charm_dir, False, checks_for(server), peer_endpoint='cluster',
                    app_watch=dict(WATCH, pending='web/1#2', planned=3,
                                   waiting_on={'web/0': 'web/0#5'}))
    assert not idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                                  environ={'JUJU_REMOTE_UNIT': 'web/0'})


def test_a_failing_relation_get_runs_the_full_hook(hook_env, server, tmp_path, monkeypatch):
    fake_relation_get(tmp_path, monkeypatch, FAIL)
    idle.write_spec(hook_env.charm_dir, False, checks_for(server), peer_endpoint='cluster',
                    app_watch=dict(WATCH, pending='web/1#2', planned=3,
                                   waiting_on={'web/0': 'web/0#5'}))
    assert not idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                                  environ={'JUJU_REMOTE_UNIT': 'web/0'})


@pytest.mark.parametrize('bag, ok', [
    ({'stackyard-restart-request': 'web/2#3'}, False),       # a request to place
    ({'stackyard-restart-request': 'web/2#2'}, True),        # placed already
    ({'stackyard-restart-request': 'web/2#3',
      'stackyard-restart-done': 'web/2#3'}, True),           # finished
    ({'stackyard-restart-done': 'web/2#2'}, True),           # a release: nothing to do
    ({}, True),
    (FAIL, False),
])
def test_the_leader_skips_peer_changes_with_nothing_to_place(
        hook_env, server, tmp_path, monkeypatch, bag, ok):
    fake_relation_get(tmp_path, monkeypatch, bag)
    idle.write_spec(hook_env.charm_dir, False, checks_for(server), peer_endpoint='cluster',
                    app_watch=dict(WATCH, leader=True, request_key='stackyard-restart-request',
                                   placed=[['web/2', 'web/2#2']]))
    assert idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                              environ={'JUJU_REMOTE_UNIT': 'web/2'}) is ok
    assert not idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                                  environ={'JUJU_REMOTE_UNIT': '', 'JUJU_REMOTE_APP': 'web'})


def fake_peer_tools(tmp_path, monkeypatch, bags, set_fails=False, me='web/0'):
    """relation-get answering from ``bags`` ('web' the app bag); relation-set logging."""
    import json
    import os
    import sys
    tools = tmp_path / 'tools'
    tools.mkdir(exist_ok=True)
    (tmp_path / 'bags.json').write_text(json.dumps(bags))
    get = tools / 'relation-get'
    get.write_text(RELATION_GET.format(
        python=sys.executable, calls=str(tmp_path / 'calls'), answer='null',
        bags=repr(str(tmp_path / 'bags.json'))))
    put = tools / 'relation-set'
    put.write_text('#!/bin/sh\nfor a in "$@"; do echo "$a"; done >> {}\nexit {}\n'.format(
        tmp_path / 'sets', 1 if set_fails else 0))
    members = tools / 'relation-list'
    members.write_text("#!/bin/sh\necho '{}'\n".format(
        json.dumps(sorted(u for u in bags if '/' in u and u != me))))
    for f in (get, put, members):
        f.chmod(0o755)
    monkeypatch.setenv('PATH', '{}:{}'.format(tools, os.environ['PATH']))
    return tmp_path / 'sets'


LEADER = dict(WATCH, unit='web/0', leader=True, request_key='stackyard-restart-request',
              halted_key='stackyard-restart-halted',
              batch_size=2, placed=[['web/1', 'web/1#4']])


@pytest.mark.parametrize('tail, expected', [
    ({'web/1': 'web/1#4'}, [{'web/1': 'web/1#4', 'web/2': 'web/2#3'}]),     # joins
    ({'web/1': 'web/1#3'}, [{'web/1': 'web/1#3'}, {'web/2': 'web/2#3'}]),   # web/1 done
    ({'web/1': 'web/1#4', 'web/3': 'web/3#1'},
     [{'web/1': 'web/1#4', 'web/3': 'web/3#1'}, {'web/2': 'web/2#3'}]),     # full
])
def test_the_leader_places_a_request_in_the_fast_path(
        hook_env, server, tmp_path, monkeypatch, tail, expected):
    import json
    plan = {'last': 5, 'batches': [{'n': 5, 'units': tail}]}
    sets = fake_peer_tools(tmp_path, monkeypatch, {
        'web': {'stackyard-restart-plan': json.dumps(plan)},
        'web/1': {'stackyard-restart-done': 'web/1#3'},
        'web/2': {'stackyard-restart-request': 'web/2#3'}})
    idle.write_spec(hook_env.charm_dir, True, checks_for(server), peer_endpoint='cluster',
                    app_watch=LEADER)
    assert idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                              environ={'JUJU_REMOTE_UNIT': 'web/2'})
    args = sets.read_text().splitlines()
    assert args[0] == '--app' and len(args) == 2
    key, _, value = args[1].partition('=')
    assert key == 'stackyard-restart-plan'
    assert [b['units'] for b in json.loads(value)['batches']] == expected
    assert ['web/2', 'web/2#3'] in idle.read_spec(hook_env.charm_dir)['app_watch']['placed']


def test_the_leaders_fast_path_remembers_what_it_saw_of_the_peer(
        hook_env, server, tmp_path, monkeypatch):
    """What its next config-changed uses instead of reading the bag."""
    import json
    plan = {'last': 5, 'batches': [{'n': 5, 'units': {'web/1': 'web/1#4'}}]}
    fake_peer_tools(tmp_path, monkeypatch, {
        'web': {'stackyard-restart-plan': json.dumps(plan)},
        'web/1': {'stackyard-restart-done': 'web/1#4', 'other': 'x'}})
    idle.write_spec(hook_env.charm_dir, True, checks_for(server), peer_endpoint='cluster',
                    app_watch=dict(LEADER, open=[['web/1', 'web/1#4']], halted=[],
                                   bags={'web/1': {'stackyard-restart-request': 'web/1#4'}}))
    assert idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                              environ={'JUJU_REMOTE_UNIT': 'web/1'})
    watch = idle.read_spec(hook_env.charm_dir)['app_watch']
    assert watch['bags'] == {'web/1': {'stackyard-restart-done': 'web/1#4'}}
    assert watch['open'] == []


#: A leader whose own request web/0#1 is not placed yet (it goes last).
HOLDING_BACK = dict(LEADER, pending='web/0#1', planned=None, waiting_on={},
                    placed=[['web/1', 'web/1#4']], peers=['web/1', 'web/2', 'web/3'])


@pytest.mark.parametrize('peers, size, fast, batches', [
    # web/3 may still ask: web/2 is placed here, the leader's request waits
    (['web/1', 'web/2', 'web/3'], 2, True, [{'web/1': 'web/1#4', 'web/2': 'web/2#3'}]),
    # everyone asked: the leader goes last, in a batch of its own
    (['web/1', 'web/2'], 2, True, [{'web/1': 'web/1#4', 'web/2': 'web/2#3'},
                                   {'web/0': 'web/0#1'}]),
    # everyone asked, and the leader's turn would come at once: the full hook
    (['web/1', 'web/2'], 3, False, None),
    (None, 2, False, None),                     # a spec without the list: the full hook
])
def test_a_leader_holding_its_request_back_places_it_once_everyone_asked(
        hook_env, server, tmp_path, monkeypatch, peers, size, fast, batches):
    import json
    plan = {'last': 5, 'batches': [{'n': 5, 'units': {'web/1': 'web/1#4'}}]}
    sets = fake_peer_tools(tmp_path, monkeypatch, {
        'web': {'stackyard-restart-plan': json.dumps(plan)},
        'web/1': {'stackyard-restart-request': 'web/1#4'},
        'web/2': {'stackyard-restart-request': 'web/2#3'}, 'web/3': {}})
    idle.write_spec(hook_env.charm_dir, False, checks_for(server), peer_endpoint='cluster',
                    app_watch=dict(HOLDING_BACK, peers=peers, batch_size=size,
                                   open=[['web/1', 'web/1#4']]))
    assert idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                              environ={'JUJU_REMOTE_UNIT': 'web/2'}) is fast
    assert sets.exists() is fast, 'the full hook writes the plan itself'
    if not fast:
        return
    written = json.loads(sets.read_text().splitlines()[1].partition('=')[2])
    assert [b['units'] for b in written['batches']] == batches
    watch = idle.read_spec(hook_env.charm_dir)['app_watch']
    if len(batches) == 2:      # the leader knows its place and whom it waits for
        assert watch['planned'] == 6 and watch['waiting_on'] == batches[0]
    else:
        assert watch['planned'] is None and watch['waiting_on'] == {}


def storm_bags(n, plan=None):
    """Bags of a leader web/0 and ``n`` peers that all asked for a restart."""
    import json
    bags = {'web': {'stackyard-restart-plan': json.dumps(plan or {'last': 0, 'batches': []})}}
    for i in range(1, n + 1):
        bags['web/{}'.format(i)] = {'stackyard-restart-request': 'web/{}#2'.format(i),
                                    'stackyard-restart-done': 'web/{}#1'.format(i)}
    return bags


def storm_watch(n, **extra):
    return dict(dict(LEADER, pending='web/0#2', planned=None, waiting_on={}, placed=[],
                     peers=['web/{}'.format(i) for i in range(1, n + 1)]), **extra)


def test_the_leader_places_its_own_request_with_the_last_peer_and_restarts_in_turn(
        hook_env, server, tmp_path, monkeypatch):
    """Every peer asked: no full hook to place the leader, and it restarts fast too."""
    import json
    plan = {'last': 1, 'batches': [{'n': 1, 'units': {'web/2': 'web/2#2', 'web/3': 'web/3#2'}}]}
    sets = fake_peer_tools(tmp_path, monkeypatch, storm_bags(3, plan))
    idle.write_spec(hook_env.charm_dir, False, checks_for(server), peer_endpoint='cluster',
                    app_watch=storm_watch(3, early_restart=restart_commands(tmp_path),
                                          placed=[['web/2', 'web/2#2'], ['web/3', 'web/3#2']],
                                          open=[['web/2', 'web/2#2'], ['web/3', 'web/3#2']]))
    assert idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                              environ={'JUJU_REMOTE_UNIT': 'web/1'})
    written = json.loads(sets.read_text().splitlines()[1].partition('=')[2])
    assert [b['units'] for b in written['batches']] == [
        {'web/2': 'web/2#2', 'web/3': 'web/3#2'}, {'web/1': 'web/1#2', 'web/0': 'web/0#2'}]
    watch = idle.read_spec(hook_env.charm_dir)['app_watch']
    assert watch['planned'] == 2 and watch['waiting_on'] == {'web/2': 'web/2#2',
                                                             'web/3': 'web/3#2'}
    bags = storm_bags(3, plan)
    bags['web/2'].update({'stackyard-restart-done': 'web/2#2', 'stackyard-restart-request': ''})
    (tmp_path / 'bags.json').write_text(json.dumps(bags))
    assert idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                              environ={'JUJU_REMOTE_UNIT': 'web/2'})
    assert restarts(tmp_path) == []
    # The last unit of the batch before: the leader restarts (with its
    # batch-mate web/1), and the full hook takes over.
    bags['web/3'].update({'stackyard-restart-done': 'web/3#2', 'stackyard-restart-request': ''})
    (tmp_path / 'bags.json').write_text(json.dumps(bags))
    assert not idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                                  environ={'JUJU_REMOTE_UNIT': 'web/3'})
    assert restarts(tmp_path) == ['app']


def test_entries_of_a_finished_roll_do_not_count_as_asked(
        hook_env, server, tmp_path, monkeypatch):
    """The plan still lists the last roll's units: the leader places new requests fast."""
    import json
    old = {'last': 3, 'batches': [{'n': 3, 'units': {'web/1': 'web/1#1', 'web/2': 'web/2#1'}}]}
    sets = fake_peer_tools(tmp_path, monkeypatch, storm_bags(2, old))
    idle.write_spec(hook_env.charm_dir, False, checks_for(server), peer_endpoint='cluster',
                    app_watch=storm_watch(2, placed=[['web/1', 'web/1#1'], ['web/2', 'web/2#1']],
                                          open=[]))
    assert idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                              environ={'JUJU_REMOTE_UNIT': 'web/1'})
    written = json.loads(sets.read_text().splitlines()[1].partition('=')[2])
    assert written['batches'][-1]['units'] == {'web/1': 'web/1#2'}
    assert idle.read_spec(hook_env.charm_dir)['app_watch']['planned'] is None, \
        'web/2 has not asked yet: the leader still waits'


def test_the_leader_knows_which_entries_ended_without_reading_their_bags(
        hook_env, server, tmp_path, monkeypatch):
    """A release seen in its own hook closes the batch; placements read no other bag."""
    import json
    plan = {'last': 1, 'batches': [{'n': 1, 'units': {'web/1': 'web/1#2'}}]}
    sets = fake_peer_tools(tmp_path, monkeypatch, storm_bags(3, plan))
    calls = []
    real = idle._relation_get
    monkeypatch.setattr(idle, '_relation_get', lambda *a: calls.append(a[-1]) or real(*a))
    idle.write_spec(hook_env.charm_dir, False, checks_for(server), peer_endpoint='cluster',
                    app_watch=storm_watch(3, batch_size=2, placed=[['web/1', 'web/1#2']],
                                          open=[['web/1', 'web/1#2']], pending=None))

    def hook(unit):
        return idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                                  environ={'JUJU_REMOTE_UNIT': unit})
    assert hook('web/2') and calls == ['web/2', 'web'], 'the last batch is known open'
    written = json.loads(sets.read_text().splitlines()[-1].partition('=')[2])
    assert written['batches'][-1]['units'] == {'web/1': 'web/1#2', 'web/2': 'web/2#2'}
    # web/1 finishes: its hook forgets the entry, nothing else happens.
    bags = storm_bags(3, written)
    bags['web/1'].update({'stackyard-restart-done': 'web/1#2', 'stackyard-restart-request': ''})
    (tmp_path / 'bags.json').write_text(json.dumps(bags))
    del calls[:]
    assert hook('web/1') and calls == ['web/1']
    assert idle.read_spec(hook_env.charm_dir)['app_watch']['open'] == [['web/2', 'web/2#2']]
    # A request now opens a new batch: the last one closed when web/1 finished.
    assert hook('web/3') and calls == ['web/1', 'web/3', 'web']
    written = json.loads(sets.read_text().splitlines()[-1].partition('=')[2])
    assert [b['units'] for b in written['batches']][-1] == {'web/3': 'web/3#2'}


def test_a_halted_entry_closes_its_batch_but_is_never_dropped(
        hook_env, server, tmp_path, monkeypatch):
    """A new request opens a batch after it, and the plan keeps the halted one first."""
    import json
    plan = {'last': 2, 'batches': [{'n': 1, 'units': {'web/3': 'web/3#1'}},
                                   {'n': 2, 'units': {'web/1': 'web/1#2'}}]}
    sets = fake_peer_tools(tmp_path, monkeypatch, {
        'web': {'stackyard-restart-plan': json.dumps(plan)},
        'web/1': {'stackyard-restart-request': 'web/1#2', 'stackyard-restart-halted': 'web/1#2'},
        'web/2': {'stackyard-restart-request': 'web/2#5'}})
    idle.write_spec(hook_env.charm_dir, False, checks_for(server), peer_endpoint='cluster',
                    app_watch=storm_watch(3, pending=None, placed=[['web/1', 'web/1#2'],
                                                                   ['web/3', 'web/3#1']],
                                          open=[['web/1', 'web/1#2']]))
    assert idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                              environ={'JUJU_REMOTE_UNIT': 'web/1'})
    watch = idle.read_spec(hook_env.charm_dir)['app_watch']
    assert watch['open'] == watch['halted'] == [['web/1', 'web/1#2']]
    assert idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                              environ={'JUJU_REMOTE_UNIT': 'web/2'})
    written = json.loads(sets.read_text().splitlines()[-1].partition('=')[2])
    # web/3's finished batch is dropped; web/1's halted one stays and holds web/2 back.
    assert [b['units'] for b in written['batches']] == [{'web/1': 'web/1#2'},
                                                        {'web/2': 'web/2#5'}]


def test_a_failing_read_of_another_unit_leaves_the_placing_to_the_full_hook(
        hook_env, server, tmp_path, monkeypatch):
    plan = {'last': 1, 'batches': [{'n': 1, 'units': {'web/2': 'web/2#2'}}]}
    sets = fake_peer_tools(tmp_path, monkeypatch, storm_bags(3, plan))
    real = idle._relation_get
    monkeypatch.setattr(idle, '_relation_get',
                        lambda *a: idle._FAILED if a[-1] == 'web/2' else real(*a))
    idle.write_spec(hook_env.charm_dir, False, checks_for(server), peer_endpoint='cluster',
                    app_watch=storm_watch(3))
    assert not idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                                  environ={'JUJU_REMOTE_UNIT': 'web/1'})
    assert not sets.exists()


@pytest.mark.parametrize('bag, fast', [
    ({'stackyard-restart-done': 'web/1#4'}, False),          # a planned unit finished
    ({'stackyard-restart-halted': 'web/1#4',
      'stackyard-restart-request': 'web/1#4'}, False),       # or halted
    ({'stackyard-restart-echo': 'web/0#1@12.5'}, False),     # the answer to its echo
    ({'stackyard-restart-echo': 'web/0#0@12.5'}, True),      # an old answer
    ({'stackyard-restart-done': 'web/1#2'}, True),           # an old restart
    ({'stackyard-restart-request': 'web/1#4'}, True),        # nothing new
])
def test_a_leader_holding_its_request_back_wakes_when_it_may_go(
        hook_env, server, tmp_path, monkeypatch, bag, fast):
    fake_peer_tools(tmp_path, monkeypatch, {'web': {}, 'web/1': bag})
    idle.write_spec(hook_env.charm_dir, False, checks_for(server), peer_endpoint='cluster',
                    app_watch=HOLDING_BACK)
    assert idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                              environ={'JUJU_REMOTE_UNIT': 'web/1'}) is fast


def test_an_echo_peer_that_joins_the_leaders_batch_hands_the_echo_on(
        hook_env, server, tmp_path, monkeypatch):
    import json
    plan = {'last': 5, 'batches': [{'n': 5, 'units': {'web/0': 'web/0#1'}}]}
    sets = fake_peer_tools(tmp_path, monkeypatch, {
        'web': {'stackyard-restart-plan': json.dumps(plan),
                'stackyard-restart-echo': json.dumps({'by': 'web/2', 'token': 't'})},
        'web/2': {'stackyard-restart-request': 'web/2#3'}, 'web/3': {}, 'web/1': {}})
    watch = dict(LEADER, pending='web/0#1', planned=5, waiting_on={},
                 placed=[['web/0', 'web/0#1']])
    idle.write_spec(hook_env.charm_dir, False, checks_for(server), peer_endpoint='cluster',
                    app_watch=watch)
    assert idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                              environ={'JUJU_REMOTE_UNIT': 'web/2'})
    args = sets.read_text().splitlines()
    echo = json.loads(args[1].partition('=')[2])
    assert args[0] == '--app' and echo == {'by': 'web/3', 'token': 't'}
    assert json.loads(args[2].partition('=')[2])['batches'][0]['units'] == {
        'web/0': 'web/0#1', 'web/2': 'web/2#3'}


def test_a_holding_leader_still_places_requests_fast(hook_env, server, tmp_path, monkeypatch):
    """Its turn came, but a new batch-mate is placed first; anything else runs the full hook."""
    import json
    plan = {'last': 5, 'batches': [{'n': 5, 'units': {'web/0': 'web/0#1'}}]}
    sets = fake_peer_tools(tmp_path, monkeypatch, {
        'web': {'stackyard-restart-plan': json.dumps(plan)},
        'web/2': {'stackyard-restart-request': 'web/2#3'}, 'web/3': {}})
    watch = dict(LEADER, pending='web/0#1', planned=5, waiting_on={})
    idle.write_spec(hook_env.charm_dir, False, checks_for(server), peer_endpoint='cluster',
                    app_watch=watch)
    assert idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                              environ={'JUJU_REMOTE_UNIT': 'web/2'})
    assert sets.read_text().startswith('--app\nstackyard-restart-plan=')
    assert not idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                                  environ={'JUJU_REMOTE_UNIT': 'web/3'})


@pytest.mark.parametrize('turn_came', [True, False])
def test_a_request_for_a_later_batch_sends_a_holding_leader_to_its_full_hook(
        hook_env, server, tmp_path, monkeypatch, turn_came):
    """Its own batch is full: it restarts, the full hook places the request and finishes."""
    import json
    plan = {'last': 5, 'batches': [{'n': 5, 'units': {'web/0': 'web/0#1', 'web/1': 'web/1#4'}}]}
    sets = fake_peer_tools(tmp_path, monkeypatch, {
        'web': {'stackyard-restart-plan': json.dumps(plan)},
        'web/2': {'stackyard-restart-request': 'web/2#3'}, 'web/1': {}})
    watch = dict(LEADER, pending='web/0#1', planned=5,
                 waiting_on={} if turn_came else {'web/9': 'web/9#1'},
                 placed=[['web/0', 'web/0#1'], ['web/1', 'web/1#4']],
                 early_restart=restart_commands(tmp_path))
    idle.write_spec(hook_env.charm_dir, False, checks_for(server), peer_endpoint='cluster',
                    app_watch=watch)
    for _ in range(2 if turn_came else 1):      # the full hook re-runs the template
        fast = idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                                  environ={'JUJU_REMOTE_UNIT': 'web/2'})
    assert fast is not turn_came
    assert sets.exists() is not turn_came
    assert restarts(tmp_path) == (['app'] if turn_came else [])


@pytest.mark.parametrize('bags, set_fails', [
    ({'web': {}}, True),                                               # relation-set fails
    ({'web': {'stackyard-restart-plan': '{bad'}}, False),
])
def test_the_leader_leaves_odd_cases_to_the_full_hook(
        hook_env, server, tmp_path, monkeypatch, bags, set_fails):
    bags['web/2'] = {'stackyard-restart-request': 'web/2#3'}
    fake_peer_tools(tmp_path, monkeypatch, bags, set_fails)
    idle.write_spec(hook_env.charm_dir, True, checks_for(server), peer_endpoint='cluster',
                    app_watch=LEADER)
    assert not idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                                  environ={'JUJU_REMOTE_UNIT': 'web/2'})


@pytest.mark.parametrize('set_fails', [False, True])
def test_the_echo_is_answered_in_the_fast_path(
        hook_env, server, tmp_path, monkeypatch, set_fails):
    sets = fake_peer_tools(tmp_path, monkeypatch, {'web': {'stackyard-restart-echo': ECHO}},
                           set_fails=set_fails, me='web/1')
    idle.write_spec(hook_env.charm_dir, False, checks_for(server), peer_endpoint='cluster',
                    app_watch=dict(WATCH, echo_sent='web/0#6'))
    app_change = {'JUJU_REMOTE_UNIT': '', 'JUJU_REMOTE_APP': 'web'}
    assert idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                              environ=app_change) is not set_fails
    assert sets.read_text().splitlines() == ['stackyard-restart-echo=web/0#7']
    sent = idle.read_spec(hook_env.charm_dir)['app_watch']['echo_sent']
    assert sent == ('web/0#6' if set_fails else 'web/0#7')
    if not set_fails:       # answered once
        assert idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                                  environ=app_change)
        assert len(sets.read_text().splitlines()) == 1


def test_an_echo_once_answered_is_skipped(hook_env, server, tmp_path, monkeypatch):
    fake_relation_get(tmp_path, monkeypatch, {'stackyard-restart-echo': ECHO})
    idle.write_spec(hook_env.charm_dir, False, checks_for(server), peer_endpoint='cluster',
                    app_watch=dict(WATCH, echo_sent='web/0#7'))
    assert idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                              environ={'JUJU_REMOTE_UNIT': '', 'JUJU_REMOTE_APP': 'web'})


@pytest.mark.parametrize('leader', [True, False])
def test_a_unit_whose_turn_came_takes_it_at_the_next_peer_change(
        hook_env, server, tmp_path, monkeypatch, leader):
    fake_relation_get(tmp_path, monkeypatch, {})
    idle.write_spec(hook_env.charm_dir, False, checks_for(server), peer_endpoint='cluster',
                    app_watch=dict(WATCH, leader=leader, placed=[['web/1', 'web/1#4']],
                                   request_key='stackyard-restart-request',
                                   pending='web/1#4', planned=3, waiting_on={}))
    assert not idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                                  environ={'JUJU_REMOTE_UNIT': 'web/5'})


def test_peer_changes_skip_the_health_checks(hook_env, tmp_path):
    """A full peer hook does not check health either; update-status does."""
    closed = [{'kind': 'tcp', 'host': '127.0.0.1', 'port': 1, 'timeout': 1}]
    idle.write_spec(hook_env.charm_dir, True, closed,
                    peer_endpoint='cluster', app_watch=WATCH)
    assert idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                              environ={'JUJU_REMOTE_UNIT': 'web/2'})
    assert not idle.try_fast_path(hook_env.charm_dir, 'update-status')


@pytest.mark.parametrize('leader, allowed, expected', [
    (False, True, 'cluster'), (True, True, 'cluster'), (False, False, None)])
def test_spec_offers_peer_changes_only_to_idle_minions_of_charms_that_allow_it(
        hook_env, monkeypatch, leader, allowed, expected):
    from charmhelpers.core import hookenv

    from charms.layer.stackyard import operations, options, restart, services, status
    monkeypatch.setattr(restart, 'peer_relation', lambda: 'cluster:0')
    monkeypatch.setattr(hookenv, 'is_leader', lambda: leader)
    monkeypatch.setattr(restart, 'in_flight', lambda rid: False)
    monkeypatch.setattr(restart, 'my_turn', lambda rid, request_id: (4, {'web/0': 'web/0#2'}))
    monkeypatch.setattr(restart, 'read_unit', lambda rid, unit: {'echo': 'web/0#1'})
    monkeypatch.setattr(restart, 'peer_bag', lambda rid, unit: {
        'stackyard-restart-done': unit + '#1', 'other': 'x'})
    monkeypatch.setattr(restart, 'read_plan', lambda rid: {'last': 4, 'batches': [
        {'n': 4, 'units': {'test/0': 'test/0#1'}}]})
    monkeypatch.setattr(hookenv, 'related_units', lambda rid: ['web/2', 'web/1'])
    monkeypatch.setattr(services, 'health_checks', lambda: {})
    monkeypatch.setattr(options, 'current', lambda: type('E', (), {
        'valid': True, 'expires_at': None})())
    monkeypatch.setattr(options, 'config', lambda: {'restart-batch-size': 3})
    monkeypatch.setattr(status, '_idle', {'enabled': True, 'peers': allowed})
    kv = unitdata.kv()
    kv.set(status.LAST_KEY, [status.ACTIVE, 'Ready'])
    operations.write_idle_spec()
    spec = idle.read_spec(hook_env.charm_dir)
    assert spec['eligible'] is True and spec['peer_endpoint'] == expected
    kv.set(restart.PENDING, {'id': 'test/0#1', 'services': ['app'], 'restarted': False})
    operations.write_idle_spec()
    spec = idle.read_spec(hook_env.charm_dir)
    assert spec['eligible'] is False and spec['peer_endpoint'] == expected, 'waiting for a slot'
    if expected:
        watch = spec['app_watch']
        assert (watch['pending'], watch['planned'], watch['waiting_on']) == \
            ('test/0#1', 4, {'web/0': 'web/0#2'})
        assert watch['leader'] is leader and watch['echo_sent'] == 'web/0#1'
        assert watch.get('placed') == ([['test/0', 'test/0#1']] if leader else None)
        assert watch.get('batch_size') == (3 if leader else None)
        assert watch.get('peers') == (['web/1', 'web/2'] if leader else None)
        assert watch.get('bags') == ({'web/1': {'stackyard-restart-done': 'web/1#1'},
                                      'web/2': {'stackyard-restart-done': 'web/2#1'}}
                                     if leader else None)
        assert watch.get('open') == ([['test/0', 'test/0#1']] if leader else None)
        assert watch.get('halted') == ([] if leader else None)
        assert watch['early_restart']['services'] == ['app']
        monkeypatch.setattr(operations, 'paused', lambda: True)    # the pause action
        operations.write_idle_spec()
        assert idle.read_spec(hook_env.charm_dir)['peer_endpoint'] is None, \
            'a paused unit is never restarted by the fast path'
        monkeypatch.setattr(operations, 'paused', lambda: False)
    kv.set(restart.PENDING, {'id': 'test/0#1', 'services': ['app'], 'restarted': True})
    operations.write_idle_spec()
    assert idle.read_spec(hook_env.charm_dir)['peer_endpoint'] is None, \
        'restarted, not released yet'


PLAN3 = '{"last": 3, "batches": [{"n": 3, "units": {"web/1": "web/1#4"}}]}'
ECHO = '{"by": "web/1", "token": "web/0#7"}'


@pytest.mark.parametrize('bag, pending, planned, remote_app, ok', [
    ({}, None, None, 'web', True),
    ({'stackyard-restart-roll': '{"id": "web/0@1"}'}, None, None, 'web', True),
    ({'stackyard-restart-roll': '{"id": "web/0@2"}'}, None, None, 'web', False),  # a new roll
    ({'stackyard-restart-plan': PLAN3}, 'web/1#4', None, 'web', False),       # placed now
    ({'stackyard-restart-plan': PLAN3}, 'web/1#4', 3, 'web', True),           # known place
    ({'stackyard-restart-plan': PLAN3}, 'web/1#5', None, 'web', True),        # not this one
    ({'stackyard-restart-plan': '{"last": 3, "batches": [{"n": 3, "units": '
                                '{"web/2": "web/2#4"}}]}'},
     'web/1#4', None, 'web', True),                                           # someone else
    ({'stackyard-restart-plan': '{not json'}, None, None, 'web', False),
    ({'stackyard-restart-echo': ECHO}, None, None, 'web', False),     # cannot answer it here
    ({'stackyard-restart-echo': ECHO.replace('web/1', 'web/2')}, None, None, 'web', True),
    ({}, None, None, 'other', False),
    (FAIL, None, None, 'web', False),                                        # relation-get fails
])
def test_app_bag_change_skipped_only_when_it_concerns_nobody_here(
        hook_env, server, tmp_path, monkeypatch, bag, pending, planned, remote_app, ok):
    fake_relation_get(tmp_path, monkeypatch, bag)
    kv = unitdata.kv()
    kv.set('something', 1)
    kv.flush()
    idle.write_spec(hook_env.charm_dir, False, checks_for(server), peer_endpoint='cluster',
                    app_watch=dict(WATCH, pending=pending, planned=planned,
                                   waiting_on={'web/0': 'web/0#9'} if planned else {}))
    assert idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                              environ={'JUJU_REMOTE_UNIT': '',
                                       'JUJU_REMOTE_APP': remote_app}) is ok


@pytest.mark.parametrize('issued, ok', [
    (3, False),     # web/1#4 placed ahead of a request web/1 never made: given back in full
    (4, True),      # web/1#4 is its own, finished request
    (None, True),   # a spec written before places were made ahead
])
def test_a_place_made_ahead_without_a_request_goes_to_the_full_hook(
        hook_env, server, tmp_path, monkeypatch, issued, ok):
    fake_relation_get(tmp_path, monkeypatch, {'stackyard-restart-plan': PLAN3})
    watch = dict(WATCH, pending=None, planned=None, waiting_on={})
    if issued is not None:
        watch['issued'] = issued
    idle.write_spec(hook_env.charm_dir, False, checks_for(server), peer_endpoint='cluster',
                    app_watch=watch)
    assert idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                              environ={'JUJU_REMOTE_UNIT': '', 'JUJU_REMOTE_APP': 'web'}) is ok


def test_a_place_in_the_third_batch_waits_for_the_second_only(
        hook_env, server, tmp_path, monkeypatch):
    """The first batch's releases are none of its business: the shell skips them."""
    import json
    plan = {'last': 3, 'batches': [{'n': 1, 'units': {'web/5': 'web/5#1', 'web/6': 'web/6#1'}},
                                   {'n': 2, 'units': {'web/7': 'web/7#2'}},
                                   {'n': 3, 'units': {'web/1': 'web/1#4'}}]}
    fake_peer_tools(tmp_path, monkeypatch, {
        'web': {'stackyard-restart-plan': json.dumps(plan)},
        'web/0': {}, 'web/5': {}, 'web/6': {}, 'web/7': {}}, me='web/1')
    idle.write_spec(hook_env.charm_dir, False, checks_for(server), peer_endpoint='cluster',
                    app_watch=dict(WATCH, pending='web/1#4', planned=None, waiting_on={}))
    assert idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                              environ={'JUJU_REMOTE_UNIT': '', 'JUJU_REMOTE_APP': 'web'})
    watch = idle.read_spec(hook_env.charm_dir)['app_watch']
    assert (watch['planned'], watch['waiting_on']) == (3, {'web/7': 'web/7#2'})
    with open(os.path.join(hook_env.charm_dir, idle.PEER_SKIP)) as f:
        assert f.read().split() == ['cluster-relation-changed', 'web/7']


def test_the_hook_template_survives_charm_builds_substitution():
    """charm build formats the template with the hook's name: it must hold no braces."""
    import subprocess
    with open(TEMPLATE) as f:
        text = f.read()
    assert text.format('install') == text
    subprocess.run(['bash', '-n', TEMPLATE], check=True)


SHELL_CASES = [
    # (watch changes, spec extras, hook, remote unit, the shell skips it)
    ({}, {}, 'cluster-relation-changed', 'web/2', True),
    ({}, {}, 'cluster-relation-changed', 'web/0', False),         # waited for
    ({}, {}, 'cluster-relation-changed', '', False),              # the app bag
    ({}, {}, 'website-relation-changed', 'web/2', False),         # another relation
    ({}, {}, 'update-status', 'web/2', False),
    ({'leader': True, 'placed': []}, {}, 'cluster-relation-changed', 'web/2', False),
    ({'waiting_on': {}}, {}, 'cluster-relation-changed', 'web/2', False),    # turn came
    ({}, {'expires_at': 4e9}, 'cluster-relation-changed', 'web/2', False),  # an override
    ({'pending': None, 'planned': None, 'waiting_on': {}}, {},
     'cluster-relation-changed', 'web/2', True),                  # idle, no restart
]


@pytest.mark.parametrize('changes, extras, hook, remote, skips', SHELL_CASES)
def test_the_hooks_shell_skips_only_what_the_fast_path_skips_without_a_tool(
        hook_env, server, tmp_path, changes, extras, hook, remote, skips):
    """The shell part of the hook, against the Python fast path's own answer."""
    charm = tmp_path / 'built'
    built_hooks(charm, hook)
    # A Python entry that only says it ran: whatever the shell does not skip.
    (charm / 'hooks' / 'stackyard-hook.py').write_text('print("python")\n')
    watch = dict(dict(WATCH, pending='web/1#2', planned=3, waiting_on={'web/0': 'web/0#5'}),
                 **changes)
    idle.write_spec(str(charm), False, checks_for(server), peer_endpoint='cluster',
                    app_watch=watch, **extras)
    proc = run_hook(charm, hook, JUJU_REMOTE_UNIT=remote, JUJU_REMOTE_APP='web')
    assert proc.returncode == 0 and proc.stderr == b'', proc.stderr
    assert (proc.stdout == b'') is skips, proc.stdout
    records = idle.take_fast_records(str(charm))
    assert [r['hook'] for r in records] == ([hook] if skips else [])
    if skips:
        assert 0 <= records[0]['duration'] < 1
        # With no hook tool on PATH, the Python fast path says the same.
        assert idle.try_fast_path(str(charm), hook, environ={'JUJU_REMOTE_UNIT': remote})


def test_the_skip_file_follows_the_spec(hook_env, server, tmp_path, monkeypatch):
    """A new place to wait for shrinks it at once; a full hook's start removes it."""
    import json
    skip = os.path.join(hook_env.charm_dir, idle.PEER_SKIP)
    idle.write_spec(hook_env.charm_dir, False, checks_for(server), peer_endpoint='cluster',
                    app_watch=dict(WATCH, pending='web/1#4', planned=None, waiting_on={}))
    with open(skip) as f:
        assert f.read() == 'cluster-relation-changed\n'
    assert oct(os.stat(skip).st_mode & 0o777) == '0o600'
    plan = {'last': 4, 'batches': [{'n': 3, 'units': {'web/0': 'web/0#9'}},
                                   {'n': 4, 'units': {'web/1': 'web/1#4'}}]}
    fake_peer_tools(tmp_path, monkeypatch, {'web': {'stackyard-restart-plan': json.dumps(plan)},
                                            'web/0': {}}, me='web/1')
    assert idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                              environ={'JUJU_REMOTE_UNIT': '', 'JUJU_REMOTE_APP': 'web'})
    with open(skip) as f:
        assert f.read() == 'cluster-relation-changed web/0\n'
    idle.clear_spec(hook_env.charm_dir)
    assert not os.path.exists(skip)


def restart_commands(tmp_path, fail=False):
    """``early_restart`` for the spec: a command that counts its runs in a file."""
    script = tmp_path / 'restart-app'
    script.write_text('#!/bin/sh\necho "$1" >> {}\nexit {}\n'.format(
        tmp_path / 'restarts', 1 if fail else 0))
    script.chmod(0o755)
    return {'services': ['app'], 'commands': [[str(script), 'app']]}


def restarts(tmp_path):
    path = tmp_path / 'restarts'
    return path.read_text().split() if path.exists() else []


@pytest.mark.parametrize('leader, fail, restarted', [
    (False, False, True), (True, False, True), (False, True, False)])
def test_the_last_unit_waited_for_finishing_restarts_this_unit_at_once(
        hook_env, server, tmp_path, monkeypatch, leader, fail, restarted):
    """The full hook still runs (health, release); it finds the restart done."""
    fake_relation_get(tmp_path, monkeypatch, {'stackyard-restart-done': 'web/0#5'})
    watch = dict(WATCH, pending='web/1#2', planned=3, waiting_on={'web/0': 'web/0#5'},
                 early_restart=restart_commands(tmp_path, fail), leader=leader,
                 placed=[], request_key='stackyard-restart-request')
    idle.write_spec(hook_env.charm_dir, False, checks_for(server), peer_endpoint='cluster',
                    app_watch=watch)
    for _ in range(2):      # the hook re-runs itself under the venv's python
        assert not idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                                      environ={'JUJU_REMOTE_UNIT': 'web/0'})
    assert restarts(tmp_path) == (['app'] if restarted or fail else [])
    note = idle.read_early_restart(hook_env.charm_dir)
    if restarted:
        assert note['id'] == 'web/1#2' and note['batch'] == 3 and note['services'] == ['app']
    else:
        assert note is None
    assert idle.read_early_restart(hook_env.charm_dir) == note, 'kept until the hook succeeded'
    idle.drop_early_restart(hook_env.charm_dir)
    assert idle.read_early_restart(hook_env.charm_dir) is None


@pytest.mark.parametrize('web0, fast, restarted, waiting', [
    ({}, False, True, {}),                                       # first in the plan
    ({'stackyard-restart-done': 'web/0#5'}, False, True, {}),    # the batch before is done
    ({'stackyard-restart-done': 'web/0#4'}, True, False, {'web/0': 'web/0#5'}),
    (None, False, True, {}),                                     # web/0 left
])
def test_a_new_place_in_the_plan_is_worked_out_in_the_fast_path(
        hook_env, server, tmp_path, monkeypatch, web0, fast, restarted, waiting):
    """Whom the unit waits for goes in the spec; a turn that came restarts at once."""
    import json
    batches = [{'n': 4, 'units': {'web/1': 'web/1#2'}}]
    if web0 != {}:
        batches.insert(0, {'n': 3, 'units': {'web/0': 'web/0#5'}})
    bags = {'web': {'stackyard-restart-plan': json.dumps({'last': 4, 'batches': batches})},
            'web/2': {}}
    if web0 is not None:
        bags['web/0'] = web0
    fake_peer_tools(tmp_path, monkeypatch, bags, me='web/1')
    watch = dict(WATCH, pending='web/1#2', early_restart=restart_commands(tmp_path))
    idle.write_spec(hook_env.charm_dir, False, checks_for(server), peer_endpoint='cluster',
                    app_watch=watch)
    app_change = {'JUJU_REMOTE_UNIT': '', 'JUJU_REMOTE_APP': 'web'}
    assert idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                              environ=app_change) is fast
    if not fast:    # the full hook's own pass, under the venv's python
        assert not idle.try_fast_path(hook_env.charm_dir, 'cluster-relation-changed',
                                      environ=app_change)
    assert restarts(tmp_path) == (['app'] if restarted else [])
    spec = idle.read_spec(hook_env.charm_dir)['app_watch']
    assert (spec['planned'], spec['waiting_on']) == (4, waiting)
    note = idle.read_early_restart(hook_env.charm_dir)
    assert (note or {}).get('batch') == (4 if restarted else None)


def test_hook_tools_run_without_the_subprocess_module(tmp_path):
    """Importing subprocess costs more CPU than a tool call: the fast path spawns tools itself."""
    assert idle._run_tool(['sh', '-c', 'echo hi; echo oops >&2; exit 3']) == (3, b'hi\n')
    assert idle._run_tool(['no-such-hook-tool']) is None
    started = time.monotonic()
    assert idle._run_tool(['sh', '-c', 'sleep 5'], timeout=0.2) is None
    assert time.monotonic() - started < 3
    import subprocess
    import sys
    lib = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(idle.__file__))))
    probe = ('import sys; sys.path.insert(0, {!r}); from charms.layer.stackyard import idle; '
             'idle._run_tool(["true"]); print("subprocess" in sys.modules)').format(lib)
    out = subprocess.run([sys.executable, '-S', '-c', probe], capture_output=True, text=True)
    assert out.stdout.strip() == 'False', out.stderr
