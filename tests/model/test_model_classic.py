"""A classic (bash hooks) charm on a peer relation: yard-classic x3.

One deployment shared by the module; tests run in file order and the last one
kills the leader's machine.  Covers lifecycle order, peer relation data and
its permissions, leadership settings, actions, a failed hook's rollback and
``resolved``, upgrade-charm, and leader failover.
"""

import json
import shutil

import pytest

from conftest import skip_or_fail

pytestmark = pytest.mark.model

APP = "yard-classic"
LEADER_SETUP = ["install", "cluster-relation-created", "leader-elected", "config-changed",
                "start"]
MINION_SETUP = ["install", "cluster-relation-created", "leader-settings-changed",
                "config-changed", "start"]


@pytest.fixture(scope="module")
def model(yard):
    yard.deploy_bundle("classic-peers")
    return yard


def hooks(records):
    return [r["hook"] for r in records]


def peer_rid(yard, unit):
    rid = yard.exec(unit, "relation-ids cluster").strip()
    assert rid.startswith("cluster:"), rid
    return rid


def minions(yard):
    leader = yard.leader(APP)
    return leader, sorted(u for u in yard.units(APP) if u != leader)


def all_in_error(yard, hook):
    units = yard.units(APP)
    message = 'hook failed: "%s"' % hook
    return all(u["workload-status"]["current"] == "error"
               and u["workload-status"].get("message") == message for u in units.values())


def test_units_active_with_ports_and_version(model):
    status = model.status()
    app = status["applications"][APP]
    units = app["units"]
    assert sorted(units) == ["yard-classic/0", "yard-classic/1", "yard-classic/2"]
    assert [u.get("leader", False) for u in units.values()].count(True) == 1
    assert len({u["machine"] for u in units.values()}) == 3
    for name, unit in units.items():
        assert unit["workload-status"]["current"] == "active", (name, unit)
        assert unit["workload-status"]["message"] == "greeting: hello"
        assert unit["juju-status"]["current"] == "idle"
        assert unit["public-address"]
        assert "8080/tcp" in unit.get("open-ports", []), unit
        assert status["machines"][unit["machine"]]["dns-name"] == unit["public-address"]
    assert app.get("version") == "1"


def test_machines_got_the_native_hook_tool_client(model):
    """With a C compiler on the host (yard's setup installs one), jujuc is the native build."""
    from yard.tools import native
    if native.compiler() is None:
        skip_or_fail("no C compiler on this host: machines get client.py")
    out = model.exec("yard-classic/0",
                     'head -c 4 "$(dirname "$(command -v is-leader)")/jujuc" | od -An -tx1')
    assert out.split() == ["7f", "45", "4c", "46"], out     # an ELF binary, not client.py
    assert model.exec("yard-classic/0", "is-leader --format=json").strip() in ("true", "false")


def test_lifecycle_order(model):
    leader, others = minions(model)
    for unit in [leader] + others:
        names = hooks(model.hook_log(unit, APP))
        expected = LEADER_SETUP if unit == leader else MINION_SETUP
        assert names[:5] == expected, (unit, names)
        if unit == leader:
            assert "leader-settings-changed" not in names, names


def test_peer_joined_then_changed_after_start(model):
    units = sorted(model.units(APP))
    for unit in units:
        records = model.hook_log(unit, APP)
        start = hooks(records).index("start")
        relation_hooks = [r for r in records if r["hook"].startswith("cluster-relation-")]
        for peer in (u for u in units if u != unit):
            joined = [i for i, r in enumerate(relation_hooks)
                      if r["hook"] == "cluster-relation-joined" and r["remote-unit"] == peer]
            assert len(joined) == 1, (unit, peer, hooks(relation_hooks))
            after = relation_hooks[joined[0] + 1]
            assert (after["hook"], after["remote-unit"]) == ("cluster-relation-changed", peer)
            assert records.index(relation_hooks[joined[0]]) > start


