"""ci-worker's status: what the operator must fix, or what the worker offers."""

import json
import os

from charmhelpers.core import unitdata
from charms.reactive import is_flag_set

from charms.layer.stackyard import status
from charms.layer.ci_worker import contexts, offline, paths

# unitdata: the packages last installed (or tried), and those whose install failed.
PACKAGES_KEY = 'ci-worker.packages.applied'
PACKAGES_FAILED_KEY = 'ci-worker.packages.failed'


@status.check
def packages_check():
    """Blocked while the last install of ``packages`` failed."""
    failed = unitdata.kv().get(PACKAGES_FAILED_KEY)
    if failed:
        return (status.BLOCKED, 'packages: installing {} failed (see the debug log); '
                'fix the option to retry'.format(' '.join(failed)))
    return None


@status.check
def disk_check():
    """Blocked, with the figures, while the workspace is below ``min-free-disk``."""
    message = offline.reasons().get(offline.DISK)
    return (status.BLOCKED, message) if message else None


@status.check
def drain_check():
    """Maintenance while drained (the agents' waiting message names it too)."""
    message = offline.reasons().get(offline.DRAIN)
    return (status.MAINTENANCE, message) if message else None


def git_cache_failures():
    """``[(url, error)]`` of the last refresh."""
    try:
        with open(os.path.join(contexts.git_cache_dir(), paths.GIT_CACHE_STATUS)) as f:
            last = json.load(f)
    except (OSError, ValueError):
        return []
    wanted = {r['url'] for r in contexts.repos()}
    return [(r.get('url'), r.get('error')) for r in last.get('repos', [])
            if not r.get('ok') and r.get('url') in wanted]


@status.check
def git_cache_check():
    """Blocked naming each repository whose last refresh failed."""
    return [(status.BLOCKED, 'git cache: {} failed: {}'.format(url, error))
            for url, error in git_cache_failures()] or None


def ready_message():
    """``Ready: 2 executors, labels x86_64 debian-12; buildbot; mirror 10.0.0.5``."""
    parts = ['Ready: {} executors, labels {}'.format(
        contexts.executors(), ' '.join(contexts.labels()))]
    agents = [name for name in ('buildbot',) + contexts.JENKINS_ENDPOINTS
              if is_flag_set(name + '.available')]
    parts.append('agents: {}'.format(', '.join(agents)) if agents else 'no agent relation')
    if is_flag_set('mirror.available'):
        parts.append('mirror configured')
    return '; '.join(parts)
