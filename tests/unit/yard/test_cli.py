"""The yard CLI against a real controller daemon on the local provider."""

import json
import os
import subprocess
import sys

import pytest

from yard_harness import CHARMS

YARD = os.path.abspath(os.path.join(os.path.dirname(__file__), "../../../tools/yard"))


class CLI:
    def __init__(self, home, model="cli"):
        self.home = str(home)
        self.model = model
        self.env = dict(os.environ, YARD_HOME=self.home, YARD_PROVIDER="local",
                        PYTHONPATH=YARD)

    def __call__(self, *args, check=True, timeout=120):
        proc = subprocess.run([sys.executable, "-m", "yard", "-m", self.model, *map(str, args)],
                              env=self.env, capture_output=True, text=True, timeout=timeout,
                              cwd=self.home)
        if check:
            assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return proc

    def fails(self, *args, message=None):
        proc = self(*args, check=False)
        assert proc.returncode != 0, (args, proc.stdout, proc.stderr)
        assert proc.stderr.startswith("ERROR "), proc.stderr
        assert "Traceback" not in proc.stderr + proc.stdout
        if message is not None:
            assert proc.stderr.strip() == "ERROR " + message, proc.stderr
        return proc


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    home = tmp_path_factory.mktemp("yardhome")
    c = CLI(home)
    bundle = home / "bundle.yaml"
    bundle.write_text(f"""
applications:
  tiny:
    charm: {os.path.relpath(os.path.join(CHARMS, 'tiny'), str(home))}
    num_units: 2
    options:
      greeting: hi
  front:
    charm: {os.path.join(CHARMS, 'tiny')}
    num_units: 1
  sub:
    charm: {os.path.join(CHARMS, 'tinysub')}
relations:
  - [tiny:db, front:backend]
  - [sub, front]
""")
    c("deploy", bundle)
    c("model-config", "automatically-retry-hooks=false")
    c("wait", "--timeout", 60)
    yield c
    c("destroy-model", "--no-prompt", check=False)


def test_status_tabular(cli):
    out = cli("status").stdout
    assert "App" in out and "Unit" in out and "Machine" in out
    assert "tiny/0*" in out and "greeting: hi" in out and "8080/tcp" in out
    assert "  sub/0*" in out


def test_status_json(cli):
    st = json.loads(cli("status", "--format", "json").stdout)
    unit = st["applications"]["front"]["units"]["front/0"]
    assert unit["workload-status"]["current"] == "active"
    assert unit["juju-status"]["current"] == "idle"
    assert unit["leader"] is True
    assert unit["subordinates"]["sub/0"]["workload-status"]["message"] == "on front/0"
    assert st["machines"][unit["machine"]]["dns-name"] == unit["public-address"]


def test_run_action_json_and_plain(cli):
    proc = cli("run", "tiny/leader", "echo", "message=hey", "count=2", "--format", "json")
    task = json.loads(proc.stdout)["tiny/0"]
    assert task["status"] == "completed"
    assert task["results"]["echo"] == "hey hey"
    proc = cli("run", "tiny/1", "echo", "message=plain")
    assert "echo: plain" in proc.stdout
    proc = cli("run", "tiny/1", "echo", "message=x", "count=0", "--format", "json", check=False)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["tiny/1"]["message"] == "count must be at least 1, got 0"


def test_run_validation_errors(cli):
    cli.fails("run", "tiny/0", "echo",
              message='validation failed: (root) : "message" is required')
    cli.fails("run", "tiny/0", "echo", "message=a", "count=many", "colour=red",
              message='validation failed: (root) : additional property "colour" is not '
                      'allowed, (root).count : must be of type integer')
    cli.fails("run", "tiny/0", "nope", message='action "nope" not defined on unit "tiny/0"')


def test_unknown_things(cli):
    cli.fails("config", "foo", message='application "foo" not found')
    cli.fails("show-unit", "foo/0", message='unit "foo/0" not found')
    cli.fails("remove-unit", "tiny/9", message='unit "tiny/9" not found')
    cli.fails("relate", "foo", "tiny", message='application "foo" not found')
    cli.fails("relate", "tiny:nope", "front", message='application "tiny" has no "nope" relation')
    cli.fails("run", "foo/leader", "echo", message='application "foo" not found')


