"""Handlers every Stackyard charm gets: packages, services, upgrades, stop."""

from charmhelpers.core import hookenv, unitdata
from charms.reactive import hook, set_flag, when, when_not

import charms.layer
from charms.layer.stackyard import migrations, operations, options, services, status

APPLIED_KEY = 'stackyard.options.applied'


@when_not('stackyard.packages.installed')
def install_packages():
    layer = charms.layer.options('stackyard') or {}
    services.install_packages(layer.get('packages') or [],
                              start=layer.get('start-at-install', True))
    set_flag('stackyard.packages.installed')


@when('stackyard.packages.installed')
@when_not('stackyard.services.paused')
def reconfigure_services():
    # stop only stops (reconfiguring would start what it stopped).
    effective = options.current()
    if not effective.valid or hookenv.hook_name() == 'stop':
        return
    kv = unitdata.kv()
    digest = options.digest(effective.values)
    # update-status runs every few minutes on every unit: it re-renders only
    # when the effective config changed (an expired unit override).
    if hookenv.hook_name() == 'update-status' and kv.get(APPLIED_KEY) == digest:
        return
    services.reconfigure()
    kv.set(APPLIED_KEY, digest)


@hook('install')
def record_state_version():
    migrations.mark_current()


@hook('upgrade-charm')
def run_migrations():
    migrations.run_pending()


@hook('stop')
def stop_services():
    services.stop()


status.check(services.service_check)
status.check(operations.status_checks)
