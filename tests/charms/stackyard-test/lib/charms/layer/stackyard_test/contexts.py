"""What stackyard-test's templates get."""

from charmhelpers.core import hookenv

from charms.layer.stackyard import options
from charms.layer.stackyard_test import paths

options.overridable('debug')


def port_problem(value):
    """Why ``value`` is not a usable TCP port, or None."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        return 'port {!r} is not a TCP port (1-65535)'.format(value)
    return None


@options.rule('port')
def port_reason(value):
    """Validator: why ``value`` is not a TCP port, for "Invalid config: port: ..."."""
    if port_problem(value):
        return 'must be a TCP port (1-65535), not {!r}'.format(value)
    return None


@options.rule('warmup')
def warmup_reason(value):
    """Validator: the service's start delay is 0 to 600 seconds."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 600:
        return 'must be a whole number of seconds from 0 to 600, not {!r}'.format(value)
    return None


class ServiceContext(dict):
    """Config for the HTTP service; empty (not ready) while the port is invalid."""

    name = 'a valid port'

    def __init__(self):
        super().__init__()
        config = options.config()
        if port_problem(config.get('port')) is None:
            self.update(port=config['port'], message=config.get('message') or '',
                        debug=bool(config.get('debug')), unit=hookenv.local_unit(),
                        warmup=int(config.get('warmup') or 0),
                        server=paths.SERVER, starts_log=paths.STARTS_LOG,
                        ready_log=paths.READY_LOG)
