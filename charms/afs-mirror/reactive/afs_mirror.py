"""afs-mirror handlers: publish the mirror; the layer renders and runs Apache."""

from charms.reactive import endpoint_from_flag, when

from charms.layer.stackyard import status
from charms.layer import benchmark
from charms.layer.afs_mirror import (  # noqa: F401  registers actions and checks
    actions, bench, checks, contexts, services)

status.version_source(services.version)
status.ready_message(checks.ready_message)


@when('mirror.connected')
def publish_mirror():
    mirror = endpoint_from_flag('mirror.connected')
    mirror.publish(contexts.mirror_info(), contexts.address(), contexts.PORT,
                   https_port=contexts.https_port())


@when('benchmark.connected')
def publish_benchmarks():
    endpoint_from_flag('benchmark.connected').publish_benchmarks(benchmark.registered())


@when('benchmark.connected')
def serve_benchmark_suites():
    """Start the suites a collector asked for (detached); publish the finished ones."""
    endpoint_from_flag('benchmark.connected').serve_suites('charms.layer.afs_mirror.bench')
