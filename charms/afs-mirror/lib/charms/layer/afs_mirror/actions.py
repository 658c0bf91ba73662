"""afs-mirror's actions: ``cache-stats`` and ``purge-cache``."""

import json

from charms.layer.stackyard import actions
from charms.layer.afs_mirror import cache, contexts, paths


def _read_log(path):
    try:
        with open(path, errors='replace') as f:
            return f.readlines()
    except FileNotFoundError:
        return []


def _ratio(counts):
    ratio = cache.hit_ratio(counts)
    return 'none' if ratio is None else '{:.3f}'.format(ratio)


@actions.action('cache-stats')
def cache_stats(params):
    """Cache size and entries on disk; hits and misses per proxy from the access log."""
    configured = contexts.configured_proxies()
    root = contexts.cache_dir()
    size, entries = cache.disk_usage(root)
    stats = cache.log_stats(_read_log(paths.ACCESS_LOG), configured)
    lines = ['{:<12} hit {:>6}  miss {:>6}  revalidated {:>6}  hit-ratio {}'.format(
        name, c['hit'], c['miss'], c['revalidated'], _ratio(c)) for name, c in stats.items()]
    return {'cache-dir': root, 'size-bytes': str(size), 'entries': str(entries),
            'hits': str(stats['total']['hit']), 'misses': str(stats['total']['miss']),
            'hit-ratio': _ratio(stats['total']),
            'per-proxy': json.dumps(stats, sort_keys=True), 'table': '\n'.join(lines)}


@actions.action('purge-cache')
def purge_cache(params):
    """Remove every cached entry, or those of the proxy named by ``proxy``."""
    configured = contexts.configured_proxies()
    wanted = (params.get('proxy') or '').strip()
    target = None
    if wanted:
        found = [p for p in configured if p['name'] == wanted]
        if not found:
            raise actions.ActionFailed('no proxy named {!r}; this unit has: {}'.format(
                wanted, ', '.join(p['name'] for p in configured) or 'none'))
        target = found[0]
    removed = cache.purge(contexts.cache_dir(), target)
    return {'removed': str(removed), 'proxy': wanted or 'all',
            'message': 'Removed {} cached entries of {}'.format(removed, wanted or 'all proxies')}
