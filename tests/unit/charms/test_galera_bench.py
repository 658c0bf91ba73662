"""galera's benchmark-db: params refused naming them, where it connects, the leader's user,
and a run that never shows the password (a stand-in sysbench records what it was given)."""

import json
import os
import stat
import sys

import pytest

from charms.layer import benchmark
from charms.layer.stackyard import actions
from charms.layer.galera import bench, cluster, credentials, db, shared_db

NODE, VIP = '10.157.83.12', '10.157.83.160'
GOOD = {'host': 'local', 'duration': 10, 'threads': 2, 'tables': 1, 'table-size': 1000,
        'keep-tables': False}
PASSWORD = 'Pw-of-the-bench-user-0123456789ab'


@pytest.mark.parametrize('changes, named', [
    ({'threads': 0}, 'threads'),
    ({'threads': -4}, 'threads'),
    ({'threads': '4'}, 'threads'),
    ({'duration': 4}, 'duration'),
    ({'duration': 601}, 'duration'),
    ({'tables': 0}, 'tables'),
    ({'table-size': 99}, 'table-size'),
    ({'table-size': 'big'}, 'table-size'),
    ({'table-size': True}, 'table-size'),
    ({'host': ''}, 'host'),
    ({'host': 'db.example'}, 'host'),
    ({'host': '10.157.83.13'}, 'host 10.157.83.13 is neither this node nor the configured vip'),
    ({'host': '10.157.83.300'}, 'host'),
    ({'keep-tables': 'yes'}, 'keep-tables'),
])
def test_a_bad_param_is_refused_naming_it(changes, named):
    with pytest.raises(benchmark.Invalid) as refused:
        bench.db_params(dict(GOOD, **changes), NODE, VIP)
    assert str(refused.value).startswith(named), str(refused.value)


def test_vip_without_the_option_is_refused():
    with pytest.raises(benchmark.Invalid, match='host=vip: the vip option is not set'):
        bench.db_params(dict(GOOD, host='vip'), NODE, '')
    with pytest.raises(benchmark.Invalid, match="only|neither"):
        bench.db_params(dict(GOOD, host=VIP), NODE, '')


@pytest.mark.parametrize('host, expected', [
    ('local', ('local', NODE)), (NODE, ('local', NODE)), (' vip ', ('vip', VIP)),
    (VIP, ('vip', VIP))])
def test_host_is_this_node_or_the_vip(host, expected):
    assert bench.db_params(dict(GOOD, host=host), NODE, VIP)['host'] == expected


def test_defaults_from_actions_yaml_are_valid():
    charm = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'charms', 'galera')
    params = benchmark.defaults('benchmark-db', charm_dir=charm)
    checked = bench.db_params(params, NODE, VIP)
    assert checked['host'] == ('local', NODE) and checked['keep-tables'] is False
    assert set(params) == set(bench.LIMITS) | {'host', 'keep-tables'}


SYSBENCH_RUN = """
SQL statistics:
    transactions:                        1000   (33.21 per sec.)
    queries:                             20000  (664.20 per sec.)
Latency (ms):
         avg:                                  120.37
         95th percentile:                      207.82
"""

# A stand-in for sysbench: records its argv and its config file (with the file's mode),
# prints the run's figures, or fails on the phase named in $FAKE_SYSBENCH_FAIL.
FAKE = r'''#!{python}
import json, os, stat, sys
config = [a for a in sys.argv if a.startswith('--config-file=')][0].split('=', 1)[1]
with open(os.environ['FAKE_SYSBENCH_LOG'], 'a') as log:
    log.write(json.dumps({{'argv': sys.argv, 'mode': stat.S_IMODE(os.stat(config).st_mode),
                          'config': open(config).read()}}) + '\n')
if sys.argv[-1] == os.environ.get('FAKE_SYSBENCH_FAIL'):
    print('FATAL: Access denied for user stackyard_bench (using password: YES) ' +
          open(config).read().split('mysql-password=')[1].split()[0])
    sys.exit(1)
if sys.argv[-1] == 'run':
    print({run!r})
'''


