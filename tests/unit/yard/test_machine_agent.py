"""The machine agent served on loopback, with real commands, and the provider's client."""

import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from yard.provider import base, lxd, machine_agent

TOKEN = "t" * 32


@pytest.fixture
def agent():
    """A real agent on 127.0.0.1 (a free port), stopped after the test."""
    server = machine_agent.Server(("127.0.0.1", 0), TOKEN.encode())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def call(port, **request):
    request.setdefault("token", TOKEN)
    return lxd.agent_call("127.0.0.1", request, timeout=30, port=port)


def out(reply, key="stdout"):
    import base64
    return base64.b64decode(reply[key]).decode()


def test_runs_with_exactly_the_given_environment_and_cwd(agent, tmp_path):
    reply = call(agent, argv=["sh", "-c", "pwd; env | sort"],
                 env={"PATH": "/usr/bin:/bin", "A": "1 2"}, cwd=str(tmp_path))
    assert reply["code"] == 0
    lines = out(reply).splitlines()
    assert lines[0] == str(tmp_path)
    assert "A=1 2" in lines
    # Nothing of the agent's own environment leaks in (sh adds PWD, SHLVL, _).
    assert not [line for line in lines[1:]
                if line.split("=")[0] not in ("A", "PATH", "PWD", "SHLVL", "_")]


def test_stdin_exit_code_and_stderr(agent):
    import base64
    reply = call(agent, argv=["sh", "-c", "cat; echo oops >&2; exit 3"],
                 env={"PATH": "/usr/bin:/bin"}, stdin=base64.b64encode(b"in put").decode())
    assert (reply["code"], out(reply), out(reply, "stderr")) == (3, "in put", "oops\n")


def test_missing_program_and_missing_directory(agent, tmp_path):
    reply = call(agent, argv=["no-such-program-here"], env={"PATH": "/usr/bin"})
    assert reply["code"] == 127
    assert "no-such-program-here" in out(reply, "stderr")
    reply = call(agent, argv=["true"], env={"PATH": "/usr/bin:/bin"},
                 cwd=str(tmp_path / "gone"))
    assert reply["code"] == 1
    assert "cannot change directory" in out(reply, "stderr")


def test_wrong_or_missing_token_runs_nothing(agent, tmp_path):
    marker = tmp_path / "ran"
    for token in ("x" * 32, None):
        request = {"argv": ["touch", str(marker)], "env": {"PATH": "/usr/bin:/bin"}}
        if token:
            request["token"] = token
        reply = lxd.agent_call("127.0.0.1", request, timeout=10, port=agent)
        assert reply == {"error": "permission denied"}
    assert not marker.exists()


def test_bad_argv_is_refused(agent):
    assert "argv" in call(agent, argv=[], env={})["error"]
    assert "argv" in call(agent, argv="true", env={})["error"]


def test_timeout_kills_the_whole_process_group(agent, tmp_path):
    pidfile = tmp_path / "child"
    script = "sleep 60 & echo $! > {}; wait".format(pidfile)
    started = time.monotonic()
    reply = call(agent, argv=["sh", "-c", script], env={"PATH": "/usr/bin:/bin"}, timeout=0.5)
    assert reply["timed_out"] is True and reply["code"] == 124
    assert time.monotonic() - started < 10
    child = int(pidfile.read_text())
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the background child of a timed-out command still runs")


def test_ping(agent):
    assert call(agent, ping=True)["pong"] is True


def test_unreachable_agent_raises_for_the_lxc_fallback():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(lxd.AgentUnreachable):
        lxd.agent_call("127.0.0.1", {"ping": True}, timeout=5, port=port)