def test_yard_hooks_matches_what_ran(model):
    leader = model.leader(APP)
    rows = [r for r in model.json("hooks") if r["unit"] == leader]
    assert [r["hook"] for r in rows][:5] == LEADER_SETUP
    assert all(r["exit-code"] == 0 for r in rows[:5]), rows[:5]
    assert all(isinstance(r["duration"], (int, float)) for r in rows)


def test_peer_relation_data_in_unit_and_app_bags(model):
    leader, others = minions(model)
    for unit in [leader] + others:
        info = model.relation_info(unit, "cluster")
        assert info["related-endpoint"] == "cluster"
        assert info["application-data"]["greeting"] == "hello"
        assert info["application-data"]["leader-unit"] == leader
        related = info["related-units"]
        assert sorted(related) == sorted(u for u in [leader] + others if u != unit)
        for peer, bag in related.items():
            assert bag["data"]["greeting"] == "hello", (unit, peer, bag)
            assert bag["data"]["private-address"], (unit, peer, bag)


def test_app_level_changed_only_on_minions(model):
    leader, others = minions(model)
    for unit in [leader] + others:
        app_changed = [r for r in model.hook_log(unit, APP)
                       if r["hook"] == "cluster-relation-changed" and not r["remote-unit"]]
        if unit == leader:
            # The leader never hears of its own app-bag writes.
            assert app_changed == [], app_changed
        else:
            assert app_changed and {r["remote-app"] for r in app_changed} == {APP}
            assert app_changed[-1]["remote-greeting"] == "hello"


def test_changed_hook_saw_remote_unit_bag(model):
    leader, others = minions(model)
    for unit in others:
        saved = model.exec(unit, "cat /var/lib/yard-classic/cluster/%s" % leader.replace("/", "_"))
        assert json.loads(saved)["greeting"] == "hello", saved


def test_non_leader_cannot_write_app_bag(model):
    _, others = minions(model)
    unit = others[0]
    rid = peer_rid(model, unit)
    code, out = model.hook_tool(unit, "relation-set -r %s --app intruder=yes" % rid)
    assert code == 1 and "ERROR cannot write relation settings" in out, (code, out)
    # In a peer relation every unit may read the application bag.
    code, out = model.hook_tool(unit, "relation-get -r %s --app greeting %s" % (rid, APP))
    assert (code, out.strip()) == (0, "hello")
    info = model.relation_info(unit, "cluster")
    assert "intruder" not in info["application-data"]


def test_leader_settings(model):
    leader, others = minions(model)
    for unit in others:
        assert model.exec(unit, "cat /var/lib/yard-classic/leader-unit").strip() == leader
        code, out = model.hook_tool(unit, "leader-get leader-unit")
        assert (code, out.strip()) == (0, leader)
        code, out = model.hook_tool(unit, "leader-set leader-unit=%s" % unit)
        assert code == 1, (code, out)
        assert "ERROR cannot write leadership settings" in out and "not the leader" in out, out
        code, out = model.hook_tool(unit, "is-leader --format=json")
        assert (code, out.strip()) == (0, "false")


def test_action_returns_results(model):
    leader, others = minions(model)
    result, task = model.run_action(APP + "/leader", "echo", "message=hi", "count=3")
    assert task["status"] == "completed", result.report()
    assert task["unit"] == leader and task["id"], task
    assert task["results"]["echo"] == "hi hi hi"
    assert task["results"]["count"] == "3"
    assert task["results"]["return-code"] == 0
    result, task = model.run_action(others[0], "echo", "message=once")
    assert task["status"] == "completed", result.report()
    assert task["results"]["echo"] == "once"
    assert task["results"]["count"] == "1"  # the schema default
    assert task["results"]["unit"] == others[0]


def test_action_failed_by_charm(model):
    unit = sorted(model.units(APP))[0]
    result, task = model.run_action(unit, "echo", "message=hi", "count=0", check=False)
    assert result.returncode != 0, result.report()
    assert task.get("status") == "failed", result.report()
    assert task.get("message") == "count must be at least 1, got 0", result.report()


