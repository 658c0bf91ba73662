"""Hook tools run in-process against a FakeContext: output, exit codes, errors."""

import json

import pytest
import yaml

from fake_context import FakeContext
from yard.context import Port, Status
from yard.tools import server
from yard.tools.server import TOOL_NAMES, ToolResult, run_tool


def relation_ctx(**kw):
    """``app/0`` in ``db-relation-changed`` for ``pg/0`` on relation ``db:3``."""
    kw.setdefault("hook_name", "db-relation-changed")
    kw.setdefault("relation", "db:3")
    kw.setdefault("remote_unit", "pg/0")
    kw.setdefault("remote_app", "pg")
    ctx = FakeContext(**kw)
    ctx.add_relation(3, "db", "pg", ["pg/1", "pg/0"],
                     bags={"pg/0": {"host": "10.0.0.5", "port": "5432"},
                           "pg/1": {"host": "10.0.0.6"},
                           "pg": {"dsn": "postgres://x"},
                           "app/0": {"private-address": "10.0.0.10"},
                           "app": {"mine": "yes"}})
    ctx.add_relation(7, "db", "pg2", ["pg2/0"], bags={"pg2/0": {"host": "10.0.0.7"}})
    ctx.add_relation(1, "cluster", "app", ["app/1"], peer=True,
                     bags={"app": {"leader-key": "v"}, "app/1": {"k": "v1"}})
    return ctx


def run(ctx, tool, *args, stdin=b"", cwd="/charm"):
    return run_tool(ctx, tool, list(args), stdin=stdin, cwd=cwd)


def ok(result: ToolResult) -> bytes:
    assert result.code == 0, result
    assert result.stderr == b""
    return result.stdout


def error(result: ToolResult, code: int) -> str:
    assert result.code == code, result
    assert result.stdout == b""
    text = result.stderr.decode()
    assert text.startswith("ERROR ") and text.endswith("\n")
    return text[len("ERROR "):-1]


# --- generic behaviour -----------------------------------------------------------------

@pytest.mark.parametrize("tool", TOOL_NAMES)
def test_every_tool_has_help_on_stdout(tool):
    result = run(FakeContext(), tool, "--help")
    assert result.code == 0
    assert result.stdout.startswith(("Usage: %s" % tool).encode())
    assert b"Summary:" in result.stdout


def test_help_short_flag_and_help_lists_flags():
    out = ok(run(FakeContext(), "relation-get", "-h"))
    for flag in (b"--app", b"--format", b"-o, --output", b"-r, --relation"):
        assert flag in out


def test_tool_names_cover_what_charmhelpers_and_ops_call():
    needed = {"config-get", "relation-get", "relation-set", "relation-ids", "relation-list",
              "is-leader", "leader-get", "leader-set", "status-get", "status-set",
              "application-version-set", "juju-log", "action-get", "action-set",
              "action-fail", "action-log", "unit-get", "network-get", "open-port",
              "close-port", "opened-ports", "goal-state", "storage-get", "storage-list",
              "resource-get", "state-get", "state-set", "state-delete", "credential-get",
              "juju-reboot", "relation-model-get", "secret-get", "secret-add", "secret-set",
              "secret-ids", "secret-info-get", "secret-grant", "secret-revoke",
              "secret-remove", "storage-add", "payload-register", "payload-unregister",
              "payload-status-set", "add-metric"}
    assert needed <= set(TOOL_NAMES)
    # Juju 3 has no function-* tools; charmhelpers falls back when they are missing.
    assert not any(t.startswith("function-") for t in TOOL_NAMES)


@pytest.mark.parametrize("args,message", [
    (["--bogus"], "flag provided but not defined: --bogus"),
    (["-x"], "flag provided but not defined: -x"),
    (["--format"], "flag needs an argument: --format"),
    (["--format", "xml"], 'invalid value "xml" for flag --format: unknown format "xml"'),
    (["--all=maybe"], 'invalid value "maybe" for flag --all: strconv.ParseBool: parsing '
                      '"maybe": invalid syntax'),
    (["a", "b"], 'unrecognized args: ["b"]'),
])
def test_usage_errors_exit_2(args, message):
    assert error(run(FakeContext(), "config-get", *args), 2) == message


def test_unknown_tool():
    result = run(FakeContext(), "no-such-tool")
    assert result.code == 1 and b"unknown command" in result.stderr


