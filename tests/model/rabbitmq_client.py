"""An AMQP client the rabbitmq model test runs in the probe's machine (its venv has pika).

It reads the broker addresses and the password from the probe's ``amqp``
relation with the hook tools (``yard exec`` runs it in a hook context), so no
password passes through a command line or the test's output.

``publish QUEUE SECONDS OUT [HOST...]``: publish numbered persistent messages
with publisher confirms for SECONDS, reconnecting to the next host on any
failure; writes ``{"confirmed": [n...], "sent": n, "longest_gap": s,
"reconnects": n, "errors": [...]}`` to OUT.  With HOSTs, only those are used.
``consume QUEUE``: drain the queue, print ``{"received": [n...]}``.
"""

import json
import subprocess
import sys
import time

import pika

VHOST_USER = ('probe', 'probe')


def broker():
    """``(hosts, password)`` from the amqp relation's broker unit bags."""
    rid = subprocess.check_output(['relation-ids', 'amqp'], text=True).split()[0]
    hosts, password = [], None
    for unit in subprocess.check_output(['relation-list', '-r', rid], text=True).split():
        data = json.loads(subprocess.check_output(
            ['relation-get', '-r', rid, '--format', 'json', '-', unit], text=True))
        if data.get('hostname') and data.get('password'):
            hosts.append(data['hostname'])
            password = data['password']
    return sorted(hosts), password


def connect(host, password):
    params = pika.ConnectionParameters(
        host=host, virtual_host=VHOST_USER[1], heartbeat=2, socket_timeout=3,
        blocked_connection_timeout=10, connection_attempts=1,
        credentials=pika.PlainCredentials(VHOST_USER[0], password))
    connection = pika.BlockingConnection(params)
    channel = connection.channel()
    channel.confirm_delivery()
    channel.queue_declare(queue=sys.argv[2], durable=True,
                          arguments={'x-queue-type': 'quorum'})
    return connection, channel


def publish(queue, seconds, out, only):
    hosts, password = broker()
    hosts = [h for h in hosts if not only or h in only]
    confirmed, errors, sent, reconnects = [], [], 0, 0
    last_ok = began = time.monotonic()
    longest = 0.0
    index, channel, connection = 0, None, None
    while time.monotonic() - began < seconds:
        if channel is None:
            host = hosts[index % len(hosts)]
            index += 1
            try:
                connection, channel = connect(host, password)
                reconnects += 1
            except Exception as e:
                errors.append('connect {}: {}'.format(host, type(e).__name__))
                time.sleep(0.5)
                continue
        n = sent
        sent += 1
        try:
            channel.basic_publish('', queue, str(n).encode(),
                                  pika.BasicProperties(delivery_mode=2), mandatory=True)
        except Exception as e:
            errors.append('publish {}: {}'.format(n, type(e).__name__))
            channel = None
            try:
                connection.close()
            except Exception:
                pass
            continue
        confirmed.append(n)
        now = time.monotonic()
        longest = max(longest, now - last_ok)
        last_ok = now
        time.sleep(0.02)
    with open(out, 'w') as f:
        json.dump({'confirmed': confirmed, 'sent': sent, 'longest_gap': round(longest, 2),
                   'reconnects': reconnects, 'errors': errors[:20]}, f)


def consume(queue):
    hosts, password = broker()
    received = []
    for host in hosts:
        try:
            connection, channel = connect(host, password)
        except Exception:
            continue
        while True:
            method, _, body = channel.basic_get(queue)
            if method is None:
                break
            received.append(int(body))
            channel.basic_ack(method.delivery_tag)
        connection.close()
        break
    print(json.dumps({'received': received}))


if __name__ == '__main__':
    if sys.argv[1] == 'publish':
        publish(sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5:])
    else:
        consume(sys.argv[2])
