"""Restart batches: never more than the batch size, each batch after the last is done."""

import pytest

from charms.layer.stackyard import health, restart, rollplan
from charms.layer.stackyard import operations  # its option rules, before each test


def units_with_requests(names, done=()):
    return {u: {'request': '{}#1'.format(u), 'done': '{}#1'.format(u) if u in done else ''}
            for u in names}


def turn_came(plan, unit, request_id, units):
    """What a unit decides on its own: placed, and every earlier entry done."""
    n, earlier = rollplan.place_of(plan, unit, request_id)
    return n is not None and all(
        rollplan.entry_done(r, units[u]) for u, ids in earlier.items() if u in units
        for r in ids)


def simulate(names, batch_size, fail=(), leader=None):
    """Run the leader's planner and the units' own turns to the end.

    Units in ``fail`` never become healthy: they report a halted restart.

    :returns: the waves of restarts (each a sorted list of units starting together)
    """
    units = units_with_requests(names)
    plan, waves = {}, []
    for _ in range(50):
        plan = rollplan.plan_restarts(plan, units, batch_size, leader=leader)
        assert all(len(b['units']) <= batch_size for b in plan['batches'])
        wave = sorted((u for u, q in units.items()
                       if q['request'] and not q.get('halted')
                       and turn_came(plan, u, q['request'], units)), key=rollplan.unit_key)
        if not wave:
            break
        waves.append(wave)
        for u in wave:
            if u in fail:
                units[u]['halted'] = units[u]['request']
            else:
                units[u] = {'request': '', 'done': units[u]['request']}
    return waves


