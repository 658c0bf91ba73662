"""Glue between reactive handlers and the charmhelpers services framework.

A charm declares its services once, as a function returning ServiceManager
definitions; the layer's handlers call :func:`reconfigure` (never
``ServiceManager.manage()``), which renders files and asks for a restart of a
service only when one of its files changed (a stopped one is started).
"""

import grp
import os
import pwd
import subprocess

from charmhelpers.core import hookenv, host
from charmhelpers.core.services import base

POLICY_RC_D = '/usr/sbin/policy-rc.d'
_factory = {'fn': None}
# Files changed this hook, per service: decides restarts.
_changed = {}


def install_packages(packages, start=True):
    """apt-get install what of ``packages`` is missing (layer options ``packages``,
    ``start-at-install``).

    ``start=False``: a policy-rc.d (exit 101: "action forbidden") keeps the
    maintainer scripts from starting the services while they install; the
    definitions start them once their data is ready.  rabbitmq's package
    would boot an Erlang node with a cookie of its own, which the charm then
    stops to give it the cluster's: about 6 s of CPU and, at host load 56,
    45 s of its install hook, measured in a yard machine.
    """
    # Imported here: charmhelpers.fetch loads apt's bindings, which every other
    # hook would pay for.
    from charmhelpers import fetch
    from charms.layer.stackyard import status
    missing = fetch.filter_installed_packages(list(packages))
    if not missing:
        return
    status.set_status(status.MAINTENANCE, 'Installing {}'.format(', '.join(missing)))
    placed = not start and not os.path.exists(POLICY_RC_D)
    if placed:
        host.write_file(POLICY_RC_D, b'#!/bin/sh\nexit 101\n', perms=0o755)
    try:
        fetch.apt_install(missing, fatal=True)
    finally:
        if placed:
            os.remove(POLICY_RC_D)


def declare(factory):
    """Register the charm's service definitions factory (usable as a decorator)."""
    _factory['fn'] = factory
    return factory


def definitions():
    """The charm's service definitions with the layer's default start/stop."""
    if _factory['fn'] is None:
        return []
    defs = []
    for service in _factory['fn']():
        service = dict(service)
        service.setdefault('start', [restart_if_changed, manage_ports])
        service.setdefault('stop', [manage_ports, stop_service])
        defs.append(service)
    return defs


def manager():
    """A ServiceManager over the charm's definitions."""
    return base.ServiceManager(definitions())


def names():
    """Names of the declared services."""
    return [s['service'] for s in definitions()]


def reconfigure(*service_names):
    """Render every ready service's files and (re)start what needs it."""
    manager().reconfigure_services(*service_names)


def stop(*service_names):
    """Stop services and close their ports."""
    manager().stop_services(*service_names)


def changed_files(service_name):
    """Files of ``service_name`` that this hook rewrote."""
    return sorted(_changed.get(service_name, ()))


def mark_changed(service_name, target):
    """Record that a file of the service changed (so it gets restarted)."""
    _changed.setdefault(service_name, set()).add(target)


class Template(base.ManagerCallback):
    """A ``data_ready`` callback rendering one Jinja2 template of the charm.

    Owner, group and mode are always explicit.  The file is written only when
    its content or ownership/mode would change; a changed file marks its
    service for restart, and a changed systemd unit triggers a daemon-reload.

    :param source: template file name under the charm's ``templates/``
    :param target: absolute path of the rendered file; ``owner``, ``group``,
        ``perms`` (``0o640``): its ownership and mode
    :param systemd_unit: True when ``target`` is a systemd unit file
    """

    def __init__(self, source, target, owner, group, perms, systemd_unit=False):
        self.source = source
        self.target = target
        self.owner = owner
        self.group = group
        self.perms = perms
        self.systemd_unit = systemd_unit

    def context(self, manager, service_name):
        """The template context: every required_data mapping merged."""
        service = manager.get_service(service_name)
        context = {'ctx': {}}
        for ctx in service.get('required_data', []):
            context.update(ctx)
            context['ctx'].update(ctx)
        return context

    def render(self, context):
        """The rendered text, without touching the target.

        Unlike charmhelpers' ``render``, a trailing newline is kept and an
        undefined variable is an error rather than an empty string.
        """
        import jinja2   # here, not at the top: most hooks render nothing (~20 ms)
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(os.path.join(hookenv.charm_dir(), 'templates')),
            keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
        return env.get_template(self.source).render(context)

    def __call__(self, manager, service_name, event_name):
        content = self.render(self.context(manager, service_name)).encode()
        if not _file_matches(self.target, content, self.owner, self.group, self.perms):
            parent = os.path.dirname(self.target)
            if not os.path.isdir(parent):
                host.mkdir(parent, owner='root', group='root', perms=0o755)
            host.write_file(self.target, content, owner=self.owner, group=self.group,
                            perms=self.perms)
            mark_changed(service_name, self.target)
            hookenv.log('Rendered {} for {}'.format(self.target, service_name),
                        level=hookenv.DEBUG)
            if self.systemd_unit:
                subprocess.check_call(['systemctl', 'daemon-reload'])


