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


@pytest.mark.parametrize('url, parts', [
    ('http://127.0.0.1:8080/', ('http', '127.0.0.1', 8080, '/')),
    ('http://web.local', ('http', 'web.local', 80, '/')),
    ('HTTPS://user:pw@api:8443/v3/x?y=1#frag', ('https', 'api', 8443, '/v3/x?y=1')),
    ('http://[::1]:9000/health', ('http', '::1', 9000, '/health')),
    ('http://[::1]/', ('http', '::1', 80, '/')),
])
def test_split_url(url, parts):
    assert health.split_url(url) == parts


@pytest.mark.parametrize('url', ['ftp://x/', 'localhost:80', 'http://:80/', 'http://h:0/',
                                 'http://h:port/'])
def test_split_url_refuses(url):
    with pytest.raises(ValueError):
        health.split_url(url)


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
    assert not ok and detail.startswith('not an HTTP reply')


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


def test_leader_writes_the_app_bag_only_when_grants_change(monkeypatch):
    """Each app-bag write wakes every other unit: sealing alone is not written."""
    import json

    from charmhelpers.core import hookenv
    bags = {'web': {}, 'web/0': {'stackyard-restart-request': 'web/0#1'},
            'web/1': {'stackyard-restart-request': 'web/1#1'}}
    writes = []

    def relation_get(attribute=None, unit=None, rid=None, app=None):
        return dict(bags[app or unit])

    def relation_set(relation_id=None, relation_settings=None, app=False):
        writes.append(dict(relation_settings))
        bags['web' if app else 'web/0'].update(relation_settings)
    monkeypatch.setattr(hookenv, 'relation_get', relation_get)
    monkeypatch.setattr(hookenv, 'relation_set', relation_set)
    monkeypatch.setattr(hookenv, 'related_units', lambda rid: ['web/1'])
    monkeypatch.setattr(hookenv, 'local_unit', lambda: 'web/0')
    monkeypatch.setattr(hookenv, 'application_name', lambda: 'web')
    restart.schedule('cluster:0', 2)
    assert len(writes) == 1
    granted = json.loads(writes[0][restart.BATCH_KEY])['granted']
    assert granted == {'web/0': 'web/0#1', 'web/1': 'web/1#1'}
    restart.schedule('cluster:0', 2)
    assert len(writes) == 1, 'nothing changed, nothing written'
    bags['web/0'] = {'stackyard-restart-done': 'web/0#1'}
    restart.schedule('cluster:0', 2)
    assert len(writes) == 1, 'the batch is sealed now, but that is derived, not written'
    bags['web/1'] = {'stackyard-restart-done': 'web/1#1'}
    bags['web/0'] = {'stackyard-restart-request': 'web/0#2', 'stackyard-restart-done': 'web/0#1'}
    restart.schedule('cluster:0', 2)
    assert len(writes) == 2
    assert json.loads(writes[1][restart.BATCH_KEY]) == {'n': 2, 'granted': {'web/0': 'web/0#2'},
                                                        'sealed': False}
