"""galera handlers: publish node state, serve shared-db; the layer runs mariadb."""

from charmhelpers.core import hookenv
from charms.reactive import endpoint_from_flag, hook, clear_flag, is_flag_set, set_flag, when
from charms.reactive import when_not

from charms.layer.stackyard import options, status
from charms.layer.galera import (actions, bench, checks, cluster, ha,  # noqa: F401
                                 services, shared_db)

status.version_source(services.version)
status.ready_message(checks.ready_message)


@when('cluster.connected')
def publish_node_state():
    cluster.publish_state()


@when('stackyard.packages.installed')
def make_benchmark_user():
    if hookenv.is_leader():
        bench.ensure_user()


@when('shared-db.requested')
def serve_shared_db():
    if hookenv.is_leader():
        shared_db.serve(endpoint_from_flag('shared-db.requested'))


@when('shared-db.connected')
def publish_shared_db():
    shared_db.publish(endpoint_from_flag('shared-db.connected'))


@when_not('galera.ocf-agent.installed')
def install_ocf_agent():
    # Before any hacluster subordinate joins: pacemaker must find the agent on
    # every node it probes.
    ha.install_agent()
    set_flag('galera.ocf-agent.installed')


@hook('upgrade-charm')
def reinstall_ocf_agent():
    clear_flag('galera.ocf-agent.installed')


@when('ha.connected')
def request_vip():
    vip = (options.config().get('vip') or '').strip()
    if checks.vip_reason(vip):
        return
    ha.request(endpoint_from_flag('ha.connected'), vip)


@when('cluster.connected')
def publish_vip_report():
    vip = (options.config().get('vip') or '').strip()
    ha.publish_report(vip, is_flag_set('ha.clustered'))
