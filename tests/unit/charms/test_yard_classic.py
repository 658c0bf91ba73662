"""Unit tests of the yard-classic test charm: its bash hooks run against fake hook tools.

The fake tools (one Python script under every tool name) keep a JSON model of
what the unit sees: config, leadership, relation bags, ports, status and the
running action.  Writes apply at once (no commit at hook end): these tests
check what the hooks ask of Juju, the model tests check Juju's semantics.
"""

import json
import os
import pathlib
import subprocess

import pytest

CHARMS = pathlib.Path(__file__).resolve().parents[2] / "charms"
CLASSIC = CHARMS / "yard-classic"

FAKE_TOOL = r'''#!/usr/bin/env python3
"""A fake Juju hook tool: argv[0] names the tool; the model is JSON in $FAKE_JUJU_STATE."""
import json
import os
import sys

BOOL_FLAGS = ("--app", "--all", "--application")
VALUE_FLAGS = ("--format", "-r", "--relation", "--file", "-l", "--log-level")


def parse(argv):
    opts, pos = {}, []
    it = iter(argv)
    for arg in it:
        name, eq, value = arg.partition("=")
        if name in BOOL_FLAGS:
            opts[name] = value.lower() != "false" if eq else True
        elif name in VALUE_FLAGS:
            opts[name] = value if eq else next(it)
        elif arg == "--":
            pos.extend(it)
        else:
            pos.append(arg)
    return opts, pos


def out(value, fmt):
    if fmt == "json":
        print(json.dumps(value))
    elif value is None or value == "":
        pass
    elif isinstance(value, bool):
        print("True" if value else "False")
    elif isinstance(value, list):
        for item in value:
            print(item)
    elif isinstance(value, dict):
        for key, item in sorted(value.items()):
            print("%s: %s" % (key, item))
    else:
        print(value)


def fail(message, code=1):
    sys.stderr.write("ERROR %s\n" % message)
    sys.exit(code)


def pairs(items):
    result = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq:
            fail('expected "key=value", got "%s"' % item, 2)
        result[key] = value
    return result


def apply(bag, settings):
    for key, value in settings.items():
        if value == "":
            bag.pop(key, None)
        else:
            bag[key] = value


def main():
    path = os.environ["FAKE_JUJU_STATE"]
    with open(path) as f:
        state = json.load(f)
    tool = os.path.basename(sys.argv[0])
    opts, pos = parse(sys.argv[1:])
    state.setdefault("calls", []).append([tool] + sys.argv[1:])
    fmt = opts.get("--format", "smart")
    unit = os.environ["JUJU_UNIT_NAME"]
    app = unit.split("/")[0]
    leader = state.get("leader", False)
    rels = state.setdefault("relations", {})
    rid = opts.get("-r") or opts.get("--relation") or os.environ.get("JUJU_RELATION_ID")
    if rid and ":" not in rid:
        rid = [r for r in rels if r.endswith(":" + rid)][0]
    action = state.get("action")
    if tool == "config-get":
        out(state["config"][pos[0]] if pos else state["config"], fmt)
    elif tool == "is-leader":
        out(leader, fmt)
    elif tool == "relation-ids":
        out(sorted(r for r, v in rels.items() if v["endpoint"] == pos[0]), fmt)
    elif tool == "relation-list":
        out(sorted(rels[rid]["units"]), fmt)
    elif tool == "relation-get":
        rel = rels[rid]
        key = pos[0] if pos and pos[0] != "-" else None
        target = pos[1] if len(pos) > 1 else (
            rel["app"] if opts.get("--app") else os.environ.get("JUJU_REMOTE_UNIT"))
        if target == unit:
            bag = rel["local-unit"]
        elif target == app:
            if not leader and not rel.get("peer"):
                fail("permission denied")
            bag = rel["local-app"]
        elif target == rel["app"]:
            bag = rel["app-data"]
        else:
            bag = rel["units"][target]
        out(bag.get(key) if key else bag, fmt)
    elif tool == "relation-set":
        settings = {}
        if "--file" in opts:
            text = sys.stdin.read() if opts["--file"] == "-" else open(opts["--file"]).read()
            if text.strip().startswith("{"):  # ops sends a JSON-style flow mapping
                settings.update(json.loads(text))
                text = ""
            for line in text.splitlines():
                key, _, value = line.partition(":")
                if key.strip():
                    settings[key.strip()] = value.strip().strip("'\"")
        settings.update(pairs(pos))
        if opts.get("--app"):
            if not leader:
                fail("cannot write relation settings")
            apply(rels[rid]["local-app"], settings)
        else:
            apply(rels[rid]["local-unit"], settings)
    elif tool == "leader-get":
        data = state.setdefault("leader-settings", {})
        out(data.get(pos[0]) if pos and pos[0] != "-" else data, fmt)
    elif tool == "leader-set":
        if not leader:
            fail("cannot write leadership settings: cannot write settings: not the leader")
        apply(state.setdefault("leader-settings", {}), pairs(pos))
    elif tool == "status-set":
        state["status"] = [pos[0], " ".join(pos[1:])]
    elif tool == "application-version-set":
        state["version"] = pos[0]
    elif tool == "open-port":
        ports = state.setdefault("ports", [])
        if pos[0].lower() not in ports:
            ports.append(pos[0].lower())
    elif tool == "close-port":
        state["ports"] = [p for p in state.get("ports", []) if p != pos[0].lower()]
    elif tool == "opened-ports":
        out(state.get("ports", []), fmt)
    elif tool == "unit-get":
        out("10.0.0.%s" % (int(unit.split("/")[1]) + 10), fmt)
    elif tool.startswith("action-"):
        if action is None:
            fail("not running an action")
        if tool == "action-get":
            out(action["params"].get(pos[0]) if pos else action["params"], fmt)
        elif tool == "action-set":
            action.setdefault("results", {}).update(pairs(pos))
        elif tool == "action-fail":
            action["failed"] = pos[0] if pos else "action failed without reason given"
        elif tool == "action-log":
            action.setdefault("log", []).append(" ".join(pos))
    elif tool == "juju-log":
        state.setdefault("log", []).append(" ".join(pos))
    else:
        fail("fake tool %s is not implemented" % tool)
    with open(path, "w") as f:
        json.dump(state, f, indent=1)


main()
'''

