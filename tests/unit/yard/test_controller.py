"""The controller end to end on the local provider with the tiny bash charms."""

import os

import pytest

from yard_harness import TINY, TINYSUB, Harness, UserError

LEADER_SETUP = ["install", "cluster-relation-created", "leader-elected", "config-changed",
                "start"]
MINION_SETUP = ["install", "cluster-relation-created", "leader-settings-changed",
                "config-changed", "start"]


def test_lifecycle_order_leader_and_minions(three):
    h = three
    assert h.hooks("tiny/0")[:5] == LEADER_SETUP
    for unit in ("tiny/1", "tiny/2"):
        names = h.hooks(unit)
        assert names[:5] == MINION_SETUP, names
    for unit in ("tiny/0", "tiny/1", "tiny/2"):
        log = h.hook_log(unit)
        start = [r["hook"] for r in log].index("start")
        rel = [(r["hook"], r["remote-unit"]) for r in log[start:]
               if r["hook"] in ("cluster-relation-joined", "cluster-relation-changed")
               and r["remote-unit"]]
        peers = sorted(u for u in ("tiny/0", "tiny/1", "tiny/2") if u != unit)
        # Each peer joins once, and its joined is followed at once by its changed.
        # A peer that joined earlier may have changed again in between: that is
        # Juju too, so only the pairs are checked, not a fixed sequence.
        joined = [i for i, x in enumerate(rel) if x[0] == "cluster-relation-joined"]
        assert sorted(rel[i][1] for i in joined) == peers, rel
        for i in joined:
            assert rel[i + 1:i + 2] == [("cluster-relation-changed", rel[i][1])], rel


def test_status_json_shape(three):
    st = three.status()
    app = st["applications"]["tiny"]
    units = app["units"]
    assert sorted(units) == ["tiny/0", "tiny/1", "tiny/2"]
    assert units["tiny/0"]["leader"] is True
    assert "leader" not in units["tiny/1"]
    for u in units.values():
        assert u["workload-status"] == {"current": "active", "message": "greeting: hello",
                                        "since": u["workload-status"]["since"]}
        assert u["juju-status"]["current"] == "idle"
        assert u["open-ports"] == ["8080/tcp"]
        assert st["machines"][u["machine"]]["dns-name"] == u["public-address"]
    assert app["version"] == "1"
    assert app["relations"]["cluster"][0]["related-application"] == "tiny"


def test_hooks_table_rows(three):
    rows = [r for r in three.call("hooks") if r["unit"] == "tiny/0"]
    assert [r["hook"] for r in rows][:5] == LEADER_SETUP
    assert all(r["exit-code"] == 0 and r["duration"] >= 0 for r in rows)


def test_peer_app_bag_written_by_leader_seen_by_all(three):
    for unit in ("tiny/0", "tiny/1", "tiny/2"):
        info = three.call("show-unit", units=[unit])[unit]["relation-info"][0]
        assert info["application-data"] == {"greeting": "hello"}
        assert info["local-unit"]["data"]["private-address"]
        assert len(info["related-units"]) == 2


def test_failed_hook_rolls_back_relation_data_then_resolved(three):
    h = three
    h.call("config", app="tiny", values={"greeting": "bad", "fail-config-changed": True})
    with pytest.raises(UserError, match=r'unit "tiny/\d" is in error: hook failed: '
                                        r'"config-changed"'):
        h.wait()
    h.until(lambda: all(u["workload-status"]["current"] == "error"
                        for u in h.status()["applications"]["tiny"]["units"].values()))
    st = h.status()["applications"]["tiny"]["units"]["tiny/1"]
    assert st["workload-status"]["message"] == 'hook failed: "config-changed"'
    assert st["juju-status"]["current"] == "idle"
    info = h.call("show-unit", units=["tiny/1"])["tiny/1"]["relation-info"][0]
    assert info["local-unit"]["data"]["greeting"] == "hello"
    assert info["application-data"]["greeting"] == "hello"
    # actions still run on a unit in error
    assert h.run_action("tiny/1", "echo", {"message": "x"})["status"] == "completed"
    h.call("config", app="tiny", values={"fail-config-changed": False})
    for u in ("tiny/0", "tiny/1", "tiny/2"):
        h.call("resolved", unit=u)
    h.wait()
    info = h.call("show-unit", units=["tiny/1"])["tiny/1"]["relation-info"][0]
    assert info["local-unit"]["data"]["greeting"] == "bad"
    assert info["application-data"]["greeting"] == "bad"
    with pytest.raises(UserError, match='unit "tiny/1" is not in an error state'):
        h.call("resolved", unit="tiny/1")


