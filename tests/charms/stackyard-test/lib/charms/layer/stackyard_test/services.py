"""stackyard-test's services-framework definitions."""

import re

from charms.layer.stackyard import health
from charms.layer.stackyard import services as sy
from charms.layer.stackyard_test import contexts, paths


@sy.declare
def definitions():
    """One service: the HTTP server, its config, script and unit file."""
    ctx = contexts.ServiceContext()
    return [{
        'service': paths.SERVICE,
        'required_data': [ctx],
        'ports': [ctx['port']] if ctx else [],
        'health': [health.HTTP('http://127.0.0.1:{}/'.format(ctx['port']))] if ctx else [],
        'data_ready': [
            sy.File('server.py', paths.SERVER, owner='root', group='root', perms=0o755),
            sy.Template('config.json.j2', paths.CONFIG, owner='root', group='root',
                        perms=0o644),
            sy.Template('stackyard-test.service.j2', paths.UNIT, owner='root', group='root',
                        perms=0o644, systemd_unit=True),
        ],
    }]


def version():
    """The workload's version: the ``VERSION`` line of the installed server script.

    Read rather than asked (``server.py --version``): an interpreter start in
    every config-changed of every unit costs more than the answer is worth.
    """
    try:
        with open(paths.SERVER) as f:
            found = re.search(r"^VERSION = '([^']+)'$", f.read(), re.M)
    except OSError:
        return None
    return found.group(1) if found else None
