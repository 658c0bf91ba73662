"""stackyard-test handlers: publish the website; the layer does the rest."""

import ipaddress

from charmhelpers.core import hookenv
from charms.reactive import endpoint_from_flag, is_flag_set, when

from charms.layer.stackyard import options, status
from charms.layer.stackyard_test import bench, services  # noqa: F401  bench registers

status.version_source(services.version)
# Its status needs nothing on update-status but the health check, and it has no
# handlers of its own on peer data: an idle unit skips other units' peer changes.
status.idle_fast_path(peer_changes=True)
status.ready_message(lambda: 'Serving on port {}{}'.format(
    options.config().get('port'), vip_message()))


def vip_message():
    if not is_flag_set('ha.connected') or not options.config().get('vip'):
        return ''
    return '; VIP {} {}'.format(options.config().get('vip'), 'clustered' if is_flag_set(
        'ha.clustered') else 'not clustered yet')


@options.rule('vip')
def vip_reason(value):
    for word in (value or '').split():
        try:
            ipaddress.ip_address(word)
        except ValueError:
            return 'must be space-separated IP addresses, not {!r}'.format(word)
    return None


@when('website.connected')
def publish_website():
    website = endpoint_from_flag('website.connected')
    website.publish(hookenv.unit_private_ip(), options.config().get('port'))


@when('benchmark.connected')
def publish_benchmarks():
    endpoint_from_flag('benchmark.connected').publish_benchmarks(['benchmark-http'])


@when('ha.connected')
def request_vip():
    try:
        endpoint_from_flag('ha.connected').request_vips(
            'web', (options.config().get('vip') or '').split())
    except ValueError:
        pass    # the option check blocks naming it
