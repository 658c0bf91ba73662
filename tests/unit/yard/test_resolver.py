"""The resolver's order tables: setup, relations (section 2.3), coalescing, teardown, upgrade."""

import dataclasses

from yard import resolver
from yard.model import LocalState, Op, RelRemote, RemoteState


def drive(local, remote, limit=50):
    """Run the resolver to quiescence; the hooks it chose, in order, and the final state."""
    hooks = []
    for _ in range(limit):
        op = resolver.next_op(local, remote)
        if op is None:
            return hooks, local
        hooks.append(_name(op))
        local = resolver.commit(local, op)
    raise AssertionError(f"no quiescence: {hooks}")


def _name(op: Op) -> str:
    if op.kind == "local":
        return f"({op.hook})"
    if op.remote_unit:
        return f"{op.hook}:{op.remote_unit}"
    return op.hook


def peer(members=None, app_version=0, alive=True, rid=0):
    return RelRemote(id=rid, endpoint="cluster", remote_app="app", peer=True, alive=alive,
                     members=dict(members or {}), app_version=app_version)


def regular(members=None, app_version=0, alive=True, rid=1, endpoint="db", remote_app="other"):
    return RelRemote(id=rid, endpoint=endpoint, remote_app=remote_app, alive=alive,
                     members=dict(members or {}), app_version=app_version)


def remote(**kw):
    kw.setdefault("unit", "app/0")
    return RemoteState(**kw)


SETUP_LEADER = ["install", "cluster-relation-created", "leader-elected", "config-changed",
                "start"]
SETUP_MINION = ["install", "cluster-relation-created", "leader-settings-changed",
                "config-changed", "start"]


def test_setup_sequence_leader():
    hooks, local = drive(LocalState(), remote(leader=True, relations={0: peer()}))
    assert hooks == SETUP_LEADER
    assert local.installed and local.started and local.leader


def test_setup_sequence_minion():
    hooks, _ = drive(LocalState(), remote(unit="app/1", relations={0: peer()}))
    assert hooks == SETUP_MINION


def test_setup_without_relations_or_leadership_change():
    hooks, _ = drive(LocalState(), remote(leader=True))
    assert hooks == ["install", "leader-elected", "config-changed", "start"]


def test_peers_join_then_change_in_string_order_after_start():
    members = {"app/10": 1, "app/2": 1, "app/1": 1}
    hooks, _ = drive(LocalState(), remote(leader=True, relations={0: peer(members)}))
    assert hooks[:5] == SETUP_LEADER
    assert hooks[5:] == ["cluster-relation-joined:app/1", "cluster-relation-changed:app/1",
                         "cluster-relation-joined:app/10", "cluster-relation-changed:app/10",
                         "cluster-relation-joined:app/2", "cluster-relation-changed:app/2"]


def test_relation_algorithm_departures_before_app_changes_before_joins():
    _, local = drive(LocalState(), remote(leader=True, relations={
        1: regular({"other/0": 1, "other/1": 1})}))
    r = remote(leader=True, relations={1: regular({"other/1": 2, "other/2": 1},
                                                  app_version=3)})
    hooks, _ = drive(local, r)
    assert hooks == ["db-relation-departed:other/0", "db-relation-changed",
                     "db-relation-joined:other/2", "db-relation-changed:other/2",
                     "db-relation-changed:other/1"]


def test_app_bag_never_written_fires_no_hook():
    _, local = drive(LocalState(), remote(leader=True, relations={1: regular()}))
    hooks, _ = drive(local, remote(leader=True, relations={1: regular(app_version=0)}))
    assert hooks == []


def test_changed_pending_follows_joined_even_if_other_units_wait():
    local = LocalState(installed=True, started=True, leader=True, config_version=1,
                       charm_modified_version=0)
    r = remote(leader=True, relations={1: regular({"other/0": 1, "other/1": 1})})
    op = resolver.next_op(local, r)
    assert op.hook == "db-relation-created"
    local = resolver.commit(local, op)
    op = resolver.next_op(local, r)
    assert (op.hook, op.remote_unit) == ("db-relation-joined", "other/0")
    local = resolver.commit(local, op)
    op = resolver.next_op(local, r)
    assert (op.hook, op.remote_unit) == ("db-relation-changed", "other/0")


def test_coalescing_many_config_edits_one_hook():
    _, local = drive(LocalState(), remote(leader=True))
    hooks, _ = drive(local, remote(leader=True, config_version=7))
    assert hooks == ["config-changed"]


def test_coalescing_many_remote_writes_one_changed():
    _, local = drive(LocalState(), remote(leader=True, relations={1: regular({"other/0": 1})}))
    hooks, _ = drive(local, remote(leader=True, relations={1: regular({"other/0": 9})}))
    assert hooks == ["db-relation-changed:other/0"]


