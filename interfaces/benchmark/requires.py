"""Requires side of ``benchmark``: the collector reads actions and runs, publishes its API.

Flags set:
  ``{endpoint_name}.connected``: a benchmarked unit joined.

Relation keys read (each remote unit bag, untrusted, see README.md):
  ``benchmarks``: JSON list of action names; ``runs``: JSON list of runs or pointers;
  ``suite``: the unit's answer to the newest suite request (``{id, state, benchmarks,
  runs, errors}``).
Relation keys written (unit bag):
  ``api-url`` (str): where units POST runs too large for the relation.
Relation keys written (application bag, leader only):
  ``suite``: ``{"id": str, "benchmarks": [action name], "expires": ISO time}``: run these
  once, unless seen only after ``expires`` (``request_suite``).
"""

import json
import re

from charmhelpers.core import hookenv
from charms.reactive import Endpoint, toggle_flag

from charms.layer import benchmark

_NAME = re.compile(r'^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$')
MAX_RUNS = 200


class Invalid(ValueError):
    """Relation data that cannot be used."""


def parse_benchmarks(text):
    """The action names from ``benchmarks`` (missing: empty list)."""
    if not text:
        return []
    try:
        names = json.loads(text)
    except ValueError:
        raise Invalid('benchmarks is not JSON') from None
    if not isinstance(names, list) or not all(isinstance(n, str) and _NAME.match(n)
                                              for n in names):
        raise Invalid('benchmarks must be a list of action names')
    return names


def parse_runs(text, unit):
    """``(runs, pointers, errors)`` from ``runs`` sent by ``unit``.

    A run must validate (``benchmark.validate``) and name the unit that sent it;
    a bad one is an error string, the others are kept.
    :raises Invalid: the key is not a JSON list
    """
    if not text:
        return [], [], []
    try:
        items = json.loads(text)
    except ValueError:
        raise Invalid('runs is not JSON') from None
    if not isinstance(items, list) or len(items) > MAX_RUNS:
        raise Invalid('runs must be a list of at most {} runs'.format(MAX_RUNS))
    out = {'run': [], 'pointer': [], 'error': []}
    for item in items:
        kind, value = _one(item, unit)
        out[kind].append(value)
    return out['run'], out['pointer'], out['error']


def _one(item, unit):
    if isinstance(item, dict) and item.get('pushed') is True and isinstance(
            item.get('id'), str) and _NAME.match(item.get('benchmark') or ''):
        return 'pointer', {'id': item['id'][:200], 'benchmark': item['benchmark']}
    try:
        run = benchmark.validate(item)
    except benchmark.Invalid as e:
        return 'error', str(e)
    if run['unit'] != unit:
        return 'error', 'run {} names unit {!r} but came from {}'.format(
            run['id'], run['unit'], unit)
    return 'run', run


STATES = ('running', 'done', 'failed')


def parse_answer(text):
    """A unit's ``suite`` answer, or None when absent.

    :raises Invalid: not an answer of the documented shape
    """
    if not text:
        return None
    try:
        answer = json.loads(text)
    except ValueError:
        raise Invalid('suite is not JSON') from None
    lists = ('benchmarks', 'runs', 'errors')
    if not isinstance(answer, dict) or not isinstance(answer.get('id'), str) or \
            answer.get('state') not in STATES or not all(
                isinstance(answer.get(k), list) and len(answer[k]) <= 100 and
                all(isinstance(v, str) for v in answer[k]) for k in lists):
        raise Invalid('suite must be {id, state (running, done, failed), benchmarks, runs, '
                      'errors}')
    return {'id': answer['id'][:64], 'state': answer['state'],
            **{k: [v[:500] for v in answer[k]] for k in lists}}


class BenchmarkRequires(Endpoint):
    """The collector side (see the module docstring for flags and keys)."""

    def manage_flags(self):
        toggle_flag(self.expand_name('{endpoint_name}.connected'), self.is_joined)

    def publish_api(self, url):
        """Publish ``api-url`` on every relation."""
        for relation in self.relations:
            relation.to_publish_raw['api-url'] = url

    def request_suite(self, suite_id, expires, wanted=None):
        """Ask every related application to run its benchmarks once (leader only).

        Written with relation-set at once, so it works in an action.
        :param expires: ISO 8601 UTC time after which a unit that has not seen the
            request yet (one that joins later) ignores it
        :param wanted: action names to run (None: every one a unit lists)
        :returns: ``{unit: [action names]}`` of the units asked, only those with some
        """
        expected = {}
        for relation in self.relations:
            names = set()
            for entry in (self._read(relation.application_name, u.unit_name, u.received_raw)
                          for u in relation.units):
                mine = sorted(n for n in entry['benchmarks'] if wanted is None or n in wanted)
                if mine:
                    expected[entry['unit']] = mine
                    names.update(mine)
            if names:
                hookenv.relation_set(relation.relation_id, {'suite': json.dumps(
                    {'id': suite_id, 'benchmarks': sorted(names), 'expires': expires},
                    sort_keys=True)}, app=True)
        return expected

    def received(self):
        """Per remote unit: ``{'unit', 'application', 'benchmarks', 'runs', 'pointers',
        'suite', 'errors'}``; a key that does not parse gives an error, not an exception."""
        out = []
        for relation in self.relations:
            for unit in relation.units:
                out.append(self._read(relation.application_name, unit.unit_name,
                                      unit.received_raw))
        return out

    @staticmethod
    def _read(application, unit, data):
        entry = {'unit': unit, 'application': application, 'benchmarks': [], 'runs': [],
                 'pointers': [], 'suite': None, 'errors': []}
        try:
            entry['suite'] = parse_answer(data.get('suite'))
        except Invalid as e:
            entry['errors'].append(str(e))
        try:
            entry['benchmarks'] = parse_benchmarks(data.get('benchmarks'))
        except Invalid as e:
            entry['errors'].append(str(e))
        try:
            entry['runs'], entry['pointers'], errors = parse_runs(data.get('runs'), unit)
            entry['errors'] += errors
        except Invalid as e:
            entry['errors'].append(str(e))
        if entry['errors']:
            hookenv.log('benchmark: {} sent {} bad item(s)'.format(
                unit, len(entry['errors'])), level=hookenv.DEBUG)
        return entry
