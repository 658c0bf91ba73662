"""Benchmark runs: typed metrics, a composite score, the run as JSON, a machine fingerprint.

``run = Run('http', params)``, ``run.metric('requests', 1234.5, 'req/s', 'higher',
samples=[...])``, ``run.composite(...)``, then an action returns
``run.finish().results()``: action-set keys Juju accepts (every dotted part matches
``keyRule`` of juju/juju worker/uniter/runner/jujuc/action-set.go @0c6bfc42) and the
whole run as JSON in ``run``, the form interfaces/benchmark carries.  Standard library only.
"""

import datetime
import json
import math
import os
import re
import subprocess
import uuid

SCHEMA = 1
KEY_PART = re.compile(r'^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$')
# Top-level action-set keys Juju keeps (action-set.go, 3.x).
RESERVED = frozenset({'stdout', 'stdout-encoding', 'stderr', 'stderr-encoding'})
DIRECTIONS = ('higher', 'lower')
# Packages whose versions every fingerprint records, when installed.
PACKAGES = ('python3', 'libc6', 'openssl')
MAX_SAMPLES = 10000


class Invalid(ValueError):
    """A metric, name or value the helpers refuse; the message names it."""


def valid_key(key):
    """True when ``action-set`` accepts ``key`` (dotted path, not a reserved key)."""
    parts = key.split('.')
    return parts[0] not in RESERVED and all(KEY_PART.match(p) for p in parts)


def check_name(name, what='metric name'):
    """Return ``name`` when it is one action-key part, else raise :class:`Invalid`."""
    if not isinstance(name, str) or not KEY_PART.match(name):
        raise Invalid('{} {!r} must be lowercase letters, digits and inner hyphens'.format(
            what, name))
    return name


