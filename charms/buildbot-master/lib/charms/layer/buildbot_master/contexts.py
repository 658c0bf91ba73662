"""What buildbot-master's templates get, and the option rules behind them."""

from charmhelpers.core import hookenv
from charms.reactive import endpoint_from_name

from charms.layer.stackyard import options
from charms.layer.buildbot_master import jobs, paths, www

ENDPOINT = 'workers'


@options.rule('jobs')
def jobs_reason(value):
    """Validator: ``jobs`` must parse (see :mod:`jobs`)."""
    return options.reason(jobs.parse, value)


def _port_reason(value):
    return None if 1024 <= value <= 65535 else 'must be a TCP port from 1024 to 65535, ' \
        'not {}'.format(value)


@options.rule('web-port')
def web_port_reason(value):
    """Validator: ``web-port`` is an unprivileged TCP port (Buildbot runs unprivileged)."""
    return _port_reason(value)


@options.rule('worker-port')
def worker_port_reason(value):
    """Validator: ``worker-port`` is an unprivileged TCP port other than ``web-port``."""
    if value == hookenv.config().get('web-port'):
        return 'must differ from web-port ({})'.format(value)
    return _port_reason(value)


def configured_jobs():
    """The effective ``jobs`` (the last good value while the option is invalid)."""
    try:
        return jobs.parse(options.config().get('jobs'))
    except jobs.Invalid:
        return []


def address():
    """The address workers and browsers reach this unit on."""
    return hookenv.unit_private_ip()


def web_url(config=None):
    """``http://<address>:<web-port>/``: where the web UI and REST API answer."""
    config = config or options.config()
    return 'http://{}:{}/'.format(address(), config['web-port'])


def workers():
    """The related workers with valid data (no passwords): interface:buildbot's list."""
    endpoint = endpoint_from_name(ENDPOINT)
    return endpoint.workers() if endpoint else []


def registered_workers():
    """The related workers whose password secret the leader has published."""
    endpoint = endpoint_from_name(ENDPOINT)
    if not endpoint:
        return []
    published = endpoint.published()
    return [w for w in endpoint.workers() if w['name'] in published]


def passwords():
    """``{worker name: password}`` from the worker secrets (leader only)."""
    endpoint = endpoint_from_name(ENDPOINT)
    return endpoint.passwords() if endpoint else {}


class WwwContext(dict):
    """The web UI (buildbot-www) is installed in the master's venv."""

    name = 'buildbot-www in {}'.format(paths.VENV)

    def __init__(self):
        super().__init__()
        if www.installed():
            self.update(python=paths.PYTHON)


class MasterContext(dict):
    """master.cfg's data and the service's paths.

    Empty on a unit that is not the leader: Buildbot keeps its state in one
    SQLite file and the worker secrets belong to the leader, so one unit, the
    leader, runs the master.  Empty too while no job has a registered worker:
    Buildbot refuses a config without workers or builders.
    """

    name = 'leadership (Buildbot runs on the leader only)'

    def __init__(self):
        super().__init__()
        if not hookenv.is_leader():
            return
        config = options.config()
        found = registered_workers()
        assigned = jobs.assign(configured_jobs(), found)
        if not any(j['workers'] for j in assigned):
            self.name = 'a related worker with the labels of a job ({})'.format(
                ', '.join(j['name'] for j in assigned) or 'no jobs configured')
            return
        self.update(
            title=config['title'], url=web_url(config), web_port=config['web-port'],
            worker_port=config['worker-port'], jobs=assigned,
            workers=[{k: w[k] for k in ('name', 'labels', 'executors')} for w in found],
            basedir=paths.BASEDIR, buildbot=paths.BUILDBOT, user=paths.USER,
            group=paths.GROUP, git_cache_index=paths.WORKER_GIT_CACHE_INDEX)
