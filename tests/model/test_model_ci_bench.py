"""Issue 17's benchmarks in the ci-workers bundle: runs reach the collector and compare.

tests/model/bundles/ci-bench.yaml (bundles/ci-workers.yaml trimmed to two
workers, the mirror and the collector, no Buildbot master), with afs-mirror's
proxies pointed at this host's upstreams (``tools/mirror-upstreams``).  In
order: every unit settles active; ``benchmark-disk`` (fio) on both workers and
``benchmark-http`` (ab) on the mirror; the collector's API returns the three
runs with numeric values and units; ``compare`` of the two workers' runs gives
a verdict per metric; a repeat of a run with the same params is unchanged and
a run with a tiny block size (512 bytes) is worse (the collector's threshold is
0.9 in the test bundle: two identical runs on the shared host differed by up to
74 %, far past the 5 % default); ``run-suite`` asks all three units to run
their benchmarks and returns one comparison against the baselines.
"""

import json
import subprocess
import sys

import pytest

from conftest import DEPLOY_TIMEOUT, REPO, skip_or_fail, until

# Its own target (make model-bundle), not make test: four containers and real
# benchmarks.
pytestmark = pytest.mark.bundle

BUNDLE = REPO / "tests" / "model" / "bundles" / "ci-bench.yaml"
COLLECTOR = "benchmark-collector/0"
MIRROR = "afs-mirror/0"
WORKERS = ("ci-worker/0", "ci-worker/1")
APPS = ("ci-worker", "afs-mirror", "benchmark-collector")
# Small enough for a shared host: 4 patterns x 2 repeats x 2 s per run.  Through the
# page cache: 512-byte I/Os cost far more than half the bandwidth there, while
# O_DIRECT random writes on the host's loop-file btrfs varied by 74 % between two
# identical runs (seen), and 512-byte O_DIRECT is refused on a 4 KiB-sector volume.
DISK = ("size=32M", "runtime=2", "repeats=2", "iodepth=4", "direct=false")
VERDICTS = {"better", "worse", "unchanged"}
RUNS = {}


@pytest.fixture(scope="module")
def ci(yard, build_dir, tmp_path_factory):
    for charm in APPS:
        if not (build_dir / charm).is_dir():
            skip_or_fail("build/%s is not built; run `make build`" % charm)
    upstreams = tmp_path_factory.mktemp("bench") / "upstreams.yaml"
    upstreams.write_text(subprocess.run(
        [sys.executable, str(REPO / "tools" / "mirror-upstreams")], check=True,
        capture_output=True, text=True).stdout)
    yard.run("deploy", BUNDLE, "--overlay", upstreams, timeout=DEPLOY_TIMEOUT)
    yard.wait(timeout=DEPLOY_TIMEOUT)
    return yard


def api(yard, path):
    """GET the collector's API from inside its machine (JSON)."""
    out = yard.exec(COLLECTOR, "python3 -c \"import urllib.request; print(urllib.request."
                    "urlopen('http://127.0.0.1:8080%s', timeout=10).read().decode())\"" % path)
    return json.loads(out)


def action(yard, unit, name, *params):
    _, task = yard.run_action(unit, name, *params, check=False)
    assert task.get("status") == "completed", task
    return task["results"]


def compare(yard, base, candidate):
    return action(yard, COLLECTOR, "compare", "base=" + base, "candidate=" + candidate)


def all_active(yard):
    status = yard.status()["applications"]
    units = [u for app in APPS for u in status[app]["units"].values()]
    return status if all(u["workload-status"]["current"] == "active" for u in units) else None


def test_settles_active(ci):
    status = ci.until(lambda: all_active(ci), timeout=600, interval=10,
                      message="every unit active: %s" % ci.run("status").stdout)
    message = status["benchmark-collector"]["units"][COLLECTOR]["workload-status"]["message"]
    assert message.startswith("Serving on port 8080 (SQLite, 0 runs"), message


def test_benchmarks_reach_the_collector(ci):
    for unit in WORKERS:
        results = action(ci, unit, "benchmark-disk", *DISK)
        assert float(results["results"]["seq-read-bandwidth"]["value"]) > 0, results
        assert results["results"]["rand-write-iops"]["units"] == "IO/s", results
        RUNS[unit] = results["meta"]["id"]
    results = action(ci, MIRROR, "benchmark-http", "target=pypi", "requests=300",
                     "concurrency=4", "repeats=2", "cold-requests=3")
    assert float(results["results"]["requests-per-second"]["value"]) > 0, results
    assert float(results["results"]["failed-requests"]["value"]) == 0, results
    RUNS[MIRROR] = results["meta"]["id"]
    print("\ncold %s ms, cached %s ms mean (%s req/s)" % (
        results["results"]["cold-latency"]["value"], results["results"]["latency-mean"]["value"],
        results["results"]["requests-per-second"]["value"]))

    found = until(lambda: (lambda r: r if r["count"] == 3 else None)(api(ci, "/api/runs")),
                  timeout=300, interval=5, message="the three runs in the collector")
    assert sorted(r["id"] for r in found["runs"]) == sorted(RUNS.values())
    for unit, run_id in RUNS.items():
        run = api(ci, "/api/runs/" + run_id)
        assert run["unit"] == unit and run["charm"] == unit.split("/")[0], run
        for name, metric in run["metrics"].items():
            assert isinstance(metric["value"], float) and metric["units"], (name, metric)
    disk = api(ci, "/api/runs/" + RUNS[WORKERS[0]])
    assert disk["benchmark"] == "disk" and disk["params"]["block-size"] == 1024 ** 2
    assert disk["metrics"]["seq-write-bandwidth"]["units"] == "MB/s"
    assert len(disk["metrics"]["seq-write-bandwidth"]["samples"]) == 2
    http = api(ci, "/api/runs/" + RUNS[MIRROR])
    assert http["benchmark"] == "mirror-http" and http["metrics"]["latency-p95"]["units"] == "ms"