@pytest.mark.parametrize('count, size', [(6, 1), (6, 2), (6, 4), (12, 2), (12, 4), (3, 5)])
def test_every_unit_once_never_more_than_size(count, size):
    names = ['web/{}'.format(i) for i in range(count)]
    waves = simulate(names, size)
    flat = [u for b in waves for u in b]
    assert sorted(flat, key=rollplan.unit_key) == names
    assert all(len(b) <= size for b in waves)
    assert len(waves) == -(-count // size)


@pytest.mark.parametrize('count, size', [(6, 1), (6, 2), (6, 4), (12, 4), (5, 4), (3, 5)])
def test_the_leader_restarts_in_the_last_batch(count, size):
    names = ['web/{}'.format(i) for i in range(count)]
    waves = simulate(names, size, leader='web/0')
    assert 'web/0' in waves[-1] and len(waves) == -(-count // size)
    assert sorted((u for b in waves for u in b), key=rollplan.unit_key) == names


def test_numeric_unit_order():
    assert simulate(['web/10', 'web/2', 'web/1'], 1) == [['web/1'], ['web/2'], ['web/10']]


def test_a_unit_that_never_becomes_healthy_halts_the_roll():
    names = ['web/{}'.format(i) for i in range(6)]
    waves = simulate(names, 2, fail={'web/1'})
    assert waves == [['web/0', 'web/1']]


def test_late_requests_join_the_last_batch_until_one_of_it_finishes():
    units = units_with_requests(['web/0'])
    plan = rollplan.plan_restarts({}, units, 2)
    assert plan == {'last': 1, 'batches': [{'n': 1, 'units': {'web/0': 'web/0#1'}}]}
    units.update(units_with_requests(['web/1', 'web/2']))
    plan = rollplan.plan_restarts(plan, units, 2)
    assert [b['units'] for b in plan['batches']] == [
        {'web/0': 'web/0#1', 'web/1': 'web/1#1'}, {'web/2': 'web/2#1'}]
    assert not turn_came(plan, 'web/2', 'web/2#1', units)
    units['web/0'] = {'request': '', 'done': 'web/0#1'}
    assert not turn_came(plan, 'web/2', 'web/2#1', units), 'web/1 is still restarting'
    units['web/1'] = {'request': '', 'done': 'web/1#1'}
    assert turn_came(plan, 'web/2', 'web/2#1', units), 'no leader hook needed for the turn'
    plan = rollplan.plan_restarts(plan, units, 2)
    assert plan == {'last': 2, 'batches': [{'n': 2, 'units': {'web/2': 'web/2#1'}}]}


def test_a_batch_one_of_which_finished_takes_no_latecomers():
    units = units_with_requests(['web/0', 'web/1'])
    plan = rollplan.plan_restarts({}, units, 3)
    units['web/0'] = {'request': '', 'done': 'web/0#1'}
    units.update(units_with_requests(['web/2']))
    plan = rollplan.plan_restarts(plan, units, 3)
    assert [sorted(b['units']) for b in plan['batches']] == [['web/0', 'web/1'], ['web/2']]
    assert [b['n'] for b in plan['batches']] == [1, 2]


def test_halted_unit_keeps_its_slot_and_holds_later_batches():
    units = units_with_requests(['web/0', 'web/1', 'web/2'])
    plan = rollplan.plan_restarts({}, units, 2)
    units['web/1']['halted'] = 'web/1#1'
    units['web/0'] = {'request': '', 'done': 'web/0#1'}
    plan = rollplan.plan_restarts(plan, units, 2)
    assert plan['batches'][0]['units'] == {'web/0': 'web/0#1', 'web/1': 'web/1#1'}
    assert not turn_came(plan, 'web/2', 'web/2#1', units)
    units['web/0'] = {'request': 'web/0#2', 'done': 'web/0#1'}   # config changed again
    plan = rollplan.plan_restarts(plan, units, 2)
    assert [b['units'] for b in plan['batches']] == [
        {'web/0': 'web/0#1', 'web/1': 'web/1#1'}, {'web/2': 'web/2#1', 'web/0': 'web/0#2'}]
    units['web/1'] = {'request': '', 'done': 'web/1#1', 'halted': ''}
    assert turn_came(plan, 'web/2', 'web/2#1', units)


def test_departed_units_hold_nobody_up():
    units = units_with_requests(['web/0', 'web/1', 'web/2'])
    plan = rollplan.plan_restarts({}, units, 2)
    del units['web/1']                       # its machine went away
    units['web/0'] = {'request': '', 'done': 'web/0#1'}
    assert turn_came(plan, 'web/2', 'web/2#1', units), 'seen by the unit itself'
    plan = rollplan.plan_restarts(plan, units, 2)
    assert plan['batches'] == [{'n': 2, 'units': {'web/2': 'web/2#1'}}]


def test_new_leader_continues_from_recorded_state():
    units = units_with_requests(['web/0', 'web/1', 'web/2', 'web/3'])
    plan = rollplan.plan_restarts({}, units, 2)
    # web/0 (the old leader) restarted and released, then its machine vanished.
    units['web/0'] = {'request': '', 'done': 'web/0#1'}
    del units['web/0']
    # The new leader plans from the same bags: web/1 still holds its slot.
    again = rollplan.plan_restarts(plan, units, 2)
    assert [b['units'] for b in again['batches']] == [
        {'web/1': 'web/1#1'}, {'web/2': 'web/2#1', 'web/3': 'web/3#1'}]
    assert not turn_came(again, 'web/2', 'web/2#1', units)
    units['web/1'] = {'request': '', 'done': 'web/1#1'}
    assert turn_came(again, 'web/2', 'web/2#1', units)
    assert rollplan.plan_restarts(again, units, 2)['batches'] == again['batches'][1:], \
        'the finished head dropped, nothing new placed'


def test_a_smaller_batch_size_applies_to_new_requests():
    units = units_with_requests(['web/0', 'web/1', 'web/2', 'web/3'])
    plan = rollplan.plan_restarts({}, units, 4)
    units.update(units_with_requests(['web/4', 'web/5']))
    units['web/0'] = {'request': '', 'done': 'web/0#1'}
    plan = rollplan.plan_restarts(plan, units, 1)
    assert [len(b['units']) for b in plan['batches']] == [4, 1, 1]


@pytest.mark.parametrize('done, entry, finished', [
    ('web/0#3', 'web/0#3', True), ('web/0#4', 'web/0#3', True), ('web/0#2', 'web/0#3', False),
    ('', 'web/0#3', False), ('web/1#9', 'web/0#3', False), ('junk', 'web/0#3', False),
    ('web/0#10', 'web/0#9', True),
])
def test_entry_done_compares_request_numbers(done, entry, finished):
    assert rollplan.entry_done(entry, {'done': done}) is finished


def test_should_restart_once_per_request():
    pending = {'id': 'web/0#3', 'services': ['a'], 'restarted': False}
    assert restart.should_restart(pending, 'web/0#2')
    assert not restart.should_restart(pending, 'web/0#3')
    assert not restart.should_restart(dict(pending, restarted=True), '')
    assert not restart.should_restart(None, '')


def test_wait_healthy_gives_up_after_the_timeout():
    now = [0.0]
    calls = []

    def check():
        calls.append(now[0])
        return False, 'refused'
    check.name = 'tcp 127.0.0.1:1'
    ok, results = health.wait_healthy({'svc': [check]}, 5, interval=1, first=1,
                                      clock=lambda: now[0],
                                      sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert not ok
    assert health.describe(results[0]) == 'svc tcp 127.0.0.1:1 (refused)'
    assert len(calls) == 6


def wait_on_a_fake_clock(check, timeout=60):
    """``wait_healthy`` on a clock that only sleeps and checks move: ``(ok, pauses, end)``."""
    now, pauses = [0.0], []

    def sleep(s):
        pauses.append(s)
        now[0] += s

    def run():
        return check(now)
    run.name = 'tcp 127.0.0.1:1'
    ok, _ = health.wait_healthy({'svc': [run]}, timeout, clock=lambda: now[0], sleep=sleep)
    return ok, pauses, now[0]


def test_wait_healthy_retries_soon_then_backs_off():
    ok, pauses, end = wait_on_a_fake_clock(lambda now: (now[0] >= 2.9, 'refused'))
    assert ok and [round(p, 3) for p in pauses[:3]] == [0.05, 0.1, 0.1]
    assert set(pauses[1:]) == {0.1} and 2.9 <= end < 2.9 + 0.1


def test_a_slow_check_is_not_rerun_sooner_than_twice_its_time():
    def check(now):
        now[0] += 1.5           # a command check that takes 1.5 s
        return now[0] >= 20, 'not ready'
    ok, pauses, _ = wait_on_a_fake_clock(check)
    assert ok and set(pauses) == {3.0}


def test_the_last_check_runs_at_the_timeout():
    now, calls = [0.0], []

    def check():
        calls.append(now[0])
        return False, 'refused'
    check.name = 'tcp 127.0.0.1:1'
    ok, _ = health.wait_healthy({'svc': [check]}, 1.0, interval=0.3, first=0.3,
                                clock=lambda: now[0],
                                sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert not ok and [round(c, 3) for c in calls] == [0, 0.3, 0.6, 0.9, 1.0]


def test_real_tcp_and_http_checks():
    import http.server
    import threading
    server = http.server.HTTPServer(('127.0.0.1', 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_port
    try:
        assert health.TCP(port)() == (True, 'open')
        ok, detail = health.HTTP('http://127.0.0.1:{}/'.format(port))()
        assert not ok and detail == 'HTTP 501 (expected 200)'
        assert health.HTTP('http://127.0.0.1:{}/'.format(port), status=501)()[0]
    finally:
        server.shutdown()
        server.server_close()
    assert health.TCP(port)()[0] is False
    assert health.Command(['true'])() == (True, 'exit 0')
    assert health.Command(['sh', '-c', 'echo broken; exit 3'])() == (False, 'broken')


@pytest.mark.parametrize('plan', [
    {'last': 'seven', 'batches': [['web/0']]},
    {'last': 1, 'batches': [{'n': 1, 'units': {'web/0': 5}}]},
    {'batches': [{'n': True, 'units': {'web/0': 'web/0#1'}}, None, {'n': 2}]},
    {'batches': 'many'},
    [],
])
def test_malformed_plan_data_is_ignored_not_fatal(plan):
    units = units_with_requests(['web/0', 'web/1'])
    new = rollplan.plan_restarts(plan, units, 2)
    assert [b['units'] for b in new['batches']] == [{'web/0': 'web/0#1', 'web/1': 'web/1#1'}]
    assert isinstance(new['last'], int)
    assert rollplan.place_of(plan, 'web/0', 'web/0#1') == (None, {})


@pytest.mark.parametrize('url', ['ftp://x/', 'localhost:80', 'http://:80/', 'http://h:0/',
                                 'http://h:port/'])
def test_an_http_check_of_a_bad_url_fails_naming_it(url):
    ok, detail = health.HTTP(url)()
    assert not ok and detail


def test_http_check_of_a_server_that_does_not_speak_http():
    import socket
    import threading
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(1)

    def reply():
        conn, _ = listener.accept()
        conn.recv(1024)
        conn.sendall(b'SSH-2.0-OpenSSH\r\n')
        conn.close()
    threading.Thread(target=reply, daemon=True).start()
    ok, detail = health.HTTP('http://127.0.0.1:{}/'.format(listener.getsockname()[1]))()
    listener.close()
    assert not ok and detail


def test_http_check_path_and_host_reach_the_server():
    import http.server
    import threading
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, self.headers['Host']))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass
    server = http.server.HTTPServer(('127.0.0.1', 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = 'http://127.0.0.1:{}/status?full=1'.format(server.server_port)
        assert health.HTTP(url, status=204)() == (True, 'HTTP 204')
        assert seen == [('/status?full=1', '127.0.0.1:{}'.format(server.server_port))]
    finally:
        server.shutdown()
        server.server_close()


def fake_peers(monkeypatch, bags, me='web/0'):
    from charmhelpers.core import hookenv
    writes = []

    def relation_get(attribute=None, unit=None, rid=None, app=None):
        return dict(bags[app or unit])

    def relation_set(relation_id=None, relation_settings=None, app=False):
        writes.append(dict(relation_settings))
        bags['web' if app else me].update(relation_settings)
    monkeypatch.setattr(hookenv, 'relation_get', relation_get)
    monkeypatch.setattr(hookenv, 'relation_set', relation_set)
    monkeypatch.setattr(hookenv, 'related_units',
                        lambda rid: [u for u in bags if '/' in u and u != me])
    monkeypatch.setattr(hookenv, 'local_unit', lambda: me)
    monkeypatch.setattr(hookenv, 'application_name', lambda: 'web')
    monkeypatch.setattr(hookenv, 'relation_ids', lambda endpoint=None: ['cluster:0'])
    return writes


def test_leader_writes_the_app_bag_only_when_it_places_requests(monkeypatch):
    """Each app-bag write wakes every other unit: finishing alone is not written."""
    import json
    from charmhelpers.core import unitdata
    bags = {'web': {}, 'web/0': {'stackyard-restart-request': 'web/0#1'},
            'web/1': {'stackyard-restart-request': 'web/1#1'}}
    writes = fake_peers(monkeypatch, bags)
    restart.schedule('cluster:0', 2)
    assert len(writes) == 1
    [batch] = json.loads(writes[0][restart.PLAN_KEY])['batches']
    assert batch['units'] == {'web/0': 'web/0#1', 'web/1': 'web/1#1'}
    restart.schedule('cluster:0', 2)
    assert len(writes) == 1, 'nothing changed, nothing written'
    bags['web/0'] = {'stackyard-restart-done': 'web/0#1'}
    bags['web/1'] = {'stackyard-restart-done': 'web/1#1'}
    restart.schedule('cluster:0', 2)
    assert len(writes) == 1, 'the batch finished: not worth a write of its own'
    assert not unitdata.kv().get(restart.SLOTS), 'nothing in flight'
    bags['web/0'] = {'stackyard-restart-request': 'web/0#2', 'stackyard-restart-done': 'web/0#1'}
    restart.schedule('cluster:0', 2)
    assert len(writes) == 2, 'nothing in flight: the leader places its own request at once'
    assert json.loads(writes[1][restart.PLAN_KEY]) == {
        'last': 2, 'batches': [{'n': 2, 'units': {'web/0': 'web/0#2'}}]}
    assert unitdata.kv().get(restart.SLOTS) == {}, 'only its own: the leader is not idle'


def leader_hook(monkeypatch):
    """A new hook on the leader web/0, whose request web/0#1 is open."""
    from charmhelpers.core import unitdata
    monkeypatch.setattr(restart, '_placed_now', set())
    monkeypatch.setattr(restart.hookenv, 'is_leader', lambda: True)
    unitdata.kv().set(restart.PENDING, {'id': 'web/0#1', 'services': ['app'],
                                        'restarted': False})


def next_leader_hook(monkeypatch):
    monkeypatch.setattr(restart, '_placed_now', set())


def plan_of(bags):
    import json
    return [sorted(b['units']) for b in json.loads(bags['web'][restart.PLAN_KEY])['batches']]


def test_the_leader_keeps_its_request_back_and_restarts_last(monkeypatch):
    """Its restart holds its hook: while others are in flight it goes once they all asked."""
    bags = {'web': {}, 'web/0': {'stackyard-restart-request': 'web/0#1'},
            'web/2': {'stackyard-restart-request': 'web/2#1'}, 'web/1': {}}
    fake_peers(monkeypatch, bags)
    leader_hook(monkeypatch)
    restarted = []
    config = {'restart-batch-size': 2}
    restart.coordinate(config, {}, restart=restarted.append)
    assert plan_of(bags) == [['web/2']], 'web/1 may still ask'
    assert restarted == []
    next_leader_hook(monkeypatch)
    bags['web/1'] = {'stackyard-restart-request': 'web/1#1'}
    restart.coordinate(config, {}, restart=restarted.append)
    assert plan_of(bags) == [['web/1', 'web/2'], ['web/0']], 'everyone asked: the leader last'
    assert restarted == []
    next_leader_hook(monkeypatch)
    bags['web/1'] = {'stackyard-restart-done': 'web/1#1'}
    bags['web/2'] = {'stackyard-restart-done': 'web/2#1'}
    restart.coordinate(config, {}, restart=restarted.append)
    assert restarted == ['app']


def test_with_nothing_in_flight_the_leader_restarts_at_once(monkeypatch):
    """No other unit asked: nothing to go last after, and no later hook to wait for."""
    bags = {'web': {}, 'web/0': {'stackyard-restart-request': 'web/0#1'}, 'web/1': {},
            'web/2': {}}
    writes = fake_peers(monkeypatch, bags)
    leader_hook(monkeypatch)
    restarted = []
    restart.coordinate({'restart-batch-size': 2}, {}, restart=restarted.append)
    assert plan_of(bags) == [['web/0']] and restarted == ['app']
    assert [sorted(w) for w in writes] == [[restart.PLAN_KEY], sorted(
        [restart.DONE_KEY, restart.REQUEST_KEY, restart.HALTED_KEY])]


def test_a_unit_that_never_asks_holds_the_leader_only_until_a_batch_closes(monkeypatch):
    bags = {'web': {}, 'web/0': {'stackyard-restart-request': 'web/0#1'},
            'web/1': {'stackyard-restart-request': 'web/1#1'},
            'web/2': {'stackyard-restart-request': 'web/2#1'}, 'web/3': {}}
    fake_peers(monkeypatch, bags)
    leader_hook(monkeypatch)
    restarted = []
    config = {'restart-batch-size': 2}
    restart.coordinate(config, {}, restart=restarted.append)
    assert plan_of(bags) == [['web/1', 'web/2']], 'web/3 (paused, say) may still ask'
    next_leader_hook(monkeypatch)
    bags['web/1'] = {'stackyard-restart-done': 'web/1#1'}
    restart.coordinate(config, {}, restart=restarted.append)
    assert plan_of(bags) == [['web/1', 'web/2'], ['web/0']], \
        'a request still to come would not join the first batch any more'
    assert restarted == []
    next_leader_hook(monkeypatch)
    bags['web/2'] = {'stackyard-restart-halted': 'web/2#1', 'stackyard-restart-request': 'web/2#1'}
    restart.coordinate(config, {}, restart=restarted.append)
    assert restarted == [], 'a halted restart holds the leader too'


def test_placing_batch_mates_holds_the_leaders_turn_for_one_hook(monkeypatch):
    """Places are committed when the hook ends: the leader restarts in its next hook,
    which the placed mate's own next write brings."""
    bags = {'web': {}, 'web/0': {'stackyard-restart-request': 'web/0#1'},
            'web/1': {'stackyard-restart-request': 'web/1#1'}, 'web/2': {}}
    writes = fake_peers(monkeypatch, bags)
    leader_hook(monkeypatch)
    restarted = []
    config = {'restart-batch-size': 3}
    restart.coordinate(config, {}, restart=restarted.append)
    assert plan_of(bags) == [['web/1']]
    next_leader_hook(monkeypatch)
    bags['web/2'] = {'stackyard-restart-request': 'web/2#1'}
    restart.coordinate(config, {}, restart=restarted.append)
    assert plan_of(bags) == [['web/0', 'web/1', 'web/2']]
    assert restarted == [], 'this hook placed web/2: its place is committed first'
    assert len(writes) == 2, 'the plan twice, nothing else'
    next_leader_hook(monkeypatch)
    bags['web/2'] = {'stackyard-restart-done': 'web/2#1'}
    restart.coordinate(config, {}, restart=restarted.append)
    assert restarted == ['app']


def test_alone_the_leader_restarts_at_once(monkeypatch):
    bags = {'web': {}, 'web/0': {'stackyard-restart-request': 'web/0#1'}}
    fake_peers(monkeypatch, bags)
    leader_hook(monkeypatch)
    restarted = []
    restart.coordinate({'restart-batch-size': 2}, {}, restart=restarted.append)
    assert restarted == ['app']


@pytest.mark.parametrize('count, size', [(6, 2), (12, 4), (5, 1)])
def test_placing_one_request_at_a_time_matches_the_planner(count, size):
    """The leader's fast path places as the full planner does, request by request."""
    names = ['web/{}'.format(i) for i in range(count)]
    one_by_one, full = {}, {}
    units = {}
    for u in names:
        units[u] = {'request': u + '#1', 'done': ''}
        one_by_one = rollplan.place(one_by_one, u, u + '#1', size, units)
        full = rollplan.plan_restarts(full, units, size)
        assert one_by_one == full
    assert rollplan.place(one_by_one, names[0], names[0] + '#1', size, units) == one_by_one


def test_with_batches_of_one_the_leader_goes_after_the_others(monkeypatch):
    """Nobody can share its batch: once its turn comes it does not wait for a next hook."""
    bags = {'web': {}, 'web/0': {'stackyard-restart-request': 'web/0#1'},
            'web/1': {'stackyard-restart-request': 'web/1#1'}}
    fake_peers(monkeypatch, bags)
    leader_hook(monkeypatch)
    restarted = []
    restart.coordinate({'restart-batch-size': 1}, {}, restart=restarted.append)
    assert plan_of(bags) == [['web/1'], ['web/0']] and restarted == []
    next_leader_hook(monkeypatch)
    bags['web/1'] = {'stackyard-restart-done': 'web/1#1'}
    restart.coordinate({'restart-batch-size': 1}, {}, restart=restarted.append)
    assert restarted == ['app']


@pytest.mark.parametrize('wait, ok', [(0, False), (5, True)])
def test_resume_waits_for_a_service_that_is_not_listening_yet(hook_env, monkeypatch, wait, ok):
    from charmhelpers.core import unitdata
    from charms.layer.stackyard import services
    calls = []

    def check():
        calls.append(1)
        return len(calls) >= 2, 'listening' if len(calls) >= 2 else 'refused'
    check.name = 'tcp 127.0.0.1:1'
    monkeypatch.setattr(services, 'health_checks', lambda: {'app': [check]})
    results = operations.check_health(wait=wait)
    assert [r['ok'] for r in results] == [ok]
    assert bool(unitdata.kv().get(operations.HEALTH_KEY)) is not ok


def test_waiting_for_skips_units_that_left_and_counts_later_ids_as_done():
    earlier = {'web/1': ['web/1#3'], 'web/2': ['web/2#1', 'web/2#2'], 'web/9': ['web/9#1']}
    states = {'web/1': {'done': 'web/1#4'}, 'web/2': {'done': 'web/2#1'}}
    assert rollplan.waiting_for(earlier, {'web/1', 'web/2'}, states.get) == \
        {'web/2': 'web/2#2'}


class ChangedConfig(dict):
    """hookenv.config() as charmhelpers gives it: it knows the last hook's values."""

    def __init__(self, values, previous):
        super().__init__(values)
        self.previous = previous

    def changed(self, key):
        return self.previous.get(key) != self.get(key)


def config_changed_hook(monkeypatch, changed=('message',)):
    values = {'message': 'new', 'unit-overrides': 'web/1: {debug: true}', 'debug': False}
    previous = {k: ('old' if k in changed else v) for k, v in values.items()}
    monkeypatch.setattr(restart.hookenv, 'hook_name', lambda: 'config-changed')
    monkeypatch.setattr(restart.hookenv, 'config', lambda: ChangedConfig(values, previous))


def v2(**keys):
    """A unit bag with these restart keys."""
    return {{'request': restart.REQUEST_KEY, 'done': restart.DONE_KEY}[k]: v
            for k, v in keys.items()}


def test_an_app_config_change_places_every_units_next_request_ahead(monkeypatch):
    """One plan write at the end of the leader's config-changed holds the whole roll."""
    import json
    bags = {'web': {}, 'web/0': v2(request='web/0#1'), 'web/1': v2(done='web/1#3'),
            'web/2': v2(), 'web/3': v2(request='web/3#2', done='web/3#1'), 'web/4': v2()}
    writes = fake_peers(monkeypatch, bags)
    leader_hook(monkeypatch)
    config_changed_hook(monkeypatch)
    restart.coordinate({'restart-batch-size': 2}, {}, restart=lambda s: None)
    assert len(writes) == 1
    assert json.loads(bags['web'][restart.PLAN_KEY])['batches'] == [
        {'n': 1, 'units': {'web/1': 'web/1#4', 'web/2': 'web/2#1'}},
        {'n': 2, 'units': {'web/3': 'web/3#2', 'web/4': 'web/4#1'}},
        {'n': 3, 'units': {'web/0': 'web/0#1'}}], 'the leader last, as always'


@pytest.mark.parametrize('why', ['only an override changed', 'not a config change',
                                 'the leader needs no restart'])
def test_places_are_made_ahead_only_when_safe_and_likely_used(monkeypatch, why):
    import json
    bags = {'web': {}, 'web/0': v2(request='web/0#1'), 'web/1': v2(request='web/1#1'),
            'web/2': v2()}
    fake_peers(monkeypatch, bags)
    leader_hook(monkeypatch)
    config_changed_hook(monkeypatch, changed=(
        ('unit-overrides',) if why == 'only an override changed' else ('message',)))
    if why == 'not a config change':
        monkeypatch.setattr(restart.hookenv, 'hook_name', lambda: 'cluster-relation-changed')
    elif why == 'the leader needs no restart':
        bags['web/0'] = v2(done='web/0#1')
        from charmhelpers.core import unitdata
        unitdata.kv().unset(restart.PENDING)
    restart.coordinate({'restart-batch-size': 2}, {}, restart=lambda s: None)
    placed = {u for b in json.loads(bags['web'][restart.PLAN_KEY])['batches']
              for u in b['units']}
    assert placed == {'web/1'}, why


def fresh_unit_state(monkeypatch, path):
    from charmhelpers.core import unitdata
    monkeypatch.setattr(unitdata, '_KV', unitdata.Storage(str(path)))
    return unitdata.kv()


def test_a_unit_gives_back_a_place_it_did_not_ask_for_in_its_turn(monkeypatch, tmp_path):
    """It reads as a finished restart, only once the batches before it are done."""
    import json
    bags = {'web': {restart.PLAN_KEY: json.dumps({'last': 2, 'batches': [
                {'n': 1, 'units': {'web/1': 'web/1#4', 'web/2': 'web/2#1'}},
                {'n': 2, 'units': {'web/3': 'web/3#6', 'web/0': 'web/0#1'}}]})},
            'web/0': v2(request='web/0#1'), 'web/1': v2(request='web/1#4', done='web/1#3'),
            'web/2': {}, 'web/3': v2(done='web/3#5')}
    monkeypatch.setattr(restart.hookenv, 'is_leader', lambda: False)
    config, restarted = {'restart-batch-size': 2}, []
    # web/2, first batch: its turn is now, and it has nothing to restart.
    fake_peers(monkeypatch, bags, me='web/2')
    kv = fresh_unit_state(monkeypatch, tmp_path / 'web2.db')
    restart.coordinate(config, {}, restart=restarted.append)
    assert restarted == [] and bags['web/2'][restart.DONE_KEY] == 'web/2#1'
    assert kv.get(restart.PENDING) is None and restart.history() == []
    assert restart.request(['app'], 'config changed', {}) == 'web/2#2', 'a new id next time'
    # web/3, second batch: it takes its place but gives it back only in its turn.
    fake_peers(monkeypatch, bags, me='web/3')
    kv = fresh_unit_state(monkeypatch, tmp_path / 'web3.db')
    kv.set(restart.COUNTER, 5)
    restart.coordinate(config, {}, restart=restarted.append)
    assert restart.DONE_KEY not in bags['web/3'] or bags['web/3'][restart.DONE_KEY] == 'web/3#5'
    assert kv.get(restart.PENDING)['id'] == 'web/3#6'
    assert restart.status_check(config) == [], 'nothing to restart is nothing to show'
    # A restart it needs meanwhile joins the place and happens in that turn.
    assert restart.request(['app'], 'config changed', config) == 'web/3#6'
    bags['web/1'] = v2(done='web/1#4')
    restart.coordinate(config, {}, restart=restarted.append)
    assert restarted == ['app'] and bags['web/3'][restart.DONE_KEY] == 'web/3#6'
    assert [h['id'] for h in restart.history()] == ['web/3#6']


def test_a_request_placed_ahead_is_not_published(monkeypatch, tmp_path):
    """Each write of a unit bag is a hook on every other unit: one the plan holds already
    needs none; one it does not hold is published, once."""
    import json
    bags = {'web': {restart.PLAN_KEY: json.dumps({'last': 1, 'batches': [
                {'n': 1, 'units': {'web/1': 'web/1#2', 'web/0': 'web/0#4'}}]})},
            'web/0': {}, 'web/1': v2(done='web/1#1')}
    monkeypatch.setattr(restart.hookenv, 'is_leader', lambda: False)
    writes = fake_peers(monkeypatch, bags, me='web/1')
    kv = fresh_unit_state(monkeypatch, tmp_path / 'web1.db')
    kv.set(restart.COUNTER, 1)
    assert restart.request(['app'], 'config changed', {}) == 'web/1#2'
    restart.announce('cluster:0', kv.get(restart.PENDING))
    assert writes == [], 'the leader placed it ahead'
    bags['web'] = {}
    restart.announce('cluster:0', kv.get(restart.PENDING))
    restart.announce('cluster:0', kv.get(restart.PENDING))
    assert writes == [{restart.REQUEST_KEY: 'web/1#2'}], 'not in the plan: published once'


@pytest.mark.parametrize('case', ['alike', 'the changed option is overridden',
                                  'it has a place in the plan', 'the leader'])
def test_after_an_app_config_change_a_unit_waits_a_hook_for_the_leaders_place(
        monkeypatch, tmp_path, case):
    """Every unit publishing its request in config-changed is a hook on every other unit
    (N squared at N units): when the change reached every unit alike, the leader's
    plan write with every next request placed ahead comes instead."""
    import json
    bags = {'web': {}, 'web/0': {}, 'web/1': v2(done='web/1#1'), 'web/2': {}}
    if case == 'it has a place in the plan':
        bags['web'][restart.PLAN_KEY] = json.dumps(
            {'last': 1, 'batches': [{'n': 1, 'units': {'web/1': 'web/1#1', 'web/2': 'web/2#1'}}]})
        bags['web/1'] = {}
    monkeypatch.setattr(restart.hookenv, 'is_leader', lambda: case == 'the leader')
    writes = fake_peers(monkeypatch, bags, me='web/1')
    kv = fresh_unit_state(monkeypatch, tmp_path / 'web1.db')
    kv.set(restart.COUNTER, 1)
    config_changed_hook(monkeypatch, changed=(
        ('debug',) if case == 'the changed option is overridden' else ('message',)))
    assert restart.request(['app'], 'config changed', {}) == 'web/1#2'
    restart.announce('cluster:0', kv.get(restart.PENDING))
    if case != 'alike':
        assert writes == [{restart.REQUEST_KEY: 'web/1#2'}], case
        return
    assert writes == [], 'the leader places it ahead'
    # The next hook: the leader's plan write.
    monkeypatch.setattr(restart.hookenv, 'hook_name', lambda: 'cluster-relation-changed')
    bags['web'][restart.PLAN_KEY] = json.dumps(
        {'last': 1, 'batches': [{'n': 1, 'units': {'web/1': 'web/1#2', 'web/2': 'web/2#1'}}]})
    restart.announce('cluster:0', kv.get(restart.PENDING))
    assert writes == [], 'placed ahead: nothing to publish'
    # A plan that lacks it (the leader's files did not change): published then.
    bags['web'] = {}
    restart.announce('cluster:0', kv.get(restart.PENDING))
    assert writes == [{restart.REQUEST_KEY: 'web/1#2'}]


def test_a_paused_unit_gives_back_an_empty_place_but_holds_a_real_request(
        monkeypatch, tmp_path):
    import json
    bags = {'web': {restart.PLAN_KEY: json.dumps({'last': 1, 'batches': [
                {'n': 1, 'units': {'web/1': 'web/1#1', 'web/0': 'web/0#1'}}]})},
            'web/0': v2(request='web/0#1'), 'web/1': {}}
    monkeypatch.setattr(restart.hookenv, 'is_leader', lambda: False)
    fake_peers(monkeypatch, bags, me='web/1')
    kv = fresh_unit_state(monkeypatch, tmp_path / 'web1.db')
    kv.set(restart.PENDING, {'id': 'web/1#1', 'services': ['app'], 'restarted': False})
    kv.set(restart.COUNTER, 1)
    restarted = []
    restart.coordinate({'restart-batch-size': 2}, {}, restart=restarted.append, paused=True)
    assert restarted == [] and restart.DONE_KEY not in bags['web/1'], 'paused: held'
    kv.unset(restart.PENDING)
    kv.set(restart.COUNTER, 0)
    # A rolling restart announced meanwhile is not joined while paused.
    bags['web'][restart.ROLL_KEY] = json.dumps({'id': 'web/0@1', 'services': []})
    restart.coordinate({'restart-batch-size': 2}, {}, restart=restarted.append, paused=True)
    assert restarted == [] and bags['web/1'][restart.DONE_KEY] == 'web/1#1'
    assert kv.get(restart.PENDING) is None and kv.get(restart.ROLL_SEEN) is None


def test_a_later_batch_waits_only_for_the_nearest_batch_with_a_unit_still_here():
    """Entries are done only in their turn: the nearest batch vouches for those before."""
    plan = {'last': 3, 'batches': [{'n': 1, 'units': {'web/1': 'web/1#1', 'web/2': 'web/2#1'}},
                                   {'n': 2, 'units': {'web/3': 'web/3#1'}},
                                   {'n': 3, 'units': {'web/4': 'web/4#1'}}]}
    everyone = {'web/1', 'web/2', 'web/3', 'web/4'}
    assert rollplan.place_of(plan, 'web/4', 'web/4#1', everyone) == (3, {'web/3': ['web/3#1']})
    assert rollplan.place_of(plan, 'web/4', 'web/4#1') == (
        3, {'web/1': ['web/1#1'], 'web/2': ['web/2#1'], 'web/3': ['web/3#1']}), 'without live'
    # web/3 left before its turn: its batch vouches for nothing.
    assert rollplan.place_of(plan, 'web/4', 'web/4#1', everyone - {'web/3'})[1] == {
        'web/1': ['web/1#1'], 'web/2': ['web/2#1'], 'web/3': ['web/3#1']}
    assert rollplan.place_of(plan, 'web/3', 'web/3#1', everyone)[1] == {
        'web/1': ['web/1#1'], 'web/2': ['web/2#1']}


@pytest.mark.parametrize('publish', [True, False])
@pytest.mark.parametrize('count, size, idle', [(12, 4, ()), (6, 2, ('web/2', 'web/5')),
                                               (5, 1, ('web/1', 'web/2', 'web/3', 'web/4'))])
def test_a_roll_placed_ahead_restarts_who_asked_once_and_never_too_many(
        count, size, idle, publish):
    """Units that need no restart give their places back in their turn; the rest go in
    batches, each unit deciding its turn from the nearest earlier batch only.  A unit
    whose request the leader placed ahead need not publish it (``restart.announce``)."""
    names = ['web/{}'.format(n) for n in range(count)]
    leader = 'web/0'
    units = {u: {'request': '', 'done': '{}#1'.format(u)} for u in names}
    units[leader]['request'] = 'web/0#2'
    plan = rollplan.plan_restarts({}, {**units, **restart.ahead_requests({}, units, leader)},
                                  size, leader=leader)
    assert sum(len(b['units']) for b in plan['batches']) == count
    own = {u: '{}#2'.format(u) for u in names}    # every unit's request, or the place taken
    for u in names:
        if publish or u == leader:
            units[u]['request'] = own[u]
    restarted, waves, live = [], [], set(names)
    for _ in range(40):
        plan = rollplan.plan_restarts(plan, units, size, leader=leader)
        wave = []
        for u in names:
            n, earlier = rollplan.place_of(plan, u, own[u], live)
            if not rollplan.entry_done(own[u], units[u]) and n is not None and all(
                    rollplan.entry_done(r, units[x]) for x, ids in earlier.items() for r in ids):
                wave.append(u)
        if not wave:
            break
        waves.append([u for u in wave if u not in idle])
        for u in wave:
            if u not in idle:
                restarted.append(u)
            units[u] = dict(units[u], request='', done=own[u])
    assert leader in waves[-1] and max(len(w) for w in waves) <= size
    assert sorted(restarted) == sorted(u for u in names if u not in idle)
    assert all(not q['request'] for q in units.values())


class Clock:
    """time.time and time.sleep of a hook, without waiting: ``slept`` lists each sleep."""

    def __init__(self, monkeypatch, now=1000.0):
        self.now, self.slept = now, []
        monkeypatch.setattr(restart.time, 'time', lambda: self.now)
        monkeypatch.setattr(restart.time, 'sleep', self.sleep)

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def my_turn_came(hook_env, monkeypatch, me, leader):
    """``me`` holds the plan's only batch, its request open; a check that passes."""
    import json
    from charmhelpers.core import unitdata
    plan = {'last': 1, 'batches': [{'n': 1, 'units': {me: me + '#1'}}]}
    bags = {'web': {restart.PLAN_KEY: json.dumps(plan)}, 'web/0': {}, 'web/1': {},
            me: {restart.REQUEST_KEY: me + '#1'}}
    fake_peers(monkeypatch, bags, me=me)
    monkeypatch.setattr(restart.hookenv, 'is_leader', lambda: leader)
    monkeypatch.setattr(restart.hookenv, 'charm_dir', lambda: hook_env.charm_dir)
    unitdata.kv().set(restart.PENDING, {'id': me + '#1', 'services': ['app'],
                                        'restarted': False})

    def check():
        return True, 'ok'
    check.name = 'tcp 127.0.0.1:1'
    return bags, {'app': [check]}


@pytest.mark.parametrize('me, leader, interval', [
    ('web/1', False, 30),     # longer than restart-health-timeout
    ('web/0', True, 2),       # the leader places everyone's requests: it never sleeps
])
def test_the_batch_interval_is_not_slept_where_a_hook_would_wait_too_long(
        hook_env, monkeypatch, me, leader, interval):
    """The slot is held through the interval and given back at a later hook."""
    bags, checks = my_turn_came(hook_env, monkeypatch, me, leader)
    clock = Clock(monkeypatch)
    config = {'restart-batch-size': 1, 'restart-batch-interval': interval,
              'restart-health-timeout': 5}
    restarted = []
    restart.coordinate(config, checks, restart=restarted.append)
    assert restarted == ['app'] and clock.slept == []
    assert restart.DONE_KEY not in bags[me], 'the next batch waits for the interval'
    given_back = '00:16:42' if interval == 2 else '00:17:10'   # 1000 s + interval, UTC
    assert restart.status_check(config) == [
        ('active', 'Restarted app; restart slot given back after {} UTC'.format(given_back))]
    early = 20 if interval == 30 else 1      # still more than the hook may wait, or leader
    clock.now += early
    restart.coordinate(config, checks, restart=restarted.append)
    assert restart.DONE_KEY not in bags[me]
    clock.now += interval - early
    restart.coordinate(config, checks, restart=restarted.append)
    assert bags[me][restart.DONE_KEY] == me + '#1' and restarted == ['app']
    assert clock.slept == []


def test_an_interval_that_fits_in_the_hook_is_waited_for_there(hook_env, monkeypatch):
    bags, checks = my_turn_came(hook_env, monkeypatch, 'web/1', False)
    clock = Clock(monkeypatch)
    restart.coordinate({'restart-batch-size': 1, 'restart-batch-interval': 4,
                        'restart-health-timeout': 5}, checks, restart=lambda s: None)
    assert clock.slept == [4] and bags['web/1'][restart.DONE_KEY] == 'web/1#1'


def test_a_halted_unit_checks_once_in_later_hooks(hook_env, monkeypatch):
    """Only the hook that restarted waits restart-health-timeout for the checks."""
    import time
    bags, _ = my_turn_came(hook_env, monkeypatch, 'web/1', False)
    calls = []

    def check():
        calls.append(1)
        return healthy, 'refused'
    check.name = 'tcp 127.0.0.1:1'
    healthy = False
    config = {'restart-batch-size': 1, 'restart-health-timeout': 1}
    t0 = time.monotonic()
    restart.coordinate(config, {'app': [check]}, restart=lambda s: None)
    assert time.monotonic() - t0 >= 1 and len(calls) > 2
    assert bags['web/1'][restart.HALTED_KEY] == 'web/1#1'
    del calls[:]
    restart.coordinate(config, {'app': [check]}, restart=lambda s: None)
    assert len(calls) == 1 and restart.DONE_KEY not in bags['web/1']
    healthy = True
    restart.coordinate(config, {'app': [check]}, restart=lambda s: None)
    assert bags['web/1'][restart.DONE_KEY] == 'web/1#1' and bags['web/1'][restart.HALTED_KEY] == ''


def test_a_new_restart_of_a_halted_unit_waits_for_its_checks_again(hook_env, monkeypatch):
    from charmhelpers.core import unitdata
    my_turn_came(hook_env, monkeypatch, 'web/1', False)
    unitdata.kv().set(restart.PENDING, {'id': 'web/1#1', 'services': ['app'], 'restarted': True,
                                        'checked': True})
    restart.request(['app'], 'changed config.json', {})
    pending = unitdata.kv().get(restart.PENDING)
    assert pending['restarted'] is False and 'checked' not in pending


@pytest.mark.parametrize('value, ok', [(1, True), (600, True), (601, False), (3600, False)])
def test_the_health_timeout_is_capped(value, ok):
    from charms.layer.stackyard import options
    problems = options.check_values({'restart-health-timeout': value},
                                    {'restart-health-timeout': options._rules[
                                        'restart-health-timeout']})
    assert (problems == []) is ok
    if not ok:
        assert problems[0].startswith('restart-health-timeout: must be a whole number of '
                                      'seconds from 1 to 600'), problems
    assert operations


# ---- a lost slot holder: named by the leader, skipped by the operator -------------

def test_a_skipped_entry_holds_nobody_up_and_is_not_placed_again():
    units = units_with_requests(['web/1', 'web/2', 'web/3'])
    plan = rollplan.plan_restarts({}, units, 1)
    units['web/1'] = {'request': '', 'done': 'web/1#1'}
    assert turn_came(plan, 'web/2', 'web/2#1', units)
    assert not turn_came(plan, 'web/3', 'web/3#1', units), 'web/2 (lost) holds its slot'
    plan = rollplan.skip(plan, 'web/2', ['web/2#1'])
    assert plan['skipped'] == {'web/2': 'web/2#1'}
    assert turn_came(plan, 'web/3', 'web/3#1', units)
    plan = rollplan.plan_restarts(plan, units, 1)
    assert [b['units'] for b in plan['batches']] == [{'web/3': 'web/3#1'}], \
        'the lost unit still shows its request: not placed again'
    assert rollplan.sane_plan(json_roundtrip(plan)) == plan
    units['web/2'] = {'request': 'web/2#2', 'done': ''}        # it came back and asked anew
    plan = rollplan.plan_restarts(plan, units, 1)
    assert 'skipped' not in plan and plan['batches'][-1]['units'] == {'web/2': 'web/2#2'}


def json_roundtrip(value):
    import json
    return json.loads(json.dumps(value))


def lost_slot_holder(monkeypatch, hook_env):
    """Leader web/0 places web/1, web/2, web/3 at 1000 s (batch 1); web/1 takes its slot."""
    bags = {'web': {}, 'web/0': {}}
    for u in ('web/1', 'web/2', 'web/3'):
        bags[u] = {restart.REQUEST_KEY: u + '#1'}
    fake_peers(monkeypatch, bags)
    monkeypatch.setattr(restart.hookenv, 'is_leader', lambda: True)
    monkeypatch.setattr(restart.hookenv, 'charm_dir', lambda: hook_env.charm_dir)
    clock = Clock(monkeypatch)
    config = {'restart-batch-size': 1, 'restart-health-timeout': 30,
              'restart-batch-interval': 5}
    restart.coordinate(config, {})
    assert plan_of(bags) == [['web/1'], ['web/2'], ['web/3']]
    return bags, clock, config


def test_the_leader_names_a_unit_that_never_gives_its_slot_back(hook_env, monkeypatch):
    bags, clock, config = lost_slot_holder(monkeypatch, hook_env)
    assert restart.status_check(config) == []
    # restart-health-timeout 30 + restart-batch-interval 5 + the margin
    clock.now += 30 + 5 + restart.SLOT_MARGIN
    next_leader_hook(monkeypatch)
    restart.coordinate(config, {})                       # update-status, say
    assert restart.status_check(config) == [], 'not yet beyond the margin'
    clock.now += 12 * 60
    assert restart.status_check(config) == [('blocked', (
        'web/1 took a restart slot 13 min ago and never released it '
        '(run skip-restart unit=web/1 to go on without it)'))]
    monkeypatch.setattr(restart.hookenv, 'is_leader', lambda: False)
    assert restart.status_check(config) == [], 'only the leader says so'
    monkeypatch.setattr(restart.hookenv, 'is_leader', lambda: True)
    # web/1 gives its slot back after all: web/2's turn, on its own clock.
    bags['web/1'] = {restart.DONE_KEY: 'web/1#1'}
    next_leader_hook(monkeypatch)
    restart.coordinate(config, {})
    assert restart.status_check(config) == []
    clock.now += 30 + 5 + restart.SLOT_MARGIN + 1
    assert restart.status_check(config)[0][1].startswith('web/2 took a restart slot 1 min ago')


def test_skip_restart_lets_the_roll_go_on_and_the_unit_asks_again(hook_env, monkeypatch):
    import json
    from charmhelpers.core import unitdata
    bags, clock, config = lost_slot_holder(monkeypatch, hook_env)
    clock.now += 3600
    assert restart.skip('web/1') == 'web/1#1'
    assert plan_of(bags) == [['web/2'], ['web/3']]
    next_leader_hook(monkeypatch)
    restart.coordinate(config, {})
    assert restart.status_check(config) == [], 'web/2 just took its slot'
    assert json.loads(bags['web'][restart.PLAN_KEY])['skipped'] == {'web/1': 'web/1#1'}
    # web/2 sees its turn come without waiting for web/1
    fake_peers(monkeypatch, bags, me='web/2')
    monkeypatch.setattr(restart.hookenv, 'is_leader', lambda: False)
    unitdata.kv().unset(restart.SLOTS)
    unitdata.kv().set(restart.PENDING, {'id': 'web/2#1', 'services': ['app'],
                                        'restarted': False})
    restarted = []
    restart.coordinate(config, {}, restart=restarted.append)
    assert restarted == ['app']
    # web/1 comes back with its request still open: it asks anew, and restarts once more.
    unitdata.kv().unset(restart.PENDING)
    fake_peers(monkeypatch, bags, me='web/1')
    unitdata.kv().set(restart.COUNTER, 1)
    unitdata.kv().set(restart.PENDING, {'id': 'web/1#1', 'services': ['app'],
                                        'restarted': True})
    restart.coordinate(config, {}, restart=restarted.append)
    assert bags['web/1'][restart.REQUEST_KEY] == 'web/1#2'
    assert unitdata.kv().get(restart.PENDING)['restarted'] is False


@pytest.mark.parametrize('leader, unit, error', [
    (False, 'web/1', 'only the leader skips restarts: run it on web/leader'),
    (True, '', "unit must name a unit of web (like web/3), not ''"),
    (True, None, 'unit must name a unit of web (like web/3), not None'),
    (True, 'db/1', "unit must name a unit of web (like web/3), not 'db/1'"),
    (True, 'web/1 ', "unit must name a unit of web (like web/3), not 'web/1 '"),
    (True, 'web/0', 'web/0 is the leader: it gives its own slot back'),
    (True, 'web/9', 'web/9 has no unfinished restart in the plan: nothing to skip'),
    (True, 'web/4', 'web/4 has no unfinished restart in the plan: nothing to skip'),
])
def test_skip_restart_refuses_naming_why(hook_env, monkeypatch, leader, unit, error):
    bags, _, _ = lost_slot_holder(monkeypatch, hook_env)
    bags['web/4'] = {}
    before = dict(bags['web'])
    monkeypatch.setattr(restart.hookenv, 'is_leader', lambda: leader)
    with pytest.raises(ValueError) as e:
        restart.skip(unit)
    assert str(e.value) == error
    assert bags['web'] == before


def peer_change_from(monkeypatch, remote):
    """A ``cluster-relation-changed`` hook on the leader for ``remote``'s write."""
    monkeypatch.setattr(restart.hookenv, 'relation_id', lambda *a, **k: 'cluster:0')
    monkeypatch.setattr(restart.hookenv, 'remote_unit', lambda: remote)


def count_reads(monkeypatch):
    """The unit bags read, by unit (each ``relation-get`` is a call to the agent)."""
    read, real = [], restart.hookenv.relation_get

    def relation_get(attribute=None, unit=None, rid=None, app=None):
        if unit:
            read.append(unit)
        return real(attribute=attribute, unit=unit, rid=rid, app=app)
    monkeypatch.setattr(restart.hookenv, 'relation_get', relation_get)
    return read


def rolling(count, size, done_batches):
    """Bags of ``count`` units, every request placed ahead in batches of ``size``,
    the first ``done_batches`` of them done."""
    import json
    names = ['web/{}'.format(i) for i in range(count)]
    others = names[1:]
    batches = [{'n': i // size + 1, 'units': {u: u + '#1' for u in others[i:i + size]}}
               for i in range(0, len(others), size)]
    batches.append({'n': len(batches) + 1, 'units': {'web/0': 'web/0#1'}})
    bags = {'web': {restart.PLAN_KEY: json.dumps({'last': len(batches), 'batches': batches})}}
    for k, batch in enumerate(batches):
        for u in batch['units']:
            bags[u] = ({'stackyard-restart-done': u + '#1'} if k < done_batches
                       else {'stackyard-restart-request': u + '#1'} if u == 'web/0' else {})
    return bags


def test_in_a_peer_change_the_leader_reads_the_running_batch_not_every_unit(monkeypatch):
    """300 units, batches of 30: a peer's write costs the leader ~one batch of reads."""
    bags = rolling(300, 30, done_batches=3)
    fake_peers(monkeypatch, bags)
    leader_hook(monkeypatch)
    peer_change_from(monkeypatch, 'web/60')
    read = count_reads(monkeypatch)
    restart.coordinate({'restart-batch-size': 30}, {}, restart=[].append)
    assert len(set(read)) > 90, 'a first hook reads the finished batches once'
    next_leader_hook(monkeypatch)
    peer_change_from(monkeypatch, 'web/95')
    read.clear()
    restart.coordinate({'restart-batch-size': 30}, {}, restart=[].append)
    assert 'web/95' in read and 'web/0' in read
    # The finished batches still in the plan, the running batch, one unit of each
    # later batch, the last batch before the leader's own (its turn), the remote unit.
    assert len(set(read)) <= 90 + 30 + 6 + 30 + 1, sorted(set(read))
    # Every hook that is not a peer change reads every bag (a new leader, say).
    monkeypatch.setattr(restart.hookenv, 'remote_unit', lambda: None)
    read.clear()
    next_leader_hook(monkeypatch)
    restart.coordinate({'restart-batch-size': 30}, {}, restart=[].append)
    assert len(set(read)) == 300


def test_a_peer_change_places_the_remote_units_new_request(monkeypatch):
    """The remote unit's request is placed; another's waits for its own hook (Juju runs
    one on the leader for every write) or for a hook that reads every bag."""
    bags = rolling(7, 2, done_batches=4)
    bags['web/5'] = {'stackyard-restart-request': 'web/5#2', 'stackyard-restart-done': 'web/5#1'}
    bags['web/6'] = {'stackyard-restart-request': 'web/6#2', 'stackyard-restart-done': 'web/6#1'}
    bags['web/0'] = {'stackyard-restart-done': 'web/0#1'}
    fake_peers(monkeypatch, bags)
    peer_change_from(monkeypatch, 'web/6')
    restart.schedule('cluster:0', 2)
    assert plan_of(bags) == [['web/6']]
    monkeypatch.setattr(restart.hookenv, 'relation_id', lambda *a, **k: None)
    monkeypatch.setattr(restart.hookenv, 'remote_unit', lambda: None)
    next_leader_hook(monkeypatch)
    restart.schedule('cluster:0', 2)
    assert plan_of(bags) == [['web/5', 'web/6']]