def test_connection_cut_mid_command_is_agent_lost(agent):
    """What kill_machine does to calls in flight: they end at once, not at the timeout."""
    held = []
    errors = []

    def run():
        try:
            lxd.agent_call("127.0.0.1", {"token": TOKEN, "argv": ["sleep", "30"],
                                         "env": {"PATH": "/usr/bin:/bin"}},
                           timeout=60, port=agent, track=lambda s: s and held.append(s))
        except lxd.AgentLost as err:
            errors.append(err)

    thread = threading.Thread(target=run)
    started = time.monotonic()
    thread.start()
    while not held:
        time.sleep(0.01)
    time.sleep(0.2)
    held[0].shutdown(socket.SHUT_RDWR)
    thread.join(10)
    assert errors and time.monotonic() - started < 10


def test_agent_runs_as_a_script_with_a_token_file(tmp_path):
    """The way machines run it: ``python3 agent.py --token-file``."""
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, machine_agent.__file__, "--address", "127.0.0.1",
                             "--port", str(port), "--token-file", str(token_file)])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                assert call(port, ping=True)["pong"]
                break
            except lxd.AgentUnreachable:
                assert time.monotonic() < deadline, "the agent did not start"
                time.sleep(0.05)
        reply = call(port, argv=["echo", "hi"], env={"PATH": "/usr/bin:/bin"})
        assert out(reply) == "hi\n"
    finally:
        proc.terminate()
        proc.wait(10)


def test_short_token_file_is_refused(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("short\n")
    with pytest.raises(SystemExit, match="too short"):
        machine_agent.read_token(str(token_file))


# -- the provider's side --------------------------------------------------------

@pytest.fixture
def provider(tmp_path, monkeypatch, agent):
    """An LXD provider whose machine 0 has its agent on loopback (no LXD needed)."""
    monkeypatch.delenv("YARD_LXD_SUBNET", raising=False)
    prov = lxd.LXDProvider("demo", home=str(tmp_path), exec_via="agent")
    prov.agent_port = agent
    prov._agents["0"] = "127.0.0.1"
    # The loopback agent's token is TOKEN; make the provider derive the same.
    monkeypatch.setattr(lxd, "agent_token", lambda key, instance: TOKEN)
    return prov


def test_provider_exec_through_agent(provider):
    res = provider.exec("0", ["sh", "-c", "echo $X; cat"], env={"X": "1", "PATH": "/bin"},
                        stdin=b"data")
    assert (res.returncode, res.stdout, res.stderr) == (0, b"1\ndata", b"")
    assert res.args == ["sh", "-c", "echo $X; cat"]


def test_provider_exec_timeout_raises_timeout_expired(provider):
    with pytest.raises(subprocess.TimeoutExpired):
        provider.exec("0", ["sleep", "30"], timeout=0.3)


def test_provider_kill_cuts_calls_in_flight(provider, monkeypatch):
    monkeypatch.setattr(provider, "_lxc", lambda args, check=True, timeout=300: None)
    monkeypatch.setattr(provider, "_running", lambda name: False)
    errors = []

    def run():
        try:
            provider.exec("0", ["sleep", "30"], timeout=60)
        except base.ProviderError as err:
            errors.append(str(err))

    thread = threading.Thread(target=run)
    thread.start()
    while not provider._calls.get("0"):
        time.sleep(0.01)
    started = time.monotonic()
    provider.kill_machine("0")
    thread.join(10)
    assert time.monotonic() - started < 5
    assert errors and "not running" in errors[0]
    assert "0" not in provider._agents


def test_agent_tokens_differ_per_machine_and_key_is_private(tmp_path):
    key = lxd.load_key(str(tmp_path / "lxd" / "agent.key"))
    assert len(key) == 64
    assert os.stat(str(tmp_path / "lxd" / "agent.key")).st_mode & 0o777 == 0o600
    assert lxd.load_key(str(tmp_path / "lxd" / "agent.key")) == key
    assert lxd.agent_token(key, "yard-a-0") != lxd.agent_token(key, "yard-a-1")


def test_agent_unit_runs_the_agent_on_the_machine_address():
    unit = lxd.agent_unit("10.157.83.12")
    assert "--address 10.157.83.12 --port {}".format(machine_agent.PORT) in unit
    assert "KillMode=process" in unit and "Restart=always" in unit
