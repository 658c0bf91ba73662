"""ci-worker's actions: ``refresh-git-cache``, ``cleanup``, ``drain``, ``undrain``."""

import json
import os
import subprocess

from charms.layer.stackyard import actions, options
from charms.layer.stackyard import services as sy
from charms.layer.ci_worker import contexts, disk, jobs, offline, paths, settings
from charms.layer.ci_worker import services

REFRESH_TIMEOUT = 600
MAX_DRAIN_WAIT = 600


def reconfigure_agents():
    """Start or stop the agents after the online state changed."""
    names = services.agent_names()
    if names:
        sy.reconfigure(*names)


@actions.action('refresh-git-cache')
def refresh_git_cache(params):
    """Run the timer's refresh now (systemd never runs it twice at once) and report."""
    repos = contexts.repos()
    if not repos:
        raise actions.ActionFailed('git-cache-repos is empty: nothing to refresh')
    if not os.path.exists(paths.unit_file(paths.GIT_CACHE_SERVICE)):
        raise actions.ActionFailed('the git cache is not set up yet (see status)')
    try:
        proc = subprocess.run(['systemctl', 'start', paths.GIT_CACHE_SERVICE],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=REFRESH_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise actions.ActionFailed('the refresh takes longer than {} s; it goes on in '
                                   'the background'.format(REFRESH_TIMEOUT))
    try:
        with open(os.path.join(contexts.git_cache_dir(), paths.GIT_CACHE_STATUS)) as f:
            last = json.load(f)
    except (OSError, ValueError):
        last = {'repos': []}
    lines = ['{} {} {}'.format('ok' if r['ok'] else 'FAILED', r['url'],
                               r.get('head') or r.get('error')) for r in last['repos']]
    result = {'git-cache': contexts.git_cache_dir(), 'repos': '\n'.join(lines),
              'heads': json.dumps({r['url']: r.get('head') for r in last['repos']},
                                  sort_keys=True)}
    if proc.returncode != 0:
        raise actions.ActionFailed('refresh failed: {}'.format(
            '; '.join(line for line in lines if line.startswith('FAILED')) or
            proc.stdout.strip()), done=True)
    return result


@actions.action('cleanup')
def cleanup(params):
    """Prune old workspaces and unused caches; bring the agents back when there is room."""
    dry_run = bool(params.get('dry-run'))
    max_age = float(params.get('max-age', 24))
    if max_age < 0:
        raise actions.ActionFailed('max-age must be 0 or more hours, not {}'.format(max_age))
    workspace = contexts.workspace_dir()
    found = disk.cleanup(workspace, contexts.git_cache_dir(), contexts.repos(),
                         max_age * 3600, services.agent_running(), dry_run)
    result = {'dry-run': str(dry_run).lower(), 'removed': '\n'.join(found['removed']),
              'count': str(len(found['removed'])), 'kept-recent': str(found['kept']),
              'freed': settings.human(found['freed'])}
    if not dry_run and disk.watch(workspace, options.config().get('min-free-disk')):
        reconfigure_agents()
    free, total = disk.usage(workspace)
    result['free'] = '{} of {}'.format(settings.human(free), settings.human(total))
    why = offline.reasons()
    result['online'] = str(not why).lower()
    result['message'] = ('Would remove' if dry_run else 'Removed') + ' {} ({}); {} free{}'.format(
        len(found['removed']), result['freed'], result['free'],
        '' if not why else '; still offline: ' + '; '.join(why.values()))
    return result


@actions.action('drain')
def drain(params):
    """Stop taking jobs, wait (bounded) for running ones, then stop the agents."""
    timeout = int(params.get('timeout', 300))
    if not 0 <= timeout <= MAX_DRAIN_WAIT:
        raise actions.ActionFailed('timeout must be 0 to {} seconds'.format(MAX_DRAIN_WAIT))
    units = jobs.unit_names()
    if paths.BUILDBOT in units and os.path.isdir(contexts.buildbot_dir()):
        jobs.ask_buildbot_shutdown(contexts.buildbot_dir())
    busy = jobs.wait_idle(units, timeout)
    if busy:
        raise actions.ActionFailed(
            '{} job process(es) still running after {} s ({}); the agents keep running: run '
            'drain again to wait longer'.format(
                sum(len(p) for p in busy.values()), timeout, ', '.join(sorted(busy))),
            done=True)
    offline.set_reason(offline.DRAIN, 'Drained by the drain action: no new jobs; '
                                      'run undrain to take jobs again')
    reconfigure_agents()
    return {'agents': ', '.join(units) or 'none', 'message': 'Drained; agents stopped'}


@actions.action('undrain')
def undrain(params):
    """Take jobs again after ``drain``."""
    if os.path.isdir(contexts.buildbot_dir()):
        jobs.clear_buildbot_shutdown(contexts.buildbot_dir())
    came_back = offline.clear(offline.DRAIN)
    if came_back:
        reconfigure_agents()
    why = offline.reasons()
    return {'online': str(not why).lower(),
            'message': 'Agents online' if not why else 'Still offline: ' + '; '.join(
                why.values())}
