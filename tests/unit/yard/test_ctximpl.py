"""Relation bag permissions and commit/rollback, through the real hook tools (yard exec)."""

import pytest

from yard_harness import TINY, Harness


@pytest.fixture(scope="module")
def h(tmp_path_factory):
    harness = Harness(tmp_path_factory.mktemp("perm"))
    harness.call("deploy", path=TINY, num_units=2)
    harness.call("deploy", path=TINY, name="front", num_units=2)
    harness.call("relate", a="tiny:db", b="front:backend")
    harness.wait()
    yield harness
    harness.stop()


def rid(h, unit, endpoint):
    code, out, _ = h.exec(unit, f"relation-ids {endpoint}")
    assert code == 0
    return out.strip()


def test_minion_cannot_write_peer_app_bag_but_reads_it(h):
    r = rid(h, "tiny/1", "cluster")
    code, out, err = h.exec("tiny/1", f"relation-set -r {r} --app intruder=yes")
    assert code == 1 and err == "ERROR cannot write relation settings\n"
    code, out, _ = h.exec("tiny/1", f"relation-get -r {r} --app greeting tiny")
    assert (code, out) == (0, "hello\n")


def test_non_peer_own_app_bag_is_leader_only(h):
    r = rid(h, "front/1", "backend")
    code, _, err = h.exec("front/1", f"relation-get -r {r} --app - front")
    assert code == 1 and "permission denied" in err
    code, out, _ = h.exec("front/0", f"relation-get -r {r} --app - front")
    assert code == 0
    code, out, _ = h.exec("front/1", f"relation-get -r {r} --app greeting tiny")
    assert (code, out) == (0, "hello\n")


def test_own_writes_visible_in_the_same_context_and_committed_on_success(h):
    r = rid(h, "front/1", "backend")
    code, out, _ = h.exec("front/1", f"relation-set -r {r} k=v && relation-get -r {r} k front/1")
    assert (code, out) == (0, "v\n")
    bag = h.call("show-unit", units=["front/1"])["front/1"]["relation-info"]
    assert [i for i in bag if i["endpoint"] == "backend"][0]["local-unit"]["data"]["k"] == "v"


def test_writes_discarded_when_the_context_fails(h):
    r = rid(h, "front/1", "backend")
    code, _, _ = h.exec("front/1", f"relation-set -r {r} lost=1; open-port 9999/tcp; exit 3")
    assert code == 3
    info = h.call("show-unit", units=["front/1"])["front/1"]
    bag = [i for i in info["relation-info"] if i["endpoint"] == "backend"][0]
    assert "lost" not in bag["local-unit"]["data"]
    assert "9999/tcp" not in info["opened-ports"]


def test_remote_side_sees_committed_change(h):
    r = rid(h, "front/0", "backend")
    before = [x for x in h.hooks("tiny/0") if x == "db-relation-changed"]
    h.exec("front/0", f"relation-set -r {r} fresh=1")
    h.wait()
    after = [x for x in h.hook_log("tiny/0") if x["hook"] == "db-relation-changed"]
    assert len(after) == len(before) + 1 and after[-1]["remote-unit"] == "front/0"


def test_no_change_no_hook(h):
    r = rid(h, "front/0", "backend")
    h.exec("front/0", f"relation-set -r {r} same=1")
    h.wait()
    before = len(h.hooks("tiny/0"))
    h.exec("front/0", f"relation-set -r {r} same=1")
    h.wait()
    assert len(h.hooks("tiny/0")) == before


def test_leader_set_is_leader_only(h):
    code, _, err = h.exec("tiny/1", "leader-set x=1")
    assert code == 1
    assert err == ("ERROR cannot write leadership settings: cannot write settings: "
                   "not the leader\n")
    code, out, _ = h.exec("tiny/1", "leader-get leader-unit")
    assert (code, out) == (0, "tiny/0\n")


def test_hook_environment(h):
    code, out, _ = h.exec("tiny/1", "env")
    env = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert env["JUJU_UNIT_NAME"] == "tiny/1"
    assert env["JUJU_MODEL_NAME"] == "test"
    assert env["JUJU_VERSION"].startswith("3.6.")
    assert env["JUJU_AGENT_SOCKET_NETWORK"] == "tcp"
    assert env["JUJU_CONTEXT_ID"].startswith("tiny/1-run-commands-")
    assert env["JUJU_CHARM_DIR"].endswith("/var/lib/juju/agents/unit-tiny-1/charm")
    assert env["JUJU_PRINCIPAL_UNIT"] == ""
    assert env["PATH"].split(":")[0].endswith("/var/lib/juju/tools/unit-tiny-1")


def test_remote_unit_settings_cached_until_a_hook_for_that_unit(h):
    """Section 1.4: a unit keeps its copy of a remote unit's bag until a hook for it runs."""
    r = rid(h, "tiny/1", "cluster")
    h.exec("tiny/0", f"relation-set -r {r} cached=old")
    h.wait()
    assert h.exec("tiny/1", f"relation-get -r {r} cached tiny/0")[1] == "old\n"
    busy = h.call("exec", unit="tiny/1", command="sleep 2")["id"]
    h.exec("tiny/0", f"relation-set -r {r} cached=new")  # commits while tiny/1 sleeps
    # queued behind the sleep, the exec outranks the pending relation-changed
    read = h.call("exec", unit="tiny/1", command=f"relation-get -r {r} cached tiny/0")["id"]
    assert h.call("task", id=busy, wait=30)["status"] == "completed"
    assert h.call("task", id=read, wait=30)["results"]["stdout"] == "old\n"
    h.wait()
    last = [x for x in h.hook_log("tiny/1") if x["hook"] == "cluster-relation-changed"][-1]
    assert last["remote-unit"] == "tiny/0"
    assert h.exec("tiny/1", f"relation-get -r {r} cached tiny/0")[1] == "new\n"