def test_context_bug_is_an_error_not_a_crash():
    ctx = FakeContext()
    ctx.config = lambda: 1 / 0
    assert error(run(ctx, "config-get"), 1) == "division by zero"


def test_output_flag_collects_the_file_instead_of_stdout():
    ctx = FakeContext()
    ctx.config_values = {"a": "b"}
    result = run(ctx, "config-get", "--format=json", "-o", "out/c.json", cwd="/charm")
    assert result.code == 0 and result.stdout == b""
    assert result.files == {"/charm/out/c.json": b'{"a":"b"}\n'}


def test_flags_interspersed_and_double_dash():
    ctx = FakeContext()
    ctx.params = {"a": {"b": "c"}}
    assert ok(run(ctx, "action-get", "a.b", "--format=json")) == b'"c"\n'
    ok(run(ctx, "juju-log", "--log-level", "INFO", "--", "-starts-with-dash"))
    assert ctx.logs == [("INFO", "-starts-with-dash")]


# --- config-get ----------------------------------------------------------------------

CONFIG = {"port": 8080, "name": "web", "unset": None, "debug": False, "ratio": 0.5,
          "whole": 2.0, "empty": ""}


@pytest.mark.parametrize("args,expected", [
    ([], b'debug: false\nempty: ""\nname: web\nport: 8080\nratio: 0.5\nwhole: 2\n'),
    (["--format=json"],
     b'{"debug":false,"empty":"","name":"web","port":8080,"ratio":0.5,"whole":2}\n'),
    (["--all", "--format=json"], b'{"debug":false,"empty":"","name":"web","port":8080,'
                                 b'"ratio":0.5,"unset":null,"whole":2}\n'),
    (["-a", "--format", "json"], b'{"debug":false,"empty":"","name":"web","port":8080,'
                                 b'"ratio":0.5,"unset":null,"whole":2}\n'),
    (["port"], b"8080\n"),
    (["name"], b"web\n"),
    (["debug"], b"False\n"),
    (["empty"], b""),
    (["unset"], b""),
    (["missing"], b""),
    (["missing", "--format=json"], b"null\n"),
    (["missing", "--format=yaml"], b""),
    (["name", "--format=yaml"], b"web\n"),
    (["port", "--format=json"], b"8080\n"),
])
def test_config_get(args, expected):
    ctx = FakeContext()
    ctx.config_values = dict(CONFIG)
    assert ok(run(ctx, "config-get", *args)) == expected


def test_config_get_key_and_all_conflict():
    assert error(run(FakeContext(), "config-get", "--all", "port"), 2) == \
        'cannot use argument --all together with key "port"'


# --- relation-get --------------------------------------------------------------------

@pytest.mark.parametrize("args,expected", [
    # defaults: the hook's relation and remote unit
    ([], {"host": "10.0.0.5", "port": "5432"}),
    (["-"], {"host": "10.0.0.5", "port": "5432"}),
    (["host"], "10.0.0.5"),
    (["nope"], None),
    (["-", "pg/1"], {"host": "10.0.0.6"}),
    (["-r", "db:7", "-", "pg2/0"], {"host": "10.0.0.7"}),
    (["-r", "7", "host", "pg2/0"], "10.0.0.7"),
    (["-r7", "host", "pg2/0"], "10.0.0.7"),
    (["--relation=db:7", "host", "pg2/0"], "10.0.0.7"),
    (["-r", "anything:7", "host", "pg2/0"], "10.0.0.7"),
    # --app: the remote app by default; a unit name turns into its app
    (["--app"], {"dsn": "postgres://x"}),
    (["--app", "-", "pg/0"], {"dsn": "postgres://x"}),
    (["--app", "-", "pg"], {"dsn": "postgres://x"}),
    (["dsn", "pg", "--app"], "postgres://x"),
    # own bags (leader)
    (["-", "app/0"], {"private-address": "10.0.0.10"}),
    (["--app", "-", "app"], {"mine": "yes"}),
])
def test_relation_get(args, expected):
    ctx = relation_ctx()
    assert json.loads(ok(run(ctx, "relation-get", "--format=json", *args))) == expected


def test_relation_get_smart_and_yaml():
    ctx = relation_ctx()
    assert ok(run(ctx, "relation-get")) == b'host: 10.0.0.5\nport: "5432"\n'
    assert ok(run(ctx, "relation-get", "host")) == b"10.0.0.5\n"
    assert ok(run(ctx, "relation-get", "nope")) == b""
    assert yaml.safe_load(ok(run(ctx, "relation-get", "--format=yaml"))) == \
        {"host": "10.0.0.5", "port": "5432"}


