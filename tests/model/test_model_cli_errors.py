"""CLI errors read like juju's (``ERROR ...`` on stderr) and exit non-zero.

The model holds applications without units, so no machine is started: the
errors come from the CLI and controller alone.  Errors that need units (bad
action parameters, hook tools refused) are in test_model_classic.py and
test_model_relations.py.
"""

import pytest

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def model(yard):
    yard.deploy_bundle("no-units")
    return yard


def test_broken_bundle_yaml(model, tmp_path):
    bundle = tmp_path / "broken.yaml"
    bundle.write_text("applications:\n  yard-classic: {charm: [unclosed\n")
    model.fails("deploy", bundle)


def test_bundle_with_a_missing_charm(model, tmp_path):
    bundle = tmp_path / "missing.yaml"
    bundle.write_text("applications:\n  ghost:\n    charm: ./no-such-charm\n    num_units: 1\n")
    result = model.fails("deploy", bundle)
    assert "no-such-charm" in result.stderr, result.report()
    assert "ghost" not in model.status()["applications"]


def test_bundle_relating_an_unknown_application(model, tmp_path, build_dir):
    bundle = tmp_path / "bad-relation.yaml"
    bundle.write_text(
        "applications:\n  solo:\n    charm: %s\n    num_units: 0\n"
        "relations:\n  - [solo:data, nobody:data]\n" % (build_dir / "yard-classic"))
    result = model.fails("deploy", bundle)
    assert "nobody" in result.stderr, result.report()
    assert "solo" not in model.status()["applications"]


def test_no_machines_were_started(model):
    status = model.status()
    assert sorted(status["applications"]) == ["yard-classic", "yard-ops", "yard-sub"]
    assert not status.get("machines")


@pytest.mark.parametrize("args", [
    ("config", "nope"),
    ("config", "nope", "greeting=x"),
    ("add-unit", "nope"),
    ("remove-application", "nope"),
    ("upgrade-charm", "nope", "--path", "build/yard-classic"),
])
def test_unknown_application(model, args):
    result = model.fails(*args)
    assert 'application "nope" not found' in result.stderr, result.report()


@pytest.mark.parametrize("args", [
    ("show-unit", "yard-classic/7"),
    ("remove-unit", "yard-classic/7"),
    ("resolved", "yard-classic/7"),
    ("exec", "--unit", "yard-classic/7", "--", "true"),
    ("run", "yard-classic/7", "echo", "message=hi"),
])
def test_unknown_unit(model, args):
    result = model.fails(*args)
    assert "yard-classic/7" in result.stderr and "not found" in result.stderr, result.report()


def test_unknown_config_option(model):
    result = model.fails("config", "yard-classic", "colour=blue")
    assert 'unknown option "colour"' in result.stderr, result.report()


def test_unknown_endpoint(model):
    result = model.fails("relate", "yard-classic:nope", "yard-ops:data")
    assert 'application "yard-classic" has no "nope" relation' in result.stderr, result.report()


def test_incompatible_interfaces(model):
    model.fails("integrate", "yard-classic:data", "yard-sub:juju-info")
    # It was not recorded: there is nothing to remove.
    model.fails("remove-relation", "yard-classic:data", "yard-sub:juju-info")


def test_application_name_taken(model, build_dir):
    result = model.fails("deploy", build_dir / "yard-classic", "-n", "0")
    assert 'application "yard-classic"' in result.stderr or "already exists" in result.stderr, (
        result.report())


def test_compatible_relation_is_accepted(model):
    model("relate", "yard-classic:data", "yard-ops:data")
    result = model.fails("relate", "yard-classic:data", "yard-ops:data")
    assert "already exists" in result.stderr, result.report()