def number(value, what):
    """``value`` as a finite float (bools, NaN and infinities refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(
            value):
        raise Invalid('{} {!r} is not a finite number'.format(what, value))
    return float(value)


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ')


class Run:
    """One benchmark run: what was measured, where, with which parameters."""

    def __init__(self, benchmark, params=None, unit=None, charm=None, revision=None):
        self.data = {
            'schema': SCHEMA, 'id': str(uuid.uuid4()),
            'benchmark': check_name(benchmark, 'benchmark name'),
            'unit': unit or os.environ.get('JUJU_UNIT_NAME', ''),
            'charm': charm or _charm_name(), 'revision': revision or charm_revision(),
            'action-id': os.environ.get('JUJU_ACTION_UUID', ''),
            'params': dict(params or {}), 'start': now(), 'end': None,
            'fingerprint': fingerprint(), 'metrics': {}, 'composite': None}

    def metric(self, name, value, units, direction, samples=None):
        """Add a metric; ``samples`` are the repeated measurements ``value`` sums up."""
        self.data['metrics'][check_name(name)] = metric_entry(name, value, units, direction,
                                                              samples)
        return self

    def composite(self, value, units, direction):
        """Set the one score that sums the run up."""
        self.data['composite'] = metric_entry('composite', value, units, direction)
        return self

    def finish(self):
        """Record the end time; a run without metrics is refused."""
        if not self.data['metrics']:
            raise Invalid('run {} has no metrics'.format(self.data['benchmark']))
        self.data['end'] = now()
        return self

    def results(self):
        """The run as action-set keys (values are strings), plus ``run`` (JSON)."""
        d = self.data
        out = {'run': json.dumps(d, sort_keys=True), 'meta.schema-version': str(SCHEMA)}
        out.update(('meta.' + k, d[k] or '') for k in ('id', 'benchmark', 'start', 'end'))
        parts = [('meta.composite', d['composite'] or {})] + [
            ('results.' + n, m) for n, m in d['metrics'].items()]
        for prefix, m in parts:
            out.update(('{}.{}'.format(prefix, k), str(v) if k != 'samples' else
                        ' '.join(map(repr, v))) for k, v in m.items())
        return out


def metric_entry(name, value, units, direction, samples=None):
    """``{value, units, direction[, samples]}`` checked, values as floats."""
    if not isinstance(units, str) or len(units) > 32:
        raise Invalid('{}: units {!r} must be a string of up to 32 characters'.format(
            name, units))
    if direction not in DIRECTIONS:
        raise Invalid('{}: direction {!r} must be higher or lower (which is better)'.format(
            name, direction))
    entry = {'value': number(value, name), 'units': units, 'direction': direction}
    if samples is not None:
        if not isinstance(samples, (list, tuple)) or len(samples) > MAX_SAMPLES:
            raise Invalid('{}: samples must be a list of at most {} numbers'.format(
                name, MAX_SAMPLES))
        entry['samples'] = [number(s, name + ' sample') for s in samples]
    return entry


def validate(doc):
    """A run received from elsewhere, checked and normalised; :class:`Invalid` names the fault."""
    if not isinstance(doc, dict):
        raise Invalid('a run must be a JSON object')
    out = {k: doc.get(k) or '' for k in ('id', 'unit', 'charm', 'revision', 'action-id',
                                         'start', 'end')}
    bad = sorted(k for k, v in out.items() if not isinstance(v, str) or len(v) > 200)
    if bad or not (out['id'] and out['start'] and out['end']):
        raise Invalid('run fields {} must be strings (id, start, end required)'.format(
            ', '.join(bad) or 'id/start/end'))
    metrics = _objects(doc.get('metrics'), 'run {}: metrics'.format(out['id']))
    comp = _objects({'composite': doc.get('composite') or {}}, 'composite')['composite']
    out.update(schema=SCHEMA, benchmark=check_name(doc.get('benchmark'), 'benchmark'),
               composite=_entry('composite', comp) if comp else None,
               metrics={check_name(n): _entry(n, m) for n, m in metrics.items()})
    for key in ('params', 'fingerprint'):
        out[key] = doc[key] if isinstance(doc.get(key), dict) else {}
    return out


def _objects(value, what):
    if not isinstance(value, dict) or not 0 < len(value) <= 500 or not all(
            isinstance(v, dict) for v in value.values()):
        raise Invalid('{} must hold 1 to 500 objects'.format(what))
    return value


def _entry(name, m):
    return metric_entry(name, m.get('value'), m.get('units'), m.get('direction'),
                        m.get('samples'))


def _read(path):
    try:
        with open(path, errors='replace') as f:
            return f.read()
    except OSError:
        return ''


def _charm_name():
    meta = _read(os.path.join(os.environ.get('CHARM_DIR', ''), 'metadata.yaml'))
    # charm build writes the keys quoted: "name": "x"
    return (re.findall(r'^[\'"]?name[\'"]?:\s*[\'"]?([\w-]+)', meta, re.M) or [''])[0]


def charm_revision(charm_dir=None):
    """The revision in Juju's ``.juju-charm`` charm URL (``local:x-7`` -> ``7``), or ''."""
    url = _read(os.path.join(charm_dir or os.environ.get('CHARM_DIR', ''), '.juju-charm'))
    return (re.findall(r'-(\d+)\s*$', url) or [''])[0]


def package_versions(names=PACKAGES):
    """``{package: version}`` of the installed Debian packages among ``names``."""
    try:
        out = subprocess.run(['dpkg-query', '-W', '-f', '${Package} ${Version}\\n'] +
                             list(names), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             universal_newlines=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    pairs = (line.split(' ', 1) for line in out.splitlines())
    return {p[0]: p[1] for p in pairs if len(p) == 2 and p[1]}


def fingerprint(proc='/proc', packages=PACKAGES):
    """CPU model and count, memory, kernel and package versions of this machine."""
    cpuinfo = _read(os.path.join(proc, 'cpuinfo'))
    model = re.search(r'^(?:model name|Model|cpu model)\s*:\s*(.+)$', cpuinfo, re.M)
    mem = re.search(r'^MemTotal:\s*(\d+)\s*kB', _read(os.path.join(proc, 'meminfo')), re.M)
    return {'cpu-model': model.group(1).strip() if model else os.uname().machine,
            'cpu-count': len(os.sched_getaffinity(0)),
            'memory-bytes': int(mem.group(1)) * 1024 if mem else None,
            'kernel': os.uname().release, 'arch': os.uname().machine,
            'packages': package_versions(packages)}