def test_relation_get_app_implied_without_remote_unit():
    # relation-created/-broken and app-level relation-changed have no remote unit.
    ctx = relation_ctx(hook_name="db-relation-changed", remote_unit=None)
    assert json.loads(ok(run(ctx, "relation-get", "--format=json"))) == {"dsn": "postgres://x"}
    assert ctx.calls[-1] == ("relation_get", "db:3", "pg", True)


@pytest.mark.parametrize("kw,args,code,message", [
    ({"relation": None}, [], 2, "no relation id specified"),
    ({"relation": None}, ["-", "pg/0"], 2, "no relation id specified"),
    ({"remote_unit": None, "remote_app": None}, [], 2, "no unit or application specified"),
    ({"remote_unit": None, "remote_app": None}, ["--app"], 2,
     "no unit or application specified"),
    ({}, ["-r", "db:99"], 2, 'invalid value "db:99" for flag -r: relation not found'),
    ({}, ["-r", "db:x"], 2, 'invalid value "db:x" for flag -r: invalid relation id'),
    ({}, ["-r"], 2, "flag needs an argument: -r"),
    ({}, ["a", "pg/0", "extra"], 2, 'unrecognized args: ["extra"]'),
    ({"leader": False}, ["--app", "-", "app"], 1, "permission denied"),
])
def test_relation_get_errors(kw, args, code, message):
    assert error(run(relation_ctx(**kw), "relation-get", *args), code) == message


def test_relation_get_charmhelpers_treats_exit_2_as_no_data():
    # charmhelpers relation_get returns None on exit 2 and raises on exit 1.
    ctx = FakeContext()
    result = run(ctx, "relation-get", "--format=json", "-")
    assert result.code == 2


# --- relation-set --------------------------------------------------------------------

def test_relation_set_pairs_and_delete():
    ctx = relation_ctx()
    ok(run(ctx, "relation-set", "a=1", "b = two ", "private-address="))
    assert ctx.relations[3].bags["app/0"] == {"a": "1", "b": "two"}


def test_relation_set_charmhelpers_file_yaml():
    # charmhelpers: yaml.safe_dump of str()-ed values, None for deletion.
    ctx = relation_ctx()
    ctx.relations[3].bags["app/0"]["gone"] = "x"
    data = yaml.safe_dump({"port": "80", "flag": "True", "gone": None, "n": 5}).encode()
    ok(run(ctx, "relation-set", "-r", "db:3", "--file", "-", stdin=data))
    assert ctx.relations[3].bags["app/0"] == {
        "private-address": "10.0.0.10", "port": "80", "flag": "True", "n": "5"}


def test_relation_set_ops_app_json_on_stdin():
    ctx = relation_ctx()
    ok(run(ctx, "relation-set", "-r", "db:7", "--app", "--file", "-",
           stdin=json.dumps({"url": "http://x", "ttl": "5"}).encode()))
    assert ctx.relations[7].bags["app"] == {"url": "http://x", "ttl": "5"}


def test_relation_set_file_overridden_by_args(tmp_path):
    (tmp_path / "s.yaml").write_text("a: from-file\nb: file\n")
    ctx = relation_ctx()
    ok(run(ctx, "relation-set", "--file", "s.yaml", "a=arg", cwd=str(tmp_path)))
    assert ctx.calls[-1] == ("relation_set", "db:3", {"a": "arg", "b": "file"}, False)


def test_relation_set_help_mentions_file_for_charmhelpers():
    assert b"--file" in ok(run(FakeContext(), "relation-set", "--help"))


def test_relation_set_deprecated_format_warns_without_newline():
    ctx = relation_ctx()
    result = run(ctx, "relation-set", "--format", "json", "a=b")
    assert result.code == 0
    assert result.stderr == b'--format flag deprecated for command "relation-set"'


@pytest.mark.parametrize("kw,args,stdin,code,message", [
    ({"relation": None}, ["a=b"], b"", 2, "no relation id specified"),
    ({}, ["a"], b"", 2, 'expected "key=value", got "a"'),
    ({}, ["=b"], b"", 2, 'expected "key=value", got "=b"'),
    ({}, ["a=1", "a=2"], b"", 2, 'key "a" specified more than once'),
    ({"leader": False}, ["--app", "a=b"], b"", 1, "cannot write relation settings"),
    ({}, ["--file", "/nonexistent/x.yaml"], b"", 1,
     "open /nonexistent/x.yaml: no such file or directory"),
    ({}, ["--file", "-"], b"- a\n- b\n", 1,
     "yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into map[string]string"),
])
def test_relation_set_errors(kw, args, stdin, code, message):
    ctx = relation_ctx(**kw)
    before = {r: dict(rel.bags) for r, rel in ctx.relations.items()}
    assert error(run(ctx, "relation-set", *args, stdin=stdin), code) == message
    assert {r: dict(rel.bags) for r, rel in ctx.relations.items()} == before


