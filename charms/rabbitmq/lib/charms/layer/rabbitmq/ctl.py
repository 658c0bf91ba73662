"""rabbitmqctl, the way this charm calls it: JSON out, secrets on stdin, never in argv."""

import json
import subprocess

from charms.layer.rabbitmq import paths

# Every call starts an Erlang VM (1-3 s of CPU on a busy host).
TIMEOUT = 60


class Failed(Exception):
    """rabbitmqctl failed; the message is its last line of output."""


def run(*args, stdin=None, timeout=TIMEOUT, tool=paths.RABBITMQCTL):
    """rabbitmqctl's stdout; ``stdin`` (a password) is written to it, not passed in argv.

    :param tool: another RabbitMQ CLI (``rabbitmq-queues``)
    :raises Failed: non-zero exit or timeout, with rabbitmqctl's last line
    """
    try:
        proc = subprocess.run([tool, '-q'] + list(args), input=stdin,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Failed('rabbitmqctl {}: {}'.format(args[0], e)) from None
    if proc.returncode:
        lines = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        raise Failed('rabbitmqctl {}: {}'.format(
            args[0], lines[-1] if lines else 'exit {}'.format(proc.returncode)))
    return proc.stdout


def run_json(*args):
    """rabbitmqctl's ``--formatter json`` output, parsed."""
    out = run(*(list(args) + ['--formatter', 'json']))
    try:
        return json.loads(out or 'null')
    except ValueError:
        raise Failed('rabbitmqctl {}: output is not JSON'.format(args[0])) from None


def cluster_status():
    """``{"nodes", "running", "partitions", "alarms"}`` as this node sees them."""
    data = run_json('cluster_status') or {}
    return {'nodes': sorted(data.get('disk_nodes', []) + data.get('ram_nodes', [])),
            'running': sorted(data.get('running_nodes', [])),
            'partitions': data.get('partitions') or {},
            'alarms': data.get('alarms') or []}


def grow_quorum_queues(node):
    """Add ``node`` to every quorum queue of every vhost (``rabbitmq-queues grow``).

    A quorum queue's members are the nodes running when it was declared;
    without this a node that joins later would hold none of its replicas.
    :returns: how many queues were grown
    """
    out = run('grow', node, 'all', '--formatter', 'json', tool=paths.RABBITMQ_QUEUES)
    try:
        return len(json.loads(out or '[]'))
    except ValueError:
        return 0
