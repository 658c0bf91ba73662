"""Building the native hook tool client (yard.tools.native) and choosing it."""

import os
import shutil

import pytest

from yard.tools import native
from yard.tools import server as tool_server

needs_cc = pytest.mark.skipif(native.compiler() is None and not os.environ.get("CI"),
                              reason="no C compiler here")


@needs_cc
def test_build_once_per_source_version(tmp_path):
    source = tmp_path / "jujuc.c"
    shutil.copy(native.SOURCE, source)
    cache = tmp_path / "cache"
    first = native.build(str(cache), str(source))
    assert first and os.access(first, os.X_OK)
    mtime = os.stat(first).st_mtime_ns
    # The same source again: the cached binary, not a rebuild.
    assert native.build(str(cache), str(source)) == first
    assert os.stat(first).st_mtime_ns == mtime
    # A changed source: a new binary next to the old one.
    source.write_text(source.read_text() + "\n/* changed */\n")
    second = native.build(str(cache), str(source))
    assert second and second != first
    assert sorted(os.listdir(cache)) == sorted([os.path.basename(first),
                                                os.path.basename(second)])


@needs_cc
@pytest.mark.parametrize("body, logged", [
    ("int main(void) { return undefined_thing; }\n", "using client.py"),   # does not compile
    ("int main(void) { return 0; }\n", "smoke test"),      # does not act like jujuc
])
def test_a_bad_build_gives_none_and_leaves_nothing(tmp_path, caplog, body, logged):
    source = tmp_path / "jujuc.c"
    source.write_text(body)
    assert native.build(str(tmp_path / "cache"), str(source)) is None
    assert logged in caplog.text
    assert os.listdir(tmp_path / "cache") == []


@needs_cc
def test_an_unwritable_cache_gives_none(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert native.build(str(blocker / "cache")) is None
    assert "cannot write" in caplog.text


def test_disabled_by_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("YARD_NATIVE_TOOLS", "0")
    assert native.build(str(tmp_path)) is None
    assert not os.path.exists(tmp_path / "jujuc-")


def test_no_compiler_gives_none(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CC", raising=False)
    assert native.compiler() is None
    assert native.build(str(tmp_path / "cache")) is None


def test_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert native.cache_dir() == str(tmp_path / "yard" / "native")


@needs_cc
def test_controller_installs_the_native_client(tmp_path, monkeypatch):
    from yard.controller import Controller
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    ctl = Controller(str(tmp_path / "home"), "m", provider=object())
    chosen = ctl._native_client(tool_server.CLIENT_PATH)
    assert chosen.startswith(str(tmp_path / "cache" / "yard" / "native"))
    # A test's own client is left alone, and so is the default when disabled.
    assert ctl._native_client("/some/other/client") == "/some/other/client"
    monkeypatch.setenv("YARD_NATIVE_TOOLS", "0")
    assert ctl._native_client(tool_server.CLIENT_PATH) == tool_server.CLIENT_PATH


def _frame(*fields):
    payload = b"".join(b"%d:%s," % (len(f), f) for f in fields)
    return b"%d:%s," % (len(payload), payload)


@needs_cc
def test_native_client_dials_ipv6(tmp_path):
    import socket
    import subprocess
    import threading
    try:
        srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        srv.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    srv.listen(1)
    seen = []

    def answer():
        conn, _ = srv.accept()
        with conn:
            seen.append(conn.recv(65536))
            conn.sendall(_frame(b"exit", b"3", b"out\n", b"err\n"))
    thread = threading.Thread(target=answer)
    thread.start()
    binary = native.build(str(tmp_path / "cache"))
    env = {"JUJU_CONTEXT_ID": "ctx-1", "JUJU_AGENT_SOCKET_NETWORK": "tcp",
           "JUJU_AGENT_SOCKET_ADDRESS": "[::1]:%d" % srv.getsockname()[1]}
    (tmp_path / "is-leader").symlink_to(binary)
    result = subprocess.run([str(tmp_path / "is-leader"), "--format=json"], env=env,
                            capture_output=True, timeout=30, cwd=str(tmp_path))
    thread.join(timeout=30)
    srv.close()
    assert (result.returncode, result.stdout, result.stderr) == (3, b"out\n", b"err\n")
    cwd = str(tmp_path).encode()
    assert seen == [_frame(b"yard1", b"ctx-1", b"is-leader", cwd, b"--format=json")]