# --- relation-ids, relation-list, relation-model-get ----------------------------------

@pytest.mark.parametrize("args,expected", [
    (["--format=json"], b'["db:3","db:7"]\n'),
    (["db"], b"db:3\ndb:7\n"),
    (["cluster", "--format=json"], b'["cluster:1"]\n'),
    (["nothing", "--format=json"], b"[]\n"),
    (["nothing"], b""),
])
def test_relation_ids(args, expected):
    assert ok(run(relation_ctx(), "relation-ids", *args)) == expected


def test_relation_ids_needs_endpoint_outside_relation_hooks():
    assert error(run(FakeContext(), "relation-ids"), 2) == "no relation name specified"


@pytest.mark.parametrize("args,expected", [
    (["--format=json"], b'["pg/0","pg/1"]\n'),
    ([], b"pg/0\npg/1\n"),
    (["-r", "db:7", "--format=json"], b'["pg2/0"]\n'),
    (["--app", "--format=json"], b'"pg"\n'),
    (["--app"], b"pg\n"),
    (["-r", "cluster:1", "--app"], b"app\n"),
])
def test_relation_list(args, expected):
    assert ok(run(relation_ctx(), "relation-list", *args)) == expected


def test_relation_list_empty_and_errors():
    ctx = FakeContext()
    ctx.add_relation(4, "web", "haproxy")
    assert ok(run(ctx, "relation-list", "-r", "web:4", "--format=json")) == b"[]\n"
    assert error(run(ctx, "relation-list"), 2) == "no relation id specified"


def test_relation_model_get():
    ctx = relation_ctx()
    assert json.loads(ok(run(ctx, "relation-model-get", "--format=json"))) == \
        {"uuid": ctx.model_uuid}
    assert error(run(FakeContext(), "relation-model-get"), 2) == "no relation id specified"


# --- leadership ----------------------------------------------------------------------

def test_is_leader_formats():
    assert ok(run(FakeContext(leader=True), "is-leader", "--format=json")) == b"true\n"
    assert ok(run(FakeContext(leader=False), "is-leader", "--format=json")) == b"false\n"
    assert ok(run(FakeContext(leader=False), "is-leader")) == b"False\n"
    assert ok(run(FakeContext(), "is-leader", "--format=yaml")) == b"true\n"


def test_leader_set_and_get():
    ctx = FakeContext()
    ok(run(ctx, "leader-set", "a=1", "b=two"))
    ok(run(ctx, "leader-set", "a="))
    assert ctx.leader_settings == {"b": "two"}
    assert ok(run(ctx, "leader-get", "--format=json", "-")) == b'{"b":"two"}\n'
    assert ok(run(ctx, "leader-get", "--format=json", "b")) == b'"two"\n'
    assert ok(run(ctx, "leader-get", "--format=json", "zz")) == b"null\n"
    assert ok(run(ctx, "leader-get")) == b"b: two\n"


@pytest.mark.parametrize("tool,args,code,message", [
    ("leader-set", ["a=b"], 1,
     "cannot write leadership settings: cannot write settings: not the leader"),
    ("leader-set", ["ab"], 2, 'expected "key=value", got "ab"'),
    ("leader-get", ["a=b"], 2, 'invalid key "a=b"'),
    ("leader-get", ["a", "b"], 2, 'unrecognized args: ["b"]'),
])
def test_leader_errors(tool, args, code, message):
    ctx = FakeContext(leader=False)
    assert error(run(ctx, tool, *args), code) == message
    assert ctx.leader_settings == {}


# --- status ----------------------------------------------------------------------------

