"""Who is in the cluster (over the layer's ``cluster`` peer relation) and its authkey secret.

Peer relation keys (this charm's own, next to the layer's):
  unit bag ``hacluster-node``: JSON ``{"name": hostname, "address": IP,
  "id": corosync node id}`` (id = unit number + 1, stable for the unit).
  app bag ``hacluster-authkey-secret``: the Juju secret holding the corosync
  authkey (key ``authkey``, base64 of 128 random bytes); the leader makes it.
  app bag ``hacluster-applied``: digest of the resources the leader last
  configured; its change wakes every peer to re-check ``clustered``.
  unit bag ``hacluster-online``: ``yes`` while pacemaker reports this unit's
  node online (absent otherwise); its change wakes the peers (the leader
  waits for ``cluster_count`` online nodes before it first configures).
"""

import base64
import ipaddress
import json
import os
import re
import socket
import subprocess
import tempfile

from charmhelpers.core import hookenv
from charms.reactive import endpoint_from_name

from charms.layer.stackyard import options

NODE_KEY = 'hacluster-node'
SECRET_KEY = 'hacluster-authkey-secret'
APPLIED_KEY = 'hacluster-applied'
ONLINE_KEY = 'hacluster-online'
SECRET_LABEL = 'hacluster-authkey'
HOSTNAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$')
# Per process: secret-get is a tool call, and contexts are built several times a hook.
_cache = {}


def peers():
    """The layer's peer endpoint, or None outside a hook."""
    return endpoint_from_name('cluster')


def node_id(unit_name):
    """Corosync's node id for a unit: its number + 1 (0 is not a valid id)."""
    return int(unit_name.rsplit('/', 1)[1]) + 1


def local_node():
    """This unit's node entry."""
    return {'name': socket.gethostname(), 'address': hookenv.unit_private_ip(),
            'id': node_id(hookenv.local_unit())}


def parse_node(text):
    """A peer's node entry, validated; None when missing or bad."""
    try:
        node = json.loads(text or '')
        ipaddress.ip_address(node['address'])
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(node.get('name'), str) or not HOSTNAME.match(node['name']) or \
            not isinstance(node.get('id'), int) or not 0 < node['id'] < 65536:
        return None
    return {'name': node['name'], 'address': node['address'], 'id': node['id']}


def publish_node():
    """Write this unit's node entry to the peer relation."""
    text = json.dumps(local_node(), sort_keys=True)
    for relation in peers().relations:
        relation.to_publish_raw[NODE_KEY] = text


def publish_online(online):
    """Say in this unit's peer bag whether its node is online (``relation-set`` at once:
    ``pause`` and ``resume`` change it from an action, which has no hook end)."""
    value = 'yes' if online else ''
    for rid in hookenv.relation_ids('cluster'):
        if (hookenv.relation_get(ONLINE_KEY, unit=hookenv.local_unit(), rid=rid) or '') != value:
            hookenv.relation_set(relation_id=rid, relation_settings={ONLINE_KEY: value or None})


def members():
    """Every node with a valid entry, this unit included, sorted by id."""
    found = {node_id(hookenv.local_unit()): local_node()}
    endpoint = peers()
    for unit in (endpoint.all_joined_units if endpoint else []):
        node = parse_node(unit.received_raw.get(NODE_KEY))
        if node and node['id'] == node_id(unit.unit_name):
            found[node['id']] = node
    return [found[i] for i in sorted(found)]


def cluster_count():
    """The configured ``cluster_count``."""
    return int(options.config().get('cluster_count') or 3)


def _app_bag():
    endpoint = peers()
    if not endpoint or not endpoint.relations:
        return None, {}
    relation = endpoint.relations[0]
    if hookenv.is_leader():
        return relation, relation.to_publish_app_raw
    return relation, relation.received_app_raw


def app_value(key):
    """A key of the peer app bag (what the leader wrote), or None."""
    return _app_bag()[1].get(key)


def set_app_value(key, value):
    """Leader only: write a key of the peer app bag."""
    relation, _ = _app_bag()
    if relation is not None:
        relation.to_publish_app_raw[key] = value


def ensure_authkey_secret():
    """Leader: make the authkey secret once and name it in the app bag.

    The key goes to ``secret-add`` through a 0600 file, never on a command line.
    """
    if not hookenv.is_leader() or app_value(SECRET_KEY) or _app_bag()[0] is None:
        return
    key = base64.b64encode(os.urandom(128)).decode()
    with tempfile.NamedTemporaryFile('w', prefix='hacluster-', delete=True) as f:
        os.chmod(f.name, 0o600)
        f.write(key)
        f.flush()
        out = subprocess.run(['secret-add', '--label', SECRET_LABEL,
                              '--description', 'corosync authkey',
                              'authkey#file={}'.format(f.name)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, check=True)
    set_app_value(SECRET_KEY, out.stdout.strip())
    _cache['authkey'] = base64.b64decode(key)


def authkey():
    """The corosync authkey (bytes) from the secret, or None when it is not there yet."""
    if 'authkey' in _cache:
        return _cache['authkey']
    secret_id = app_value(SECRET_KEY)
    if not secret_id:
        return None
    out = subprocess.run(['secret-get', secret_id, 'authkey'], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True)
    if out.returncode != 0:
        hookenv.log('secret-get {} failed: {}'.format(secret_id, out.stderr.strip()),
                    level=hookenv.WARNING)
        return None
    try:
        value = base64.b64decode(out.stdout.strip(), validate=True)
    except ValueError:
        hookenv.log('The authkey secret {} holds no base64 key'.format(secret_id),
                    level=hookenv.WARNING)
        return None
    _cache['authkey'] = value
    return value


class ClusterContext(dict):
    """What corosync.conf needs; empty (not ready) until ``cluster_count`` nodes and the key.

    Keys: ``cluster_name`` (the application), ``nodes`` (``[{name, address,
    id}]``), ``two_node`` (bool: votequorum's two_node mode for 2 nodes).
    """

    name = 'cluster'

    def __init__(self):
        super().__init__()
        nodes, count = members(), cluster_count()
        self.missing_message = None
        if len(nodes) < count:
            self.missing_message = '{} more unit(s) to form the cluster ({} of cluster_count ' \
                '{})'.format(count - len(nodes), len(nodes), count)
            return
        if authkey() is None:
            self.missing_message = 'the corosync authkey secret from the leader'
            return
        self.update(cluster_name=hookenv.service_name(), nodes=nodes,
                    two_node=len(nodes) == 2)
