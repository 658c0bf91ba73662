"""stackyard-test handlers: publish the website; the layer does the rest."""

from charmhelpers.core import hookenv
from charms.reactive import endpoint_from_flag, when

from charms.layer.stackyard import options, status
from charms.layer.stackyard_test import bench, services  # noqa: F401  bench registers

status.version_source(services.version)
# Its status needs nothing on update-status but the health check, and it has no
# handlers of its own on peer data: an idle unit skips other units' peer changes.
status.idle_fast_path(peer_changes=True)
status.ready_message(lambda: 'Serving on port {}'.format(options.config().get('port')))


@when('website.connected')
def publish_website():
    website = endpoint_from_flag('website.connected')
    website.publish(hookenv.unit_private_ip(), options.config().get('port'))


@when('benchmark.connected')
def publish_benchmarks():
    endpoint_from_flag('benchmark.connected').publish_benchmarks(['benchmark-http'])
