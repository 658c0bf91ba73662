"""afs-mirror on a real machine: Apache caching proxies, a real pip through them.

One afs-mirror unit deployed with ``--storage cache=256M``.  The upstreams
are the ones this host's own package clients use, read at test time (pip's
configured or built-in index, ``npm config get registry``, the first apt
source), so no registry is named here.  Scenarios, in order: the rendered
config passes ``apache2ctl -t``; a real ``pip download`` through the mirror,
twice, the second served from the cache (cache-status in the access log);
the same for ``npm view``/``npm install`` (this host's npm, a second machine)
and ``apt-get download`` (in the mirror's machine); ``cache-stats`` counts
it; a bad ``proxies`` value blocks naming the option while the old config
keeps serving; a static mirror served, then stale; TLS from a self-signed
certificate made here, and a key that does not match it refused while HTTPS
keeps serving; the OpenAFS client configured, its kernel module failing to
load in the container with the exact status; ``purge-cache`` of one proxy.
"""

import base64
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


def address(yard):
    return yard.units(APP)[UNIT]["public-address"]


def wait_status(yard, predicate, message, timeout=180):
    return until(lambda: (lambda s: s if predicate(s) else None)(workload_status(yard)),
                 timeout=timeout, message=message)


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


# A tiny npm package tree (is-odd depends on is-number).
NPM_PACKAGE = "is-odd@3.0.1"


