"""Suites: the collector asks every related unit to run its benchmarks, then compares.

``run-suite`` writes the request (interface:benchmark's ``suite`` key) and keeps
a record here; the units run the benchmarks detached and POST the runs (each
with ``params['suite']``), and answer in their ``suite`` key.  A later
``run-suite suite-id=<id>`` reads the runs back and compares each with its
benchmark's baseline (:func:`summarise`).
"""

import datetime

from charmhelpers.core import unitdata

from charms.layer.benchmark_collector import compare

# unitdata: {suite id: {'started': ISO time, 'expected': {unit: [action names]}}}.
SUITES_KEY = 'benchmark-collector.suites'
KEEP = 20
# Runs started this long before the suite's request still count (clocks of machines
# differ); only runs naming the suite are taken.
CLOCK_SLACK = datetime.timedelta(minutes=10)
TIME_FORMAT = '%Y-%m-%dT%H:%M:%S.%fZ'      # web.now()'s
MAX_RUNS = 1000
# A unit that first sees a request later than this (it joined since) does not run it.
REQUEST_LIFETIME = datetime.timedelta(hours=1)


def record(suite_id, started, expected):
    """Keep the suite's record (the newest :data:`KEEP`)."""
    kv = unitdata.kv()
    suites = dict(kv.get(SUITES_KEY) or {})
    suites[suite_id] = {'started': started, 'expected': expected}
    newest = sorted(suites, key=lambda k: suites[k]['started'])[-KEEP:]
    kv.set(SUITES_KEY, {k: suites[k] for k in newest})


def get(suite_id):
    """The suite's record, or None."""
    return (unitdata.kv().get(SUITES_KEY) or {}).get(suite_id)


def runs_of(db, suite_id, started):
    """The stored run documents of the suite (``params['suite']`` is its id)."""
    since = (datetime.datetime.strptime(started, TIME_FORMAT) - CLOCK_SLACK).strftime(
        TIME_FORMAT)
    docs = (db.get_run(r['id']) for r in db.runs(limit=MAX_RUNS, since=since))
    return [d for d in docs if d and (d.get('params') or {}).get('suite') == suite_id]


def _judge(db, run, baselines, threshold, alpha):
    entry = {'unit': run['unit'], 'benchmark': run['benchmark'], 'run': run['id'],
             'baseline': baselines.get(run['benchmark'])}
    base = db.get_run(entry['baseline']) if entry['baseline'] else None
    if base is None:
        entry.update(verdict='no-baseline', worse=[], better=[])
        return entry
    result = compare.compare_runs(base, run, threshold, alpha)
    entry.update(verdict=result['verdict'], **{
        v: sorted(n for n, m in result['metrics'].items() if m['verdict'] == v)
        for v in ('worse', 'better')})
    return entry


def summarise(db, suite_id, record_, answers, threshold, alpha):
    """One comparison of the suite's runs against their baselines.

    :param answers: ``{unit: answer}`` of the units' ``suite`` keys for this suite
    :returns: ``{suite-id, state, verdict, runs: [per run], pending: {unit: [names]},
        errors: {unit: [str]}}``; ``state`` is ``complete`` once every unit asked
        has sent its runs or answered done/failed, else ``running``; ``verdict``
        is worse if a run is worse, else better if one is better, else unchanged,
        or ``no-baseline`` when no run had a baseline to compare with.
    """
    runs = runs_of(db, suite_id, record_['started'])
    baselines = db.baselines()
    judged = sorted((_judge(db, r, baselines, threshold, alpha) for r in runs),
                    key=lambda e: (e['unit'], e['benchmark']))
    pending, errors = {}, {}
    for unit, names in sorted(record_['expected'].items()):
        answer = answers.get(unit) or {}
        if answer.get('errors'):
            errors[unit] = answer['errors']
        got = sum(1 for r in runs if r['unit'] == unit)
        if got < len(names) and answer.get('state') not in ('done', 'failed'):
            pending[unit] = names
    verdicts = {e['verdict'] for e in judged} - {'no-baseline'}
    verdict = ('worse' if 'worse' in verdicts else 'better' if 'better' in verdicts
               else 'unchanged' if verdicts else 'no-baseline')
    return {'suite-id': suite_id, 'state': 'running' if pending else 'complete',
            'verdict': verdict, 'runs': judged, 'pending': pending, 'errors': errors}


def table(summary):
    """A text table of :func:`summarise`'s runs."""
    rows = [('unit', 'benchmark', 'verdict', 'worse', 'run')] + [
        (e['unit'], e['benchmark'], e['verdict'], ','.join(e['worse']) or '-', e['run'])
        for e in summary['runs']]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return '\n'.join('  '.join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
