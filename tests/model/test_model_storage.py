"""Juju storage on real machines: yard-storage x1 deployed with ``--storage data=64M``.

One deployment shared by the module; tests run in file order and the last one
removes the unit.  Covers: ``data-storage-attached`` before ``install`` (from the
charm's hook log), ``yard storage`` (table and JSON), ``storage-get`` /
``storage-list`` inside the machine, a real 64 MiB filesystem that the charm
fills until ENOSPC with ``df`` showing it full, and removal: detaching before
``stop``, the storage kept as ``detached`` with its data, attached to a new unit
on another machine (``add-unit --attach-storage``), then destroyed with it.
"""

import pytest

from conftest import BUILD, DEPLOY_TIMEOUT, until

pytestmark = pytest.mark.model

APP = "yard-storage"
UNIT = "yard-storage/0"


@pytest.fixture(scope="module")
def model(yard):
    assert (BUILD / APP).is_dir(), "build/%s is missing: run `make build`" % APP
    yard.run("deploy", BUILD / APP, "--storage", "data=64M", timeout=DEPLOY_TIMEOUT)
    yard.wait(timeout=DEPLOY_TIMEOUT)
    return yard


def test_storage_attached_ran_before_install(model):
    records = model.hook_log(UNIT, APP)
    hooks = [r["hook"] for r in records]
    assert hooks[:2] == ["data-storage-attached", "install"], hooks
    assert records[0]["storage"] == "data/0"
    assert records[0]["location"] == "/srv/data"
    assert all(r["storage"] == "" for r in records[1:])
    unit = model.units(APP)[UNIT]
    assert unit["workload-status"]["message"] == "data at /srv/data"


def test_yard_storage_lists_it_attached(model):
    rows = [line.split() for line in model.run("storage").stdout.splitlines()]
    assert rows[0] == ["Unit", "Storage", "ID", "Type", "Pool", "Size", "Status", "Message"]
    assert rows[1] == [UNIT, "data/0", "filesystem", "lxd", "64", "MiB", "attached"]
    data = model.json("storage")
    info = data["storage"]["data/0"]
    assert info["kind"] == "filesystem" and info["status"]["current"] == "attached"
    assert info["attachments"]["units"][UNIT]["location"] == "/srv/data"
    assert data["filesystems"]["0"]["size"] == 64


def test_storage_hook_tools_in_the_machine(model):
    assert model.hook_tool(UNIT, "storage-list") == (0, "data/0")
    assert model.hook_tool(UNIT, "storage-get -s data/0 location") == (0, "/srv/data")
    assert model.hook_tool(UNIT, "storage-get -s data/0 --format=json") == \
        (0, '{"kind":"filesystem","location":"/srv/data"}')
    # outside a storage hook there is no default storage (storage-get.go Init, exit 2)
    assert model.hook_tool(UNIT, "storage-get location") == \
        (2, "ERROR no storage instance specified")
    assert model.exec(UNIT, "cat /srv/data/attached-by-hook").strip() == "data/0"


def test_the_filesystem_is_real_and_fills_up(model):
    size_kib = int(model.exec(UNIT, "df -P -k /srv/data | tail -n1").split()[1])
    assert 40 * 1024 < size_kib <= 64 * 1024, size_kib  # ext4 of a 64 MiB image
    result, task = model.run_action(UNIT, "fill")
    results = task["results"]
    assert results["dd-exit"] == "1", task
    assert results["dd-error"] == "No space left on device", task
    assert results["df"].split()[4] == "100%", task
    assert model.exec(UNIT, "df -P /srv/data | tail -n1").split()[4] == "100%"


def test_remove_unit_detaches_before_stop_and_keeps_the_storage(model):
    out = model.run("remove-unit", UNIT, "--no-prompt")
    assert "will remove unit %s\n- will detach storage data/0" % UNIT in out.stderr
    model.wait()
    ran = [r["hook"] for r in model.json("hooks", UNIT)]
    assert ran[-3:] == ["data-storage-detaching", "stop", "remove"], ran
    info = model.json("storage")["storage"]["data/0"]
    assert info["status"]["current"] == "detached" and "attachments" not in info


def test_detached_storage_moves_to_a_new_unit_with_its_data(model, yard_home):
    model.run("add-unit", APP, "--attach-storage", "data/0")
    model.wait()
    unit = "yard-storage/1"
    records = model.hook_log(unit, APP)
    assert [r["hook"] for r in records][:2] == ["data-storage-attached", "install"]
    size = int(model.exec(unit, "stat -c %s /srv/data/fill").strip())
    assert size > 40 * 1024 * 1024, size  # what yard-storage/0 wrote on another machine
    assert sorted(model.json("storage")["storage"]) == ["data/0"]
    out = model.run("remove-unit", unit, "--destroy-storage", "--no-prompt")
    assert "- will remove storage data/0" in out.stderr
    model.wait()
    until(lambda: not model.json("storage").get("storage"), timeout=60,
          message="data/0 removed")
    images = list((yard_home / model.model / "storage").glob("*.img"))
    assert images == [], images