@pytest.mark.parametrize("args,unit,app", [
    (["active"], Status("active", ""), None),
    (["blocked", "need a db"], Status("blocked", "need a db"), None),
    (["maintenance", "--", "-dash"], Status("maintenance", "-dash"), None),
    (["--application", "waiting", "units"], None, Status("waiting", "units")),
    (["--application=True", "active", "x"], None, Status("active", "x")),   # ops
    (["--application=False", "active", "x"], Status("active", "x"), None),  # ops
])
def test_status_set(args, unit, app):
    ctx = FakeContext()
    ok(run(ctx, "status-set", *args))
    assert ctx.unit_status == (unit or Status("unknown", ""))
    assert ctx.app_status == (app or Status("unknown", ""))


@pytest.mark.parametrize("args,leader,code,message", [
    ([], True, 2, "invalid args, require <status> [message]"),
    (["error", "x"], True, 2,
     'invalid status "error", expected one of [maintenance blocked waiting active]'),
    (["unknown"], True, 2,
     'invalid status "unknown", expected one of [maintenance blocked waiting active]'),
    (["active", "a", "b"], True, 2, 'unrecognized args: ["b"]'),
    (["--application", "active"], False, 1,
     "setting application status: this unit is not the leader"),
])
def test_status_set_errors(args, leader, code, message):
    assert error(run(FakeContext(leader=leader), "status-set", *args), code) == message


def test_status_get():
    ctx = FakeContext()
    ctx.unit_status = Status("blocked", "need db")
    ctx.app_status = Status("active", "all good")
    ctx.other_units = {"app/1": Status("waiting", "")}
    assert ok(run(ctx, "status-get")) == b"blocked\n"
    assert json.loads(ok(run(ctx, "status-get", "--format=json", "--include-data"))) == \
        {"status": "blocked", "message": "need db", "status-data": {}}
    assert json.loads(ok(run(ctx, "status-get", "--format=json"))) == {"status": "blocked"}
    assert error(run(ctx, "status-get", "message"), 2) == 'unrecognized args: ["message"]'
    assert ok(run(ctx, "status-get", "--application")) == b"active\n"
    expected = {"application-status": {
        "status": "active", "message": "all good", "status-data": {},
        "units": {"app/0": {"status": "blocked", "message": "need db", "status-data": {}},
                  "app/1": {"status": "waiting", "message": "", "status-data": {}}}}}
    assert json.loads(ok(run(ctx, "status-get", "--include-data", "--format=json",
                             "--application=true"))) == expected
    assert json.loads(ok(run(ctx, "status-get", "--application", "--format=json"))) == {
        "application-status": {"status": "active", "units": {"app/0": {"status": "blocked"},
                                                             "app/1": {"status": "waiting"}}}}
    assert error(run(FakeContext(leader=False), "status-get", "--application"), 1) == \
        "finding workload status: this unit is not the leader"


def test_application_version_set():
    ctx = FakeContext()
    ok(run(ctx, "application-version-set", "--", "1.2.3"))
    assert ctx.version == "1.2.3"
    assert error(run(ctx, "application-version-set"), 2) == "no version specified"


# --- juju-log ---------------------------------------------------------------------------

@pytest.mark.parametrize("args,logs", [
    (["hello", "world"], [("INFO", "hello world")]),
    (["-l", "WARNING", "careful"], [("WARNING", "careful")]),
    (["-l", "warn", "careful"], [("WARNING", "careful")]),
    (["--log-level", "ERROR", "--", "-x"], [("ERROR", "-x")]),
    (["--debug", "details"], [("DEBUG", "details")]),
    (["-l", "LOUD", "m"], [("WARNING", 'Specified log level of "LOUD" is not valid'),
                           ("INFO", "m")]),
])
def test_juju_log(args, logs):
    ctx = relation_ctx()
    ok(run(ctx, "juju-log", *args))
    assert ctx.logs == logs


def test_juju_log_needs_a_message():
    assert error(run(FakeContext(), "juju-log"), 2) == "no message specified"


# --- actions ------------------------------------------------------------------------------

def action_ctx():
    ctx = FakeContext(hook_name="", action_name="backup")
    ctx.params = {"target": "/srv", "compress": True, "level": 5,
                  "opts": {"fast": {"x": "y"}}}
    return ctx


@pytest.mark.parametrize("args,expected", [
    (["--format=json"], b'{"compress":true,"level":5,"opts":{"fast":{"x":"y"}},'
                        b'"target":"/srv"}\n'),
    (["target", "--format=json"], b'"/srv"\n'),
    (["opts.fast.x", "--format=json"], b'"y"\n'),
    (["opts.missing.x", "--format=json"], b"null\n"),
    (["target"], b"/srv\n"),
    (["compress"], b"True\n"),
    (["level"], b"5\n"),
    (["opts"], b"fast:\n  x: y\n"),
])
def test_action_get(args, expected):
    assert ok(run(action_ctx(), "action-get", *args)) == expected


