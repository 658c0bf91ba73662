"""Unit tests of the LXD provider's pure parts: names, command lines, parsing."""

import ipaddress
import subprocess

import pytest

from yard.provider import base, lxd

IFACE = ipaddress.IPv4Interface("10.157.83.1/24")


@pytest.fixture
def provider(tmp_path, monkeypatch):
    """A provider with a temporary home and every subprocess call recorded."""
    monkeypatch.delenv("YARD_LXD_SUBNET", raising=False)
    calls = []
    replies = {}

    def fake_run(argv, **kwargs):
        calls.append((list(argv), kwargs))
        for prefix, reply in replies.items():
            if tuple(argv[:len(prefix)]) == prefix:
                return reply(argv, kwargs) if callable(reply) else reply
        return subprocess.CompletedProcess(argv, 0, b"", b"")

    monkeypatch.setattr(subprocess, "run", fake_run)
    prov = lxd.LXDProvider("demo", home=str(tmp_path), exec_via="lxc")
    prov.calls = calls
    prov.replies = replies
    return prov


def test_instance_name_includes_model_and_machine():
    assert lxd.instance_name("demo", "0") == "yard-demo-0"
    assert lxd.instance_name("My_Model", "0/lxd/1") == "yard-my-model-0-lxd-1"


def test_instance_name_too_long_is_refused():
    with pytest.raises(base.ProviderError, match="longer than 63"):
        lxd.instance_name("m" * 60, "12")


def test_network_unit_has_static_address_route_and_dns():
    unit = lxd.network_unit("10.157.83.10", IFACE)
    assert "Name=eth0" in unit
    assert "Address=10.157.83.10/24" in unit
    assert "Gateway=10.157.83.1" in unit
    assert "DNS=10.157.83.1" in unit
    assert "DHCP=no" in unit


def test_exec_argv_clears_environment_and_sets_only_given():
    argv = lxd.exec_argv("yard-demo-0", ["python3", "-c", "x"], {"B": "2", "A": "1 2"},
                         cwd="/var/lib/juju", timeout=30)
    assert argv[:3] == ["lxc", "exec", "--mode=non-interactive"]
    assert argv[3:5] == ["--cwd", "/var/lib/juju"]
    rest = argv[argv.index("--") + 1:]
    assert rest == ["env", "-i", "A=1 2", "B=2", "timeout", "-k", "5", "30",
                    "python3", "-c", "x"]


def test_exec_argv_without_cwd_or_timeout():
    argv = lxd.exec_argv("yard-demo-0", ["true"], {})
    assert "--cwd" not in argv and "timeout" not in argv
    assert argv[-3:] == ["env", "-i", "true"]


def test_untar_argv_passes_path_as_argument_not_in_script():
    argv = lxd.untar_argv("yard-demo-0", "/var/lib/juju/agents/unit-a-0/charm")
    assert argv[-1] == "/var/lib/juju/agents/unit-a-0/charm"
    assert "--no-same-owner" in argv[-3]


def test_parse_instances_filters_by_model_not_only_prefix():
    data = [
        {"name": "yard-demo-0", "config": {"user.yard.model": "demo",
                                           "user.yard.machine-id": "0",
                                           "user.yard.address": "10.157.83.10"}},
        {"name": "yard-demo-10", "config": {"user.yard.model": "demo",
                                            "user.yard.machine-id": "10",
                                            "user.yard.address": "10.157.83.12"}},
        {"name": "yard-demo-2", "config": {"user.yard.model": "demo",
                                           "user.yard.machine-id": "2",
                                           "user.yard.address": "10.157.83.11"}},
        # Model "demo-x" shares the prefix "yard-demo-".
        {"name": "yard-demo-x-0", "config": {"user.yard.model": "demo-x",
                                             "user.yard.machine-id": "0"}},
        {"name": "other", "config": {}},
    ]
    machines = lxd.parse_instances(data, "demo")
    assert [m.machine_id for m in machines] == ["0", "2", "10"]
    assert machines[1] == base.MachineInfo("2", "yard-demo-2", "10.157.83.11")


