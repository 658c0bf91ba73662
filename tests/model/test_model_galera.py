"""galera x3 and the probe over shared-db, in real containers.

Scenarios, in file order, on one deployment: the three units settle active
as one cluster (wsrep_cluster_size 3 on every node) and the probe shows its
write/read round trip through the db_host it was given, also for prefixed
(multi-database) requests; hostile relation data is refused, logged, and
creates nothing; a bad option blocks naming it; a rolling restart (a config
change, batch 1) while a writer loop writes through one node loses no
committed row (how long writes failed is printed); every node stopped, then
``recover-cluster`` brings the cluster back with every row; ``backup``
reports its folder, size and time; a killed machine leaves a cluster of two
that serves (yard cannot bring the machine back).  Last, no password (the secret's content)
appears in ``yard debug-log --replay``, status or any action's output.
"""

import json
import re
import time

import pytest

import galera_writer as writer
from conftest import BUILD, secrets_shown, skip_or_fail
from galera_writer import committed_rows, sql

pytestmark = pytest.mark.ha

GALERA = "galera"
PROBE = "stackyard-probe"
PROBE_UNIT = PROBE + "/0"
SETTLE = 1500
# Every action's output, for the password check at the end.
OUTPUTS = []


@pytest.fixture(scope="module")
def model(yard):
    for name in (GALERA, PROBE):
        if not (BUILD / name).is_dir():
            skip_or_fail("build/%s is not built; run `make build`" % name)
    started = time.monotonic()
    yard.run("deploy", BUILD / GALERA, "-n", "3", timeout=SETTLE)
    yard.run("deploy", BUILD / PROBE, timeout=SETTLE)
    yard.run("relate", GALERA + ":shared-db", PROBE + ":shared-db")
    yard.wait(timeout=SETTLE)
    until_active(yard)
    print("\ngalera x3 + probe settled active in %.0f s" % (time.monotonic() - started))
    return yard


def messages(yard):
    status = yard.status()["applications"]
    return {name: unit["workload-status"] for app in (GALERA, PROBE)
            for name, unit in (status[app].get("units") or {}).items()}


def until_active(yard, timeout=600, probe_text="round trip via"):
    def ready():
        found = messages(yard)
        if all(s["current"] == "active" for s in found.values()) and \
                probe_text in found[PROBE_UNIT]["message"]:
            return found
        return None
    return yard.until(ready, timeout=timeout, interval=5,
                      message="galera and the probe active: %s" % yard.run("status").stdout)


def action(yard, target, name, *params, check=True):
    result, task = yard.run_action(target, name, *params, check=check)
    OUTPUTS.append(result.output)
    return result, task


def galera_units(yard):
    return sorted(yard.units(GALERA))


def address(yard, unit):
    return yard.units(GALERA)[unit]["public-address"]


def test_three_units_form_one_cluster(model):
    found = messages(model)
    for unit in galera_units(model):
        assert found[unit]["message"].startswith("Synced, cluster of 3 (Primary)"), found
        assert sql(model, unit, "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_size'") == [
            ["wsrep_cluster_size", "3"]]
        mode = model.exec(unit, "stat -c '%a %U %G' "
                                "/etc/mysql/mariadb.conf.d/99-stackyard-galera.cnf").split()
        assert mode == ["640", "root", "mysql"], mode


def test_probe_round_trip_through_db_host(model):
    message = messages(model)[PROBE_UNIT]["message"]
    hosts = {address(model, u) for u in galera_units(model)}
    found = re.search(r"shared-db: probe round trip via (\S+) \((\d+) rows\)", message)
    assert found and found.group(1) in hosts, message
    # The answer in upstream's keys, this unit allowed, from every galera unit
    # (the others answer a hook after the leader made the user).

    def answered():
        data = model.relation_info(PROBE_UNIT, "shared-db")["related-units"]
        return len(data) == 3 and all(
            bag["data"].get("allowed_units") == PROBE_UNIT and
            bag["data"].get("db_host") == address(model, unit) and
            bag["data"].get("db_port") == "3306" for unit, bag in data.items())
    # Up to an update-status later: yard commits a hook's relation data before its
    # secret changes (Juju commits both at once), so a unit woken by the leader's
    # registry change can read the secret a revision early and answer at its next hook.
    model.until(answered, timeout=420, interval=5, message="every galera unit's answer")
    # The row the probe wrote is on every node (replicated).
    for unit in galera_units(model):
        rows = sql(model, unit, "SELECT COUNT(*) FROM probe.stackyard_probe")
        assert int(rows[0][0]) >= 1


