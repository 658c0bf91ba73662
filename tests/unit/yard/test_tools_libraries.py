"""The invocations charmhelpers and ops make, answered the way they parse them.

charmhelpers' hookenv runs for real (it is a unit test dependency) against the
real client and server; ops is not installed here, so its exact argv shapes
(from ops 3.x ``ops/hookcmds``) are replayed in-process.
"""

import json
import os
import shutil

import pytest
import yaml

from fake_context import FakeContext
from yard.context import Port, Status
from yard.tools import server as tool_server
from yard.tools.server import TOOL_NAMES, ToolServer, run_tool

CONTEXT_ID = "app-0-db-relation-changed-00000000000000000000000000000000"


def hook_ctx():
    ctx = FakeContext(hook_name="db-relation-changed", relation="db:3", remote_unit="pg/0",
                      remote_app="pg")
    ctx.add_relation(3, "db", "pg", ["pg/0"], bags={"pg/0": {"host": "10.0.0.5"},
                                                    "pg": {"dsn": "x"}})
    ctx.add_relation(1, "cluster", "app", ["app/1"], peer=True)
    ctx.config_values = {"port": 8080, "vip": None}
    ctx.networks["db"] = {"bind-addresses": [{"interface-name": "eth0", "addresses": [
        {"value": "10.0.0.10", "cidr": "10.0.0.0/24"}]}],
        "egress-subnets": ["10.0.0.10/32"], "ingress-addresses": ["10.0.0.10"]}
    return ctx


