"""Charm resources: metadata, deploy/attach, resource-get, ``yard resources``; Juju's numbering.

Texts and rules come from juju/juju (3.x): worker/uniter/runner/jujuc/resource-get.go
(usage, ``could not download resource`` annotation, path printed without a newline),
cmd/juju/resource (deploy.go ``unrecognized resource``, formatter.go and
output_tabular.go for ``juju resources``), state/resources_staged.go (new bytes bump
CharmModifiedVersion, hence upgrade-charm), state/charm.go and state/operation.go
(revisions and operation/task ids).  See tools/yard/README.md, "Resources".
"""

import os
import re
import shutil

import pytest
import yaml

from fake_context import FakeContext
from test_tools import error, ok, run
from yard import bundle as bundlelib
from yard import charm as charmlib
from yard_harness import TINY, UserError

# --- the hook tool --------------------------------------------------------------------


def test_resource_get_path_without_newline_and_usage_errors():
    ctx = FakeContext()
    ctx.resources = {"blob": "/var/lib/juju/agents/unit-app-0/resources/blob/blob.tgz"}
    assert ok(run(ctx, "resource-get", "blob")) == \
        b"/var/lib/juju/agents/unit-app-0/resources/blob/blob.tgz"
    assert error(run(ctx, "resource-get"), 2) == "missing required resource name"
    assert error(run(ctx, "resource-get", "blob", "more"), 2) == 'unrecognized args: ["more"]'
    assert error(run(ctx, "resource-get", "--nope", "blob"), 2) == \
        "flag provided but not defined: --nope"  # gnuflag's text


def test_resource_get_help_is_jujus():
    out = ok(run(FakeContext(), "resource-get", "--help")).decode()
    assert out.startswith("Usage: resource-get <resource name>\n")
    assert "get the path to the locally cached resource file" in out


# --- metadata ---------------------------------------------------------------------------


def _charm(tmp_path, resources, name="res"):
    path = tmp_path / name
    shutil.copytree(TINY, path)
    meta = yaml.safe_load((path / "metadata.yaml").read_text())
    meta["name"] = name
    meta["resources"] = resources
    (path / "metadata.yaml").write_text(yaml.safe_dump(meta))
    return str(path)


def test_metadata_resources(tmp_path):
    c = charmlib.load_charm(_charm(tmp_path, {
        "blob": {"type": "file", "filename": "blob.tgz", "description": "the blob"}}))
    assert c.resources["blob"] == charmlib.ResourceMeta("blob", "file", "blob.tgz", "the blob")


@pytest.mark.parametrize("spec,message", [
    ({"type": "file"}, 'charm "res" resource "r": resource missing filename'),
    ({"type": "file", "filename": "a/b"},
     'charm "res" resource "r": filename cannot contain "/" (got "a/b")'),
    ({"type": "repo", "filename": "x"}, 'charm "res" resource "r": unsupported resource '
                                        'type "repo"'),
    ({"type": "oci-image"}, 'charm "res" resource "r": type "oci-image" is for Kubernetes '
                            'charms; yard runs machine charms, which take type "file" only'),
])
def test_metadata_resource_errors(tmp_path, spec, message):
    with pytest.raises(charmlib.CharmError) as e:
        charmlib.load_charm(_charm(tmp_path, {"r": spec}))
    assert str(e.value) == message


def test_bundle_resources_are_relative_to_the_bundle(tmp_path):
    charm = _charm(tmp_path, {"blob": {"type": "file", "filename": "blob.txt"}})
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "b.txt").write_text("x")
    bundle = tmp_path / "bundle.yaml"
    bundle.write_text(yaml.safe_dump({"applications": {"a": {
        "charm": os.path.basename(charm), "resources": {"blob": "./files/b.txt"}}}}))
    b = bundlelib.parse(str(bundle))
    assert b.applications[0].resources == {"blob": str(tmp_path / "files" / "b.txt")}
    bundle.write_text(yaml.safe_dump({"applications": {"a": {
        "charm": os.path.basename(charm), "resources": {"blob": "missing.txt"}}}}))
    with pytest.raises(bundlelib.BundleError,
                       match='resource "blob": open .*missing.txt: no such file or directory'):
        bundlelib.parse(str(bundle))
    bundle.write_text(yaml.safe_dump({"applications": {"a": {
        "charm": os.path.basename(charm), "resources": {"nope": "x"}}}}))
    with pytest.raises(bundlelib.BundleError, match='unrecognized resource "nope"'):
        bundlelib.parse(str(bundle))


