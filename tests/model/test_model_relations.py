"""Three kinds of test charm together: yard-classic x2 -- data -- yard-ops, yard-sub on it.

One deployment shared by the module, tests in file order.  Covers an ops
charm and a classic charm related and working, app-bag permissions on a
non-peer relation (through ``yard exec`` and from inside real hooks),
``show-unit`` relation data, a subordinate on its principal's machine,
scale up/down and relation removal.
"""

import pytest

pytestmark = pytest.mark.model

CLASSIC = "yard-classic"
OPS = "yard-ops"
SUB = "yard-sub"
OPS_SETUP = ["install", "leader-elected", "config-changed", "start"]
SUB_SETUP = ["install", "juju-info-relation-created", "leader-elected", "config-changed",
             "start"]


@pytest.fixture(scope="module")
def model(yard):
    yard.deploy_bundle("classic-ops-sub")
    return yard


def hooks(records):
    return [r["hook"] for r in records]


def ops_message(model):
    return model.units(OPS)["yard-ops/0"]["workload-status"]


def data_rid(model, unit):
    rid = model.exec(unit, "relation-ids data").strip()
    assert rid.startswith("data:"), rid
    return rid


def assert_joined_then_changed(records, endpoint, remote_units):
    """Each remote unit joined once, the next hook of the relation being its changed."""
    rel = [r for r in records if r["hook"].startswith(endpoint + "-relation-")]
    created = hooks(rel).index(endpoint + "-relation-created")
    for remote in remote_units:
        at = [i for i, r in enumerate(rel)
              if r["hook"] == endpoint + "-relation-joined" and r["remote-unit"] == remote]
        assert len(at) == 1, (remote, hooks(rel))
        assert at[0] > created
        following = rel[at[0] + 1]
        assert (following["hook"], following["remote-unit"]) == (
            endpoint + "-relation-changed", remote), hooks(rel)


def test_everything_active(model):
    status = model.status()
    for app, count in ((CLASSIC, 2), (OPS, 1)):
        units = status["applications"][app]["units"]
        assert len(units) == count
        for name, unit in units.items():
            assert unit["workload-status"]["current"] == "active", (name, unit)
            assert unit["juju-status"]["current"] == "idle", (name, unit)


def test_ops_charm_shows_what_the_classic_charm_sent(model):
    status = ops_message(model)
    assert (status["current"], status["message"]) == (
        "active", "greeting from yard-classic: hello (2 units)")


def test_ops_charm_lifecycle(model):
    records = model.hook_log("yard-ops/0", OPS)
    names = [n for n in hooks(records) if not n.startswith("data-relation-")]
    assert names[:4] == OPS_SETUP, hooks(records)
    assert hooks(records)[0] == "install"
    assert_joined_then_changed(records, "data", sorted(model.units(CLASSIC)))


def test_classic_sees_the_ops_unit_and_app_bags(model):
    for unit in model.units(CLASSIC):
        info = model.relation_info(unit, "data")
        assert info["related-endpoint"] == "data"
        assert info["application-data"] == {"consumer": "yard-ops"}
        data = info["related-units"]["yard-ops/0"]["data"]
        assert data["ops-unit"] == "yard-ops/0" and data["label"] == "yard-ops", data
        assert data["private-address"], data


def test_ops_unit_sees_classic_bags(model):
    leader = model.leader(CLASSIC)
    info = model.relation_info("yard-ops/0", "data")
    assert info["application-data"]["greeting"] == "hello"
    assert info["application-data"]["leader-unit"] == leader
    assert sorted(info["related-units"]) == sorted(model.units(CLASSIC))
    for unit, bag in info["related-units"].items():
        assert bag["data"]["greeting"] == "hello", (unit, bag)


