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
def test_a_source_that_does_not_compile_gives_none(tmp_path, caplog):
    source = tmp_path / "jujuc.c"
    source.write_text("int main(void) { return undefined_thing; }\n")
    assert native.build(str(tmp_path / "cache"), str(source)) is None
    assert "using client.py" in caplog.text
    assert os.listdir(tmp_path / "cache") == []     # no half-built file left


@needs_cc
def test_a_binary_that_does_not_act_like_jujuc_is_refused(tmp_path, caplog):
    source = tmp_path / "jujuc.c"
    source.write_text("int main(void) { return 0; }\n")
    assert native.build(str(tmp_path / "cache"), str(source)) is None
    assert "smoke test" in caplog.text


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
