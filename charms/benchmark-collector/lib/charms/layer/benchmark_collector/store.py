"""The run database: SQLite (a file on the unit) or PostgreSQL (a URI), one schema.

Standard library plus pg8000 for PostgreSQL.  Every statement is written once,
with ``?`` placeholders, in SQL both databases read.  The schema is versioned:
:data:`MIGRATIONS` are applied in order, each in its own transaction, and the
table ``schema_version`` holds the version reached.
"""

import json
import sqlite3
import urllib.parse


class StoreError(Exception):
    """The database cannot be opened or used; the message says which and why."""


def _v1(db):
    db.run('CREATE TABLE runs (id TEXT PRIMARY KEY, benchmark TEXT NOT NULL, '
           'unit TEXT NOT NULL, charm TEXT NOT NULL, revision TEXT NOT NULL, '
           'started TEXT NOT NULL, ended TEXT NOT NULL, received TEXT NOT NULL, '
           'doc TEXT NOT NULL)')
    db.run('CREATE INDEX runs_benchmark_started ON runs (benchmark, started)')
    db.run('CREATE INDEX runs_started ON runs (started)')
    db.run('CREATE TABLE metrics (run_id TEXT NOT NULL, name TEXT NOT NULL, '
           'value DOUBLE PRECISION NOT NULL, units TEXT NOT NULL, direction TEXT NOT NULL, '
           'PRIMARY KEY (run_id, name))')
    db.run('CREATE TABLE baselines (benchmark TEXT PRIMARY KEY, run_id TEXT NOT NULL, '
           'set_at TEXT NOT NULL)')


def _v2(db):
    """The application (for filters) and the composite (for the runs list) as columns."""
    db.run('ALTER TABLE runs ADD COLUMN application TEXT')
    db.run('ALTER TABLE runs ADD COLUMN composite DOUBLE PRECISION')
    for run_id, unit, doc in db.rows('SELECT id, unit, doc FROM runs'):
        composite = json.loads(doc).get('composite') or {}
        db.run('UPDATE runs SET application = ?, composite = ? WHERE id = ?',
               (unit.split('/')[0], composite.get('value'), run_id))
    db.run('CREATE INDEX runs_application ON runs (application)')


def _v3(db):
    """Run documents in a table of their own, so ``runs`` rows stay small.

    With the JSON inline, a filtered count read every matching row's document:
    840 ms for ``benchmark=disk AND unit=web/1`` at 100,000 runs (make
    bench-collector, SQLite).
    """
    db.run('CREATE TABLE run_docs (id TEXT PRIMARY KEY, doc TEXT NOT NULL)')
    db.run('INSERT INTO run_docs (id, doc) SELECT id, doc FROM runs')
    db.run('ALTER TABLE runs DROP COLUMN doc')


def _v4(db):
    """Each benchmark's run count and newest start in a table of their own; an index
    per filter column ending in ``started``, the runs' order.

    At 100,000 runs (SQLite, the loaded build host): ``GROUP BY benchmark``
    over ``runs`` for the runs page's list of benchmarks took 163 ms; newest
    100 runs of ``application=web`` 2,020 ms (every match sorted), of
    ``unit=web/1`` 15 ms and their capped count 113 ms (no index on unit).
    With these: under 2 ms each.
    """
    db.run('CREATE TABLE benchmark_stats (benchmark TEXT PRIMARY KEY, runs INTEGER NOT NULL, '
           'latest TEXT NOT NULL)')
    db.run('INSERT INTO benchmark_stats (benchmark, runs, latest) '
           'SELECT benchmark, COUNT(*), MAX(started) FROM runs GROUP BY benchmark')
    db.run('DROP INDEX runs_application')
    for column in ('application', 'unit', 'charm'):
        db.run('CREATE INDEX runs_{0}_started ON runs ({0}, started)'.format(column))


MIGRATIONS = [_v1, _v2, _v3, _v4]
# A count stops here: its cost grows with the cap when two filters share no index
# (benchmark=disk AND unit=web/1 at 100,000 runs: 50-85 ms with 10,000, 1 ms with 1,000).
COUNT_CAP = 1000
RUN_COLUMNS = ('id', 'benchmark', 'unit', 'application', 'charm', 'revision', 'started',
               'ended', 'composite')


