"""The ``jobs`` option: parsing, validation, and which workers may run each job.

``jobs`` is a YAML list; each entry is a mapping::

    - name: unit-tests            # [a-z0-9][a-z0-9_-]*, at most 63; unique: the builder
      repo: https://git.example/app.git   # optional: checked out before the steps
      branch: main                # optional (with repo): default the repo's HEAD
      labels: [linux, amd64]      # optional: a worker must have all of them
      steps:                      # one or more, run in order; the first failure ends it
        - name: test              # [A-Za-z0-9][A-Za-z0-9 ._-]*, unique in the job
          run: make test          # bash script (bash -eo pipefail -c)
          timeout: 1200           # optional: seconds without output (1-86400)

Everything here is pure: the option rule, the contexts and the unit tests call it.
"""

import re
import urllib.parse

from charms.layer.stackyard import options

KEYS = {'name', 'repo', 'branch', 'labels', 'steps'}
STEP_KEYS = {'name', 'run', 'timeout'}
DEFAULT_TIMEOUT = 1200
MAX_TIMEOUT = 86400
REPO_SCHEMES = ('http', 'https', 'git', 'ssh', 'file')
_NAME = re.compile(r'^[a-z0-9][a-z0-9_-]{0,62}$')
_STEP = re.compile(r'^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$')
_LABEL = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._:+-]{0,62}$')
_BRANCH = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$')
_SCP = re.compile(r'^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$')


Invalid = options.Invalid


def check_repo(value, job):
    """A git URL (http, https, git, ssh, file, ``user@host:path``) or an absolute path.

    :raises Invalid: anything else
    """
    bad = Invalid('{}: repo {!r} is not a git URL (http, https, git, ssh, file, '
                  'user@host:path) or an absolute path'.format(job, value))
    if not isinstance(value, str) or not value.strip() or \
            any(c.isspace() or c in '"\'\\`$' for c in value.strip()):
        raise bad
    url = value.strip()
    if url.startswith('/') or _SCP.match(url):
        return url
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in REPO_SCHEMES or (parts.scheme != 'file' and not parts.hostname):
        raise bad
    return url


def _check_keys(entry, allowed, what):
    unknown = sorted(str(k) for k in set(entry) - allowed)
    if unknown:
        raise Invalid('{}: unknown key(s) {}; known: {}'.format(
            what, ', '.join(unknown), ', '.join(sorted(allowed))))


def parse_step(step, job):
    """One step ``{"name", "run", "timeout"}``.

    :raises Invalid: not a mapping, unknown keys, bad name, empty run, bad timeout
    """
    if not isinstance(step, dict):
        raise Invalid('{}: each step must be a mapping with name and run, not {!r}'.format(
            job, step))
    name = step.get('name')
    if not isinstance(name, str) or not _STEP.match(name):
        raise Invalid('{}: step name {!r} must be 1-63 of A-Z a-z 0-9 space . _ -'.format(
            job, name))
    _check_keys(step, STEP_KEYS, '{} step {}'.format(job, name))
    run = step.get('run')
    if not isinstance(run, str) or not run.strip():
        raise Invalid('{} step {}: run must be a non-empty script'.format(job, name))
    timeout = step.get('timeout', DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or \
            not 0 < timeout <= MAX_TIMEOUT:
        raise Invalid('{} step {}: timeout {!r} is not a whole number of seconds from 1 '
                      'to {}'.format(job, name, timeout, MAX_TIMEOUT))
    return {'name': name, 'run': run, 'timeout': timeout}


def _labels(entry, name):
    labels = entry.get('labels', [])
    if not isinstance(labels, list) or \
            not all(isinstance(w, str) and _LABEL.match(w) for w in labels):
        raise Invalid('{}: labels must be a list of words (A-Z a-z 0-9 . _ : + -)'.format(name))
    return sorted(set(labels))


def parse_job(entry):
    """One normalised job dict from a ``jobs`` list item.

    :raises Invalid: unknown or missing keys, bad name, repo, branch, labels or steps
    """
    if not isinstance(entry, dict):
        raise Invalid('each job must be a mapping, not {!r}'.format(entry))
    name = entry.get('name')
    if not isinstance(name, str) or not _NAME.match(name):
        raise Invalid('job name {!r} must be 1-63 of a-z, 0-9, _ and -'.format(name))
    _check_keys(entry, KEYS, name)
    job = {'name': name, 'repo': None, 'branch': None, 'labels': _labels(entry, name)}
    if 'repo' in entry:
        job['repo'] = check_repo(entry['repo'], name)
    if 'branch' in entry:
        if job['repo'] is None:
            raise Invalid('{}: branch needs a repo'.format(name))
        if not isinstance(entry['branch'], str) or not _BRANCH.match(entry['branch']) or \
                '..' in entry['branch']:
            raise Invalid('{}: branch {!r} is not a branch name'.format(name, entry['branch']))
        job['branch'] = entry['branch']
    steps = entry.get('steps')
    if not isinstance(steps, list) or not steps:
        raise Invalid('{}: steps must be a list of one or more steps'.format(name))
    job['steps'] = [parse_step(s, name) for s in steps]
    names = [s['name'] for s in job['steps']]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise Invalid('{}: step name {} is used twice'.format(name, ', '.join(twice)))
    return job


def parse(text):
    """The jobs in a ``jobs`` option value, in order.

    :raises Invalid: broken YAML, not a list, a bad job, duplicate names
    """
    jobs = [parse_job(e) for e in options.yaml_option(text, list, 'a YAML list of jobs')]
    seen = set()
    for job in jobs:
        if job['name'] in seen:
            raise Invalid('job name {} is used twice'.format(job['name']))
        seen.add(job['name'])
    return jobs


def assign(jobs, workers):
    """Each job with ``workers``: the names of the workers having all its labels.

    :param workers: ``[{"name", "labels", ...}]`` (interface:buildbot's ``workers()``)
    :returns: the jobs, each a copy with ``"workers": [name, ...]`` (sorted)
    """
    out = []
    for job in jobs:
        wanted = set(job['labels'])
        names = sorted(w['name'] for w in workers if wanted <= set(w['labels']))
        out.append(dict(job, workers=names))
    return out
