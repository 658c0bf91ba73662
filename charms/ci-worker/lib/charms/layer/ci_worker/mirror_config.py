"""The worker's package clients pointed at the related mirror, and taken back.

pip (``/etc/pip.conf``), npm (``/etc/npmrc``), apt (a sources list) and the
mirror-info for jobs (``/etc/ci-mirror-info.yaml`` and a shell file), all
written while ``mirror.available`` and removed when it goes.
"""

import os
import subprocess
import urllib.parse

import yaml
from charmhelpers.core import hookenv, host

from charms.layer.stackyard import services as sy
from charms.layer.ci_worker import paths

# The mirror-info file's format, for jobs that read it.
INFO_VERSION = 1
# apt-get update of the mirror's sources only (a cold mirror fetches the
# indexes from its upstream: about 30 s for bookworm main here).
APT_UPDATE_TIMEOUT = 300


def _first(info, kind):
    for name in sorted(info):
        if info[name]['type'] == kind:
            return info[name]
    return None


def env_name(name):
    """``CI_MIRROR_<NAME>_URL`` for a mirror name (``-`` becomes ``_``)."""
    return 'CI_MIRROR_{}_URL'.format(name.upper().replace('-', '_'))


def context(mirror):
    """The templates' context from one mirror unit of ``MirrorRequires.mirrors()``.

    :param mirror: ``{"unit", "address", "port", "info": {name: {type, path, url, ...}}}``
    """
    info = mirror['info']
    pypi, npm = _first(info, 'pypi'), _first(info, 'npm')
    # pip is told to trust the pypi mirror's host (plain HTTP has no certificate).
    host_port = urllib.parse.urlsplit((pypi or next(iter(info.values())))['url']).netloc
    apt = [dict(e, name=n) for n, e in sorted(info.items()) if e['type'] == 'apt']
    document = {'version': INFO_VERSION, 'unit': mirror['unit'], 'host': mirror['address'],
                'port': mirror['port'], 'mirrors': info}
    env = [('CI_MIRROR_HOST', mirror['address'])] + \
        [(env_name(n), e['url']) for n, e in sorted(info.items())]
    if pypi:
        env += [('PIP_INDEX_URL', pypi['url']), ('PIP_TRUSTED_HOST', host_port)]
    if npm:
        env.append(('NPM_CONFIG_REGISTRY', npm['url']))
    return {'pypi': pypi, 'npm': npm, 'apt': apt, 'trusted_host': host_port,
            'info_yaml': yaml.safe_dump(document, default_flow_style=False, sort_keys=True),
            'env': env}


# (template, target, present when): a file the context has nothing for is removed.
FILES = (
    ('pip.conf.j2', paths.PIP_CONF, lambda c: c['pypi']),
    ('npmrc.j2', paths.NPMRC, lambda c: c['npm']),
    ('ci-mirror.list.j2', paths.APT_SOURCES, lambda c: c['apt']),
    ('ci-mirror-info.yaml.j2', paths.MIRROR_INFO_YAML, lambda c: True),
    ('ci-mirror-info.sh.j2', paths.MIRROR_INFO_SH, lambda c: True),
)


def render_text(source, ctx):
    """A template's text (the layer's Jinja2 settings: strict, newline kept)."""
    return sy.Template(source, '', 'root', 'root', 0o644).render(ctx)


def write_if_changed(target, content):
    """Write a world-readable root file only when its content differs; True if written."""
    data = content.encode()
    try:
        with open(target, 'rb') as f:
            if f.read() == data:
                return False
    except OSError:
        pass
    host.write_file(target, data, owner='root', group='root', perms=0o644)
    return True


def remove(target):
    try:
        os.remove(target)
    except FileNotFoundError:
        return False
    return True


def apply(mirror):
    """Write every file for ``mirror`` (remove those it has nothing for).

    :returns: the paths written or removed
    """
    ctx = context(mirror)
    touched = []
    for source, target, wanted in FILES:
        if wanted(ctx):
            if write_if_changed(target, render_text(source, ctx)):
                touched.append(target)
        elif remove(target):
            touched.append(target)
    if touched:
        hookenv.log('Mirror config from {}: {}'.format(mirror['unit'], ', '.join(touched)),
                    level=hookenv.INFO)
    if paths.APT_SOURCES in touched and os.path.exists(paths.APT_SOURCES):
        update_apt_lists()
    return touched


def update_apt_lists():
    """Fetch the indexes of the mirror's apt sources (and only those), so jobs can use them.

    Other sources' lists are kept (no list cleanup).  A failure is logged:
    the files are right, and the next job's own ``apt-get update`` retries.
    """
    argv = ['apt-get', 'update', '-q', '-o', 'Dir::Etc::SourceList=' + paths.APT_SOURCES,
            '-o', 'Dir::Etc::SourceParts=/nonexistent', '-o', 'APT::Get::List-Cleanup=0']
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=APT_UPDATE_TIMEOUT)
    except subprocess.TimeoutExpired:
        hookenv.log('apt-get update of the mirror took over {} s'.format(APT_UPDATE_TIMEOUT),
                    level=hookenv.WARNING)
        return False
    if proc.returncode != 0 or 'Err:' in proc.stdout:
        hookenv.log('apt-get update of the mirror failed: {}'.format(proc.stdout.strip()[-1000:]),
                    level=hookenv.WARNING)
        return False
    return True


def remove_all():
    """Remove every mirror file; returns those that existed."""
    gone = [t for t in paths.MIRROR_FILES if remove(t)]
    if gone:
        hookenv.log('Mirror relation gone: removed {}'.format(', '.join(gone)),
                    level=hookenv.INFO)
    return gone
