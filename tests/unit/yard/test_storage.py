"""Storage: metadata, directives, the resolver's storage step, hook tools, controller.

Where each text comes from (juju/juju unless said):
- charm metadata: charm ``meta.go`` (storage ``type must be specified``, ``location may not
  be specified for "type: block"``, the ``multiple.range`` forms and their error);
- directives: ``storage/constraints.go`` ``ParseConstraints`` / ``ParseConstraintsMap``;
  juju/utils ``ParseSize``;
- checks against the charm: ``state/storage.go`` ``validateStorageConstraintsAgainstCharm``
  and ``validateCharmStorageCount`` (deploy), ``validateCharmStorageCountChange`` (adding,
  attaching, detaching), ``AttachStorage`` / ``attachStorageOps`` (``cannot attach %s to
  %s``, ``cannot attach storage owned by ...``);
- ``--attach-storage cannot be used with -n``: ``cmd/juju/application`` ``UnitCommandBase.Init``;
- mount points: ``state/filesystem.go`` ``FilesystemMountPoint``;
- hook tools: ``worker/uniter/runner/jujuc/storage-get.go``, ``storage-id.go``,
  ``storage-list.go``, ``storage-add.go``; the uniter's ``Attachments.Storage``
  (``errors.NotFoundf("storage")`` = ``storage not found``);
- the table: ``cmd/juju/storage`` ``formatStorageInstancesListTabular`` and go-humanize;
- remove-unit lines: ``cmd/juju/application/removeunit.go`` tests
  (``- will detach storage data/0``, ``- will remove storage data/0``).
"""

import json
import os

import pytest

from fake_context import FakeContext
from yard import charm as charmlib
from yard import resolver
from yard import storage as storagelib
from yard.cli_storage import format_storage
from yard.model import LocalState, Op, RemoteState
from yard.tools.server import run_tool
from yard_harness import CHARMS, UserError

TINYSTORE = os.path.join(CHARMS, "tinystore")


def run(ctx, tool, *args):
    return run_tool(ctx, tool, list(args), stdin=b"", cwd="/charm")


def ok(result) -> bytes:
    assert result.code == 0 and result.stderr == b"", result
    return result.stdout


def error(result, code: int) -> str:
    assert result.code == code and result.stdout == b"", result
    return result.stderr.decode()[len("ERROR "):-1]


# --- metadata ----------------------------------------------------------------------

def write_charm(tmp_path, storage: str):
    d = tmp_path / "c"
    d.mkdir(exist_ok=True)
    (d / "metadata.yaml").write_text("name: c\nsummary: s\ndescription: d\nstorage:\n"
                                     + storage)
    return str(d)


def test_metadata_storage_ranges_and_sizes(tmp_path):
    path = write_charm(tmp_path, "  a: {type: filesystem}\n"
                                 "  b: {type: filesystem, location: /srv/b, minimum-size: 2G,"
                                 " multiple: {range: 1-3}}\n"
                                 "  c: {type: filesystem, multiple: {range: 0-}}\n"
                                 "  d: {type: filesystem, multiple: {range: 2+}}\n"
                                 "  e: {type: filesystem, multiple: {range: 4}}\n")
    st = charmlib.load_charm(path).storage
    assert (st["a"].count_min, st["a"].count_max, st["a"].minimum_size) == (1, 1, 0)
    assert (st["b"].count_min, st["b"].count_max, st["b"].minimum_size) == (1, 3, 2048)
    assert st["b"].location == "/srv/b"
    assert (st["c"].count_min, st["c"].count_max) == (0, -1)
    assert (st["d"].count_min, st["d"].count_max) == (2, -1)
    assert (st["e"].count_min, st["e"].count_max) == (4, 4)


@pytest.mark.parametrize("spec,message", [
    ("  a: {location: /x}\n", 'charm "c" storage "a": type must be specified'),
    ("  a: {type: block, location: /x}\n",
     'charm "c" storage "a": location may not be specified for "type: block"'),
    ("  a: {type: filesystem, multiple: {range: x-y}}\n",
     'charm "c" storage "a": value "x-y" does not match \'m\', \'m-n\', or \'m+\''),
    ("  a: {type: filesystem, minimum-size: 1X}\n",
     'charm "c" storage "a": invalid multiplier suffix "X", expected one of MGTPEZY'),
])
def test_metadata_storage_errors(tmp_path, spec, message):
    with pytest.raises(charmlib.CharmError) as e:
        charmlib.load_charm(write_charm(tmp_path, spec))
    assert str(e.value) == message


