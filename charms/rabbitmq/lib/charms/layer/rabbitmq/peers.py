"""This charm's keys on the layer's peer relation (``cluster``).

Unit bags:
  ``rabbitmq-node`` (str): this unit's node name, ``rabbit@<hostname>``.
  ``rabbitmq-address`` (str): the address its hostname resolves to for peers.
Application bag (the leader writes):
  ``rabbitmq-cookie`` (str): URI of the secret holding the Erlang cookie
  (content ``{"cookie": str}``).
  ``rabbitmq-seed`` (str): the node every other node joins, set once
  ``min-cluster-size`` units published their node.
  ``rabbitmq-members`` (JSON ``{"nodes": [str], "running": [str]}``): the
  cluster as the leader's node saw it in its last hook.
  ``rabbitmq-users`` (JSON ``{username: secret URI}``): one secret per amqp
  user (content ``{"password": str}``).
"""

import json
import socket

from charmhelpers.core import hookenv

from charms.layer.stackyard import restart

NODE_KEY = 'rabbitmq-node'
ADDRESS_KEY = 'rabbitmq-address'
COOKIE_KEY = 'rabbitmq-cookie'
SEED_KEY = 'rabbitmq-seed'
MEMBERS_KEY = 'rabbitmq-members'
USERS_KEY = 'rabbitmq-users'


def node_name(hostname=None):
    """``rabbit@<short hostname>``: the name Debian's rabbitmq-server gives its node."""
    return 'rabbit@' + (hostname or socket.gethostname()).split('.')[0]


def rid():
    return restart.peer_relation()


def app():
    """The application bag (empty without the relation)."""
    r = rid()
    return (hookenv.relation_get(rid=r, app=hookenv.application_name()) or {}) if r else {}


def app_json(key, default):
    try:
        value = json.loads(app().get(key) or 'null')
    except ValueError:
        return default
    return value if isinstance(value, type(default)) else default


def set_app(**keys):
    """Leader: write keys of the application bag (those that changed)."""
    current = app()
    changed = {k: v for k, v in keys.items() if current.get(k) != v}
    if not changed or not rid():
        return
    hookenv.relation_set(relation_id=rid(), app=True, relation_settings=changed)
    # A later read in this hook must see the new values, as relation-get would.
    hookenv.flush('"app": {}'.format(json.dumps(hookenv.application_name())))


def publish_self():
    """This unit's node name and address in its bag (only when they changed)."""
    r = rid()
    if not r:
        return
    mine = {NODE_KEY: node_name(), ADDRESS_KEY: hookenv.unit_private_ip()}
    current = hookenv.relation_get(rid=r, unit=hookenv.local_unit()) or {}
    if any(current.get(k) != v for k, v in mine.items()):
        hookenv.relation_set(relation_id=r, relation_settings=mine)


def nodes():
    """``{node name: address}`` of every unit that published one, this one included."""
    r = rid()
    found = {node_name(): hookenv.unit_private_ip()}
    if not r:
        return found
    for unit in hookenv.related_units(r):
        data = hookenv.relation_get(rid=r, unit=unit) or {}
        node, address = data.get(NODE_KEY), data.get(ADDRESS_KEY)
        if node and address:
            found[node] = address
    return found


def members():
    """``{"nodes": [...], "running": [...]}`` the leader last saw."""
    found = app_json(MEMBERS_KEY, {})
    return {'nodes': list(found.get('nodes') or []), 'running': list(found.get('running') or [])}


def seed():
    return app().get(SEED_KEY) or None


def serving():
    """Whether this unit's node runs in the leader's cluster (it may answer consumers)."""
    seen = members()
    me = node_name()
    return bool(seed()) and me in seen['nodes'] and me in seen['running']
