"""Handlers every Stackyard charm gets: packages, services, stop."""

from charmhelpers import fetch
from charmhelpers.core import hookenv
from charms.reactive import hook, set_flag, when, when_not

import charms.layer
from charms.layer.stackyard import services, status

# update-status runs every few minutes on every unit: it only assesses status.
IDLE_HOOKS = ('update-status', 'stop')


@when_not('stackyard.packages.installed')
def install_packages():
    packages = (charms.layer.options('stackyard') or {}).get('packages') or []
    missing = fetch.filter_installed_packages(packages)
    if missing:
        status.set_status(status.MAINTENANCE, 'Installing {}'.format(', '.join(missing)))
        fetch.apt_install(missing, fatal=True)
    set_flag('stackyard.packages.installed')


@when('stackyard.packages.installed')
@when_not('stackyard.services.paused')
def reconfigure_services():
    if hookenv.hook_name() not in IDLE_HOOKS:
        services.reconfigure()


@hook('stop')
def stop_services():
    services.stop()


status.check(services.service_check)