def test_host_address_is_the_bridge(provider):
    assert provider.host_address() == "10.157.83.1"


def test_exec_returns_bytes_and_exit_code(provider):
    provider.replies[("lxc", "exec")] = subprocess.CompletedProcess([], 3, b"out", b"err")
    proc = provider.exec("0", ["sh", "-c", "exit 3"], env={"X": "1"}, stdin=b"in")
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, b"out", b"err")
    assert proc.args == ["sh", "-c", "exit 3"]
    argv, kwargs = provider.calls[-1]
    assert kwargs["input"] == b"in"
    assert argv[argv.index("-i") + 1:] == ["X=1", "sh", "-c", "exit 3"]


def test_exec_default_env_when_none(provider):
    provider.exec("0", ["true"])
    argv = provider.calls[-1][0]
    assert "HOME=/root" in argv and any(a.startswith("PATH=") for a in argv)


def test_exec_timeout_raises(provider, monkeypatch):
    clock = iter([100.0, 131.0])
    monkeypatch.setattr(lxd.time, "monotonic", lambda: next(clock))
    provider.replies[("lxc", "exec")] = subprocess.CompletedProcess([], 124, b"", b"")
    with pytest.raises(subprocess.TimeoutExpired):
        provider.exec("0", ["sleep", "60"], timeout=30)


def test_exec_on_stopped_machine_raises_provider_error(provider):
    provider.replies[("lxc", "exec")] = subprocess.CompletedProcess(
        [], 1, b"", b"Error: Instance is not running")
    provider.replies[("lxc", "query")] = subprocess.CompletedProcess(
        [], 0, b'{"status": "Stopped"}', b"")
    with pytest.raises(base.ProviderError, match='machine "0" is not running'):
        provider.exec("0", ["true"])


def test_exec_command_failing_with_error_text_is_not_a_provider_error(provider):
    provider.replies[("lxc", "exec")] = subprocess.CompletedProcess(
        [], 1, b"", b"Error: my script failed")
    provider.replies[("lxc", "query")] = subprocess.CompletedProcess(
        [], 0, b'{"status": "Running"}', b"")
    assert provider.exec("0", ["myscript"]).returncode == 1


def test_kill_machine_stops_at_once_and_keeps_address(provider):
    """A killed machine is stopped, not deleted: the model still has it (down)."""
    provider.addresses.allocate("0")
    provider.kill_machine("0")
    argvs = [c[0] for c in provider.calls]
    assert ["lxc", "stop", "yard-demo-0", "--force"] in argvs
    assert "delete" not in [a[1] for a in argvs]
    assert list(provider.addresses.allocations()) == ["0"]


def test_destroy_missing_machine_is_not_an_error(provider):
    provider.replies[("lxc", "query")] = subprocess.CompletedProcess([], 1, b"", b"Not Found")
    provider.destroy_machine("7")
    assert not [c for c in provider.calls if c[0][1] in ("stop", "delete")]


def test_create_existing_machine_is_refused(provider):
    provider.replies[("lxc", "query")] = subprocess.CompletedProcess(
        [], 0, b'{"name": "yard-demo-0"}', b"")
    with pytest.raises(base.ProviderError, match="already exists"):
        provider.create_machine("0")


def test_create_machine_cleans_up_on_failure(provider):
    provider.replies[("lxc", "query")] = subprocess.CompletedProcess([], 1, b"", b"")
    provider.replies[("lxc", "start")] = subprocess.CompletedProcess(
        [], 1, b"", b"Error: boom")
    with pytest.raises(base.ProviderError, match="boom"):
        provider.create_machine("0")
    argvs = [c[0] for c in provider.calls]
    init = next(a for a in argvs if a[1] == "init")
    assert "user.yard.address=10.157.83.10" in init and "--profile" in init
    assert ["lxc", "delete", "yard-demo-0", "--force"] in argvs
    assert provider.addresses.allocations() == {}


