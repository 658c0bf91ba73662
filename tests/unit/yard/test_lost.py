"""Lost machines, leases, forced removal and retry-provisioning on the local provider.

Juju's texts checked here (juju/juju, 3.6):
- apiserver/common/unitstatus.go: a unit past install whose agent is not
  present reads agent ``lost`` "agent is not communicating with the server",
  workload ``unknown`` "agent lost, see 'juju show-status-log <unit>'".
- apiserver/common/machinestatus.go: the machine agent reads ``down`` with the
  same message.
- cmd/juju/machine/remove.go: "removing machine N failed: <err>" per machine,
  exit 1 (ErrSilent); state's HasAssignedUnitsError: 'machine N has unit "x/0"
  assigned'; "--no-wait without --force not valid" (errors.NotValidf).
- apiserver/facades/client/machinemanager: "machine N is not in an error state
  (<instance status>)" from retry-provisioning.
"""

import os
import time

import pytest

from yard.provider.base import ProviderError
from yard.provider.local import LocalProvider
from yard_harness import TINY, UserError

AGENT_LOST = "agent is not communicating with the server"


def machine_of(h, unit):
    return h.ctl.state.units[unit].machine


def new_records(h, unit, seen):
    return h.hook_log(unit)[seen[unit]:]


def departed(records):
    return [r["remote-unit"] for r in records if r["hook"] == "cluster-relation-departed"]


def test_killed_leader_is_lost_stays_in_scope_then_lease_moves_leadership(three):
    h = three
    h.call("model-config", values={"leadership-lease-duration": "2s"})
    machine = machine_of(h, "tiny/0")
    seen = {u: len(h.hook_log(u)) for u in ("tiny/1", "tiny/2")}
    h.call("kill-machine", machine=machine)
    st = h.status()
    assert st["machines"][machine]["juju-status"]["current"] == "down"
    assert st["machines"][machine]["juju-status"]["message"] == AGENT_LOST
    unit = st["applications"]["tiny"]["units"]["tiny/0"]
    assert unit["juju-status"]["current"] == "lost"
    assert unit["juju-status"]["message"] == AGENT_LOST
    assert unit["workload-status"]["current"] == "unknown"
    assert unit["workload-status"]["message"] == \
        "agent lost, see 'juju show-status-log tiny/0'"
    assert unit.get("leader") is True  # until its lease lapses
    h.wait()  # waits for the lease
    units = h.status()["applications"]["tiny"]["units"]
    assert sorted(units) == ["tiny/0", "tiny/1", "tiny/2"]
    assert units["tiny/1"].get("leader") is True and "leader" not in units["tiny/0"]
    assert "leader-elected" in [r["hook"] for r in new_records(h, "tiny/1", seen)]
    assert "leader-settings-changed" in [r["hook"] for r in new_records(h, "tiny/2", seen)]
    for u in ("tiny/1", "tiny/2"):
        assert departed(new_records(h, u, seen)) == []
        related = h.call("show-unit", units=[u])[u]["relation-info"][0]["related-units"]
        assert "tiny/0" in related


def test_remove_machine_refuses_units_then_force_departs_them(three):
    h = three
    h.call("model-config", values={"leadership-lease-duration": "1s"})
    machine = machine_of(h, "tiny/0")
    h.call("kill-machine", machine=machine)
    h.wait()
    res = h.call("remove-machine", machines=[machine, "9"])
    assert res == {"failed": True, "message":
                   f'removing machine {machine} failed: machine {machine} has unit "tiny/0" '
                   'assigned\nremoving machine 9 failed: machine 9 not found'}
    seen = {u: len(h.hook_log(u)) for u in ("tiny/1", "tiny/2")}
    res = h.call("remove-machine", machines=[machine], force=True)
    assert res == {"failed": False,
                   "message": f"removing machine {machine}\n- will remove unit tiny/0"}
    h.wait()
    st = h.status()
    assert machine not in st["machines"]
    assert sorted(st["applications"]["tiny"]["units"]) == ["tiny/1", "tiny/2"]
    for u in ("tiny/1", "tiny/2"):
        assert departed(new_records(h, u, seen)) == ["tiny/0"]
    # The instance goes in the background, as Juju's provisioner stops it.
    h.until(lambda: not os.path.exists(os.path.join(h.root, machine)), timeout=30,
            message="the instance of machine %s gone" % machine)


def test_lease_holds_until_it_lapses(three):
    h = three
    h.call("model-config", values={"leadership-lease-duration": "1h"})
    h.call("kill-machine", machine=machine_of(h, "tiny/0"))
    with pytest.raises(UserError, match=r'application "tiny": the lease of its lost leader '
                       r'tiny/0 lapses in \d+s'):
        h.wait(timeout=1)
    assert h.ctl.state.applications["tiny"].leader == "tiny/0"
    h.call("model-config", values={"leadership-lease-duration": "1s"})
    h.wait()
    assert h.ctl.state.applications["tiny"].leader == "tiny/1"


