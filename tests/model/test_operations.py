"""The common layer's operations on real units: batched restarts, overrides, deferral.

One model of six stackyard-test units (a real HTTP service under systemd)
serves every scenario, in order.  Restart times come from the units
themselves: the ``restart-history`` action (when each restart happened and
when the unit released its slot) and the service's own start log.
"""

import datetime
import json

import pytest

from conftest import skip_or_fail

pytestmark = pytest.mark.model

APP = "web"
UNITS = 6
STARTS = "/var/log/stackyard-test/starts.log"


@pytest.fixture(scope="module")
def web(yard, build_dir):
    charm = build_dir / "stackyard-test"
    if not charm.is_dir():
        skip_or_fail("build/stackyard-test is not built; run `make build`")
    yard.run("deploy", charm, APP, "-n", UNITS, "--config", "restart-batch-size=2",
             "--config", "restart-health-timeout=15", timeout=1500)
    yard.wait(timeout=1500)
    return yard


def unit_names():
    return ["{}/{}".format(APP, i) for i in range(UNITS)]


def history(yard, unit):
    _, task = yard.run_action(unit, "restart-history")
    assert task.get("status") == "completed", task
    return json.loads(task["results"]["history"])


def restarts_since(yard, since, units=None):
    """``{unit: [history entries restarted after since]}``."""
    return {u: [h for h in history(yard, u) if (h.get("restarted_at") or 0) > since]
            for u in units or current_units(yard)}


def max_overlap(intervals):
    """Most intervals open at one instant."""
    events = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])
    best = current = 0
    for _, step in events:
        current += step
        best = max(best, current)
    return best


def batches(entries):
    """Restarts grouped by the batch the leader granted them in, in order."""
    by_batch = {}
    for e in entries:
        assert e.get("batch"), e
        by_batch.setdefault(e["batch"], []).append(e)
    return [by_batch[n] for n in sorted(by_batch)]


def machine_now(yard):
    """The machines' clock (one host: every container shares it)."""
    return float(yard.exec(current_units(yard)[0], "date +%s.%N").strip())


def workload(yard, unit):
    """(md5 of the rendered config, number of service starts) on the unit's machine."""
    out = yard.exec(unit, "md5sum /etc/stackyard-test/config.json | cut -c1-32; "
                          "wc -l < %s" % STARTS)
    md5, starts = out.split()
    return md5, int(starts)


def listening(yard, unit):
    """When the unit's service started listening, each start (``ready.log``)."""
    out = yard.exec(unit, "cat /var/log/stackyard-test/ready.log 2>/dev/null || true")
    return [float(line.split()[0]) for line in out.splitlines() if line.strip()]


def skip_line(yard, unit):
    """The first line of the unit's state: what its hook's shell part may skip."""
    path = "/var/lib/juju/agents/unit-{}/charm/.stackyard-state".format(unit.replace("/", "-"))
    return yard.exec(unit, "head -n 1 " + path).strip()


def messages(yard):
    return {u: s["workload-status"]["message"] for u, s in yard.units(APP).items()}


def states(yard):
    return {u: s["workload-status"]["current"] for u, s in yard.units(APP).items()}


def test_config_change_rolls_in_batches_of_two(web):
    since = machine_now(web)
    starts = {u: workload(web, u)[1] for u in unit_names()}
    ready = {u: listening(web, u) for u in unit_names()}
    web.run("config", APP, "message=rolled in batches")
    web.wait()
    done = restarts_since(web, since)
    assert all(len(v) == 1 for v in done.values()), done
    # The service's own start log: one start each.
    assert {u: workload(web, u)[1] - n for u, n in starts.items()} == \
        {u: 1 for u in unit_names()}
    # ...and each listened again after its recorded restart (bench-restarts
    # times restarts with this log).
    for u, before in ready.items():
        [new] = listening(web, u)[len(before):]
        assert new >= done[u][0]["restarted_at"] - 0.01, (u, new, done[u])
    # Once settled, a unit that does not lead skips other units' peer changes
    # in its hook's shell part; the leader, whose hooks place requests, never.
    assert {u: skip_line(web, u) for u in unit_names()} == {
        u: "2 -" if u == web.leader(APP) else "2 cluster-relation-changed"
        for u in unit_names()}
    entries = [v[0] for v in done.values()]
    # Never more than two restarting at once: each new slot opens only when an
    # earlier unit released its own, after its health check passed.
    assert max_overlap([(e["restarted_at"], e["released_at"]) for e in entries]) <= 2
    groups = batches(entries)
    assert all(len(g) <= 2 for g in groups) and len(groups) >= 3, groups
    for earlier, later in zip(groups, groups[1:]):
        # A batch starts only once every unit of the one before is healthy again.
        assert min(e["restarted_at"] for e in later) >= max(e["released_at"] for e in earlier)
    # The leader keeps its own request back while the others' come in (its
    # restart would hold up their placement): never in the first batch.
    leader = done[web.leader(APP)][0]
    assert leader not in groups[0] and leader["batch"] > min(e["batch"] for e in entries), \
        groups