# --- directives ----------------------------------------------------------------------

def test_parse_size_is_juju_utils_parse_size():
    assert storagelib.parse_size("64M") == 64
    assert storagelib.parse_size("1G") == 1024
    assert storagelib.parse_size("1.5GiB") == 1536
    assert storagelib.parse_size("10") == 10
    assert storagelib.parse_size("0.5M") == 1


def test_parse_directives_any_order_and_defaults():
    d = storagelib.parse_directives(["data=64M", "logs=lxd,2,1G", "cache=3", "x"],
                                    must_have=False)
    assert d["data"] == storagelib.Directive(size=64, count=1)
    assert d["logs"] == storagelib.Directive(pool="lxd", size=1024, count=2)
    assert d["cache"] == storagelib.Directive(count=3)
    assert d["x"] == storagelib.Directive(count=1)


@pytest.mark.parametrize("args,message", [
    (["data"], 'expected "name=constraints" where "constraints" must be specified, '
               'got "data"'),
    (["a=b=c"], 'expected "name=constraints" or "name", got "a=b=c"'),
    (["data=1", "data=2"], 'storage "data" specified more than once'),
    (["data=0"], 'cannot parse constraints for storage "data": cannot parse count: count '
                 'must be greater than zero, got "0"'),
    (["data=lxd,loop"], 'cannot parse constraints for storage "data": pool name is already '
                        'set to "lxd", new value "loop" not valid'),
    (["data=1.2.3"], 'cannot parse constraints for storage "data": unrecognized storage '
                     'constraint "1.2.3" not valid'),
])
def test_parse_directive_errors(args, message):
    with pytest.raises(storagelib.StorageError) as e:
        storagelib.parse_directives(args)
    assert str(e.value) == message


def test_resolve_defaults_and_charm_checks(tmp_path):
    charm = charmlib.load_charm(TINYSTORE)
    # data: minimum-size 10M, count 1; logs: 0-2, so no default instance
    assert storagelib.resolve(charm, {}) == {"data": ("lxd", 10, 1)}
    got = storagelib.resolve(charm, storagelib.parse_directives(["logs=2", "data=64M"]))
    assert got == {"data": ("lxd", 64, 1), "logs": ("lxd", 1024, 2)}
    cases = [
        (["nope=1"], 'charm "tinystore" has no store called "nope"'),
        (["data=2"], 'charm "tinystore" store "data": storage is singular, 2 specified'),
        (["logs=3"], 'charm "tinystore" store "logs": at most 2 instances supported, '
                     '3 specified'),
        (["data=5M"], 'charm "tinystore" store "data": minimum storage size is 10 MB, '
                      '5.0 MB specified'),
    ]
    for args, message in cases:
        with pytest.raises(storagelib.StorageError) as e:
            storagelib.resolve(charm, storagelib.parse_directives(args))
        assert str(e.value) == message
    shared = charmlib.load_charm(write_charm(tmp_path, "  s: {type: filesystem, shared: true}\n"))
    with pytest.raises(storagelib.StorageError) as e:
        storagelib.resolve(shared, {})
    assert str(e.value) == 'charm "c" store "s": shared storage support not implemented'


def test_mount_points():
    spec = charmlib.StorageSpec(name="data", type="filesystem")
    assert storagelib.mount_point(spec, "data/0") == "/var/lib/juju/storage/data/0"
    one = charmlib.StorageSpec(name="data", type="filesystem", location="/srv/data")
    assert storagelib.mount_point(one, "data/3") == "/srv/data"
    many = charmlib.StorageSpec(name="data", type="filesystem", location="/srv/d",
                                count_max=-1)
    assert storagelib.mount_point(many, "data/3") == "/srv/d/data/3"
    bad = charmlib.StorageSpec(name="data", type="filesystem",
                               location="/var/lib/juju/storage/x")
    with pytest.raises(storagelib.StorageError) as e:
        storagelib.mount_point(bad, "data/0")
    assert str(e.value) == ('invalid location "/var/lib/juju/storage/x": must not fall '
                            'within "/var/lib/juju/storage"')


def test_humanized_sizes():
    assert storagelib.iec_bytes(64) == "64 MiB"
    assert storagelib.iec_bytes(1024) == "1.0 GiB"
    assert storagelib.iec_bytes(0) == ""
    assert storagelib.si_bytes(1024) == "1.0 GB"
    assert storagelib.si_bytes(64) == "64 MB"


# --- the resolver's storage step --------------------------------------------------------

