"""Every path and name buildbot-master writes or reads."""

# Debian's buildbot package makes this user and group.
USER = 'buildbot'
GROUP = 'buildbot'
BASEDIR = '/var/lib/buildbot-master'
MASTER_CFG = BASEDIR + '/master.cfg'
# Rendered here first, checked with `buildbot checkconfig`, then moved over MASTER_CFG.
MASTER_CFG_NEW = BASEDIR + '/master.cfg.new'
TAC = BASEDIR + '/buildbot.tac'
TWISTD_LOG = BASEDIR + '/twistd.log'
BUILDBOT = '/usr/bin/buildbot'
# A venv over the system site-packages: Debian's buildbot plus the web UI
# (buildbot-www, which Debian does not package).
VENV = '/opt/buildbot-master/venv'
PYTHON = VENV + '/bin/python3'
WWW_REQUIREMENTS = 'www-requirements.txt'   # under the charm's files/
SERVICE = 'buildbot-master'
UNIT_FILE = '/etc/systemd/system/buildbot-master.service'
# The worker's git cache index ci-worker writes (see its README): {"root", "repos": [{url, dir}]}.
WORKER_GIT_CACHE_INDEX = '/etc/ci-worker/git-cache.json'
