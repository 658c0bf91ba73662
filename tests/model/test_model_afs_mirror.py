"""afs-mirror on a real machine: Apache caching proxies, a real pip through them.

One afs-mirror unit deployed with ``--storage cache=256M``.  The upstreams
are the ones this host's own package clients use, read at test time (pip's
configured or built-in index, ``npm config get registry``, the first apt
source), so no registry is named here.  Scenarios, in order: the rendered
config passes ``apache2ctl -t``; a real ``pip download`` through the mirror,
twice, the second served from the cache (cache-status in the access log);
``cache-stats`` counts it; a bad ``proxies`` value blocks naming the option
while the old config keeps serving; ``purge-cache`` of one proxy.
"""

import glob
import json
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import DEPLOY_TIMEOUT, skip_or_fail, until

pytestmark = pytest.mark.model

APP = "mirror"
UNIT = "mirror/0"
SITE = "/etc/apache2/sites-enabled/afs-mirror.conf"
LOG = "/var/log/apache2/afs-mirror-access.log"
# A small pure-Python package (one wheel, no dependencies).
PACKAGE = "six==1.16.0"
WHEEL = "six-1.16.0-py2.py3-none-any.whl"


def host_pypi():
    """(index root, files root) as this host's pip sees them."""
    out = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"],
                         capture_output=True, text=True)
    index = out.stdout.strip() if out.returncode == 0 else ""
    from pip._internal.models.index import PyPI
    if not index:
        index = PyPI.simple_url
    root = index.rstrip("/")
    root = root[:-len("/simple")] if root.endswith("/simple") else root
    return root + "/", "https://%s/" % PyPI.file_storage_domain


def host_npm():
    npm = shutil.which("npm")
    if npm:
        out = subprocess.run([npm, "config", "get", "registry"], capture_output=True,
                             text=True)
        if out.returncode == 0 and out.stdout.strip().startswith("http"):
            return out.stdout.strip()
    return None


def host_apt():
    """(archive URL, suite) of the host's first Debian-style apt source."""
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        text = open(path).read()
        uris = re.search(r"^URIs:\s*(\S+)", text, re.M)
        suites = re.search(r"^Suites:\s*(\S+)", text, re.M)
        if uris and suites and uris.group(1).startswith("http"):
            return uris.group(1), suites.group(1)
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        try:
            lines = open(path).read().splitlines()
        except OSError:
            continue
        for line in lines:
            found = re.match(r"^deb\s+(?:\[[^\]]*\]\s+)?(http\S+)\s+(\S+)", line)
            if found:
                return found.group(1), found.group(2)
    return None, None


def proxies_value():
    index, files = host_pypi()
    proxies = [{"name": "pypi", "upstream": index, "files-upstream": files, "path": "/pypi/",
                "ttl": "10m"}]
    npm = host_npm()
    if npm:
        proxies.append({"name": "npm", "upstream": npm, "path": "/npm/", "ttl": "10m"})
    archive, suite = host_apt()
    if archive:
        proxies.append({"name": "debian", "type": "apt", "upstream": archive,
                        "path": "/debian/", "ttl": "1h", "suites": [suite],
                        "components": ["main"]})
    return yaml.safe_dump(proxies, default_flow_style=False)


@pytest.fixture(scope="module")
def mirror(yard, build_dir, tmp_path_factory):
    charm = build_dir / "afs-mirror"
    if not charm.is_dir():
        skip_or_fail("build/afs-mirror is not built; run `make build`")
    config = tmp_path_factory.mktemp("mirror") / "config.yaml"
    config.write_text(yaml.safe_dump({APP: {"proxies": proxies_value(),
                                            "restart-health-timeout": 60}}))
    yard.run("deploy", charm, APP, "--storage", "cache=256M", "--config", config,
             timeout=DEPLOY_TIMEOUT)
    yard.wait(timeout=DEPLOY_TIMEOUT)
    return yard


def workload_status(yard):
    return yard.units(APP)[UNIT]["workload-status"]


def pip_download(yard, dest):
    """A real pip download through the mirror, inside the machine (no pip cache)."""
    return yard.exec(UNIT, (
        "set -e; [ -x /tmp/pipvenv/bin/pip ] || python3 -m venv /tmp/pipvenv; "
        "rm -rf {dest}; /tmp/pipvenv/bin/pip download -q --no-cache-dir --no-deps "
        "--disable-pip-version-check --isolated --index-url http://127.0.0.1/pypi/simple/ "
        "--trusted-host 127.0.0.1 -d {dest} '{pkg}'; ls {dest}").format(
            dest=dest, pkg=PACKAGE), timeout=300)


