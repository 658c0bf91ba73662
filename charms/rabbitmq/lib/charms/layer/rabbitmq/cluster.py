"""What the leader keeps for the cluster: the cookie secret, the seed, the members seen."""

import json

from charmhelpers.core import hookenv, host

from charms.layer.rabbitmq import contexts, credentials, ctl, paths, peers


def choose_seed():
    """Leader: name the seed once ``min-cluster-size`` units published their node.

    The seed stays while its unit is in the relation.  When it left, this
    leader's node takes over if it is a member of the cluster.
    """
    seed, known = peers.seed(), peers.nodes()
    me = peers.node_name()
    if seed and seed in known:
        return
    if seed:
        if me in peers.members()['nodes']:
            hookenv.log('Seed {} left; {} is the seed now'.format(seed, me))
            peers.set_app(**{peers.SEED_KEY: me})
        return
    if len(known) >= contexts.min_cluster_size():
        hookenv.log('{} units present: {} is the seed'.format(len(known), me))
        peers.set_app(**{peers.SEED_KEY: me})


def _cookie_in_place():
    try:
        with open(paths.COOKIE) as f:
            return f.read().strip() == credentials.cookie()
    except (FileNotFoundError, PermissionError):
        return False


def refresh_members():
    """Leader: publish the cluster as this node sees it (when the node runs)."""
    if not host.service_running(paths.SERVICE) or not _cookie_in_place():
        return
    try:
        status = ctl.cluster_status()
    except ctl.Failed as e:
        hookenv.log('Cluster status unknown: {}'.format(e), level=hookenv.WARNING)
        return
    if peers.node_name() not in status['running']:
        return
    before = peers.members()['nodes']
    for node in status['running']:
        if before and node not in before:
            grow(node)
    seen = {'nodes': status['nodes'], 'running': status['running']}
    peers.set_app(**{peers.MEMBERS_KEY: json.dumps(seen, sort_keys=True)})


def grow(node):
    """Give a node that joined its replicas of the quorum queues declared before it."""
    try:
        count = ctl.grow_quorum_queues(node)
    except ctl.Failed as e:
        hookenv.log('Quorum queues not grown to {}: {}'.format(node, e), level=hookenv.WARNING)
        return
    hookenv.log('{} joined: added to {} quorum queues'.format(node, count))


def lead():
    """Leader, every hook: the cookie secret, the seed, the members."""
    credentials.ensure_cookie()
    choose_seed()
    refresh_members()
