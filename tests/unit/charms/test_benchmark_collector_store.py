"""benchmark-collector: the run database (real SQLite files, a real PostgreSQL), migrations."""

import json
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile

import pytest

from charms.layer.benchmark_collector import store
from collector_runs import make_run

PG_BIN = '/usr/lib/postgresql/15/bin'


def stamp(i):
    return '2026-12-{:02d}T10:00:{:02d}.000000Z'.format(1 + i // 60, i % 60)


def fill(db, count=5):
    runs = [make_run(unit='web/{}'.format(i % 2), seed=i, start=stamp(i)) for i in range(count)]
    for run in runs:
        assert db.add_run(run, stamp(0)) is True
    return runs


def check_store(db):
    assert db.migrate() == len(store.MIGRATIONS)
    runs = fill(db)
    other = make_run(unit='db/0', name='disk', start=stamp(30))
    db.add_run(other, stamp(0))
    assert db.add_run(runs[0], stamp(0)) is False        # same id: kept once
    assert db.count() == 6 and db.count(benchmark='http') == 5
    assert db.count(cap=4) == 4 and db.count(cap=4, unit='web/1') == 2
    assert db.get_run(runs[3]['id']) == runs[3]
    assert db.get_run('no-such-run') is None
    listed = db.runs(benchmark='http')
    assert [r['id'] for r in listed] == [r['id'] for r in reversed(runs)]
    assert listed[0]['application'] == 'web' and listed[0]['composite'] == pytest.approx(
        runs[-1]['composite']['value'])
    assert [r['unit'] for r in db.runs(unit='web/1')] == ['web/1', 'web/1']
    assert [r['id'] for r in db.runs(application='db')] == [other['id']]
    assert len(db.runs(since=stamp(2), until=stamp(3))) == 2
    first = db.runs(limit=2)
    page = db.runs(limit=4, before=(first[-1]['started'], first[-1]['id']))
    assert [r['id'] for r in first + page] == [r['id'] for r in db.runs()]
    assert len(page) == 4 and db.runs(before=(page[-1]['started'], page[-1]['id'])) == []
    with pytest.raises(store.StoreError, match='unknown filter'):
        db.runs(doc='x')
    assert db.benchmarks() == [('disk', 1, stamp(30)), ('http', 5, stamp(4))]
    series = db.series('http')
    assert sorted(series) == ['latency-p99', 'requests']
    assert series['requests']['units'] == 'req/s' and len(series['requests']['points']) == 5
    assert [p[2] for p in series['requests']['points']] == [r['id'] for r in runs]
    assert len(db.series('http', limit=2)['requests']['points']) == 2
    db.set_baseline('http', runs[1]['id'], stamp(9))
    db.set_baseline('http', runs[2]['id'], stamp(9))
    assert db.baselines() == {'http': runs[2]['id']}
    rows = db.metric_rows(benchmark='http', since=stamp(4))
    assert [(r[0], r[7]) for r in rows] == [(runs[4]['id'], 'latency-p99'),
                                            (runs[4]['id'], 'requests')]


def test_sqlite_store(tmp_path):
    db = store.Store(str(tmp_path / 'runs.sqlite'))
    check_store(db)
    db.close()
    # A second process (the web server) sees the same data in the same file.
    again = store.Store('sqlite:///' + str(tmp_path / 'runs.sqlite'))
    assert again.migrate() == len(store.MIGRATIONS) and again.count() == 6


def test_an_upgrade_from_version_1_keeps_every_run(tmp_path):
    check_upgrade(str(tmp_path / 'runs.sqlite'))
    db = store.Store(str(tmp_path / 'runs.sqlite'))
    assert 'doc' not in [c[1] for c in db.rows('PRAGMA table_info(runs)')]


def check_upgrade(uri):
    """Runs stored by version 1 of the schema are all there after every migration."""
    db = store.Store(uri)
    assert db.migrate(target=1) == 1
    old = [make_run(unit='web/{}'.format(i), seed=i, start=stamp(i)) for i in range(3)]
    for run in old:  # as version 1 stored them: no application, no composite column
        db.run('INSERT INTO runs (id, benchmark, unit, charm, revision, started, ended, '
               'received, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
               (run['id'], run['benchmark'], run['unit'], run['charm'], run['revision'],
                run['start'], run['end'], stamp(0), json.dumps(run)))
        for name, m in run['metrics'].items():
            db.run('INSERT INTO metrics VALUES (?, ?, ?, ?, ?)',
                   (run['id'], name, m['value'], m['units'], m['direction']))
    db.set_baseline('http', old[0]['id'], stamp(0))
    db.close()
    db = store.Store(uri)
    assert db.version() == 1
    assert db.migrate() == 4 and db.version() == 4
    assert [r['id'] for r in db.runs()] == [r['id'] for r in reversed(old)]
    assert [r['application'] for r in db.runs()] == ['web', 'web', 'web']
    assert db.runs()[0]['composite'] == pytest.approx(old[-1]['composite']['value'])
    assert db.baselines() == {'http': old[0]['id']}
    assert db.get_run(old[1]['id']) == old[1]
    assert db.benchmarks() == [('http', 3, stamp(2))]     # counted by the migration
    db.add_run(make_run(unit='web/0', seed=9, start=stamp(1)), stamp(0))
    assert db.benchmarks() == [('http', 4, stamp(2))]     # an older start: latest kept
    assert db.migrate() == 4           # nothing left to do
    db.close()


def test_a_failed_migration_leaves_the_previous_version(tmp_path, monkeypatch):
    db = store.Store(str(tmp_path / 'runs.sqlite'))
    db.migrate(target=1)

    def broken(d):
        d.run('ALTER TABLE runs ADD COLUMN application TEXT')
        d.run('THIS IS NOT SQL')
    monkeypatch.setattr(store, 'MIGRATIONS', [store.MIGRATIONS[0], broken])
    with pytest.raises(Exception):
        db.migrate()
    assert db.version() == 1
    assert 'application' not in [c[1] for c in db.rows('PRAGMA table_info(runs)')]


def test_an_unopenable_database_names_itself(tmp_path):
    with pytest.raises(store.StoreError, match='cannot open the sqlite database'):
        store.Store(str(tmp_path / 'no-such-dir' / 'runs.sqlite'))


@pytest.fixture(scope='module')
def postgresql():
    """A real PostgreSQL server of Debian's postgresql package, as user postgres."""
    if not os.path.exists(os.path.join(PG_BIN, 'initdb')):
        if os.environ.get('CI') == 'true':
            subprocess.run(['apt-get', 'install', '-y', '-q', 'postgresql'], check=True,
                           stdout=subprocess.DEVNULL)
        else:
            pytest.skip('PostgreSQL 15 is not installed (apt-get install postgresql)')
    # Not under pytest's tmp dirs: those are root's alone (0700).
    base = pathlib.Path(tempfile.mkdtemp(prefix='collector-pg-'))
    shutil.chown(str(base), 'postgres')
    os.chmod(str(base), 0o755)
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]

    def as_postgres(*argv):
        subprocess.run(['runuser', '-u', 'postgres', '--'] + list(argv), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    as_postgres(PG_BIN + '/initdb', '-D', str(base / 'data'), '-A', 'trust', '-U', 'postgres')
    as_postgres(PG_BIN + '/pg_ctl', '-D', str(base / 'data'), '-w', '-l', str(base / 'log'),
                '-o', '-k {} -p {} -c listen_addresses=127.0.0.1'.format(base, port), 'start')
    try:
        for name in ('benchmarks', 'upgraded'):     # the second for the upgrade test
            as_postgres(PG_BIN + '/createdb', '-h', str(base), '-p', str(port), name)
        yield 'postgresql://postgres@127.0.0.1:{}/benchmarks'.format(port)
    finally:
        as_postgres(PG_BIN + '/pg_ctl', '-D', str(base / 'data'), '-m', 'fast', 'stop')
        shutil.rmtree(str(base))


def test_postgresql_store(postgresql):
    db = store.Store(postgresql)
    assert db.kind == 'postgresql'
    check_store(db)
    db.close()
    again = store.Store(postgresql)
    assert again.migrate() == len(store.MIGRATIONS) and again.count() == 6


def test_an_upgrade_from_version_1_keeps_every_run_in_postgresql(postgresql):
    uri = postgresql.rsplit('/', 1)[0] + '/upgraded'
    check_upgrade(uri)
    db = store.Store(uri)
    assert 'doc' not in [r[0] for r in db.rows(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'runs'")]
