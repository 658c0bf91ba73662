"""benchmark-collector charm logic: config rules, the database choice, ingest, actions."""

import csv
import json
import os

import pytest

from charmhelpers.core import hookenv, unitdata
from charms.layer.stackyard import actions as sy_actions
from charms.layer.stackyard import options
from charms.layer.benchmark_collector import actions, checks, collect, contexts, paths
from collector_runs import make_run, stamp

CHARM = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'charms',
                     'benchmark-collector')


GOOD = {'port': 8080, 'database-uri': '', 'threshold': 0.05, 'alpha': 0.05}


RULES = {'port': contexts.port_reason, 'threshold': contexts.threshold_reason,
         'alpha': contexts.alpha_reason, 'database-uri': contexts.database_uri_reason}


class Unit:
    """The hook environment of a collector unit: config, relations, secrets."""

    def __init__(self, tmp_path):
        self.config = dict(GOOD)
        self.relations = {}          # rid -> (units, app bag)
        self.secrets = {}
        self.sets = []
        self.leader = True
        self.logs = []


@pytest.fixture
def unit(tmp_path, monkeypatch):
    u = Unit(tmp_path)
    monkeypatch.setenv('UNIT_STATE_DB', str(tmp_path / 'unit-state.db'))
    monkeypatch.setattr(unitdata, '_KV', None)
    monkeypatch.setattr(options, 'config', lambda: u.config)
    monkeypatch.setattr(paths, 'SQLITE', str(tmp_path / 'runs.sqlite'))
    monkeypatch.setattr(paths, 'EXPORTS', str(tmp_path / 'exports'))
    monkeypatch.setattr(hookenv, 'relation_ids', lambda name=None: sorted(u.relations))
    monkeypatch.setattr(hookenv, 'related_units', lambda rid=None: u.relations[rid][0])
    monkeypatch.setattr(hookenv, 'relation_get',
                        lambda rid=None, app=None, **kw: dict(u.relations[rid][1]))
    monkeypatch.setattr(hookenv, 'relation_set',
                        lambda rid, data, app=False: u.sets.append((rid, data, app)))
    monkeypatch.setattr(hookenv, 'is_leader', lambda: u.leader)
    monkeypatch.setattr(hookenv, 'log', lambda msg, level=None: u.logs.append(msg))
    monkeypatch.setattr(contexts, 'secret_field',
                        lambda sid, key: u.secrets.get(sid, {}).get(key))
    monkeypatch.setattr('charmhelpers.core.host.mkdir',
                        lambda path, **kw: os.makedirs(path, exist_ok=True))
    yield u
    unitdata._KV = None


def test_the_charm_declares_what_its_code_uses():
    import yaml
    with open(os.path.join(CHARM, 'config.yaml')) as f:
        declared = yaml.safe_load(f)['options']
    assert set(declared) == {'port', 'database-uri', 'threshold', 'alpha'}
    with open(os.path.join(CHARM, 'actions.yaml')) as f:
        assert set(yaml.safe_load(f)) == {'set-baseline', 'compare', 'export', 'run-suite'}
    with open(os.path.join(CHARM, 'metadata.yaml')) as f:
        meta = yaml.safe_load(f)
    assert meta['requires']['database']['interface'] == 'postgresql_client'
    assert meta['requires']['benchmark']['interface'] == 'benchmark'


@pytest.mark.parametrize('option, value, reason', [
    ('port', 0, 'must be a TCP port'), ('port', True, 'must be a TCP port'),
    ('threshold', -0.1, 'fraction'), ('threshold', 1.5, 'fraction'),
    ('alpha', 0, 'significance'), ('alpha', 0.5, 'significance'),
    ('database-uri', 'mysql://x/y', 'must be postgresql://'),
    ('database-uri', 'postgresql://db.example/', 'must be postgresql://'),
    ('database-uri', 'postgresql://u:pw@db.example/bench', 'holds a password'),
])
def test_bad_config_is_refused_naming_the_reason(option, value, reason):
    assert reason in RULES[option](value)


