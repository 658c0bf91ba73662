"""A killed leader machine, as Juju 3.6 has it: yard-classic x3 on its peer relation.

``kill-machine`` stops the leader's container behind the model's back.  The
machine reads ``down`` and its unit ``lost`` (texts of juju/juju
apiserver/common/machinestatus.go and unitstatus.go); the unit stays in the
peer relation, so the others run no ``-relation-departed``; a new leader comes
only when the lost leader's lease lapses (here 10 s, set with model config;
Juju's is 2 x 30 s); work sent to the lost unit stays pending.  Then the
operator's ``remove-machine --force`` removes the unit and the others see it
depart.
"""

import time

import pytest

pytestmark = pytest.mark.model

APP = "yard-classic"
LEASE = 10
AGENT_LOST = "agent is not communicating with the server"


@pytest.fixture(scope="module")
def model(yard):
    yard.deploy_bundle("classic-peers")
    yard("model-config", "leadership-lease-duration=%ds" % LEASE)
    return yard


def departed(model, unit, since):
    return [r["remote-unit"] for r in model.hook_log(unit, APP)[since:]
            if r["hook"] == "cluster-relation-departed"]


def test_killed_leader_is_lost_until_removed_with_force(model):
    leader = model.leader(APP)
    others = sorted(u for u in model.units(APP) if u != leader)
    machine = model.units(APP)[leader]["machine"]
    seen = {u: len(model.hook_log(u, APP)) for u in others}
    killed = time.monotonic()
    model("kill-machine", machine)

    st = model.status()
    agent = st["machines"][machine]["juju-status"]
    assert (agent["current"], agent["message"]) == ("down", AGENT_LOST)
    unit = st["applications"][APP]["units"][leader]
    assert (unit["juju-status"]["current"], unit["juju-status"]["message"]) == \
        ("lost", AGENT_LOST)
    assert unit["workload-status"] == {
        "current": "unknown", "since": unit["workload-status"]["since"],
        "message": "agent lost, see 'juju show-status-log %s'" % leader}
    assert unit.get("leader") is True  # it holds the lease until it lapses
    # work for a lost agent waits for it (juju queues it the same way)
    stuck = model.run("exec", "--unit", leader, "--timeout", "3s", "--", "true", check=False)
    assert stuck.returncode != 0 and "timed out waiting for results" in stuck.stderr, \
        stuck.report()

    model.wait()  # settles once the lease lapsed and the new leader ran its hooks
    assert time.monotonic() - killed >= LEASE - 1
    elected = model.leader(APP)
    assert elected in others
    assert "leader-elected" in [r["hook"] for r in model.hook_log(elected, APP)[seen[elected]:]]
    for u in others:  # the lost unit is still a member: nobody saw it depart
        assert departed(model, u, seen[u]) == [], u
        assert leader in model.relation_info(u, "cluster")["related-units"], u
    assert model.units(APP)[leader]["juju-status"]["current"] == "lost"

    result = model("remove-machine", machine, "--force")
    assert "removing machine %s\n- will remove unit %s" % (machine, leader) in result.stderr
    model.wait()
    assert machine not in model.status()["machines"]
    assert sorted(model.units(APP)) == others
    for u in others:
        assert departed(model, u, seen[u]) == [leader], u
        other = [x for x in others if x != u]
        assert sorted(model.relation_info(u, "cluster")["related-units"]) == other
