"""hacluster handlers: install, membership, the authkey secret; the layer runs the services."""

from charmhelpers.core import host
from charms.reactive import hook, is_flag_set, set_flag, when, when_not

from charms.layer.stackyard import options, status
from charms.layer.hacluster import actions, checks, cluster, flags, paths  # noqa: F401
from charms.layer.hacluster import resources, services

status.version_source(services.version)
status.ready_message(checks.ready_message)


@options.rule('cluster_count')
def cluster_count_reason(value):
    return None if 1 <= value <= 100 else 'must be from 1 to 100, not {}'.format(value)


@when_not(flags.INSTALLED)
def install():
    services.install()
    set_flag(flags.INSTALLED)


@when('cluster.connected')
def publish_node():
    cluster.publish_node()


@when('cluster.connected')
def authkey_secret():
    cluster.ensure_authkey_secret()


@hook('update-status')
def recheck_resources():
    # The layer reconfigures on update-status only when the config changed:
    # resources that started (or stopped) since the last hook are seen here.
    if not is_flag_set('stackyard.services.paused') and \
            host.service_running(paths.PACEMAKER):
        resources.configure()