def test_compare_gives_a_verdict_per_metric(ci):
    assert len(RUNS) == 3, "the benchmark runs did not reach the collector"
    results = compare(ci, RUNS[WORKERS[0]], RUNS[WORKERS[1]])
    assert results["verdict"] in VERDICTS, results
    assert len(results["metrics"]) == 12, results      # 4 patterns x bandwidth, iops, latency
    assert all(m["verdict"] in VERDICTS for m in results["metrics"].values()), results


def test_repeat_is_unchanged_and_a_tiny_block_size_is_worse(ci):
    assert len(RUNS) == 3, "the benchmark runs did not reach the collector"
    unit = WORKERS[0]
    repeat = action(ci, unit, "benchmark-disk", *DISK)["meta"]["id"]
    slow = action(ci, unit, "benchmark-disk", *DISK, "block-size=512b")["meta"]["id"]
    until(lambda: api(ci, "/api/runs")["count"] == 5, timeout=300, interval=5,
          message="the repeat and the slow run in the collector")
    same = compare(ci, RUNS[unit], repeat)
    print("\nrepeat: %s" % json.dumps({n: (m["verdict"], m["change"])
                                       for n, m in same["metrics"].items()}))
    assert same["verdict"] == "unchanged", same
    worse = compare(ci, RUNS[unit], slow)
    print("tiny block size: %s" % json.dumps({n: (m["verdict"], m["change"])
                                              for n, m in worse["metrics"].items()}))
    assert worse["verdict"] == "worse", worse
    # Which bandwidths pass both the 0.9 threshold and Welch's test with two samples
    # varies (seen: rand-read -99 % worse, seq-write -89 % unchanged); what is worse
    # is bandwidth (per-I/O latency and IOPS may come out better).
    flagged = {n for n, m in worse["metrics"].items() if m["verdict"] == "worse"}
    assert flagged and all(n.endswith("-bandwidth") for n in flagged), worse


def test_bad_params_are_refused_naming_the_param(ci):
    _, task = ci.run_action(WORKERS[0], "benchmark-disk", "block-size=1000b", check=False)
    assert task.get("status") == "failed", task
    assert task.get("message", "").startswith("block-size must be"), task
    _, task = ci.run_action(MIRROR, "benchmark-http", "target=nope", check=False)
    assert task.get("status") == "failed" and "target 'nope'" in task.get("message", ""), task


def test_run_suite_compares_every_unit_with_the_baselines(ci):
    assert len(RUNS) == 3, "the benchmark runs did not reach the collector"
    for run_id in (RUNS[WORKERS[0]], RUNS[MIRROR]):
        action(ci, COLLECTOR, "set-baseline", "run-id=" + run_id)
    started = action(ci, COLLECTOR, "run-suite")
    suite_id = started["suite-id"]
    assert json.loads(started["expected"]) == {
        MIRROR: ["benchmark-http"], WORKERS[0]: ["benchmark-cpu", "benchmark-disk"],
        WORKERS[1]: ["benchmark-cpu", "benchmark-disk"]}, started

    def complete():
        result = action(ci, COLLECTOR, "run-suite", "suite-id=" + suite_id)
        return result if result["state"] == "complete" else None
    # The default params: disk 4 patterns x 3 repeats x 5 s, cpu 3 x 10 s, on every unit.
    result = until(complete, timeout=900, interval=20, message="suite %s complete" % suite_id)
    print("\nsuite %s: %s\n%s" % (suite_id, result["verdict"], result["table"]))
    summary = json.loads(result["comparison"])
    assert summary["errors"] == {} and summary["pending"] == {}, summary
    assert sorted((e["unit"], e["benchmark"]) for e in summary["runs"]) == [
        (MIRROR, "mirror-http"), (WORKERS[0], "cpu"), (WORKERS[0], "disk"),
        (WORKERS[1], "cpu"), (WORKERS[1], "disk")], summary
    for entry in summary["runs"]:
        expected = {"no-baseline"} if entry["benchmark"] == "cpu" else VERDICTS
        assert entry["verdict"] in expected, entry
        run = api(ci, "/api/runs/" + entry["run"])
        assert run["params"]["suite"] == suite_id and run["unit"] == entry["unit"], run
    assert result["verdict"] in VERDICTS, result
