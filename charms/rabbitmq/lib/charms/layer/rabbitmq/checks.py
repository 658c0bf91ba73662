"""rabbitmq's status: waiting for units or a join, or what the cluster looks like."""

from charms.layer.stackyard import status
from charms.layer.rabbitmq import contexts, credentials, peers


@status.check
def cluster_check():
    """Waiting while the cluster has not formed or this node has not joined it."""
    seed = peers.seed()
    if not seed:
        size, present = contexts.min_cluster_size(), len(peers.nodes())
        if isinstance(size, int) and present < size:
            return status.WAITING, 'Waiting for {} units to form the cluster ({} present)'.format(
                size, present)
        return status.WAITING, 'Waiting for the leader to name the seed node'
    if not peers.serving():
        return status.WAITING, 'Waiting to join the cluster of {}'.format(seed)
    return None


def ready_message():
    """``Cluster of 3 nodes (3 running), seed rabbit@x; 2 amqp users``."""
    seen = peers.members()
    return 'Cluster of {} nodes ({} running), seed {}; {} amqp users'.format(
        len(seen['nodes']), len(seen['running']), peers.seed(),
        len(credentials.user_secrets()))
