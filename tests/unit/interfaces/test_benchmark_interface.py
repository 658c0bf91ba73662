"""interface:benchmark: runs round-trip; bad or spoofed runs are refused; big runs go by HTTP."""

import http.server
import json
import threading

import pytest

from charms.layer import benchmark

import iface


requires = iface.load('benchmark', 'requires')
provides = iface.load('benchmark', 'provides')


def make_run(unit='web/0', samples=3, name='http'):
    run = benchmark.Run(name, {'duration': 5}, unit=unit, charm='web', revision='3')
    run.metric('requests', 100.0, 'req/s', 'higher', samples=[100.0] * samples)
    return run.finish().data


def test_runs_round_trip_through_the_relation_keys():
    runs = [make_run(), make_run()]
    text = json.dumps(provides.newest_that_fit([provides.entry_for(r) for r in runs]))
    got, pointers, errors = requires.parse_runs(text, 'web/0')
    assert got == runs and pointers == [] and errors == []
    assert requires.parse_benchmarks(json.dumps(['benchmark-http'])) == ['benchmark-http']
    assert requires.parse_runs(None, 'web/0') == ([], [], [])


def test_a_run_naming_another_unit_is_refused():
    text = json.dumps([make_run(unit='web/1'), make_run()])
    got, _, errors = requires.parse_runs(text, 'web/0')
    assert len(got) == 1 and len(errors) == 1 and "names unit 'web/1'" in errors[0]


def test_malformed_runs_are_errors_and_the_good_ones_stay():
    bad = make_run()
    bad['metrics']['requests']['value'] = 'lots'
    got, _, errors = requires.parse_runs(json.dumps([bad, 'x', make_run()]), 'web/0')
    assert len(got) == 1
    assert "'lots' is not a finite number" in errors[0] and 'JSON object' in errors[1]


@pytest.mark.parametrize('text, message', [
    ('{not json', 'runs is not JSON'), ('{}', 'must be a list'),
    (json.dumps([{}] * 201), 'at most 200')])
def test_unusable_runs_key(text, message):
    with pytest.raises(requires.Invalid, match=message):
        requires.parse_runs(text, 'web/0')


@pytest.mark.parametrize('text', ['nope', '["Bad_Name"]', '{"a": 1}', '[1]'])
def test_unusable_benchmarks_key(text):
    with pytest.raises(requires.Invalid):
        requires.parse_benchmarks(text)


def test_a_big_run_becomes_a_pointer_and_the_list_keeps_the_newest_that_fit():
    big = make_run(samples=3000)
    entry = provides.entry_for(big)
    assert entry == {'id': big['id'], 'benchmark': 'http', 'pushed': True}
    got, pointers, errors = requires.parse_runs(json.dumps([entry]), 'web/0')
    assert pointers == [{'id': big['id'], 'benchmark': 'http'}] and not got and not errors
    many = [make_run(samples=300) for _ in range(20)]
    kept = provides.newest_that_fit(many)
    assert kept == many[-len(kept):] and 0 < len(kept) < 20
    assert len(json.dumps(kept)) <= provides.RUNS_BYTES


def test_push_posts_the_run_to_a_real_http_server():
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802  http.server's naming
            length = int(self.headers['Content-Length'])
            received.append((self.path, self.headers['Content-Type'],
                             json.loads(self.rfile.read(length))))
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        run = make_run(samples=3000)
        url = 'http://127.0.0.1:{}/api/runs'.format(server.server_address[1])
        assert provides.push(url, run) == 201
    finally:
        server.shutdown()
    assert received == [('/api/runs', 'application/json', run)]


# Suites: the collector's request, the unit's answer (see the README).

class _Relations:
    """An endpoint's relations as plain objects (what charms.reactive would build)."""

    @staticmethod
    def relation(rid, app, units, app_bag=None):
        from types import SimpleNamespace
        return SimpleNamespace(relation_id=rid, application_name=app, received_app_raw=app_bag
                               or {}, units=[SimpleNamespace(unit_name=u, received_raw=bag)
                                             for u, bag in units.items()])


@pytest.fixture
def hook(tmp_path, monkeypatch):
    from charmhelpers.core import hookenv, unitdata
    sets = []
    monkeypatch.setattr(hookenv, 'relation_set',
                        lambda rid, data, app=False: sets.append((rid, dict(data), app)))
    monkeypatch.setattr(hookenv, 'log', lambda *a, **k: None)
    yield sets
    unitdata._KV = None


