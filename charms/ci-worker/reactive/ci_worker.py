"""ci-worker handlers: the ci user, mirror config, agent relations, disk watchdog."""

import os
import subprocess

from charmhelpers.core import hookenv, unitdata
from charms.reactive import endpoint_from_flag, set_flag, when, when_any, when_not

from charms.layer.stackyard import options, status
from charms.layer import benchmark
from charms.layer.stackyard import services as sy
from charms.layer.ci_worker import (  # noqa: F401  registers rules, checks, actions
    actions, bench, checks, contexts, disk, mirror_config, paths, services)

status.version_source(services.version)
status.ready_message(checks.ready_message)

MIRROR_KEY = 'ci-worker.mirror.applied'
PACKAGES_KEY = checks.PACKAGES_KEY
PACKAGES_FAILED_KEY = checks.PACKAGES_FAILED_KEY


@when('stackyard.packages.installed')
def watch_disk():
    """Every hook: one statvfs; offline below min-free-disk, back once there is room."""
    if disk.watch(contexts.workspace_dir(), options.config().get('min-free-disk')):
        actions.reconfigure_agents()


@when('mirror.available')
def configure_mirror():
    mirror = endpoint_from_flag('mirror.available').mirrors()[0]
    kv = unitdata.kv()
    if kv.get(MIRROR_KEY) != mirror or not os.path.exists(paths.MIRROR_INFO_YAML):
        mirror_config.apply(mirror)
        kv.set(MIRROR_KEY, mirror)


@when_not('mirror.available')
def unconfigure_mirror():
    mirror_config.remove_all()
    unitdata.kv().unset(MIRROR_KEY)


@when('benchmark.connected')
def publish_benchmarks():
    endpoint_from_flag('benchmark.connected').publish_benchmarks(benchmark.registered())


@when('benchmark.connected')
def serve_benchmark_suites():
    """Start the suites a collector asked for (detached); publish the finished ones."""
    endpoint_from_flag('benchmark.connected').serve_suites('charms.layer.ci_worker.bench')


@when('buildbot.connected')
def publish_worker():
    endpoint_from_flag('buildbot.connected').publish(contexts.labels(), contexts.executors())


@when('buildbot.connected')
@when_not('ci-worker.buildbot.installed')
def install_buildbot_worker():
    install_agent('buildbot-worker')
    set_flag('ci-worker.buildbot.installed')


@when_not('buildbot.connected')
def forget_buildbot():
    services.forget(paths.BUILDBOT, [paths.BUILDBOT_PASSWORD])


@when_any('jenkins.connected', 'jenkins-classic.connected')
def publish_node():
    for endpoint in contexts.jenkins_endpoints('connected'):
        endpoint.publish(contexts.executors(), contexts.labels(), contexts.jenkins_dir())


@when_any('jenkins.connected', 'jenkins-classic.connected')
@when_not('ci-worker.java.installed')
def install_java():
    install_agent('default-jre-headless')
    set_flag('ci-worker.java.installed')


@when_not('jenkins.connected', 'jenkins-classic.connected')
def forget_jenkins():
    services.forget(paths.JENKINS, [paths.JENKINS_SECRET])


@when('stackyard.packages.installed')
def install_job_packages():
    """The ``packages`` jobs need, when the list changed (a failure blocks, see checks)."""
    wanted = contexts.packages()
    kv = unitdata.kv()
    if kv.get(PACKAGES_KEY) == wanted:
        return
    from charmhelpers import fetch   # here: apt's bindings cost every other hook
    missing = fetch.filter_installed_packages(wanted)
    failed = None
    if missing:
        # apt-get itself, once: charmhelpers retries exit code 100 (also "no such
        # package") ten times, 10 s apart, in the hook.
        status.set_status(status.MAINTENANCE, 'Installing {}'.format(' '.join(missing)))
        proc = subprocess.run(
            ['apt-get', 'install', '-y', '-q', '--no-install-recommends'] + missing,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
            env=dict(os.environ, DEBIAN_FRONTEND='noninteractive'))
        if proc.returncode != 0:
            failed = missing
            hookenv.log('packages: apt-get install {} failed: {}'.format(
                ' '.join(missing), proc.stdout.strip()[-2000:]), level=hookenv.ERROR)
    kv.set(PACKAGES_FAILED_KEY, failed)
    kv.set(PACKAGES_KEY, wanted)


def install(*packages):
    from charmhelpers import fetch   # here: apt's bindings cost every other hook
    missing = fetch.filter_installed_packages(list(packages))
    if missing:
        status.set_status(status.MAINTENANCE, 'Installing {}'.format(' '.join(missing)))
        fetch.apt_install(missing, fatal=True)


def install_agent(package):
    install(package)
    # The agent's service may now be ready.
    sy.reconfigure(*services.agent_names())