@pytest.mark.parametrize("params, names", [
    ((), "message"),                              # required param missing
    (("message=hi", "count=many"), "count"),      # wrong type
    (("message=hi", "colour=red"), "colour"),     # additionalProperties: false
])
def test_action_bad_params_refused(model, params, names):
    unit = sorted(model.units(APP))[0]
    before = hooks(model.hook_log(unit, APP)).count("action:echo")
    result = model.fails("run", unit, "echo", *params)
    assert "validation failed" in result.stderr, result.report()
    assert names in result.stderr, result.report()
    assert hooks(model.hook_log(unit, APP)).count("action:echo") == before


def test_unknown_action_refused(model):
    unit = sorted(model.units(APP))[0]
    result = model.fails("run", unit, "no-such-action")
    assert "no-such-action" in result.stderr, result.report()


def test_failed_hook_rolls_back_then_resolved(model):
    model("model-config", "automatically-retry-hooks=false")
    leader, others = minions(model)
    units = [leader] + others
    model("config", APP, "greeting=rolled-back", "port=9090", "fail-config-changed=true")
    result = model.wait(timeout=300, check=False)
    assert result.returncode != 0, result.report()
    assert APP + "/" in result.output, result.report()
    model.until(lambda: all_in_error(model, "config-changed"), message="every unit in error")

    for unit in units:
        last = [r for r in model.hook_log(unit, APP) if r["hook"] == "config-changed"][-1]
        assert last["greeting"] == "rolled-back" and last["fail"] == "true", last
        info = model.relation_info(unit, "cluster")
        assert info["application-data"]["greeting"] == "hello", info
        for peer, bag in info["related-units"].items():
            assert bag["data"]["greeting"] == "hello", (unit, peer, bag)
    for unit, state in model.units(APP).items():
        assert state.get("open-ports") == ["8080/tcp"], (unit, state)  # not 9090: rolled back
    failed = [r for r in model.json("hooks")
              if r["hook"] == "config-changed" and r["exit-code"] != 0]
    assert {r["unit"] for r in failed} >= set(units)
    log = model("debug-log", "--replay", "--no-tail", timeout=60).stdout
    assert "fail-config-changed is true: failing after writing relation data" in log

    # Actions still run on a unit in error.
    result, task = model.run_action(others[0], "echo", "message=still-here")
    assert task["status"] == "completed", result.report()

    model("config", APP, "fail-config-changed=false")
    for unit in units:
        model("resolved", unit)
    model.wait()
    for unit in units:
        state = model.units(APP)[unit]
        status = state["workload-status"]
        assert (status["current"], status["message"]) == ("active", "greeting: rolled-back")
        assert state.get("open-ports") == ["9090/tcp"], state
        info = model.relation_info(unit, "cluster")
        assert info["application-data"]["greeting"] == "rolled-back"
        for peer, bag in info["related-units"].items():
            assert bag["data"]["greeting"] == "rolled-back", (unit, peer, bag)


def test_resolved_no_retry_skips_the_hook(model):
    units = sorted(model.units(APP))
    model("config", APP, "greeting=never-committed", "fail-config-changed=true")
    model.until(lambda: all_in_error(model, "config-changed"), message="every unit in error")
    ran = {u: hooks(model.hook_log(u, APP)).count("config-changed") for u in units}
    for unit in units:
        model("resolved", "--no-retry", unit)
    model.wait()
    for unit in units:
        assert hooks(model.hook_log(unit, APP)).count("config-changed") == ran[unit]
        status = model.units(APP)[unit]["workload-status"]
        assert status["current"] == "active", status
        for bag in model.relation_info(unit, "cluster")["related-units"].values():
            assert bag["data"]["greeting"] == "rolled-back"
    model("config", APP, "greeting=hello", "fail-config-changed=false")
    model.wait()
    for unit in units:
        for bag in model.relation_info(unit, "cluster")["related-units"].values():
            assert bag["data"]["greeting"] == "hello"


