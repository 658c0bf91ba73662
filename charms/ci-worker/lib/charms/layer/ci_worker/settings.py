"""ci-worker's options: parsing and validation (pure; the option rules call these).

- ``git-cache-repos``: a YAML list of git URLs (http, https, git, ssh, file,
  ``user@host:path`` or an absolute path); each is kept as a bare mirror at
  ``<cache>/git/<host>/<path>.git`` (``local`` for paths and file URLs).
- ``git-cache-refresh``: how often the timer refreshes them (1m to 7d).
- ``min-free-disk``: a size (``2G``) or a percentage of the workspace volume.
- ``executors``: 0 for the CPU count, else 1 to 256.
- ``labels``: extra labels, separated by spaces or commas.
- ``packages``: Debian/Ubuntu packages jobs need, separated by spaces or commas.
"""

import os
import re
import urllib.parse

from charms.layer.stackyard import options

_SIZE = re.compile(r'^(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?$', re.I)
_SIZE_UNITS = {'': 1, 'K': 1024, 'M': 1024 ** 2, 'G': 1024 ** 3, 'T': 1024 ** 4}
_DURATION = re.compile(r'^(\d+)\s*([smhd]?)$')
_DURATION_UNITS = {'': 1, 's': 1, 'm': 60, 'h': 3600, 'd': 86400}
_LABEL = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$')
_SCP = re.compile(r'^(?:[A-Za-z0-9._-]+@)?(?P<host>[A-Za-z0-9.-]+):(?P<path>[^/].*|/.*)$')
_PACKAGE = re.compile(r'^[a-z0-9][a-z0-9+.-]{1,99}$')
_PATH_PART = re.compile(r'^[A-Za-z0-9._~+-]+$')
SCHEMES = ('http', 'https', 'git', 'ssh', 'file')
MAX_EXECUTORS = 256


Invalid = options.Invalid


def parse_size(value, total_bytes):
    """Bytes from ``"512M"``, ``"20G"``, ``"0"`` or ``"10%"`` (of ``total_bytes``).

    :raises Invalid: not a size, negative, or a percentage outside 0-99
    """
    text = str(value if value is not None else '').strip()
    if text.endswith('%'):
        try:
            percent = float(text[:-1])
        except ValueError:
            raise Invalid('{!r} is not a size (512M, 2G) or a percentage (10%)'.format(
                value)) from None
        if not 0 <= percent < 100:
            raise Invalid('{!r}: a percentage must be from 0 to 99'.format(value))
        return int(total_bytes * percent / 100)
    found = _SIZE.match(text)
    if not found:
        raise Invalid('{!r} is not a size (512M, 2G) or a percentage (10%)'.format(value))
    return int(float(found.group(1)) * _SIZE_UNITS[found.group(2).upper()])


def human(size):
    """``1.5G``, ``300M``, ``12K``: a size for status messages."""
    for unit, scale in (('T', 1024 ** 4), ('G', 1024 ** 3), ('M', 1024 ** 2), ('K', 1024)):
        if size >= scale:
            value = size / scale
            return ('{:.1f}'.format(value).rstrip('0').rstrip('.') if value < 10 else
                    '{:.0f}'.format(value)) + unit
    return '{}B'.format(size)


def parse_duration(value, low=60, high=7 * 86400):
    """Seconds from ``"30m"``, ``"6h"``, ``"1d"`` or a number of seconds.

    :raises Invalid: not a duration from ``low`` to ``high`` seconds
    """
    found = _DURATION.match(str(value).strip().lower()) if not isinstance(value, bool) else None
    if not found:
        raise Invalid('{!r} is not a duration (seconds, or 30m, 6h, 1d)'.format(value))
    seconds = int(found.group(1)) * _DURATION_UNITS[found.group(2)]
    if not low <= seconds <= high:
        raise Invalid('{!r} is not from {} to {}'.format(value, human_duration(low),
                                                         human_duration(high)))
    return seconds