def test_relation_removed_departed_then_broken():
    _, local = drive(LocalState(), remote(leader=True, relations={1: regular({"other/0": 1})}))
    hooks, local = drive(local, remote(leader=True, relations={
        1: regular({"other/0": 1}, alive=False)}))
    assert hooks == ["db-relation-departed:other/0", "db-relation-broken"]
    assert 1 not in local.relations


def test_peer_relation_never_broken():
    _, local = drive(LocalState(), remote(leader=True, relations={0: peer({"app/1": 1})}))
    hooks, local = drive(local, remote(leader=True, alive=False, relations={0: peer({})}))
    assert "cluster-relation-broken" not in hooks
    assert hooks == ["cluster-relation-departed:app/1", "(forget)", "stop", "remove"]


def test_teardown_order_departed_broken_stop_remove():
    rels = {0: peer({"app/1": 1}), 1: regular({"other/0": 1, "other/1": 1})}
    _, local = drive(LocalState(), remote(leader=True, relations=rels))
    op_hooks = []
    r = remote(leader=True, alive=False, relations=rels)
    for _ in range(20):
        op = resolver.next_op(local, r)
        if op is None:
            break
        op_hooks.append((_name(op), op.departing_unit))
        local = resolver.commit(local, op)
    assert op_hooks == [("cluster-relation-departed:app/1", "app/0"), ("(forget)", None),
                        ("db-relation-departed:other/0", "app/0"),
                        ("db-relation-departed:other/1", "app/0"),
                        ("db-relation-broken", None), ("stop", None), ("remove", None)]
    assert local.removed


def test_never_installed_unit_is_just_removed():
    hooks, local = drive(LocalState(), remote(alive=False))
    assert hooks == ["(removed)"] and local.removed


def test_upgrade_charm_then_config_changed():
    _, local = drive(LocalState(), remote(leader=True))
    hooks, _ = drive(local, remote(leader=True, charm_modified_version=1))
    assert hooks == ["upgrade-charm", "config-changed"]


def test_leader_change_minion_and_deposed():
    _, minion = drive(LocalState(), remote(unit="app/1"))
    hooks, _ = drive(minion, remote(unit="app/1", leader_settings_version=2))
    assert hooks == ["leader-settings-changed"]
    hooks, _ = drive(minion, remote(unit="app/1", leader=True))
    assert hooks == ["leader-elected"]
    _, leader = drive(LocalState(), remote(leader=True))
    hooks, _ = drive(leader, remote(leader=False, leader_settings_version=2))
    assert hooks == ["(resign)", "leader-settings-changed"]


def test_leader_never_gets_leader_settings_changed():
    _, leader = drive(LocalState(), remote(leader=True))
    hooks, _ = drive(leader, remote(leader=True, leader_settings_version=5))
    assert hooks == []


def test_update_status_only_when_idle_and_started():
    assert resolver.next_op(LocalState(), remote(update_status_due=True)).hook == "install"
    _, local = drive(LocalState(), remote(leader=True))
    op = resolver.next_op(local, remote(leader=True, update_status_due=True, config_version=2))
    assert op.hook == "config-changed"
    op = resolver.next_op(local, remote(leader=True, update_status_due=True))
    assert op.hook == "update-status"


def test_error_blocks_everything_but_actions_and_retry():
    _, local = drive(LocalState(), remote(leader=True))
    failed = resolver.next_op(local, remote(leader=True, config_version=2))
    local = resolver.fail(local, failed)
    r = remote(leader=True, config_version=2, update_status_due=True,
               relations={1: regular({"other/0": 1})})
    assert resolver.next_op(local, r) is None
    assert resolver.next_op(local, dataclasses.replace(r, actions=(4,))).kind == "action"
    retry = resolver.next_op(local, dataclasses.replace(r, resolved="retry", config_version=3))
    assert retry.hook == "config-changed" and retry.version == 3 and not retry.skip
    skip = resolver.next_op(local, dataclasses.replace(r, resolved="no-retry"))
    assert skip.skip
    local = resolver.commit(local, skip)
    assert local.error is None and local.config_version == 2


def test_resolved_no_retry_on_install_proceeds_to_config_changed():
    op = resolver.next_op(LocalState(), remote(leader=True))
    local = resolver.fail(LocalState(), op)
    skip = resolver.next_op(local, remote(leader=True, resolved="no-retry"))
    local = resolver.commit(local, skip)
    assert local.installed
    hooks, _ = drive(local, remote(leader=True))
    assert hooks == ["leader-elected", "config-changed", "start"]


def test_relation_created_preempts_other_work_when_added_later():
    _, local = drive(LocalState(), remote(leader=True))
    hooks, _ = drive(local, remote(leader=True, config_version=2,
                                   relations={1: regular({"other/0": 1})}))
    assert hooks == ["db-relation-created", "config-changed", "db-relation-joined:other/0",
                     "db-relation-changed:other/0"]


def test_actions_wait_for_the_queued_start():
    local = LocalState(installed=True, config_version=1, charm_modified_version=0, leader=True,
                       queued="start")
    op = resolver.next_op(local, remote(leader=True, actions=(3,)))
    assert op.hook == "start"