def test_action_set_nested_merge_and_overwrite():
    ctx = action_ctx()
    ok(run(ctx, "action-set", "outfile.size=10G", "foo.bar=2", "foo.baz.val=3"))
    ok(run(ctx, "action-set", "foo.bar.zab=4", "foo.baz=1", "empty="))
    assert ctx.results == {"outfile": {"size": "10G"}, "foo": {"bar": {"zab": "4"}, "baz": "1"},
                           "empty": ""}


@pytest.mark.parametrize("arg,message", [
    ("noequals", 'argument "noequals" must be of the form key...=value'),
    ("Foo=1", 'key "Foo" must start and end with lowercase alphanumeric, and contain only '
              'lowercase alphanumeric and hyphens'),
    ("foo-=1", 'key "foo-" must start and end with lowercase alphanumeric, and contain only '
               'lowercase alphanumeric and hyphens'),
    ("foo..bar=1", 'key "" must start and end with lowercase alphanumeric, and contain only '
                   'lowercase alphanumeric and hyphens'),
    ("stdout=1", 'cannot set reserved action key "stdout"'),
    ("stderr-encoding=1", 'cannot set reserved action key "stderr-encoding"'),
    ("a.stderr=1", 'cannot set reserved action key "stderr"'),
])
def test_action_set_key_rules(arg, message):
    ctx = action_ctx()
    assert error(run(ctx, "action-set", "ok=1", arg), 2) == message
    assert ctx.results == {}


def test_action_fail_and_log():
    ctx = action_ctx()
    ok(run(ctx, "action-fail"))
    assert ctx.failed == "action failed without reason given, check action for errors"
    ok(run(ctx, "action-fail", "--", "-disk full"))
    assert ctx.failed == "-disk full"
    assert error(run(ctx, "action-fail", "a", "b"), 2) == 'unrecognized args: ["b"]'
    ok(run(ctx, "action-log", "--", "step", "1"))
    assert ctx.action_logs == ["step 1"]
    assert error(run(ctx, "action-log"), 2) == "no message specified"


@pytest.mark.parametrize("tool,args", [
    ("action-get", []), ("action-set", ["a=b"]), ("action-fail", ["x"]),
    ("action-log", ["x"]),
])
def test_action_tools_outside_an_action(tool, args):
    assert error(run(FakeContext(), tool, *args), 1) == "not running an action"


# --- unit-get, network-get ------------------------------------------------------------

def test_unit_get():
    ctx = FakeContext()
    assert ok(run(ctx, "unit-get", "--format=json", "private-address")) == b'"10.0.0.10"\n'
    assert ok(run(ctx, "unit-get", "public-address")) == b"10.0.0.10\n"
    assert error(run(ctx, "unit-get", "hostname"), 2) == 'unknown setting "hostname"'
    assert error(run(ctx, "unit-get"), 2) == "no setting specified"


NETWORK = {
    "bind-addresses": [{"mac-address": "00:16:3e:00:00:01", "interface-name": "eth0",
                        "addresses": [{"hostname": "", "value": "10.0.0.10",
                                       "cidr": "10.0.0.0/24", "address": "10.0.0.10"}],
                        "macaddress": "00:16:3e:00:00:01", "interfacename": "eth0"}],
    "egress-subnets": ["10.0.0.10/32"],
    "ingress-addresses": ["10.0.0.11"],
}


@pytest.mark.parametrize("args,expected", [
    (["db", "--format=json"], NETWORK),
    (["db", "--format", "yaml"], NETWORK),
    (["db", "--ingress-address", "--format=json"], "10.0.0.11"),
    (["db", "--bind-address", "--format=json"], "10.0.0.10"),
    (["db", "--egress-subnets", "--format=json"], ["10.0.0.10/32"]),
    (["db", "--primary-address", "--format=json"], "10.0.0.10"),
    (["db", "--ingress-address", "--bind-address", "--format=json"],
     {"ingress-address": "10.0.0.11", "bind-address": "10.0.0.10"}),
    (["-r", "db:3", "db", "--format=json"], NETWORK),
])
def test_network_get(args, expected):
    ctx = relation_ctx()
    ctx.networks["db"] = NETWORK
    fmt = "yaml" if "yaml" in args else "json"
    out = ok(run(ctx, "network-get", *args))
    assert (yaml.safe_load(out) if fmt == "yaml" else json.loads(out)) == expected