def test_unhealthy_unit_halts_the_roll_until_fixed(web):
    blocker = "web/1"
    web.exec(blocker, "systemd-run --unit portblocker python3 -c 'import socket, time; "
                      "s = socket.socket(); s.bind((\"0.0.0.0\", 9292)); s.listen(1); "
                      "time.sleep(10**6)'")
    since = machine_now(web)
    web.run("config", APP, "port=9292")

    def halted():
        st = states(web)
        return st[blocker] == "blocked" and st
    web.until(halted, timeout=240, message="web/1 blocked by its health check")
    msg = messages(web)[blocker]
    assert "health check failing" in msg and "9292" in msg, msg
    waiting = [u for u, m in messages(web).items() if "Waiting for a restart slot" in m]
    assert waiting, messages(web)
    before = restarts_since(web, since)
    assert sum(len(v) for v in before.values()) < UNITS - 1, before
    web.run("config", APP, "port=9393")
    web.wait()
    assert set(states(web).values()) == {"active"}, messages(web)
    after = restarts_since(web, since)
    assert all(after[u] for u in unit_names()), after
    web.exec(blocker, "systemctl stop portblocker")


def test_leader_lost_mid_roll(web):
    """The leader's machine dies mid-roll.  As on Juju its unit is lost, not gone: it
    stays in the peer relation (holding its slot, if it has one) until the operator
    runs ``remove-machine --force``, as one would; the roll then carries on."""
    web.run("config", APP, "restart-batch-interval=10")
    web.wait()
    leader = web.leader(APP)
    since = machine_now(web)
    web.run("config", APP, "message=leader goes away")
    survivors = [u for u in unit_names() if u != leader]

    def first_batch_done():
        return sum(1 for u in survivors if restarts_since(web, since, [u])[u]) >= 1
    web.until(first_batch_done, timeout=240, interval=3, message="a first restart")
    machine = web.units(APP)[leader]["machine"]
    web.run("kill-machine", machine)
    assert web.units(APP)[leader]["juju-status"]["current"] == "lost"
    web.run("remove-machine", machine, "--force")
    web.wait(timeout=600)
    done = restarts_since(web, since, survivors)
    assert {u: len(v) for u, v in done.items()} == {u: 1 for u in survivors}, done
    assert web.leader(APP) != leader
    web.run("add-unit", APP)
    web.run("config", APP, "restart-batch-interval=0")
    web.wait()


def current_units(yard):
    return sorted(yard.units(APP), key=lambda u: int(u.split("/")[1]))


