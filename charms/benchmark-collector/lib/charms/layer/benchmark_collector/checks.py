"""benchmark-collector's status: the database, and what it collected or refused."""

from charms.layer.stackyard import options, status
from charms.layer.benchmark_collector import collect, contexts, store

_seen = {}


@status.check
def database_check():
    """Blocked while the database cannot be opened; remembers the run count."""
    try:
        db = collect.open_store()
    except store.StoreError as e:
        return status.BLOCKED, str(e)
    try:
        _seen['runs'] = db.count()
        _seen['where'] = contexts.describe(contexts.database_uri())
    finally:
        db.close()
    return None


def ready_message():
    """``Serving on port 8080 (SQLite, 12 runs); 1 bad item ignored``."""
    parts = ['Serving on port {} ({}, {} runs)'.format(
        options.config().get('port'), _seen.get('where', '?'), _seen.get('runs', '?'))]
    if collect.rejected_count():
        parts.append('{} bad run(s) ignored (see debug-log)'.format(collect.rejected_count()))
    if collect.missing_runs():
        parts.append('{} pushed run(s) not received'.format(len(collect.missing_runs())))
    return '; '.join(parts)
