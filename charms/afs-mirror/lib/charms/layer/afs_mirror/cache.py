"""The disk cache seen from outside Apache: statistics and purging."""

import os
import re
import shutil
import subprocess
import urllib.parse

from charms.layer.afs_mirror import paths

# The request line and the cache-status field (last quoted) of the afsmirror LogFormat.
_LINE = re.compile(r'"(?:[A-Z]+) (?P<target>\S+)[^"]*".*"(?P<status>[^"]*)"\s*$')


def classify(status):
    """``hit``, ``miss``, ``revalidated`` or None (not cached / not a cache request)."""
    status = status.strip()
    if status.startswith('cache hit'):
        return 'hit'
    if status.startswith('cache miss'):
        return 'miss'
    if status.startswith('conditional cache hit') or status.startswith('cache revalidated'):
        return 'revalidated'
    return None


def log_stats(lines, proxies):
    """Counts per proxy and in total from access-log lines.

    :returns: ``{"total": {"hit": n, "miss": n, "revalidated": n},
        "<proxy>": {...}}``; a line outside every proxy counts in the total only
    """
    stats = {'total': {'hit': 0, 'miss': 0, 'revalidated': 0}}
    for p in proxies:
        stats[p['name']] = {'hit': 0, 'miss': 0, 'revalidated': 0}
    for line in lines:
        found = _LINE.search(line)
        if not found:
            continue
        kind = classify(found.group('status'))
        if kind is None:
            continue
        stats['total'][kind] += 1
        owner = proxy_of(found.group('target'), proxies)
        if owner:
            stats[owner][kind] += 1
    return stats


def hit_ratio(counts):
    """Hits (revalidated ones included) over cache lookups, or None without lookups."""
    total = sum(counts.values())
    return None if not total else (counts['hit'] + counts['revalidated']) / total


def proxy_of(target, proxies):
    """Name of the proxy whose path (or files path) holds ``target``, or None."""
    path = urllib.parse.urlsplit(target).path
    for p in proxies:
        if path.startswith(p['path']) or (p['files_path'] and path.startswith(p['files_path'])):
            return p['name']
    return None


def disk_usage(root):
    """``(bytes, entries)`` under the cache root (an entry is one ``.header`` file)."""
    size = entries = 0
    for folder, _, files in os.walk(root):
        for name in files:
            try:
                size += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
            if name.endswith('.header'):
                entries += 1
    return size, entries


def cached_urls(root):
    """Every URL in the cache, from ``htcacheclean -a``."""
    out = subprocess.run([paths.HTCACHECLEAN, '-a', '-p', root], stdout=subprocess.PIPE,
                         universal_newlines=True, check=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def purge(root, proxy=None):
    """Remove every cached entry (of one proxy when ``proxy`` is given).

    :param proxy: a parsed proxy dict, or None for all
    :returns: the number of entries removed
    """
    if proxy is None:
        removed = disk_usage(root)[1]
        for name in os.listdir(root) if os.path.isdir(root) else []:
            target = os.path.join(root, name)
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target)
            else:
                os.remove(target)
        return removed
    urls = [u for u in cached_urls(root) if proxy_of(_key_path(u), [proxy])]
    for start in range(0, len(urls), 100):
        subprocess.run([paths.HTCACHECLEAN, '-p', root] + urls[start:start + 100],
                       stdout=subprocess.DEVNULL, check=True)
    return len(urls)


def _key_path(url):
    """The path of a cache key (``http://host:80/pypi/x?``)."""
    return urllib.parse.urlsplit(url).path