class File(Template):
    """A ``data_ready`` callback installing one of the charm's ``files/`` as is.

    Same arguments and change tracking as :class:`Template`; ``source`` is a
    path under the charm's ``files/``.
    """

    def render(self, context):
        with open(os.path.join(hookenv.charm_dir(), 'files', self.source)) as f:
            return f.read()


def _file_matches(path, content, owner, group, perms):
    try:
        st = os.stat(path)
        with open(path, 'rb') as f:
            current = f.read()
    except OSError:
        return False
    try:
        uid = pwd.getpwnam(owner).pw_uid
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        return False
    return (current == content and st.st_uid == uid and st.st_gid == gid
            and (st.st_mode & 0o7777) == perms)


# charmhelpers' callback: open-port for each declared port at every start,
# close-port at stop.
manage_ports = base.PortManagerCallback()


def restart_if_changed(service_name):
    """Start callback: start a stopped service; ask for a restart when files changed.

    A running service is never restarted here: the restart is requested from
    the restart coordinator (batched, health-gated, or deferred), which acts
    at the end of the hook.
    """
    from charms.layer.stackyard import options, restart
    if not host.service_running(service_name):
        hookenv.log('Starting {}: not running'.format(service_name), level=hookenv.INFO)
        host.service_start(service_name)
    elif _changed.get(service_name):
        restart.request([service_name], 'changed {}'.format(
            ', '.join(changed_files(service_name))), options.config())


def health_checks():
    """``{service: [checks]}`` from the definitions' ``health`` keys."""
    return {s['service']: list(s.get('health') or []) for s in definitions()}


def stop_service(service_name):
    """Stop callback: stop the service if it runs."""
    if host.service_running(service_name):
        host.service_stop(service_name)


def service_check():
    """Status check: waiting on missing data, blocked on a stopped service.

    A service stopped until its restart slot comes (a planned start: a node
    that joins its cluster one at a time) is waiting, with the request's
    reason, not blocked: nothing is wrong and the operator has nothing to do.
    """
    from charmhelpers.core import unitdata
    from charms.reactive import is_flag_set
    from charms.layer.stackyard import restart
    if is_flag_set('stackyard.services.paused'):
        return []
    results = []
    mgr = manager()
    pending = unitdata.kv().get(restart.PENDING) or {}
    queued = pending.get('services') if not pending.get('restarted') else []
    for name in mgr.services:
        if not mgr.is_ready(name):
            missing = [_describe(ctx) for ctx in mgr.get_service(name).get('required_data', [])
                       if not ctx]
            results.append(('waiting', 'Waiting for {}'.format(', '.join(missing) or name)))
        elif not host.service_running(name):
            results.append(('waiting', 'Service {} starts in its restart slot ({})'.format(
                name, pending.get('reason') or 'requested')) if name in (queued or []) else
                ('blocked', 'Service {} is not running'.format(name)))
    return results


def _describe(ctx):
    return getattr(ctx, 'missing_message', None) or getattr(ctx, 'name', None) or \
        type(ctx).__name__
