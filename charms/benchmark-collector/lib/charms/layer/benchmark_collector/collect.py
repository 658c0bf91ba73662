"""Runs from the relation into the database; what was refused, counted once each."""

import hashlib
import json

from charmhelpers.core import hookenv, unitdata

from charms.layer.benchmark_collector import contexts, store, web

# unitdata: {digest of (unit, problem): problem} of every refused item seen.
REJECTED_KEY = 'benchmark-collector.rejected'
# unitdata: ids of runs units said they pushed over HTTP and the database lacks.
MISSING_KEY = 'benchmark-collector.missing'


def open_store():
    """The database, migrated to the current schema.

    :raises store.StoreError: it cannot be opened or migrated
    """
    uri = contexts.database_uri()
    if not uri:
        raise store.StoreError('the database-uri secret cannot be read')
    db = store.Store(uri)
    try:
        db.migrate()
    except Exception as e:  # the driver's own error types; the message is what matters
        db.close()
        raise store.StoreError('cannot migrate the {} database: {}'.format(db.kind, e)) from e
    return db


def ingest(received, db):
    """Store every valid run of ``received`` (``BenchmarkRequires.received()``).

    A refused item is logged once (the same data is read again in later hooks)
    and counted in :data:`REJECTED_KEY`.  :returns: the number of new runs.
    """
    kv = unitdata.kv()
    rejected = dict(kv.get(REJECTED_KEY) or {})
    new, missing = 0, []
    for entry in received:
        for run in entry['runs']:
            new += db.add_run(run, web.now())
        missing += [p['id'] for p in entry['pointers'] if db.get_run(p['id']) is None]
        for problem in entry['errors']:
            digest = hashlib.sha256(json.dumps([entry['unit'], problem]).encode()).hexdigest()
            if digest not in rejected:
                hookenv.log('benchmark: ignored bad data from {}: {}'.format(
                    entry['unit'], problem), level=hookenv.WARNING)
                rejected[digest] = problem
    kv.set(REJECTED_KEY, rejected)
    kv.set(MISSING_KEY, sorted(missing))
    return new


def rejected_count():
    return len(unitdata.kv().get(REJECTED_KEY) or {})


def missing_runs():
    return list(unitdata.kv().get(MISSING_KEY) or [])