class Store:
    """An open database.  ``uri``: a file path, ``sqlite:///path`` or ``postgresql://...``."""

    def __init__(self, uri):
        parsed = urllib.parse.urlsplit(uri)
        self.kind = 'postgresql' if parsed.scheme in ('postgresql', 'postgres') else 'sqlite'
        try:
            if self.kind == 'sqlite':
                path = parsed.path if parsed.scheme == 'sqlite' else uri
                self.conn = sqlite3.connect(path, timeout=10, isolation_level=None)
                self.conn.execute('PRAGMA journal_mode=WAL')
                # No fsync per commit (WAL stays consistent; a power cut may lose the last
                # runs, which units still carry on the relation and are read again).
                # Measured on the loaded 2-core build host, 1000 runs, one transaction
                # each: 124 and 156 runs/s with FULL, 479 and 425 with NORMAL.
                self.conn.execute('PRAGMA synchronous=NORMAL')
            else:
                self.conn = _pg_connect(parsed)
                self.conn.autocommit = True
        except Exception as e:  # each driver has its own errors; the message says enough
            raise StoreError('cannot open the {} database: {}'.format(self.kind, e)) from e

    def close(self):
        self.conn.close()

    def run(self, sql, args=()):
        cur = self.conn.cursor()
        cur.execute(sql if self.kind == 'sqlite' else sql.replace('?', '%s'), tuple(args))
        return cur

    def rows(self, sql, args=()):
        return [tuple(r) for r in self.run(sql, args).fetchall()]

    def transaction(self):
        return _Transaction(self)

    def version(self):
        """The schema version reached (0 for an empty database)."""
        with self.transaction():
            self.run('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)')
            found = self.rows('SELECT version FROM schema_version')
            if not found:
                self.run('INSERT INTO schema_version (version) VALUES (0)')
        return found[0][0] if found else 0

    def migrate(self, target=None):
        """Apply the migrations up to ``target`` (default: all); returns the version."""
        target = len(MIGRATIONS) if target is None else target
        current = self.version()
        for number in range(current + 1, target + 1):
            with self.transaction():
                MIGRATIONS[number - 1](self)
                self.run('UPDATE schema_version SET version = ?', (number,))
        return max(current, target)

    def add_run(self, run, received):
        """Store a validated run; False when a run with its id is already stored."""
        composite = (run.get('composite') or {}).get('value')
        with self.transaction():
            if self.rows('SELECT 1 FROM runs WHERE id = ?', (run['id'],)):
                return False
            self.run('INSERT INTO runs (id, benchmark, unit, application, charm, revision, '
                     'started, ended, received, composite) '
                     'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
                     (run['id'], run['benchmark'], run['unit'], run['unit'].split('/')[0],
                      run['charm'], run['revision'], run['start'], run['end'], received,
                      composite))
            self.run('INSERT INTO run_docs (id, doc) VALUES (?, ?)',
                     (run['id'], json.dumps(run, sort_keys=True)))
            if not self.run('UPDATE benchmark_stats SET runs = runs + 1, latest = CASE WHEN '
                            'latest < ? THEN ? ELSE latest END WHERE benchmark = ?',
                            (run['start'], run['start'], run['benchmark'])).rowcount:
                self.run('INSERT INTO benchmark_stats (benchmark, runs, latest) VALUES (?, 1, ?)',
                         (run['benchmark'], run['start']))
            for name, m in sorted(run['metrics'].items()):
                self.run('INSERT INTO metrics (run_id, name, value, units, direction) '
                         'VALUES (?, ?, ?, ?, ?)',
                         (run['id'], name, m['value'], m['units'], m['direction']))
        return True

    def get_run(self, run_id):
        """The whole run (its JSON document), or None."""
        found = self.rows('SELECT doc FROM run_docs WHERE id = ?', (run_id,))
        return json.loads(found[0][0]) if found else None

    def runs(self, limit=100, before=None, **filters):
        """Run summaries, newest first; filters: benchmark, unit, application, charm,
        since and until (ISO start times).

        :param before: ``(start, id)`` of the last run of the previous page: the
            runs after it in this order (keyset paging: an OFFSET of 90,000 took
            550 ms at 100,000 runs, reading every row it skipped)
        """
        where, args = self._where(filters)
        if before:
            where += (' AND ' if where else ' WHERE ') + '(started, id) < (?, ?)'
            args += list(before)
        sql = 'SELECT {} FROM runs{} ORDER BY started DESC, id DESC LIMIT ?'.format(
            ', '.join(RUN_COLUMNS), where)
        return [dict(zip(RUN_COLUMNS, r)) for r in self.rows(sql, args + [limit])]

    def count(self, cap=COUNT_CAP, **filters):
        """How many runs match, counting no further than ``cap``.

        The cap bounds the cost of a filtered count at any size: at 100,000
        runs, ``benchmark=disk AND unit=web/1`` (12,500 matches) took 450 ms
        uncapped on the loaded build host (see :data:`COUNT_CAP`).
        """
        where, args = self._where(filters)
        return self.rows('SELECT COUNT(*) FROM (SELECT 1 FROM runs{} LIMIT ?) c'.format(where),
                         args + [cap])[0][0]

    @staticmethod
    def _where(filters):
        ops = {'since': 'started >= ?', 'until': 'started <= ?'}
        used = sorted((k, v) for k, v in filters.items() if v)
        unknown = [k for k, _ in used if k not in ops and k not in RUN_COLUMNS]
        if unknown:
            raise StoreError('unknown filter(s): {}'.format(', '.join(unknown)))
        clauses = [ops.get(k, '{} = ?'.format(k)) for k, _ in used]
        return (' WHERE ' + ' AND '.join(clauses) if clauses else ''), [v for _, v in used]

    def benchmarks(self):
        """``[(benchmark, runs, latest start)]`` by name."""
        return self.rows('SELECT benchmark, runs, latest FROM benchmark_stats '
                         'ORDER BY benchmark')

    def series(self, benchmark, limit=200):
        """Per metric, ``[(started, value, run id, unit)]`` of the newest ``limit`` runs."""
        rows = self.rows(
            'SELECT r.started, m.value, r.id, r.unit, m.name, m.units, m.direction '
            'FROM metrics m JOIN (SELECT id, started, unit FROM runs WHERE benchmark = ? '
            'ORDER BY started DESC LIMIT ?) r ON r.id = m.run_id ORDER BY m.name, r.started',
            (benchmark, limit))
        out = {}
        for started, value, run_id, unit, name, units, direction in rows:
            entry = out.setdefault(name, {'units': units, 'direction': direction, 'points': []})
            entry['points'].append((started, value, run_id, unit))
        return out

    def set_baseline(self, benchmark, run_id, now):
        with self.transaction():
            self.run('DELETE FROM baselines WHERE benchmark = ?', (benchmark,))
            self.run('INSERT INTO baselines (benchmark, run_id, set_at) VALUES (?, ?, ?)',
                     (benchmark, run_id, now))

    def baselines(self):
        """``{benchmark: run id}``."""
        return dict(self.rows('SELECT benchmark, run_id FROM baselines'))

    def metric_rows(self, **filters):
        """One row per metric of the matching runs (for CSV), oldest run first."""
        where, args = self._where(filters)
        return self.rows(
            'SELECT r.id, r.benchmark, r.unit, r.charm, r.revision, r.started, r.ended, '
            'm.name, m.value, m.units, m.direction FROM runs r JOIN metrics m ON '
            'm.run_id = r.id' + where.replace('started', 'r.started') +
            ' ORDER BY r.started, r.id, m.name', args)


class _Transaction:
    def __init__(self, store):
        self.store = store

    def __enter__(self):
        # SQLite: take the write lock at once, so two writers queue (busy timeout)
        # instead of one failing when it upgrades a read lock.
        self.store.run('BEGIN IMMEDIATE' if self.store.kind == 'sqlite' else 'BEGIN')

    def __exit__(self, kind, value, tb):
        self.store.run('COMMIT' if kind is None else 'ROLLBACK')


def _pg_connect(parsed):
    import pg8000.dbapi  # only PostgreSQL users need it
    query = urllib.parse.parse_qs(parsed.query)
    return pg8000.dbapi.connect(
        user=urllib.parse.unquote(parsed.username or ''),
        password=urllib.parse.unquote(parsed.password) if parsed.password else None,
        host=parsed.hostname or query.get('host', [None])[0],
        unix_sock=query.get('unix_sock', [None])[0], port=parsed.port or 5432,
        database=parsed.path.lstrip('/') or None, timeout=10)