def test_storage_attached_runs_before_install_and_install_waits_for_pending():
    local = LocalState()
    remote = RemoteState(unit="a/0", storage={"data/0": "pending"})
    assert resolver.next_op(local, remote) is None  # install held back
    remote = RemoteState(unit="a/0", storage={"data/0": "attached", "logs/10": "attached",
                                              "logs/2": "attached"})
    seen = []
    for _ in range(4):
        op = resolver.next_op(local, remote)
        seen.append((op.hook, op.storage_id))
        local = resolver.commit(local, op)
    assert seen == [("data-storage-attached", "data/0"), ("logs-storage-attached", "logs/2"),
                    ("logs-storage-attached", "logs/10"), ("install", None)]
    assert local.storage == ("data/0", "logs/2", "logs/10")


def test_storage_added_after_install_runs_attached_when_idle():
    local = LocalState(installed=True, started=True, config_version=1, charm_modified_version=0,
                       leader_settings_version=1, storage=("data/0",))
    remote = RemoteState(unit="a/0", storage={"data/0": "attached", "data/1": "pending"})
    assert resolver.next_op(local, remote) is None
    remote = RemoteState(unit="a/0", storage={"data/0": "attached", "data/1": "attached"})
    op = resolver.next_op(local, remote)
    assert (op.hook, op.storage_id) == ("data-storage-attached", "data/1")


def test_detaching_before_departed_and_stop_on_a_dying_unit():
    from yard.model import RelLocal
    local = LocalState(installed=True, started=True, storage=("data/0",),
                       relations={1: RelLocal("db", "pg", created=True, members={"pg/0": 1})})
    remote = RemoteState(unit="a/0", alive=False, storage={"data/0": "dying"})
    op = resolver.next_op(local, remote)
    assert (op.hook, op.storage_id) == ("data-storage-detaching", "data/0")
    local = resolver.commit(local, op)
    assert local.storage == ()
    assert resolver.next_op(local, remote).hook == "db-relation-departed"


def test_detach_storage_of_a_live_unit_and_never_attached_gets_no_hook():
    local = LocalState(installed=True, started=True, config_version=1, charm_modified_version=0,
                       leader_settings_version=1, storage=("data/0",))
    remote = RemoteState(unit="a/0", storage={"data/0": "dying", "logs/1": "dying"})
    op = resolver.next_op(local, remote)
    assert (op.hook, op.storage_id) == ("data-storage-detaching", "data/0")
    assert resolver.next_op(resolver.commit(local, op), remote) is None


def test_failed_storage_hook_is_retried_with_its_storage():
    op = Op(kind="hook", hook="data-storage-attached", storage_id="data/0")
    local = resolver.fail(LocalState(), op)
    remote = RemoteState(unit="a/0", storage={"data/0": "attached"}, resolved="retry")
    assert resolver.next_op(local, remote).storage_id == "data/0"


# --- hook tools ----------------------------------------------------------------------------

def storage_ctx(hook="data-storage-attached", hook_storage="data/0"):
    ctx = FakeContext(hook_name=hook)
    ctx.storage = {"data/0": {"kind": "filesystem", "location": "/srv/data"},
                   "logs/1": {"kind": "filesystem", "location": "/var/lib/juju/storage/logs/1"},
                   "logs/10": {"kind": "filesystem", "location": "/srv/l10"}}
    ctx.hook_storage = hook_storage
    return ctx


def test_storage_get_defaults_to_the_hooks_storage_and_formats():
    ctx = storage_ctx()
    assert ok(run(ctx, "storage-get", "location")) == b"/srv/data\n"
    assert ok(run(ctx, "storage-get", "kind")) == b"filesystem\n"
    assert json.loads(ok(run(ctx, "storage-get", "--format=json"))) == \
        {"kind": "filesystem", "location": "/srv/data"}
    assert ok(run(ctx, "storage-get", "--format", "yaml", "-s", "logs/10")) == \
        b"kind: filesystem\nlocation: /srv/l10\n"
    assert ok(run(ctx, "storage-get")) == b"kind: filesystem\nlocation: /srv/data\n"


def test_storage_get_errors_and_exit_codes():
    ctx = storage_ctx(hook="install", hook_storage=None)
    assert error(run(ctx, "storage-get", "location"), 2) == "no storage instance specified"
    assert error(run(ctx, "storage-get", "-s", "data"), 2) == \
        'invalid value "data" for flag -s: invalid storage ID "data"'
    assert error(run(ctx, "storage-get", "-s", "data/7"), 2) == \
        'invalid value "data/7" for flag -s: storage not found'
    assert error(run(ctx, "storage-get", "-s", "data/0", "size"), 1) == \
        'invalid storage attribute "size"'
    assert error(run(ctx, "storage-get", "-s", "data/0", "kind", "location"), 2) == \
        'unrecognized args: ["location"]'


