"""benchmark-collector with a benchmarked application, on real machines.

stackyard-test (benchmark-http: ApacheBench against its own service) related
to benchmark-collector over interface:benchmark.  Scenarios, in order: the
collector serves and says where it stores runs; two benchmark-http runs land
in the collector's database and come back from its JSON API with numeric
values and units; set-baseline and compare give a verdict per metric; a bad
compare fails naming the unknown id; the dashboard page draws the plots.
"""

import json

import pytest

from conftest import DEPLOY_TIMEOUT, skip_or_fail, until

pytestmark = pytest.mark.model

WEB, COLLECTOR = "web", "collector"
# The ids of the two benchmark-http runs, in order (set by the test that makes them).
RUN_IDS = []


@pytest.fixture(scope="module")
def model(yard, build_dir):
    for charm in ("benchmark-collector", "stackyard-test"):
        if not (build_dir / charm).is_dir():
            skip_or_fail("build/%s is not built; run `make build`" % charm)
    yard.run("deploy", build_dir / "benchmark-collector", COLLECTOR, timeout=DEPLOY_TIMEOUT)
    yard.run("deploy", build_dir / "stackyard-test", WEB, timeout=DEPLOY_TIMEOUT)
    yard.run("relate", WEB + ":benchmark", COLLECTOR + ":benchmark")
    yard.wait(timeout=DEPLOY_TIMEOUT)
    return yard


def api(yard, path):
    """GET the collector's API from inside its machine (JSON)."""
    out = yard.exec(COLLECTOR + "/0", "python3 -c \"import urllib.request; print(urllib.request."
                    "urlopen('http://127.0.0.1:8080%s', timeout=10).read().decode())\"" % path)
    return json.loads(out)


def test_collector_serves(model):
    status = model.units(COLLECTOR)[COLLECTOR + "/0"]["workload-status"]
    assert status["current"] == "active", status
    assert status["message"].startswith("Serving on port 8080 (SQLite, "), status
    assert api(model, "/api/runs")["count"] == 0


def test_benchmark_runs_reach_the_collector(model):
    ids = []
    for _ in range(2):
        _, task = model.run_action(WEB + "/0", "benchmark-http", "requests=300",
                                   "concurrency=4", "repeats=3")
        assert task.get("status") == "completed", task
        results = task["results"]
        assert float(results["results"]["requests-per-second"]["value"]) > 0, results
        assert results["results"]["latency-p99"]["units"] == "ms"
        ids.append(results["meta"]["id"])
    found = until(lambda: (lambda r: r if r["count"] == 2 else None)(api(model, "/api/runs")),
                  timeout=180, message="both runs in the collector")
    assert sorted(r["id"] for r in found["runs"]) == sorted(ids)
    run = api(model, "/api/runs/" + ids[0])
    metric = run["metrics"]["requests-per-second"]
    assert isinstance(metric["value"], float) and metric["units"] == "req/s"
    assert len(metric["samples"]) == 3 and run["unit"] == WEB + "/0"
    assert run["fingerprint"]["cpu-count"] >= 1 and run["charm"] == "stackyard-test"
    RUN_IDS[:] = ids


def test_baseline_and_compare(model):
    assert len(RUN_IDS) == 2, 'the benchmark runs did not reach the collector'
    first, second = RUN_IDS
    _, task = model.run_action(COLLECTOR + "/0", "set-baseline", "run-id=" + first)
    assert task.get("status") == "completed", task
    _, task = model.run_action(COLLECTOR + "/0", "compare", "benchmark=http")
    assert task.get("status") == "completed", task
    results = task["results"]
    assert (results["base"], results["candidate"]) == (first, second)
    assert results["verdict"] in ("better", "worse", "unchanged")
    assert set(results["metrics"]) >= {"requests-per-second", "latency-p99"}
    assert all(m["verdict"] in ("better", "worse", "unchanged")
               for m in results["metrics"].values())
    _, task = model.run_action(COLLECTOR + "/0", "compare", "base=nope", "candidate=" + second,
                               check=False)
    assert task.get("status") == "failed", task
    assert "no run with id 'nope'" in task.get("message", ""), task


def test_dashboard_draws_the_plots(model):
    page = model.exec(COLLECTOR + "/0", "python3 -c \"import urllib.request; print("
                      "urllib.request.urlopen('http://127.0.0.1:8080/benchmarks/http', "
                      "timeout=10).read().decode())\"")
    assert page.count('<svg class="plot"') == 6 and page.count("<circle") == 12, page[:500]
    assert "stroke-dasharray" in page      # the baseline
