"""End to end: ToolServer on 127.0.0.1:0 and each client (client.py and the native
build of jujuc.c) run as real processes via symlinks."""

import json
import os
import shutil
import socket
import subprocess
import sys

import pytest
import yaml

from fake_context import FakeContext
from yard.tools import native
from yard.tools import server as tool_server
from yard.tools.server import TOOL_NAMES, ToolServer

CLIENT = tool_server.CLIENT_PATH
CONTEXT_ID = "app-0-db-relation-changed-0123456789abcdef0123456789abcdef"


def _python() -> str:
    """The interpreter the client's shebang names, or this one if that is missing."""
    with open(CLIENT) as handle:
        shebang = handle.readline()[2:].split()
    return shebang[0] if os.path.exists(shebang[0]) else sys.executable


@pytest.fixture
def ctx():
    ctx = FakeContext(hook_name="db-relation-changed", relation="db:3", remote_unit="pg/0",
                      remote_app="pg")
    ctx.add_relation(3, "db", "pg", ["pg/0"], bags={"pg/0": {"host": "10.0.0.5"}})
    ctx.config_values = {"port": 8080, "name": "web"}
    return ctx


@pytest.fixture(scope="session")
def native_client(tmp_path_factory):
    """The native client built from jujuc.c (CI has a C compiler: it must build there)."""
    if native.compiler() is None and not os.environ.get("CI"):
        pytest.skip("no C compiler here: only client.py is tested")
    built = native.build(str(tmp_path_factory.mktemp("native")))
    assert built, "jujuc.c did not build or failed its smoke test (see the log)"
    return built


@pytest.fixture(params=["python", "native"])
def tools_dir(request, tmp_path):
    """A machine's tools dir: jujuc (each client in turn) plus one symlink per tool."""
    tools = tmp_path / "tools"
    tools.mkdir()
    jujuc = tools / "jujuc"
    if request.param == "native":
        shutil.copy(request.getfixturevalue("native_client"), jujuc)
    elif _python() == sys.executable and not os.path.exists("/usr/bin/python3"):
        # No /usr/bin/python3 here: rewrite the shebang for this interpreter.
        with open(CLIENT) as handle:
            body = handle.read().split("\n", 1)[1]
        jujuc.write_text("#!%s -SE\n%s" % (sys.executable, body))
    else:
        shutil.copy(CLIENT, jujuc)
    jujuc.chmod(0o755)
    for name in TOOL_NAMES:
        (tools / name).symlink_to("jujuc")
    return tools


@pytest.fixture
def served(ctx):
    contexts = {CONTEXT_ID: ctx}
    srv = ToolServer(contexts.get, "127.0.0.1", 0)
    host, port = srv.start()
    yield host, port
    srv.stop()


@pytest.fixture
def env(served, tools_dir):
    host, port = served
    return {"PATH": "%s:/usr/bin:/bin" % tools_dir, "JUJU_CONTEXT_ID": CONTEXT_ID,
            "JUJU_AGENT_SOCKET_NETWORK": "tcp",
            "JUJU_AGENT_SOCKET_ADDRESS": "%s:%d" % (host, port)}


def tool(env, *argv, stdin=b"", cwd=None):
    return subprocess.run(list(argv), input=stdin, capture_output=True, env=env, cwd=cwd,
                          timeout=30)


def test_config_get_round_trip(env):
    result = tool(env, "config-get", "--all", "--format=json")
    assert (result.returncode, result.stderr) == (0, b"")
    assert json.loads(result.stdout) == {"port": 8080, "name": "web"}
    assert tool(env, "config-get", "port").stdout == b"8080\n"


def test_jujuc_called_by_its_own_name(env, tools_dir):
    result = tool(env, str(tools_dir / "jujuc"), "is-leader", "--format=json")
    assert result.stdout == b"true\n"


def test_usage_error_exit_code_and_stderr(env):
    result = tool(env, "relation-get", "-r", "db:99")
    assert result.returncode == 2
    assert result.stdout == b""
    assert result.stderr == b'ERROR invalid value "db:99" for flag -r: relation not found\n'


def test_runtime_error_exit_code(env, ctx):
    ctx.leader = False
    result = tool(env, "leader-set", "a=b")
    assert result.returncode == 1
    assert result.stderr == (b"ERROR cannot write leadership settings: cannot write settings: "
                             b"not the leader\n")