def test_incompatible_interfaces(cli):
    cli.fails("integrate", "tiny:other", "front:db", message="no relations found")


def test_broken_bundle(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("applications: [\n  oops")
    proc = cli.fails("deploy", bad)
    assert proc.stderr.startswith("ERROR cannot deploy bundle: cannot unmarshal bundle contents")


def test_exec_output_and_exit_code(cli):
    proc = cli("exec", "--unit", "tiny/0", "--", "echo out; echo err >&2; is-leader; exit 4",
               check=False)
    assert proc.returncode == 4
    assert proc.stdout == "out\nTrue\n" and proc.stderr == "err\n"


def test_show_unit_yaml(cli):
    import yaml
    data = yaml.safe_load(cli("show-unit", "front/0").stdout)["front/0"]
    infos = {i["endpoint"]: i for i in data["relation-info"]}
    assert sorted(infos["backend"]["related-units"]) == ["tiny/0", "tiny/1"]
    assert infos["backend"]["application-data"]["greeting"] == "hi"


def test_hooks_json_and_table(cli):
    rows = json.loads(cli("hooks", "--format", "json").stdout)
    assert {"unit", "hook", "start", "duration", "exit-code"} <= set(rows[0])
    assert "install" in cli("hooks").stdout


def test_config_and_fail_hook_and_resolved(cli):
    assert cli("config", "tiny", "greeting").stdout == "hi\n"
    cli("fail-hook", "tiny/1", "config-changed")
    cli("config", "tiny", "greeting=yo")
    proc = cli("wait", "--timeout", 30, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == 'ERROR unit "tiny/1" is in error: hook failed: "config-changed"'
    cli("resolved", "tiny/1")
    cli("wait", "--timeout", 30)
    assert "greeting: yo" in cli("status").stdout


def test_debug_log_and_export_bundle(cli):
    out = cli("debug-log", "--replay", "--no-tail", "--include", "tiny/1").stdout
    assert out and all(line.startswith("unit-tiny-1: ") for line in out.splitlines())
    import yaml
    b = yaml.safe_load(cli("export-bundle").stdout)
    assert b["applications"]["tiny"]["num_units"] == 2
    assert ["tiny:db", "front:backend"] in b["relations"]


def test_wait_timeout(cli):
    cli("add-unit", "tiny")
    proc = cli("wait", "--timeout", "0.01", check=False)
    assert proc.returncode == 1 and "timed out" in proc.stderr
    cli("wait", "--timeout", 60)


def test_destroy_model(tmp_path):
    c = CLI(tmp_path, model="gone")
    c("deploy", os.path.join(CHARMS, "tiny"))
    c("wait", "--timeout", 60)
    c("destroy-model", "--no-prompt")
    assert not os.path.exists(os.path.join(str(tmp_path), "gone"))
    c.fails("destroy-model", "--no-prompt", message='model "gone" not found')


def test_run_on_several_units(cli):
    proc = cli("run", "tiny/0", "tiny/1", "echo", "message=both", "--format", "json")
    tasks = json.loads(proc.stdout)
    assert sorted(tasks) == ["tiny/0", "tiny/1"]
    assert {t["results"]["echo"] for t in tasks.values()} == {"both"}


def test_deploy_config_file_reads_only_its_application(tmp_path):
    c = CLI(tmp_path, model="cfgfile")
    conf = tmp_path / "config.yaml"
    conf.write_text("other:\n  no-such-option: 1\nnamed:\n  greeting: from-file\n"
                    "tiny:\n  greeting: by-charm-name\n")
    c("deploy", os.path.join(CHARMS, "tiny"), "named", "--config", conf)
    c("deploy", os.path.join(CHARMS, "tiny"), "--config", conf)
    assert c("config", "named", "greeting").stdout.strip() == "from-file"
    assert c("config", "tiny", "greeting").stdout.strip() == "by-charm-name"
    c("destroy-model", "--no-prompt")