def test_storage_list_formats_and_filter():
    ctx = storage_ctx()
    assert ok(run(ctx, "storage-list")) == b"data/0\nlogs/1\nlogs/10\n"
    assert ok(run(ctx, "storage-list", "logs")) == b"logs/1\nlogs/10\n"
    assert ok(run(ctx, "storage-list", "nope")) == b""
    assert ok(run(ctx, "storage-list", "--format=json", "nope")) == b"[]\n"
    assert json.loads(ok(run(ctx, "storage-list", "--format=json"))) == \
        ["data/0", "logs/1", "logs/10"]
    assert error(run(ctx, "storage-list", "a", "b"), 2) == 'unrecognized args: ["b"]'


def test_storage_add_flags_and_errors():
    ctx = storage_ctx()
    ok(run(ctx, "storage-add", "data", "logs=2"))
    assert ctx.storage_added == {"data": 1, "logs": 2}
    assert error(run(ctx, "storage-add"), 2) == "storage add requires a storage directive"
    assert error(run(ctx, "storage-add", "data=64M"), 2) == \
        'only count can be specified for "data"'
    assert error(run(ctx, "storage-add", "data=lxd"), 2) == \
        'only count can be specified for "data"'
    assert error(run(ctx, "storage-add", "data=0"), 2) == \
        'cannot parse constraints for storage "data": cannot parse count: count must be ' \
        'greater than zero, got "0"'
    assert error(run(ctx, "storage-add", "nope=1"), 1) == \
        'charm "app" has no store called "nope"'


# --- the table -------------------------------------------------------------------------------

def test_storage_table_is_jujus():
    storage = {
        "data/10": {"kind": "filesystem", "status": {"current": "attached"},
                    "attachments": {"units": {"a/1": {}}}},
        "data/2": {"kind": "filesystem", "status": {"current": "attached"},
                   "attachments": {"units": {"a/1": {}}}},
        "data/0": {"kind": "filesystem", "status": {"current": "detached"}},
        "logs/3": {"kind": "filesystem", "status": {"current": "pending", "message": "m"},
                   "attachments": {"units": {"a/0": {}}}}}
    sizes = {"data/10": 1024, "data/2": 64, "data/0": 64, "logs/3": 64}
    data = {"storage": storage, "filesystems": {
        sid.split("/")[1]: {"storage": sid, "pool": "lxd", "size": n} for sid, n in sizes.items()}}
    lines = [ln.split() for ln in format_storage(data).splitlines()]
    assert lines[0] == ["Unit", "Storage", "ID", "Type", "Pool", "Size", "Status", "Message"]
    assert lines[1:] == [["a/0", "logs/3", "filesystem", "lxd", "64", "MiB", "pending", "m"],
                         ["a/1", "data/2", "filesystem", "lxd", "64", "MiB", "attached"],
                         ["a/1", "data/10", "filesystem", "lxd", "1.0", "GiB", "attached"],
                         ["data/0", "filesystem", "lxd", "64", "MiB", "detached"]]


# --- the controller on the local provider -------------------------------------------------

def test_deploy_with_storage_attaches_before_install(h):
    h.call("deploy", path=TINYSTORE, storage=["data=64M", "logs=2"])
    h.wait()
    log = h.hook_log("tinystore/0")
    # each instance gets its hook once provisioned (Juju: in no set order), all before install
    assert sorted(r["hook"] for r in log[:3]) == ["data-storage-attached",
                                                  "logs-storage-attached",
                                                  "logs-storage-attached"]
    assert log[3]["hook"] == "install"
    by_id = {r["storage"]: r for r in log[:3]}
    assert by_id["data/0"]["location"] == "/var/lib/juju/storage/data/0"
    assert by_id["logs/1"]["location"] == "/var/lib/juju/logs/logs/1"
    assert by_id["logs/2"]["location"] == "/var/lib/juju/logs/logs/2"
    assert log[0]["list"] == log[0]["storage"] + ","  # the hook's own storage is known
    install = log[3]
    assert install["storage"] == "" and install["list"] == "data/0,logs/1,logs/2,"
    # a real directory in the machine, written by the hook
    marker = os.path.join(h.machine_dir("tinystore/0"),
                          "var/lib/juju/storage/data/0/attached-marker")
    assert os.path.exists(marker)
    st = h.call("storage")
    assert {k: v["status"]["current"] for k, v in st["storage"].items()} == \
        {"data/0": "attached", "logs/1": "attached", "logs/2": "attached"}
    assert st["storage"]["data/0"]["attachments"]["units"]["tinystore/0"]["location"] == \
        "/var/lib/juju/storage/data/0"
    assert st["filesystems"]["0"]["size"] == 64 and st["filesystems"]["1"]["size"] == 1024
    # add-unit takes the application's directives
    h.call("add-unit", app="tinystore")
    h.wait()
    assert sorted(s for s, v in h.call("storage")["storage"].items()
                  if "tinystore/1" in v.get("attachments", {}).get("units", {})) == \
        ["data/3", "logs/4", "logs/5"]