@pytest.mark.parametrize('option, value', [
    ('port', 8080), ('threshold', 0), ('threshold', 0.1), ('alpha', 0.01),
    ('database-uri', ''), ('database-uri', 'postgresql://u@db.example:5432/bench'),
    ('database-uri', 'secret:abc123')])
def test_good_config_passes(option, value):
    assert RULES[option](value) is None


def test_database_choice_config_then_relation_then_sqlite(unit):
    assert contexts.database_uri() == paths.SQLITE
    assert contexts.describe(contexts.database_uri()) == 'SQLite'
    # PostgreSQL answered on `database`, credentials in a Juju secret.
    unit.relations['database:5'] = (['postgresql/0'], {
        'endpoints': '10.0.0.9:5432,10.0.0.10:5432', 'database': 'benchmarks',
        'secret-user': 'secret:pg1'})
    assert contexts.database_uri() == paths.SQLITE        # the secret is not readable yet
    unit.secrets['secret:pg1'] = {'username': 'relation-5', 'password': 'p@ss/word'}
    assert contexts.database_uri() == \
        'postgresql://relation-5:p%40ss%2Fword@10.0.0.9:5432/benchmarks'
    assert contexts.describe(contexts.database_uri()) == 'PostgreSQL 10.0.0.9/benchmarks'
    # Without Juju secrets the same keys arrive in the bag.
    unit.relations['database:5'] = (['postgresql/0'], {
        'endpoints': '10.0.0.9:5432', 'username': 'u', 'password': 'p'})
    assert contexts.database_uri() == 'postgresql://u:p@10.0.0.9:5432/benchmarks'
    unit.config['database-uri'] = 'postgresql://me@db.example/bench'
    assert contexts.database_uri() == 'postgresql://me@db.example/bench'
    unit.config['database-uri'] = 'secret:cfg'
    assert contexts.database_uri() is None                 # unreadable: not ready
    unit.secrets['secret:cfg'] = {'uri': 'postgresql://me:pw@db.example/bench'}
    assert contexts.database_uri() == 'postgresql://me:pw@db.example/bench'


def test_the_leader_requests_the_database(unit):
    unit.relations['database:5'] = (['postgresql/0'], {})
    contexts.request_database()
    assert unit.sets == [('database:5', {'database': 'benchmarks'}, True)]
    unit.leader = False
    contexts.request_database()
    assert len(unit.sets) == 1


def received(runs=(), errors=(), pointers=()):
    return [{'unit': 'web/0', 'application': 'web', 'benchmarks': ['benchmark-http'],
             'runs': list(runs), 'errors': list(errors), 'pointers': list(pointers)}]


def test_ingest_stores_runs_once_and_counts_bad_items_once(unit):
    runs = [make_run(seed=i, start=stamp(i)) for i in range(3)]
    db = collect.open_store()
    assert collect.ingest(received(runs, ['run x: bad'], [{'id': 'big-1'}]), db) == 3
    assert collect.ingest(received(runs, ['run x: bad'], [{'id': 'big-1'}]), db) == 0
    assert db.count() == 3
    assert collect.rejected_count() == 1 and collect.missing_runs() == ['big-1']
    assert [m for m in unit.logs if 'ignored bad data' in m] == [
        'benchmark: ignored bad data from web/0: run x: bad']
    assert checks.database_check() is None
    assert checks.ready_message() == ('Serving on port 8080 (SQLite, 3 runs); 1 bad run(s) '
                                      'ignored (see debug-log); 1 pushed run(s) not received')


def test_an_unreachable_database_blocks_naming_it(unit):
    unit.config['database-uri'] = 'postgresql://nobody@127.0.0.1:1/none'
    state, message = checks.database_check()
    assert state == 'blocked' and message.startswith('cannot open the postgresql database')


@pytest.fixture
def stored(unit):
    db = collect.open_store()
    runs = [make_run(seed=i, start=stamp(i)) for i in range(3)]
    runs.append(make_run(seed=7, start=stamp(7), rps=600.0))
    for run in runs:
        db.add_run(run, stamp(0))
    db.close()
    return runs


