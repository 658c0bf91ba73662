"""The ci-workers bundle: a build on a worker fetches through the mirror, then from its cache.

bundles/ci-workers.yaml deployed with two overlays: afs-mirror's proxies
pointed at this host's own upstreams (``tools/mirror-upstreams``, so no
registry is named here) and ONE ci-worker instead of three (each worker is a
container and a few minutes of package installs on a shared 2-core CI host;
the relation code is the same for one or three).  Scenarios, in order: every
unit settles active and the worker is connected to the master; the mirror's
rendered Apache config passes ``apache2ctl -t``; the bundle's job
``mirror-smoke`` (a real ``pip install`` of a package with dependencies, a
real ``apt-get download`` and a real ``npm install``, all through the mirror)
succeeds on the worker through ``run-job``; a second build of the same job is
served from the mirror's cache (cache-status in the access log, and
afs-mirror's ``cache-stats``); each download phase's time of both builds is
printed (``make bench-ci`` compares them).
"""

import json
import subprocess
import sys

import pytest
import yaml

from conftest import DEPLOY_TIMEOUT, REPO, skip_or_fail

# Its own target (make model-bundle), not make test: five minutes of a whole
# bundle on top of the model suite's twenty.
pytestmark = pytest.mark.bundle

BUNDLE = REPO / "bundles" / "ci-workers.yaml"
MASTER = "buildbot-master/0"
MIRROR = "afs-mirror/0"
WORKER = "ci-worker/0"
JOB = "mirror-smoke"
LOG = "/var/log/apache2/afs-mirror-access.log"
# What each build fetches (see the job in the bundle): one artefact per client.
ARTEFACTS = {"pip": "/requests-2.32.3-py3-none-any.whl",
             "npm": "/is-odd-3.0.1.tgz",
             "apt": "/hello_2.10"}
BUILD_TIMEOUT = 900
# The download phases the job times ("timing <phase> <seconds>"; run-job's timings).
PHASES = ("pip-install", "apt-update", "apt-download", "node-download", "npm-download",
          "npm-install")


@pytest.fixture(scope="module")
def ci(yard, build_dir, tmp_path_factory):
    for charm in ("buildbot-master", "ci-worker", "afs-mirror"):
        if not (build_dir / charm).is_dir():
            skip_or_fail("build/%s is not built; run `make build`" % charm)
    folder = tmp_path_factory.mktemp("ci")
    upstreams = folder / "upstreams.yaml"
    upstreams.write_text(subprocess.run(
        [sys.executable, str(REPO / "tools" / "mirror-upstreams")], check=True,
        capture_output=True, text=True).stdout)
    one = folder / "one-worker.yaml"
    one.write_text(yaml.safe_dump({"applications": {"ci-worker": {"num_units": 1}}}))
    yard.run("deploy", BUNDLE, "--overlay", upstreams, "--overlay", one,
             timeout=DEPLOY_TIMEOUT)
    yard.wait(timeout=DEPLOY_TIMEOUT)
    return yard


def log_size(yard):
    return int(yard.exec(MIRROR, "wc -l < %s" % LOG).strip() or 0)


def new_log_lines(yard, since):
    out = yard.exec(MIRROR, "tail -n +%d %s" % (since + 1, LOG))
    return [line for line in out.splitlines() if line.strip()]


def statuses(lines, artefact):
    """The cache-status field of each access-log line asking for ``artefact``."""
    return [line.rsplit('"', 2)[-2] for line in lines if artefact in line]


def run_job(yard):
    result, task = yard.run_action(MASTER, "run-job", "job=" + JOB,
                                   "timeout=%d" % BUILD_TIMEOUT, check=False)
    assert task.get("status") == "completed", result.report()
    return task["results"]


def all_active(yard):
    """The applications' status when every unit is active, else None."""
    status = yard.status()["applications"]
    units = [u for app in ("buildbot-master", "ci-worker", "afs-mirror")
             for u in status[app]["units"].values()]
    return status if all(u["workload-status"]["current"] == "active" for u in units) else None


