"""galera's config rules and status checks."""

import re

from charmhelpers.core import hookenv, unitdata

from charms.layer.stackyard import options, status
from charms.layer.galera import cluster, db, services

_CLUSTER_NAME = re.compile(r'^[A-Za-z0-9_-]{1,32}$')
_SIZE = re.compile(r'^([0-9]+)([KMG]?)$')
_UNITS = {'': 1, 'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30}


def _whole(value, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return 'must be a whole number from {} to {}, not {!r}'.format(low, high, value)
    return None


@options.rule('min-cluster-size')
def min_cluster_size_reason(value):
    return _whole(value, 1, 9)


@options.rule('max-connections')
def max_connections_reason(value):
    return _whole(value, 10, 100000)


@options.rule('wsrep-slave-threads')
def slave_threads_reason(value):
    return _whole(value, 1, 64)


@options.rule('cluster-name')
def cluster_name_reason(value):
    if not isinstance(value, str) or not _CLUSTER_NAME.match(value):
        return 'must be 1-32 letters, digits, - or _, not {!r}'.format(value)
    return None


def size_bytes(value):
    """Bytes in a size such as ``128M``, or None when it is not one."""
    found = _SIZE.match(value.strip().upper()) if isinstance(value, str) else None
    return int(found.group(1)) * _UNITS[found.group(2)] if found else None


@options.rule('innodb-buffer-pool-size')
def buffer_pool_reason(value):
    size = size_bytes(value)
    if size is None or size < 5 << 20:
        return 'must be a size of at least 5M (a number with K, M or G), not {!r}'.format(value)
    return None


@status.check
def galera_status():
    """Blocked when a stopped node cannot start; not Primary or not Synced otherwise."""
    why = unitdata.kv().get(services.NOT_STARTED_KEY)
    if not cluster.running():
        return ('blocked', why) if why else None
    state = db.wsrep_status()
    if not state:
        return 'waiting', 'MariaDB does not answer yet'
    if state.get('wsrep_cluster_status') != 'Primary':
        return 'blocked', 'Galera node not in the primary component ({})'.format(
            state.get('wsrep_cluster_status') or 'no cluster status')
    if state.get('wsrep_local_state_comment') != 'Synced':
        return 'maintenance', 'Galera node {}'.format(state.get('wsrep_local_state_comment'))
    return None


def ready_message():
    state = db.wsrep_status()
    message = 'Synced, cluster of {} ({})'.format(state.get('wsrep_cluster_size', '?'),
                                                  state.get('wsrep_cluster_status', '?'))
    if hookenv.is_leader():
        from charms.layer.galera import shared_db
        count = len(shared_db.registry())
        if count:
            message += '; {} shared-db user{}'.format(count, '' if count == 1 else 's')
    return message


def networks():
    """The IPv4/IPv6 networks of this machine's interfaces (``ip -j addr``)."""
    import ipaddress
    import json
    import subprocess
    try:
        out = subprocess.run(['ip', '-j', 'addr'], stdout=subprocess.PIPE,
                             universal_newlines=True, timeout=10).stdout
        links = json.loads(out or '[]')
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return []
    found = []
    for link in links:
        for addr in link.get('addr_info', []):
            if addr.get('scope') == 'global':
                found.append(ipaddress.ip_network('{}/{}'.format(addr['local'],
                                                                 addr['prefixlen']),
                                                  strict=False))
    return found


@options.rule('vip')
def vip_reason(value):
    import ipaddress
    if not value:
        return None
    try:
        vip = ipaddress.ip_address(value.strip())
    except ValueError:
        return 'must be an IP address, not {!r}'.format(value)
    nets = networks()
    if nets and not any(vip in net for net in nets):
        return '{} is outside the units\' networks ({})'.format(
            vip, ', '.join(str(n) for n in nets))
    return None


@status.check
def vip_status():
    """The VIP waits for hacluster; without an ha relation it cannot run.

    A relation whose subordinate has not joined yet (a bundle's first hooks)
    is waited for, not blocked on.
    """
    from charms.reactive import is_flag_set
    vip = (options.config().get('vip') or '').strip()
    if not vip or vip_reason(vip):
        return None
    if not hookenv.relation_ids('ha'):
        return 'blocked', 'vip {} needs a relation to hacluster (ha)'.format(vip)
    from charms.layer.galera import ha
    if not ha.vip_running(vip, is_flag_set('ha.clustered')):
        return 'waiting', 'Waiting for hacluster to run the vip {}'.format(vip)
    return None
