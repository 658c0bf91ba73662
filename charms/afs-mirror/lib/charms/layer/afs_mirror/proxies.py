"""The ``proxies`` and ``cache-size`` options: parsing and validation.

``proxies`` is a YAML list; each entry is a mapping::

    - name: pypi                 # [a-z0-9-], unique; the mirror-info key
      type: pypi                 # pypi | npm | apt | generic (default: the name
                                 # when it is one of those, else generic)
      upstream: https://index.example/      # http(s) URL of the upstream root
      path: /pypi/               # where the proxy answers on this unit
      ttl: 1h                    # cache lifetime: seconds, or N s/m/h/d (1 s - 30 d)
      files-upstream: https://files.example/  # pypi only: the host index pages
                                 # link files to; rewritten to /<name>-files/
      suites: [bookworm]         # apt only: published in mirror-info
      components: [main]         # apt only
      probe: simple/pip/         # health check path under `path` (default per type)

Everything here is pure: the charm's option rules and contexts call it, and
the unit tests exercise it directly.
"""

import re
import urllib.parse

from charms.layer.stackyard import options

TYPES = ('pypi', 'npm', 'apt', 'generic')
KEYS = {'name', 'type', 'upstream', 'path', 'ttl', 'files-upstream', 'suites', 'components',
        'probe'}
REQUIRED = ('name', 'upstream', 'path', 'ttl')
PROBES = {'pypi': 'simple/pip/', 'npm': '-/ping', 'apt': '', 'generic': ''}
MAX_TTL = 30 * 86400
_NAME = re.compile(r'^[a-z0-9][a-z0-9-]{0,30}$')
_PATH = re.compile(r'^/[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*/$')
_PROBE = re.compile(r'^[A-Za-z0-9._~+/-]*$')
_WORD = re.compile(r'^[A-Za-z0-9._-]+$')
_TTL = re.compile(r'^(\d+)\s*([smhd]?)$')
_UNITS = {'': 1, 's': 1, 'm': 60, 'h': 3600, 'd': 86400}
_SIZE = re.compile(r'^(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?$', re.I)
_SIZE_UNITS = {'': 1, 'K': 1024, 'M': 1024 ** 2, 'G': 1024 ** 3, 'T': 1024 ** 4}


Invalid = options.Invalid


