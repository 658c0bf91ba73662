"""afs-mirror's services-framework definitions: Apache and its cache cleaner."""

import os
import subprocess

from charmhelpers.core import hookenv, host, unitdata

from charms.layer.stackyard import health
from charms.layer.stackyard import services as sy
from charms.layer.afs_mirror import afs, contexts, paths, static

# unitdata key: why the last rendered site was refused (None when it was not).
REJECTED_KEY = 'afs-mirror.apache.rejected'
# unitdata key: why the openafs kernel module cannot load (None when it is loaded).
AFS_MODULE_KEY = 'afs-mirror.afs.module-problem'


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


def _write_if_changed(service_name, path, text, perms, encoding='utf-8'):
    content = text.encode(encoding)
    try:
        with open(path, 'rb') as f:
            same = f.read() == content and os.stat(path).st_mode & 0o777 == perms
    except FileNotFoundError:
        same = False
    if not same:
        host.write_file(path, content, owner='root', group='root', perms=perms)
        sy.mark_changed(service_name, path)


def write_tls_files(service_name):
    """``data_ready``: the certificate (0644) and key (0600, root) while TLS is on.

    With TLS off both files are removed: a key is not left behind.
    """
    cert, key = contexts.tls_pair()
    if not cert:
        for path in (paths.TLS_CERT, paths.TLS_KEY):
            if os.path.exists(path):
                os.remove(path)
                sy.mark_changed(service_name, path)
        return
    if not os.path.isdir(paths.TLS_DIR):
        host.mkdir(paths.TLS_DIR, owner='root', group='root', perms=0o755)
    _write_if_changed(service_name, paths.TLS_CERT, cert, 0o644)
    _write_if_changed(service_name, paths.TLS_KEY, key, 0o600)


def install_afs(service_name):
    """``data_ready``: Debian's OpenAFS client and its dkms module source.

    Without recommends: the module is built by dkms for the running kernel
    when that kernel's headers are installed; in a container it cannot be
    built or loaded either way (see :func:`start_afs`).
    """
    from charmhelpers import fetch
    missing = fetch.filter_installed_packages(list(afs.PACKAGES))
    if missing:
        from charms.layer.stackyard import status
        status.set_status(status.MAINTENANCE, 'Installing {}'.format(', '.join(missing)))
        fetch.apt_install(missing, options=['--option=Dpkg::Options::=--force-confold',
                                            '--no-install-recommends'], fatal=True)


def write_cellservdb(service_name):
    """``data_ready``: the shipped CellServDB with ``afs-db-servers``' cell first.

    The shipped file is Latin-1 (names of institutions in comments), and is
    written back in that encoding.
    """
    ctx = contexts.AfsContext()
    try:
        with open(paths.AFS_SHIPPED_CELLSERVDB, encoding='latin-1') as f:
            shipped = f.read()
    except FileNotFoundError:
        shipped = ''
    _write_if_changed(service_name, paths.AFS_CELLSERVDB,
                      afs.cellservdb(shipped, ctx['cell'], ctx['db_servers']), 0o644,
                      encoding='latin-1')


def start_afs(service_name):
    """Start callback: start the client only when its kernel module is loaded.

    Debian's unit "starts" without the module (afsd -help), which would look
    like a running client; here the client is stopped instead and
    :func:`afs_module_problem` says why.
    """
    if afs.module_loaded():
        ok, detail = True, None
    else:
        ok, detail = afs.load_module()
    unitdata.kv().set(AFS_MODULE_KEY, None if ok else detail)
    if ok:
        sy.restart_if_changed(service_name)
    elif host.service_running(service_name):
        hookenv.log('Stopping {}: no openafs kernel module ({})'.format(service_name, detail),
                    level=hookenv.WARNING)
        host.service_stop(service_name)


def afs_module_problem():
    """The last ``modprobe openafs`` failure, or None."""
    return unitdata.kv().get(AFS_MODULE_KEY)


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
    """Apache listening (and on the TLS port), each proxy answering its probe
    through the cache, and each static mirror's timestamp file served."""
    if not apache:
        return []
    base = 'http://127.0.0.1:{}'.format(apache['port'])
    checks = [health.TCP(apache['port'])]
    if apache['tls_port']:
        checks.append(health.TCP(apache['tls_port']))
    checks += [health.HTTP(base + p['path'] + p['probe'], timeout=10.0)
               for p in apache['proxies']]
    checks += [health.HTTP(base + m['path'] + static.TIMESTAMP_FILE, timeout=5.0)
               for m in apache['static_mirrors']]
    return checks


def afs_definition():
    """The OpenAFS client's service, while ``afs-cell`` is set."""
    ctx = contexts.AfsContext()
    return {
        'service': paths.AFS_SERVICE,
        'required_data': [ctx],
        'data_ready': [
            install_afs,
            sy.Template('ThisCell.j2', paths.AFS_THISCELL, owner='root', group='root',
                        perms=0o644),
            write_cellservdb,
            sy.Template('cacheinfo.j2', paths.AFS_CACHEINFO, owner='root', group='root',
                        perms=0o644),
        ],
        'start': [start_afs],
    }


@sy.declare
def definitions():
    """Apache (site, TLS files, modules, cache dir), the htcacheclean daemon, and
    the OpenAFS client when ``afs-cell`` is set."""
    apache = contexts.ApacheContext()
    cleaner = contexts.CleanerContext()
    found = [{
        'service': paths.APACHE,
        'required_data': [apache],
        'ports': ([apache['port']] + ([apache['tls_port']] if apache['tls_port'] else []))
        if apache else [],
        'health': health_checks(apache),
        'data_ready': [
            enable_modules,
            make_cache_dir,
            write_tls_files,
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
    if contexts.afs_cell():
        found.append(afs_definition())
    return found


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