def test_set_baseline_and_compare_newest_against_it(stored):
    out = actions.set_baseline({'benchmark': 'http', 'run-id': stored[0]['id']})
    assert out['run-id'] == stored[0]['id'] and out['benchmark'] == 'http'
    result = actions.compare_action({'benchmark': 'http'})
    assert (result['verdict'], result['base'], result['candidate']) == (
        'worse', stored[0]['id'], stored[-1]['id'])
    assert result['metrics.requests.verdict'] == 'worse'
    assert json.loads(result['comparison'])['metrics']['requests']['test'] == 'welch-t'
    same = actions.compare_action({'base': stored[0]['id'], 'candidate': stored[1]['id']})
    assert same['verdict'] == 'unchanged'
    with pytest.raises(sy_actions.ActionFailed, match='is worse than'):
        actions.compare_action({'benchmark': 'http', 'fail-on-worse': True})
    from charms.layer import benchmark
    assert all(benchmark.valid_key(k) for k in result)


def test_set_baseline_to_the_newest_run(stored):
    assert actions.set_baseline({'benchmark': 'http'})['run-id'] == stored[-1]['id']


@pytest.mark.parametrize('action, params, message', [
    ('compare', {'base': 'nope', 'candidate': 'nope2'}, "no run with id 'nope' (base)"),
    ('compare', {'benchmark': 'disk'}, "benchmark 'disk' has no runs"),
    ('compare', {'benchmark': 'http'}, "benchmark 'http' has no baseline"),
    ('compare', {}, 'give two run ids, or a benchmark'),
    ('compare', {'base': 'a b'}, "base 'a b' is not a run id"),
    ('compare', {'benchmark': 'HTTP'}, "benchmark 'HTTP' is not a benchmark name"),
    ('set-baseline', {}, 'give run-id, or benchmark'),
    ('set-baseline', {'run-id': 'missing'}, "no run with id 'missing'"),
    ('set-baseline', {'run-id': '../x'}, "run-id '../x' is not a run id"),
    ('export', {'format': 'xml'}, "format 'xml' is not csv or json"),
    ('export', {'since': 'yesterday'}, "since 'yesterday' is not an ISO 8601"),
])
def test_bad_params_and_unknown_ids_fail_the_action_clearly(stored, action, params, message):
    fn = {'compare': actions.compare_action, 'set-baseline': actions.set_baseline,
          'export': actions.export}[action]
    with pytest.raises(sy_actions.ActionFailed) as err:
        fn(params)
    assert message in str(err.value)


def test_export_csv_and_json(stored):
    out = actions.export({'format': 'csv', 'benchmark': 'http', 'since': '2026-12-01T10:02'})
    assert out['rows'] == '4' and oct(os.stat(out['path']).st_mode & 0o777) == '0o640'
    with open(out['path']) as f:
        rows = list(csv.DictReader(f))
    assert {r['run_id'] for r in rows} == {stored[2]['id'], stored[3]['id']}
    out = actions.export({'format': 'json'})
    with open(out['path']) as f:
        assert sorted(r['id'] for r in json.load(f)) == sorted(r['id'] for r in stored)
    assert out['rows'] == '4'


def test_service_context_renders_settings(unit, monkeypatch):
    monkeypatch.setattr(hookenv, 'charm_dir', lambda: '/var/lib/juju/agents/unit-c-0/charm')
    ctx = contexts.ServiceContext()
    settings = json.loads(ctx['settings_json'])
    assert settings == {'port': 8080, 'database': paths.SQLITE, 'threshold': 0.05,
                        'alpha': 0.05}
    assert ctx['lib'] == '/var/lib/juju/agents/unit-c-0/charm/lib'
    unit.config['database-uri'] = 'secret:missing'
    assert not contexts.ServiceContext()


# run-suite: the request goes through interface:benchmark (its own tests); here the
# action's record, and the comparison of the runs that came back.