def test_prefixed_requests_get_a_database_each(model):
    model.run("config", PROBE, "extra-databases=nova novaapi")
    model.wait(timeout=SETTLE)
    found = until_active(model, probe_text="shared-db: probe, nova, novaapi round trip via")
    assert found
    unit = galera_units(model)[0]
    databases = {row[0] for row in sql(model, unit, "SHOW DATABASES")}
    assert {"probe", "nova", "novaapi"} <= databases

    def answered():
        # Every galera unit answers; the others may do so a hook after the leader.
        bags = model.relation_info(PROBE_UNIT, "shared-db")["related-units"].values()
        return all(bag["data"].get("nova_allowed_units") == PROBE_UNIT and
                   bag["data"].get("novaapi_allowed_units") == PROBE_UNIT for bag in bags)
    # Up to an update-status later: yard commits a hook's relation data before its
    # secret changes (Juju commits both at once), so a unit woken by the leader's
    # registry change can read the secret a revision early and answer at its next hook.
    model.until(answered, timeout=420, interval=5, message="every galera unit's answer")


def test_hostile_relation_data_is_refused_and_creates_nothing(model):
    rid = model.exec(PROBE_UNIT, "relation-ids shared-db").strip()
    model.exec(PROBE_UNIT, "relation-set -r %s 'evil_database=x`; DROP DATABASE probe; --' "
                           "evil_username=evil 'evil_hostname=%%' "
                           "bad_database=mysql bad_username=bad bad_hostname=10.0.0.1" % rid)
    model.wait(timeout=SETTLE)
    leader = model.leader(GALERA)
    log = model.run("debug-log", "--replay", "--no-tail", "-i", leader).stdout
    refusals = [line for line in log.splitlines() if "Refusing shared-db request" in line]
    # Logged once each, though every later hook of the leader reads the same data.
    assert len([r for r in refusals if "evil: database 'x`; DROP" in r]) == 1, refusals
    assert len([r for r in refusals if "bad: database 'mysql'" in r]) == 1, refusals
    unit = galera_units(model)[0]
    databases = {row[0] for row in sql(model, unit, "SHOW DATABASES")}
    assert "probe" in databases and not databases & {"x", "evil", "bad"}, databases
    users = {row[0] for row in sql(model, unit, "SELECT User FROM mysql.user")}
    assert not users & {"evil", "bad"}, users
    bag = next(iter(model.relation_info(PROBE_UNIT, "shared-db")["related-units"].values()))
    assert not [k for k in bag["data"] if k.startswith(("evil", "bad"))], bag
    model.exec(PROBE_UNIT, "relation-set -r %s evil_database= evil_username= evil_hostname= "
                           "bad_database= bad_username= bad_hostname=" % rid)


def test_a_bad_option_blocks_naming_it_and_changes_nothing(model):
    unit = galera_units(model)[0]
    before = model.exec(unit, "cat /etc/mysql/mariadb.conf.d/99-stackyard-galera.cnf")
    model.run("config", GALERA, "min-cluster-size=0")
    model.wait(timeout=SETTLE)
    found = messages(model)[unit]
    assert found["current"] == "blocked" and "min-cluster-size" in found["message"], found
    assert model.exec(unit, "cat /etc/mysql/mariadb.conf.d/99-stackyard-galera.cnf") == before
    model.run("config", GALERA, "--reset", "min-cluster-size")
    model.wait(timeout=SETTLE)
    until_active(model)


def test_rolling_restart_loses_no_committed_row(model):
    units = galera_units(model)
    target = units[1]
    writer.start(model, address(model, target), units[0])
    began = time.monotonic()
    model.run("config", GALERA, "max-connections=501")

    def rolled():
        for unit in units:
            out = model.exec(unit, "grep -c '^max_connections = 501' "
                                   "/etc/mysql/mariadb.conf.d/99-stackyard-galera.cnf || true")
            if out.strip() != "1":
                return False
            value = sql(model, unit, "SELECT @@max_connections")
            if value != [["501"]]:
                return False
        return True
    model.until(rolled, timeout=900, interval=5, message="every node restarted with 501")
    roll = time.monotonic() - began
    model.wait(timeout=SETTLE)
    time.sleep(3)
    ok, fails = writer.stop(model)
    lost = set(ok) - committed_rows(model, units[0])
    _, history = action(model, target, "restart-history")
    print("\nrolling restart of 3 nodes (batch 1): %.0f s; writes through %s: %d committed, "
          "%d failed attempts, longest gap between commits %.1f s"
          % (roll, target, len(ok), len(fails), writer.longest_gap(writer.log(model))))
    assert ok and not lost, "committed rows lost: %s" % sorted(lost)[:20]
    for unit in units:
        assert sql(model, unit, "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_size'") == [
            ["wsrep_cluster_size", "3"]]


def test_backup_reports_folder_size_and_time(model):
    unit = galera_units(model)[0]
    result, task = action(model, unit, "backup")
    results = task.get("results", {})
    assert task.get("status") == "completed", result.report()
    assert int(results["size-bytes"]) > 1 << 20 and float(results["seconds"]) > 0, results
    mode = model.exec(unit, "stat -c '%%a' %s" % results["path"]).strip()
    assert mode == "700", mode
    print("\nbackup: %s bytes in %s s" % (results["size-bytes"], results["seconds"]))