@pytest.fixture
def fake_run(tmp_path, monkeypatch):
    """measure_db's surroundings: a running node, the user made, a stand-in sysbench."""
    script = tmp_path / 'sysbench'
    script.write_text(FAKE.format(python=sys.executable, run=SYSBENCH_RUN))
    script.chmod(0o755)
    log = tmp_path / 'calls.jsonl'
    monkeypatch.setenv('FAKE_SYSBENCH_LOG', str(log))
    monkeypatch.setattr(bench, 'SYSBENCH', str(script))
    monkeypatch.setattr(bench.cluster, 'running', lambda: True)
    monkeypatch.setattr(bench, 'answers', lambda address: address in (NODE, VIP))
    monkeypatch.setattr(bench.cluster, 'app_get', lambda key: {
        bench.MADE_KEY: 'made', credentials.APP_KEY: 'secret:abc'}.get(key, ''))
    monkeypatch.setattr(credentials, 'read',
                        lambda: {credentials.user_key(bench.USER): PASSWORD})
    folders = []
    real_mkdtemp = bench.tempfile.mkdtemp
    monkeypatch.setattr(bench.tempfile, 'mkdtemp',
                        lambda **kw: folders.append(real_mkdtemp(dir=str(tmp_path), **kw))
                        or folders[-1])

    def calls():
        return [json.loads(line) for line in log.read_text().splitlines()] \
            if log.exists() else []
    return {'calls': calls, 'folders': folders}


def phases(fake_run):
    return [c['argv'][-1] for c in fake_run['calls']()]


def test_a_run_through_the_vip(fake_run):
    run = bench.measure_db(dict(GOOD, host='vip'), NODE, VIP)
    results = run.results()
    assert results['results.transactions.value'] == '33.21'
    assert results['results.latency-p95.value'] == '207.82'
    params = json.loads(results['run'])['params']
    assert params['host'] == 'vip' and params['address'] == VIP
    calls = fake_run['calls']()
    # sysbench's cleanup through the same connection before and after (a statement on
    # this node's socket reaches the VIP's holder only a moment later)
    assert phases(fake_run) == ['cleanup', 'prepare', 'run', 'cleanup']
    for call in calls:
        assert call['mode'] == 0o600
        assert 'mysql-host={}\n'.format(VIP) in call['config']
        assert 'mysql-password={}\n'.format(PASSWORD) in call['config']
        assert not [a for a in call['argv'] if PASSWORD in a]
    assert '--tables=16' in calls[0]['argv'] and '--tables=16' in calls[3]['argv']
    assert '--tables=1' in calls[1]['argv'] and '--table-size=1000' in calls[1]['argv']
    assert '--threads=2' in calls[2]['argv'] and '--time=10' in calls[2]['argv']
    assert PASSWORD not in json.dumps(results)
    assert not os.path.exists(fake_run['folders'][0])


def test_kept_tables_are_not_dropped_after(fake_run):
    bench.measure_db(dict(GOOD, **{'keep-tables': True}), NODE, VIP)
    assert phases(fake_run) == ['cleanup', 'prepare', 'run']
    assert 'mysql-host={}\n'.format(NODE) in fake_run['calls']()[0]['config']


def test_a_failed_run_drops_the_tables_and_hides_the_password(fake_run, monkeypatch):
    monkeypatch.setenv('FAKE_SYSBENCH_FAIL', 'run')
    with pytest.raises(actions.ActionFailed) as failed:
        bench.measure_db(GOOD, NODE, VIP)
    assert 'sysbench run failed: FATAL: Access denied' in str(failed.value)
    assert PASSWORD not in str(failed.value) and '***' in str(failed.value)
    assert phases(fake_run) == ['cleanup', 'prepare', 'run', 'cleanup']
    assert not os.path.exists(fake_run['folders'][0])


def test_nothing_answering_on_the_vip_is_said(fake_run, monkeypatch):
    monkeypatch.setattr(bench, 'answers', lambda address: False)
    with pytest.raises(actions.ActionFailed, match='host=vip: nothing answers on 10.157.83.160'
                                                   ':3306 .is hacluster related'):
        bench.measure_db(dict(GOOD, host='vip'), NODE, VIP)
    assert fake_run['calls']() == []


def test_a_failed_prepare_drops_the_tables_and_reports_the_prepare(fake_run, monkeypatch):
    monkeypatch.setenv('FAKE_SYSBENCH_FAIL', 'prepare')
    with pytest.raises(actions.ActionFailed, match='sysbench prepare failed'):
        bench.measure_db(GOOD, NODE, VIP)
    assert phases(fake_run) == ['cleanup', 'prepare', 'cleanup']