def test_deploy_storage_errors_read_like_juju(h):
    with pytest.raises(UserError) as e:
        h.call("deploy", path=TINYSTORE, storage=["nope=1G"])
    assert str(e.value) == 'charm "tinystore" has no store called "nope"'
    with pytest.raises(UserError) as e:
        h.call("deploy", path=TINYSTORE, storage=["data"])
    assert str(e.value) == ('expected "name=constraints" where "constraints" must be '
                            'specified, got "data"')
    assert "tinystore" not in h.call("status")["applications"]


def test_storage_add_tool_and_add_storage_then_detach_and_remove(h):
    h.call("deploy", path=TINYSTORE)
    h.wait()
    code, out, err = h.exec("tinystore/0", "storage-add logs=2; storage-list")
    assert (code, out) == (0, "data/0\n"), err
    h.wait()
    assert h.hooks("tinystore/0")[-2:] == ["logs-storage-attached", "logs-storage-attached"]
    code, out, err = h.exec("tinystore/0", "storage-add logs")
    assert code == 1
    assert err.strip() == 'ERROR attaching 1 storage instance brings the total to 3, ' \
        'exceeding the maximum of 2'
    with pytest.raises(UserError) as e:
        h.call("add-storage", unit="tinystore/0", directive="data=1")
    assert str(e.value) == "cannot attach, storage is singular"
    with pytest.raises(UserError) as e:
        h.call("detach-storage", ids=["data/0"])
    assert str(e.value) == "detaching data/0 from unit tinystore/0: cannot detach, storage " \
        "is singular"
    h.call("detach-storage", ids=["logs/1"])
    h.until(lambda: h.call("storage")["storage"]["logs/1"]["status"]["current"] == "detached",
            message="logs/1 detached")
    assert h.hooks("tinystore/0")[-1] == "logs-storage-detaching"
    with pytest.raises(UserError) as e:
        h.call("remove-storage", ids=["logs/2"])
    assert str(e.value) == ("removing storage logs/2 failed: storage is attached; use "
                            "--force to detach and remove it")
    h.call("remove-storage", ids=["logs/1"])
    h.call("remove-storage", ids=["logs/2"], force=True)
    h.until(lambda: set(h.call("storage")["storage"]) == {"data/0"}, message="removed")
    with pytest.raises(UserError) as e:
        h.call("remove-storage", ids=["logs/1"])
    assert str(e.value) == 'storage "logs/1" not found'


def test_remove_unit_detaches_before_stop_and_keeps_storage(h):
    h.call("deploy", path=TINYSTORE, num_units=2)
    h.wait()
    res = h.call("remove-unit", units=["tinystore/0"])
    assert res["message"] == "will remove unit tinystore/0\n- will detach storage data/0"
    res = h.call("remove-unit", units=["tinystore/1"], destroy_storage=True)
    assert res["message"] == "will remove unit tinystore/1\n- will remove storage data/1"
    h.until(lambda: not h.call("status")["applications"]["tinystore"].get("units"),
            message="units removed")
    h.until(lambda: list(h.call("storage")["storage"]) == ["data/0"], message="data/1 gone")
    st = h.call("storage")["storage"]["data/0"]
    assert st["status"]["current"] == "detached" and "attachments" not in st
    ran = [r["hook"] for r in h.ctl.store.hooks("tinystore/0")]
    assert ran[-3:] == ["data-storage-detaching", "stop", "remove"]
    rows = [ln.split() for ln in format_storage(h.call("storage")).splitlines()]
    assert rows[1] == ["data/0", "filesystem", "lxd", "10", "MiB", "detached"]


