"""Restart batches: never more than the batch size, each batch after the last is done."""

import pytest

from charms.layer.stackyard import health, restart


def units_with_requests(names, done=()):
    return {u: {'request': '{}#1'.format(u), 'done': '{}#1'.format(u) if u in done else ''}
            for u in names}


def simulate(names, batch_size, fail=()):
    """Run the leader's planner and the units' releases to the end.

    Units in ``fail`` never become healthy: they report a halted restart.

    :returns: the list of grant waves (each a sorted list of newly granted units)
    """
    units = units_with_requests(names)
    batch, batches = {}, []
    for _ in range(50):
        new = restart.plan_batch(batch, units, batch_size)
        assert len(new['granted']) <= batch_size
        fresh = sorted(set(new['granted']) - set(batch.get('granted') or {}),
                       key=restart._unit_key)
        if fresh:
            batches.append(fresh)
        batch = new
        progressed = False
        for u, rid in batch['granted'].items():
            if units[u]['done'] == rid:
                continue
            if u in fail:
                units[u]['halted'] = rid
            else:
                units[u] = {'request': '', 'done': rid}
                progressed = True
        if not progressed:
            break
    return batches


@pytest.mark.parametrize('count, size', [(6, 1), (6, 2), (6, 4), (12, 2), (12, 4), (3, 5)])
def test_every_unit_once_never_more_than_size(count, size):
    names = ['web/{}'.format(i) for i in range(count)]
    batches = simulate(names, size)
    flat = [u for b in batches for u in b]
    assert sorted(flat, key=restart._unit_key) == names
    assert all(len(b) <= size for b in batches)
    assert len(batches) == -(-count // size)


def test_numeric_unit_order():
    assert simulate(['web/10', 'web/2', 'web/1'], 1) == [['web/1'], ['web/2'], ['web/10']]


def test_a_unit_that_never_becomes_healthy_halts_the_roll():
    names = ['web/{}'.format(i) for i in range(6)]
    batches = simulate(names, 2, fail={'web/1'})
    assert batches == [['web/0', 'web/1']]


def test_late_requests_join_the_batch_until_it_is_sealed():
    units = units_with_requests(['web/0'])
    batch = restart.plan_batch({}, units, 2)
    assert batch['granted'] == {'web/0': 'web/0#1'} and batch['n'] == 1
    units.update(units_with_requests(['web/1', 'web/2']))
    batch = restart.plan_batch(batch, units, 2)
    assert batch['granted'] == {'web/0': 'web/0#1', 'web/1': 'web/1#1'} and batch['n'] == 1
    units['web/0'] = {'request': '', 'done': 'web/0#1'}
    batch = restart.plan_batch(batch, units, 2)
    assert batch['granted'] == {'web/0': 'web/0#1', 'web/1': 'web/1#1'}, 'no new batch yet'
    assert batch['sealed']
    units['web/1'] = {'request': '', 'done': 'web/1#1'}
    batch = restart.plan_batch(batch, units, 2)
    assert batch['granted'] == {'web/2': 'web/2#1'} and batch['n'] == 2


def test_sealed_batch_takes_no_latecomers():
    units = units_with_requests(['web/0', 'web/1'])
    batch = restart.plan_batch({}, units, 3)
    units['web/0'] = {'request': '', 'done': 'web/0#1'}
    units.update(units_with_requests(['web/2']))
    batch = restart.plan_batch(batch, units, 3)
    assert 'web/2' not in batch['granted'] and batch['sealed']


def test_halted_unit_keeps_its_slot_and_blocks_new_grants():
    units = units_with_requests(['web/0', 'web/1', 'web/2'])
    batch = restart.plan_batch({}, units, 2)
    units['web/1']['halted'] = 'web/1#1'
    units['web/0'] = {'request': '', 'done': 'web/0#1'}
    batch = restart.plan_batch(batch, units, 2)
    assert batch['granted'] == {'web/0': 'web/0#1', 'web/1': 'web/1#1'}
    units['web/1'] = {'request': '', 'done': 'web/1#1', 'halted': ''}
    batch = restart.plan_batch(batch, units, 2)
    assert batch['granted'] == {'web/2': 'web/2#1'}


def test_departed_units_lose_their_grant_and_the_roll_goes_on():
    units = units_with_requests(['web/0', 'web/1', 'web/2'])
    batch = restart.plan_batch({}, units, 2)
    assert set(batch['granted']) == {'web/0', 'web/1'}
    del units['web/1']                       # its machine went away
    units['web/0'] = {'request': '', 'done': 'web/0#1'}
    batch = restart.plan_batch(batch, units, 2)
    assert batch['granted'] == {'web/2': 'web/2#1'}


def test_new_leader_continues_from_recorded_state():
    units = units_with_requests(['web/0', 'web/1', 'web/2', 'web/3'])
    batch = restart.plan_batch({}, units, 2)
    assert batch['granted'] == {'web/0': 'web/0#1', 'web/1': 'web/1#1'}
    # web/0 (the old leader) restarted and released, then its machine vanished.
    units['web/0'] = {'request': '', 'done': 'web/0#1'}
    batch = restart.plan_batch(batch, units, 2)
    del units['web/0']
    # The new leader plans from the same bags: web/1 still holds its slot.
    again = restart.plan_batch(batch, units, 2)
    assert again['granted'] == {'web/1': 'web/1#1'}
    units['web/1'] = {'request': '', 'done': 'web/1#1'}
    nxt = restart.plan_batch(again, units, 2)
    assert nxt['granted'] == {'web/2': 'web/2#1', 'web/3': 'web/3#1'}


def test_should_restart_once_per_request():
    pending = {'id': 'web/0#3', 'services': ['a'], 'restarted': False}
    assert restart.should_restart(pending, 'web/0#3', 'web/0#2')
    assert not restart.should_restart(pending, 'web/0#2', '')
    assert not restart.should_restart(pending, 'web/0#3', 'web/0#3')
    assert not restart.should_restart(dict(pending, restarted=True), 'web/0#3', '')
    assert not restart.should_restart(None, 'web/0#3', '')


def test_wait_healthy_gives_up_after_the_timeout():
    now = [0.0]
    calls = []

    def check():
        calls.append(now[0])
        return False, 'refused'
    check.name = 'tcp 127.0.0.1:1'
    ok, results = health.wait_healthy({'svc': [check]}, 5, interval=1,
                                      clock=lambda: now[0],
                                      sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert not ok
    assert health.describe(results[0]) == 'svc tcp 127.0.0.1:1 (refused)'
    assert len(calls) == 6


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


@pytest.mark.parametrize('batch', [
    {'n': 'seven', 'granted': ['web/0']},
    {'n': 1, 'granted': {'web/0': 5}},
    {'granted': None, 'sealed': 'yes'},
    [],
])
def test_malformed_batch_data_is_ignored_not_fatal(batch):
    units = units_with_requests(['web/0', 'web/1'])
    new = restart.plan_batch(batch, units, 2)
    assert set(new['granted']) <= {'web/0', 'web/1'} and isinstance(new['n'], int)
