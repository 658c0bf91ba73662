"""buildbot-master handlers: the web UI install, worker secrets, the address workers use.

The layer renders master.cfg and runs the master (services.py).
"""

from charmhelpers.core import hookenv
from charms.reactive import clear_flag, endpoint_from_name, hook, when, when_not

from charms.layer.stackyard import options, status
from charms.layer.buildbot_master import actions, checks, contexts, services, www  # noqa: F401

status.version_source(services.version)
status.ready_message(checks.ready_message)


@when('stackyard.packages.installed')
@when_not('stackyard.services.paused')
def install_www():
    if not www.installed():
        status.set_status(status.MAINTENANCE, 'Installing buildbot-www')
        www.install()


@hook('workers-relation-joined', 'workers-relation-changed', 'workers-relation-departed',
      'workers-relation-broken', 'leader-elected', 'upgrade-charm')
def update_worker_secrets(*_relation):
    # One secret per worker; the layer's reconfigure (later in this hook)
    # renders master.cfg with the passwords.  (charms.reactive passes a
    # relation hook's handler the relation: not needed, the endpoint has all.)
    if hookenv.is_leader():
        endpoint_from_name(contexts.ENDPOINT).update_secrets()


@when('workers.changed')
def workers_changed():
    clear_flag('workers.changed')


@when('workers.connected')
def publish_address():
    endpoint_from_name(contexts.ENDPOINT).publish_address(
        contexts.address(), options.config()['worker-port'])