@pytest.fixture
def hookenv(tmp_path, monkeypatch):
    """charmhelpers' hookenv with the hook tools on PATH, talking to a live server."""
    hookenv = pytest.importorskip("charmhelpers.core.hookenv")
    ctx = hook_ctx()
    srv = ToolServer({CONTEXT_ID: ctx}.get, "127.0.0.1")
    host, port = srv.start()
    tools = tmp_path / "tools"
    tools.mkdir()
    shutil.copy(os.path.join(os.path.dirname(tool_server.__file__), "client.py"),
                tools / "jujuc")
    for name in TOOL_NAMES:
        (tools / name).symlink_to("jujuc")
    if not os.path.exists("/usr/bin/python3"):
        pytest.skip("the client's interpreter /usr/bin/python3 is missing")
    monkeypatch.setenv("PATH", "%s:%s" % (tools, os.environ["PATH"]))
    monkeypatch.setenv("JUJU_CONTEXT_ID", CONTEXT_ID)
    monkeypatch.setenv("JUJU_AGENT_SOCKET_NETWORK", "tcp")
    monkeypatch.setenv("JUJU_AGENT_SOCKET_ADDRESS", "%s:%d" % (host, port))
    monkeypatch.setenv("JUJU_UNIT_NAME", "app/0")
    monkeypatch.setenv("JUJU_RELATION", "db")
    monkeypatch.setenv("JUJU_RELATION_ID", "db:3")
    monkeypatch.setenv("JUJU_REMOTE_UNIT", "pg/0")
    monkeypatch.setenv("CHARM_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    hookenv.cache.clear()
    monkeypatch.setattr(hookenv, "_cache_config", None)
    yield hookenv, ctx
    hookenv.cache.clear()
    srv.stop()


def test_charmhelpers_config_and_relations(hookenv):
    hookenv, ctx = hookenv
    assert dict(hookenv.config()) == {"port": 8080, "vip": None}
    assert hookenv.relation_ids("db") == ["db:3"]
    assert hookenv.relation_ids("nothing") == []
    assert hookenv.related_units() == ["pg/0"]
    assert hookenv.relation_get() == {"host": "10.0.0.5"}
    assert hookenv.relation_get("host", "pg/0", "db:3") == "10.0.0.5"
    assert hookenv.relation_get(app="pg", rid="db:3") == {"dsn": "x"}
    # exit 2 (unknown relation) is "no data" for charmhelpers
    assert hookenv.relation_get(rid="db:99") is None
    hookenv.relation_set(relation_settings={"port": 80, "gone": None, "url": "http://x/"})
    assert ctx.relations[3].bags["app/0"] == {"port": "80", "url": "http://x/"}
    hookenv.relation_set("cluster:1", app=True, leader_key="v")
    assert ctx.relations[1].bags["app"] == {"leader_key": "v"}


def test_charmhelpers_leadership_status_and_ports(hookenv):
    hookenv, ctx = hookenv
    assert hookenv.is_leader() is True
    hookenv.leader_set({"a": "1", "b": None})
    assert hookenv.leader_get() == {"a": "1"}
    assert hookenv.leader_get("a") == "1"
    hookenv.status_set("blocked", "need a database")
    assert ctx.unit_status == Status("blocked", "need a database")
    assert hookenv.status_get() == ("blocked", "need a database")
    hookenv.application_version_set("2.4.1")
    assert ctx.version == "2.4.1"
    hookenv.open_port(80)
    hookenv.open_ports(8000, 8080, "UDP")
    hookenv.open_port(None, "ICMP")
    assert hookenv.opened_ports() == ["icmp", "80/tcp", "8000-8080/udp"]
    hookenv.close_port(80)
    assert Port("tcp", 80, 80) not in ctx.ports
    assert hookenv.unit_get("private-address") == "10.0.0.10"
    hookenv.log("hello", level=hookenv.WARNING)
    assert ctx.logs[-1] == ("WARNING", "hello")


def test_charmhelpers_network_get_and_goal_state(hookenv, monkeypatch):
    hookenv, ctx = hookenv
    monkeypatch.setattr(hookenv, "juju_version", lambda: "3.6.4-ubuntu-amd64")
    assert hookenv.network_get("db")["ingress-addresses"] == ["10.0.0.10"]
    assert hookenv.network_get_primary_address("db") == "10.0.0.10"
    with pytest.raises(hookenv.NoNetworkBinding):
        hookenv.network_get_primary_address("nope")
    ctx.goal = {"units": {"app/0": {"status": "active", "since": "x"}},
                "relations": {"db": {"pg": {"status": "joined", "since": "x"},
                                     "pg/0": {"status": "active", "since": "x"}}}}
    assert hookenv.goal_state() == ctx.goal
    assert list(hookenv.expected_related_units("db")) == ["pg/0"]


def test_charmhelpers_actions(hookenv):
    hookenv, ctx = hookenv
    ctx.params = {"target": "/srv", "opts": {"n": 3}}
    assert hookenv.action_get() == {"target": "/srv", "opts": {"n": 3}}
    assert hookenv.action_get("opts.n") == 3
    hookenv.action_set({"result.size": "10G", "ok": True})
    hookenv.action_fail("disk full")
    assert ctx.results == {"result": {"size": "10G"}, "ok": "True"}
    assert ctx.failed == "disk full"


# --- ops 3.x shapes (ops/hookcmds), replayed in-process ----------------------------------

OPS_CALLS = [
    # (argv, stdin, how ops parses stdout, expected)
    (["config-get", "--format=json"], None, json.loads, {"port": 8080}),
    (["relation-ids", "db", "--format=json"], None, json.loads, ["db:3"]),
    (["relation-list", "--format=json", "-r", "db:3"], None, json.loads, ["pg/0"]),
    (["relation-list", "--format=json", "--app", "-r", "db:3"], None, json.loads, "pg"),
    (["relation-get", "--format=json", "-r", "db:3", "-", "pg/0"], None, json.loads,
     {"host": "10.0.0.5"}),
    (["relation-get", "--format=json", "-r", "db:3", "--app", "-", "pg"], None, json.loads,
     {"dsn": "x"}),
    (["relation-get", "--format=json", "-r", "db:3", "host", "pg/0"], None, json.loads,
     "10.0.0.5"),
    (["relation-model-get", "--format=json", "-r", "db:3"], None, json.loads,
     {"uuid": "01234567-89ab-cdef-0123-456789abcdef"}),
    (["is-leader", "--format=json"], None, json.loads, True),
    (["status-get", "--include-data", "--format=json", "--application=false"], None,
     json.loads, {"status": "unknown", "message": "", "status-data": {}}),
    (["network-get", "--format=json", "-r", "3", "db"], None, json.loads, None),
    (["opened-ports", "--format=json"], None, json.loads, []),
    (["opened-ports", "--endpoints", "--format=json"], None, json.loads, []),
    (["goal-state", "--format=json"], None, json.loads, {"units": {}, "relations": {}}),
    (["storage-list", "--format=json"], None, json.loads, []),
    (["state-get", "--format=json"], None, json.loads, {}),
    (["state-get", "handle"], None, lambda out: out, b""),
]


@pytest.mark.parametrize("argv,stdin,parse,expected", OPS_CALLS,
                         ids=[" ".join(c[0]) for c in OPS_CALLS])
def test_ops_read_shapes(argv, stdin, parse, expected):
    ctx = hook_ctx()
    result = run_tool(ctx, argv[0], argv[1:], stdin=stdin or b"")
    assert result.code == 0, result.stderr
    if expected is None:
        assert parse(result.stdout) == ctx.networks["db"]
    else:
        assert parse(result.stdout) == expected


def test_ops_write_shapes():
    ctx = hook_ctx()
    calls = [
        (["relation-set", "-r", "db:3", "--file", "-"], json.dumps({"a": "b"})),
        (["relation-set", "-r", "cluster:1", "--app", "--file", "-"], json.dumps({"k": "v"})),
        (["status-set", "--application=False", "active", "--", "-ready"], None),
        (["status-set", "--application=True", "waiting"], None),
        (["application-version-set", "--", "1.0"], None),
        (["juju-log", "--log-level", "DEBUG", "--", "msg"], None),
        (["open-port", "--endpoints", "db", "8080/tcp"], None),
        (["open-port", "icmp"], None),
        (["close-port", "icmp"], None),
        (["state-set", "--file", "-"], yaml.safe_dump({"StoredStateData[_stored]": "{a: 1}\n"})),
        (["state-delete", "gone"], None),
    ]
    for argv, stdin in calls:
        result = run_tool(ctx, argv[0], argv[1:], stdin=(stdin or "").encode())
        assert (result.code, result.stderr) == (0, b""), argv
    assert ctx.relations[3].bags["app/0"] == {"a": "b"}
    assert ctx.relations[1].bags["app"] == {"k": "v"}
    assert ctx.unit_status == Status("active", "-ready")
    assert ctx.app_status == Status("waiting", "")
    assert ctx.logs == [("DEBUG", "msg")]
    assert ctx.ports == [Port("tcp", 8080, 8080, ("db",))]
    assert ctx.state == {"StoredStateData[_stored]": "{a: 1}\n"}
    out = run_tool(ctx, "state-get", ["StoredStateData[_stored]"]).stdout
    assert yaml.safe_load(out) == {"a": 1}


def test_ops_action_shapes():
    ctx = FakeContext(hook_name="", action_name="run")
    ctx.params = {"x": 1}
    assert json.loads(run_tool(ctx, "action-get", ["--format=json"]).stdout) == {"x": 1}
    for argv in (["action-set", "a.b=1", "c=2"], ["action-log", "--", "-step"],
                 ["action-fail", "--", "-bad"]):
        assert run_tool(ctx, argv[0], argv[1:]).code == 0, argv
    assert (ctx.results, ctx.action_logs, ctx.failed) == \
        ({"a": {"b": "1"}, "c": "2"}, ["-step"], "-bad")
