"""galera handlers: publish node state, serve shared-db; the layer runs mariadb."""

from charmhelpers.core import hookenv
from charms.reactive import endpoint_from_flag, when

from charms.layer.stackyard import options, status
from charms.layer.galera import (actions, bench, checks, cluster, services,  # noqa: F401
                                 shared_db)

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


@when('ha.connected')
def request_vip():
    vip = (options.config().get('vip') or '').strip()
    if checks.vip_reason(vip):
        return
    # upstream percona-cluster's service name: res_mysql_<sha1[:7]>_vip
    endpoint_from_flag('ha.connected').request_vips('mysql', [vip] if vip else [])
