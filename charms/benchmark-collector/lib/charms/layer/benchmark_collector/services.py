"""benchmark-collector's service: the dashboard and API server."""

from charmhelpers.core import host

from charms.layer.stackyard import health
from charms.layer.stackyard import services as sy
from charms.layer.benchmark_collector import contexts, paths


def make_dirs(service_name):
    """``data_ready``: the data directory (SQLite file, exports), root only."""
    host.mkdir(paths.DATA, owner='root', group='root', perms=0o750)
    host.mkdir(paths.EXPORTS, owner='root', group='root', perms=0o750)


@sy.declare
def definitions():
    ctx = contexts.ServiceContext()
    return [{
        'service': paths.SERVICE,
        'required_data': [ctx],
        'ports': [ctx['port']] if ctx else [],
        'health': [health.HTTP('http://127.0.0.1:{}/healthz'.format(ctx['port']))]
        if ctx else [],
        'data_ready': [
            make_dirs,
            sy.Template('settings.json.j2', paths.SETTINGS, owner='root', group='root',
                        perms=0o600),
            sy.Template('benchmark-collector.service.j2', paths.UNIT, owner='root',
                        group='root', perms=0o644, systemd_unit=True),
        ],
    }]
