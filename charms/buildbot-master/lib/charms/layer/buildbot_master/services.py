"""buildbot-master's services-framework definition: the master, its config and unit."""

import json
import os
import subprocess

from charmhelpers.core import hookenv, host, unitdata

from charms.layer.stackyard import health
from charms.layer.stackyard import services as sy
from charms.layer.buildbot_master import contexts, paths

# unitdata key: why the last rendered master.cfg was refused (None when it was not).
REJECTED_KEY = 'buildbot-master.config.rejected'
# checkconfig imports Twisted and the whole config: a few seconds, bounded.
CHECK_TIMEOUT = 120


def create_master(service_name):
    """``data_ready``: the base directory and Buildbot's files in it (once)."""
    if not os.path.isdir(paths.BASEDIR):
        host.mkdir(paths.BASEDIR, owner=paths.USER, group=paths.GROUP, perms=0o750)
    if not os.path.exists(paths.TAC):
        subprocess.run(['runuser', '-u', paths.USER, '--', paths.PYTHON, paths.BUILDBOT,
                        'create-master', '--relocatable', '--db', 'sqlite:///state.sqlite',
                        paths.BASEDIR], check=True, stdout=subprocess.DEVNULL,
                       cwd=paths.BASEDIR, timeout=CHECK_TIMEOUT)


def checkconfig(path):
    """``(ok, message)`` of ``buildbot checkconfig`` on ``path``, as the buildbot user.

    Run in the file's folder: Buildbot takes the current directory as the
    base directory (the charm's, the hook's, is not the buildbot user's to read).
    """
    try:
        proc = subprocess.run(['runuser', '-u', paths.USER, '--', paths.PYTHON, paths.BUILDBOT,
                               'checkconfig', path], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True,
                              cwd=os.path.dirname(path), timeout=CHECK_TIMEOUT)
    except subprocess.TimeoutExpired:
        return False, 'checkconfig timed out after {} s'.format(CHECK_TIMEOUT)
    lines = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode == 0:
        return True, lines[-1] if lines else 'ok'
    return False, failure_reason(lines, proc.returncode)


def failure_reason(lines, code):
    """The problem in checkconfig's output: the lines under ``Configuration Errors:``,
    else the last line naming an error, else the last line."""
    if 'Configuration Errors:' in lines:
        found = lines[lines.index('Configuration Errors:') + 1:]
    else:
        found = [line for line in lines if 'rror' in line][-1:] or lines[-1:]
    return '; '.join(found or ['exit {}'.format(code)])[:300]


def rejected():
    """Why the last rendered master.cfg was refused by checkconfig, or None."""
    return unitdata.kv().get(REJECTED_KEY)


def config_data(master, secrets):
    """What master.cfg embeds: the master context with each worker's password.

    A worker whose secret is not published yet is left out, and so are jobs'
    references to it.

    :param master: a :class:`contexts.MasterContext`
    :param secrets: ``{worker name: password}``
    """
    data = {k: master[k] for k in ('title', 'url', 'web_port', 'worker_port',
                                   'git_cache_index')}
    data['workers'] = [dict(w, password=secrets[w['name']])
                       for w in master['workers'] if w['name'] in secrets]
    served = {w['name'] for w in data['workers']}
    data['jobs'] = [dict(j, workers=[n for n in j['workers'] if n in served])
                    for j in master['jobs']]
    return data


class CheckedConfig(sy.Template):
    """master.cfg: rendered beside the live one, kept only when checkconfig passes.

    The worker passwords are read from their secrets here, once per render,
    and exist only in the file (root:buildbot 0640).  A passing file replaces
    the live one and a running master re-reads it (``systemctl reload``:
    SIGHUP, Buildbot's reconfig; running builds go on).  A refused file is
    removed, the master keeps its config, and :func:`rejected` says why.
    """

    def context(self, manager, service_name):
        master = super().context(manager, service_name)
        data = config_data(master, contexts.passwords())
        return {'data_literal': repr(json.dumps(data, sort_keys=True, indent=1))}

    def __call__(self, manager, service_name, event_name):
        content = self.render(self.context(manager, service_name)).encode()
        try:
            with open(self.target, 'rb') as f:
                if f.read() == content:
                    unitdata.kv().set(REJECTED_KEY, None)
                    return
        except FileNotFoundError:
            pass
        host.write_file(paths.MASTER_CFG_NEW, content, owner=self.owner, group=self.group,
                        perms=self.perms)
        ok, detail = checkconfig(paths.MASTER_CFG_NEW)
        if not ok:
            os.remove(paths.MASTER_CFG_NEW)
            unitdata.kv().set(REJECTED_KEY, detail)
            hookenv.log('buildbot checkconfig refused the new master.cfg: {}; the previous '
                        'one stays'.format(detail), level=hookenv.ERROR)
            return
        os.replace(paths.MASTER_CFG_NEW, self.target)
        unitdata.kv().set(REJECTED_KEY, None)
        hookenv.log('Rendered {} (checkconfig: {})'.format(self.target, detail),
                    level=hookenv.INFO)
        if host.service_running(service_name):
            subprocess.check_call(['systemctl', 'reload', service_name])


def start_if_configured(service_name):
    """Start callback: the layer's start/restart, once a checked master.cfg exists.

    A first config refused by checkconfig leaves none, and Buildbot would
    only fail to start.
    """
    if os.path.exists(paths.MASTER_CFG):
        sy.restart_if_changed(service_name)


def health_checks(master):
    """The web UI answers and the worker port listens."""
    if not master:
        return []
    return [health.HTTP('http://127.0.0.1:{}/'.format(master['web_port']), timeout=10.0),
            health.TCP(master['worker_port'])]


@sy.declare
def definitions():
    """The Buildbot master: venv with the web UI, base dir, checked master.cfg, unit."""
    www = contexts.WwwContext()
    master = contexts.MasterContext()
    return [{
        'service': paths.SERVICE,
        'required_data': [www, master],
        'ports': [master['web_port'], master['worker_port']] if master else [],
        'health': health_checks(master),
        'start': [start_if_configured, sy.manage_ports],
        'data_ready': [
            create_master,
            CheckedConfig('master.cfg.j2', paths.MASTER_CFG, owner='root', group=paths.GROUP,
                          perms=0o640),
            sy.Template('buildbot-master.service.j2', paths.UNIT_FILE, owner='root',
                        group='root', perms=0o644, systemd_unit=True),
        ],
    }]


def version():
    """Buildbot's version from dpkg (None before it is installed)."""
    try:
        out = subprocess.run(['dpkg-query', '-W', '-f', '${Version}', 'buildbot'],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             universal_newlines=True)
    except OSError:
        return None
    return out.stdout.strip() or None
