"""Provides side of ``benchmark``: the benchmarked application offers actions and runs.

Flags set:
  ``{endpoint_name}.connected``: a collector unit joined.

Relation keys written (unit bag, JSON text; see README.md):
  ``benchmarks``: list of this unit's benchmark action names.
  ``runs``: list of the newest finished runs (layer:stackyard ``benchmark.Run`` dicts),
  oldest first, at most ``RUNS_BYTES`` of JSON in total.  A run whose JSON alone is
  larger than ``RUN_BYTES`` is sent to the collector's ``api-url`` with an HTTP POST
  instead, and the list holds ``{"id": ..., "benchmark": ..., "pushed": true}`` for it.
  ``suite``: the answer to the collector's newest suite request:
  ``{"id": str, "state": "running"|"done"|"failed", "benchmarks": [str], "runs": [run id],
  "errors": [str]}``.
Relation keys read (collector unit bag):
  ``api-url`` (str): http URL the collector accepts runs at (``POST``, JSON body).
Relation keys read (collector application bag):
  ``suite``: ``{"id": str, "benchmarks": [action name], "expires": ISO time}``, a request
  to run those benchmarks (the ones this unit has) once, detached (``serve_suites``);
  ignored when first seen after ``expires`` (a unit that joins later).
"""

import json
import subprocess

from charmhelpers.core import hookenv, unitdata
from charms.reactive import Endpoint, toggle_flag

from charms.layer import benchmark

RUN_BYTES = 16 * 1024
RUNS_BYTES = 48 * 1024
KV_RUNS = 'benchmark.published-runs'
# {suite id: {'relation': relation id, 'answer': answer dict, 'seq': int}} of the suites
# seen, newest
# KEEP_SUITES kept (an id seen once is never run again).
KV_SUITES = 'benchmark.suites'
KEEP_SUITES = 20


def parse_request(text):
    """The collector's ``suite`` request, or None when absent.

    :raises ValueError: not ``{"id": suite id, "benchmarks": [names], "expires": time}``
    """
    if not text:
        return None
    request = json.loads(text)
    if not isinstance(request, dict) or not benchmark.SUITE_ID.match(
            str(request.get('id') or '')) or not isinstance(request.get('benchmarks'), list) \
            or not isinstance(request.get('expires'), str):
        raise ValueError('suite must be {"id": ..., "benchmarks": [...], "expires": ...}')
    names = request['benchmarks']
    if len(names) > 50 or not all(isinstance(n, str) and benchmark.KEY_PART.match(n)
                                  for n in names):
        raise ValueError('suite benchmarks must be up to 50 action names')
    return {'id': request['id'], 'benchmarks': names, 'expires': request['expires']}


def entry_for(run):
    """What the relation carries for ``run``: the run, or a pointer when it is too big."""
    text = json.dumps(run, sort_keys=True)
    if len(text) <= RUN_BYTES:
        return run
    return {'id': run['id'], 'benchmark': run['benchmark'], 'pushed': True}


def newest_that_fit(entries, limit=RUNS_BYTES):
    """The newest entries whose JSON list fits in ``limit`` bytes (oldest dropped)."""
    kept, size = [], 2
    for entry in reversed(entries):
        size += len(json.dumps(entry, sort_keys=True)) + 2
        if size > limit:
            break
        kept.insert(0, entry)
    return kept


def push(url, run, timeout=10):
    """POST ``run`` as JSON to the collector's ``url``; returns the HTTP status."""
    return benchmark.post(url, run, timeout)


class BenchmarkProvides(Endpoint):
    """The benchmarked side (see the module docstring for flags and keys)."""

    def manage_flags(self):
        toggle_flag(self.expand_name('{endpoint_name}.connected'), self.is_joined)

    def publish_benchmarks(self, names):
        """Publish the benchmark action names (list of str) on every relation."""
        self._set({'benchmarks': json.dumps(sorted(names))})

    def api_urls(self):
        """The ``api-url`` of every collector unit that published one."""
        return sorted({u.received_raw['api-url'] for r in self.relations for u in r.units
                       if (u.received_raw.get('api-url') or '').startswith('http://')})

    def publish_run(self, run):
        """Add a finished run (a ``Run.data`` dict) to what every relation carries.

        Works in actions too (written at once, not at the end of a hook).
        :returns: the collector URLs a too-large run was pushed to
        """
        entry = entry_for(run)
        pushed = []
        if entry is not run:
            for url in self.api_urls():
                try:
                    push(url, run)
                    pushed.append(url)
                except OSError as e:
                    hookenv.log('benchmark: pushing run {} to {} failed: {}'.format(
                        run['id'], url, e), level=hookenv.WARNING)
        kv = unitdata.kv()
        entries = newest_that_fit((kv.get(KV_RUNS) or []) + [entry])
        kv.set(KV_RUNS, entries)
        self._set({'runs': json.dumps(entries, sort_keys=True)})
        return pushed

    def serve_suites(self, module):
        """In a hook: start the suites the collectors asked for, publish the finished ones.

        A new request starts its benchmarks (those this unit has) detached
        (``benchmark.start_suite``), never in the hook; a finished suite's runs
        go in ``runs`` and its answer in ``suite``.
        :param module: the charm module that registers the benchmarks
        """
        kv = unitdata.kv()
        suites = dict(kv.get(KV_SUITES) or {})
        for relation in self.relations:
            try:
                request = parse_request(relation.received_app_raw.get('suite'))
            except ValueError as e:
                hookenv.log('benchmark: ignored suite request: {}'.format(e),
                            level=hookenv.WARNING)
                continue
            if request and request['id'] not in suites and request['expires'] >= benchmark.now():
                answer = self._start(request, module)
                seq = 1 + max((s['seq'] for s in suites.values()), default=0)
                suites[request['id']] = {'relation': relation.relation_id, 'answer': answer,
                                         'seq': seq}
                hookenv.relation_set(relation.relation_id, {'suite': json.dumps(answer)})
        for suite_id, entry in suites.items():
            if entry['answer']['state'] == 'running':
                self._finish(suite_id, entry)
        newest = sorted(suites, key=lambda k: suites[k]['seq'])[-KEEP_SUITES:]
        kv.set(KV_SUITES, {k: suites[k] for k in newest})

    def _start(self, request, module):
        names = sorted(set(request['benchmarks']) & set(benchmark.registered()))
        answer = {'id': request['id'], 'state': 'running', 'benchmarks': names, 'runs': [],
                  'errors': ['not here: ' + n for n in sorted(
                      set(request['benchmarks']) - set(names))]}
        try:
            benchmark.start_suite(benchmark.suite_spec(request['id'], names, module,
                                                       self.api_urls()))
        except (benchmark.Invalid, OSError, subprocess.SubprocessError) as e:
            answer.update(state='failed', errors=answer['errors'] + [str(e)[:500]])
        return answer

    def _finish(self, suite_id, entry):
        result = benchmark.suite_result(suite_id)
        if result is None:
            return
        for run in result['runs']:
            self.publish_run(run)
        entry['answer'].update(state=result['state'], runs=[r['id'] for r in result['runs']],
                               errors=entry['answer']['errors'] + result['errors'])
        if any(r.relation_id == entry['relation'] for r in self.relations):
            hookenv.relation_set(entry['relation'], {'suite': json.dumps(entry['answer'])})

    def _set(self, data):
        for relation in self.relations:
            hookenv.relation_set(relation.relation_id, data)
