"""The LXD machine provider: one LXD container per model machine.

Instances are named ``yard-<model>-<machine id>`` and carry ``user.yard.model``,
``user.yard.machine-id`` and ``user.yard.address`` so that :meth:`list_machines`
finds them again after a restart.  Each machine gets a static address on the
yard bridge, written into it before its first boot (see ``image.NETWORK_UNIT``).
"""

import ipaddress
import json
import logging
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
from typing import Dict, List, Optional, Tuple

from yard.provider import addresses, base, image, lxd_setup

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


def nsenter_argv(pid: int, argv: List[str], env: Dict[str, str],
                 cwd: Optional[str] = None, timeout: Optional[float] = None) -> List[str]:
    """The ``nsenter`` command line running ``argv`` in the namespaces of init ``pid``.

    ``--root`` and the target's working directory first, then ``env -C``:
    nsenter's own ``--wd=DIR`` would resolve DIR on the host.
    """
    cmd = ["nsenter", "--target", str(pid), "--all", "--root", "--wd", "--",
           "env", "-i", "-C", cwd or DEFAULT_ENV["HOME"]]
    cmd += ["{}={}".format(k, v) for k, v in sorted(env.items())]
    if timeout is not None:
        cmd += ["timeout", "-k", str(KILL_AFTER), "{:g}".format(timeout)]
    return cmd + list(argv)


CGROUP_ROOT = "/sys/fs/cgroup"
# Moves the shell into the machine's cgroups (files in $YARD_CGROUPS), then
# becomes nsenter: the command lands where ``lxc exec`` would put it.
# Its failure reads like nsenter's own, so exec() checks whether the machine is gone.
JOIN_CGROUPS = ('for f in $YARD_CGROUPS; do { echo $$ > "$f"; } 2>/dev/null'
                ' || { echo "nsenter: cannot join $f" >&2; exit 125; }; done; exec "$@"')


def cgroup_procs_files(instance: str, root: str = CGROUP_ROOT) -> List[str]:
    """The ``cgroup.procs`` files ``lxc exec`` puts a command in, one per hierarchy.

    That is the instance's own cgroup, or its ``.lxc`` child where LXD made one
    (cgroup v2 forbids processes next to child groups that have controllers).
    """
    found = []
    base_name = "lxc.payload." + instance
    # Hybrid and v1 hosts have one folder per hierarchy; pure v2 has the group at the top.
    hierarchies = [""] + (sorted(os.listdir(root)) if os.path.isdir(root) else [])
    for hierarchy in hierarchies:
        group = os.path.join(root, hierarchy, base_name)
        if not os.path.isdir(group):
            continue
        if os.path.isdir(os.path.join(group, ".lxc")):
            group = os.path.join(group, ".lxc")
        found.append(os.path.join(group, "cgroup.procs"))
    return found


