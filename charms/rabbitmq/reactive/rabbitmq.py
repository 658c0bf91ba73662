"""rabbitmq handlers: the cluster's shared state and the amqp answers; the layer runs the node."""

from charmhelpers.core import hookenv
from charms.reactive import endpoint_from_name, when

from charms.layer.stackyard import status
from charms.layer.rabbitmq import actions, checks, cluster, peers, services, users  # noqa: F401

status.version_source(services.version)
status.ready_message(checks.ready_message)


@when('cluster.connected', 'stackyard.packages.installed')
def manage_cluster():
    """Publish this node; the leader keeps cookie, seed, members and users; answer amqp.

    One handler, so the leader's changes and the answers that depend on them
    happen in this order in the same hook.
    """
    peers.publish_self()
    if hookenv.is_leader():
        cluster.lead()
    amqp = endpoint_from_name('amqp')
    if amqp.is_joined:
        users.serve(amqp)
