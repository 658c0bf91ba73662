"""afs-mirror's status: what the operator must fix, or what it serves."""

from charms.layer.stackyard import status
from charms.layer.afs_mirror import contexts, services


@status.check
def apache_config_check():
    """Blocked while the last rendered site is refused by ``apache2ctl -t``."""
    reason = services.rejected()
    if reason:
        return status.BLOCKED, 'Apache refused the new config (previous one kept): {}'.format(
            reason)
    return None


def ready_message():
    """``Serving pypi, npm, debian on port 80 (cache /var/cache/afs-mirror)``."""
    configured = contexts.configured_proxies()
    return 'Serving {} on port {} (cache {})'.format(
        ', '.join(p['name'] for p in configured), contexts.PORT, contexts.cache_dir())
