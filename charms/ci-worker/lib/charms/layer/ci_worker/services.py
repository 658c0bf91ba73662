"""ci-worker's services-framework definitions: the git cache timer and the agents.

- ``ci-worker-git-cache.timer``: always; refreshes the bare mirrors.  Its
  health checks are the worker's own: the mirror answering (when related).
- ``ci-worker-buildbot``: while ``buildbot`` is connected; ready when the
  master's address and this worker's password are known and the agents are
  online (:mod:`offline`).
- ``ci-worker-jenkins``: the same for ``jenkins`` (the master's URL and this
  node's secret).

An agent that is not ready is stopped by the services framework: that is how
the disk watchdog and ``drain`` take the worker offline.
"""

import os
import subprocess

from charmhelpers.core import hookenv, host
from charms.reactive import endpoint_from_flag, is_flag_set

from charms.layer.stackyard import health
from charms.layer.stackyard import services as sy
from charms.layer.ci_worker import contexts, paths


class SecretFile(sy.Template):
    """A file holding one secret from the context (``source`` names the key), 0600."""

    def render(self, context):
        return context[self.source] + '\n'


def make_dirs(service_name):
    """``data_ready``: the ci user, and the workspace and cache dirs it owns."""
    ensure_user()
    for path in (contexts.workspace_dir(), contexts.cache_dir(), contexts.git_cache_dir(),
                 os.path.join(contexts.workspace_dir(), 'tmp')):
        if not os.path.isdir(path):
            host.mkdir(path, owner=paths.USER, group=paths.GROUP, perms=0o755)


def ensure_user():
    """The ``ci`` user jobs and agents run as (home under /var/lib/ci-worker)."""
    if not host.user_exists(paths.USER):
        host.adduser(paths.USER, system_user=True, home_dir=paths.HOME, shell='/bin/bash')
        host.mkdir(paths.HOME, owner=paths.USER, group=paths.GROUP, perms=0o750)


def mirror_checks():
    """The related mirror's port answering, or nothing when no mirror is available."""
    if not is_flag_set('mirror.available'):
        return []
    endpoint = endpoint_from_flag('mirror.available')
    found = endpoint.mirrors() if endpoint else []
    return [health.TCP(found[0]['port'], host=found[0]['address'])] if found else []


def active_check(name):
    return health.Command(['systemctl', 'is-active', '--quiet', name], timeout=5.0)


class BuildbotContext(dict):
    """The Buildbot worker: master address, worker name and password, base dir."""

    name = 'the buildbot master (address and this worker\'s password)'

    def __init__(self):
        super().__init__()
        if not is_flag_set('buildbot.available'):
            return
        master = endpoint_from_flag('buildbot.available').master()
        if master and os.path.exists(paths.BUILDBOT_WORKER):
            self.update(master_address=master['address'], master_port=master['port'],
                        worker_name=master['worker_name'], password=master['password'],
                        basedir=contexts.buildbot_dir(), password_file=paths.BUILDBOT_PASSWORD,
                        user=paths.USER, group=paths.GROUP, executors=contexts.executors(),
                        worker_bin=paths.BUILDBOT_WORKER, job_env=paths.JOB_ENV)


class JenkinsContext(dict):
    """The Jenkins inbound agent: master URL, node name and secret, work dir."""

    name = 'the Jenkins master (URL and this node\'s secret)'

    def __init__(self):
        super().__init__()
        endpoints = contexts.jenkins_endpoints('available')
        if not endpoints:
            return
        master = endpoints[0].master()
        if master and os.path.exists(paths.JAVA):
            self.update(url=master['url'], secret=master['secret'], node=master['node'],
                        workdir=contexts.jenkins_dir(), secret_file=paths.JENKINS_SECRET,
                        user=paths.USER, group=paths.GROUP, java=paths.JAVA,
                        job_env=paths.JOB_ENV)