TOOLS = ("config-get is-leader relation-ids relation-list relation-get relation-set leader-get "
         "leader-set status-set application-version-set open-port close-port opened-ports "
         "unit-get action-get action-set action-fail action-log juju-log").split()


class FakeUnit:
    """One unit of a charm, with fake hook tools, whose hooks run on this host."""

    def __init__(self, tmp_path, charm_dir, unit, state):
        self.charm_dir = charm_dir
        self.unit = unit
        self.root = tmp_path / "root"
        self.bin = tmp_path / "bin"
        self.state_path = tmp_path / "state.json"
        self.bin.mkdir()
        script = self.bin / "fake-hook-tool"
        script.write_text(FAKE_TOOL)
        script.chmod(0o755)
        for tool in TOOLS:
            (self.bin / tool).symlink_to(script)
        self.state = state

    @property
    def state(self):
        return json.loads(self.state_path.read_text())

    @state.setter
    def state(self, value):
        self.state_path.write_text(json.dumps(value))

    def update(self, **changes):
        state = self.state
        state.update(changes)
        self.state = state

    def env(self, **extra):
        env = {
            "PATH": "%s:/usr/bin:/bin" % self.bin,
            "JUJU_UNIT_NAME": self.unit,
            "JUJU_CHARM_DIR": str(self.charm_dir),
            "JUJU_MACHINE_ID": "3",
            "FAKE_JUJU_STATE": str(self.state_path),
            "YARD_CHARM_ROOT": str(self.root),
        }
        env.update({k: v for k, v in extra.items() if v is not None})
        return env

    def hook(self, name, relation_id=None, remote_unit=None, check=True, **extra):
        env = self.env(JUJU_HOOK_NAME=name, JUJU_DISPATCH_PATH="hooks/" + name, **extra)
        if relation_id:
            rel = self.state["relations"][relation_id]
            env.update(JUJU_RELATION=rel["endpoint"], JUJU_RELATION_ID=relation_id,
                       JUJU_REMOTE_APP=rel["app"], JUJU_REMOTE_UNIT=remote_unit or "")
        proc = subprocess.run([str(self.charm_dir / "hooks" / name)], env=env,
                              cwd=str(self.charm_dir), capture_output=True, text=True)
        if check:
            assert proc.returncode == 0, "%s exited %d: %s" % (name, proc.returncode, proc.stderr)
        return proc

    def action(self, name, params):
        self.update(action={"params": params})
        env = self.env(JUJU_HOOK_NAME="", JUJU_ACTION_NAME=name,
                       JUJU_DISPATCH_PATH="actions/" + name)
        proc = subprocess.run([str(self.charm_dir / "actions" / name)], env=env,
                              cwd=str(self.charm_dir), capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return self.state["action"]

    def log(self, name):
        path = self.root / "var" / "log" / name
        if not path.exists():
            return []
        return [dict(t.partition("=")[::2] for t in line.split())
                for line in path.read_text().splitlines()]

    def read(self, relpath):
        return (self.root / relpath).read_text()


def classic_state(leader=False):
    return {
        "leader": leader,
        "config": {"greeting": "hello there", "port": 8080, "fail-config-changed": False},
        "relations": {
            "cluster:0": {"endpoint": "cluster", "app": "yard-classic", "peer": True,
                          "units": {"yard-classic/1": {"greeting": "hi"}},
                          "app-data": {}, "local-unit": {}, "local-app": {}},
            "data:4": {"endpoint": "data", "app": "yard-ops",
                       "units": {"yard-ops/0": {"ops-unit": "yard-ops/0"}},
                       "app-data": {"consumer": "yard-ops"}, "local-unit": {},
                       "local-app": {}},
        },
    }


@pytest.fixture
def classic(tmp_path):
    return FakeUnit(tmp_path, CLASSIC, "yard-classic/0", classic_state())


def hook_names():
    return sorted(p.name for p in (CLASSIC / "hooks").iterdir())


def test_every_hook_is_executable_bash():
    for name in hook_names():
        path = CLASSIC / "hooks" / name
        assert os.access(path, os.X_OK), name
        subprocess.run(["bash", "-n", str(path)], check=True)
    subprocess.run(["bash", "-n", str(CLASSIC / "lib" / "common.sh")], check=True)


@pytest.mark.parametrize("name", hook_names())
def test_every_hook_runs_and_records_itself(classic, name):
    classic.update(leader=(name == "leader-elected"))
    relation_id = {"cluster": "cluster:0", "data": "data:4"}.get(name.split("-relation-")[0])
    remote = None
    if relation_id and name.endswith(("-joined", "-changed", "-departed")):
        remote = "yard-classic/1" if relation_id == "cluster:0" else "yard-ops/0"
    classic.hook(name, relation_id=relation_id, remote_unit=remote)
    records = classic.log("yard-classic-hooks.log")
    assert len(records) == 1
    record = records[0]
    assert (record["unit"], record["hook"], record["machine"]) == ("yard-classic/0", name, "3")
    assert record["remote-unit"] == (remote or "")
    assert record["relation-id"] == (relation_id or "")
    assert float(record["time"]) > 0


def test_install_sets_maintenance(classic):
    classic.hook("install")
    assert classic.state["status"] == ["maintenance", "installing"]


def test_config_changed_publishes_opens_port_and_reports(classic):
    classic.hook("config-changed")
    state = classic.state
    assert state["relations"]["cluster:0"]["local-unit"] == {"greeting": "hello there"}
    assert state["relations"]["data:4"]["local-unit"] == {"greeting": "hello there"}
    assert state["relations"]["data:4"]["local-app"] == {}  # not the leader
    assert state["ports"] == ["8080/tcp"]
    assert state["version"] == "1"
    assert state["status"] == ["active", "greeting: hello there"]
    record = classic.log("yard-classic-hooks.log")[0]
    assert (record["greeting"], record["charm-version"], record["fail"]) == (
        "hello_there", "1", "false")


def test_config_changed_as_leader_writes_app_bags(tmp_path):
    unit = FakeUnit(tmp_path, CLASSIC, "yard-classic/0", classic_state(leader=True))
    unit.hook("config-changed")
    for rid in ("cluster:0", "data:4"):
        assert unit.state["relations"][rid]["local-app"] == {
            "greeting": "hello there", "leader-unit": "yard-classic/0"}


def test_config_changed_moves_the_port(classic):
    classic.update(ports=["8080/tcp"])
    state = classic.state
    state["config"]["port"] = 9000
    classic.state = state
    classic.hook("config-changed")
    assert classic.state["ports"] == ["9000/tcp"]


def test_config_changed_fails_on_request_after_writing(classic):
    state = classic.state
    state["config"]["fail-config-changed"] = True
    classic.state = state
    proc = classic.hook("config-changed", check=False)
    assert proc.returncode == 1
    assert "fail-config-changed" in proc.stderr
    state = classic.state
    tools = [call[0] for call in state["calls"]]
    assert "relation-set" in tools and "open-port" in tools
    assert "status" not in state  # never reached status-set active


def test_leader_elected_publishes_leadership(tmp_path):
    unit = FakeUnit(tmp_path, CLASSIC, "yard-classic/0", classic_state(leader=True))
    unit.hook("leader-elected")
    state = unit.state
    assert state["leader-settings"] == {"leader-unit": "yard-classic/0"}
    assert state["relations"]["cluster:0"]["local-app"]["leader-unit"] == "yard-classic/0"
    assert unit.read("var/lib/yard-classic/leader-unit") == "yard-classic/0\n"


def test_leader_settings_changed_keeps_leader(classic):
    classic.update(**{"leader-settings": {"leader-unit": "yard-classic/2"}})
    classic.hook("leader-settings-changed")
    assert classic.read("var/lib/yard-classic/leader-unit") == "yard-classic/2\n"
    assert classic.log("yard-classic-hooks.log")[0]["leader"] == "yard-classic/2"


def test_relation_changed_saves_remote_bag(classic):
    classic.hook("cluster-relation-changed", relation_id="cluster:0",
                 remote_unit="yard-classic/1")
    saved = json.loads(classic.read("var/lib/yard-classic/cluster/yard-classic_1"))
    assert saved == {"greeting": "hi"}
    assert classic.log("yard-classic-hooks.log")[0]["remote-greeting"] == "hi"


def test_app_level_relation_changed_reads_remote_app(classic):
    classic.hook("data-relation-changed", relation_id="data:4")
    saved = json.loads(classic.read("var/lib/yard-classic/data/app_yard-ops"))
    assert saved == {"consumer": "yard-ops"}


def test_non_leader_probes_app_bag_rules(classic):
    classic.hook("data-relation-joined", relation_id="data:4", remote_unit="yard-ops/0")
    probes = {p["probe"]: p for p in classic.log("yard-classic-probes.log")}
    assert probes["app-write"]["rc"] == "1"
    assert probes["app-write"]["err"] == "ERROR_cannot_write_relation_settings"
    assert probes["app-read"]["rc"] == "1"
    assert probes["app-read"]["err"] == "ERROR_permission_denied"
    assert classic.state["relations"]["data:4"]["local-app"] == {}


def test_leader_does_not_probe(tmp_path):
    unit = FakeUnit(tmp_path, CLASSIC, "yard-classic/0", classic_state(leader=True))
    unit.hook("data-relation-joined", relation_id="data:4", remote_unit="yard-ops/0")
    assert unit.log("yard-classic-probes.log") == []


def test_echo_action(classic):
    action = classic.action("echo", {"message": "hi", "count": 3})
    assert action["results"] == {"echo": "hi hi hi", "count": "3", "unit": "yard-classic/0"}
    assert "failed" not in action
    assert classic.log("yard-classic-hooks.log")[0]["hook"] == "action:echo"


def test_echo_action_fails_for_zero_count(classic):
    action = classic.action("echo", {"message": "hi", "count": 0})
    assert action["failed"] == "count must be at least 1, got 0"
    assert "results" not in action