def test_the_collector_asks_each_application_for_what_its_units_list(hook):
    class Requires(requires.BenchmarkRequires):
        relations = [
            _Relations.relation('benchmark:1', 'ci-worker', {
                'ci-worker/0': {'benchmarks': '["benchmark-cpu", "benchmark-disk"]'},
                'ci-worker/1': {'benchmarks': '["benchmark-disk"]'}}),
            _Relations.relation('benchmark:2', 'afs-mirror', {
                'afs-mirror/0': {'benchmarks': '["benchmark-http"]'}}),
            _Relations.relation('benchmark:3', 'idle', {'idle/0': {}})]
    endpoint = Requires.__new__(Requires)
    expected = endpoint.request_suite('suite-0001', '2026-12-06T20:00:00.000000Z',
                                      {'benchmark-disk', 'benchmark-http'})
    assert expected == {'ci-worker/0': ['benchmark-disk'], 'ci-worker/1': ['benchmark-disk'],
                        'afs-mirror/0': ['benchmark-http']}
    assert hook == [
        ('benchmark:1', {'suite': '{"benchmarks": ["benchmark-disk"], "expires": '
                                  '"2026-12-06T20:00:00.000000Z", "id": "suite-0001"}'}, True),
        ('benchmark:2', {'suite': '{"benchmarks": ["benchmark-http"], "expires": '
                                  '"2026-12-06T20:00:00.000000Z", "id": "suite-0001"}'}, True)]
    assert endpoint.request_suite('suite-0002', 'x', {'benchmark-nope'}) == {}


@pytest.mark.parametrize('text, ok', [
    ('{"id": "s1", "state": "done", "benchmarks": ["b"], "runs": ["r"], "errors": []}', True),
    ('{"id": "s1", "state": "finished", "benchmarks": [], "runs": [], "errors": []}', False),
    ('{"id": "s1", "state": "done", "benchmarks": [], "runs": [1], "errors": []}', False),
    ('[]', False), ('nope', False)])
def test_answers_are_checked(text, ok):
    if ok:
        assert requires.parse_answer(text)['runs'] == ['r']
    else:
        with pytest.raises(requires.Invalid, match='^suite '):
            requires.parse_answer(text)


@pytest.mark.parametrize('text', [
    'nope', '{"id": "short", "benchmarks": [], "expires": "2026-12-06T20:00:00.000000Z"}',
    '{"id": "suite-0001", "benchmarks": ["Bad Name"], "expires": "2026-12-06T20:00:00Z"}',
    '{"id": "suite-0001", "benchmarks": []}', '{"id": "suite-0001"}'])
def test_bad_suite_requests_are_refused(text):
    with pytest.raises(ValueError):
        provides.parse_request(text)


def test_a_unit_starts_a_requested_suite_once_and_answers_when_it_is_done(hook, monkeypatch):
    started, results = [], {}
    monkeypatch.setattr(benchmark, 'registered', lambda: ['benchmark-disk'])
    monkeypatch.setattr(benchmark, 'suite_spec', lambda sid, names, module, urls: {
        'id': sid, 'names': names, 'module': module, 'urls': urls})
    monkeypatch.setattr(benchmark, 'start_suite', started.append)
    monkeypatch.setattr(benchmark, 'suite_result', results.get)
    request = ('{"id": "suite-0001", "benchmarks": ["benchmark-disk", "benchmark-http"], '
               '"expires": "2026-12-06T20:00:00.000000Z"}')
    monkeypatch.setattr(benchmark, 'now', lambda: '2026-12-06T19:00:00.000000Z')

    class Provides(provides.BenchmarkProvides):
        relations = [_Relations.relation('benchmark:4', 'benchmark-collector', {
            'benchmark-collector/0': {'api-url': 'http://10.0.0.9:8080/api/runs'}},
            {'suite': request})]
    endpoint = Provides.__new__(Provides)
    endpoint.serve_suites('charms.layer.ci_worker.bench')
    assert started == [{'id': 'suite-0001', 'names': ['benchmark-disk'],
                        'module': 'charms.layer.ci_worker.bench',
                        'urls': ['http://10.0.0.9:8080/api/runs']}]
    answer = json.loads(hook[-1][1]['suite'])
    assert answer == {'id': 'suite-0001', 'state': 'running', 'benchmarks': ['benchmark-disk'],
                      'runs': [], 'errors': ['not here: benchmark-http']}
    endpoint.serve_suites('charms.layer.ci_worker.bench')        # still running
    assert len(started) == 1 and len(hook) == 1
    run = make_run(unit='ci-worker/0', name='disk')
    results['suite-0001'] = {'id': 'suite-0001', 'state': 'done', 'runs': [run], 'errors': []}
    endpoint.serve_suites('charms.layer.ci_worker.bench')
    assert json.loads(hook[-2][1]['runs']) == [run]               # published on the relation
    answer = json.loads(hook[-1][1]['suite'])
    assert answer['state'] == 'done' and answer['runs'] == [run['id']]
    assert requires.parse_answer(hook[-1][1]['suite'])['state'] == 'done'
    endpoint.serve_suites('charms.layer.ci_worker.bench')        # nothing new
    assert len(started) == 1 and len(hook) == 3


def test_a_request_first_seen_after_it_expired_is_not_run(hook, monkeypatch):
    started = []
    monkeypatch.setattr(benchmark, 'start_suite', started.append)
    monkeypatch.setattr(benchmark, 'now', lambda: '2026-12-06T21:00:00.000000Z')

    class Provides(provides.BenchmarkProvides):
        relations = [_Relations.relation('benchmark:4', 'benchmark-collector', {}, {
            'suite': '{"id": "suite-0001", "benchmarks": ["benchmark-disk"], '
                     '"expires": "2026-12-06T20:00:00.000000Z"}'})]
    Provides.__new__(Provides).serve_suites('charms.layer.ci_worker.bench')
    assert started == [] and hook == []