def make_agent_dir(service_name):
    """``data_ready``: the agent's dir under the workspace, owned by the ci user."""
    path = contexts.buildbot_dir() if service_name == paths.BUILDBOT else contexts.jenkins_dir()
    if not os.path.isdir(path):
        host.mkdir(path, owner=paths.USER, group=paths.GROUP, perms=0o755)
    if not os.path.isdir(paths.SECRETS_DIR):
        host.mkdir(paths.SECRETS_DIR, owner='root', group=paths.GROUP, perms=0o750)


def buildbot_definition():
    return {
        'service': paths.BUILDBOT,
        'required_data': [BuildbotContext(), contexts.OnlineContext()],
        'health': [active_check(paths.BUILDBOT)],
        'data_ready': [
            make_dirs, make_agent_dir,
            SecretFile('password', paths.BUILDBOT_PASSWORD, owner=paths.USER,
                       group=paths.GROUP, perms=0o600),
            sy.Template('buildbot.tac.j2', os.path.join(contexts.buildbot_dir(), 'buildbot.tac'),
                        owner='root', group=paths.GROUP, perms=0o644),
            sy.Template('ci-worker-buildbot.service.j2', paths.unit_file(paths.BUILDBOT),
                        owner='root', group='root', perms=0o644, systemd_unit=True),
        ],
    }


def jenkins_definition():
    return {
        'service': paths.JENKINS,
        'required_data': [JenkinsContext(), contexts.OnlineContext()],
        'health': [active_check(paths.JENKINS)],
        'data_ready': [
            make_dirs, make_agent_dir,
            SecretFile('secret', paths.JENKINS_SECRET, owner=paths.USER, group=paths.GROUP,
                       perms=0o600),
            sy.Template('ci-worker-jenkins.service.j2', paths.unit_file(paths.JENKINS),
                        owner='root', group='root', perms=0o644, systemd_unit=True),
        ],
    }


@sy.declare
def definitions():
    """The git cache timer, and an agent per connected agent relation."""
    defs = [{
        'service': paths.GIT_CACHE_TIMER,
        'required_data': [contexts.GitCacheContext()],
        'health': mirror_checks(),
        'data_ready': [
            make_dirs,
            sy.File('ci-worker-git-cache', paths.GIT_CACHE_SCRIPT, owner='root', group='root',
                    perms=0o755),
            sy.Template('git-cache.json.j2', paths.GIT_CACHE_CONFIG, owner='root',
                        group='root', perms=0o644),
            sy.Template('ci-worker-env.sh.j2', paths.JOB_ENV, owner='root', group='root',
                        perms=0o644),
            sy.Template('ci-worker-git-cache.service.j2', paths.unit_file(paths.GIT_CACHE_SERVICE),
                        owner='root', group='root', perms=0o644, systemd_unit=True),
            sy.Template('ci-worker-git-cache.timer.j2', paths.unit_file(paths.GIT_CACHE_TIMER),
                        owner='root', group='root', perms=0o644, systemd_unit=True),
        ],
    }]
    if is_flag_set('buildbot.connected'):
        defs.append(buildbot_definition())
    if contexts.jenkins_endpoints('connected'):
        defs.append(jenkins_definition())
    return defs


def agent_names():
    """The agent services of the connected agent relations."""
    return [d['service'] for d in sy.definitions() if d['service'] != paths.GIT_CACHE_TIMER]


def agent_running():
    return any(host.service_running(name) for name in agent_names())


def forget(name, files):
    """Stop and remove an agent whose relation went: its unit and secret files."""
    unit = paths.unit_file(name)
    if not os.path.exists(unit):
        return False
    subprocess.call(['systemctl', 'stop', name])
    for path in (unit,) + tuple(files):
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
    subprocess.check_call(['systemctl', 'daemon-reload'])
    hookenv.log('Relation gone: stopped {} and removed its files'.format(name),
                level=hookenv.INFO)
    return True


def version():
    """git's version (the one workload every worker has)."""
    try:
        out = subprocess.run(['git', '--version'], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, universal_newlines=True).stdout
    except OSError:
        return None
    words = out.split()
    return words[2] if len(words) >= 3 else None
