"""Unit tests of the yard-ops test charm, with ops' Scenario (``ops[testing]``)."""

import importlib.util
import pathlib
import sys

import pytest

testing = pytest.importorskip("ops.testing", reason="ops[testing] is not installed")

CHARM_DIR = pathlib.Path(__file__).resolve().parents[2] / "charms" / "yard-ops"


def _load_charm_module():
    spec = importlib.util.spec_from_file_location("yard_ops_charm", CHARM_DIR / "src" / "charm.py")
    module = importlib.util.module_from_spec(spec)
    # Scenario finds the charm class's source through sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


charm = _load_charm_module()


@pytest.fixture
def ctx():
    return testing.Context(charm.YardOpsCharm, charm_root=CHARM_DIR)


def _data_relation(**kwargs):
    return testing.Relation(endpoint="data", interface="yard-data",
                            remote_app_name="yard-classic", **kwargs)


def test_blocked_without_relation(ctx):
    out = ctx.run(ctx.on.install(), testing.State())
    assert out.unit_status == testing.BlockedStatus("needs a data relation")


def test_waiting_until_remote_greeting(ctx):
    relation = _data_relation()
    out = ctx.run(ctx.on.relation_created(relation), testing.State(relations={relation}))
    assert out.unit_status == testing.WaitingStatus("waiting for data from yard-classic")


def test_status_shows_remote_greeting_and_publishes(ctx):
    relation = _data_relation(
        remote_app_data={"greeting": "bonjour"},
        remote_units_data={0: {"greeting": "bonjour"}, 1: {"greeting": "bonjour"}},
    )
    state = testing.State(leader=True, relations={relation})
    out = ctx.run(ctx.on.relation_changed(relation, remote_unit=1), state)
    assert out.unit_status == testing.ActiveStatus(
        "greeting from yard-classic: bonjour (2 units)")
    sent = out.get_relation(relation.id)
    assert sent.local_unit_data["ops-unit"] == "yard-ops/0"
    assert sent.local_unit_data["label"] == "yard-ops"
    assert sent.local_app_data == {"consumer": "yard-ops"}


def test_non_leader_leaves_app_bag_alone(ctx):
    relation = _data_relation(remote_app_data={"greeting": "hi"})
    out = ctx.run(ctx.on.relation_changed(relation, remote_unit=0),
                  testing.State(leader=False, relations={relation}))
    assert out.get_relation(relation.id).local_app_data == {}


def test_broken_relation_blocks(ctx):
    relation = _data_relation(remote_app_data={"greeting": "hi"})
    out = ctx.run(ctx.on.relation_broken(relation), testing.State(relations={relation}))
    assert out.unit_status == testing.BlockedStatus("needs a data relation")


def test_get_data_action(ctx):
    relation = _data_relation(remote_app_data={"greeting": "hi", "leader-unit": "yard-classic/0"},
                              remote_units_data={0: {}, 1: {}})
    state = testing.State(leader=True, relations={relation})
    ctx.run(ctx.on.action("get-data", params={"key": "leader-unit"}), state)
    assert ctx.action_results == {"remote-app": "yard-classic",
                                  "units": "yard-classic/0,yard-classic/1",
                                  "value": "yard-classic/0", "leader": "true"}


def test_get_data_action_default_key(ctx):
    relation = _data_relation(remote_app_data={"greeting": "hi"})
    ctx.run(ctx.on.action("get-data"), testing.State(relations={relation}))
    assert ctx.action_results["value"] == "hi"


def test_get_data_fails_without_relation(ctx):
    with pytest.raises(testing.ActionFailed, match="no data relation"):
        ctx.run(ctx.on.action("get-data"), testing.State())


def test_hook_record_fields():
    env = {"JUJU_DISPATCH_PATH": "hooks/data-relation-joined", "JUJU_UNIT_NAME": "yard-ops/0",
           "JUJU_REMOTE_UNIT": "yard-classic/1", "JUJU_REMOTE_APP": "yard-classic",
           "JUJU_RELATION_ID": "data:3", "JUJU_MACHINE_ID": "2"}
    assert charm.hook_record(env, 12.5) == (
        "time=12.500000 unit=yard-ops/0 hook=data-relation-joined remote-unit=yard-classic/1 "
        "remote-app=yard-classic relation-id=data:3 machine=2")


def test_action_record_and_log_file(tmp_path):
    env = {"JUJU_DISPATCH_PATH": "actions/get-data", "JUJU_UNIT_NAME": "yard-ops/0",
           "YARD_CHARM_ROOT": str(tmp_path)}
    charm.append_hook_record(env)
    charm.append_hook_record(env)
    lines = (tmp_path / "var/log/yard-ops-hooks.log").read_text().splitlines()
    assert len(lines) == 2
    assert " hook=action:get-data " in lines[0]
