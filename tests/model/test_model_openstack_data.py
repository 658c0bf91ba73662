"""bundles/openstack-data.yaml whole: galera x3 behind a hacluster VIP, rabbitmq x3, the probe.

The bundle is deployed once with its VIP overlay (bundles/overlays/
openstack-data-vip.yaml with a free address of yard's ``vip-range``), and
the scenarios run in file order on that deployment: everything settles
active and the probe's db round trip goes through the VIP (``db_host`` is
the VIP in every galera unit's answer) and its amqp round trip through every
broker; ``benchmark-db host=vip`` from a unit that does not hold the VIP runs
sysbench through it; a rolling restart of galera (a config change, batch 1) with a writer
loop through the VIP loses no committed row; killing the machine that holds
the VIP leaves a cluster of two serving, the VIP moves to a survivor and no
committed row is lost; ``add-unit`` brings a third node back into both
clusters; no password appears in ``yard debug-log --replay``, status or any
action's output.  Stopping MariaDB (``systemctl stop``) on the VIP's holder moves the VIP to a
Synced node (galera's ``ocf:stackyard:galera-monitor`` clone and location
rule) with no committed row lost.  The scenarios test_model_galera.py runs on galera alone
(bad input, recover-cluster, backup, benchmark) are not repeated here.
Slow (seven containers): marker ``ha``, ``make model-ha``.
"""

import json
import re
import time

import pytest
import yaml

import galera_writer as writer
from conftest import DEPLOY_TIMEOUT, REPO, free_vip, require_built, secrets_shown
from galera_writer import PROBE_UNIT, committed_rows, sql

pytestmark = pytest.mark.ha

BUNDLE = REPO / "bundles" / "openstack-data.yaml"
OVERLAY = REPO / "bundles" / "overlays" / "openstack-data-vip.yaml"
GALERA, HACLUSTER, RABBITMQ, PROBE = "galera", "hacluster", "rabbitmq", "stackyard-probe"
SETTLE = 1500
# Every action's output, for the password check at the end.
OUTPUTS = []


@pytest.fixture(scope="module")
def data(yard, tmp_path_factory):
    """The deployed bundle, settled active; the VIP."""
    require_built(BUNDLE)
    vip = free_vip(yard)
    overlay = yaml.safe_load(OVERLAY.read_text())
    overlay["applications"]["galera"]["options"]["vip"] = vip
    path = tmp_path_factory.mktemp("overlay") / "openstack-data-vip.yaml"
    path.write_text(yaml.safe_dump(overlay))
    began = time.monotonic()
    yard.run("deploy", BUNDLE, "--overlay", path, timeout=DEPLOY_TIMEOUT)
    yard.wait(timeout=DEPLOY_TIMEOUT)
    until_active(yard, vip)
    hooks = yard.json("hooks")
    print("\nopenstack-data (VIP %s) settled active in %.0f s; %d hooks (%d failed)"
          % (vip, time.monotonic() - began, len(hooks),
             len([h for h in hooks if h.get("exit-code") not in (0, None)])))
    return vip


def statuses(yard):
    """``{unit: workload status}`` of every unit whose agent is not lost, subordinates too."""
    found = {}
    for app in yard.status()["applications"].values():
        for name, unit in (app.get("units") or {}).items():
            found[name] = unit["workload-status"]
            for sub, data in (unit.get("subordinates") or {}).items():
                found[sub] = data["workload-status"]
    return {u: s for u, s in found.items() if not s.get("message", "").startswith("agent lost")}


def until_active(yard, vip, timeout=600):
    """Every unit (but lost ones) active and the probe's round trips through the VIP."""
    def ready():
        found = statuses(yard)
        probe = found[PROBE_UNIT]["message"]
        if all(s["current"] == "active" for s in found.values()) and \
                "round trip via %s " % vip in probe and "amqp: 3/3 brokers round trip" in probe:
            return found
        return None
    return yard.until(ready, timeout=timeout, interval=5,
                      message="every unit active, the probe through %s: %s"
                      % (vip, yard.run("status").stdout))


def action(yard, target, name, *params):
    result, task = yard.run_action(target, name, *params)
    OUTPUTS.append(result.output)
    return result, task


def galera_units(yard):
    return sorted(yard.units(GALERA))


def vip_holders(yard, vip, units):
    """The units among ``units`` whose machine has the VIP on an interface."""
    return [u for u in units
            if " %s/" % vip in yard.exec(u, "ip -o -4 addr show", timeout=60)]


def cluster_size(yard, unit):
    return sql(yard, unit, "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_size'")[0][1]


def db_hosts(yard):
    """``{galera unit: db_host}`` as the probe reads them."""
    data = yard.relation_info(PROBE_UNIT, "shared-db")["related-units"]
    return {unit: bag["data"].get("db_host") for unit, bag in data.items()}


def report_writes(label, entries, ok, fails):
    windows = writer.failure_windows(entries)
    print("%s: %d writes committed, %d failed attempts in %d window(s); writes failed for "
          "%.1f s in all, longest %.1f s; longest gap between commits %.1f s"
          % (label, len(ok), len(fails), len(windows), sum(windows), max(windows, default=0),
             writer.longest_gap(entries)))


