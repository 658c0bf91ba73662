"""The LXD machine provider: one LXD container per model machine.

Instances are named ``yard-<model>-<machine id>`` and carry ``user.yard.model``,
``user.yard.machine-id`` and ``user.yard.address`` so that :meth:`list_machines`
finds them again after a restart.  Each machine gets a static address on the
yard bridge, written into it before its first boot (see ``image.NETWORK_UNIT``).
"""

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import re
import secrets
import socket
import subprocess
import tempfile
import threading
import time
from typing import Callable, Dict, List, Optional, Set, Tuple

from yard.provider import addresses, base, image, lxd_setup, lxd_storage, machine_agent

log = logging.getLogger(__name__)

MAX_NAME = 63
#: The environment :meth:`LXDProvider.exec` uses when the caller gives none.
DEFAULT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "USER": "root",
    "LANG": "C.UTF-8",
}
#: Seconds a machine may take from ``lxc start`` to systemd up and the host reachable.
BOOT_TIMEOUT = 120
#: Grace the in-machine ``timeout`` gives a command after TERM before KILL.
KILL_AFTER = 5

# Run inside a new machine: wait for systemd, then for TCP to the host.
READY_SCRIPT = r"""
import socket, subprocess, sys, time
host, port, deadline = sys.argv[1], int(sys.argv[2]), time.time() + float(sys.argv[3])
while True:
    # Until PID 1 has its bus up, systemctl fails at once with no state.
    try:
        state = subprocess.run(["systemctl", "is-system-running", "--wait"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               universal_newlines=True,
                               timeout=max(1, deadline - time.time())).stdout.strip()
    except subprocess.TimeoutExpired:
        state = "still starting"
    if state in ("running", "degraded"):
        break
    if time.time() > deadline:
        print("systemd is " + state); sys.exit(3)
    time.sleep(0.05)
while True:
    try:
        socket.create_connection((host, port), timeout=1).close()
        break
    except OSError as exc:
        if time.time() > deadline:
            print("cannot reach %s:%d: %s" % (host, port, exc)); sys.exit(2)
        time.sleep(0.05)
print(state)
"""


