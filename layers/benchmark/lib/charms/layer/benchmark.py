"""Benchmark runs: typed metrics, a composite score, the run as JSON, a machine fingerprint.

``run = Run('http', params)``, ``run.metric('requests', 1234.5, 'req/s', 'higher',
samples=[...])``, ``run.composite(...)``, then an action returns
``run.finish().results()``: action-set keys Juju accepts (every dotted part matches
``keyRule`` of juju/juju worker/uniter/runner/jujuc/action-set.go @0c6bfc42) and the
whole run as JSON in ``run``, the form interfaces/benchmark carries.

Parameter checks (:func:`whole`, :func:`size`) raise :class:`Invalid` naming the
param.  :func:`register` records a charm's benchmark (params in, finished
:class:`Run` out) so a collector's suite request can run it outside an action, in a
detached process (:func:`start_suite`, :func:`run_suite`; interfaces/benchmark's
README).  Standard library only at import.
"""

import datetime
import importlib
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import urllib.request
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


_SIZE = re.compile(r'^(\d+)([KMG]?)B?$')
_UNITS = {'': 1, 'K': 1024, 'M': 1024 ** 2, 'G': 1024 ** 3}


def whole(params, name, low, high):
    """``params[name]`` as an int in ``[low, high]``; :class:`Invalid` names the param."""
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid('{} must be a whole number from {} to {}, not {!r}'.format(
            name, low, high, value))
    return value


def size(params, name, low, high):
    """``params[name]`` (``4k``, ``64M``, ``1G``, ``512b``) in bytes, within ``[low, high]``.

    A string: ``juju run ... block-size=512`` sends an integer, which actions.yaml's
    ``type: string`` refuses before the charm sees it; ``512b`` is the way to say bytes.
    """
    value = params.get(name)
    found = _SIZE.match(value.strip().upper()) if isinstance(value, str) else None
    if found:
        count = int(found.group(1)) * _UNITS[found.group(2)]
        if low <= count <= high:
            return count
    raise Invalid('{} must be a size from {} to {} bytes (512b, 4k, 64M, 1G), not {!r}'.format(
        name, low, high, value))


# action name -> (fn, context); see register().
_registry = {}


def register(action_name, context=None):
    """Decorator: ``fn(params, **context())`` measures and returns a finished :class:`Run`.

    ``params`` are the action's (a suite passes actions.yaml's defaults, see
    :func:`defaults`); a bad one raises :class:`Invalid` naming it.
    ``context``, when given, returns a dict of facts only a hook or action can
    read (a storage location, say): it is called there and its result passed
    as keyword arguments, also to a suite's detached run.  This makes the
    action ``action_name`` too (run, hand to the related collectors, return
    :meth:`Run.results`), and lets a collector's suite ask for it.
    """
    check_name(action_name, 'benchmark action')

    def add(fn):
        _registry[action_name] = (fn, context)
        from charms.layer.stackyard import actions   # the venv's; not at import

        def action(params):
            try:
                run = fn(params, **(context() if context else {}))
            except Invalid as e:
                raise actions.ActionFailed(str(e)) from None
            publish(run)
            return run.results()
        actions.action(action_name)(action)
        return fn
    return add


def registered():
    """The names of the registered benchmark actions, sorted."""
    return sorted(_registry)


def defaults(action_name, charm_dir=None):
    """The default params of ``action_name`` from the charm's actions.yaml."""
    import yaml   # not at import: this module stays standard library only there
    path = os.path.join(charm_dir or os.environ.get('CHARM_DIR', ''), 'actions.yaml')
    with open(path) as f:
        spec = (yaml.safe_load(f) or {}).get(action_name) or {}
    return {k: v['default'] for k, v in (spec.get('params') or {}).items()
            if isinstance(v, dict) and 'default' in v}