def test_resolved_no_retry_skips(three):
    h = three
    h.call("fail-hook", unit="tiny/2", hook="config-changed")
    h.call("config", app="tiny", values={"greeting": "x"})
    h.until(lambda: h.ctl.state.units["tiny/2"].local.error is not None)
    ran = h.hooks("tiny/2").count("config-changed")
    h.call("resolved", unit="tiny/2", no_retry=True)
    h.wait()
    assert h.hooks("tiny/2").count("config-changed") == ran
    fails = [r for r in h.call("hooks", unit="tiny/2") if r["exit-code"] != 0]
    assert [r["hook"] for r in fails] == ["config-changed"]


def test_automatic_retry(three):
    h = three
    h.call("model-config", values={"automatically-retry-hooks": "true"})
    h.call("fail-hook", unit="tiny/1", hook="config-changed")
    h.call("config", app="tiny", values={"greeting": "again"})
    h.until(lambda: h.ctl.state.units["tiny/1"].failures == 1)
    with pytest.raises(UserError, match='unit "tiny/1" is in error'):
        h.wait()
    h.until(lambda: h.ctl.state.units["tiny/1"].local.error is None, timeout=20)
    h.wait(timeout=30)
    rows = [r for r in h.call("hooks", unit="tiny/1") if r["hook"] == "config-changed"]
    assert [r["exit-code"] for r in rows][-2:] == [1, 0]
    assert rows[-1]["start"] - rows[-2]["start"] >= 4.5


def test_actions_results_failures_and_validation(three):
    h = three
    task = h.run_action("tiny/leader", "echo", {"message": "hi", "count": 3})
    assert task["status"] == "completed"
    assert task["unit"] == "tiny/0"
    assert task["results"]["echo"] == "hi hi hi"
    assert task["results"]["return-code"] == 0
    assert task["results"]["stdout"] == "said it\n"
    task = h.run_action("tiny/1", "echo", {"message": "hi", "count": 0})
    assert task["status"] == "failed"
    assert task["message"] == "count must be at least 1, got 0"
    with pytest.raises(UserError, match=r'^validation failed: \(root\) : "message" is required$'):
        h.call("run", target="tiny/1", action="echo", params={})
    with pytest.raises(UserError, match=r'additional property "colour" is not allowed'):
        h.call("run", target="tiny/1", action="echo", params={"message": "a", "colour": 1})
    with pytest.raises(UserError, match=r"\(root\)\.count : must be of type integer"):
        h.call("run", target="tiny/1", action="echo", params={"message": "a", "count": "x"})
    with pytest.raises(UserError, match='action "nope" not defined on unit "tiny/1"'):
        h.call("run", target="tiny/1", action="nope")
    task = h.run_action("tiny/1", "open", {"anything": 1})
    assert task["status"] == "failed"
    assert task["message"] == 'action not implemented on unit "tiny/1"'