# --- the controller -----------------------------------------------------------------------


def _unit_file(h, unit, name, filename):
    tag = "unit-" + unit.replace("/", "-")
    return os.path.join(h.machine_dir(unit), "var/lib/juju/agents", tag, "resources", name,
                        filename)


def test_placeholder_then_attach_runs_upgrade_charm(h, tmp_path):
    charm = _charm(tmp_path, {"blob": {"type": "file", "filename": "blob.txt"}})
    h.call("deploy", path=charm, num_units=1)
    h.wait()
    code, out, err = h.exec("res/0", "resource-get blob")
    assert code == 1 and out == ""
    uuid = h.ctl.state.uuid
    assert err == ("ERROR could not download resource: HTTP request failed: Get "
                   f"https://127.0.0.1:17070/model/{uuid}/units/unit-res-0/resources/blob: "
                   "resource#res/blob not found\n")
    listed = h.call("resources", app="res")["resources"]
    assert [(r["name"], r["used"], r["_supplied_by"], r["_revision"]) for r in listed] == \
        [("blob", False, "upload", "-")]

    seen = len(h.hooks("res/0"))
    src = tmp_path / "v1.txt"
    src.write_text("one")
    assert h.call("attach-resource", app="res", resources={"blob": str(src)}) == \
        {"upgraded": True}
    h.wait()
    assert h.hooks("res/0")[seen:] == ["upgrade-charm", "config-changed"]
    code, out, _ = h.exec("res/0", "resource-get blob")
    assert code == 0 and out == "/var/lib/juju/agents/unit-res-0/resources/blob/blob.txt"
    assert open(_unit_file(h, "res/0", "blob", "blob.txt")).read() == "one"

    # The same bytes again: no new CharmModifiedVersion, no hook.
    seen = len(h.hooks("res/0"))
    assert h.call("attach-resource", app="res", resources={"blob": str(src)}) == \
        {"upgraded": False}
    h.wait()
    assert h.hooks("res/0")[seen:] == []

    src.write_text("two")
    h.call("attach-resource", app="res", resources={"blob": str(src)})
    h.wait()
    assert h.hooks("res/0")[seen:] == ["upgrade-charm", "config-changed"]
    h.exec("res/0", "resource-get blob")
    assert open(_unit_file(h, "res/0", "blob", "blob.txt")).read() == "two"

    res = h.call("resources", app="res/0")["resources"][0]
    assert res["used"] and res["_supplied_by"] == "admin" and res["revision"] == "0"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d$", res["_revision"])
    assert res["size"] == 3 and len(res["fingerprint"]) == 96  # SHA-384, as Juju's


def test_deploy_with_resource_and_errors(h, tmp_path):
    charm = _charm(tmp_path, {"blob": {"type": "file", "filename": "blob.txt"}})
    src = tmp_path / "given.txt"
    src.write_text("given")
    with pytest.raises(UserError, match=r'^unrecognized resource "nope"$'):
        h.call("deploy", path=charm, resources={"nope": str(src)})
    with pytest.raises(UserError, match=r"^unrecognized resources: a, b$"):
        h.call("deploy", path=charm, resources={"a": str(src), "b": str(src)})
    with pytest.raises(UserError, match=r"^open /no/such: no such file or directory$"):
        h.call("deploy", path=charm, resources={"blob": "/no/such"})
    assert "res" not in h.ctl.state.applications
    h.call("deploy", path=charm, resources={"blob": str(src)})
    h.wait()
    code, out, _ = h.exec("res/0", "cat $YARD_MACHINE_ROOT$(resource-get blob)")
    assert (code, out) == (0, "given")
    with pytest.raises(UserError, match='^failed to upload resource "blob": open /no/such: '
                                        "no such file or directory$"):
        h.call("attach-resource", app="res", resources={"blob": "/no/such"})
    with pytest.raises(UserError, match='^unrecognized resource "x"$'):
        h.call("attach-resource", app="res", resources={"x": str(src)})
    other = tmp_path / "given.tgz"
    other.write_text("x")
    with pytest.raises(UserError, match=f'^failed to upload resource "blob": incorrect extension '
                                        f'on resource upload "{other}", expected ".txt"$'):
        h.call("attach-resource", app="res", resources={"blob": str(other)})
    with pytest.raises(UserError, match='^application "nope" not found$'):
        h.call("attach-resource", app="nope", resources={"blob": str(src)})