def test_app_bag_permissions_on_a_regular_relation(model):
    leader = model.leader(CLASSIC)
    minion = [u for u in model.units(CLASSIC) if u != leader][0]
    rid = data_rid(model, minion)
    code, out = model.hook_tool(minion, "relation-set -r %s --app greeting=sneaky" % rid)
    assert code == 1 and "ERROR cannot write relation settings" in out, (code, out)
    code, out = model.hook_tool(minion, "relation-get -r %s --app - %s" % (rid, CLASSIC))
    assert code == 1 and "ERROR permission denied" in out, (code, out)
    # The leader reads its own app bag; anyone reads the remote app bag.
    code, out = model.hook_tool(leader, "relation-get -r %s --app greeting %s" % (rid, CLASSIC))
    assert (code, out.strip()) == (0, "hello")
    code, out = model.hook_tool(minion, "relation-get -r %s --app consumer %s" % (rid, OPS))
    assert (code, out.strip()) == (0, "yard-ops")
    assert model.relation_info("yard-ops/0", "data")["application-data"]["greeting"] == "hello"


def test_app_bag_permissions_inside_hooks(model):
    leader = model.leader(CLASSIC)
    minion = [u for u in model.units(CLASSIC) if u != leader][0]
    out = model.exec(minion, "cat /var/log/yard-classic-probes.log")
    probes = {}
    for line in out.splitlines():
        fields = dict(t.partition("=")[::2] for t in line.split())
        probes[fields["probe"]] = fields
    assert probes["app-write"]["rc"] == "1", probes
    assert probes["app-write"]["err"] == "ERROR_cannot_write_relation_settings", probes
    assert probes["app-read"]["rc"] == "1", probes
    assert probes["app-read"]["err"] == "ERROR_permission_denied", probes


def test_ops_action(model):
    result, task = model.run_action("yard-ops/0", "get-data")
    assert task["status"] == "completed", result.report()
    results = task["results"]
    assert results["remote-app"] == CLASSIC
    assert results["units"] == ",".join(sorted(model.units(CLASSIC)))
    assert results["value"] == "hello"
    assert results["leader"] == "true"
    result, task = model.run_action("yard-ops/leader", "get-data", "key=leader-unit")
    assert task["results"]["value"] == model.leader(CLASSIC)
    result = model.fails("run", "yard-ops/0", "get-data", "colour=red")
    assert "validation failed" in result.stderr and "colour" in result.stderr, result.report()


def test_config_change_reaches_the_other_side(model):
    model("config", CLASSIC, "greeting=bonjour")
    model.wait()
    assert ops_message(model)["message"] == "greeting from yard-classic: bonjour (2 units)"
    changed = [r for r in model.hook_log("yard-ops/0", OPS)
               if r["hook"] == "data-relation-changed"]
    assert changed, "yard-ops never ran data-relation-changed"
    model("config", CLASSIC, "greeting=hello")
    model.wait()


def test_subordinate_on_its_principal_machine(model):
    status = model.status()
    principal = status["applications"][OPS]["units"]["yard-ops/0"]
    subs = principal.get("subordinates") or {}
    assert list(subs) == ["yard-sub/0"], principal
    assert subs["yard-sub/0"]["workload-status"]["current"] == "active"
    assert subs["yard-sub/0"]["workload-status"]["message"] == "attached to yard-ops/0"
    assert "units" not in status["applications"][SUB] or not status["applications"][SUB]["units"]
    assert len(status["machines"]) == 3  # two classic units and the ops unit; none for yard-sub

    records = model.hook_log("yard-sub/0", SUB)
    assert hooks(records)[:5] == SUB_SETUP, hooks(records)
    assert {r["principal"] for r in records} == {"yard-ops/0"}
    assert {r["machine"] for r in records} == {principal["machine"]}
    assert_joined_then_changed(records, "juju-info", ["yard-ops/0"])
    changed = [r for r in records if r["hook"] == "juju-info-relation-changed"][0]
    assert changed["principal-address"] == principal["public-address"], changed
    # Same machine: same host name, and the sub's log is a file on the principal's machine.
    assert model.exec("yard-sub/0", "hostname") == model.exec("yard-ops/0", "hostname")
    assert model.exec("yard-ops/0", "test -s /var/log/yard-sub-hooks.log && echo yes") == "yes\n"


def test_principal_knows_no_juju_info_hooks(model):
    names = hooks(model.hook_log("yard-ops/0", OPS))
    assert not [n for n in names if n.startswith("juju-info-")], names


