"""Pacemaker through its own tools: status (crm_mon XML), configuration (crmsh), standby."""

import hashlib
import os
import re
import subprocess
import time
import xml.etree.ElementTree as ET

from charmhelpers.core import hookenv, host

from charms.layer.hacluster import paths

#: A resource name, as interface:hacluster accepts it.
NAME = re.compile(r'^[A-Za-z][A-Za-z0-9_.-]{0,63}$')
#: Roles in which a resource counts as running.
RUNNING_ROLES = ('Started', 'Promoted', 'Unpromoted', 'Master', 'Slave')
#: Cluster-wide options every request gets: no fencing devices exist in
#: containers (nor, here, on machines); without quorum resources stop; a
#: resource stays where it runs when a node comes back (no second move: the
#: stickiness upstream hacluster sets too), and a failure is forgotten after
#: a minute.
PROPERTIES = ('property cib-bootstrap-options: stonith-enabled=false no-quorum-policy=stop\n'
              'rsc_defaults rsc-options: resource-stickiness=100 failure-timeout=60')
#: The order crm statements must come in: what a statement names must exist.
ORDER = (('primitive', 'resources'), ('group', 'groups'), ('ms', 'ms'), ('clone', 'clones'),
         ('colocation', 'colocations'), ('location', 'locations'), ('order', 'orders'))


class CrmError(Exception):
    """A crm command failed; the message is its last line of output."""


def run(argv, timeout=60):
    """Run a pacemaker tool; raise :class:`CrmError` with its last output line on failure."""
    try:
        out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             universal_newlines=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise CrmError('{}: {}'.format(' '.join(argv[:3]), e)) from None
    if out.returncode != 0:
        lines = [line for line in out.stdout.strip().splitlines() if line.strip()]
        raise CrmError('{}: {}'.format(' '.join(argv[:3]), lines[-1] if lines else
                                       'exit {}'.format(out.returncode)))
    return out.stdout


def parse_status(text):
    """The cluster from ``crm_mon --output-as=xml``.

    :returns: ``{"dc": bool, "quorum": bool, "nodes": {name: {"online", "standby",
        "running"}}, "resources": {id: {"agent", "nodes": [running on]}},
        "ids": set of every resource, group and clone id}``
    """
    root = ET.fromstring(text)
    dc = root.find('summary/current_dc')
    status = {'dc': dc is not None and dc.get('present') == 'true',
              'quorum': dc is not None and dc.get('with_quorum') == 'true',
              'nodes': {}, 'resources': {}, 'ids': set()}
    for node in root.iter('node'):
        if node.get('online') is None:
            continue    # a resource's <node>, or node_history
        status['nodes'][node.get('name')] = {
            'online': node.get('online') == 'true', 'standby': node.get('standby') == 'true',
            'running': int(node.get('resources_running') or 0)}
    resources = root.find('resources')
    for element in (resources.iter() if resources is not None else ()):
        if element.tag in ('group', 'clone', 'bundle'):
            status['ids'].add(element.get('id'))
        if element.tag != 'resource':
            continue
        rid = element.get('id').split(':')[0]
        status['ids'].add(rid)
        entry = status['resources'].setdefault(
            rid, {'agent': element.get('resource_agent'), 'nodes': []})
        if element.get('role') in RUNNING_ROLES and element.get('active') == 'true' and \
                element.get('failed') != 'true':
            entry['nodes'].extend(n.get('name') for n in element.findall('node'))
    return status


def status():
    """The cluster now, or None when pacemaker does not answer."""
    if not host.service_running(paths.PACEMAKER):
        return None
    try:
        return parse_status(run(['crm_mon', '-1', '--output-as=xml'], timeout=20))
    except (CrmError, ET.ParseError):
        return None


def online_nodes(now):
    """The names of the nodes pacemaker reports online in ``now`` (none when None), sorted."""
    return sorted(name for name, node in (now or {}).get('nodes', {}).items() if node['online'])