def test_a_failed_cleanup_after_a_failed_run_keeps_the_runs_error(fake_run, monkeypatch):
    monkeypatch.setenv('FAKE_SYSBENCH_FAIL', 'run')
    real, seen = bench.cleanup, []

    def cleanup(config, password):
        seen.append(1)
        if len(seen) > 1:
            raise actions.ActionFailed('sysbench cleanup failed: gone')
        real(config, password)
    monkeypatch.setattr(bench, 'cleanup', cleanup)
    with pytest.raises(actions.ActionFailed, match='sysbench run failed'):
        bench.measure_db(GOOD, NODE, VIP)
    assert len(seen) == 2


def test_before_the_leader_made_the_user(monkeypatch):
    monkeypatch.setattr(bench.cluster, 'running', lambda: True)
    monkeypatch.setattr(bench.cluster, 'app_get', lambda key: '')
    with pytest.raises(actions.ActionFailed, match='benchmark user stackyard_bench is not made'):
        bench.measure_db(GOOD, NODE, VIP)


@pytest.fixture
def leader(monkeypatch):
    """A leader whose node is Synced; the secret's tool calls and the SQL recorded."""
    bag, sql, tools = {credentials.APP_KEY: 'secret:abc'}, [], []
    monkeypatch.setattr(cluster, 'app_get', lambda key: bag.get(key, ''))
    monkeypatch.setattr(cluster, 'app_set', lambda key, value: bag.__setitem__(key, value))
    monkeypatch.setattr(cluster, 'bootstrapped', lambda: True)
    monkeypatch.setattr(cluster, 'running', lambda: True)
    monkeypatch.setattr(db, 'synced', lambda: True)
    monkeypatch.setattr(db, 'run', lambda text, timeout=30: sql.append(text) or [])
    stored = {'root-password': 'r' * 32, 'sst-password': 's' * 32}

    def tool(*argv):
        paths = dict(a.split('#file=') for a in argv if '#file=' in a)
        files = {key: open(path).read() for key, path in paths.items()}
        tools.append((argv, {stat.S_IMODE(os.stat(path).st_mode) for path in paths.values()}))
        if argv[0] == 'secret-get':
            return json.dumps(stored)
        stored.clear()
        stored.update(files)
        return ''
    monkeypatch.setattr(credentials, '_tool', tool)
    monkeypatch.setattr(credentials, '_written', {})
    return {'bag': bag, 'sql': sql, 'tools': tools, 'stored': stored}


def test_the_leader_makes_the_user_once(leader):
    assert bench.ensure_user() is True
    password = leader['stored'][credentials.user_key('stackyard_bench')]
    assert len(password) == 32 and leader['bag'][bench.MADE_KEY]
    [grant] = leader['sql']
    assert "CREATE USER IF NOT EXISTS 'stackyard_bench'@'%'" in grant
    assert 'GRANT ALL PRIVILEGES ON `stackyard_bench`.*' in grant
    assert [argv[0] for argv, _ in leader['tools']] == ['secret-get', 'secret-set']
    for argv, mode in leader['tools']:
        assert not [a for a in argv if password in a]
        assert mode <= {0o600}
    assert bench.ensure_user() is False and len(leader['sql']) == 1


def test_two_writers_in_one_hook_keep_each_others_passwords(leader):
    # shared-db and the benchmark user in one hook: the second read starts from the
    # first's content (hook tools show it only after the hook).
    credentials.add_users(credentials.ensure(), ['keystone'])
    bench.ensure_user()
    assert {credentials.user_key('keystone'), credentials.user_key('stackyard_bench'),
            'root-password', 'sst-password'} == set(leader['stored'])


def test_a_node_not_synced_makes_nothing(leader, monkeypatch):
    monkeypatch.setattr(db, 'synced', lambda: False)
    assert bench.ensure_user() is False and leader['sql'] == []


def test_the_bench_user_is_refused_to_consumers():
    request = {'relation_id': 'shared-db:1', 'application': 'evil', 'prefix': None,
               'database': 'evil', 'username': 'stackyard_bench', 'hostnames': ['10.0.0.9'],
               'units': ['evil/0']}
    assert "user stackyard_bench is the charm's own" in shared_db.conflict(request, {})
