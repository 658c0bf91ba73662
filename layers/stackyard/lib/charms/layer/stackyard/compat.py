"""Fixes that let charmhelpers 1.2.1 (the newest release) run where we need it.

1. Python 3.10 removed the ABC aliases from ``collections``;
   ``charmhelpers.core.services.base`` still imports ``collections.Iterable``,
   so the services framework cannot even be imported on 22.04/24.04 without
   the alias put back.
2. charmhelpers picks its host implementation from ``/etc/os-release`` and only
accepts names it knows; its Debian test compares case-sensitively, so it
rejects "Debian GNU/Linux".  Debian and Ubuntu share every code path
charmhelpers uses (apt, systemd), so a Debian-family system gets the
"ubuntu" implementation.  This must run before ``charmhelpers.core.host`` is
imported.
"""

import collections
import collections.abc
import os

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


def install():
    """Apply both fixes (idempotent); call before importing charmhelpers.core.*."""
    if not hasattr(collections, 'Iterable'):
        collections.Iterable = collections.abc.Iterable
    osplatform.get_platform = get_platform
