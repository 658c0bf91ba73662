"""rabbitmq's services-framework definition: the node, its cookie, its peers' names."""

import os
import re
import subprocess

from charmhelpers.core import hookenv, host, unitdata

from charms.layer.stackyard import health, options, restart
from charms.layer.stackyard import services as sy
from charms.layer.rabbitmq import contexts, paths, peers

HOSTS_BEGIN = '# begin rabbitmq charm: cluster peers'
HOSTS_END = '# end rabbitmq charm'
_HOSTNAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9-]{0,62}$')
_ADDRESS = re.compile(r'^[0-9a-fA-F.:]{2,45}$')
# Every rabbitmqctl call starts an Erlang VM: generous on a busy host.
HEALTH_TIMEOUT = 60.0


def write_cookie(service_name):
    """``data_ready``: the cluster's Erlang cookie in the node's home (0400, rabbitmq).

    The node is stopped first when the cookie differs (one started by hand
    with a cookie of its own: the package does not start it, layer option
    ``start-at-install``), since the CLI could no longer reach it to stop it
    after the change.
    """
    value = contexts.cookie()
    try:
        with open(paths.COOKIE) as f:
            if f.read().strip() == value:
                return
    except FileNotFoundError:
        pass
    if host.service_running(service_name):
        hookenv.log('Stopping {} to give it the cluster cookie'.format(service_name))
        host.service_stop(service_name)
    host.write_file(paths.COOKIE, value.encode(), owner=paths.USER, group=paths.USER,
                    perms=0o400)
    sy.mark_changed(service_name, paths.COOKIE)


def hosts_block(nodes, own):
    """The /etc/hosts lines naming every other node's host (bad names left out)."""
    lines = []
    for node, address in sorted(nodes.items()):
        name = node.split('@', 1)[-1]
        if node == own or not _HOSTNAME.match(name) or not _ADDRESS.match(address):
            continue
        lines.append('{} {}'.format(address, name))
    return lines


def with_block(text, lines):
    """``text`` (an /etc/hosts) with the charm's block replaced by ``lines``."""
    kept, inside = [], False
    for line in text.splitlines():
        if line == HOSTS_BEGIN:
            inside = True
        elif line == HOSTS_END:
            inside = False
        elif not inside:
            kept.append(line)
    if lines:
        kept += [HOSTS_BEGIN] + lines + [HOSTS_END]
    return '\n'.join(kept) + '\n'


def write_hosts(service_name):
    """``data_ready``: peers' hostnames resolve here (node names are rabbit@<hostname>)."""
    with open(paths.HOSTS) as f:
        current = f.read()
    wanted = with_block(current, hosts_block(peers.nodes(), peers.node_name()))
    if wanted != current:
        host.write_file(paths.HOSTS, wanted.encode(), owner='root', group='root', perms=0o644)


def start_rabbitmq(service_name):
    """Start callback: a stopped node that must join starts in a restart slot.

    So joins happen one at a time (``restart-batch-size``), each after the
    previous node's health checks passed.  Otherwise as the layer's default:
    start a stopped node, ask for a coordinated restart when files changed.
    """
    if not host.service_running(service_name) and contexts.join_target():
        if not unitdata.kv().get(restart.PENDING):
            restart.request([service_name], 'join the cluster of ' + contexts.join_target(),
                            options.config(), force=True)
        return
    sy.restart_if_changed(service_name)


@sy.declare
def definitions():
    """The node: cookie, hosts, config, seed, join hook, health script."""
    ctx = contexts.BrokerContext()
    return [{
        'service': paths.SERVICE,
        'required_data': [ctx],
        'ports': [paths.AMQP_PORT] if ctx else [],
        'health': [health.Command([paths.HEALTH_SCRIPT], timeout=HEALTH_TIMEOUT)],
        'data_ready': [
            write_cookie,
            write_hosts,
            sy.File('join', paths.JOIN_SCRIPT, owner='root', group='root', perms=0o755),
            sy.File('health', paths.HEALTH_SCRIPT, owner='root', group='root', perms=0o755),
            sy.Template('rabbitmq.conf.j2', paths.CONFIG, owner='root', group=paths.USER,
                        perms=0o640),
            sy.Template('stackyard-seed.j2', paths.SEED_FILE, owner='root', group=paths.USER,
                        perms=0o644),
            sy.Template('rabbitmq-server-stackyard.conf.j2', paths.DROP_IN, owner='root',
                        group='root', perms=0o644, systemd_unit=True),
        ],
        'start': [start_rabbitmq, sy.manage_ports],
    }]


def version():
    """rabbitmq-server's upstream version (``3.10.8``), or None before it is installed."""
    try:
        out = subprocess.run(['dpkg-query', '-W', '-f', '${Version}', 'rabbitmq-server'],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             universal_newlines=True).stdout
    except OSError:
        return None
    return out.split('-')[0] or None


def installed():
    return os.path.exists(paths.RABBITMQCTL)