def test_benchmark_db_reports_sysbench_figures(model):
    unit = galera_units(model)[0]
    result, task = action(model, unit, "benchmark-db", "duration=10", "threads=2",
                          "table-size=1000")
    results = task.get("results", {})
    assert task.get("status") == "completed", result.report()
    tps = float(results["results"]["transactions"]["value"]) if isinstance(
        results.get("results"), dict) else float(results["results.transactions.value"])
    assert tps > 0, results
    run = json.loads(results["run"])
    assert run["params"]["host"] == "local" and run["params"]["address"] == address(model, unit)
    # The leader's user ran it over TCP; its tables are gone, its database stays.
    assert sql(model, unit, "SHOW TABLES FROM stackyard_bench") == []
    assert sql(model, unit, "SELECT Host FROM mysql.user WHERE User='stackyard_bench'") == [
        ["%"]]
    print("\nbenchmark-db on %s (host=local): %.1f tx/s" % (unit, tps))


@pytest.mark.parametrize("params, named", [
    (("threads=0",), "threads"),
    (("duration=601",), "duration"),
    (("table-size=10",), "table-size"),
])
def test_benchmark_db_schema_refuses_out_of_range_params(model, params, named):
    result = model.fails("run", galera_units(model)[0], "benchmark-db", *params)
    assert "validation failed" in result.stderr and named in result.stderr, result.report()


def test_benchmark_db_refuses_a_host_it_does_not_benchmark(model):
    unit, other = galera_units(model)[:2]
    for host, message in (
            (address(model, other), "host %s is neither this node nor the configured vip"
             % address(model, other)),
            ("db.example", "host must be one of local, vip, this node's address"),
            ("vip", "host=vip: the vip option is not set")):
        _, task = action(model, unit, "benchmark-db", "host=" + host, check=False)
        assert task.get("status") == "failed", task
        assert task.get("message", "").startswith(message), task


def test_every_node_stopped_then_recover_cluster(model):
    units = galera_units(model)
    before = committed_rows(model, units[0])
    for unit in units:
        model.exec(unit, "systemctl stop mariadb", timeout=300)
    states = {}
    for unit in units:
        _, task = action(model, unit, "cluster-status")
        states[unit] = task["results"]
        assert states[unit]["running"] == "false", states[unit]
    began = time.monotonic()
    result, task = action(model, GALERA + "/leader", "recover-cluster")
    assert task.get("status") == "completed", result.report()
    chosen = task["results"]["bootstrap-unit"]
    print("\nrecover-cluster chose %s; states %s" % (
        chosen, {u: (s["seqno"], s["safe-to-bootstrap"]) for u, s in states.items()}))

    def back():
        return all(sql(model, u, "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_size'") == [
            ["wsrep_cluster_size", "3"]] for u in units
            if model.exec(u, "systemctl is-active mariadb || true").strip() == "active") and \
            all(model.exec(u, "systemctl is-active mariadb || true").strip() == "active"
                for u in units)
    model.until(back, timeout=600, interval=5, message="the cluster back with 3 nodes")
    print("cluster of 3 again %.0f s after recover-cluster" % (time.monotonic() - began))
    for unit in units:
        assert committed_rows(model, unit) >= before
    model.wait(timeout=SETTLE)
    until_active(model)


def test_a_killed_machine_leaves_a_cluster_of_two_serving(model):
    units = galera_units(model)
    victim = units[2]
    machine = model.units(GALERA)[victim]["machine"]
    before = committed_rows(model, units[0])
    model.run("kill-machine", machine)

    def two():
        return all(sql(model, u, "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_size'") == [
            ["wsrep_cluster_size", "2"]] for u in units[:2])
    began = time.monotonic()
    model.until(two, timeout=120, interval=2, message="a cluster of 2 after the kill")
    print("\ncluster of 2 (Primary) %.0f s after killing %s's machine"
          % (time.monotonic() - began, victim))
    for unit in units[:2]:
        assert sql(model, unit, "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_status'") == [
            ["wsrep_cluster_status", "Primary"]]
        assert committed_rows(model, unit) >= before
    # The probe still writes and reads through its db_host (a surviving node).
    model.run("config", PROBE, "timeout=4")
    model.wait(timeout=SETTLE)
    message = messages(model)[PROBE_UNIT]
    assert message["current"] == "active" and "round trip via" in message["message"], message


def test_no_password_in_logs_status_or_action_output(model):
    values, lines = secrets_shown(model, (GALERA,), OUTPUTS)
    assert len(values) >= 6, "root, sst, benchmark and three shared-db users' passwords"
    print("\nchecked %d passwords against debug-log (%d lines), status and %d action outputs"
          % (len(values), lines, len(OUTPUTS)))
