"""Charm resources and VIPs on LXD: resource-get, attach-resource, and an address from vip-range.

yard-resource (tests/charms/yard-resource) declares one file resource,
``payload``; its hooks call ``resource-get payload`` and show the file's
first line, or go blocked without it.  Deployed without the resource, then
``yard attach-resource`` must run upgrade-charm (then config-changed) and the
unit must see the new content (tools/yard/README.md, "Resources").  The two
machines of the same model then check that a machine can take an address from
the model's ``vip-range`` and the other machine reaches it over TCP.
"""

import pytest

from conftest import BUILD, skip_or_fail

pytestmark = pytest.mark.model

APP = "yard-resource"
UNIT0, UNIT1 = APP + "/0", APP + "/1"
RESOURCE_PATH = "/var/lib/juju/agents/unit-yard-resource-0/resources/payload/payload.txt"


@pytest.fixture(scope="module")
def model(yard):
    if not (BUILD / APP).is_dir():
        skip_or_fail("build/%s is not built; run `make build`" % APP)
    yard.run("deploy", BUILD / APP, "-n", 2, timeout=1500)
    yard.wait(timeout=1500)
    return yard


def test_without_the_resource_resource_get_fails_as_juju_and_the_unit_is_blocked(model):
    unit = model.units(APP)[UNIT0]
    assert unit["workload-status"]["current"] == "blocked"
    assert "resource payload is missing" in unit["workload-status"]["message"]
    code, out = model.hook_tool(UNIT0, "resource-get payload")
    assert code == 1, out
    # juju PR #12367's text (README "Resources"): the annotation, the URL, resource#app/name
    assert out.startswith("ERROR could not download resource: HTTP request failed: Get https://")
    assert out.endswith("/units/unit-yard-resource-0/resources/payload: "
                        "resource#yard-resource/payload not found"), out
    kept = model.exec(UNIT0, "cat /var/lib/yard-resource/error")
    assert kept.strip() == out.strip()
    lines = model.run("resources", APP).stdout.splitlines()
    assert lines[0].split() == ["Resource", "Supplied", "by", "Revision"]
    assert lines[1].split() == ["payload", "upload", "-"]


def test_attach_resource_runs_upgrade_charm_and_the_unit_sees_the_content(model, tmp_path):
    src = tmp_path / "payload.txt"
    src.write_text("first upload\n")
    before = len(model.hook_log(UNIT0, APP))
    model.run("attach-resource", APP, "payload=%s" % src, "--wait", timeout=700)
    hooks = [r["hook"] for r in model.hook_log(UNIT0, APP)[before:]]
    assert hooks[:2] == ["upgrade-charm", "config-changed"], hooks
    status = model.units(APP)[UNIT0]["workload-status"]
    assert (status["current"], status["message"]) == ("active", "payload: first upload")
    assert model.exec(UNIT0, "cat %s" % RESOURCE_PATH) == "first upload\n"
    lines = model.run("resources", APP).stdout.splitlines()
    assert lines[1].split()[:2] == ["payload", "admin"], lines

    src.write_text("second upload\n")
    model.run("attach-resource", APP, "payload=%s" % src, "--wait", timeout=700)
    model.until(lambda: model.units(APP)[UNIT1]["workload-status"]["message"] ==
                "payload: second upload", timeout=120, message="yard-resource/1 new content")
    assert model.units(APP)[UNIT0]["workload-status"]["message"] == "payload: second upload"


def test_a_machine_takes_an_address_from_vip_range_and_the_other_reaches_it(model):
    first = model.run("model-config", "vip-range").stdout.strip().split("-")[0]
    prefix = model.exec(UNIT0, "ip -o -4 addr show dev eth0 | awk '{print $4}'").split("/")[1]
    vip = "%s/%s" % (first, prefix.strip())
    model.exec(UNIT0, "ip addr add %s dev eth0" % vip)
    try:
        # A one-shot TCP server on the VIP, answered from the other machine.
        model.exec(UNIT0, "nohup python3 -c 'import socket; s = socket.socket(); "
                          "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
                          "s.bind((\"%s\", 7777)); s.listen(1); c, _ = s.accept(); "
                          "c.sendall(b\"vip ok\"); c.close()' >/dev/null 2>&1 &" % first)
        got = model.exec(UNIT1, "python3 -c 'import socket, time\n"
                                "for _ in range(50):\n"
                                "    try:\n"
                                "        c = socket.create_connection((\"%s\", 7777), 2); break\n"
                                "    except OSError: time.sleep(0.2)\n"
                                "print(c.recv(100).decode())'" % first)
        assert got.strip() == "vip ok"
    finally:
        model.exec(UNIT0, "ip addr del %s dev eth0 || true" % vip)


def test_machines_have_sudo(model):
    """yard's image has sudo, as Ubuntu's cloud images do (README, "Machines' network")."""
    assert model.exec(UNIT0, "sudo -n true && echo ok").strip() == "ok"