def _slug(text: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", text.lower())).strip("-")


def instance_prefix(model: str) -> str:
    """The name prefix of every instance of ``model``."""
    return "yard-{}-".format(_slug(model) or "model")


def instance_name(model: str, machine_id: str) -> str:
    """A valid LXD instance name for a model machine (``0/lxd/1`` becomes ``0-lxd-1``).

    :raises base.ProviderError: if the name would exceed LXD's 63 characters.
    """
    name = instance_prefix(model) + (_slug(machine_id) or "0")
    if len(name) > MAX_NAME:
        raise base.ProviderError(
            'machine name "{}" is longer than {} characters'.format(name, MAX_NAME))
    return name


def network_unit(address: str, iface: ipaddress.IPv4Interface) -> str:
    """The systemd-networkd file giving ``eth0`` its static address, route and DNS."""
    return (
        "[Match]\nName=eth0\n\n"
        "[Network]\n"
        "Address={address}/{prefix}\n"
        "Gateway={gateway}\n"
        "DNS={gateway}\n"
        "DHCP=no\n"
        "LinkLocalAddressing=no\n"
        "IPv6AcceptRA=no\n"
    ).format(address=address, prefix=iface.network.prefixlen, gateway=iface.ip)


def network_env(address: str, iface: ipaddress.IPv4Interface) -> str:
    """The settings image.NETWORK_UNIT applies at boot (our Debian image)."""
    return "DEVICE=eth0\nADDRESS={}/{}\nGATEWAY={}\n".format(
        address, iface.network.prefixlen, iface.ip)


def hosts_file(name: str, address: str) -> str:
    """/etc/hosts with the machine's own name on its address, as Juju machines have."""
    return ("127.0.0.1 localhost\n{} {}\n"
            "::1 localhost ip6-localhost ip6-loopback\n").format(address, name)


def exec_argv(instance: str, argv: List[str], env: Dict[str, str],
              cwd: Optional[str] = None, timeout: Optional[float] = None) -> List[str]:
    """The ``lxc exec`` command line running ``argv`` with exactly ``env``.

    ``env -i`` drops what LXD itself would set (PATH, HOME, LANG, ...);
    ``timeout`` inside the machine kills the command there, not just the client.
    """
    cmd = ["lxc", "exec", "--mode=non-interactive"]
    if cwd:
        cmd += ["--cwd", cwd]
    cmd += [instance, "--", "env", "-i"]
    cmd += ["{}={}".format(k, v) for k, v in sorted(env.items())]
    if timeout is not None:
        cmd += ["timeout", "-k", str(KILL_AFTER), "{:g}".format(timeout)]
    return cmd + list(argv)


def exec_mode() -> str:
    """``YARD_LXD_EXEC``: ``agent`` (default) or ``lxc``.

    ``agent`` runs commands through yard's machine agent (see
    :mod:`yard.provider.machine_agent`), a few milliseconds each; ``lxc``
    through ``lxc exec``, about 55 ms each.  Machines whose agent does not
    answer are reached with ``lxc exec`` either way.
    """
    mode = os.environ.get("YARD_LXD_EXEC", "agent")
    if mode not in ("agent", "lxc"):
        raise base.ProviderError("YARD_LXD_EXEC must be agent or lxc, not {!r}".format(mode))
    return mode


AGENT_DIR = "/var/lib/yard"
AGENT_UNIT = """\
[Unit]
Description=yard machine agent (runs the yard controller's hooks and commands)
After=network-online.target

[Service]
ExecStart=/usr/bin/python3 {dir}/agent.py --address {address} --port {port} \\
  --token-file {dir}/agent.token
Restart=always
RestartSec=1
# Hooks started by the agent outlive an agent restart, as under Juju.
KillMode=process

[Install]
WantedBy=multi-user.target
"""
#: Seconds to wait for a TCP connection to a machine agent before using lxc exec.
AGENT_CONNECT_TIMEOUT = 2.0


def agent_unit(address: str, port: int = machine_agent.PORT) -> str:
    """The systemd unit of the machine agent listening on ``address``."""
    return AGENT_UNIT.format(dir=AGENT_DIR, address=address, port=port)


def agent_token(key: bytes, instance: str) -> str:
    """The agent secret of one machine: a MAC of its instance name under the home's key."""
    return hmac.new(key, instance.encode(), hashlib.sha256).hexdigest()


def load_key(path: str) -> bytes:
    """The home's agent key, made (0600) the first time."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    for _ in range(50):  # another controller may be writing it right now
        with open(path, "rb") as f:
            key = f.read().strip()
        if key:
            return key
        time.sleep(0.05)
    raise base.ProviderError("the agent key {} is empty".format(path))


class AgentUnreachable(Exception):
    """No connection to the machine agent: use ``lxc exec`` instead."""


class AgentLost(Exception):
    """The connection broke while a command ran (the machine went away?)."""


def agent_call(address: str, request: dict, timeout: Optional[float],
               port: int = machine_agent.PORT,
               track: Optional[Callable[[Optional[socket.socket]], None]] = None) -> dict:
    """Send one request to a machine agent and return its reply.

    :param timeout: seconds the reply may take (None: no limit).
    :param track: called with the socket once connected and with None when
        done, so that a machine being killed can cut the call short.
    :raises AgentUnreachable: nothing was sent (connection refused or timed out).
    :raises AgentLost: the connection broke before a reply.
    :raises socket.timeout: no reply within ``timeout``.
    """
    try:
        sock = socket.create_connection((address, port), timeout=AGENT_CONNECT_TIMEOUT)
    except OSError as err:
        raise AgentUnreachable(str(err)) from err
    try:
        if track:
            track(sock)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # A machine deleted under a command never closes the connection:
        # keepalives notice within seconds.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for opt, value in (("TCP_KEEPIDLE", 5), ("TCP_KEEPINTVL", 2), ("TCP_KEEPCNT", 3)):
            if hasattr(socket, opt):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, opt), value)
        sock.settimeout(timeout)
        try:
            machine_agent.send_message(sock, request)
            return machine_agent.recv_message(sock, limit=1 << 31)
        except socket.timeout:
            raise
        except (EOFError, OSError, ValueError) as err:
            raise AgentLost(str(err) or type(err).__name__) from err
    finally:
        if track:
            track(None)
        sock.close()


def untar_argv(instance: str, remote_path: str) -> List[str]:
    """The ``lxc exec`` command line unpacking a tar stream into ``remote_path``."""
    script = 'mkdir -p "$1" && exec tar -C "$1" --no-same-owner -xf -'
    return ["lxc", "exec", "--mode=non-interactive", instance, "--",
            "sh", "-c", script, "sh", remote_path]


def parse_instances(data: list, model: str) -> List[base.MachineInfo]:
    """MachineInfos of ``model`` from ``GET /1.0/instances?recursion=1``, by machine id."""
    prefix = instance_prefix(model)
    found = []
    for inst in data or []:
        name = inst.get("name", "")
        config = inst.get("config") or {}
        if not name.startswith(prefix) or config.get("user.yard.model") != model:
            continue
        found.append(base.MachineInfo(
            machine_id=config.get("user.yard.machine-id", name[len(prefix):]),
            instance=name, address=config.get("user.yard.address", "")))
    return sorted(found, key=lambda m: _sort_key(m.machine_id))


def _sort_key(machine_id: str):
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in machine_id.split("/")]


#: How often an ``lxc file`` call that hit a transient LXD error is retried.
FILE_RETRIES = 4


def _transient_file_error(args: List[str], text: str) -> bool:
    """An ``lxc file`` failure of LXD's own file helper, not of the file.

    While many containers start at once LXD sometimes cannot reach the
    helper it forks for file transfers (``dial unix
    /proc/self/fd/N/forkfile.sock: connect: no such file or directory``);
    the same call a moment later works.
    """
    return bool(args) and args[0] == "file" and "forkfile" in text


def _lxc_error(stderr: bytes) -> bool:
    lines = stderr.decode(errors="replace").strip().splitlines()
    return bool(lines) and lines[-1].startswith("Error: ")


class LXDProvider(base.Provider):
    """Machines of one model as LXD containers on the yard bridge."""

    def __init__(self, model: str, home: Optional[str] = None,
                 exec_via: Optional[str] = None):
        """:param home: the yard home (default ``$YARD_HOME`` or ``./.yard``).
        :param exec_via: ``agent`` or ``lxc`` (default ``$YARD_LXD_EXEC`` or ``agent``).
        """
        self.model = model
        self.exec_via = exec_via or exec_mode()
        #: machine id -> the address its agent answers on (None: use lxc exec).
        self._agents: Dict[str, Optional[str]] = {}
        #: machine id -> sockets of agent calls in flight (cut when it is killed).
        self._calls: Dict[str, Set[socket.socket]] = {}
        self._calls_lock = threading.Lock()
        self._key: Optional[bytes] = None
        self.agent_port = machine_agent.PORT
        self.home = os.path.abspath(
            home or os.environ.get("YARD_HOME") or os.path.join(os.getcwd(), ".yard"))
        self.iface = lxd_setup.subnet()
        self.addresses = addresses.AddressBook(
            os.path.join(self.home, "lxd", "addresses"), model, self.iface,
            in_use=self._instance_addresses)
        self._ready_lock = threading.Lock()
        self._ready = False
        #: The storage pool of machines' root disks (set by ensure_ready).
        self.pool: Optional[str] = None
        #: Seconds the last ensure_ready took per step (for reports and benchmarks).
        self.timings: Dict[str, float] = {}

    # -- set-up ---------------------------------------------------------------

    def ensure_ready(self) -> None:
        """Install and start LXD, make pool, bridge and profile, build the image."""
        with self._ready_lock:
            if self._ready:
                return
            try:
                started = time.monotonic()
                with lxd_setup.host_lock():
                    self.pool = lxd_setup.ensure_host(self.home)
                    self.timings["host"] = time.monotonic() - started
                    built = image.ensure_image(os.path.join(self.home, "lxd", "build"))
                if built is not None:
                    self.timings["image"] = built
                self.timings["total"] = time.monotonic() - started
            except lxd_setup.SetupError as exc:
                raise base.ProviderError("cannot set up LXD: {}".format(exc)) from exc
            self._ready = True

    def machine_base(self) -> Tuple[str, str]:
        """Debian 12 on yard's own image; else what the image reference names."""
        return image.image_base()

    def vip_range(self) -> str:
        return addresses.vip_range(self.iface)

    def host_address(self) -> str:
        """The yard bridge's IPv4 address on the host."""
        return str(self.iface.ip)

    # -- machines -------------------------------------------------------------

    def create_machine(self, machine_id: str) -> base.MachineInfo:
        """Launch, address and boot a machine; return once it reaches the host over TCP."""
        name = instance_name(self.model, machine_id)
        if self._instance(name) is not None:
            raise base.ProviderError('machine "{}" already exists ({})'.format(
                machine_id, name))
        address = self.addresses.allocate(machine_id)
        try:
            self._launch(name, machine_id, address)
            self._wait_ready(name)
        except Exception:
            self._delete(name, force=True)
            self.addresses.release(machine_id)
            raise
        if self.exec_via == "agent":
            self._install_agent(machine_id, name, address)
        return base.MachineInfo(machine_id=machine_id, instance=name, address=address)

    def _launch(self, name: str, machine_id: str, address: str) -> None:
        ref = image.image_ref()
        pool = self.pool or lxd_setup.storage_pool()
        self._lxc(["init", ref, name, "--profile", lxd_setup.PROFILE, "--storage", pool,
                   "-c", "user.yard.model={}".format(self.model),
                   "-c", "user.yard.machine-id={}".format(machine_id),
                   "-c", "user.yard.address={}".format(address)], timeout=600)
        files = {"/etc/hosts": hosts_file(name, address)}
        if ref == image.ALIAS:
            files[image.NETWORK_ENV] = network_env(address, self.iface)
            files["/etc/resolv.conf"] = "nameserver {}\n".format(self.iface.ip)
        else:
            # Other images (Ubuntu) have udev, networkd and resolved: DNS= works there.
            files["/etc/systemd/network/00-yard.network"] = network_unit(address, self.iface)
        with tempfile.TemporaryDirectory(prefix="yard-net-") as tmp:
            for index, (remote, content) in enumerate(sorted(files.items())):
                local = os.path.join(tmp, str(index))
                with open(local, "w") as f:
                    f.write(content)
                os.chmod(local, 0o644)
                self._lxc(["file", "push", "-p", "--uid", "0", "--gid", "0", "--mode", "0644",
                           local, name + remote])
        self._lxc(["start", name], timeout=120)

    def _wait_ready(self, name: str) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
            # The kernel completes the handshake from the backlog: no accept needed.
            listener.bind((self.host_address(), 0))
            listener.listen(16)
            port = listener.getsockname()[1]
            deadline = time.monotonic() + BOOT_TIMEOUT
            while True:
                proc = subprocess.run(
                    exec_argv(name, ["python3", "-c", READY_SCRIPT, self.host_address(),
                                     str(port), str(BOOT_TIMEOUT)], DEFAULT_ENV),
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    timeout=BOOT_TIMEOUT + 30)
                if proc.returncode == 0:
                    return
                out = (proc.stdout + proc.stderr).decode(errors="replace").strip()
                # Right after start, exec can race init; anything else is final.
                if proc.returncode in (2, 3) or time.monotonic() > deadline:
                    raise base.ProviderError("machine {} is not usable: {}".format(name, out))
                time.sleep(0.2)

    def agent_key(self) -> bytes:
        """The key machine agents' tokens derive from (one per yard home)."""
        if self._key is None:
            self._key = load_key(os.path.join(self.home, "lxd", "agent.key"))
        return self._key

    def _install_agent(self, machine_id: str, name: str, address: str) -> None:
        """Put the machine agent in the machine as a systemd service and wait for it.

        A machine whose agent does not come up still works, through ``lxc exec``.
        """
        token = agent_token(self.agent_key(), name)
        files = [("agent.py", open(machine_agent.__file__).read(), "0644"),
                 ("agent.token", token + "\n", "0600"),
                 ("yard-agent.service", agent_unit(address), "0644")]
        try:
            with tempfile.TemporaryDirectory(prefix="yard-agent-") as tmp:
                for base_name, content, _ in files:
                    with open(os.path.join(tmp, base_name), "w") as f:
                        f.write(content)
                for base_name, _, mode in files:
                    remote = ("/etc/systemd/system/" if base_name.endswith(".service")
                              else AGENT_DIR + "/") + base_name
                    self._lxc(["file", "push", "-p", "--uid", "0", "--gid", "0",
                               "--mode", mode, os.path.join(tmp, base_name), name + remote])
            self._lxc(["exec", name, "--", "systemctl", "enable", "--now", "--quiet",
                       "yard-agent.service"], timeout=120)
            deadline = time.monotonic() + 30
            while True:
                try:
                    agent_call(address, {"token": token, "ping": True}, timeout=10)
                    break
                except (AgentUnreachable, AgentLost, socket.timeout):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            self._lxc(["config", "set", name, "user.yard.agent={}".format(machine_agent.PORT)])
        except Exception as exc:  # noqa: BLE001 - lxc exec still works
            log.warning("machine %s: no agent (%s); commands go through lxc exec",
                        machine_id, exc)
            self._agents[machine_id] = None
            return
        self._agents[machine_id] = address

    def _agent_address(self, machine_id: str, name: str) -> Optional[str]:
        """Where the machine's agent answers, or None; looked up once per machine."""
        if machine_id not in self._agents:
            config = (self._instance(name) or {}).get("config", {})
            has_agent = config.get("user.yard.agent") == str(machine_agent.PORT)
            self._agents[machine_id] = config.get("user.yard.address") if has_agent else None
        return self._agents[machine_id]

    def _cut_calls(self, machine_id: str) -> None:
        """End the agent calls in flight to a machine that is going away."""
        self._agents.pop(machine_id, None)
        with self._calls_lock:
            calls = list(self._calls.get(machine_id, ()))
        for sock in calls:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def destroy_machine(self, machine_id: str) -> None:
        """Shut the machine down cleanly, delete it and free its address."""
        name = instance_name(self.model, machine_id)
        self._cut_calls(machine_id)
        if self._instance(name) is not None:
            self._lxc(["stop", name, "--timeout", "30"], check=False, timeout=90)
            self._delete(name, force=True)
        self.addresses.release(machine_id)

    def kill_machine(self, machine_id: str) -> None:
        """Stop the container at once, without a shutdown, as a lost host would go.

        It keeps its address: the model still has the machine until
        ``remove-machine --force`` destroys it.
        """
        self._cut_calls(machine_id)
        self._lxc(["stop", instance_name(self.model, machine_id), "--force"], timeout=90)

    def list_machines(self) -> List[base.MachineInfo]:
        """Machines of this model that exist now, in machine id order."""
        return parse_instances(self._query("/1.0/instances?recursion=1"), self.model)

    # -- storage ----------------------------------------------------------------

    def attach_filesystem(self, machine_id: str, storage_id: str, size_mib: int,
                          location: str, read_only: bool = False) -> None:
        """A loop-mounted image passed in as a disk device (see ``lxd_storage``)."""
        name = self._name_checked(machine_id)
        image, mount = lxd_storage.paths(self.home, self.model, storage_id)
        lxd_storage.ensure_mounted(image, mount, size_mib)
        info = self._instance(name) or {}
        os.chown(mount, *lxd_storage.root_ids(info))
        if lxd_storage.device_name(storage_id) not in (info.get("devices") or {}):
            self._lxc(lxd_storage.attach_argv(name, storage_id, mount, location, read_only))

    def detach_filesystem(self, machine_id: str, storage_id: str, location: str) -> None:
        """Remove the disk device (if the machine is still there) and unmount the image."""
        name = instance_name(self.model, machine_id)
        if self._instance(name) is not None:
            self._lxc(["config", "device", "remove", name, lxd_storage.device_name(storage_id)],
                      check=False)
        lxd_storage.unmount(lxd_storage.paths(self.home, self.model, storage_id)[1])

    def destroy_filesystem(self, storage_id: str) -> None:
        """Unmount and delete the image."""
        lxd_storage.destroy(*lxd_storage.paths(self.home, self.model, storage_id))

    # -- files and commands ---------------------------------------------------

    def push(self, machine_id: str, local_path: str, remote_path: str) -> None:
        """Copy a file, or a folder's content, to ``remote_path`` (root owned, modes kept).

        A folder is streamed as one tar archive through ``lxc exec``: for a
        built charm with a wheelhouse that is far faster than one API call per
        file.  Existing files at the destination are overwritten, others kept.
        """
        name = self._name_checked(machine_id)
        if os.path.isdir(local_path):
            self._push_dir(name, local_path, remote_path)
        elif os.path.isfile(local_path):
            self._lxc(["file", "push", "-p", "--uid", "0", "--gid", "0",
                       local_path, name + remote_path], timeout=600)
        else:
            raise base.ProviderError("cannot push {}: no such file or folder".format(local_path))

    def _push_dir(self, name: str, local_path: str, remote_path: str) -> None:
        tar = subprocess.Popen(["tar", "-C", local_path, "-cf", "-", "."],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            untar = subprocess.run(untar_argv(name, remote_path), stdin=tar.stdout,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   timeout=1800)
        finally:
            tar.stdout.close()
            tar_err = tar.stderr.read()
            tar.stderr.close()
            tar.wait()
        if tar.returncode != 0 or untar.returncode != 0:
            raise base.ProviderError("cannot push {} to {}:{}: {}".format(
                local_path, name, remote_path,
                (tar_err + untar.stderr).decode(errors="replace").strip()))

    def exec(self, machine_id: str, argv: List[str], env: Optional[Dict[str, str]] = None,
             stdin: Optional[bytes] = None, cwd: Optional[str] = None,
             timeout: Optional[float] = None) -> subprocess.CompletedProcess:
        """Run ``argv`` as root in the machine with exactly ``env`` (DEFAULT_ENV if None).

        :raises subprocess.TimeoutExpired: when ``timeout`` passes; the command
            is killed inside the machine too.
        :raises base.ProviderError: if the machine is gone or not running.
        """
        name = instance_name(self.model, machine_id)
        env = DEFAULT_ENV if env is None else env
        address = self._agent_address(machine_id, name) if self.exec_via == "agent" else None
        if address:
            try:
                return self._exec_agent(machine_id, name, address, argv, env, stdin, cwd,
                                        timeout)
            except AgentUnreachable as exc:
                log.info("machine %s: agent unreachable (%s); using lxc exec", machine_id, exc)
        return self._exec_lxc(machine_id, name, argv, env, stdin, cwd, timeout)

    def _exec_agent(self, machine_id: str, name: str, address: str, argv: List[str],
                    env: Dict[str, str], stdin: Optional[bytes], cwd: Optional[str],
                    timeout: Optional[float]) -> subprocess.CompletedProcess:
        request = {"token": agent_token(self.agent_key(), name), "argv": list(argv),
                   "env": env, "cwd": cwd or env.get("HOME") or "/", "timeout": timeout,
                   "stdin": base64.b64encode(stdin or b"").decode()}

        held: List[socket.socket] = []

        def track(sock: Optional[socket.socket]) -> None:
            with self._calls_lock:
                calls = self._calls.setdefault(machine_id, set())
                if sock is not None:
                    calls.add(sock)
                    held.append(sock)
                else:
                    calls.difference_update(held)

        try:
            reply = agent_call(address, request, track=track, port=self.agent_port,
                               timeout=None if timeout is None else timeout + KILL_AFTER + 10)
        except socket.timeout:
            raise subprocess.TimeoutExpired(argv, timeout) from None
        except AgentLost as exc:
            if not self._running(name):
                raise base.ProviderError(
                    'machine "{}" is not running: {}'.format(machine_id, exc)) from None
            raise base.ProviderError('machine "{}": lost the agent while running {}: {}'
                                     .format(machine_id, argv[0], exc)) from None
        if "error" in reply:
            raise base.ProviderError('machine "{}": agent refused the command: {}'.format(
                machine_id, reply["error"]))
        out, err = base64.b64decode(reply["stdout"]), base64.b64decode(reply["stderr"])
        if reply.get("timed_out"):
            raise subprocess.TimeoutExpired(argv, timeout, out, err)
        return subprocess.CompletedProcess(argv, reply["code"], out, err)

    def _exec_lxc(self, machine_id: str, name: str, argv: List[str], env: Dict[str, str],
                  stdin: Optional[bytes], cwd: Optional[str],
                  timeout: Optional[float]) -> subprocess.CompletedProcess:
        cmd = exec_argv(name, argv, env, cwd, timeout)
        started = time.monotonic()
        try:
            proc = subprocess.run(cmd, input=stdin if stdin is not None else b"",
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=None if timeout is None else timeout + KILL_AFTER + 10)
        except subprocess.TimeoutExpired as exc:
            raise subprocess.TimeoutExpired(argv, timeout, exc.output, exc.stderr) from None
        if timeout is not None and proc.returncode in (124, 137) \
                and time.monotonic() - started >= timeout:
            raise subprocess.TimeoutExpired(argv, timeout, proc.stdout, proc.stderr)
        if proc.returncode != 0 and _lxc_error(proc.stderr) and not self._running(name):
            raise base.ProviderError('machine "{}" is not running: {}'.format(
                machine_id, proc.stderr.decode(errors="replace").strip()))
        return subprocess.CompletedProcess(argv, proc.returncode, proc.stdout, proc.stderr)

    # -- LXD helpers ----------------------------------------------------------

    def _lxc(self, args: List[str], check: bool = True,
             timeout: float = 300) -> subprocess.CompletedProcess:
        for attempt in range(FILE_RETRIES + 1):
            try:
                return lxd_setup.run(["lxc"] + args, check=check, timeout=timeout)
            except lxd_setup.SetupError as exc:
                if not _transient_file_error(args, str(exc)) or attempt == FILE_RETRIES:
                    raise base.ProviderError(str(exc)) from exc
                log.info("lxc %s: transient LXD error, retrying: %s", " ".join(args[:2]), exc)
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    def _query(self, path: str):
        proc = self._lxc(["query", path], check=False, timeout=60)
        if proc.returncode != 0:
            return None
        return json.loads(proc.stdout.decode() or "null")

    def _instance(self, name: str) -> Optional[dict]:
        return self._query("/1.0/instances/{}".format(name))

    def _running(self, name: str) -> bool:
        state = self._query("/1.0/instances/{}/state".format(name))
        return bool(state) and state.get("status") == "Running"

    def _name_checked(self, machine_id: str) -> str:
        name = instance_name(self.model, machine_id)
        if not self._running(name):
            raise base.ProviderError('machine "{}" is not running'.format(machine_id))
        return name

    def _delete(self, name: str, force: bool) -> None:
        argv = ["delete", name] + (["--force"] if force else [])
        proc = self._lxc(argv, check=False, timeout=300)
        if proc.returncode != 0 and self._instance(name) is not None:
            raise base.ProviderError("cannot delete {}: {}".format(
                name, proc.stderr.decode(errors="replace").strip()))

    def _instance_addresses(self) -> List[str]:
        data = self._query("/1.0/instances?recursion=1") or []
        return [i.get("config", {}).get("user.yard.address") for i in data
                if i.get("config", {}).get("user.yard.address")]
