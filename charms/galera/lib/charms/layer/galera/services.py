"""galera's services-framework definition: mariadb with Galera settings.

Readiness decides bootstrap: until the leader bootstrapped, a unit is ready
only if it is the leader and ``min-cluster-size`` units are present (the
layer keeps a unit that is not ready stopped; the package's stand-alone
server never starts, layer option ``start-at-install``).  Once ``bootstrapped`` is in the leader
settings every unit with the credentials is ready; a stopped one joins when
a peer's Galera port answers, and otherwise stays stopped (a fully stopped
cluster waits for ``recover-cluster``: no node bootstraps on its own).
"""

import os
import re
import subprocess

from charmhelpers.core import hookenv, host, unitdata

from charms.layer.stackyard import health, options
from charms.layer.stackyard import services as sy
from charms.layer.galera import cluster, credentials, db, paths

PORT = 3306
# unitdata: why this stopped node did not start in the last hook (None once it runs).
NOT_STARTED_KEY = 'galera.not-started'


class GaleraContext(dict):
    """The node's settings; empty (not ready) until it may start."""

    def __init__(self):
        super().__init__()
        self.missing_message = None
        config = options.config()
        try:
            secret = credentials.ensure() if hookenv.is_leader() else credentials.read()
        except credentials.Unreadable:
            if cluster.running():
                raise   # never stop a running node for it: the hook fails and is retried
            secret = {}
        if not secret:
            self.missing_message = 'the leader to make the cluster credentials'
            return
        if not cluster.bootstrapped():
            present, wanted = 1 + len(cluster.peers()), config['min-cluster-size']
            if present < wanted:
                self.missing_message = '{} units (min-cluster-size), {} present'.format(
                    wanted, present)
                return
            if not hookenv.is_leader():
                self.missing_message = 'the leader to bootstrap the cluster'
                return
        self.update({
            'cluster_name': config['cluster-name'],
            'node_address': cluster.address(),
            'node_name': hookenv.local_unit().replace('/', '-'),
            'sst_user': credentials.SST_USER,
            'sst_password': secret['sst-password'],
            'max_connections': config['max-connections'],
            'innodb_buffer_pool_size': config['innodb-buffer-pool-size'],
            'wsrep_slave_threads': config['wsrep-slave-threads'],
            'provider': paths.GALERA_PROVIDER,
        })


def write_peers(service_name):
    """``data_ready``: the peers' addresses, without asking for a restart.

    ``wsrep_cluster_address`` is read only when mysqld starts, to find a
    member to join; a running node follows membership changes by itself.
    """
    text = '# Written by the galera charm: every unit of the application.\n[galera]\n' \
           'wsrep_cluster_address = gcomm://{}\n'.format(','.join(cluster.cluster_addresses()))
    try:
        with open(paths.PEERS_CNF) as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    host.write_file(paths.PEERS_CNF, text.encode(), owner='root', group='root', perms=0o644)


def bootstrap_first():
    """Leader, first time: a new cluster from this node, then root's and SST's users."""
    cluster.bootstrap_new_cluster()
    secret = credentials.read()
    db.setup_admin(secret['root-password'], credentials.SST_USER, secret['sst-password'])
    cluster.mark_bootstrapped()


def start_galera(service_name):
    """Start callback: bootstrap, join, recover or restart, whichever applies."""
    kv = unitdata.kv()
    if cluster.running():
        kv.set(NOT_STARTED_KEY, None)
        sy.restart_if_changed(service_name)
        return
    request = cluster.recover_request()
    if request:
        cluster.recover_here(request['token'])
    elif not cluster.bootstrapped():
        if hookenv.is_leader():
            bootstrap_first()
    elif cluster.any_peer_up():
        hookenv.log('Joining the Galera cluster', level=hookenv.INFO)
        host.service_start(service_name)
    else:
        kv.set(NOT_STARTED_KEY, 'MariaDB is stopped and no peer is up '
               '(run recover-cluster on the leader once every node reported)')
        return
    kv.set(NOT_STARTED_KEY, None)
    # Peers waiting for a member to join learn of it from this change.
    cluster.publish_state()


def version():
    """MariaDB's version, from the client."""
    try:
        out = subprocess.run([paths.MARIADB, '--version'], stdout=subprocess.PIPE,
                             universal_newlines=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r'Distrib ([0-9.]+)', out) or re.search(r'from ([0-9.]+)', out)
    return found.group(1) if found else None


@sy.declare
def definitions():
    ctx = GaleraContext()
    return [{
        'service': paths.SERVICE,
        'required_data': [ctx],
        'ports': [PORT] if ctx else [],
        'data_ready': [
            sy.Template('99-stackyard-galera.cnf.j2', paths.GALERA_CNF,
                        owner='root', group='mysql', perms=0o640),
            sy.File('galera-synced', paths.HEALTH_SCRIPT,
                    owner='root', group='root', perms=0o755),
            write_peers,
        ],
        'start': [start_galera, sy.manage_ports],
        # Synced and ready: the rolling restart's gate.
        'health': [health.Command([paths.HEALTH_SCRIPT])],
    }] if os.path.exists(paths.MARIADB) else []
