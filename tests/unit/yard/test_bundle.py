"""Bundle parsing: overlays, relative charm paths, and juju's error wording."""

import os
import shutil

import pytest
import yaml

from yard import bundle as bundlelib
from yard_harness import CHARMS


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def charm(tmp_path):
    rel = os.path.relpath(os.path.join(CHARMS, "tiny"), str(tmp_path))
    return rel


def test_parse_with_overlay(tmp_path):
    base = write(tmp_path, "b.yaml", f"""
applications:
  a:
    charm: {charm(tmp_path)}
    num_units: 2
    options: {{greeting: hi, count: 3}}
    to: ["0", "lxd:0"]
  b:
    charm: {charm(tmp_path)}
machines:
  "0": {{}}
relations:
  - [a:db, b:backend]
""")
    over = write(tmp_path, "o.yaml", """
applications:
  b:
    num_units: 3
    options: {greeting: yo}
relations:
  - [a, b:other]
""")
    b = bundlelib.parse(base, [over])
    apps = {a.name: a for a in b.applications}
    assert apps["a"].charm == os.path.join(CHARMS, "tiny")
    assert apps["a"].options == {"greeting": "hi", "count": 3}
    assert apps["a"].to == ("0", "lxd:0")
    assert apps["b"].num_units == 3 and apps["b"].options == {"greeting": "yo"}
    assert b.relations == (("a:db", "b:backend"), ("a", "b:other"))


@pytest.mark.parametrize("text, message", [
    ("applications: [\n  bad", "cannot deploy bundle: cannot unmarshal bundle contents: yaml: "),
    ("applications:\n  a:\n    charm: ./nope\n",
     'cannot deploy bundle: charm path in application "a" does not exist: '),
    ("applications:\n  a:\n    num_units: 1\n", 'cannot deploy bundle: application "a" has no '
     "charm"),
    ("applications:\n  a:\n    charm: CHARM\nrelations:\n  - [a:db, z:backend]\n",
     'cannot deploy bundle: relation ["a:db", "z:backend"] refers to application "z" not '
     "defined in this bundle"),
    ("applications:\n  a:\n    charm: CHARM\n    to: ['3']\n",
     'cannot deploy bundle: placement "3" in application "a" refers to machine "3" not '
     "defined in this bundle"),
    ("applications:\n  a:\n    charm: CHARM\n    options: {count: many}\n",
     'cannot deploy bundle: application "a": option "count" expected int, got "many"'),
    ("applications:\n  a:\n    charm: CHARM\n    num_units: -1\n",
     'cannot deploy bundle: application "a": num_units must be a non-negative integer'),
])
def test_errors(tmp_path, text, message):
    path = write(tmp_path, "b.yaml", text.replace("CHARM", charm(tmp_path)))
    with pytest.raises(bundlelib.BundleError) as e:
        bundlelib.parse(path)
    assert str(e.value).startswith(message), str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(bundlelib.BundleError, match="not found"):
        bundlelib.parse(str(tmp_path / "none.yaml"))


REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def _built_like(tmp_path, name, layers):
    """A charm folder shaped like ``build/<name>``: metadata, and the layers' options merged."""
    out = tmp_path / "build" / name
    out.mkdir(parents=True)
    src = os.path.join(REPO, "tests", "charms", name)
    shutil.copy(os.path.join(src, "metadata.yaml"), str(out / "metadata.yaml"))
    options = {}
    for layer in layers + [src]:
        path = os.path.join(layer, "config.yaml")
        if os.path.exists(path):
            with open(path) as f:
                options.update((yaml.safe_load(f) or {}).get("options") or {})
    (out / "config.yaml").write_text(yaml.safe_dump({"options": options}))


def test_demo_bundle_with_the_rolling_restarts_overlay(tmp_path):
    shutil.copytree(os.path.join(REPO, "bundles"), str(tmp_path / "bundles"))
    stackyard = os.path.join(REPO, "layers", "stackyard")
    _built_like(tmp_path, "stackyard-test", [stackyard])
    _built_like(tmp_path, "stackyard-probe", [stackyard])
    b = bundlelib.parse(str(tmp_path / "bundles" / "demo.yaml"),
                        [str(tmp_path / "bundles" / "overlays" / "rolling-restarts.yaml")])
    apps = {a.name: a for a in b.applications}
    assert apps["web"].num_units == 5
    assert apps["web"].options == {"message": "hello from the stackyard demo",
                                   "restart-batch-size": 1, "restart-batch-interval": 5,
                                   "restart-health-timeout": 60}
    assert apps["probe"].num_units == 1
    assert b.relations == (("probe:target", "web:website"),)