def test_push_missing_source_is_an_error(provider, tmp_path):
    provider.replies[("lxc", "query")] = subprocess.CompletedProcess(
        [], 0, b'{"status": "Running"}', b"")
    with pytest.raises(base.ProviderError, match="no such file"):
        provider.push("0", str(tmp_path / "nope"), "/tmp/x")


def test_push_file_uses_lxc_file_push_with_parents(provider, tmp_path):
    provider.replies[("lxc", "query")] = subprocess.CompletedProcess(
        [], 0, b'{"status": "Running"}', b"")
    src = tmp_path / "f"
    src.write_text("x")
    provider.push("0", str(src), "/var/lib/x/f")
    argv = provider.calls[-1][0]
    assert argv[:4] == ["lxc", "file", "push", "-p"]
    assert argv[-1] == "yard-demo-0/var/lib/x/f"


FORKFILE = (b"Error: dial unix /proc/self/fd/122/forkfile.sock: connect: "
            b"no such file or directory\n")


def test_push_retries_lxds_transient_file_helper_error(provider, tmp_path, monkeypatch):
    monkeypatch.setattr(lxd.time, "sleep", lambda s: None)
    provider.replies[("lxc", "query")] = subprocess.CompletedProcess(
        [], 0, b'{"status": "Running"}', b"")
    failures = iter([1, 1])

    def push(argv, kwargs):
        code = next(failures, 0)
        return subprocess.CompletedProcess(argv, code, b"", FORKFILE if code else b"")
    provider.replies[("lxc", "file", "push")] = push
    src = tmp_path / "f"
    src.write_text("x")
    provider.push("0", str(src), "/etc/hosts")
    pushes = [a for a, _ in provider.calls if a[:3] == ["lxc", "file", "push"]]
    assert len(pushes) == 3


def test_push_gives_up_after_the_retries(provider, tmp_path, monkeypatch):
    monkeypatch.setattr(lxd.time, "sleep", lambda s: None)
    provider.replies[("lxc", "query")] = subprocess.CompletedProcess(
        [], 0, b'{"status": "Running"}', b"")
    provider.replies[("lxc", "file", "push")] = subprocess.CompletedProcess(
        [], 1, b"", FORKFILE)
    src = tmp_path / "f"
    src.write_text("x")
    with pytest.raises(base.ProviderError, match="forkfile"):
        provider.push("0", str(src), "/etc/hosts")
    pushes = [a for a, _ in provider.calls if a[:3] == ["lxc", "file", "push"]]
    assert len(pushes) == lxd.FILE_RETRIES + 1


def test_other_push_errors_are_not_retried(provider, tmp_path):
    provider.replies[("lxc", "query")] = subprocess.CompletedProcess(
        [], 0, b'{"status": "Running"}', b"")
    provider.replies[("lxc", "file", "push")] = subprocess.CompletedProcess(
        [], 1, b"", b"Error: not found\n")
    src = tmp_path / "f"
    src.write_text("x")
    with pytest.raises(base.ProviderError, match="not found"):
        provider.push("0", str(src), "/etc/hosts")
    assert len([a for a, _ in provider.calls if a[:3] == ["lxc", "file", "push"]]) == 1


def test_exec_mode_from_environment(monkeypatch):
    monkeypatch.delenv("YARD_LXD_EXEC", raising=False)
    assert lxd.exec_mode() == "agent"
    monkeypatch.setenv("YARD_LXD_EXEC", "lxc")
    assert lxd.exec_mode() == "lxc"
    monkeypatch.setenv("YARD_LXD_EXEC", "nsenter")
    with pytest.raises(base.ProviderError, match="YARD_LXD_EXEC must be agent or lxc"):
        lxd.exec_mode()