def test_injected_hook_failure(model):
    leader, others = minions(model)
    victim = others[0]
    seen = {u: len(model.hook_log(u, APP)) for u in [leader] + others}
    model("fail-hook", victim, "config-changed")
    model("config", APP, "greeting=injected")
    model.until(lambda: model.units(APP)[victim]["workload-status"]["current"] == "error",
                message="%s in error" % victim)
    assert model.units(APP)[victim]["workload-status"]["message"] == \
        'hook failed: "config-changed"'
    # yard failed the hook without running the charm's config-changed there.
    assert "config-changed" not in hooks(model.hook_log(victim, APP)[seen[victim]:])
    for unit in [leader] + others[1:]:
        model.until(lambda: model.units(APP)[unit]["workload-status"].get("message")
                    == "greeting: injected", message="%s reconfigured" % unit)
    model("resolved", victim)
    model.wait()
    ran = [r for r in model.hook_log(victim, APP)[seen[victim]:] if r["hook"] == "config-changed"]
    assert [r["greeting"] for r in ran] == ["injected"]
    model("config", APP, "greeting=hello", "port=8080")
    model.wait()


def test_upgrade_charm_then_config_changed(model, build_dir, tmp_path):
    units = sorted(model.units(APP))
    seen = {u: len(model.hook_log(u, APP)) for u in units}
    new_charm = tmp_path / APP
    shutil.copytree(build_dir / APP, new_charm, symlinks=True)
    (new_charm / "version").write_text("2\n")
    model("upgrade-charm", APP, "--path", new_charm)
    model.wait()
    for unit in units:
        records = model.hook_log(unit, APP)[seen[unit]:]
        names = hooks(records)
        assert "upgrade-charm" in names, (unit, names)
        at = names.index("upgrade-charm")
        assert records[at]["charm-version"] == "2"
        # Minions may see leader-settings-changed as the agent restarts (juju does too).
        following = [r for r in records[at + 1:]
                     if r["hook"] not in ("leader-settings-changed", "update-status")]
        assert following and following[0]["hook"] == "config-changed", (unit, names)
        assert following[0]["charm-version"] == "2"
    assert model.status()["applications"][APP].get("version") == "2"


def test_leader_failover(model):
    """The leader's machine dies.  As on Juju, its unit is lost, not gone: it stays in
    the peer relation (no departed hooks) and a new leader comes when its lease
    lapses; the operator then removes the machine with ``remove-machine --force``,
    and only then do the others see it depart."""
    leader, others = minions(model)
    machine = model.units(APP)[leader]["machine"]
    seen = {u: len(model.hook_log(u, APP)) for u in others}
    model("model-config", "leadership-lease-duration=15s")
    model("kill-machine", machine)
    assert model.units(APP)[leader]["juju-status"]["current"] == "lost"
    model.wait()  # waits for the lost leader's lease to lapse
    elected = model.leader(APP)
    assert elected in others
    minion = [u for u in others if u != elected][0]

    elected_hooks = model.hook_log(elected, APP)[seen[elected]:]
    assert "leader-elected" in hooks(elected_hooks), hooks(elected_hooks)
    minion_hooks = model.hook_log(minion, APP)[seen[minion]:]
    changed = [r for r in minion_hooks if r["hook"] == "leader-settings-changed"]
    assert changed and changed[-1]["leader"] == elected, hooks(minion_hooks)
    assert model.exec(minion, "cat /var/lib/yard-classic/leader-unit").strip() == elected

    def departed(unit):
        return [r["remote-unit"] for r in model.hook_log(unit, APP)[seen[unit]:]
                if r["hook"] == "cluster-relation-departed"]
    assert [departed(u) for u in (elected, minion)] == [[], []]
    assert sorted(model.relation_info(minion, "cluster")["related-units"]) == \
        sorted([leader, elected])

    model("remove-machine", machine, "--force")
    model.wait()
    assert machine not in model.status().get("machines", {})
    assert leader not in model.units(APP)
    for unit in (elected, minion):
        assert departed(unit) == [leader], unit
    info = model.relation_info(minion, "cluster")
    assert sorted(info["related-units"]) == [elected]
    assert info["application-data"]["leader-unit"] == elected
