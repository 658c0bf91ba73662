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


def test_is_leader_asks_once_per_hook_and_trusts_a_yes_for_a_while(monkeypatch):
    answers, clock = [True, False, True], [100.0]

    def ask():
        return answers.pop(0)
    is_leader = compat._wrap_is_leader(ask, clock=lambda: clock[0])
    monkeypatch.setenv('JUJU_CONTEXT_ID', 'web/0-config-changed-1')
    assert is_leader() and is_leader() and len(answers) == 2      # asked once
    clock[0] += compat.LEADER_TRUST_SECONDS                          # the lease may be gone
    assert not is_leader() and len(answers) == 1
    clock[0] += 1000
    assert not is_leader() and len(answers) == 1                     # "no" holds for the hook
    monkeypatch.setenv('JUJU_CONTEXT_ID', 'web/0-update-status-2')    # the next hook asks
    assert is_leader() and not answers


def test_install_caches_is_leader_once():
    from charmhelpers.core import hookenv
    compat.install()
    wrapped = hookenv.is_leader
    compat.install()
    assert hookenv.is_leader is wrapped and wrapped.stackyard_compat
