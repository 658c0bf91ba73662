"""stackyard-probe's amqp handlers: ask the broker for a user and vhost, prove them in status."""

from charmhelpers.core import hookenv
from charms.reactive import endpoint_from_name, is_flag_set, when

from charms.layer.stackyard import status
from charms.layer.stackyard_probe import amqp


@when('amqp.connected')
def request_amqp():
    config = hookenv.config()
    if not amqp.names_problem(config):
        endpoint_from_name('amqp').request_access(config['amqp-username'], config['amqp-vhost'])


@status.check
def amqp_status():
    if not is_flag_set('amqp.connected'):
        return None
    config = hookenv.config()
    problem = amqp.names_problem(config)
    if problem:
        return 'blocked', problem
    endpoint = endpoint_from_name('amqp')
    hosts, password = endpoint.hosts(), endpoint.password()
    if not hosts:
        return 'waiting', 'amqp: waiting for the broker to answer'
    timeout = float(config.get('timeout') or 3.0)
    return amqp.summarise([(host,) + amqp.round_trip(host, config['amqp-username'], password,
                                                     config['amqp-vhost'], timeout)
                           for host in hosts])