def ensure_command(command, package, timeout=600):
    """Install Debian ``package`` when ``command`` is not on PATH (first benchmark only).

    Benchmarks install their tool on first use, so units that never benchmark
    do not carry it.  :raises Invalid: apt-get failed (its last output lines)
    """
    if shutil.which(command):
        return
    proc = subprocess.run(['apt-get', 'install', '-y', '-q', '--no-install-recommends',
                           package], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=timeout,
                          env=dict(os.environ, DEBIAN_FRONTEND='noninteractive'))
    if proc.returncode != 0 or not shutil.which(command):
        raise Invalid('installing {} failed: {}'.format(package, proc.stdout.strip()[-300:]))


AB, AB_PACKAGE = 'ab', 'apache2-utils'


def parse_ab(text):
    """``{rps, mean, p50, p95, p99, failed}`` from ApacheBench's report.

    :raises ValueError: a figure is missing (ab failed or changed its report)
    """
    def figure(pattern):
        found = re.search(pattern, text, re.M)
        if not found:
            raise ValueError('ab output has no match for {!r}'.format(pattern))
        return float(found.group(1))
    return {'rps': figure(r'^Requests per second:\s+([\d.]+)'),
            'mean': figure(r'^Time per request:\s+([\d.]+) \[ms\] \(mean\)$'),
            'p50': figure(r'^\s+50%\s+(\d+)'), 'p95': figure(r'^\s+95%\s+(\d+)'),
            'p99': figure(r'^\s+99%\s+(\d+)'), 'failed': figure(r'^Failed requests:\s+(\d+)')}


def ab_metrics(run, reports):
    """Add ab's metrics to ``run``: the mean of ``reports`` (``parse_ab`` dicts), samples kept."""
    def samples(key):
        return [r[key] for r in reports]
    run.metric('requests-per-second', statistics.fmean(samples('rps')), 'req/s', 'higher',
               samples=samples('rps'))
    run.metric('latency-mean', statistics.fmean(samples('mean')), 'ms', 'lower',
               samples=samples('mean'))
    for key in ('p50', 'p95', 'p99'):
        run.metric('latency-' + key, statistics.fmean(samples(key)), 'ms', 'lower',
                   samples=samples(key))
    run.metric('failed-requests', sum(samples('failed')), 'requests', 'lower')


def run_ab(url, requests, concurrency, timeout=600):
    """``requests`` GETs of ``url``, ``concurrency`` at once, with ab: :func:`parse_ab`'s dict.

    :raises Invalid: ab failed or its report lacks a figure
    """
    ensure_command(AB, AB_PACKAGE)
    proc = subprocess.run([AB, '-q', '-n', str(requests), '-c', str(concurrency), url],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=timeout)
    if proc.returncode != 0:
        raise Invalid('ab failed: {}'.format(proc.stdout.strip()[-300:]))
    try:
        return parse_ab(proc.stdout)
    except ValueError as e:
        raise Invalid(str(e)) from None


