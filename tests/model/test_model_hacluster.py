"""hacluster on three principals: nothing until cluster_count, then a VIP that answers and moves.

stackyard-test (as ``web``, serving its unit name over HTTP on 8080) asks
its hacluster subordinate for one VIP from yard's ``vip-range``.  With two
units, corosync and pacemaker stay stopped and unconfigured; with the third
the cluster forms and the VIP answers an HTTP GET from the host and from
another machine; ``pause`` on the VIP's holder moves it (the time is
printed); a VIP outside the machines' network blocks hacluster naming it,
and the VIP already running keeps serving.  Slow (three containers install
corosync and pacemaker): marker ``ha``, ``make model-ha``.
"""

import json
import threading
import time
import urllib.request

import pytest

from conftest import BUILD, free_vip, skip_or_fail

pytestmark = pytest.mark.ha

PORT = 8080
BAD_VIP = "192.0.2.10"


def subordinates(model):
    """``{hacluster unit: (principal unit, workload status)}``."""
    found = {}
    for name, unit in model.units("web").items():
        for sub, data in (unit.get("subordinates") or {}).items():
            found[sub] = (name, data["workload-status"])
    return found


def get(url, timeout=3):
    """The JSON reply of an HTTP GET, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return json.loads(reply.read().decode())
    except (OSError, ValueError):
        return None


@pytest.fixture(scope="module")
def cluster(yard):
    for charm in ("stackyard-test", "hacluster"):
        if not (BUILD / charm).is_dir():
            skip_or_fail("build/%s is not built; run `make build`" % charm)
    vip = free_vip(yard)
    t0 = time.monotonic()
    yard.run("deploy", BUILD / "stackyard-test", "web", "-n", "2", "--config",
             "vip=%s" % vip, timeout=600)
    yard.run("deploy", BUILD / "hacluster", "hacluster", timeout=600)
    yard.run("relate", "web:ha", "hacluster:ha")
    yard.wait(timeout=1500)
    print("\ntwo units settled in %.0f s" % (time.monotonic() - t0))
    return vip


def holder(model, vip):
    """The web unit answering on the VIP (from the host), or None."""
    reply = get("http://%s:%d/" % (vip, PORT))
    return reply and reply.get("unit")


def test_nothing_is_configured_below_cluster_count(yard, cluster):
    subs = subordinates(yard)
    assert len(subs) == 2, subs
    for sub, (principal, status) in subs.items():
        assert status["current"] == "waiting", (sub, status)
        assert "1 more unit(s) to form the cluster (2 of cluster_count 3)" in \
            status["message"], (sub, status)
        out = yard.exec(principal, "systemctl is-active corosync pacemaker || true; "
                        "crm_mon -1 >/dev/null 2>&1; echo crm_mon=$?; "
                        "grep -c 'cluster_name: hacluster' /etc/corosync/corosync.conf || true;"
                        " test -e /etc/corosync/authkey && echo authkey || echo no-authkey")
        assert out.split() == ["inactive", "inactive", "crm_mon=102", "0", "no-authkey"] or \
            out.split()[:2] == ["inactive", "inactive"] and "crm_mon=0" not in out, out
        assert "no-authkey" in out and out.split()[3] == "0", out
    assert holder(yard, cluster) is None
    web = yard.units("web")
    assert all("not clustered yet" in u["workload-status"]["message"] for u in web.values()), web


def test_third_unit_forms_the_cluster_and_the_vip_answers(yard, cluster):
    t0 = time.monotonic()
    yard.run("add-unit", "web")
    yard.wait(timeout=1500)
    settled = time.monotonic() - t0
    answered = yard.until(lambda: holder(yard, cluster), timeout=300, interval=2,
                          message="the VIP %s answering" % cluster)
    print("\nthird unit: settled %.0f s after add-unit; VIP %s answered by %s at %.0f s"
          % (settled, cluster, answered, time.monotonic() - t0))
    subs = subordinates(yard)
    assert len(subs) == 3, subs
    for sub, (principal, status) in subs.items():
        assert status["current"] == "active", (sub, status)
        assert status["message"].startswith("Clustered (3 of 3 nodes online): VIP %s on "
                                            % cluster), status
        out = yard.exec(principal, "stat -c %a /etc/corosync/authkey; "
                        "grep -c ring0_addr /etc/corosync/corosync.conf; "
                        "grep transport: /etc/corosync/corosync.conf")
        assert out.split() == ["400", "3", "transport:", "knet"], out
    # What the leader configured besides the VIP: no fencing, stickiness.
    conf = yard.exec(principal, "crm configure show")
    assert "stonith-enabled=false" in conf and "resource-stickiness=100" in conf, conf
    web = yard.units("web")
    assert all("VIP %s clustered" % cluster in u["workload-status"]["message"]
               for u in web.values()), web
    # From another machine too: a web unit that does not hold the VIP.
    other = sorted(u for u in web if u != answered)[0]
    out = yard.exec(other, "python3 -c 'import urllib.request,sys; sys.stdout.write("
                    "urllib.request.urlopen(\"http://%s:%d/\", timeout=5).read().decode())'"
                    % (cluster, PORT))
    assert json.loads(out)["unit"] == answered, out
    _, task = yard.run_action("hacluster/leader", "status")
    results = task["results"]
    assert results["quorum"] == "true", task
    assert len(json.loads(results["nodes"])) == 3, task


class Watcher(threading.Thread):
    """GETs the VIP every 0.2 s from the host: failed GETs, the longest time between answers
    around failures."""

    def __init__(self, vip):
        super().__init__(daemon=True)
        self.url, self.stop, self.gap = "http://%s:%d/" % (vip, PORT), threading.Event(), 0.0
        self.failures = 0

    def run(self):
        last_ok, failed = time.monotonic(), 0
        while not self.stop.is_set():
            if get(self.url, timeout=1):
                if failed:   # from the last answer before the failures to this one
                    self.gap = max(self.gap, time.monotonic() - last_ok)
                last_ok, failed = time.monotonic(), 0
            else:
                failed += 1
                self.failures += 1
            time.sleep(0.2)


def test_pause_moves_the_vip(yard, cluster):
    web_holder = holder(yard, cluster)
    assert web_holder, "the VIP does not answer"
    sub = [s for s, (p, _) in subordinates(yard).items() if p == web_holder][0]
    watcher = Watcher(cluster)
    watcher.start()
    t0 = time.monotonic()
    _, task = yard.run_action(sub, "pause")
    action_time = time.monotonic() - t0
    assert task.get("status") == "completed", task
    moved_to = yard.until(lambda: (holder(yard, cluster) or web_holder) != web_holder and
                          holder(yard, cluster), timeout=120, interval=0.5,
                          message="the VIP to move off %s" % web_holder)
    time.sleep(2)
    watcher.stop.set()
    watcher.join()
    print("\npause %s: VIP moved from %s to %s; action took %.1f s (standby until no "
          "resource left the node: %s s); GETs every 0.2 s: %d failed, longest time "
          "between answers around them %.1f s"
          % (sub, web_holder, moved_to, action_time, task["results"].get("seconds"),
             watcher.failures, watcher.gap))
    principal = [p for s, (p, _) in subordinates(yard).items() if s == sub][0]
    out = yard.exec(principal, "systemctl is-active pacemaker corosync || true")
    assert out.split() == ["inactive", "inactive"], out
    # Online nodes are pacemaker's: the others say 2 of 3 (woken by the paused unit's
    # hacluster-online going), and the paused unit's principal is told not clustered.
    others = sorted(s for s in subordinates(yard) if s != sub)
    t1 = time.monotonic()
    yard.until(lambda: all(subordinates(yard)[s][1]["message"].startswith(
        "Clustered (2 of 3 nodes online): VIP %s on " % cluster) for s in others),
        timeout=180, interval=2, message="2 of 3 nodes online on %s: %s"
        % (others, subordinates(yard)))
    yard.until(lambda: "not clustered yet" in yard.units("web")[principal][
        "workload-status"]["message"], timeout=180, interval=2,
        message="%s told not clustered: %s" % (principal, yard.units("web")[principal]))
    print("the others said 2 of 3 nodes online %.1f s after pause" % (time.monotonic() - t1))
    _, task = yard.run_action(sub, "resume")
    assert task.get("status") == "completed", task
    _, task = yard.run_action(sub, "status")
    nodes = json.loads(task["results"]["nodes"])
    assert all(n["online"] and not n["standby"] for n in nodes.values()), nodes
    assert holder(yard, cluster) == moved_to   # resuming does not move it back
    yard.until(lambda: all(status["message"].startswith("Clustered (3 of 3 nodes online)")
                           for _, status in subordinates(yard).values()),
               timeout=180, interval=2, message="3 of 3 nodes online after resume: %s"
               % subordinates(yard))


def test_bad_vip_blocks_naming_it_and_the_old_vip_keeps_serving(yard, cluster):
    yard.run("config", "web", "vip=%s" % BAD_VIP)
    yard.wait(timeout=600)
    subs = subordinates(yard)
    for sub, (_, status) in subs.items():
        assert status["current"] == "blocked", (sub, status)
        assert "vip %s of res_web_" % BAD_VIP in status["message"], status
        assert "outside this machine's networks" in status["message"], status
    assert holder(yard, cluster), "the VIP configured before stopped answering"
    web = yard.units("web")
    assert all("not clustered yet" in u["workload-status"]["message"]
               for u in web.values()), web
    yard.run("config", "web", "vip=%s" % cluster)
    yard.wait(timeout=600)
    subs = subordinates(yard)
    assert all(s["current"] == "active" for _, s in subs.values()), subs