def test_unit_override_touches_only_its_unit_then_expires(web):
    web.run("model-config", "update-status-hook-interval=10s")
    units = current_units(web)
    target = units[1]
    before = {u: workload(web, u) for u in units}
    expires = (datetime.datetime.now(datetime.timezone.utc) +
               datetime.timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    web.run("config", APP, "unit-overrides=%s: {debug: true, expires: '%s'}" % (target, expires))
    web.wait()
    after = {u: workload(web, u) for u in units}
    for u in units:
        if u == target:
            assert after[u][0] != before[u][0] and after[u][1] == before[u][1] + 1
        else:
            assert after[u] == before[u], "%s changed: %s -> %s" % (u, before[u], after[u])
    port = json.loads(web.exec(target, "cat /etc/stackyard-test/config.json"))["port"]
    reply = json.loads(web.exec(target, "curl -s http://127.0.0.1:%d/" % port))
    assert reply["debug"] is True

    def expired():
        return json.loads(web.exec(target, "curl -s http://127.0.0.1:%d/" % port))[
            "debug"] is False
    web.until(expired, timeout=240, interval=5, message="the override to expire")
    assert {u: workload(web, u)[1] for u in units if u != target} == {
        u: before[u][1] for u in units if u != target}
    web.run("config", APP, "unit-overrides=")
    web.run("model-config", "update-status-hook-interval=5m")
    web.wait()


def test_a_restart_of_the_leader_alone_completes(web):
    """The leader leaves its own turn to its next hook; with no other unit
    asking for a restart, the peer it names answers, and that is the hook."""
    leader = web.leader(APP)
    units = current_units(web)
    before = {u: workload(web, u) for u in units}
    since = machine_now(web)
    web.run("config", APP, "unit-overrides=%s: {debug: true}" % leader)
    web.wait(timeout=300)
    assert [e["batch"] for e in restarts_since(web, since, [leader])[leader]], leader
    after = {u: workload(web, u) for u in units}
    assert after[leader][1] == before[leader][1] + 1
    assert {u: after[u] for u in units if u != leader} == \
        {u: before[u] for u in units if u != leader}
    web.run("config", APP, "unit-overrides=")
    web.wait(timeout=300)
    assert workload(web, leader)[1] == before[leader][1] + 2


def test_deferred_restarts_applied_by_action(web):
    units = current_units(web)
    web.run("config", APP, "enable-auto-restarts=false")
    web.wait()
    before = {u: workload(web, u) for u in units}
    web.run("config", APP, "message=deferred change")
    web.wait()
    for u in units:
        md5, starts = workload(web, u)
        assert md5 != before[u][0] and starts == before[u][1], u
        assert "Services queued for restart: stackyard-test" in messages(web)[u]
    _, events = web.run_action(units[0], "show-deferred-events")
    assert events["results"]["services"] == "stackyard-test"
    since = machine_now(web)
    _, task = web.run_action("%s/leader" % APP, "restart-services", "deferred-only=true")
    assert task["status"] == "completed", task
    web.until(lambda: all(restarts_since(web, since, [u])[u] for u in units), timeout=300,
              interval=5, message="every unit to apply its deferred restart")
    web.wait()
    entries = [v[0] for v in restarts_since(web, since, units).values()]
    assert max_overlap([(e["restarted_at"], e["released_at"]) for e in entries]) <= 2
    assert not any("queued" in m for m in messages(web).values()), messages(web)
    web.run("config", APP, "enable-auto-restarts=true")
    web.wait()


@pytest.mark.parametrize("option, bad, good, expected", [
    ("restart-batch-size", "-1", "2", "restart-batch-size: must be a whole number"),
    ("restart-batch-interval", "99999", "0", "restart-batch-interval: must be a whole number"),
    ("restart-health-timeout", "0", "15", "restart-health-timeout: must be a whole number"),
    ("unit-overrides", "web/0: [unclosed", "", "unit-overrides is not valid YAML"),
    ("unit-overrides", "web/0: {port: 1}", "", "port may not be overridden per unit"),
    ("port", "70000", "9393", "port: must be a TCP port"),
])
def test_bad_values_block_naming_the_option_and_change_nothing(web, option, bad, good,
                                                               expected):
    units = current_units(web)
    before = {u: workload(web, u) for u in units}
    web.run("config", APP, "%s=%s" % (option, bad))
    web.wait()
    for u, msg in messages(web).items():
        assert states(web)[u] == "blocked" and expected in msg, (u, msg)
    assert {u: workload(web, u) for u in units} == before
    web.run("config", APP, "%s=%s" % (option, good))
    web.wait()
    assert set(states(web).values()) == {"active"}, messages(web)


def test_bad_type_is_refused_by_the_cli(web):
    result = web.fails("config", APP, "enable-auto-restarts=maybe")
    assert "enable-auto-restarts" in result.stderr


def service_active(yard, unit):
    return yard.exec(unit, "systemctl is-active stackyard-test || true").strip() == "active"


def test_pause_holds_a_unit_through_a_roll_and_resume_brings_it_back(web):
    units = current_units(web)
    target = next(u for u in units if u != web.leader(APP))
    _, task = web.run_action(target, "pause")
    assert task.get("status") == "completed", task
    web.wait()
    assert (states(web)[target], messages(web)[target]) == ("maintenance", "Paused"), \
        messages(web)
    assert not service_active(web, target)
    before = workload(web, target)
    since = machine_now(web)
    web.run("config", APP, "message=rolled around a paused unit")
    web.wait()
    done = restarts_since(web, since, units)
    assert done[target] == [] and all(len(done[u]) == 1 for u in units if u != target), done
    # Held: its files are as they were and its service stays stopped.
    assert workload(web, target) == before and not service_active(web, target)
    _, task = web.run_action(target, "resume")
    assert task.get("status") == "completed", task
    web.wait()
    assert set(states(web).values()) == {"active"}, messages(web)
    port = json.loads(web.exec(target, "cat /etc/stackyard-test/config.json"))["port"]
    reply = json.loads(web.exec(target, "curl -s http://127.0.0.1:%d/" % port))
    assert reply["message"] == "rolled around a paused unit"


def test_a_subordinate_mid_roll_gets_its_hook_within_the_health_timeout(web, build_dir):
    """A hook holds the machine lock: none waits out restart-batch-interval in it.

    yard-sub on every machine; while the application rolls with an interval
    three times the health timeout, ``exec`` on each subordinate (which takes
    the machine lock, as a hook does) keeps coming back within the timeout +
    10 s, and every unit still keeps the interval before giving its slot back.
    """
    import threading
    import time
    timeout, interval = 15, 45
    web.run("deploy", build_dir / "yard-sub", "yard-sub")
    web.run("relate", APP, "yard-sub")
    web.run("model-config", "update-status-hook-interval=10s")
    web.run("config", APP, "restart-batch-interval=%d" % interval,
            "restart-health-timeout=%d" % timeout)
    web.wait()
    units = current_units(web)
    subs = [s for u in units for s in (web.units(APP)[u].get("subordinates") or {})]
    assert len(subs) == len(units), web.units(APP)
    latencies = {s: [] for s in subs}
    stop = threading.Event()

    def probe(sub):
        while not stop.is_set():
            began = time.monotonic()
            web.exec(sub, "true", timeout=600)
            latencies[sub].append(time.monotonic() - began)
            stop.wait(2)
    threads = [threading.Thread(target=probe, args=(s,), daemon=True) for s in subs]
    since = machine_now(web)
    web.run("config", APP, "message=rolled with a subordinate aboard")
    for t in threads:
        t.start()
    try:
        web.until(lambda: all(restarts_since(web, since, [u])[u] for u in units),
                  timeout=900, interval=5, message="every unit restarted")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=660)
    worst = {s: round(max(v), 1) for s, v in latencies.items() if v}
    print("longest exec on each subordinate during the roll (s):", worst)
    assert len(worst) == len(subs) and max(worst.values()) <= timeout + 10, worst
    done = restarts_since(web, since, units)
    assert all(len(v) == 1 for v in done.values()), done
    for u, (entry,) in done.items():
        assert entry["released_at"] - entry["restarted_at"] >= interval, (u, entry)
    web.run("config", APP, "restart-batch-interval=0")
    web.wait()