def post(url, run, timeout=10):
    """POST ``run`` (a dict) as JSON to a collector's ``url``; returns the HTTP status."""
    body = json.dumps(run, sort_keys=True).encode()
    request = urllib.request.Request(url, data=body, method='POST',
                                     headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 http only
        return response.status


def publish(run, endpoint='benchmark'):
    """Hand a finished run to every collector related on ``endpoint`` (in an action too)."""
    from charmhelpers.core import hookenv
    from charms.reactive.relations import relation_factory
    ids = hookenv.relation_ids(endpoint)
    if not ids:
        return []
    return relation_factory(endpoint)(endpoint, ids).publish_run(run.data)


# A suite's spec (what to run) and result (what came of it), root-only.
SUITE_DIR = '/var/lib/stackyard/benchmark-suites'
# A detached suite is stopped by systemd after this long (RuntimeMaxSec).
SUITE_MAX_SECONDS = 3 * 3600
SUITE_ID = re.compile(r'^[a-z0-9-]{8,64}$')


def suite_paths(suite_id, root=SUITE_DIR):
    """``(spec, result)`` file paths of a suite."""
    return (os.path.join(root, suite_id + '.spec.json'),
            os.path.join(root, suite_id + '.result.json'))


def _write_json(path, data):
    """Write ``data`` to ``path`` atomically, 0600."""
    tmp = path + '.tmp'
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        json.dump(data, f, sort_keys=True)
    os.rename(tmp, path)


def suite_spec(suite_id, names, module, urls):
    """What a detached suite runs: ``names`` with actions.yaml's defaults, each with its
    context read now (in the hook); runs are POSTed to ``urls`` as they finish."""
    if not SUITE_ID.match(suite_id or ''):
        raise Invalid('suite id {!r} must be 8-64 lowercase letters, digits, hyphens'.format(
            suite_id))
    unknown = sorted(set(names) - set(_registry))
    if unknown:
        raise Invalid('unknown benchmark(s): {}; this unit has: {}'.format(
            ', '.join(unknown), ', '.join(registered()) or 'none'))
    benchmarks = []
    for name in names:
        context = _registry[name][1]
        benchmarks.append({'action': name, 'params': defaults(name),
                           'context': context() if context else {}})
    return {'id': suite_id, 'module': module, 'urls': list(urls), 'benchmarks': benchmarks}


def start_suite(spec, root=SUITE_DIR, python=None):
    """Run ``spec`` (:func:`suite_spec`) detached, in a transient systemd service.

    A hook holds the machine lock, so it only starts the suite; the service
    POSTs each run to the collectors and writes the result file that a later
    hook publishes (:func:`suite_result`).  :returns: the service's name
    :raises Invalid: systemd-run failed
    """
    os.makedirs(root, mode=0o700, exist_ok=True)
    spec_path = suite_paths(spec['id'], root)[0]
    _write_json(spec_path, spec)
    service = 'benchmark-suite-{}'.format(spec['id'])
    lib = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    command = ['systemd-run', '--unit', service, '--collect', '--quiet',
               '--property=RuntimeMaxSec={}'.format(SUITE_MAX_SECONDS),
               '--setenv=PYTHONPATH=' + lib]
    command += ['--setenv={}={}'.format(k, os.environ[k]) for k in ('CHARM_DIR', 'JUJU_UNIT_NAME')
                if os.environ.get(k)]
    command += [python or sys.executable, '-m', 'charms.layer.benchmark', spec_path]
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=30)
    if proc.returncode != 0:
        raise Invalid('systemd-run failed: {}'.format(proc.stdout.strip()[-300:]))
    return service


def run_suite(spec_path):
    """Run a suite's benchmarks one by one (the detached service's work).

    Each run gets ``params['suite']`` = the suite id and is POSTed to every URL
    of the spec; the result file gets ``{id, state: done|failed, runs, errors}``.
    """
    with open(spec_path) as f:
        spec = json.load(f)
    result = {'id': spec['id'], 'state': 'done', 'runs': [], 'errors': []}
    try:
        importlib.import_module(spec['module'])   # registers the benchmarks
        entries = spec['benchmarks']
    except Exception as e:   # reported like a failed benchmark, not left pending
        result['errors'].append('loading {}: {}'.format(spec['module'], e)[:500])
        entries = []
    for entry in entries:
        name = entry['action']
        try:
            run = _registry[name][0](entry['params'], **entry['context'])
        except Exception as e:   # any failure of one benchmark is reported, the next runs
            result['errors'].append('{}: {}'.format(name, e)[:500])
            continue
        run.data['params']['suite'] = spec['id']
        result['runs'].append(run.data)
        for url in spec['urls']:
            try:
                post(url, run.data)
            except OSError as e:
                result['errors'].append('{}: POST to {} failed: {}'.format(name, url, e)[:500])
    if result['errors']:
        result['state'] = 'failed'
    _write_json(suite_paths(spec['id'], os.path.dirname(spec_path))[1], result)
    return result


def suite_result(suite_id, root=SUITE_DIR):
    """The finished result of a suite, or None while it runs."""
    try:
        with open(suite_paths(suite_id, root)[1]) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


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


if __name__ == '__main__':
    # The detached suite service: python -m charms.layer.benchmark SPEC.
    # Runs through the imported module, whose registry the charm's modules fill;
    # charmhelpers gets the common layer's fixes first, as in a hook.
    from charms.layer.stackyard import compat
    compat.install()
    from charms.layer import benchmark as _lib
    _lib.run_suite(sys.argv[1])