def ready(now, online=0, node=None, quorum=True):
    """Whether ``now`` has a DC (with quorum unless ``quorum`` is False), ``online``
    nodes online and ``node`` among them."""
    if not now or not now['dc'] or (quorum and not now['quorum']):
        return False
    names = online_nodes(now)
    return len(names) >= online and (node is None or node in names)


def wait_ready(timeout, online=0, node=None, quorum=True):
    """Poll until :func:`ready` (at most ``timeout`` s); the status, or None."""
    deadline = time.monotonic() + timeout
    while True:
        now = status()
        if ready(now, online, node, quorum):
            return now
        if time.monotonic() > deadline:
            return None
        time.sleep(2)


def not_running(now, names):
    """The names of ``names`` not running anywhere in ``now`` (all of them when None)."""
    if not now:
        return sorted(names)
    return sorted(n for n in names if not now['resources'].get(n, {}).get('nodes'))


def render(request):
    """The crm configuration of a validated request, one statement a line."""
    lines = [PROPERTIES]
    for keyword, section in ORDER:
        for name, value in sorted(request[section].items()):
            if section == 'resources':
                params = request['resource_params'].get(name, '')
                lines.append(' '.join(p for p in ('primitive', name, value, params) if p))
            else:
                lines.append('{} {} {}'.format(keyword, name, value))
    return '\n'.join(lines) + '\n'


def digest(request):
    """What identifies a request's configuration (for peers to notice a change)."""
    text = render(request) + ' '.join(sorted(request['delete_resources']))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def delete(names, now):
    """Stop and delete each of ``names`` pacemaker has (the principal asked so)."""
    for name in names:
        if name in now['ids']:
            hookenv.log('Deleting pacemaker resource {}'.format(name), level=hookenv.INFO)
            run(['crm', '-w', '-F', 'resource', 'stop', name], timeout=120)
            run(['crm', '-F', 'configure', 'delete', name], timeout=60)


def apply(request):
    """Configure ``request`` (deletions first); skip what was applied already.

    The text applied is kept in a root-only file; it is written only after
    crm accepted it, so a failure is retried by the next hook.

    :returns: True when something was applied
    :raises CrmError: crm refused it (the cluster keeps what it had)
    """
    text = render(request)
    now = status() or {'ids': set()}
    if applied() == text and set(request['resources']) <= now['ids'] and \
            not set(request['delete_resources']) & now['ids']:
        return False
    delete(request['delete_resources'], now)
    host.mkdir(paths.STATE_DIR, owner='root', group='root', perms=0o700)
    pending = paths.CRM_FILE + '.new'
    host.write_file(pending, text.encode(), owner='root', group='root', perms=0o600)
    run(['crm', '-w', 'configure', 'load', 'update', pending], timeout=180)
    os.replace(pending, paths.CRM_FILE)
    hookenv.log('Configured pacemaker resources: {}'.format(
        ', '.join(sorted(request['resources']))), level=hookenv.INFO)
    return True


def applied():
    """The configuration text last applied on this unit, or None."""
    try:
        with open(paths.CRM_FILE) as f:
            return f.read()
    except OSError:
        return None


def node_name():
    """This node's name in pacemaker (its hostname, as corosync.conf names it)."""
    import socket
    return socket.gethostname()


def standby(on):
    """Put this node in standby (``on``) or take it out."""
    run(['crm', 'node', 'standby' if on else 'online', node_name()], timeout=60)


def cleanup(resource=None):
    """Clear failure history of one resource or all; the tool's output."""
    return run(['crm', 'resource', 'cleanup'] + ([resource] if resource else []), timeout=120)


def disable_services(names):
    """Stop and disable system services pacemaker takes over (init_services, lsb:)."""
    for name in names:
        if subprocess.run(['systemctl', 'is-enabled', '-q', name]).returncode == 0 or \
                host.service_running(name):
            hookenv.log('Handing {} to pacemaker: disabled and stopped'.format(name),
                        level=hookenv.INFO)
            subprocess.run(['systemctl', 'disable', '--now', '-q', name], check=False)
