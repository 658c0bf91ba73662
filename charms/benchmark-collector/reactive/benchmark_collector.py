"""benchmark-collector handlers: collect runs, ask PostgreSQL for a database."""

from charms.reactive import endpoint_from_flag, hook, when

from charms.layer.stackyard import status
from charms.layer.benchmark_collector import (  # noqa: F401  registers checks and actions
    actions, checks, collect, contexts, services, store)

status.ready_message(checks.ready_message)


@when('benchmark.connected')
def collect_runs():
    endpoint = endpoint_from_flag('benchmark.connected')
    endpoint.publish_api(contexts.api_url())
    try:
        db = collect.open_store()
    except store.StoreError:
        return  # the status check says why
    try:
        collect.ingest(endpoint.received(), db)
    finally:
        db.close()


# A hook pattern, not a flag: `database` has no interface layer here (the charm reads
# the PostgreSQL charm's keys itself, contexts.relation_database); writing the request
# again is harmless.
@hook('database-relation-joined', 'database-relation-changed', 'leader-elected')
def request_database():
    contexts.request_database()
