"""afs-mirror's status: what the operator must fix, or what it serves."""

import os
import time

from charms.layer.stackyard import status
from charms.layer.afs_mirror import afs, contexts, paths, services, static


@status.check
def apache_config_check():
    """Blocked while the last rendered site is refused by ``apache2ctl -t``."""
    reason = services.rejected()
    if reason:
        return status.BLOCKED, 'Apache refused the new config (previous one kept): {}'.format(
            reason)
    return None


@status.check
def static_mirrors_check(now=None):
    """Blocked naming each static mirror whose timestamp file is missing or too old."""
    max_age = contexts.max_staleness()
    now = time.time() if now is None else now
    return [(status.BLOCKED, problem[0].upper() + problem[1:])
            for problem in (static.freshness(m, max_age, now)
                            for m in contexts.configured_static()) if problem]


@status.check
def afs_check():
    """Blocked while ``afs-cell`` is set and the client cannot run, saying why."""
    cell = contexts.afs_cell()
    if not cell or not os.path.exists(paths.AFS_SHIPPED_CELLSERVDB):
        return None
    ctx = contexts.AfsContext()
    if ctx and not ctx['db_servers']:
        try:
            with open(paths.AFS_CELLSERVDB, encoding='latin-1') as f:
                known = cell in afs.cell_blocks(f.read())
        except FileNotFoundError:
            known = False
        if not known:
            return status.BLOCKED, ('afs-cell {} is not in {}: set afs-db-servers to its '
                                    'database servers'.format(cell, paths.AFS_CELLSERVDB))
    problem = services.afs_module_problem()
    if problem:
        return status.BLOCKED, (
            'AFS client for {} not started: kernel module openafs cannot load ({}); '
            'the proxies keep serving'.format(cell, problem))
    return None


def ready_message():
    """``Serving pypi, npm, debian on port 80 (cache /var/cache/afs-mirror)``."""
    configured = contexts.configured_proxies()
    names = [p['name'] for p in configured] + [m['name'] for m in contexts.configured_static()]
    ports = str(contexts.PORT)
    if contexts.https_port():
        ports = 'ports {} and {} (TLS)'.format(contexts.PORT, contexts.https_port())
    else:
        ports = 'port ' + ports
    message = 'Serving {} on {} (cache {})'.format(', '.join(names), ports, contexts.cache_dir())
    cell = contexts.afs_cell()
    if cell:
        message += '; AFS cell {}'.format(cell)
    return message