def test_settles_active_with_round_trips_through_the_vip(yard, data):
    vip = data
    found = statuses(yard)
    assert len([u for u in found if u.startswith(HACLUSTER + "/")]) == 3, found
    for unit in galera_units(yard):
        assert found[unit]["message"].startswith("Synced, cluster of 3 (Primary)"), found
        assert cluster_size(yard, unit) == "3"
    message = found[PROBE_UNIT]["message"]
    assert re.search(r"shared-db: probe round trip via %s \(\d+ rows\)" % re.escape(vip),
                     message), message
    assert "amqp: 3/3 brokers round trip via quorum queue" in message, message
    # Every galera unit answers with the VIP, never a unit address.  Up to an
    # update-status later: yard commits a hook's relation data before its secret
    # changes, so a unit can answer a hook after the leader made the user.
    yard.until(lambda: set(db_hosts(yard).values()) == {vip} and len(db_hosts(yard)) == 3,
               timeout=420, interval=5,
               message="db_host %s from every galera unit: %s" % (vip, db_hosts(yard)))
    assert len(vip_holders(yard, vip, galera_units(yard))) == 1
    # hacluster counts the nodes pacemaker has online; galera's monitor clone has
    # said Synced (galera-synced=1) on every node.
    for sub in [u for u in found if u.startswith(HACLUSTER + "/")]:
        assert found[sub]["message"].startswith(
            "Clustered (3 of 3 nodes online): VIP %s on " % vip), found[sub]
    assert synced_attributes(yard, galera_units(yard)[0]) == ["1", "1", "1"]


def synced_attributes(yard, unit):
    """The ``galera-synced`` node attribute of every node (attrd_updater's query), sorted."""
    out = yard.exec(unit, "attrd_updater -Q -A -n galera-synced || true", timeout=60)
    return sorted(re.findall(r'value="([^"]*)"', out))


def test_mariadb_stopped_on_the_vip_holder_moves_the_vip(yard, data):
    """pacemaker's galera monitor: the VIP leaves a node whose MariaDB stops (pacemaker
    itself neither stops nor starts MariaDB: the test starts it again)."""
    vip = data
    units = galera_units(yard)
    [holder] = vip_holders(yard, vip, units)
    others = [u for u in units if u != holder]
    writer.start(yard, vip, others[0], table="monitor")
    time.sleep(3)
    stopped = time.time()
    yard.exec(holder, "systemctl stop mariadb", timeout=120)
    stop_took = time.time() - stopped
    moved_to = yard.until(lambda: vip_holders(yard, vip, others), timeout=120, interval=0.5,
                          message="the VIP off %s after its MariaDB stopped" % holder)[0]
    moved = time.time() - stopped
    yard.until(lambda: [e for e in writer.log(yard) if e[0] == "ok" and e[2] > stopped + moved],
               timeout=120, message="a write committed through the VIP after it moved")
    time.sleep(2)
    ok, fails = writer.stop(yard)
    entries = writer.log(yard)
    print("\nsystemctl stop mariadb on %s (held the VIP; the stop took %.1f s): VIP on %s "
          "%.1f s after the stop began" % (holder, stop_took, moved_to, moved))
    report_writes("writer through the VIP %s" % vip, entries, ok, fails)
    assert holder not in vip_holders(yard, vip, units)
    for unit in others:
        lost = set(ok) - committed_rows(yard, unit, "monitor")
        assert not lost, "%s lacks committed rows: %s" % (unit, sorted(lost)[:20])
    yard.exec(holder, "systemctl start mariadb", timeout=300)
    yard.until(lambda: synced_attributes(yard, holder) == ["1", "1", "1"], timeout=180,
               message="galera-synced=1 on every node again")
    # One node holds it, Synced.  Not necessarily moved_to: in the run of 2026-12-07 the
    # VIP moved on from galera/1 to galera/2 while galera/0 rejoined (most likely
    # galera/1 was its donor, Donor/Desynced: galera-synced 0 there).
    now = vip_holders(yard, vip, units)
    print("after %s rejoined: VIP on %s" % (holder, now))
    assert len(now) == 1, now
    until_active(yard, vip)


def test_benchmark_db_through_the_vip_from_a_unit_that_does_not_hold_it(yard, data):
    vip = data
    units = galera_units(yard)
    [holder] = vip_holders(yard, vip, units)
    client = [u for u in units if u != holder][0]
    _, task = action(yard, client, "benchmark-db", "host=vip", "duration=10", "threads=2",
                     "table-size=1000")
    assert task.get("status") == "completed", task
    results = task["results"]
    run = json.loads(results["run"])
    assert run["params"]["host"] == "vip" and run["params"]["address"] == vip, run["params"]
    tps = float(results["results"]["transactions"]["value"])
    assert tps > 0, results
    # Dropped after the run, and the drop replicated to the VIP's holder.
    assert sql(yard, holder, "SHOW TABLES FROM stackyard_bench") == []
    print("\nbenchmark-db from %s through the VIP (%s on %s): %.1f tx/s"
          % (client, vip, holder, tps))


