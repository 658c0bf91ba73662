"""afs-mirror's services-framework definitions: Apache and its cache cleaner."""

import os
import subprocess

from charmhelpers.core import hookenv, host, unitdata

from charms.layer.stackyard import health
from charms.layer.stackyard import services as sy
from charms.layer.afs_mirror import contexts, paths

# unitdata key: why the last rendered site was refused (None when it was not).
REJECTED_KEY = 'afs-mirror.apache.rejected'


def enable_modules(service_name):
    """``data_ready``: enable the site's modules; drop Debian's default site and cleaner."""
    missing = [m for m in paths.MODULES
               if not os.path.exists(os.path.join(paths.MODS_ENABLED, m + '.load'))]
    if missing:
        subprocess.check_call(['a2enmod', '-q'] + missing, stdout=subprocess.DEVNULL)
        sy.mark_changed(service_name, paths.MODS_ENABLED)
    if os.path.lexists(paths.DEFAULT_SITE):
        os.remove(paths.DEFAULT_SITE)
        sy.mark_changed(service_name, paths.DEFAULT_SITE)
    # Debian's own cleaner watches Debian's default cache dir, which this
    # charm does not use; ours (afs-mirror-htcacheclean) watches the real one.
    if host.service_running(paths.DEBIAN_CLEANER):
        subprocess.check_call(['systemctl', 'disable', '--now', '-q', paths.DEBIAN_CLEANER])


def make_cache_dir(service_name):
    """``data_ready``: the cache root exists and Apache (www-data) can write it."""
    root = contexts.cache_dir()
    if not os.path.isdir(root):
        host.mkdir(root, owner='www-data', group='www-data', perms=0o750)


def config_test():
    """``(ok, last line of output)`` of ``apache2ctl -t``."""
    proc = subprocess.run([paths.APACHE2CTL, '-t'], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True)
    lines = [line for line in proc.stdout.strip().splitlines() if line.strip()]
    return proc.returncode == 0, (lines[0] if proc.returncode and lines else
                                  lines[-1] if lines else 'exit {}'.format(proc.returncode))


def rejected():
    """Why the last rendered site was refused by ``apache2ctl -t``, or None."""
    return unitdata.kv().get(REJECTED_KEY)


class CheckedTemplate(sy.Template):
    """A template Apache reads: kept only when ``apache2ctl -t`` accepts the result.

    A refused file is put back as it was (or removed when it is new), nothing
    is restarted, and :func:`rejected` says why until a render passes.
    """

    def __call__(self, manager, service_name, event_name):
        content = self.render(self.context(manager, service_name)).encode()
        try:
            with open(self.target, 'rb') as f:
                previous = f.read()
        except FileNotFoundError:
            previous = None
        if content == previous:
            unitdata.kv().set(REJECTED_KEY, None)
            return
        host.write_file(self.target, content, owner=self.owner, group=self.group,
                        perms=self.perms)
        ok, detail = config_test()
        if ok:
            unitdata.kv().set(REJECTED_KEY, None)
            sy.mark_changed(service_name, self.target)
            hookenv.log('Rendered {} (apache2ctl -t: {})'.format(self.target, detail),
                        level=hookenv.INFO)
            return
        hookenv.log('apache2ctl -t refused {}: {}; the previous config stays'.format(
            self.target, detail), level=hookenv.ERROR)
        if previous is None:
            os.remove(self.target)
        else:
            host.write_file(self.target, previous, owner=self.owner, group=self.group,
                            perms=self.perms)
        unitdata.kv().set(REJECTED_KEY, detail)


def health_checks(apache):
    """Apache listening, and each proxy answering its probe through the cache."""
    if not apache:
        return []
    return [health.TCP(apache['port'])] + [
        health.HTTP('http://127.0.0.1:{}{}{}'.format(apache['port'], p['path'], p['probe']),
                    timeout=10.0)
        for p in apache['proxies']]


@sy.declare
def definitions():
    """Apache (site, modules, cache dir) and the htcacheclean daemon."""
    apache = contexts.ApacheContext()
    cleaner = contexts.CleanerContext()
    return [{
        'service': paths.APACHE,
        'required_data': [apache],
        'ports': [apache['port']] if apache else [],
        'health': health_checks(apache),
        'data_ready': [
            enable_modules,
            make_cache_dir,
            CheckedTemplate('afs-mirror.conf.j2', paths.SITE, owner='root', group='root',
                            perms=0o644),
        ],
    }, {
        'service': paths.CLEANER,
        'required_data': [cleaner],
        'data_ready': [
            make_cache_dir,
            sy.Template('afs-mirror-htcacheclean.service.j2', paths.CLEANER_UNIT,
                        owner='root', group='root', perms=0o644, systemd_unit=True),
        ],
    }]


def version():
    """Apache's version, from ``apache2ctl -v`` (None before it is installed)."""
    try:
        out = subprocess.run([paths.APACHE2CTL, '-v'], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, universal_newlines=True).stdout
    except OSError:
        return None
    for word in out.split():
        if word.startswith('Apache/'):
            return word.split('/', 1)[1]
    return None
