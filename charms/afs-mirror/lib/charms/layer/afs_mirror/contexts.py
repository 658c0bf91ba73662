"""What afs-mirror's templates get, and the option rules behind them."""

import os

from charmhelpers.core import hookenv

from charms.layer.stackyard import options
from charms.layer.afs_mirror import paths, proxies

PORT = 80
# htcacheclean's daemon wakes this often (minutes).
CLEAN_INTERVAL = 30


@options.rule('proxies')
def proxies_reason(value):
    """Validator: ``proxies`` must parse (see :mod:`proxies`)."""
    try:
        proxies.parse(value)
    except proxies.Invalid as e:
        return str(e)
    return None


@options.rule('cache-size')
def cache_size_reason(value):
    """Validator: ``cache-size`` is a size or a percentage of the cache volume."""
    try:
        proxies.parse_size(value, 1024 ** 3)
    except proxies.Invalid as e:
        return str(e)
    return None


def cache_dir():
    """The cache root: the ``cache`` storage when attached, else the default directory."""
    for storage_id in hookenv.storage_list('cache') or []:
        location = hookenv.storage_get('location', storage_id)
        if location:
            return os.path.join(location, 'apache')
    return paths.DEFAULT_CACHE


def _volume_bytes(path):
    """Size of the filesystem holding ``path`` (or its nearest existing parent)."""
    while not os.path.exists(path):
        path = os.path.dirname(path)
    st = os.statvfs(path)
    return st.f_blocks * st.f_frsize


def configured_proxies():
    """The effective ``proxies`` (last good value while the option is invalid)."""
    try:
        return proxies.parse(options.config().get('proxies'))
    except proxies.Invalid:
        return []


def address():
    """The address clients reach this unit on."""
    return hookenv.unit_private_ip()


class ApacheContext(dict):
    """The Apache site: proxies, cache root, logs; empty while no proxy is configured."""

    name = 'at least one proxy in proxies'

    def __init__(self):
        super().__init__()
        configured = configured_proxies()
        if configured:
            self.update(proxies=configured, port=PORT, address=address(),
                        cache_root=cache_dir(), cache_lock=paths.CACHE_LOCK,
                        access_log=paths.ACCESS_LOG, error_log=paths.ERROR_LOG,
                        ssl_proxy=any(p['upstream'].startswith('https:') or
                                      (p['files_upstream'] or '').startswith('https:')
                                      for p in configured))


class CleanerContext(dict):
    """htcacheclean's daemon: cache root and size limit."""

    name = 'a valid cache-size'

    def __init__(self):
        super().__init__()
        root = cache_dir()
        try:
            limit = proxies.parse_size(options.config().get('cache-size'), _volume_bytes(root))
        except proxies.Invalid:
            return
        self.update(cache_root=root, limit_k=max(1024, limit // 1024),
                    interval=CLEAN_INTERVAL, htcacheclean=paths.HTCACHECLEAN,
                    pidfile=paths.CLEANER_PID)


def mirror_info(configured=None):
    """What the ``mirror`` relation publishes: per proxy its type and path.

    Paths, not URLs: each unit publishes its own address, and the requirer
    builds the URLs (``interfaces/mirror``).
    """
    info = {}
    for p in configured_proxies() if configured is None else configured:
        entry = {'type': p['type'], 'path': p['path']}
        if p['type'] == 'pypi':
            entry['path'] = p['path'] + 'simple/'
        if p['type'] == 'apt':
            entry.update(suites=p['suites'], components=p['components'], trusted=False)
        info[p['name']] = entry
    return info