def test_rolling_restart_through_the_vip_loses_no_committed_row(yard, data):
    vip = data
    units = galera_units(yard)
    writer.start(yard, vip, units[0], table="roll")
    began = time.monotonic()
    yard.run("config", GALERA, "max-connections=501")

    def rolled():
        return all(sql(yard, u, "SELECT @@max_connections") == [["501"]] for u in units)
    yard.until(rolled, timeout=900, interval=5, message="every node restarted with 501")
    roll = time.monotonic() - began
    yard.wait(timeout=SETTLE)
    time.sleep(3)
    ok, fails = writer.stop(yard)
    entries = writer.log(yard)
    print("\nrolling restart of galera x3 (batch 1) in %.0f s" % roll)
    report_writes("writer through the VIP %s" % vip, entries, ok, fails)
    assert ok, "no write committed"
    for unit in units:
        lost = set(ok) - committed_rows(yard, unit, "roll")
        assert not lost, "%s lacks committed rows: %s" % (unit, sorted(lost)[:20])
        assert cluster_size(yard, unit) == "3"
    until_active(yard, vip)


def test_killing_the_vip_holder_moves_the_vip_and_loses_no_row(yard, data):
    vip = data
    units = galera_units(yard)
    [holder] = vip_holders(yard, vip, units)
    survivors = [u for u in units if u != holder]
    writer.start(yard, vip, survivors[0], table="failover")
    time.sleep(3)
    machine = yard.units(GALERA)[holder]["machine"]
    killed = time.time()
    yard.run("kill-machine", machine)
    moved_to = yard.until(lambda: vip_holders(yard, vip, survivors), timeout=180, interval=1,
                          message="the VIP on a surviving node")[0]
    moved = time.time() - killed
    yard.until(lambda: all(cluster_size(yard, u) == "2" for u in survivors), timeout=180,
               message="a cluster of 2 after the kill")
    two = time.time() - killed
    # Writes go on through the VIP: some commit after the move.
    yard.until(lambda: [e for e in writer.log(yard) if e[0] == "ok" and e[2] > killed + moved],
               timeout=120, message="a write committed through the VIP after it moved")
    time.sleep(2)
    ok, fails = writer.stop(yard)
    entries = writer.log(yard)
    print("\nkilled %s (machine %s, held the VIP): VIP on %s after %.1f s; cluster of 2 "
          "after %.1f s" % (holder, machine, moved_to, moved, two))
    report_writes("writer through the VIP %s" % vip, entries, ok, fails)
    for unit in survivors:
        assert sql(yard, unit, "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_status'") == [
            ["wsrep_cluster_status", "Primary"]]
        lost = set(ok) - committed_rows(yard, unit, "failover")
        assert not lost, "%s lacks committed rows: %s" % (unit, sorted(lost)[:20])
    # The probe's round trip goes through the VIP on the survivors.
    yard.run("config", PROBE, "timeout=4")
    yard.wait(timeout=SETTLE)
    found = until_active(yard, vip)
    assert holder not in found, "%s is not shown lost: %s" % (holder, found.get(holder))


def hacluster_of(yard, principal):
    unit = yard.units(GALERA).get(principal) or {}
    subs = [s for s in (unit.get("subordinates") or {}) if s.startswith(HACLUSTER + "/")]
    return subs[0] if subs else None


def test_add_unit_rejoins_both_clusters(yard, data):
    vip = data
    before = set(yard.units(GALERA))
    live = sorted(u for u in before if u in statuses(yard))
    rows = committed_rows(yard, live[0], "failover")
    began = time.monotonic()
    yard.run("add-unit", GALERA)
    yard.until(lambda: set(yard.units(GALERA)) - before, timeout=60, message="the new unit")
    [new] = set(yard.units(GALERA)) - before
    yard.wait(timeout=SETTLE)
    found = until_active(yard, vip)
    print("\nadd-unit: %s synced and clustered %.0f s after add-unit" % (
        new, time.monotonic() - began))
    assert found[new]["message"].startswith("Synced, cluster of 3 (Primary)"), found
    assert cluster_size(yard, new) == "3"
    assert committed_rows(yard, new, "failover") >= rows
    assert found[hacluster_of(yard, new)]["current"] == "active", found
    print("hacluster after add-unit: %s" % {u: s["message"] for u, s in found.items()
                                            if u.startswith(HACLUSTER + "/")})
    _, task = action(yard, hacluster_of(yard, new), "status")
    assert task["results"]["quorum"] == "true", task


def test_no_password_in_logs_status_or_action_output(yard, data):
    for unit in [u for u in galera_units(yard) if u in statuses(yard)]:
        result, _ = yard.run_action(unit, "cluster-status", check=False)
        OUTPUTS.append(result.output)
    values, lines = secrets_shown(yard, (GALERA, HACLUSTER, RABBITMQ), OUTPUTS)
    assert len(values) >= 5, "galera's root, sst and probe passwords at least"
    print("\nchecked %d secret values against debug-log (%d lines), status and %d action "
          "outputs" % (len(values), lines, len(OUTPUTS)))