def test_upgrade_charm_then_config_changed(three, tmp_path):
    import shutil
    h = three
    new = tmp_path / "tiny-v2"
    shutil.copytree(TINY, new)
    (new / "hooks" / "common.sh").write_text(
        (new / "hooks" / "common.sh").read_text() + "\n# v2\n")
    (new / "hooks" / "remove").unlink()
    unit_charm = h.machine_dir("tiny/1") + "/var/lib/juju/agents/unit-tiny-1/charm"
    with open(unit_charm + "/.unit-state.db", "w") as f:
        f.write("kept")
    seen = len(h.hooks("tiny/1"))
    h.call("upgrade-charm", app="tiny", path=str(new))
    h.wait()
    after = [x for x in h.hooks("tiny/1")[seen:] if x != "leader-settings-changed"]
    assert after[:2] == ["upgrade-charm", "config-changed"]
    charm = h.machine_dir("tiny/1") + "/var/lib/juju/agents/unit-tiny-1/charm/hooks/common.sh"
    assert "# v2" in open(charm).read()
    assert not os.path.exists(unit_charm + "/hooks/remove")  # the manifest deployer (2.7)
    assert open(unit_charm + "/.unit-state.db").read() == "kept"
    # Juju's local charm revisions: the first upload of "tiny" is 0, the refresh 1.
    assert h.status()["applications"]["tiny"]["charm-rev"] == 1


def test_remove_unit_teardown_and_machine_goes(three):
    h = three
    machine = h.ctl.state.units["tiny/2"].machine
    h.call("remove-unit", units=["tiny/2"])
    h.wait()
    rows = [r["hook"] for r in h.call("hooks", unit="tiny/2")]
    tail = rows[rows.index("cluster-relation-departed"):]
    assert tail == ["cluster-relation-departed", "cluster-relation-departed", "stop", "remove"]
    assert machine not in h.status()["machines"]
    departed = [r for r in h.hook_log("tiny/0") if r["hook"] == "cluster-relation-departed"]
    assert [(r["remote-unit"], r["departing"]) for r in departed] == [("tiny/2", "tiny/2")]


def test_regular_relation_and_app_bag(h):
    h.call("deploy", path=TINY, num_units=2)
    h.call("deploy", path=TINY, name="front", num_units=1)
    h.call("relate", a="tiny:db", b="front:backend")
    h.wait()
    info = h.call("show-unit", units=["front/0"])["front/0"]["relation-info"]
    backend = [i for i in info if i["endpoint"] == "backend"][0]
    assert backend["related-endpoint"] == "db"
    assert backend["application-data"] == {"greeting": "hello"}
    assert sorted(backend["related-units"]) == ["tiny/0", "tiny/1"]
    names = h.hooks("front/0")
    assert "backend-relation-created" in names
    log = [(r["hook"], r["remote-unit"]) for r in h.hook_log("front/0")]
    for u in ("tiny/0", "tiny/1"):
        at = log.index(("backend-relation-joined", u))
        assert log[at + 1] == ("backend-relation-changed", u)
    # the leader of tiny writes its app bag: front sees an app-level changed
    app_changed = [r for r in h.hook_log("front/0")
                   if r["hook"] == "backend-relation-changed" and not r["remote-unit"]]
    assert app_changed and app_changed[0]["remote-app"] == "tiny"
    h.call("remove-relation", a="tiny", b="front:backend")
    h.wait()
    assert h.hooks("front/0")[-1] == "backend-relation-broken"
    assert "db-relation-broken" in h.hooks("tiny/1")


def test_subordinate_on_principal_machine_sees_only_its_counterpart(h):
    h.call("deploy", path=TINY, num_units=2)
    h.call("deploy", path=TINYSUB)
    h.call("relate", a="tinysub", b="tiny")
    h.wait()
    units = h.ctl.state.units
    subs = sorted(n for n in units if n.startswith("tinysub/"))
    assert len(subs) == 2
    for s in subs:
        principal = units[s].principal
        assert units[s].machine == units[principal].machine
        joined = [r["remote-unit"] for r in h.hook_log(s) if r["hook"] == "host-relation-joined"]
        assert joined == [principal]
        assert {r["principal"] for r in h.hook_log(s)} == {principal}
    st = h.status()
    assert sorted(st["applications"]["tiny"]["units"]["tiny/0"]["subordinates"]) in (
        [subs[0]], [subs[1]])
    assert st["applications"]["tinysub"]["subordinate-to"] == ["tiny"]
    # principal side (implicit juju-info) runs no hooks for it
    assert not [x for x in h.hooks("tiny/0") if x.startswith("juju-info")]


