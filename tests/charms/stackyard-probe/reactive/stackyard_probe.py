"""stackyard-probe handlers: probe the targets and report them in status."""

from charmhelpers.core import hookenv, unitdata
from charms.reactive import endpoint_from_name, is_flag_set

from charms.layer import stackyard_probe as probe
from charms.layer.stackyard import status

RESULTS_KEY = 'stackyard-probe.results'


@status.check
def probe_status():
    problem = probe.timeout_problem(hookenv.config().get('timeout'))
    if problem:
        return 'blocked', problem
    if not is_flag_set('target.connected'):
        return 'blocked', 'Needs a relation to an http service'
    timeout = float(hookenv.config().get('timeout'))
    results = []
    for svc in endpoint_from_name('target').services():
        ok, text = probe.fetch(svc['hostname'], svc['port'], timeout)
        results.append((svc['unit'], ok, text))
    unitdata.kv().set(RESULTS_KEY, results)
    return probe.summarise(results)