# --- numbering --------------------------------------------------------------------------


def test_local_charm_revisions_count_per_charm_name(h, tmp_path):
    charm = _charm(tmp_path, {})
    h.call("deploy", path=charm, name="a", num_units=0)
    h.call("deploy", path=charm, name="b", num_units=0)
    h.call("upgrade-charm", app="a", path=charm)
    h.call("deploy", path=TINY, num_units=0)
    apps = h.ctl.state.applications
    assert (apps["a"].charm_rev, apps["b"].charm_rev, apps["tiny"].charm_rev) == (2, 1, 0)
    other = _charm(tmp_path, {}, name="withrev")
    (tmp_path / "withrev" / "revision").write_text("7\n")
    h.call("deploy", path=other, num_units=0)
    assert h.ctl.state.applications["withrev"].charm_rev == 7


def test_operation_and_task_ids_share_one_sequence(h):
    h.call("deploy", path=TINY, num_units=2)
    h.wait()
    first = h.call("exec", unit="tiny/0", command="true")
    assert (first["operation"], first["id"]) == (1, 2)
    second = h.call("exec", unit="tiny/0", command="true")
    assert (second["operation"], second["id"]) == (3, 4)
    third = h.call("exec", unit="tiny/1", command="true")
    more = h.call("exec", unit="tiny/0", command="true", operation=third["operation"])
    assert (third["operation"], third["id"], more["operation"], more["id"]) == (5, 6, 5, 7)
    h.call("task", id=7, wait=30)
    op = h.call("operation", id=5)
    assert [t["id"] for t in op["tasks"]] == ["6", "7"]
    with pytest.raises(UserError, match='^operation "2" not found$'):
        h.call("operation", id=2)


# --- the CLI ------------------------------------------------------------------------------


def test_cli_resources_attach_and_run_numbering(tmp_path):
    from test_cli import CLI
    c = CLI(tmp_path / "home", model="res")
    (tmp_path / "home").mkdir()
    charm = _charm(tmp_path, {"blob": {"type": "file", "filename": "blob.txt"},
                              "other": {"type": "file", "filename": "o.bin"}})
    src = tmp_path / "b.txt"
    src.write_text("b")
    try:
        c("deploy", charm, "--resource", f"blob={src}")
        c("wait", "--timeout", 60)
        lines = c("resources", "res").stdout.splitlines()
        assert lines[0].split() == ["Resource", "Supplied", "by", "Revision"]
        assert lines[0].index("Supplied by") == lines[1].index("admin")
        assert re.match(r"^blob +admin +\d{4}-\d\d-\d\dT\d\d:\d\d$", lines[1])
        assert re.match(r"^other +upload +-$", lines[2])
        unit = c("resources", "res/0").stdout.splitlines()
        assert unit[0].split() == ["Resource", "Revision"] and unit[2].split() == ["other", "-"]
        listed = yaml.safe_load(c("resources", "res/0", "--format", "yaml").stdout)
        assert [(r["name"], r["revision"]) for r in listed] == [("blob", "-"), ("other", "-")]
        data = yaml.safe_load(c("resources", "res", "--format", "yaml").stdout)
        assert [r["name"] for r in data["resources"]] == ["blob", "other"]
        assert not any(k.startswith("_") for r in data["resources"] for k in r)
        c.fails("attach-resource", "res", "blob", message='invalid resource "blob": '
                                                          "expected name=path format")
        c.fails("deploy", charm, "again", "--resource", "blob",
                message='invalid --resource "blob": expected name=path format')
        binary = tmp_path / "o.bin"
        binary.write_bytes(b"\x00")
        c("attach-resource", "res", f"other={binary}", "--wait")
        proc = c("run", "res/0", "echo", "message=hi")
        assert proc.stderr.startswith("Running operation 1 with 1 task\n"
                                      "  - task 2 on unit-res-0\n\nWaiting for task 2...\n")
        proc = c("run", "res/0", "echo", "message=hi", "--background")
        assert proc.stdout == ("Scheduled operation 3 with task 4\n"
                               "Check operation status with 'yard show-operation 3'\n"
                               "Check task status with 'yard show-task 4'\n")
        c("show-task", "4")
        op = yaml.safe_load(c("show-operation", "3").stdout)
        assert op["summary"] == "echo run on unit-res-0" and list(op["tasks"]) == ["4"]
    finally:
        c("destroy-model", "--no-prompt", check=False)