def test_network_get_smart_single_values():
    ctx = FakeContext()
    ctx.networks["db"] = NETWORK
    assert ok(run(ctx, "network-get", "db", "--primary-address")) == b"10.0.0.10\n"
    assert ok(run(ctx, "network-get", "db", "--ingress-address")) == b"10.0.0.11\n"


@pytest.mark.parametrize("args,code,message", [
    ([], 2, "no arguments specified"),
    (["nope"], 1, 'no network config found for binding "nope"'),
    (["db", "extra"], 2, 'unrecognized args: ["extra"]'),
    (["db", "--primary-address", "--bind-address"], 1,
     "--primary-address must be the only flag specified"),
])
def test_network_get_errors(args, code, message):
    ctx = FakeContext()
    ctx.networks["db"] = NETWORK
    assert error(run(ctx, "network-get", *args), code) == message


# --- ports ------------------------------------------------------------------------------

@pytest.mark.parametrize("arg,port", [
    ("80", Port("tcp", 80, 80)),
    ("80/tcp", Port("tcp", 80, 80)),
    ("80/TCP", Port("tcp", 80, 80)),       # charmhelpers upper-cases the protocol
    ("53/udp", Port("udp", 53, 53)),
    ("8000-8080/tcp", Port("tcp", 8000, 8080)),
    ("icmp", Port("icmp")),
    ("ICMP", Port("icmp")),
])
def test_open_and_close_port(arg, port):
    ctx = FakeContext()
    ok(run(ctx, "open-port", arg))
    assert ctx.ports == [port]
    ok(run(ctx, "close-port", arg))
    assert ctx.ports == []


def test_open_port_endpoints():
    ctx = FakeContext()
    ok(run(ctx, "open-port", "--endpoints", "db,admin", "443"))
    assert ctx.ports == [Port("tcp", 443, 443, ("db", "admin"))]


@pytest.mark.parametrize("arg,message", [
    ("abc", 'expected <port>[/<protocol>] or <from>-<to>[/<protocol>] or icmp; got "abc"'),
    ("0", 'port must be in the range [1, 65535]; got "0"'),
    ("70000/udp", 'port must be in the range [1, 65535]; got "70000"'),
    ("100-70000", 'toPort must be in the range [1, 65535]; got "70000"'),
    ("90-80/tcp", "invalid port range 90-80/tcp; expected fromPort <= toPort"),
    ("80/sctp", 'protocol must be "tcp", "udp", or "icmp"; got "sctp"'),
    ("80/icmp", 'protocol "icmp" doesn\'t support any ports; got "80"'),
])
def test_port_errors(arg, message):
    ctx = FakeContext()
    assert error(run(ctx, "open-port", arg), 2) == message
    assert ctx.ports == []


def test_port_needs_an_argument():
    assert error(run(FakeContext(), "close-port"), 2) == "no port or range specified"


def test_opened_ports():
    ctx = FakeContext()
    ctx.ports = [Port("tcp", 8080, 8090), Port("udp", 53, 53), Port("icmp"),
                 Port("tcp", 80, 80, ("web",)), Port("tcp", 80, 80, ("admin",)),
                 Port("tcp", 443, 443)]
    assert ok(run(ctx, "opened-ports", "--format=json")) == \
        b'["icmp","53/udp","80/tcp","443/tcp","8080-8090/tcp"]\n'
    assert ok(run(ctx, "opened-ports")) == b"icmp\n53/udp\n80/tcp\n443/tcp\n8080-8090/tcp\n"
    assert json.loads(ok(run(ctx, "opened-ports", "--endpoints", "--format=json"))) == [
        "icmp (*)", "53/udp (*)", "80/tcp (admin, web)", "443/tcp (*)", "8080-8090/tcp (*)"]
    assert ok(run(FakeContext(), "opened-ports", "--format=json")) == b"[]\n"


# --- goal-state, storage, resources --------------------------------------------------

def test_goal_state_defaults_to_yaml():
    ctx = FakeContext()
    ctx.goal = {"units": {"app/0": {"status": "active", "since": "2024-01-01 00:00:00Z"}},
                "relations": {"db": {"pg": {"status": "joined", "since": "x"}}}}
    assert yaml.safe_load(ok(run(ctx, "goal-state"))) == ctx.goal
    assert json.loads(ok(run(ctx, "goal-state", "--format=json"))) == ctx.goal
    assert error(run(ctx, "goal-state", "--format=smart"), 2) == \
        'invalid value "smart" for flag --format: unknown format "smart"'


