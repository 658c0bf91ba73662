"""What stackyard-test's templates get."""

from charmhelpers.core import hookenv

from charms.layer.stackyard_test import paths


def port_problem(value):
    """Why ``value`` is not a usable TCP port, or None."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        return 'port {!r} is not a TCP port (1-65535)'.format(value)
    return None


class ServiceContext(dict):
    """Config for the HTTP service; empty (not ready) while the port is invalid."""

    name = 'a valid port'

    def __init__(self):
        super().__init__()
        config = hookenv.config()
        if port_problem(config.get('port')) is None:
            self.update(port=config['port'], message=config.get('message') or '',
                        unit=hookenv.local_unit(), server=paths.SERVER)