def proc_start_time(pid: int) -> Optional[str]:
    """Field 22 of /proc/PID/stat (start time): tells a reused PID from the original."""
    try:
        with open("/proc/{}/stat".format(pid)) as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after it.
    fields = stat[stat.rindex(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


def exec_mode() -> str:
    """``YARD_LXD_EXEC``: ``lxc`` (default, through LXD) or ``nsenter`` (experimental).

    ``lxc exec`` costs about 55 ms a command, more than yard's budget for a
    hook; ``nsenter`` about 11 ms, but with it a machine removed while a hook
    runs was seen to hang ``lxc delete --force`` (the entered process kept
    the container's namespaces), so it stays opt-in until that is fixed.
    """
    mode = os.environ.get("YARD_LXD_EXEC", "lxc")
    if mode not in ("lxc", "nsenter"):
        raise base.ProviderError("YARD_LXD_EXEC must be lxc or nsenter, not {!r}".format(mode))
    return mode


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


def _lxc_error(stderr: bytes) -> bool:
    lines = stderr.decode(errors="replace").strip().splitlines()
    return bool(lines) and lines[-1].startswith("Error: ")


class LXDProvider(base.Provider):
    """Machines of one model as LXD containers on the yard bridge."""

    def __init__(self, model: str, home: Optional[str] = None,
                 exec_via: Optional[str] = None):
        """:param home: the yard home (default ``$YARD_HOME`` or ``./.yard``).
        :param exec_via: ``lxc`` or ``nsenter`` (default ``$YARD_LXD_EXEC`` or ``lxc``).
        """
        self.model = model
        self.exec_via = exec_via or exec_mode()
        self._init_pids: Dict[str, tuple] = {}
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

    def destroy_machine(self, machine_id: str) -> None:
        """Shut the machine down cleanly, delete it and free its address."""
        name = instance_name(self.model, machine_id)
        if self._instance(name) is not None:
            self._lxc(["stop", name, "--timeout", "30"], check=False, timeout=90)
            self._delete(name, force=True)
        self.addresses.release(machine_id)

    def kill_machine(self, machine_id: str) -> None:
        """Delete the machine at once, without a shutdown, as a lost host would vanish."""
        self._delete(instance_name(self.model, machine_id), force=True)
        self.addresses.release(machine_id)

    def list_machines(self) -> List[base.MachineInfo]:
        """Machines of this model that exist now, in machine id order."""
        return parse_instances(self._query("/1.0/instances?recursion=1"), self.model)

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
        host_env = None
        if self.exec_via == "nsenter":
            pid, cgroups = self._init_pid(machine_id, name)
            cmd = nsenter_argv(pid, argv, env, cwd, timeout)
            if cgroups:
                cmd = ["sh", "-c", JOIN_CGROUPS, "sh"] + cmd
                host_env = {"PATH": os.environ.get("PATH", DEFAULT_ENV["PATH"]),
                            "YARD_CGROUPS": " ".join(cgroups)}
        else:
            cmd = exec_argv(name, argv, env, cwd, timeout)
        started = time.monotonic()
        try:
            proc = subprocess.run(cmd, input=stdin if stdin is not None else b"",
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=host_env,
                                  timeout=None if timeout is None else timeout + KILL_AFTER + 10)
        except subprocess.TimeoutExpired as exc:
            raise subprocess.TimeoutExpired(argv, timeout, exc.output, exc.stderr) from None
        if timeout is not None and proc.returncode in (124, 137) \
                and time.monotonic() - started >= timeout:
            raise subprocess.TimeoutExpired(argv, timeout, proc.stdout, proc.stderr)
        if proc.returncode != 0 and _lxc_error(proc.stderr) and not self._running(name):
            raise base.ProviderError('machine "{}" is not running: {}'.format(
                machine_id, proc.stderr.decode(errors="replace").strip()))
        # nsenter's own failures, or the machine killed under the command.
        if (proc.returncode < 0 or proc.stderr.startswith(b"nsenter: ")) \
                and self.exec_via == "nsenter" and not self._running(name):
            raise base.ProviderError('machine "{}" is not running: {}'.format(
                machine_id, proc.stderr.decode(errors="replace").strip()))
        return subprocess.CompletedProcess(argv, proc.returncode, proc.stdout, proc.stderr)

    def _init_pid(self, machine_id: str, name: str) -> Tuple[int, List[str]]:
        """Host PID of the machine's init and its cgroup files, cached while init lives."""
        cached = self._init_pids.get(name)
        if cached and proc_start_time(cached[0]) == cached[1]:
            return cached[0], cached[2]
        state = self._query("/1.0/instances/{}/state".format(name))
        if not state or state.get("status") != "Running" or not state.get("pid"):
            raise base.ProviderError('machine "{}" is not running'.format(machine_id))
        pid = int(state["pid"])
        cgroups = cgroup_procs_files(name)
        self._init_pids[name] = (pid, proc_start_time(pid), cgroups)
        return pid, cgroups

    # -- LXD helpers ----------------------------------------------------------

    def _lxc(self, args: List[str], check: bool = True,
             timeout: float = 300) -> subprocess.CompletedProcess:
        try:
            return lxd_setup.run(["lxc"] + args, check=check, timeout=timeout)
        except lxd_setup.SetupError as exc:
            raise base.ProviderError(str(exc)) from exc

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
