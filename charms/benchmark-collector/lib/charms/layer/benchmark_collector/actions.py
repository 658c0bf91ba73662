"""benchmark-collector's actions: ``set-baseline``, ``compare``, ``export``, ``run-suite``."""

import csv
import datetime
import json
import os
import re
import uuid

from charmhelpers.core import hookenv, host
from charms.reactive.relations import endpoint_from_name

from charms.layer.stackyard import actions, options
from charms.layer.benchmark_collector import collect, compare, paths, store, suite, web

_RUN_ID = re.compile(r'^[\w.-]{1,200}$')
_BENCHMARK = re.compile(r'^[a-z0-9][a-z0-9-]{0,63}$')
_SUITE_ID = re.compile(r'^[a-z0-9-]{8,64}$')
_NAMES = re.compile(r'^[a-z0-9][a-z0-9-]{0,63}( +[a-z0-9][a-z0-9-]{0,63})*$')
_SINCE = re.compile(r'^\d{4}-\d\d-\d\d([T ][0-9:.]{2,15}Z?)?$')


def _param(params, name, rule, what):
    """The stripped value of ``name`` ('' when unset); refused naming the param."""
    value = (params.get(name) or '').strip()
    if value and not rule.match(value):
        raise actions.ActionFailed('{} {!r} is not {}'.format(name, value[:100], what))
    return value


def _store():
    try:
        return collect.open_store()
    except store.StoreError as e:
        raise actions.ActionFailed(str(e))


@actions.action('set-baseline')
def set_baseline(params):
    run_id = _param(params, 'run-id', _RUN_ID, 'a run id')
    name = _param(params, 'benchmark', _BENCHMARK, 'a benchmark name')
    if not run_id and not name:
        raise actions.ActionFailed('give run-id, or benchmark to use its newest run')
    db = _store()
    try:
        if not run_id:
            newest = db.runs(benchmark=name, limit=1)
            if not newest:
                raise actions.ActionFailed('benchmark {!r} has no runs'.format(name))
            run_id = newest[0]['id']
        run = db.get_run(run_id)
        if run is None:
            raise actions.ActionFailed('no run with id {!r}'.format(run_id))
        if name and run['benchmark'] != name:
            raise actions.ActionFailed('run {} is of benchmark {}, not {}'.format(
                run_id, run['benchmark'], name))
        db.set_baseline(run['benchmark'], run_id, web.now())
    finally:
        db.close()
    return {'benchmark': run['benchmark'], 'run-id': run_id,
            'message': 'Run {} is the baseline of {}'.format(run_id, run['benchmark'])}


@actions.action('compare')
def compare_action(params):
    ids = {k: _param(params, k, _RUN_ID, 'a run id') for k in ('base', 'candidate')}
    name = _param(params, 'benchmark', _BENCHMARK, 'a benchmark name')
    config = options.config()
    db = _store()
    try:
        base, cand = compare.pick(db, ids['base'] or None, ids['candidate'] or None,
                                  name or None)
    except LookupError as e:
        raise actions.ActionFailed(str(e.args[0]))
    finally:
        db.close()
    result = compare.compare_runs(base, cand, config['threshold'], config['alpha'])
    out = {'verdict': result['verdict'], 'base': base['id'], 'candidate': cand['id'],
           'benchmark': result['benchmark'], 'comparison': json.dumps(result, sort_keys=True)}
    for metric, m in result['metrics'].items():   # names are action-key parts (validated)
        out.update({'metrics.{}.verdict'.format(metric): m['verdict'],
                    'metrics.{}.change'.format(metric): '{:+.4f}'.format(m['change']),
                    'metrics.{}.why'.format(metric): m['why']})
    if params.get('fail-on-worse') and result['verdict'] == 'worse':
        raise actions.ActionFailed('{} is worse than {}: {}'.format(
            cand['id'], base['id'], ', '.join(n for n, m in sorted(result['metrics'].items())
                                              if m['verdict'] == 'worse')))
    return out


@actions.action('export')
def export(params):
    fmt = params.get('format') or 'csv'
    if fmt not in ('csv', 'json'):
        raise actions.ActionFailed("format {!r} is not csv or json".format(fmt))
    filters = {'benchmark': _param(params, 'benchmark', _BENCHMARK, 'a benchmark name'),
               'since': _param(params, 'since', _SINCE, 'an ISO 8601 date or time')}
    db = _store()
    try:
        name = 'runs-{}.{}'.format(web.now().replace(':', '').replace('.', '-'), fmt)
        path = os.path.join(paths.EXPORTS, name)
        host.mkdir(paths.EXPORTS, owner='root', group='root', perms=0o750)
        count = _write(db, filters, fmt, path)
    finally:
        db.close()
    return {'path': path, 'format': fmt, 'rows': str(count),
            'bytes': str(os.path.getsize(path))}


def _write(db, filters, fmt, path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    with os.fdopen(fd, 'w', newline='') as f:
        if fmt == 'csv':
            rows = db.metric_rows(**filters)
            writer = csv.writer(f)
            writer.writerow(web.CSV_FIELDS)
            writer.writerows(rows)
            return len(rows)
        runs = [db.get_run(r['id']) for r in db.runs(limit=10 ** 9, **filters)]
        json.dump(runs, f, sort_keys=True)
        return len(runs)


@actions.action('run-suite')
def run_suite(params):
    """Start a suite (no ``suite-id``), or return the comparison of the suite named."""
    suite_id = _param(params, 'suite-id', _SUITE_ID, 'a suite id')
    wanted = _param(params, 'benchmarks', _NAMES, 'benchmark action names separated by spaces')
    if suite_id:
        if wanted:
            raise actions.ActionFailed('benchmarks is for a new suite; leave it out with '
                                       'suite-id')
        return _suite_result(suite_id)
    if not hookenv.is_leader():
        raise actions.ActionFailed('run-suite starts a suite only on the leader (it writes '
                                   'the application bag); this unit is not')
    endpoint = endpoint_from_name('benchmark')
    suite_id = str(uuid.uuid4())
    started = web.now()
    expires = (datetime.datetime.strptime(started, suite.TIME_FORMAT) +
               suite.REQUEST_LIFETIME).strftime(suite.TIME_FORMAT)
    expected = endpoint.request_suite(suite_id, expires,
                                      set(wanted.split()) if wanted else None)
    if not expected:
        raise actions.ActionFailed('no related unit lists {}'.format(
            'any of: ' + wanted if wanted else 'a benchmark'))
    suite.record(suite_id, started, expected)
    return {'suite-id': suite_id, 'state': 'started',
            'expected': json.dumps(expected, sort_keys=True),
            'message': 'Started suite {} on {} unit(s); run-suite suite-id={} returns the '
                       'comparison'.format(suite_id, len(expected), suite_id)}


def _suite_result(suite_id):
    record = suite.get(suite_id)
    if record is None:
        raise actions.ActionFailed('no suite with id {!r} on this unit'.format(suite_id))
    answers = {e['unit']: e['suite'] for e in endpoint_from_name('benchmark').received()
               if e['suite'] and e['suite']['id'] == suite_id}
    config = options.config()
    db = _store()
    try:
        summary = suite.summarise(db, suite_id, record, answers, config['threshold'],
                                  config['alpha'])
    finally:
        db.close()
    return {'suite-id': suite_id, 'state': summary['state'], 'verdict': summary['verdict'],
            'runs': str(len(summary['runs'])), 'table': suite.table(summary),
            'pending': json.dumps(summary['pending'], sort_keys=True),
            'errors': json.dumps(summary['errors'], sort_keys=True),
            'comparison': json.dumps(summary, sort_keys=True)}
