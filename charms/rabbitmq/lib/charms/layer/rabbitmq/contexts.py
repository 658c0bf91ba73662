"""What rabbitmq's templates get, and the option rules behind them."""

from charms.layer.stackyard import options
from charms.layer.rabbitmq import credentials, paths, peers

PARTITION_HANDLING = ('pause_minority', 'autoheal', 'ignore')
MAX_CLUSTER_SIZE = 64


@options.rule('min-cluster-size')
def min_cluster_size_reason(value):
    """Validator: a whole number of units from 1 to 64."""
    if isinstance(value, bool) or not isinstance(value, int) or \
            not 1 <= value <= MAX_CLUSTER_SIZE:
        return 'must be a whole number from 1 to {}, not {!r}'.format(MAX_CLUSTER_SIZE, value)
    return None


@options.rule('cluster-partition-handling')
def partition_handling_reason(value):
    """Validator: one of RabbitMQ's partition handling modes."""
    if value not in PARTITION_HANDLING:
        return 'must be one of {}, not {!r}'.format(', '.join(PARTITION_HANDLING), value)
    return None


def min_cluster_size():
    return options.config().get('min-cluster-size')


def join_target():
    """The node this one joins: the seed, unless this node is the seed (or none is set)."""
    seed = peers.seed()
    return seed if seed and seed != peers.node_name() else ''


class BrokerContext(dict):
    """The node's config and its seed; empty until the leader's cookie can be read."""

    name = "the Erlang cookie from the leader's secret"

    def __init__(self):
        super().__init__()
        if not peers.app().get(peers.COOKIE_KEY):
            return
        config = options.config()
        self.update(partition_handling=config.get('cluster-partition-handling'),
                    port=paths.AMQP_PORT, seed=join_target(), node=peers.node_name(),
                    rabbitmqctl=paths.RABBITMQCTL, seed_file=paths.SEED_FILE,
                    join_script=paths.JOIN_SCRIPT)


def cookie():
    """The cookie itself (for the cookie file only; never put in a template context)."""
    return credentials.cookie()