def human_duration(seconds):
    for unit, scale in (('d', 86400), ('h', 3600), ('m', 60)):
        if seconds % scale == 0:
            return '{}{}'.format(seconds // scale, unit)
    return '{}s'.format(seconds)


def parse_labels(text):
    """Label words from a space- or comma-separated string.

    :raises Invalid: a word with characters Jenkins or Buildbot would choke on
    """
    words = [w for w in re.split(r'[\s,]+', str(text or '')) if w]
    for word in words:
        if not _LABEL.match(word):
            raise Invalid('label {!r} must be 1-63 of A-Z, a-z, 0-9, ., _ and -'.format(word))
    return words


def parse_packages(text):
    """Package names from a space- or comma-separated string, sorted, each once.

    :raises Invalid: a word that is not a Debian package name
    """
    words = [w for w in re.split(r'[\s,]+', str(text or '')) if w]
    for word in words:
        if not _PACKAGE.match(word):
            raise Invalid('{!r} is not a package name'.format(word))
    return sorted(set(words))


def default_labels(machine, os_release):
    """The labels every worker has: its architecture and OS release.

    :param machine: ``os.uname().machine`` (``x86_64``)
    :param os_release: ``/etc/os-release`` as a dict
    :returns: e.g. ``["x86_64", "debian-12"]``
    """
    labels = [machine]
    name, version = os_release.get('ID'), os_release.get('VERSION_ID')
    if name and version:
        labels.append('{}-{}'.format(name, version))
    return [w for w in labels if _LABEL.match(w)]


def labels(configured, machine, os_release):
    """Defaults plus configured labels, each once, in that order."""
    out = []
    for word in default_labels(machine, os_release) + parse_labels(configured):
        if word not in out:
            out.append(word)
    return out


def executors(value, cpu_count):
    """The executor count: ``value``, or the CPU count when it is 0.

    :raises Invalid: not an integer from 0 to 256
    """
    if isinstance(value, bool) or not isinstance(value, int) or \
            not 0 <= value <= MAX_EXECUTORS:
        raise Invalid('{!r} must be 0 (the CPU count) or 1 to {}'.format(value, MAX_EXECUTORS))
    return value or max(1, cpu_count or 1)


def _clean_parts(path, url):
    parts = [p for p in path.split('/') if p]
    if not parts or any(p in ('.', '..') or not _PATH_PART.match(p) for p in parts):
        raise Invalid('{!r} has an unusable path'.format(url))
    if not parts[-1].endswith('.git'):
        parts[-1] += '.git'
    return parts


def repo_dir(url):
    """Where a repository's mirror lives under the cache's git dir.

    ``https://host/org/app`` -> ``host/org/app.git``; ``/srv/src/app`` and
    ``file:///srv/src/app`` -> ``local/srv/src/app.git``; ``git@host:org/app``
    -> ``host/org/app.git``.

    :raises Invalid: not a URL or path git can clone
    """
    if not isinstance(url, str) or not url.strip() or any(c in url for c in ' "\'\\\n'):
        raise Invalid('{!r} is not a git URL'.format(url))
    url = url.strip()
    if url.startswith('/'):
        return os.path.join('local', *_clean_parts(url, url))
    parts = urllib.parse.urlsplit(url)
    if parts.scheme:
        if parts.scheme not in SCHEMES:
            raise Invalid('{!r}: scheme {} is not one of {}'.format(
                url, parts.scheme, ', '.join(SCHEMES)))
        if parts.query or parts.fragment:
            raise Invalid('{!r} is not a git URL'.format(url))
        if parts.scheme == 'file':
            return os.path.join('local', *_clean_parts(parts.path, url))
        if not parts.hostname:
            raise Invalid('{!r} has no host'.format(url))
        return os.path.join(parts.hostname, *_clean_parts(parts.path, url))
    scp = _SCP.match(url)
    if scp:
        return os.path.join(scp.group('host'), *_clean_parts(scp.group('path'), url))
    raise Invalid('{!r} is not a git URL (http, https, git, ssh, file or a path)'.format(url))


def parse_repos(text):
    """``[{"url", "dir"}]`` from ``git-cache-repos``.

    :raises Invalid: broken YAML, not a list of strings, a bad URL, two URLs
        mirrored to the same place
    """
    repos, seen = [], {}
    for url in options.yaml_option(text, list, 'a YAML list of git URLs'):
        where = repo_dir(url)
        if where in seen:
            raise Invalid('{!r} and {!r} would share the mirror {}'.format(
                seen[where], url, where))
        seen[where] = url
        repos.append({'url': url.strip(), 'dir': where})
    return repos
