"""Fixes that let charmhelpers 1.2.1 (the newest release) run where we need it.

1. Python 3.10 removed the ABC aliases from ``collections``;
   ``charmhelpers.core.services.base`` still imports ``collections.Iterable``,
   so the services framework cannot even be imported on 22.04/24.04 without
   the alias put back.
2. ``lsb_release()`` reads Ubuntu's ``/etc/lsb-release`` only, and every
   ``service_*`` helper calls it; where that file is missing the same fields
   are derived from ``/etc/os-release``.
3. charmhelpers picks its host implementation from ``/etc/os-release`` and only
accepts names it knows; its Debian test compares case-sensitively, so it
rejects "Debian GNU/Linux".  Debian and Ubuntu share every code path
charmhelpers uses (apt, systemd), so a Debian-family system gets the
"ubuntu" implementation.  This must run before ``charmhelpers.core.host`` is
imported.
4. Not a fix but a price: imports that would load all of setuptools in every
hook are made cheap first (:mod:`lightimports`).
5. Also a price: ``is_leader()`` runs ``is-leader`` at every call, and a
hook asks several times (placing restarts, its own turn, the idle spec).
The answer is kept for the hook: "not leader" for the whole hook, as Juju's
own hook context does, and "leader" for ``LEADER_TRUST_SECONDS``, well
inside the 30 s that Juju's lease guarantees after a true answer.
6. Also a price: ``relation_set()`` runs ``relation-set --help`` before every
write, to learn whether ``--file`` is supported.  Every Juju we support (2.9
and 3.x) has it.
7. Also a price: each log line is a ``juju-log`` process; routine lines are
held and written together (:mod:`hooklog`).
"""

import collections
import collections.abc
import os
import sys
import time

import charmhelpers.osplatform as osplatform

from charms.layer.stackyard import lightimports

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


LEADER_TRUST_SECONDS = 15


def _wrap_is_leader(original, clock=time.monotonic):
    seen = {}

    def is_leader():
        context = os.environ.get('JUJU_CONTEXT_ID')
        now = clock()
        last = seen.get(context)
        if last is not None and (not last[0] or now - last[1] < LEADER_TRUST_SECONDS):
            return last[0]
        answer = original()
        seen.clear()
        seen[context] = (answer, now)
        return answer
    is_leader.stackyard_compat = True
    return is_leader


def _accepts_file():
    return True


def install():
    """Apply the fixes (idempotent); call before importing charmhelpers.core.*."""
    lightimports.install()
    from charms.layer.stackyard import hooklog
    hooklog.install()
    if not hasattr(collections, 'Iterable'):
        collections.Iterable = collections.abc.Iterable
    osplatform.get_platform = get_platform
    from charmhelpers.core.host_factory import ubuntu
    if not getattr(ubuntu.lsb_release, 'stackyard_compat', False):
        ubuntu.lsb_release = _wrap_lsb_release(ubuntu.lsb_release)
    from charmhelpers.core import hookenv
    if not getattr(hookenv.is_leader, 'stackyard_compat', False):
        hookenv.is_leader = _wrap_is_leader(hookenv.is_leader)
    hookenv._relation_set_accepts_file = _accepts_file
    host = sys.modules.get('charmhelpers.core.host')
    if host is not None:
        host.lsb_release = ubuntu.lsb_release
        host.log = hookenv.log
