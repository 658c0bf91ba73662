"""Unit tests of the yard-sub test charm, with the fake hook tools of test_yard_classic."""

import importlib.util
import pathlib
import subprocess

import pytest

HERE = pathlib.Path(__file__).resolve().parent
SUB = HERE.parents[1] / "charms" / "yard-sub"


def _harness():
    spec = importlib.util.spec_from_file_location("yard_classic_harness",
                                                  HERE / "test_yard_classic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FakeUnit


FakeUnit = _harness()


@pytest.fixture
def sub(tmp_path):
    state = {"leader": True, "config": {}, "relations": {
        "juju-info:2": {"endpoint": "juju-info", "app": "yard-ops",
                        "units": {"yard-ops/0": {"private-address": "10.1.2.3"}},
                        "app-data": {}, "local-unit": {}, "local-app": {}}}}
    return FakeUnit(tmp_path, SUB, "yard-sub/0", state)


def hook_names():
    return sorted(p.name for p in (SUB / "hooks").iterdir())


def test_metadata_is_a_container_scoped_subordinate():
    import yaml
    meta = yaml.safe_load((SUB / "metadata.yaml").read_text())
    assert meta["subordinate"] is True
    assert meta["requires"]["juju-info"] == {"interface": "juju-info", "scope": "container"}


@pytest.mark.parametrize("name", hook_names())
def test_every_hook_records_principal_and_machine(sub, name):
    subprocess.run(["bash", "-n", str(SUB / "hooks" / name)], check=True)
    relation_id = "juju-info:2" if name.startswith("juju-info-") else None
    remote = None
    if relation_id and name.endswith(("-joined", "-changed", "-departed")):
        remote = "yard-ops/0"
    sub.hook(name, relation_id=relation_id, remote_unit=remote, JUJU_PRINCIPAL_UNIT="yard-ops/0")
    (record,) = sub.log("yard-sub-hooks.log")
    assert record["hook"] == name
    assert record["principal"] == "yard-ops/0"
    assert record["machine"] == "3"
    assert record["remote-unit"] == (remote or "")


def test_relation_changed_records_principal_address(sub):
    sub.hook("juju-info-relation-changed", relation_id="juju-info:2", remote_unit="yard-ops/0",
             JUJU_PRINCIPAL_UNIT="yard-ops/0")
    assert sub.log("yard-sub-hooks.log")[0]["principal-address"] == "10.1.2.3"
    assert sub.state["status"] == ["active", "attached to yard-ops/0"]


def test_start_reports_principal(sub):
    sub.hook("start", JUJU_PRINCIPAL_UNIT="yard-classic/4")
    assert sub.state["status"] == ["active", "attached to yard-classic/4"]
