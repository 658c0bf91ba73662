"""``benchmark-amqp``: confirmed publish and acknowledged consume rates through this node.

A temporary user and vhost (``stackyard-bench-<unit number>``, a name consumers
may not ask for) are made with a random password given on stdin, used over
AMQP on 127.0.0.1 with pika, and removed afterwards, so nothing of the run
stays on the cluster and no password is stored or printed.
"""

import math
import secrets
import statistics
import time

from charmhelpers.core import hookenv

from charms.layer import benchmark
from charms.layer.rabbitmq import ctl, paths

QUEUE_TYPES = ('quorum', 'classic')
LIMITS = {'messages': (100, 100000), 'size': (1, 1048576), 'runs': (1, 10)}


def params_problem(params):
    """Why the action's parameters are unusable, or None."""
    for key, (low, high) in LIMITS.items():
        value = params.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return '{} must be a whole number from {} to {}, not {!r}'.format(
                key, low, high, value)
    if params.get('queue-type') not in QUEUE_TYPES:
        return 'queue-type must be one of {}, not {!r}'.format(
            ', '.join(QUEUE_TYPES), params.get('queue-type'))
    return None


def _name():
    return 'stackyard-bench-' + hookenv.local_unit().split('/')[-1]


def _channel(name, password):
    import pika
    connection = pika.BlockingConnection(pika.ConnectionParameters(
        host='127.0.0.1', port=paths.AMQP_PORT, virtual_host=name,
        credentials=pika.PlainCredentials(name, password), connection_attempts=1,
        socket_timeout=10, blocked_connection_timeout=60))
    channel = connection.channel()
    channel.confirm_delivery()
    return connection, channel


def one_run(channel, queue, messages, body):
    """``(published/s, consumed/s)`` for ``messages`` messages of ``body``."""
    import pika
    props = pika.BasicProperties(delivery_mode=2)
    began = time.monotonic()
    for _ in range(messages):
        channel.basic_publish('', queue, body, props, mandatory=True)
    published = messages / (time.monotonic() - began)
    channel.basic_qos(prefetch_count=200)
    began, got = time.monotonic(), 0
    for method, _, _ in channel.consume(queue, inactivity_timeout=30):
        if method is None:
            raise ctl.Failed('consume stalled after {} of {} messages'.format(got, messages))
        got += 1
        if got % 100 == 0 or got == messages:
            channel.basic_ack(method.delivery_tag, multiple=True)
        if got == messages:
            break
    channel.cancel()
    return published, messages / (time.monotonic() - began)


def run(params):
    """The benchmark; a :class:`benchmark.Run` finished, or :class:`ctl.Failed`."""
    name, password = _name(), secrets.token_urlsafe(24)
    messages, size, runs = params['messages'], params['size'], params['runs']
    body = b'x' * size
    ctl.run('add_vhost', name)
    try:
        ctl.run('add_user', name, stdin=password)
        ctl.run('set_permissions', '-p', name, name, '.*', '.*', '.*')
        connection, channel = _channel(name, password)
        try:
            channel.queue_declare(queue='bench', durable=True,
                                  arguments={'x-queue-type': params['queue-type']})
            rates = [one_run(channel, 'bench', messages, body) for _ in range(runs)]
        finally:
            connection.close()
    finally:
        for args in (('delete_user', name), ('delete_vhost', name)):
            try:
                ctl.run(*args)
            except ctl.Failed as e:
                hookenv.log('benchmark clean-up: {}'.format(e), level=hookenv.WARNING)
    pub, con = [r[0] for r in rates], [r[1] for r in rates]
    result = benchmark.Run('amqp', dict(params))
    result.metric('publish-rate', statistics.fmean(pub), 'msg/s', 'higher', samples=pub)
    result.metric('consume-rate', statistics.fmean(con), 'msg/s', 'higher', samples=con)
    result.metric('publish-throughput', statistics.fmean(pub) * size / 1e6, 'MB/s', 'higher')
    result.composite(math.sqrt(statistics.fmean(pub) * statistics.fmean(con)), 'msg/s',
                     'higher')
    return result.finish()