def test_lost_unit_runs_nothing_and_its_tasks_stay_pending(three):
    h = three
    h.call("model-config", values={"leadership-lease-duration": "1s"})
    machine = machine_of(h, "tiny/2")
    h.call("kill-machine", machine=machine)
    ran = len(h.call("hooks", unit="tiny/2"))
    tid = h.call("exec", unit="tiny/2", command="true")["id"]
    h.call("config", app="tiny", values={"greeting": "lost"})
    h.wait()  # settles: nothing the lost agent would do is waited for
    assert len(h.call("hooks", unit="tiny/2")) == ran
    assert h.call("task", id=tid)["status"] == "pending"
    h.call("remove-machine", machines=[machine], force=True)
    h.wait()
    task = h.call("task", id=tid)
    assert (task["status"], task["message"]) == ("failed", "unit removed")


def test_kill_machine_errors(three):
    h = three
    with pytest.raises(UserError, match="^machine 9 not found$"):
        h.call("kill-machine", machine="9")
    machine = machine_of(h, "tiny/1")
    h.call("kill-machine", machine=machine)
    with pytest.raises(UserError, match=rf"^machine {machine} is not running \(down\)$"):
        h.call("kill-machine", machine=machine)


def test_no_wait_needs_force(three):
    for cmd, args in (("remove-unit", {"units": ["tiny/1"]}),
                      ("remove-application", {"apps": ["tiny"]}),
                      ("remove-machine", {"machines": ["0"]})):
        with pytest.raises(UserError, match="^--no-wait without --force not valid$"):
            three.call(cmd, no_wait=True, **args)


def test_remove_unit_force_clears_a_unit_in_error(three):
    h = three
    h.call("fail-hook", unit="tiny/1", hook="config-changed")
    h.call("config", app="tiny", values={"greeting": "x"})
    with pytest.raises(UserError, match='unit "tiny/1" is in error'):
        h.wait()
    h.call("remove-unit", units=["tiny/1"])
    h.until(lambda: h.ctl.state.units["tiny/1"].alive is False, message="dying")
    assert "tiny/1" in h.ctl.state.units  # in error: its teardown does not start
    seen = {u: len(h.hook_log(u)) for u in ("tiny/0", "tiny/2")}
    h.call("remove-unit", units=["tiny/1"], force=True, no_wait=True)
    h.wait()
    assert "tiny/1" not in h.status()["applications"]["tiny"]["units"]
    for u in ("tiny/0", "tiny/2"):
        assert departed(new_records(h, u, seen)) == ["tiny/1"]


def test_remove_unit_force_waits_a_minute_for_a_clean_removal(three):
    """Without --no-wait Juju gives the unit max-wait (1 minute) to go by itself."""
    h = three
    h.call("kill-machine", machine=machine_of(h, "tiny/2"))
    before = time.time()
    h.call("remove-unit", units=["tiny/2"], force=True)
    at = h.ctl.state.units["tiny/2"].force_at
    assert before + 59 <= at <= time.time() + 60
    with pytest.raises(UserError, match=r'unit "tiny/2" is being removed \(--force\)'):
        h.wait(timeout=0.5)


def test_remove_application_force_takes_lost_units_and_their_machines(h):
    h.call("deploy", path=TINY, num_units=1)
    h.call("deploy", path=TINY, name="front", num_units=1)
    h.call("relate", a="tiny:db", b="front:backend")
    h.wait()
    machine = machine_of(h, "tiny/0")
    h.call("model-config", values={"leadership-lease-duration": "1s"})
    h.call("kill-machine", machine=machine)
    h.wait()
    seen = {"front/0": len(h.hook_log("front/0"))}
    h.call("remove-application", apps=["tiny"])
    h.wait()  # settles stuck: a lost unit cannot tear down, so it never leaves scope
    st = h.status()
    assert st["applications"]["tiny"]["life"] == "dying"
    assert [r["status"] for r in st["relations"] if r["key"] == "front:backend tiny:db"] == \
        ["dying"]
    # the relation is dying: front leaves it on its own (departed, then broken)
    names = [r["hook"] for r in new_records(h, "front/0", seen)]
    assert names[-2:] == ["backend-relation-departed", "backend-relation-broken"], names
    h.call("remove-application", apps=["tiny"], force=True, no_wait=True)
    h.wait()
    st = h.status()
    assert "tiny" not in st["applications"] and machine not in st["machines"]
    assert [r["key"] for r in st["relations"]] == ["front:cluster"]