def test_relation_set_reads_stdin_only_when_asked(env, ctx):
    data = yaml.safe_dump({"url": "http://x", "n": 1, "gone": None}).encode()
    assert tool(env, "relation-set", "--file", "-", stdin=data).returncode == 0
    assert ctx.relations[3].bags["app/0"] == {"url": "http://x", "n": "1"}
    # Without --file -, an open stdin that never closes must not block the tool.
    proc = subprocess.Popen(["relation-set", "k=v"], stdin=subprocess.PIPE, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.wait(timeout=10) == 0
    finally:
        proc.stdin.close()
        proc.kill()
    assert ctx.relations[3].bags["app/0"]["k"] == "v"


def test_tools_of_one_hook_in_a_pipeline(env, ctx):
    # relation-set waits for stdin that config-get produces: both run at once.
    result = subprocess.run(["/bin/sh", "-c", "config-get --format=yaml | relation-set --file -"],
                            env=env, capture_output=True, timeout=30)
    assert (result.returncode, result.stderr) == (0, b"")
    assert ctx.relations[3].bags["app/0"] == {"port": "8080", "name": "web"}


def test_relation_set_file_relative_to_cwd(env, ctx, tmp_path):
    (tmp_path / "settings.yaml").write_text("a: from-file\n")
    result = tool(env, "relation-set", "--file", "settings.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert ctx.relations[3].bags["app/0"] == {"a": "from-file"}
    missing = tool(env, "relation-set", "--file", "nope.yaml", cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr == ("ERROR open %s/nope.yaml: no such file or directory\n"
                              % tmp_path).encode()


def test_output_flag_writes_inside_the_machine(env, tmp_path):
    result = tool(env, "relation-get", "--format=json", "-o", "out.json", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, b"")
    assert json.loads((tmp_path / "out.json").read_text()) == {"host": "10.0.0.5"}


def test_help_round_trip(env):
    result = tool(env, "relation-set", "--help")
    assert result.returncode == 0 and b"--file" in result.stdout


def test_binary_and_non_utf8_arguments_round_trip(env, ctx):
    value = b"caf\xc3\xa9 \xff"
    assert tool(env, b"relation-set", b"k=" + value).returncode == 0
    assert tool(env, "relation-get", "k", "app/0").stdout == value + b"\n"


def test_large_payloads(env, ctx):
    big = "x" * (3 * 1024 * 1024)
    data = yaml.safe_dump({"big": big}, width=1 << 30).encode()
    assert tool(env, "relation-set", "--file", "-", stdin=data).returncode == 0
    out = tool(env, "relation-get", "big", "app/0").stdout
    assert out == big.encode() + b"\n"


def test_unknown_context_refused(env, ctx):
    result = tool({**env, "JUJU_CONTEXT_ID": "app-0-install-deadbeef"}, "config-get")
    assert result.returncode == 1
    assert result.stderr == b'ERROR bad request: unknown context id "app-0-install-deadbeef"\n'


def test_missing_context_id(env):
    result = tool({k: v for k, v in env.items() if k != "JUJU_CONTEXT_ID"}, "config-get")
    assert (result.returncode, result.stderr) == (1, b"ERROR JUJU_CONTEXT_ID not set\n")


def test_controller_unreachable(env):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = tool({**env, "JUJU_AGENT_SOCKET_ADDRESS": "127.0.0.1:%d" % port}, "config-get")
    assert result.returncode == 1
    assert result.stderr.startswith(b"ERROR dial tcp 127.0.0.1:%d: " % port)


def test_lookup_failure_is_an_unknown_context(ctx, tools_dir):
    def lookup(context_id):
        raise RuntimeError("database is locked")
    srv = ToolServer(lookup, "127.0.0.1")
    host, port = srv.start()
    try:
        env = {"PATH": "%s:/usr/bin:/bin" % tools_dir, "JUJU_CONTEXT_ID": CONTEXT_ID,
               "JUJU_AGENT_SOCKET_ADDRESS": "%s:%d" % (host, port)}
        result = tool(env, "config-get")
    finally:
        srv.stop()
    assert result.returncode == 1 and b"unknown context id" in result.stderr


def test_unix_socket(ctx, tools_dir, tmp_path):
    path = str(tmp_path / "agent.socket")
    srv = ToolServer({CONTEXT_ID: ctx}.get, path)
    srv.start()
    try:
        env = {"PATH": "%s:/usr/bin:/bin" % tools_dir, "JUJU_CONTEXT_ID": CONTEXT_ID,
               "JUJU_AGENT_SOCKET_NETWORK": "unix", "JUJU_AGENT_SOCKET_ADDRESS": path}
        assert tool(env, "relation-list", "--format=json").stdout == b'["pg/0"]\n'
    finally:
        srv.stop()
    assert not os.path.exists(path)


def test_concurrent_invocations(env, ctx):
    procs = [subprocess.Popen(["relation-set", "k%d=%d" % (i, i)], env=env) for i in range(8)]
    assert [p.wait(timeout=30) for p in procs] == [0] * 8
    assert {k for k in ctx.relations[3].bags["app/0"]} == {"k%d" % i for i in range(8)}


def test_server_refuses_malformed_requests(served):
    for payload in (b"garbage\n", b"5:hello,", b"3:1:x,,"):
        with socket.create_connection(served, timeout=10) as sock:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            reply = b""
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
        assert b"exit" in reply and b"bad request" in reply


def test_client_is_small_stdlib_python_39():
    import ast
    with open(CLIENT) as handle:
        source = handle.read()
    assert source.startswith("#!/usr/bin/python3 -SE\n")
    tree = ast.parse(source, feature_version=(3, 9))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    # Only modules built into the interpreter: no json/socket/base64 start-up cost.
    assert imported <= {"sys", "_socket", "posix"}
    assert os.access(CLIENT, os.X_OK)
