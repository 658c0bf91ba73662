"""A unit whose machine dies while it holds a restart slot does not stall a roll silently.

Four stackyard-test units restart one at a time (``restart-batch-size=1``)
after a config change; ``warmup`` makes each restart take a while, so the
unit holding the slot can be caught.  Its machine is killed (``kill-machine``:
the unit's agent is lost and it stays in the peer relation, as on Juju).  The
leader then names it in a blocked status, once it held the slot longer than
``restart-health-timeout`` + ``restart-batch-interval`` + 60 s; the operator
runs ``skip-restart``, and the roll finishes: every other unit restarted
exactly once, counted in the units' ``restart-history`` and in the service's
own start log.
"""

import json
import re

import pytest

from conftest import skip_or_fail

pytestmark = pytest.mark.model

APP = "web"
UNITS = 4
TIMEOUT = 20       # restart-health-timeout
WARMUP = 12        # seconds each restarted service takes to listen
STARTS = "/var/log/stackyard-test/starts.log"
PLAN_KEY = "stackyard-restart-plan"


@pytest.fixture(scope="module")
def web(yard, build_dir):
    charm = build_dir / "stackyard-test"
    if not charm.is_dir():
        skip_or_fail("build/stackyard-test is not built; run `make build`")
    yard.run("deploy", charm, APP, "-n", UNITS, "--config", "restart-batch-size=1",
             "--config", "restart-health-timeout=%d" % TIMEOUT, timeout=1500)
    yard.wait(timeout=1500)
    # The leader re-checks at update-status: often, so the test is short.
    yard.run("model-config", "update-status-hook-interval=10s")
    return yard


def starts(yard, unit):
    return int(yard.exec(unit, "wc -l < %s" % STARTS).strip())


def history(yard, unit):
    _, task = yard.run_action(unit, "restart-history")
    assert task.get("status") == "completed", task
    return json.loads(task["results"]["history"])


def slot_holder(yard, leader):
    """The unit of the plan's first unfinished batch, as the relation data shows it."""
    info = yard.relation_info(leader, "cluster")
    plan = json.loads(info.get("application-data", {}).get(PLAN_KEY) or "{}")
    bags = info["related-units"]
    for batch in plan.get("batches", []):
        for unit, entry in batch["units"].items():
            if unit != leader and bags.get(unit, {}).get("data", {}).get(
                    "stackyard-restart-done") != entry:
                return unit, entry
    return None


def test_a_lost_slot_holder_is_named_and_skipped(web):
    units = sorted(web.units(APP))
    leader = web.leader(APP)
    before = {u: (starts(web, u), len(history(web, u))) for u in units}
    web.run("config", APP, "message=past a lost unit", "warmup=%d" % WARMUP)

    holder, entry = web.until(lambda: slot_holder(web, leader), timeout=240, interval=1,
                              message="a unit holding the restart slot")
    machine = web.units(APP)[holder]["machine"]
    web.run("kill-machine", machine)
    assert web.units(APP)[holder]["juju-status"]["current"] == "lost"
    assert slot_holder(web, leader) == (holder, entry), "released before its machine died"

    def named():
        status = web.units(APP)[leader]["workload-status"]
        return status["current"] == "blocked" and status["message"]
    message = web.until(named, timeout=TIMEOUT + 60 + 180, interval=3,
                        message="the leader naming %s" % holder)
    assert re.fullmatch(r"{0} took a restart slot \d+ min ago and never released it "
                        r"\(run skip-restart unit={0} to go on without it\)".format(holder),
                        message), message
    waiting = [u for u, s in web.units(APP).items()
               if s["workload-status"]["message"].startswith("Waiting for a restart slot")]
    assert waiting, "the roll waits for the lost unit"
    others = [u for u in units if u not in (leader, holder)]

    # Refused, naming why, and nothing changes.
    _, task = web.run_action(others[0], "skip-restart", "unit=" + holder, check=False)
    assert task.get("status") == "failed", task
    assert task.get("message") == \
        "only the leader skips restarts: run it on {}/leader".format(APP), task
    _, task = web.run_action(leader, "skip-restart", "unit=db/1", check=False)
    assert task.get("message") == \
        "unit must name a unit of {0} (like {0}/3), not 'db/1'".format(APP), task

    _, task = web.run_action(leader, "skip-restart", "unit=" + holder)
    assert task.get("status") == "completed" and task["results"]["skipped"] == entry, task

    def finished():
        st = web.units(APP)
        return all(st[u]["workload-status"]["current"] == "active" and
                   not st[u]["workload-status"]["message"].startswith("Waiting")
                   for u in units if u != holder) and st
    web.until(finished, timeout=300, interval=3, message="the roll to finish without " + holder)
    web.wait()
    for u in units:
        if u == holder:
            continue
        done = history(web, u)[before[u][1]:]
        assert len(done) == 1, (u, done)
        assert starts(web, u) - before[u][0] == 1, u
    assert web.units(APP)[holder]["juju-status"]["current"] == "lost"
