"""Fixes that let charmhelpers 1.2.1 (the newest release) run where we need it.

1. Python 3.10 removed the ABC aliases from ``collections``;
   ``charmhelpers.core.services.base`` still imports ``collections.Iterable``,
   so the services framework cannot even be imported on 22.04/24.04 without
   the alias put back.
2. ``lsb_release()`` reads Ubuntu's ``/etc/lsb-release`` only, and every
   ``service_*`` helper calls it; where that file is missing the same fields
   are derived from ``/etc/os-release``.
3. charmhelpers picks its host implementation from ``/etc/os-release`` and
   only accepts names it knows; its Debian test compares case-sensitively, so
   it rejects "Debian GNU/Linux".  Debian and Ubuntu share every code path
   charmhelpers uses (apt, systemd), so a Debian-family system gets the
   "ubuntu" implementation.  This must run before ``charmhelpers.core.host``
   is imported.
4. charms.reactive imports ``pkg_resources``, which warns on stderr in every
   hook that it is deprecated; the warning says nothing an operator can act
   on, so it is silenced.

No speed tricks live here: those measured and removed (cheaper imports,
fewer ``juju-log``, ``is-leader`` and ``relation-set --help`` calls) are in
the layer's README with their figures.
"""

import collections
import collections.abc
import os
import warnings

import charmhelpers.osplatform as osplatform

_original = osplatform.get_platform


def _os_release(path=os.path.join(os.sep, 'etc', 'os-release')):
    try:
        with open(path) as f:
            pairs = (line.split('=', 1) for line in f.read().splitlines() if '=' in line)
            return {k: v.strip().strip('"') for k, v in pairs}
    except OSError:
        return {}


def debian_family(release=None):
    """Whether os-release names Debian, or a system "like" Debian."""
    release = _os_release() if release is None else release
    ids = [release.get('ID', '')] + release.get('ID_LIKE', '').split()
    return any(i.lower() in ('debian', 'ubuntu') for i in ids)


def get_platform():
    """charmhelpers' ``get_platform`` that answers "ubuntu" for the Debian family."""
    try:
        return _original()
    except RuntimeError:
        if debian_family():
            return 'ubuntu'
        raise


def lsb_release_from_os_release(release=None):
    """``lsb_release()``'s mapping built from os-release (DISTRIB_* keys)."""
    release = _os_release() if release is None else release
    return {'DISTRIB_ID': release.get('NAME', '').split()[0] if release.get('NAME') else '',
            'DISTRIB_RELEASE': release.get('VERSION_ID', ''),
            'DISTRIB_CODENAME': release.get('VERSION_CODENAME', ''),
            'DISTRIB_DESCRIPTION': release.get('PRETTY_NAME', '')}


def _wrap_lsb_release(original):
    def lsb_release():
        if os.path.exists('/etc/lsb-release'):
            return original()
        return lsb_release_from_os_release()
    lsb_release.stackyard_compat = True
    return lsb_release


def install():
    """Apply the fixes (idempotent); call before importing charmhelpers.core.*."""
    warnings.filterwarnings('ignore', message='pkg_resources is deprecated',
                            category=UserWarning)
    if not hasattr(collections, 'Iterable'):
        collections.Iterable = collections.abc.Iterable
    osplatform.get_platform = get_platform
    from charmhelpers.core.host_factory import ubuntu
    if not getattr(ubuntu.lsb_release, 'stackyard_compat', False):
        ubuntu.lsb_release = _wrap_lsb_release(ubuntu.lsb_release)
    from charmhelpers.core import host
    host.lsb_release = ubuntu.lsb_release
