"""What ci-worker's templates get, and the option rules behind them."""

import json
import os

from charmhelpers.core import hookenv
from charms.reactive import endpoint_from_flag, is_flag_set

from charms.layer.stackyard import options
from charms.layer.ci_worker import offline, paths, settings


@options.rule('git-cache-repos')
def repos_reason(value):
    return options.reason(settings.parse_repos, value)


@options.rule('git-cache-refresh')
def refresh_reason(value):
    return options.reason(settings.parse_duration, value)


@options.rule('min-free-disk')
def min_free_reason(value):
    return options.reason(lambda v: settings.parse_size(v, 100), value)


@options.rule('executors')
def executors_reason(value):
    return options.reason(lambda v: settings.executors(v, 1), value)


@options.rule('labels')
def labels_reason(value):
    return options.reason(settings.parse_labels, value)


@options.rule('packages')
def packages_reason(value):
    return options.reason(settings.parse_packages, value)


def _storage(name, default):
    for storage_id in hookenv.storage_list(name) or []:
        location = hookenv.storage_get('location', storage_id)
        if location:
            return location
    return default


def workspace_dir():
    """The workspace root: the ``workspace`` storage when attached, else the default."""
    return _storage('workspace', paths.DEFAULT_WORKSPACE)


def cache_dir():
    """The cache root: the ``cache`` storage when attached, else the default."""
    return _storage('cache', paths.DEFAULT_CACHE)


def git_cache_dir():
    """Where the bare mirrors live (``$CI_GIT_CACHE`` in jobs)."""
    return os.path.join(cache_dir(), 'git')


def buildbot_dir():
    return os.path.join(workspace_dir(), 'buildbot')


#: The Jenkins agent endpoints: interface ``jenkins_agent_v0`` (the jenkins-k8s
#: charm) and ``jenkins-slave`` (the classic jenkins charm); same keys, same agent.
JENKINS_ENDPOINTS = ('jenkins', 'jenkins-classic')


def jenkins_endpoints(state):
    """The Jenkins endpoints whose ``<endpoint>.<state>`` flag is set, in that order."""
    return [endpoint_from_flag(name + '.' + state) for name in JENKINS_ENDPOINTS
            if is_flag_set(name + '.' + state)]


def jenkins_dir():
    return os.path.join(workspace_dir(), 'jenkins')


def _os_release():
    found = {}
    try:
        with open('/etc/os-release') as f:
            for line in f:
                key, sep, value = line.strip().partition('=')
                if sep:
                    found[key] = value.strip('"\'')
    except OSError:
        pass
    return found


def labels():
    """This worker's labels: architecture, OS release, then the configured ones."""
    return settings.labels(options.config().get('labels'), os.uname().machine, _os_release())


def executors():
    """How many jobs run at once: ``executors``, or the CPU count."""
    return settings.executors(options.config().get('executors'), os.cpu_count())


def packages():
    """The effective ``packages`` (last good value while invalid)."""
    try:
        return settings.parse_packages(options.config().get('packages'))
    except settings.Invalid:
        return []


def repos():
    """The effective ``git-cache-repos`` (last good value while invalid)."""
    try:
        return settings.parse_repos(options.config().get('git-cache-repos'))
    except settings.Invalid:
        return []


class GitCacheContext(dict):
    """The git cache timer: its repositories, where they go, how often."""

    name = 'valid git-cache options'

    def __init__(self):
        super().__init__()
        config = options.config()
        try:
            interval = settings.parse_duration(config.get('git-cache-refresh'))
        except settings.Invalid:
            return
        root = git_cache_dir()
        self.update(git_cache=root, interval=interval, user=paths.USER, group=paths.GROUP,
                    script=paths.GIT_CACHE_SCRIPT, config_file=paths.GIT_CACHE_CONFIG,
                    git_cache_json=json.dumps({'root': root, 'repos': repos(),
                                               'status': paths.GIT_CACHE_STATUS},
                                              indent=2, sort_keys=True),
                    workspace=workspace_dir(), mirror_env=paths.MIRROR_INFO_SH)


class OnlineContext(dict):
    """Ready while nothing holds the agents offline (disk full, drained)."""

    name = 'the agent to be online'

    def __init__(self):
        super().__init__()
        why = offline.reasons()
        if not why:
            self['online'] = True
        else:
            self.missing_message = 'Agent offline: ' + '; '.join(
                why[k] for k in sorted(why))