def test_add_unit_then_remove_unit(model):
    before = set(model.units(CLASSIC))
    seen = len(model.hook_log("yard-ops/0", OPS))
    model("add-unit", CLASSIC)
    model.wait()
    (new,) = set(model.units(CLASSIC)) - before
    assert ops_message(model)["message"] == "greeting from yard-classic: hello (3 units)"
    new_hooks = hooks(model.hook_log(new, CLASSIC))
    assert new_hooks[:2] == ["install", "cluster-relation-created"], new_hooks
    assert "data-relation-created" in new_hooks, new_hooks
    assert new_hooks.index("data-relation-created") < new_hooks.index("start")
    ops_records = model.hook_log("yard-ops/0", OPS)[seen:]
    assert ("data-relation-joined", new) in [(r["hook"], r["remote-unit"]) for r in ops_records]

    seen = len(model.hook_log("yard-ops/0", OPS))
    peers_seen = {u: len(model.hook_log(u, CLASSIC)) for u in before}
    model("remove-unit", new)
    model.wait()
    assert new not in model.units(CLASSIC)
    for unit in before:
        departed = [r for r in model.hook_log(unit, CLASSIC)[peers_seen[unit]:]
                    if r["hook"] == "cluster-relation-departed"]
        assert [r["remote-unit"] for r in departed] == [new], (unit, departed)
    assert ops_message(model)["message"] == "greeting from yard-classic: hello (2 units)"
    ops_records = model.hook_log("yard-ops/0", OPS)[seen:]
    assert ("data-relation-departed", new) in [(r["hook"], r["remote-unit"])
                                               for r in ops_records]


def test_endpoint_errors(model):
    result = model.fails("relate", CLASSIC + ":nope", OPS + ":data")
    assert 'application "yard-classic" has no "nope" relation' in result.stderr, result.report()
    result = model.fails("relate", CLASSIC + ":data", SUB + ":juju-info")
    assert CLASSIC in result.stderr or "no relations found" in result.stderr, result.report()
    model.fails("remove-relation", CLASSIC + ":nope", OPS + ":data")
    # Nothing came of the refused relation: no yard-sub on the classic units.
    for name, unit in model.units(CLASSIC).items():
        assert not unit.get("subordinates"), (name, unit)
        endpoints = [r["endpoint"] for r in model.show_unit(name).get("relation-info", [])]
        assert "juju-info" not in endpoints, endpoints


def test_remove_relation_breaks_it(model):
    seen = len(model.hook_log("yard-ops/0", OPS))
    model("remove-relation", CLASSIC + ":data", OPS + ":data")
    model.wait()
    records = model.hook_log("yard-ops/0", OPS)[seen:]
    names = hooks(records)
    departed = sorted(r["remote-unit"] for r in records if r["hook"] == "data-relation-departed")
    assert departed == sorted(model.units(CLASSIC)), names
    assert names.count("data-relation-broken") == 1, names
    assert names.index("data-relation-broken") > max(
        i for i, n in enumerate(names) if n == "data-relation-departed")
    status = ops_message(model)
    assert (status["current"], status["message"]) == ("blocked", "needs a data relation")
    for unit in model.units(CLASSIC):
        names = hooks(model.hook_log(unit, CLASSIC))
        assert "data-relation-broken" in names, (unit, names)


def test_subordinate_goes_with_its_relation(model):
    seen = len(model.hook_log("yard-sub/0", SUB))
    model("remove-relation", SUB + ":juju-info", OPS + ":juju-info")
    model.until(lambda: not model.units(OPS)["yard-ops/0"].get("subordinates"),
                message="yard-sub/0 to go away")
    # The sub's machine is its principal's, so its hook log outlives it.
    records = model.hook_log("yard-sub/0", SUB, on="yard-ops/0")[seen:]
    names = [n for n in hooks(records) if n != "update-status"]
    assert names == ["juju-info-relation-departed", "juju-info-relation-broken", "stop",
                     "remove"], names
    result = model.wait(timeout=120, check=False)
    assert result.returncode == 0, "the model did not settle after the sub left:\n" + (
        result.report())
    assert "juju-info" not in (model.status()["applications"][SUB].get("relations") or {})