def test_bundle_storage_per_application(h, tmp_path):
    bundle = tmp_path / "b.yaml"
    bundle.write_text("applications:\n  st:\n    charm: %s\n    num_units: 1\n"
                      "    storage:\n      data: 20M\n      logs: lxd,1\n" % TINYSTORE)
    h.call("deploy", path=str(bundle))
    h.wait()
    st = h.call("storage")
    assert sorted(st["storage"]) == ["data/0", "logs/1"]
    assert st["filesystems"]["0"]["size"] == 20
    assert st["filesystems"]["1"]["size"] == 1024
    # export-bundle gives the directives back (storage.ToString: pool,count,sizeM)
    exported = h.call("export-bundle")["applications"]["st"]["storage"]
    assert exported == {"data": "lxd,1,20M", "logs": "lxd,1,1024M"}
    again = tmp_path / "again.yaml"
    again.write_text("applications:\n  st2:\n    charm: %s\n    num_units: 0\n"
                     "    storage: {data: '%s'}\n" % (TINYSTORE, exported["data"]))
    h.call("deploy", path=str(again))
    assert h.ctl.state.applications["st2"].storage["data"] == ("lxd", 20, 1)


def test_add_unit_attach_storage_reuses_detached_data(h):
    h.call("deploy", path=TINYSTORE)
    h.wait()
    h.call("remove-unit", units=["tinystore/0"])
    h.until(lambda: h.call("storage")["storage"]["data/0"]["status"]["current"] == "detached",
            message="data/0 detached")
    with pytest.raises(UserError) as e:
        h.call("add-unit", app="tinystore", num_units=2, attach_storage=["data/0"])
    assert str(e.value) == "--attach-storage cannot be used with -n"
    h.call("add-unit", app="tinystore", attach_storage=["data/0"])
    h.wait()
    st = h.call("storage")["storage"]
    assert sorted(st) == ["data/0"]  # no new instance for the singular store
    assert list(st["data/0"]["attachments"]["units"]) == ["tinystore/1"]
    assert [r["storage"] for r in h.hook_log("tinystore/1")][:1] == ["data/0"]
    # the data written by tinystore/0's hook is still there
    assert os.path.exists(os.path.join(h.machine_dir("tinystore/1"),
                                       "var/lib/juju/storage/data/0/attached-marker"))
    h.call("add-unit", app="tinystore")
    h.wait()
    with pytest.raises(UserError) as e:
        h.call("attach-storage", unit="tinystore/2", ids=["data/0"])
    assert str(e.value) == ("cannot attach storage data/0 to unit tinystore/2: cannot attach "
                            "storage owned by unit tinystore/1 to unit tinystore/2")


# --- the LXD side (pure parts; the model test runs the rest on real containers) ---------

def test_lxd_storage_paths_device_and_argv():
    from yard.provider import lxd_storage
    image, mount = lxd_storage.paths("/h", "m", "data/3")
    assert (image, mount) == ("/h/m/storage/data-3.img", "/h/m/storage/data-3")
    assert lxd_storage.device_name("data/3") == "storage-data-3"
    assert lxd_storage.attach_argv("yard-m-0", "data/3", "/h/m/storage/data-3", "/srv/d",
                                   True) == [
        "config", "device", "add", "yard-m-0", "storage-data-3", "disk",
        "source=/h/m/storage/data-3", "path=/srv/d", "readonly=true"]


def test_lxd_storage_root_ids_from_the_idmap():
    from yard.provider import lxd_storage
    idmap = json.dumps([{"Isuid": True, "Isgid": False, "Hostid": 100000, "Nsid": 0,
                         "Maprange": 65536},
                        {"Isuid": False, "Isgid": True, "Hostid": 200000, "Nsid": 0,
                         "Maprange": 65536}])
    assert lxd_storage.root_ids({"config": {"volatile.idmap.current": idmap}}) == \
        (100000, 200000)
    assert lxd_storage.root_ids({"config": {}}) == (0, 0)  # privileged: host root is root


def test_forced_removal_drops_attachments_without_detaching_hook(h):
    h.call("deploy", path=TINYSTORE)
    h.wait()
    h.call("remove-unit", units=["tinystore/0"], force=True, no_wait=True)
    h.until(lambda: h.call("storage")["storage"]["data/0"]["status"]["current"] == "detached",
            message="data/0 detached")
    ran = [r["hook"] for r in h.ctl.store.hooks("tinystore/0")]
    assert "data-storage-detaching" not in ran, ran
