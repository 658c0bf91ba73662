"""stackyard-probe's amqp part: a publish and consume round trip through a quorum queue.

pika (shipped in the wheelhouse) talks AMQP 0-9-1 to the broker addresses the
``amqp`` relation gave; the message is published with publisher confirms and
read back, so a pass means the broker stored and returned it.
"""

import time
import uuid

QUEUE = 'stackyard-probe'


def names_problem(config):
    """Why ``amqp-username`` or ``amqp-vhost`` cannot be sent, or None.

    Only empty values are refused here: the probe sends any other text as
    it is, so that tests can check how a broker treats hostile names.
    """
    for key in ('amqp-username', 'amqp-vhost'):
        value = config.get(key)
        if not isinstance(value, str) or not value.strip():
            return '{} must not be empty'.format(key)
    return None


def _params(host, username, password, vhost, timeout):
    import pika
    return pika.ConnectionParameters(
        host=host, port=5672, virtual_host=vhost,
        credentials=pika.PlainCredentials(username, password),
        socket_timeout=timeout, blocked_connection_timeout=timeout,
        connection_attempts=1, stack_timeout=timeout)


def declare(channel, queue=QUEUE):
    """The durable quorum queue (the broker makes it replicated across the cluster)."""
    channel.queue_declare(queue=queue, durable=True, arguments={'x-queue-type': 'quorum'})


def round_trip(host, username, password, vhost, timeout):
    """Publish one confirmed message to the quorum queue and consume it back.

    :returns: ``(ok, text)``: the seconds it took, or what failed
    """
    import pika
    began = time.monotonic()
    body = 'probe-' + uuid.uuid4().hex
    try:
        connection = pika.BlockingConnection(_params(host, username, password, vhost, timeout))
    except Exception as e:   # pika raises many types; each is a failed probe
        return False, '{}: cannot connect ({})'.format(host, type(e).__name__)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        declare(channel)
        channel.basic_publish('', QUEUE, body.encode(),
                              pika.BasicProperties(delivery_mode=2), mandatory=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            method, _, got = channel.basic_get(QUEUE)
            if method is None:
                time.sleep(0.05)
                continue
            channel.basic_ack(method.delivery_tag)
            if got.decode() == body:
                return True, '{:.2f} s'.format(time.monotonic() - began)
        return False, '{}: message not consumed back within {} s'.format(host, timeout)
    except Exception as e:
        return False, '{}: {} ({})'.format(host, type(e).__name__, str(e)[:80])
    finally:
        try:
            connection.close()
        except Exception:
            pass


def summarise(results):
    """Status for ``[(host, ok, text)]``: every broker unit must pass."""
    good = [r for r in results if r[1]]
    if len(good) == len(results):
        return 'active', 'amqp: {}/{} brokers round trip via quorum queue {} ({})'.format(
            len(good), len(results), QUEUE, ', '.join(r[2] for r in good))
    bad = [r for r in results if not r[1]]
    return 'blocked', 'amqp: {}/{} brokers round trip; {}'.format(
        len(good), len(results), bad[0][2])
