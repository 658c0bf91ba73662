"""hacluster's services-framework definitions: corosync, then pacemaker and its resources."""

import os
import subprocess
import tempfile

from charmhelpers.core import hookenv, host

from charms.layer.stackyard import health, options, restart
from charms.layer.stackyard import services as sy
from charms.layer.hacluster import cluster, crm, paths, resources


def install():
    """Install corosync, pacemaker, crmsh and the resource agents, started by nobody.

    Debian's maintainer scripts would start both daemons on its default
    single-node config; a policy-rc.d denies that during the install, and
    the units are disabled, so nothing runs before the cluster is complete.
    """
    from charmhelpers import fetch
    missing = fetch.filter_installed_packages(list(paths.PACKAGES))
    if missing:
        from charms.layer.stackyard import status
        status.set_status(status.MAINTENANCE, 'Installing {}'.format(', '.join(missing)))
        placed = not os.path.exists(paths.POLICY_RC_D)
        if placed:
            host.write_file(paths.POLICY_RC_D, b'#!/bin/sh\nexit 101\n', perms=0o755)
        try:
            fetch.apt_install(missing, options=['--option=Dpkg::Options::=--force-confold',
                                                '--no-install-recommends'], fatal=True)
        finally:
            if placed:
                os.remove(paths.POLICY_RC_D)
    subprocess.check_call(['systemctl', 'disable', '-q', paths.COROSYNC, paths.PACEMAKER])


class CorosyncConf(sy.Template):
    """corosync.conf, checked by ``corosync -t`` before it is written."""

    def render(self, context):
        text = super().render(context)
        with tempfile.NamedTemporaryFile('w', suffix='.conf') as f:
            f.write(text)
            f.flush()
            out = subprocess.run(['corosync', '-t', '-c', f.name], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, universal_newlines=True)
        if out.returncode != 0:
            raise RuntimeError('corosync -t refused the rendered corosync.conf: {}'.format(
                out.stdout.strip().splitlines()[-1:]))
        return text


def write_authkey(service_name):
    """``data_ready``: the authkey from the secret, root only (0400)."""
    key = cluster.authkey()
    try:
        with open(paths.AUTHKEY, 'rb') as f:
            same = f.read() == key and os.stat(paths.AUTHKEY).st_mode & 0o777 == 0o400
    except OSError:
        same = False
    if not same:
        host.write_file(paths.AUTHKEY, key, owner='root', group='root', perms=0o400)
        sy.mark_changed(service_name, paths.AUTHKEY)


def start_corosync(service_name):
    """Start corosync; a running one reloads a changed node list (``corosync-cfgtool -R``).

    A restart would stop pacemaker and move every resource off the node for
    a membership change that corosync applies in place.
    """
    if not host.service_running(service_name):
        host.service_start(service_name)
    elif sy.changed_files(service_name) == [paths.COROSYNC_CONF]:
        hookenv.log('Reloading corosync.conf (cluster members changed)', level=hookenv.INFO)
        subprocess.run(['corosync-cfgtool', '-R'], check=True, stdout=subprocess.DEVNULL)
    elif sy.changed_files(service_name):
        restart.request([service_name], 'changed {}'.format(
            ', '.join(sy.changed_files(service_name))), options.config())


def start_pacemaker(service_name):
    """Start pacemaker, then configure (leader) and report the principal's resources.

    After starting it, wait (at most ``restart-health-timeout``; seconds in
    practice, quorum or not) until pacemaker reports this node online: the
    report then says so, and the peers are woken by it.
    """
    if not host.service_running(service_name):
        host.service_start(service_name)
        crm.wait_ready(restart.settings(options.config())[2], node=crm.node_name(),
                       quorum=False)
    resources.configure()


def stop_pacemaker(service_name):
    """Stop callback of both services: pacemaker stops first (it runs on corosync).

    The principal is told it is not clustered here.
    """
    resources.forget()
    sy.stop_service(paths.PACEMAKER)


@sy.declare
def definitions():
    ctx = cluster.ClusterContext()
    return [
        {'service': paths.COROSYNC,
         'required_data': [ctx],
         'data_ready': [write_authkey,
                        CorosyncConf('corosync.conf.j2', paths.COROSYNC_CONF,
                                     owner='root', group='root', perms=0o644)],
         'start': [start_corosync],
         'stop': [stop_pacemaker, sy.stop_service],  # corosync after pacemaker
         'health': [health.Command(['corosync-cfgtool', '-s'])]},
        {'service': paths.PACEMAKER,
         'required_data': [ctx],
         'start': [start_pacemaker],
         'stop': [stop_pacemaker],
         'health': [health.Command(['crm_mon', '-1'])]},
    ]


def version():
    """Pacemaker's version, or None before it is installed."""
    out = subprocess.run(['dpkg-query', '-W', '-f=${Version}', 'pacemaker'],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         universal_newlines=True)
    return out.stdout.split('-')[0] if out.returncode == 0 and out.stdout else None
