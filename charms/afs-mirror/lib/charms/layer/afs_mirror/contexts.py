"""What afs-mirror's templates get, and the option rules behind them."""

import os

from charmhelpers.core import hookenv

from charms.layer.stackyard import options
from charms.layer.afs_mirror import afs, paths, proxies, static, tls

PORT = 80
TLS_PORT = 443
# htcacheclean's daemon wakes this often (minutes).
CLEAN_INTERVAL = 30


@options.rule('proxies')
def proxies_reason(value):
    """Validator: ``proxies`` must parse (see :mod:`proxies`)."""
    return options.reason(proxies.parse, value)


@options.rule('cache-size')
def cache_size_reason(value):
    """Validator: ``cache-size`` is a size or a percentage of the cache volume."""
    return options.reason(lambda v: proxies.parse_size(v, 1024 ** 3), value)


def _proxies_or_none(text):
    try:
        return proxies.parse(text)
    except proxies.Invalid:
        return []


@options.rule('static-mirrors')
def static_mirrors_reason(value):
    """Validator: a mapping of names to directories clashing with no proxy."""
    configured = _proxies_or_none(hookenv.config().get('proxies'))
    return options.reason(lambda v: static.parse(v, configured), value)


@options.rule('max-staleness')
def max_staleness_reason(value):
    """Validator: a duration from 1 second to a year."""
    return options.reason(static.parse_staleness, value)


@options.rule('afs-cell')
def afs_cell_reason(value):
    """Validator: empty or a cell name."""
    return options.reason(afs.parse_cell, value)


@options.rule('afs-db-servers')
def afs_db_servers_reason(value):
    """Validator: IPv4 addresses."""
    return options.reason(afs.parse_db_servers, value)


@options.rule('afs-cache-size')
def afs_cache_size_reason(value):
    """Validator: a size of at least 10M."""
    return options.reason(afs.parse_cache_size, value)


@options.rule('ssl-cert')
def ssl_cert_reason(value):
    """Validator: PEM or base64 of PEM."""
    return options.reason(lambda v: tls.decode(v, 'the certificate'), value)


@options.rule('ssl-key')
def ssl_key_reason(value):
    """Validator: PEM or base64 of PEM, set with ``ssl-cert`` and matching it."""
    cert = hookenv.config().get('ssl-cert')
    if ssl_cert_reason(cert):
        return None
    return options.reason(lambda v: tls.pair(cert, v), value)


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


def configured_static():
    """The effective ``static-mirrors`` (none while the option is invalid)."""
    config = options.config()
    try:
        return static.parse(config.get('static-mirrors'),
                            _proxies_or_none(config.get('proxies')))
    except proxies.Invalid:
        return []


def max_staleness():
    """``max-staleness`` in seconds (one day while the option is invalid)."""
    try:
        return static.parse_staleness(options.config().get('max-staleness'))
    except proxies.Invalid:
        return 86400


def tls_pair():
    """``(cert PEM, key PEM)`` of the effective config, ``('', '')`` when TLS is off."""
    config = options.config()
    try:
        return tls.pair(config.get('ssl-cert'), config.get('ssl-key'))
    except proxies.Invalid:
        return '', ''


def afs_cell():
    """The effective ``afs-cell``, or None."""
    try:
        return afs.parse_cell(options.config().get('afs-cell'))
    except proxies.Invalid:
        return None


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
            cert, _ = tls_pair()
            self.update(proxies=configured, static_mirrors=configured_static(),
                        tls_port=TLS_PORT if cert else None, tls_cert=paths.TLS_CERT,
                        tls_key=paths.TLS_KEY, port=PORT, address=address(),
                        cache_root=cache_dir(), cache_lock=paths.CACHE_LOCK,
                        access_log=paths.ACCESS_LOG, error_log=paths.ERROR_LOG,
                        ssl_proxy=any(p['upstream'].startswith('https:') or
                                      (p['files_upstream'] or '').startswith('https:')
                                      for p in configured))


class AfsContext(dict):
    """The OpenAFS client's files: cell, database servers, cache size."""

    name = 'a valid afs-cell'

    def __init__(self):
        super().__init__()
        config = options.config()
        try:
            cell = afs.parse_cell(config.get('afs-cell'))
            servers = afs.parse_db_servers(config.get('afs-db-servers'))
            size_k = afs.parse_cache_size(config.get('afs-cache-size'))
        except proxies.Invalid:
            return
        if cell:
            self.update(cell=cell, db_servers=servers, cache_k=size_k,
                        cache_dir=paths.AFS_CACHE, mount=paths.AFS_MOUNT)


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


def mirror_info(configured=None, static_mirrors=None, secure=None):
    """What the ``mirror`` relation publishes: per proxy and static mirror its type and path.

    Paths, not URLs: each unit publishes its own address, and the requirer
    builds the URLs (``interfaces/mirror``).  Static mirrors are ``generic``
    entries with ``"static": true`` and the path of their timestamp file;
    with TLS on every entry says ``"scheme": "https"``.
    """
    info = {}
    for p in configured_proxies() if configured is None else configured:
        entry = {'type': p['type'], 'path': p['path']}
        if p['type'] == 'pypi':
            entry['path'] = p['path'] + 'simple/'
        if p['type'] == 'apt':
            entry.update(suites=p['suites'], components=p['components'], trusted=False)
        info[p['name']] = entry
    for m in configured_static() if static_mirrors is None else static_mirrors:
        info[m['name']] = {'type': 'generic', 'path': m['path'], 'static': True,
                           'timestamp': m['path'] + static.TIMESTAMP_FILE}
    if secure is None:
        secure = bool(tls_pair()[0])
    if secure:
        for entry in info.values():
            entry['scheme'] = 'https'
    return info


def https_port():
    """The HTTPS port while TLS is on, else None."""
    return TLS_PORT if tls_pair()[0] else None