class SuiteEndpoint:
    """What endpoint_from_name('benchmark') gives the action: asked units and answers."""

    def __init__(self, expected, answers=()):
        self.expected, self.answers, self.requests = expected, list(answers), []

    def request_suite(self, suite_id, expires, wanted):
        self.requests.append((suite_id, expires, wanted))
        return {u: [n for n in names if wanted is None or n in wanted]
                for u, names in self.expected.items()}

    def received(self):
        return [{'unit': a['unit'], 'suite': a} for a in self.answers]


def test_run_suite_starts_then_compares_with_the_baselines(stored, unit, monkeypatch):
    endpoint = SuiteEndpoint({'web/0': ['benchmark-http'], 'web/1': ['benchmark-http']})
    monkeypatch.setattr(actions, 'endpoint_from_name', lambda name: endpoint)
    monkeypatch.setattr(actions.web, 'now', lambda: '2026-12-06T19:00:00.000000Z')
    started = actions.run_suite({})
    suite_id = started['suite-id']
    assert endpoint.requests == [(suite_id, '2026-12-06T20:00:00.000000Z', None)]
    assert started['state'] == 'started'
    assert json.loads(started['expected']) == endpoint.expected

    out = actions.run_suite({'suite-id': suite_id})
    assert (out['state'], out['verdict'], out['runs']) == ('running', 'no-baseline', '0')
    assert json.loads(out['pending']) == endpoint.expected

    actions.set_baseline({'run-id': stored[0]['id']})
    db = collect.open_store()
    same = make_run(unit='web/0', seed=11, start=stamp(20))
    slow = make_run(unit='web/1', seed=12, start=stamp(21), rps=600.0)
    other = make_run(unit='web/1', seed=13, start=stamp(22))       # not of this suite
    for run in (same, slow):
        run['params']['suite'] = suite_id
    monkeypatch.setattr(actions.web, 'now', lambda: stamp(30))
    for run in (same, slow, other):
        db.add_run(run, stamp(23))
    db.close()
    monkeypatch.setattr(actions.suite, 'CLOCK_SLACK', actions.suite.datetime.timedelta(
        days=30))      # the stamps are days before the suite started
    endpoint.answers = [{'unit': 'web/1', 'id': suite_id, 'state': 'done', 'runs': [],
                         'errors': ['not here: benchmark-x']}]
    out = actions.run_suite({'suite-id': suite_id})
    assert (out['state'], out['verdict'], out['runs']) == ('complete', 'worse', '2')
    summary = json.loads(out['comparison'])
    assert [(e['unit'], e['run'], e['verdict']) for e in summary['runs']] == [
        ('web/0', same['id'], 'unchanged'), ('web/1', slow['id'], 'worse')]
    assert summary['runs'][1]['worse'] == ['requests'] and 'web/1' in out['table']
    assert json.loads(out['errors']) == {'web/1': ['not here: benchmark-x']}


@pytest.mark.parametrize('params, message', [
    ({'suite-id': 'nope/1'}, "suite-id 'nope/1' is not a suite id"),
    ({'suite-id': '0123456789'}, "no suite with id '0123456789' on this unit"),
    ({'benchmarks': 'Bad'}, "benchmarks 'Bad' is not benchmark action names"),
    ({'suite-id': '0123456789', 'benchmarks': 'benchmark-http'}, 'benchmarks is for a new'),
])
def test_run_suite_bad_params_fail_naming_them(unit, params, message):
    with pytest.raises(sy_actions.ActionFailed) as err:
        actions.run_suite(params)
    assert message in str(err.value)


def test_run_suite_needs_the_leader_and_a_related_benchmark(unit, monkeypatch):
    monkeypatch.setattr(actions, 'endpoint_from_name', lambda name: SuiteEndpoint({}))
    with pytest.raises(sy_actions.ActionFailed, match='no related unit lists a benchmark'):
        actions.run_suite({})
    unit.leader = False
    with pytest.raises(sy_actions.ActionFailed, match='only on the leader'):
        actions.run_suite({})
