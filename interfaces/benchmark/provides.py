"""Provides side of ``benchmark``: the benchmarked application offers actions and runs.

Flags set:
  ``{endpoint_name}.connected``: a collector unit joined.

Relation keys written (unit bag, JSON text; see README.md):
  ``benchmarks``: list of this unit's benchmark action names.
  ``runs``: list of the newest finished runs (layer:stackyard ``benchmark.Run`` dicts),
  oldest first, at most ``RUNS_BYTES`` of JSON in total.  A run whose JSON alone is
  larger than ``RUN_BYTES`` is sent to the collector's ``api-url`` with an HTTP POST
  instead, and the list holds ``{"id": ..., "benchmark": ..., "pushed": true}`` for it.
Relation keys read (collector unit bag):
  ``api-url`` (str): http URL the collector accepts runs at (``POST``, JSON body).
"""

import json

from charmhelpers.core import hookenv, unitdata
from charms.reactive import Endpoint, toggle_flag

from charms.layer.stackyard import benchmark

RUN_BYTES = 16 * 1024
RUNS_BYTES = 48 * 1024
KV_RUNS = 'benchmark.published-runs'


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

    def _set(self, data):
        for relation in self.relations:
            hookenv.relation_set(relation.relation_id, data)
