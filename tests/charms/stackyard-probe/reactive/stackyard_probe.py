"""stackyard-probe handlers: probe the related services and report them in status."""

from charmhelpers.core import hookenv, unitdata
from charms.reactive import endpoint_from_name, is_flag_set, when

from charms.layer import stackyard_probe as probe
from charms.layer.stackyard_probe import shared_db
from charms.layer.stackyard import status

RESULTS_KEY = 'stackyard-probe.results'
DB_RESULTS_KEY = 'stackyard-probe.shared-db.results'


@when('shared-db.connected')
def request_databases():
    requests, problem = shared_db.wanted(hookenv.config())
    if problem:
        return
    endpoint = endpoint_from_name('shared-db')
    for prefix, database, user in requests:
        endpoint.request(database, user, hookenv.unit_private_ip(), prefix=prefix)


@status.check
def relations_status():
    if not any(is_flag_set(f) for f in ('target.connected', 'shared-db.connected',
                                        'amqp.connected')):
        return 'blocked', ('Needs a relation: target (http), shared-db (mysql-shared) '
                           'or amqp (rabbitmq)')
    return None


@status.check
def http_status():
    problem = probe.timeout_problem(hookenv.config().get('timeout'))
    if problem:
        return 'blocked', problem
    if not is_flag_set('target.connected'):
        return None
    timeout = float(hookenv.config().get('timeout'))
    results = []
    for svc in endpoint_from_name('target').services():
        ok, text = probe.fetch(svc['hostname'], svc['port'], timeout)
        results.append((svc['unit'], ok, text))
    unitdata.kv().set(RESULTS_KEY, results)
    return probe.summarise(results)


@status.check
def shared_db_status():
    if not is_flag_set('shared-db.connected'):
        return None
    requests, problem = shared_db.wanted(hookenv.config())
    if problem:
        return 'blocked', problem
    if probe.timeout_problem(hookenv.config().get('timeout')):
        return None
    timeout = float(hookenv.config().get('timeout'))
    endpoint = endpoint_from_name('shared-db')
    results = []
    for prefix, database, user in requests:
        creds = endpoint.credentials(prefix)
        if creds is None:
            return 'waiting', 'shared-db: waiting for credentials for {}'.format(database)
        ok, text = shared_db.round_trip(creds, database, user, hookenv.local_unit(), timeout)
        results.append((database, ok, text))
    unitdata.kv().set(DB_RESULTS_KEY, results)
    return shared_db.summarise(results)