def parse_duration(value, what='ttl', longest=MAX_TTL):
    """Seconds from an int or ``"<n>[smhd]"``.

    :raises Invalid: not a duration from 1 s to ``longest``
    """
    if isinstance(value, bool):
        raise Invalid('{} {!r} is not a duration'.format(what, value))
    found = _TTL.match(str(value).strip().lower())
    if not found:
        raise Invalid('{} {!r} is not a duration (seconds, or 30m, 6h, 1d)'.format(what, value))
    seconds = int(found.group(1)) * _UNITS[found.group(2)]
    if not 0 < seconds <= longest:
        raise Invalid('{} {!r} is not from 1 second to {} days'.format(
            what, value, longest // 86400))
    return seconds


def parse_ttl(value):
    """A proxy's ``ttl`` in seconds (1 s to 30 days).

    :raises Invalid: anything else
    """
    return parse_duration(value, 'ttl', MAX_TTL)


def check_url(value, what):
    """An http(s) URL with a host, normalised to end with ``/``.

    :raises Invalid: anything else
    """
    if not isinstance(value, str):
        raise Invalid('{} {!r} is not a URL'.format(what, value))
    parts = urllib.parse.urlsplit(value.strip())
    try:
        parts.port
    except ValueError:
        raise Invalid('{} {!r} has a bad port'.format(what, value)) from None
    if parts.scheme not in ('http', 'https') or not parts.hostname or parts.query or \
            parts.fragment or any(c in value for c in ' "\'|<>\\'):
        raise Invalid('{} {!r} is not an http(s) URL'.format(what, value))
    url = value.strip()
    return url if url.endswith('/') else url + '/'


def _words(entry, key):
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(w, str) and _WORD.match(w)
                                              for w in value):
        raise Invalid('{}: {} must be a list of words'.format(entry['name'], key))
    return list(value)


def _check_keys(entry):
    """The entry's name, after checking its keys.

    :raises Invalid: not a mapping, bad name, unknown or missing keys
    """
    if not isinstance(entry, dict):
        raise Invalid('each entry must be a mapping, not {!r}'.format(entry))
    name = entry.get('name')
    if not isinstance(name, str) or not _NAME.match(name):
        raise Invalid('name {!r} must be 1-31 of a-z, 0-9 and -'.format(name))
    unknown = sorted(str(k) for k in set(entry) - KEYS)
    if unknown:
        raise Invalid('{}: unknown key(s) {}; known: {}'.format(
            name, ', '.join(unknown), ', '.join(sorted(KEYS))))
    missing = [k for k in REQUIRED if k not in entry]
    if missing:
        raise Invalid('{}: missing {}'.format(name, ', '.join(missing)))
    return name


def _path(name, value):
    path = value + '/' if isinstance(value, str) and not value.endswith('/') else value
    if not isinstance(path, str) or not _PATH.match(path):
        raise Invalid('{}: path {!r} must look like /name/'.format(name, value))
    return path


def _ttl(name, value):
    try:
        return parse_ttl(value)
    except Invalid as e:
        raise Invalid('{}: {}'.format(name, e)) from None


def parse_entry(entry):
    """One normalised proxy dict from a ``proxies`` list item.

    :raises Invalid: unknown or missing keys, bad name, URL, path or TTL
    """
    name = _check_keys(entry)
    kind = entry.get('type', name if name in TYPES else 'generic')
    if kind not in TYPES:
        raise Invalid('{}: type {!r} is not one of {}'.format(name, kind, ', '.join(TYPES)))
    probe = entry.get('probe', PROBES[kind])
    if not isinstance(probe, str) or not _PROBE.match(probe) or probe.startswith('/'):
        raise Invalid('{}: probe {!r} must be a relative path'.format(name, probe))
    proxy = {'name': name, 'type': kind, 'path': _path(name, entry['path']), 'probe': probe,
             'upstream': check_url(entry['upstream'], name + ': upstream'),
             'ttl': _ttl(name, entry['ttl']), 'files_upstream': None,
             'files_path': None, 'suites': [], 'components': []}
    if 'files-upstream' in entry:
        if kind != 'pypi':
            raise Invalid('{}: files-upstream is for type pypi only'.format(name))
        proxy['files_upstream'] = check_url(entry['files-upstream'], name + ': files-upstream')
        proxy['files_path'] = '/{}-files/'.format(name)
    for key in ('suites', 'components'):
        if key in entry and kind != 'apt':
            raise Invalid('{}: {} is for type apt only'.format(name, key))
        proxy[key] = _words(entry, key)
    return proxy


def parse(text):
    """The proxies in a ``proxies`` option value, in order.

    :raises Invalid: broken YAML, not a list, a bad entry, duplicate names or paths
    """
    proxies = [parse_entry(e) for e in options.yaml_option(text, list, 'a YAML list of proxies')]
    names = set()
    paths = []
    for p in proxies:
        if p['name'] in names:
            raise Invalid('name {} is used twice'.format(p['name']))
        names.add(p['name'])
        for path in filter(None, (p['path'], p['files_path'])):
            for other, owner in paths:
                if path.startswith(other) or other.startswith(path):
                    raise Invalid('{}: path {} overlaps path {} of {}'.format(
                        p['name'], path, other, owner))
            paths.append((path, p['name']))
    return proxies


def parse_size(value, total_bytes=None):
    """Bytes from a size: ``"512M"``, ``"20G"``, or ``"80%"`` (of ``total_bytes``).

    :param total_bytes: what a percentage is of; None: percentages are refused
    :raises Invalid: not a positive size or a percentage from 1 to 100
    """
    text = str(value).strip()
    if text.endswith('%') and total_bytes is None:
        raise Invalid('{!r} must be a size (512M, 20G), not a percentage'.format(value))
    if text.endswith('%'):
        try:
            percent = float(text[:-1])
        except ValueError:
            raise Invalid('{!r} is not a size (512M, 20G) or a percentage'.format(value)) \
                from None
        if not 0 < percent <= 100:
            raise Invalid('{!r}: a percentage must be from 1 to 100'.format(value))
        return int(total_bytes * percent / 100)
    found = _SIZE.match(text)
    if not found:
        raise Invalid('{!r} is not a size (512M, 20G) or a percentage (80%)'.format(value))
    size = int(float(found.group(1)) * _SIZE_UNITS[found.group(2).upper()])
    if size < 1024 ** 2:
        raise Invalid('{!r} is less than 1M'.format(value))
    return size