def test_a_resume_whose_checks_fail_leaves_the_unit_resumed_and_blocked(web):
    """Not "Paused" with its service started: blocked on the check, and a later resume works."""
    units = current_units(web)
    target = next(u for u in units if u != web.leader(APP))
    _, task = web.run_action(target, "pause")
    assert task.get("status") == "completed", task
    web.wait()
    port = json.loads(web.exec(target, "cat /etc/stackyard-test/config.json"))["port"]
    # SO_REUSEADDR: the health checks' connections just closed may still be in
    # TIME_WAIT on the port, which a plain bind refuses.
    web.exec(target, "systemd-run --unit resumeblocker python3 -c 'import socket, time; "
                     "s = socket.socket(); "
                     "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
                     "s.bind((\"0.0.0.0\", %d)); s.listen(1); time.sleep(10**6)'" % port)
    assert web.exec(target, "sleep 1; systemctl is-active resumeblocker || true").strip() \
        == "active", "the port blocker did not start"
    try:
        _, task = web.run_action(target, "resume", check=False)
        assert task.get("status") == "failed", task
        assert "health checks fail" in task.get("message", ""), task
        web.wait()
        state, message = states(web)[target], messages(web)[target]
        assert state == "blocked" and "Paused" not in message, (state, message)
        assert "Health check failing" in message or "not running" in message, message
    finally:
        web.exec(target, "systemctl stop resumeblocker; systemctl reset-failed || true")
    _, task = web.run_action(target, "resume")
    assert task.get("status") == "completed", task
    web.wait()
    assert set(states(web).values()) == {"active"}, messages(web)
