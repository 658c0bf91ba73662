"""The ``static-mirrors`` and ``max-staleness`` options, and each static mirror's freshness.

``static-mirrors`` is a YAML mapping of a name to a directory::

    ubuntu: /afs/openstack.org/mirror/ubuntu
    wheel: /srv/mirror/wheel

Each is served by the same Apache at ``/<name>/``.  Its freshness is read from
``timestamp.txt`` in the directory, the file OpenDev's mirror-update jobs
write after each sync (before ``vos release``): a unix time (``date +%s``);
an ISO 8601 date or ``date -u``'s default output are read as well.
"""

import datetime
import re

from charms.layer.stackyard import options
from charms.layer.afs_mirror import proxies

TIMESTAMP_FILE = 'timestamp.txt'
# max-staleness: at most a year.
MAX_STALENESS = 365 * 86400
_NAME = re.compile(r'^[a-z0-9][a-z0-9-]{0,30}$')
_DIR = re.compile(r'^(/[A-Za-z0-9._~+@-]+)+/?$')
_DATE_FORMATS = ('%a %b %d %H:%M:%S %Z %Y', '%a %d %b %Y %H:%M:%S %Z')


def _entry(name, directory):
    if not isinstance(name, str) or not _NAME.match(name):
        raise proxies.Invalid('name {!r} must be 1-31 of a-z, 0-9 and -'.format(name))
    if not isinstance(directory, str) or not _DIR.match(directory) or \
            '/../' in directory + '/' or '/./' in directory + '/':
        raise proxies.Invalid('{}: {!r} is not an absolute directory path'.format(
            name, directory))
    directory = directory.rstrip('/') or '/'
    return {'name': name, 'dir': directory, 'path': '/{}/'.format(name),
            'timestamp': '{}/{}'.format(directory, TIMESTAMP_FILE)}


def parse(text, configured_proxies=()):
    """The static mirrors of a ``static-mirrors`` value, sorted by name.

    :param configured_proxies: parsed proxies, whose names and paths a static
        mirror may not reuse
    :raises Invalid: broken YAML, not a mapping, a bad name or path, a clash
    """
    data = options.yaml_option(text, dict, 'a YAML mapping of a name to a directory')
    mirrors = [_entry(name, directory) for name, directory in sorted(
        data.items(), key=lambda item: str(item[0]))]
    for mirror in mirrors:
        for p in configured_proxies:
            if mirror['name'] == p['name']:
                raise proxies.Invalid('{}: also the name of a proxy'.format(mirror['name']))
            for path in filter(None, (p['path'], p['files_path'])):
                if path.startswith(mirror['path']) or mirror['path'].startswith(path):
                    raise proxies.Invalid('{}: path {} overlaps path {} of proxy {}'.format(
                        mirror['name'], mirror['path'], path, p['name']))
    return mirrors


def parse_staleness(value):
    """``max-staleness`` in seconds (1 s to 365 days).

    :raises Invalid: anything else
    """
    return proxies.parse_duration(value, 'max-staleness', MAX_STALENESS)


def _parse_date(line):
    """A datetime from ISO 8601 or ``date -u`` output, or None."""
    try:
        return datetime.datetime.fromisoformat(line.replace('Z', '+00:00'))
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(line, fmt)
        except ValueError:
            continue
    return None


def parse_timestamp(text):
    """Unix seconds from a timestamp file's first line.

    :raises ValueError: not a unix time, an ISO 8601 date or ``date -u`` output
    """
    lines = (text or '').strip().splitlines()
    line = lines[0].strip() if lines else ''
    try:
        return float(line)
    except ValueError:
        pass
    when = _parse_date(line)
    if when is None:
        raise ValueError('{!r} is not a unix time or a date'.format(line[:40]))
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


def age_text(seconds):
    """``"3d 4h"``, ``"2h"``, ``"4m 10s"``: an age rounded down to its two largest units."""
    seconds = int(max(0, seconds))
    parts = []
    for unit, size in (('d', 86400), ('h', 3600), ('m', 60), ('s', 1)):
        count, seconds = divmod(seconds, size)
        if count or parts:
            parts.append('{}{}'.format(count, unit))
    parts = parts[:2] or ['0s']
    while len(parts) > 1 and parts[-1].startswith('0'):
        parts.pop()
    return ' '.join(parts)


def freshness(mirror, max_age, now, read=None):
    """Why ``mirror`` is not fresh, or None when it is.

    :param max_age: ``max-staleness`` in seconds
    :param now: unix time
    :param read: reads a file's text (tests pass their own)
    :returns: None or a status message naming the mirror
    """
    read = read or _read
    try:
        text = read(mirror['timestamp'])
    except FileNotFoundError:
        return 'static mirror {} has no {}'.format(mirror['name'], mirror['timestamp'])
    except OSError as e:
        return 'static mirror {}: cannot read {} ({})'.format(
            mirror['name'], mirror['timestamp'], e.strerror or e)
    try:
        stamp = parse_timestamp(text)
    except ValueError as e:
        return 'static mirror {}: {}: {}'.format(mirror['name'], mirror['timestamp'], e)
    age = now - stamp
    if age > max_age:
        return 'static mirror {} is stale: {} is {} old (max-staleness {})'.format(
            mirror['name'], TIMESTAMP_FILE, age_text(age), age_text(max_age))
    return None


def _read(path):
    with open(path, errors='replace') as f:
        return f.read(200)
