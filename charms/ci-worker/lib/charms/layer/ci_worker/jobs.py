"""Jobs an agent is running, and asking it to stop taking new ones (``drain``)."""

import os
import subprocess
import time

from charms.layer.ci_worker import paths

CGROUP_ROOT = '/sys/fs/cgroup'
# Touching this file in the worker's base dir asks the Buildbot master for a
# graceful shutdown (buildbot.tac sets allow_shutdown='file').
SHUTDOWN_STAMP = 'shutdown.stamp'


def _show(unit, prop):
    out = subprocess.run(['systemctl', 'show', '-p', prop, '--value', unit],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         universal_newlines=True).stdout
    return out.strip()


def job_pids(unit):
    """Processes of the agent's unit other than the agent itself: its running jobs."""
    group = _show(unit, 'ControlGroup')
    main = _show(unit, 'MainPID')
    if not group:
        return []
    try:
        with open(os.path.join(CGROUP_ROOT, group.lstrip('/'), 'cgroup.procs')) as f:
            pids = [line.strip() for line in f if line.strip()]
    except OSError:
        return []
    return [p for p in pids if p != main]


def ask_buildbot_shutdown(basedir):
    """Touch the worker's shutdown stamp: the master gives it no new builds."""
    stamp = os.path.join(basedir, SHUTDOWN_STAMP)
    with open(stamp, 'a'):
        pass
    os.utime(stamp, None)


def clear_buildbot_shutdown(basedir):
    try:
        os.remove(os.path.join(basedir, SHUTDOWN_STAMP))
    except FileNotFoundError:
        pass


def wait_idle(units, timeout, clock=time.monotonic, sleep=time.sleep):
    """Wait until no unit runs a job, for at most ``timeout`` seconds.

    :returns: ``{unit: [pids]}`` of jobs still running (empty when idle)
    """
    deadline = clock() + timeout
    while True:
        busy = {u: pids for u in units for pids in [job_pids(u)] if pids}
        if not busy or clock() >= deadline:
            return busy
        sleep(min(2.0, max(0.0, deadline - clock())))


def unit_names():
    """The agent units that may exist on this machine."""
    return [name for name in (paths.BUILDBOT, paths.JENKINS)
            if os.path.exists(paths.unit_file(name))]