def log_lines(yard, needle):
    out = yard.exec(UNIT, "grep -F -- '%s' %s || true" % (needle, LOG))
    return [line for line in out.splitlines() if line.strip()]


def test_active_and_config_passes_apache2ctl(mirror):
    status = workload_status(mirror)
    assert status["current"] == "active", status
    assert "Serving pypi" in status["message"], status
    assert "/srv/afs-mirror/cache/apache" in status["message"], status
    out = mirror.exec(UNIT, "apache2ctl -t 2>&1")
    assert "Syntax OK" in out, out
    # htcacheclean: one daemon on the storage's cache root, under the size limit.
    cleaner = mirror.exec(UNIT, "systemctl is-active afs-mirror-htcacheclean; "
                                "pgrep -a htcacheclean")
    assert cleaner.startswith("active\n"), cleaner
    assert len(cleaner.strip().splitlines()) == 2, cleaner
    assert "-p /srv/afs-mirror/cache/apache -l " in cleaner, cleaner
    site = mirror.exec(UNIT, "cat %s" % SITE)
    assert "CacheIgnoreCacheControl On" in site and "/pypi-files/" in site, site


def test_second_pip_download_is_a_cache_hit(mirror):
    assert WHEEL in pip_download(mirror, "/tmp/dl1")
    first = log_lines(mirror, WHEEL)
    assert first, "the wheel did not go through /pypi-files/"
    assert all("/pypi-files/" in line for line in first), first
    assert '"cache hit"' not in first[-1], first
    assert WHEEL in pip_download(mirror, "/tmp/dl2")
    lines = log_lines(mirror, WHEEL)
    assert len(lines) == len(first) + 1, lines
    assert lines[-1].endswith('"cache hit"'), lines[-1]
    # The index page too, although pip asks with Cache-Control: max-age=0.
    index = log_lines(mirror, "GET /pypi/simple/six/")
    assert index[-1].endswith('"cache hit"'), index


def test_cache_stats_counts_the_hits(mirror):
    _, task = mirror.run_action(UNIT, "cache-stats")
    assert task.get("status") == "completed", task
    results = task["results"]
    assert int(results["entries"]) >= 2, results
    assert int(results["size-bytes"]) > 10000, results
    per_proxy = json.loads(results["per-proxy"])
    assert per_proxy["pypi"]["hit"] >= 2, per_proxy
    assert 0 < float(results["hit-ratio"]) < 1, results


def test_bad_proxies_blocks_and_the_old_config_keeps_serving(mirror):
    before = mirror.exec(UNIT, "md5sum %s" % SITE)
    good = proxies_value()
    try:
        mirror.run("config", APP, "proxies=- name: pypi\n  path: /pypi/\n  ttl: [broken")
        status = until(lambda: (lambda s: s if s["current"] == "blocked" else None)(
            workload_status(mirror)), timeout=120, message="blocked status")
        assert "proxies" in status["message"] and "YAML" in status["message"], status
        assert mirror.exec(UNIT, "md5sum %s" % SITE) == before
        assert WHEEL in pip_download(mirror, "/tmp/dl3")
        assert log_lines(mirror, WHEEL)[-1].endswith('"cache hit"')
        mirror.run("config", APP, "proxies=- {name: pypi, upstream: 'ftp://x/', path: /p/, "
                                  "ttl: 1h}")
        until(lambda: "upstream" in workload_status(mirror)["message"], timeout=120,
              message="status naming the bad upstream")
        assert "proxies" in workload_status(mirror)["message"]
        assert mirror.exec(UNIT, "md5sum %s" % SITE) == before
    finally:
        mirror.run("config", APP, "proxies=" + good)
    until(lambda: workload_status(mirror)["current"] == "active", timeout=180,
          message="active again")


def test_purge_one_proxy(mirror):
    _, task = mirror.run_action(UNIT, "purge-cache", "proxy=pypi")
    assert task.get("status") == "completed", task
    assert int(task["results"]["removed"]) >= 2, task
    _, task = mirror.run_action(UNIT, "purge-cache", "proxy=nope", check=False)
    assert task.get("status") == "failed", task