def test_settles_active_with_the_worker_connected(ci):
    # A worker whose agent just started can fail its first health check in the
    # hook that started it (seen once); its next hook checks again.
    status = ci.until(lambda: all_active(ci), timeout=600, interval=10,
                      message="every unit active: %s" % ci.run("status").stdout)
    message = status["buildbot-master"]["units"][MASTER]["workload-status"]["message"]
    assert message.startswith("Web UI http://") and "1 workers" in message, message
    assert JOB in message and "no worker" not in message, message
    # The worker's agent connects on its own after the hook that started it.

    def connected():
        workers = json.loads(ci.exec(MASTER, "curl -fsS http://127.0.0.1:8010/api/v2/workers"))
        [worker] = workers["workers"]
        assert worker["name"] == "ci-worker-0", worker
        return worker["connected_to"]
    ci.until(connected, timeout=180, interval=5, message="ci-worker-0 connected to the master")
    # Its password came through its own secret: in master.cfg, not world-readable.
    mode = ci.exec(MASTER, "stat -c '%a %U %G' /var/lib/buildbot-master/master.cfg").split()
    assert mode == ["640", "root", "buildbot"], mode


def test_mirror_config_passes_apache2ctl(ci):
    out = ci.exec(MIRROR, "apache2ctl -t 2>&1")
    assert "Syntax OK" in out, out


def test_second_build_is_served_from_the_mirror_cache(ci):
    # How much faster the warm build is, per download phase: printed here and
    # measured by make bench-ci (times on a shared host are no test verdict).
    before = log_size(ci)
    first = run_job(ci)
    assert first["result"] == "success", first
    first_lines = new_log_lines(ci, before)
    for client, artefact in ARTEFACTS.items():
        found = statuses(first_lines, artefact)
        assert found, "%s: %s not fetched through the mirror" % (client, artefact)
    steps = json.loads(first["steps"])
    names = [s["name"] for s in steps]
    assert names[-3:] == ["pip install", "apt-get download", "npm install"], steps

    middle = log_size(ci)
    second = run_job(ci)
    assert second["result"] == "success", second
    assert int(second["build-number"]) == int(first["build-number"]) + 1, (first, second)
    second_lines = new_log_lines(ci, middle)
    for client, artefact in ARTEFACTS.items():
        found = statuses(second_lines, artefact)
        assert found and all(s == "cache hit" for s in found), (client, found)
    # Every download phase the job times is reported, for both builds.
    cold, warm = json.loads(first["timings"]), json.loads(second["timings"])
    assert set(cold) == set(warm) == set(PHASES), (cold, warm)
    print("\nmirror-smoke: first build %s s, second %s s\n%s\n%s" % (
        first["seconds"], second["seconds"], first["table"], second["table"]))
    print("%-14s %9s %9s" % ("phase", "cold s", "warm s"))
    for phase in PHASES:
        print("%-14s %9.3f %9.3f" % (phase, cold[phase], warm[phase]))

    _, task = ci.run_action(MIRROR, "cache-stats")
    per_proxy = json.loads(task["results"]["per-proxy"])
    for proxy in ("pypi", "npm", "debian"):
        assert per_proxy[proxy]["hit"] > 0, per_proxy


def test_unknown_job_fails_naming_the_jobs(ci):
    result, task = ci.run_action(MASTER, "run-job", "job=nope", check=False)
    assert task.get("status") == "failed", result.report()
    assert "no job named 'nope'; jobs: " + JOB in json.dumps(task), task


def test_bad_jobs_block_and_the_previous_config_keeps_serving(ci):
    before = ci.exec(MASTER, "md5sum /var/lib/buildbot-master/master.cfg")
    good = ci.json("config", "buildbot-master")["settings"]["jobs"]["value"]
    try:
        ci.run("config", "buildbot-master", "jobs=- name: x\n  steps: [broken")
        status = ci.until(lambda: (lambda s: s if s["current"] == "blocked" else None)(
            ci.units("buildbot-master")[MASTER]["workload-status"]), timeout=120,
            message="blocked status")
        assert "jobs" in status["message"] and "YAML" in status["message"], status
        assert ci.exec(MASTER, "md5sum /var/lib/buildbot-master/master.cfg") == before
        assert ci.exec(MASTER, "curl -fsS -o /dev/null -w '%{http_code}' "
                               "http://127.0.0.1:8010/api/v2/builders") == "200"
    finally:
        ci.run("config", "buildbot-master", "jobs=" + good)
    ci.until(lambda: ci.units("buildbot-master")[MASTER]["workload-status"]["current"] ==
             "active", timeout=180, message="active again")
