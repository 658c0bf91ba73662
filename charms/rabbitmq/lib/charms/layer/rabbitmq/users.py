"""The amqp users: made on the cluster by the leader, answered by every serving unit."""

import hashlib
import json

from charmhelpers.core import hookenv, host, unitdata

from charms.layer.rabbitmq import contexts, credentials, ctl, paths, peers

# unitdata key: {username: digest of what was applied} on this leader, so a
# hook runs rabbitmqctl only for users whose request or password changed.
APPLIED_KEY = 'rabbitmq.users.applied'


def _digest(request, password):
    text = json.dumps([request['vhost'], request['admin'], request['ttl'],
                       hashlib.sha256(password.encode()).hexdigest()], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _user_exists(username):
    return any(u.get('user') == username for u in ctl.run_json('list_users') or [])


def apply(request, password):
    """Make ``request``'s vhost, user (password from stdin) and permissions on the cluster."""
    username, vhost = request['username'], request['vhost']
    ctl.run('add_vhost', vhost)
    if _user_exists(username):
        ctl.run('change_password', username, stdin=password)
    else:
        ctl.run('add_user', username, stdin=password)
    ctl.run('set_user_tags', username, *(['administrator'] if request['admin'] else []))
    ctl.run('set_permissions', '-p', vhost, username, '.*', '.*', '.*')
    if request['ttl']:
        ttl = request['ttl']
        ctl.run('set_policy', '-p', vhost, '--apply-to', 'queues', ttl['name'], ttl['regex'],
                json.dumps({'expires': ttl['ms']}))


def leader_ready():
    """The leader may create users: its node runs in the seed's cluster, and
    ``min-cluster-size`` nodes run in it (so the quorum queues consumers then
    declare get a replica on each of them)."""
    seen = peers.members()
    me = peers.node_name()
    return (host.service_running(paths.SERVICE) and bool(peers.seed())
            and me in seen['running'] and peers.seed() in seen['nodes']
            and len(seen['running']) >= (contexts.min_cluster_size() or 1))


def make_users(amqp):
    """Leader: a password secret and a cluster user for every valid request."""
    kv = unitdata.kv()
    applied = kv.get(APPLIED_KEY) or {}
    for request in amqp.requests():
        uri = credentials.user_secret(request['username'])
        password = credentials.get(uri, 'password')
        key = '{}:{}'.format(request['username'], request['vhost'])
        digest = _digest(request, password)
        if applied.get(key) == digest:
            credentials.publish_user(request['username'], uri)
            continue
        try:
            apply(request, password)
        except ctl.Failed as e:
            hookenv.log('Cannot make amqp user {} on vhost {} yet: {}'.format(
                request['username'], request['vhost'], e), level=hookenv.WARNING)
            continue
        hookenv.log('Made amqp user {} on vhost {} for {}'.format(
            request['username'], request['vhost'], request['application']))
        applied[key] = digest
        kv.set(APPLIED_KEY, applied)
        credentials.publish_user(request['username'], uri)


def answer(amqp):
    """Every unit: publish this node's address and the password while it serves the cluster.

    A request is answered once the leader made its user (the leader publishes
    the user's secret only then).  A unit whose node is not serving withdraws
    its answer.
    """
    serving = peers.serving()
    made = credentials.user_secrets()
    requests = amqp.requests()
    asked = {r['relation_id'] for r in requests}
    for relation_id in amqp.relation_ids():
        if relation_id not in asked:        # nothing valid asked (or a refused request)
            amqp.withdraw(relation_id)
    for request in requests:
        username = request['username']
        if serving and username in made:
            amqp.publish(request['relation_id'], hookenv.unit_private_ip(),
                         credentials.password(username))
        else:
            amqp.withdraw(request['relation_id'])


def serve(amqp):
    """Leader: make the users it can; every unit: answer what is made."""
    if hookenv.is_leader() and leader_ready():
        make_users(amqp)
    answer(amqp)
