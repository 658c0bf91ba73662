"""The disk watchdog and the cleanup of old workspaces and caches.

The watchdog runs in every hook (update-status included): one ``statvfs``
of the workspace volume.  Below ``min-free-disk`` the agents go offline
(:mod:`offline`, reason ``disk``) so no new job lands on a full disk; once
there is room again (the ``cleanup`` action, or jobs' files removed) they
come back.
"""

import os
import shutil
import time

from charms.layer.ci_worker import offline, settings

# With an agent running, a workspace changed more recently than this may
# belong to a running job: cleanup leaves it alone whatever max-age says.
BUSY_AGE = 3600
# Entries of the buildbot worker's base dir that are the worker's own.
WORKER_FILES = ('info', 'buildbot.tac', 'twistd.log', 'twistd.pid', 'shutdown.stamp')


def usage(path):
    """``(free bytes for unprivileged users, total bytes)`` of the volume holding ``path``."""
    while not os.path.exists(path):
        path = os.path.dirname(path)
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize


def verdict(path, free, total, option):
    """The blocked message when ``free`` is below ``min-free-disk``, else None."""
    threshold = settings.parse_size(option, total)
    if free >= threshold:
        return None
    shown = str(option).strip()
    limit = '{} ({})'.format(shown, settings.human(threshold)) if shown.endswith('%') \
        else shown
    return ('Workspace {}: {} free of {}, below min-free-disk {}; agent offline, '
            'run the cleanup action').format(path, settings.human(free),
                                             settings.human(total), limit)


def watch(path, option):
    """Check the workspace volume; take the agents offline or bring them back.

    :returns: True when the online state changed (the caller reconfigures)
    """
    free, total = usage(path)
    try:
        message = verdict(path, free, total, option)
    except settings.Invalid:
        return False
    if message:
        before = offline.reasons().get(offline.DISK)
        offline.set_reason(offline.DISK, message)
        return before is None
    return offline.clear(offline.DISK)


def tree_size_and_age(path):
    """``(bytes, newest mtime)`` of everything under ``path`` (itself included)."""
    try:
        st = os.lstat(path)
    except OSError:
        return 0, 0
    size, newest = st.st_size, st.st_mtime
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            try:
                st = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            size += st.st_size
            newest = max(newest, st.st_mtime)
    return size, newest


def _children(path, skip=()):
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return []
    return [os.path.join(path, n) for n in names if n not in skip]


def workspace_candidates(workspace):
    """Job workspaces: buildbot builder dirs, Jenkins job workspaces, and ``tmp``'s entries."""
    return (_children(os.path.join(workspace, 'buildbot'), WORKER_FILES) +
            _children(os.path.join(workspace, 'jenkins', 'workspace')) +
            _children(os.path.join(workspace, 'tmp')))


def cache_candidates(git_root, repos):
    """Mirrors no longer in ``git-cache-repos``, and clones left half done."""
    wanted = {os.path.join(git_root, r['dir']) for r in repos}
    found = []
    for folder, dirs, _ in os.walk(git_root):
        for name in sorted(dirs):
            path = os.path.join(folder, name)
            if name.endswith('.partial') or (name.endswith('.git') and path not in wanted):
                found.append(path)
        dirs[:] = [d for d in dirs if not d.endswith(('.git', '.partial'))]
    return sorted(found)


def remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


def cleanup(workspace, git_root, repos, max_age, agent_running, dry_run, now=None):
    """Remove (or with ``dry_run`` list) old workspaces and unused caches.

    :param max_age: seconds; workspaces unchanged for longer go
    :param agent_running: when True, nothing changed in the last BUSY_AGE
        seconds is removed (a running job may use it)
    :returns: ``{"removed": [paths], "kept": n, "freed": bytes}``
    """
    now = time.time() if now is None else now
    min_age = max(max_age, BUSY_AGE) if agent_running else max_age
    removed, kept, freed = [], 0, 0
    for path in workspace_candidates(workspace):
        size, newest = tree_size_and_age(path)
        if now - newest < min_age:
            kept += 1
            continue
        removed.append(path)
        freed += size
    for path in cache_candidates(git_root, repos):
        removed.append(path)
        freed += tree_size_and_age(path)[0]
    if not dry_run:
        for path in removed:
            remove(path)
    return {'removed': removed, 'kept': kept, 'freed': freed}