def test_update_status_on_interval(three):
    h = three
    h.call("model-config", values={"update-status-hook-interval": "1s"})
    h.until(lambda: h.hooks("tiny/1").count("update-status") >= 2, timeout=10)


def test_config_get_set_reset(three):
    h = three
    assert h.call("config", app="tiny", key="greeting") == {"value": "hello"}
    h.call("config", app="tiny", values={"count": "5"})
    assert h.call("config", app="tiny", key="count") == {"value": 5}
    with pytest.raises(UserError, match='option "count" expected int, got "x"'):
        h.call("config", app="tiny", values={"count": "x"})
    with pytest.raises(UserError, match='unknown option "nope"'):
        h.call("config", app="tiny", values={"nope": "1"})
    h.call("config", app="tiny", reset=["count"])
    full = h.call("config", app="tiny")
    assert full["settings"]["count"]["source"] == "default"
    assert full["settings"]["count"]["value"] == 1


def test_unknown_things_read_like_juju(h):
    with pytest.raises(UserError, match='^application "foo" not found$'):
        h.call("config", app="foo")
    with pytest.raises(UserError, match='^unit "foo/0" not found$'):
        h.call("show-unit", units=["foo/0"])
    h.call("deploy", path=TINY, num_units=0)
    with pytest.raises(UserError, match='^application "tiny" has no "nope" relation$'):
        h.call("relate", a="tiny:nope", b="tiny")
    h.call("deploy", path=TINY, name="other", num_units=0)
    with pytest.raises(UserError, match="^no relations found$"):
        h.call("relate", a="tiny:other", b="other:db")
    with pytest.raises(UserError, match="ambiguous relation"):
        h.call("relate", a="tiny", b="other")


def test_controller_restart_reruns_config_changed(tmp_path):
    h = Harness(tmp_path)
    h.call("deploy", path=TINY, num_units=2)
    h.wait()
    h.stop()
    seen = {u: len(h.hooks(u)) for u in ("tiny/0", "tiny/1")}
    h2 = Harness(tmp_path)
    try:
        h2.wait()
        assert h2.hooks("tiny/0")[seen["tiny/0"]:] == ["config-changed"]
        expected = ["leader-settings-changed", "config-changed"]
        assert h2.hooks("tiny/1")[seen["tiny/1"]:] == expected
        assert h2.status()["applications"]["tiny"]["units"]["tiny/0"]["leader"] is True
    finally:
        h2.stop()


def test_bundle_deployed_again_applies_the_difference(h, tmp_path):
    bundle = tmp_path / "b.yaml"
    bundle.write_text(f"applications:\n  tiny:\n    charm: {TINY}\n    num_units: 1\n")
    h.call("deploy", path=str(bundle))
    h.wait()
    bundle.write_text(f"applications:\n  tiny:\n    charm: {TINY}\n    num_units: 2\n"
                      "    options: {greeting: again}\n")
    res = h.call("deploy", path=str(bundle))
    assert "- set application options for tiny" in res["message"]
    assert "- add unit tiny/1" in res["message"]
    h.wait()
    units = h.status()["applications"]["tiny"]["units"]
    assert {u["workload-status"]["message"] for u in units.values()} == {"greeting: again"}
    assert "- no changes" in h.call("deploy", path=str(bundle))["message"]


def test_subordinate_goes_with_its_relation(h):
    h.call("deploy", path=TINY, num_units=1)
    h.call("deploy", path=TINYSUB)
    h.call("relate", a="tinysub", b="tiny")
    h.wait()
    seen = len(h.call("hooks", unit="tinysub/0"))
    h.call("remove-relation", a="tinysub:host", b="tiny:juju-info")
    h.wait()
    assert "tinysub/0" not in h.ctl.state.units
    assert not h.ctl.state.relations.get(2)
    assert "subordinates" not in h.status()["applications"]["tiny"]["units"]["tiny/0"]
    rows = [r["hook"] for r in h.call("hooks", unit="tinysub/0")][seen:]
    assert rows == ["host-relation-departed", "host-relation-broken", "stop", "remove"]
