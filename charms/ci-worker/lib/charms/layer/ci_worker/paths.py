"""Every path ci-worker writes or reads."""

# The user jobs and agents run as.
USER = 'ci'
GROUP = 'ci'
HOME = '/var/lib/ci-worker'

# Storage defaults (without the storage attached).
DEFAULT_WORKSPACE = '/var/lib/ci-worker/workspace'
DEFAULT_CACHE = '/var/cache/ci-worker'

# Mirror configuration, written while the mirror relation is available.
PIP_CONF = '/etc/pip.conf'
NPMRC = '/etc/npmrc'
APT_SOURCES = '/etc/apt/sources.list.d/ci-mirror.list'
MIRROR_INFO_YAML = '/etc/ci-mirror-info.yaml'
MIRROR_INFO_SH = '/etc/ci-mirror-info.sh'
MIRROR_FILES = (PIP_CONF, NPMRC, APT_SOURCES, MIRROR_INFO_YAML, MIRROR_INFO_SH)

# Always present: the job environment (workspace, git cache; sources the mirror's).
JOB_ENV = '/etc/ci-worker-env.sh'

# Git cache.
GIT_CACHE_CONFIG = '/etc/ci-worker/git-cache.json'
GIT_CACHE_SCRIPT = '/usr/local/sbin/ci-worker-git-cache'
GIT_CACHE_SERVICE = 'ci-worker-git-cache.service'
GIT_CACHE_TIMER = 'ci-worker-git-cache.timer'
GIT_CACHE_STATUS = '.refresh-status.json'   # under the cache's git dir

# Agents.
BUILDBOT = 'ci-worker-buildbot'
JENKINS = 'ci-worker-jenkins'
SECRETS_DIR = '/etc/ci-worker'
BUILDBOT_PASSWORD = '/etc/ci-worker/buildbot-password'
JENKINS_SECRET = '/etc/ci-worker/jenkins-secret'
BUILDBOT_WORKER = '/usr/bin/buildbot-worker'
JAVA = '/usr/bin/java'


def unit_file(name):
    """The systemd unit file of ``name`` (``ci-worker-buildbot``, a ``.timer`` ...)."""
    if '.' not in name:
        name += '.service'
    return '/etc/systemd/system/' + name