def test_storage_tools():
    ctx = FakeContext(hook_name="data-storage-attached")
    ctx.storage = {"data/0": {"kind": "filesystem", "location": "/srv/data"},
                   "logs/1": {"kind": "block", "location": "/dev/sdb"}}
    assert ok(run(ctx, "storage-list", "--format=json")) == b'["data/0","logs/1"]\n'
    assert ok(run(ctx, "storage-list", "data")) == b"data/0\n"
    assert json.loads(ok(run(ctx, "storage-get", "--format=json", "-s", "data/0"))) == \
        {"kind": "filesystem", "location": "/srv/data"}
    assert ok(run(ctx, "storage-get", "-s", "logs/1", "location")) == b"/dev/sdb\n"
    assert error(run(ctx, "storage-get", "-s", "data/0", "size"), 1) == \
        'invalid storage attribute "size"'
    assert error(run(ctx, "storage-get"), 2) == "no storage instance specified"
    assert error(run(ctx, "storage-get", "-s", "bad"), 2) == \
        'invalid value "bad" for flag -s: invalid storage ID "bad"'
    ctx.hook_storage = "data/0"
    assert ok(run(ctx, "storage-get", "location")) == b"/srv/data\n"


def test_resource_get_prints_path_without_newline():
    ctx = FakeContext()
    ctx.resources = {"blob": "/var/lib/juju/agents/unit-app-0/resources/blob/blob.tgz"}
    assert ok(run(ctx, "resource-get", "blob")) == \
        b"/var/lib/juju/agents/unit-app-0/resources/blob/blob.tgz"
    assert error(run(ctx, "resource-get", "nope"), 1) == \
        'could not download resource: resource "nope" not found'
    assert error(run(ctx, "resource-get"), 2) == "missing required resource name"


# --- charm state ---------------------------------------------------------------------------

def test_state_tools():
    ctx = FakeContext()
    ok(run(ctx, "state-set", "a=1", "b=two"))
    # ops' storage backend: state-set --file - with a YAML map on stdin.
    ok(run(ctx, "state-set", "--file", "-", stdin=b'"StoredStateData[_stored]": "{x: 1}"\n'))
    assert ctx.state == {"a": "1", "b": "two", "StoredStateData[_stored]": "{x: 1}"}
    assert ok(run(ctx, "state-get", "StoredStateData[_stored]")) == b"{x: 1}\n"
    assert ok(run(ctx, "state-get", "--format=json", "a")) == b'"1"\n'
    assert ok(run(ctx, "state-get", "missing")) == b""
    assert error(run(ctx, "state-get", "--strict", "missing"), 1) == '"missing" not found'
    ok(run(ctx, "state-set", "b="))
    ok(run(ctx, "state-delete", "a"))
    assert json.loads(ok(run(ctx, "state-get", "--format=json"))) == \
        {"StoredStateData[_stored]": "{x: 1}"}
    assert ok(run(ctx, "state-delete")) == b""
    assert ok(run(ctx, "state-get", "--format=json", "missing")) == b'""\n'
    assert error(run(ctx, "state-set", "x"), 2) == 'expected "key=value", got "x"'


# --- unsupported and legacy tools ----------------------------------------------------------

@pytest.mark.parametrize("tool,args,message", [
    ("credential-get", ["--format=json"], "cloud credentials are not supported by yard"),
    ("juju-reboot", ["--now"], "juju-reboot is not supported by yard"),
    ("add-metric", ["a=1"], "metrics not allowed in this context"),
])
def test_unsupported_tools_fail_clearly(tool, args, message):
    assert error(run(FakeContext(), tool, *args), 1) == message


def test_payload_tools_are_accepted_no_ops():
    ctx = FakeContext()
    ok(run(ctx, "payload-register", "docker", "web", "abc123"))
    ok(run(ctx, "payload-status-set", "web", "abc123", "started"))
    ok(run(ctx, "payload-unregister", "web", "abc123"))
    assert run(ctx, "payload-status-set", "web", "abc123", "flying").code == 2


def test_jujud_stub_reports_the_server_version():
    import subprocess
    stub = server.JUJUD_PATH
    out = subprocess.run([stub, "version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith(server.JUJU_VERSION + "-ubuntu-")
    assert server.JUJU_VERSION.startswith("3.6.")