def npm(*args, cwd):
    proc = subprocess.run([shutil.which("npm")] + list(args), cwd=cwd, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_npm_view_and_install_through_the_mirror(mirror, tmp_path):
    if not host_npm():
        skip_or_fail("npm is not installed on this host")
    registry = "http://%s/npm/" % address(mirror)
    view = json.loads(npm("view", NPM_PACKAGE, "--json", "--registry", registry,
                          "--cache", str(tmp_path / "c0"), cwd=tmp_path))
    # The metadata's tarball URL was rewritten to this mirror.
    assert view["dist"]["tarball"].startswith(registry), view["dist"]
    for run in ("1", "2"):
        work = tmp_path / run
        work.mkdir()
        npm("install", NPM_PACKAGE, "--registry", registry, "--no-package-lock",
            "--prefer-online", "--cache", str(tmp_path / ("c" + run)), cwd=work)
        assert (work / "node_modules" / "is-number" / "package.json").is_file()
    tarballs = log_lines(mirror, "GET /npm/is-number/-/is-number-")
    assert len(tarballs) == 2, tarballs
    assert not tarballs[0].endswith('"cache hit"') and tarballs[1].endswith('"cache hit"')


APT = ("-o Dir::Etc::SourceList=/tmp/apt/sources.list -o Dir::Etc::SourceParts=/nonexistent "
       "-o Dir::State::Lists=/tmp/apt/lists -o Dir::Cache=/tmp/apt/cache "
       "-o Acquire::http::Proxy::127.0.0.1=DIRECT -o Acquire::Languages=none")


def test_apt_get_download_through_the_mirror(mirror):
    _, suite = host_apt()
    if not suite:
        skip_or_fail("no Debian-style apt source on this host to proxy")
    mirror.exec(UNIT, (
        "set -e; rm -rf /tmp/apt; "
        "mkdir -p /tmp/apt/lists/partial /tmp/apt/cache/archives/partial; "
        "echo 'deb http://127.0.0.1/debian/ {suite} main' > /tmp/apt/sources.list; "
        "apt-get -q {apt} update >/dev/null").format(suite=suite, apt=APT), timeout=600)
    for run in ("1", "2"):
        out = mirror.exec(UNIT, "set -e; mkdir -p /tmp/apt/d{0}; cd /tmp/apt/d{0}; "
                                "apt-get -q {1} download hello >/dev/null; ls".format(run, APT),
                          timeout=300)
        assert re.search(r"^hello_.*\.deb$", out, re.M), out
    debs = log_lines(mirror, "/debian/pool/main/h/hello/hello_")
    assert len(debs) == 2, debs
    assert debs[1].endswith('"cache hit"'), debs


STATIC = "/srv/static/local"


def test_static_mirror_served_then_stale(mirror):
    mirror.exec(UNIT, "mkdir -p {0}; echo hello > {0}/hello.txt; date +%s > {0}/timestamp.txt"
                .format(STATIC))
    mirror.run("config", APP, "static-mirrors=local: %s" % STATIC, "max-staleness=1h")
    wait_status(mirror, lambda s: s["current"] == "active" and "local" in s["message"],
                "active serving local")
    assert mirror.exec(UNIT, "curl -sf http://127.0.0.1/local/hello.txt") == "hello\n"
    _, task = mirror.run_action(UNIT, "health")
    assert "/local/timestamp.txt" in json.dumps(task), task
    # Two hours old, then a config change (any hook) re-assesses freshness.
    mirror.exec(UNIT, "echo $(( $(date +%s) - 7300 )) > {}/timestamp.txt".format(STATIC))
    mirror.run("config", APP, "max-staleness=30m")
    status = wait_status(mirror, lambda s: s["current"] == "blocked", "blocked: stale")
    assert re.fullmatch(r"Static mirror local is stale: timestamp\.txt is 2h [1-4]m old "
                        r"\(max-staleness 30m\)", status["message"]), status
    assert mirror.exec(UNIT, "curl -sf http://127.0.0.1/local/hello.txt") == "hello\n"
    mirror.run("config", APP, "static-mirrors=local: relative/path")
    wait_status(mirror, lambda s: "Invalid config: static-mirrors" in s["message"],
                "static-mirrors refused")
    assert mirror.exec(UNIT, "curl -sf http://127.0.0.1/local/hello.txt") == "hello\n"
    mirror.run("config", APP, "static-mirrors=", "max-staleness=1d")
    wait_status(mirror, lambda s: s["current"] == "active", "active again")


def make_cert(folder, name, ip):
    key, cert = folder / (name + ".key"), folder / (name + ".crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=" + ip, "-addext", "subjectAltName=IP:" + ip,
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert.read_text(), key.read_text()


def test_tls_with_a_self_signed_certificate(mirror, tmp_path):
    ip = address(mirror)
    cert, key = make_cert(tmp_path, "a", ip)
    _, other_key = make_cert(tmp_path, "b", ip)
    mirror.run("config", APP, "ssl-cert=" + base64.b64encode(cert.encode()).decode(),
               "ssl-key=" + key)
    wait_status(mirror, lambda s: s["current"] == "active" and "443 (TLS)" in s["message"],
                "active on 443")
    assert "Syntax OK" in mirror.exec(UNIT, "apache2ctl -t 2>&1")
    assert mirror.exec(UNIT, "stat -c '%a %U' /etc/apache2/afs-mirror/tls.key") == "600 root\n"
    mirror.exec(UNIT, "cat > /tmp/ca.pem <<'EOF'\n%sEOF" % cert)
    https = "curl -sf --cacert /tmp/ca.pem https://%s/pypi/simple/six/ | grep -c /pypi-files/" % ip
    assert int(mirror.exec(UNIT, https)) > 0
    before = mirror.exec(UNIT, "md5sum %s /etc/apache2/afs-mirror/tls.key" % SITE)
    mirror.run("config", APP, "ssl-key=" + other_key)
    status = wait_status(mirror, lambda s: s["current"] == "blocked", "blocked: bad key")
    assert status["message"] == ("Invalid config: ssl-key: ssl-key does not match the "
                                 "certificate in ssl-cert"), status
    assert mirror.exec(UNIT, "md5sum %s /etc/apache2/afs-mirror/tls.key" % SITE) == before
    assert int(mirror.exec(UNIT, https)) > 0
    mirror.run("config", APP, "ssl-cert=", "ssl-key=")
    wait_status(mirror, lambda s: s["current"] == "active" and "TLS" not in s["message"],
                "active without TLS")
    assert mirror.exec(UNIT, "ls /etc/apache2/afs-mirror/ 2>&1 || true").strip() == ""


def test_afs_client_in_a_container(mirror):
    mirror.run("config", APP, "afs-cell=example.org", "afs-db-servers=192.0.2.10",
               "afs-cache-size=100M")
    status = wait_status(mirror, lambda s: "kernel module openafs" in s["message"],
                         "status about the kernel module", timeout=600)
    assert status["current"] == "blocked", status
    print("afs status:", status["message"])
    found = re.search(r"AFS client for example\.org not started: kernel module openafs cannot "
                      r"load \((?P<why>[^)]*)\); the proxies keep serving", status["message"])
    assert found, status
    # What modprobe says in this container, word for word.
    kernel = mirror.exec(UNIT, "uname -r").strip()
    modprobe = mirror.exec(UNIT, "modprobe openafs 2>&1 || true").strip().splitlines()[-1]
    assert found.group("why") == modprobe and kernel in modprobe, (found.group("why"), modprobe)
    files = mirror.exec(UNIT, "dpkg-query -W -f='${Status}\\n' openafs-client "
                              "openafs-modules-dkms; cat /etc/openafs/ThisCell "
                              "/etc/openafs/cacheinfo; head -2 /etc/openafs/CellServDB")
    assert files.splitlines()[:4] == ["install ok installed", "install ok installed",
                                      "example.org", "/afs:/var/cache/openafs:102400"], files
    assert files.splitlines()[4].startswith(">example.org") and \
        files.splitlines()[5].startswith("192.0.2.10"), files
    assert WHEEL in pip_download(mirror, "/tmp/dl-afs")
    mirror.run("config", APP, "afs-cell=", "afs-db-servers=")
    wait_status(mirror, lambda s: s["current"] == "active", "active without AFS", timeout=300)


def test_purge_one_proxy(mirror):
    _, task = mirror.run_action(UNIT, "purge-cache", "proxy=pypi")
    assert task.get("status") == "completed", task
    assert int(task["results"]["removed"]) >= 2, task
    _, task = mirror.run_action(UNIT, "purge-cache", "proxy=nope", check=False)
    assert task.get("status") == "failed", task
