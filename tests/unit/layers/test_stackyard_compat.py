"""compat: charmhelpers 1.2.1 on Python 3.10+ and Debian."""

import collections

from charmhelpers.core import host

from charms.layer.stackyard import compat

DEBIAN = {'NAME': 'Debian GNU/Linux', 'ID': 'debian', 'VERSION_ID': '12',
          'VERSION_CODENAME': 'bookworm', 'PRETTY_NAME': 'Debian GNU/Linux 12 (bookworm)'}


def test_services_framework_imports():
    from charmhelpers.core.services import base
    assert base.ServiceManager
    assert collections.Iterable is collections.abc.Iterable


def test_debian_family_detection():
    assert compat.debian_family(DEBIAN)
    assert compat.debian_family({'ID': 'ubuntu'})
    assert compat.debian_family({'ID': 'linuxmint', 'ID_LIKE': 'ubuntu debian'})
    assert not compat.debian_family({'ID': 'fedora'})


def test_lsb_release_from_os_release():
    assert compat.lsb_release_from_os_release(DEBIAN) == {
        'DISTRIB_ID': 'Debian', 'DISTRIB_RELEASE': '12', 'DISTRIB_CODENAME': 'bookworm',
        'DISTRIB_DESCRIPTION': 'Debian GNU/Linux 12 (bookworm)'}


def test_host_uses_the_fallback_and_install_is_idempotent():
    compat.install()
    compat.install()
    assert host.lsb_release.stackyard_compat
    assert host.lsb_release()['DISTRIB_CODENAME']


def test_the_pkg_resources_deprecation_is_not_written_in_every_hook():
    import subprocess
    import sys
    code = ('import sys; sys.path[:0] = {!r}; from charms.layer.stackyard import compat; '
            'compat.install(); import charms.reactive').format(sys.path)
    proc = subprocess.run([sys.executable, '-c', code], stderr=subprocess.PIPE,
                          universal_newlines=True)
    assert proc.returncode == 0 and 'deprecated' not in proc.stderr, proc.stderr