def failing_create(h, times):
    """Make the local provider fail to create the next ``times`` machines."""
    real = h.provider.create_machine
    left = [times]

    def create(mid):
        if left[0] > 0:
            left[0] -= 1
            raise ProviderError("no room for the container")
        return real(mid)
    h.provider.create_machine = create


def test_failed_machine_shows_error_and_retry_provisioning_starts_it(h):
    failing_create(h, 1)
    h.call("deploy", path=TINY, num_units=1)
    with pytest.raises(UserError, match='machine "0" failed to start: no room for the '
                       'container'):
        h.wait()
    m = h.status()["machines"]["0"]
    assert m["juju-status"]["current"] == "error"
    assert m["machine-status"] == {"current": "provisioning error",
                                   "message": "no room for the container"}
    unit = h.status()["applications"]["tiny"]["units"]["tiny/0"]
    assert unit["juju-status"]["current"] == "allocating"
    with pytest.raises(UserError, match=r'^machine "7" not found$'):
        h.call("retry-provisioning", machines=["7"])
    h.call("retry-provisioning", machines=["0"])
    h.wait()
    assert h.status()["machines"]["0"]["juju-status"]["current"] == "started"
    assert "start" in h.hooks("tiny/0")
    with pytest.raises(UserError, match=r"^machine 0 is not in an error state \(running\)$"):
        h.call("retry-provisioning", machines=["0"])


def test_units_on_a_failed_machine_are_removed_at_once(h):
    """Their agent never started: Juju removes a unit still allocating in one step."""
    failing_create(h, 2)
    h.call("deploy", path=TINY, num_units=2)
    h.until(lambda: all(m.status == "error" for m in h.ctl.state.machines.values())
            and len(h.ctl.state.machines) == 2, message="machines in error")
    h.call("remove-unit", units=["tiny/0"])
    h.call("remove-application", apps=["tiny"], force=True)
    h.wait()
    st = h.status()
    assert st["applications"] == {} and st["machines"] == {}


def test_local_provider_kill_stops_without_deleting(tmp_path):
    p = LocalProvider("m", root=str(tmp_path))
    p.create_machine("0")
    p.kill_machine("0")
    assert p.list_machines() == []
    assert os.path.isdir(tmp_path / "0")
    with pytest.raises(ProviderError, match='machine "0" not found'):
        p.exec("0", ["true"])
    p.destroy_machine("0")
    assert not os.path.exists(tmp_path / "0")


def test_cli_remove_machine_kill_machine_and_model_config(tmp_path):
    """Juju's output for these verbs: stderr lines, exit codes, the tabular states."""
    from test_cli import CLI
    c = CLI(tmp_path, model="lostcli")
    try:
        assert c("model-config", "leadership-lease-duration").stdout == "1m\n"
        c("model-config", "leadership-lease-duration=1s")
        c("deploy", os.path.join(os.path.dirname(TINY), "tiny"), "-n", "2", "--wait")
        c.fails("remove-machine", "0", "--no-wait",
                message="--no-wait without --force not valid")
        proc = c("remove-machine", "0", "7", check=False)
        assert proc.returncode == 1
        assert proc.stderr == ('removing machine 0 failed: machine 0 has unit "tiny/0" '
                               'assigned\nremoving machine 7 failed: machine 7 not found\n')
        c("kill-machine", "0")
        c("wait")
        table = c("status").stdout
        unit = next(line for line in table.splitlines() if line.startswith("tiny/0"))
        assert unit.split()[1:3] == ["unknown", "lost"], unit
        assert "agent lost, see 'juju show-status-log tiny/0'" in unit
        machine = next(line for line in table.splitlines() if line.startswith("0 "))
        assert machine.split()[1] == "down", machine
        proc = c("remove-machine", "0", "--force", "--wait")
        assert proc.stderr.startswith("removing machine 0\n- will remove unit tiny/0\n")
        assert "tiny/0" not in c("status").stdout
    finally:
        c("destroy-model", "--no-prompt", check=False)


def test_work_cut_short_by_a_kill_is_neither_committed_nor_failed(three):
    h = three
    h.call("model-config", values={"leadership-lease-duration": "1s"})
    tid = h.call("exec", unit="tiny/1", command="sleep 1; echo done")["id"]
    h.until(lambda: h.call("task", id=tid)["status"] == "running", message="running")
    h.call("kill-machine", machine=machine_of(h, "tiny/1"))
    h.until(lambda: "tiny/1" not in h.ctl.busy_units, timeout=10, message="the exec ended")
    task = h.call("task", id=tid)
    assert task["status"] == "running" and task["results"] == {}
    assert h.ctl.state.units["tiny/1"].local.error is None
    h.wait()  # a lost unit's work is not waited for
