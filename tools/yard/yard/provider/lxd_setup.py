"""Host-side LXD set-up: packages, the daemon, a storage pool, a bridge, a profile.

Every step checks first and changes only what is missing, so
:func:`ensure_host` is cheap (a few ``lxc`` calls) once the host is ready.
On a host whose init is not systemd (the project's build machines), the LXD
daemon is started in the background by yard itself and logs to the yard home.
"""

import contextlib
import errno
import fcntl
import ipaddress
import logging
import os
import shutil
import subprocess
import time
from typing import Dict, Iterator, List, Optional, Sequence

log = logging.getLogger(__name__)

#: Debian packages LXD needs on a host that has none of it, and a C compiler
#: with the static C library for the native hook tool client
#: (``yard.tools.native``).  No recommends: apparmor and lxd-agent (VMs) are
#: not needed for containers.
PACKAGES = (
    "lxd", "lxd-client", "lxcfs", "iptables", "debootstrap", "dnsmasq-base",
    "uidmap", "squashfs-tools", "xz-utils", "rsync", "attr", "acl", "btrfs-progs",
    "gcc", "libc6-dev",
)

#: Storage pools by driver.  btrfs (on a sparse loop file LXD makes) unpacks
#: the image once and snapshots it per machine: ~0.5 s instead of ~15 s for
#: ``dir``, which unpacks the whole image for every machine.
STORAGE_POOLS = {"btrfs": "yard-btrfs", "dir": "yard"}
BTRFS_SIZE = "30GiB"
STORAGE_POOL = STORAGE_POOLS["dir"]
NETWORK = "yardbr0"
PROFILE = "yard"
#: The bridge's address and prefix; machines get static addresses inside it.
DEFAULT_SUBNET = "10.157.83.1/24"
#: LXD's dnsmasq hands out only the top of the range (nothing here relies on
#: DHCP, but a stray DHCP client must not take a statically assigned address).
DHCP_FIRST_HOST = 200
DHCP_LAST_HOST = 250

#: LXD is one per host: set-up by several yard controllers at once is serialised here.
SETUP_LOCK = "/run/lock/yard-lxd-setup.lock"

LXD_BINARIES = ("/usr/bin/lxd", "/usr/sbin/lxd", "/usr/lib/lxd/lxd")


class SetupError(Exception):
    """The host could not be prepared; the text says which step failed."""


def run(argv: Sequence[str], check: bool = True, timeout: Optional[float] = 600,
        input: Optional[bytes] = None, env: Optional[Dict[str, str]] = None
        ) -> subprocess.CompletedProcess:
    """Run a host command, capturing bytes output.

    :raises SetupError: if ``check`` and the command fails or cannot start.
    """
    try:
        proc = subprocess.run(list(argv), input=input, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SetupError("{}: {}".format(" ".join(argv), exc)) from exc
    if check and proc.returncode != 0:
        raise SetupError("{} failed ({}): {}".format(
            " ".join(argv), proc.returncode,
            proc.stderr.decode(errors="replace").strip()))
    return proc


def subnet() -> ipaddress.IPv4Interface:
    """The bridge's interface address (``YARD_LXD_SUBNET`` overrides the default)."""
    return ipaddress.IPv4Interface(os.environ.get("YARD_LXD_SUBNET", DEFAULT_SUBNET))


def network_config(iface: ipaddress.IPv4Interface) -> Dict[str, str]:
    """The LXD network keys of the yard bridge: fixed IPv4, NAT on, no IPv6."""
    hosts = list(iface.network.hosts())
    return {
        "ipv4.address": str(iface),
        "ipv4.nat": "true",
        "ipv4.dhcp.ranges": "{}-{}".format(hosts[DHCP_FIRST_HOST - 1],
                                           hosts[DHCP_LAST_HOST - 1]),
        "ipv6.address": "none",
    }


def missing_packages(packages: Sequence[str] = PACKAGES) -> List[str]:
    """Packages of ``packages`` that dpkg does not report as installed."""
    proc = run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\\n"]
               + list(packages), check=False)
    installed = set()
    for line in proc.stdout.decode().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1] == "installed":
            installed.add(parts[0])
    return [p for p in packages if p not in installed]


def ensure_packages(packages: Sequence[str] = PACKAGES) -> None:
    """apt-get install what is missing (nothing is run when all are there)."""
    missing = missing_packages(packages)
    if not missing:
        return
    log.info("installing %s", " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    argv = ["apt-get", "install", "-y", "-q", "--no-install-recommends"] + missing
    proc = run(argv, check=False, timeout=1800, env=env)
    if proc.returncode != 0:
        # The package lists may be stale or absent on a fresh machine.
        run(["apt-get", "update", "-q"], timeout=600, env=env)
        run(argv, timeout=1800, env=env)


def daemon_ready(timeout: int = 1) -> bool:
    """True if the LXD daemon answers on its socket."""
    return run(["lxd", "waitready", "--timeout", str(timeout)],
               check=False, timeout=timeout + 10).returncode == 0


def lxd_binary() -> str:
    """Path of the LXD daemon binary."""
    for path in LXD_BINARIES:
        if os.access(path, os.X_OK):
            return path
    found = shutil.which("lxd")
    if not found:
        raise SetupError("the lxd binary is not installed")
    return found


def ensure_daemon(log_path: str) -> None:
    """Start the LXD daemon (and lxcfs) in the background unless it already answers."""
    if shutil.which("lxd") and daemon_ready():
        return
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    _ensure_lxcfs(os.path.join(os.path.dirname(log_path), "lxcfs.log"))
    log.info("starting the LXD daemon, log in %s", log_path)
    with open(log_path, "ab") as out:
        # A new session so the daemon outlives yard's CLI and its terminal.
        subprocess.Popen([lxd_binary(), "--group", "lxd", "--logfile", log_path],
                         stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                         start_new_session=True, close_fds=True)
    if not daemon_ready(timeout=120):
        raise SetupError("the LXD daemon did not start; see {}".format(log_path))


def _mount_state(path: str) -> str:
    """``"mounted"``, ``"stale"`` (a FUSE mount whose daemon died) or ``"absent"``."""
    try:
        os.stat(path)
    except OSError as err:
        # ENOTCONN: the mount is still in the table but lxcfs is gone
        # (killed with the session that started it).
        return "stale" if err.errno == errno.ENOTCONN else "absent"
    return "mounted" if os.path.ismount(path) else "absent"


def _ensure_lxcfs(log_path: str, mount_point: str = "/var/lib/lxcfs") -> None:
    """Start lxcfs (per-container /proc views) if it is installed and not mounted.

    lxcfs is a nicety: when it cannot run, machines see the host's /proc
    values and yard carries on with a warning.
    """
    if not shutil.which("lxcfs"):
        return
    state = _mount_state(mount_point)
    if state == "mounted":
        return
    if state == "stale":
        log.info("unmounting the stale lxcfs mount at %s", mount_point)
        run(["umount", "-l", mount_point], check=False, timeout=60)
    try:
        os.makedirs(mount_point, exist_ok=True)
    except OSError as err:
        log.warning("lxcfs not started (%s); containers will see the host's /proc values", err)
        return
    with open(log_path, "ab") as out:
        subprocess.Popen(["lxcfs", mount_point], stdin=subprocess.DEVNULL, stdout=out,
                         stderr=out, start_new_session=True, close_fds=True)
    for _ in range(50):
        if _mount_state(mount_point) == "mounted":
            return
        time.sleep(0.1)
    log.warning("lxcfs did not mount; containers will see the host's /proc values")


def _exists(kind: str, name: str) -> bool:
    return run(["lxc", kind, "show", name], check=False, timeout=60).returncode == 0


def storage_driver(filesystems: Optional[str] = None) -> str:
    """``YARD_LXD_STORAGE``, else btrfs if the kernel and a loop device allow it, else dir."""
    wanted = os.environ.get("YARD_LXD_STORAGE")
    if wanted:
        if wanted not in STORAGE_POOLS:
            raise SetupError("YARD_LXD_STORAGE must be one of {}".format(
                ", ".join(sorted(STORAGE_POOLS))))
        return wanted
    if filesystems is None:
        try:
            with open("/proc/filesystems") as f:
                filesystems = f.read()
        except OSError:
            filesystems = ""
    btrfs = "btrfs" in filesystems.split()
    return "btrfs" if btrfs and os.path.exists("/dev/loop-control") else "dir"


def storage_pool() -> str:
    """The name of the pool machines' root disks go to."""
    return STORAGE_POOLS[storage_driver()]


def ensure_storage_pool(driver: Optional[str] = None) -> str:
    """The storage pool for ``driver`` (default :func:`storage_driver`); returns its name.

    A btrfs pool that cannot be made (no loop device after all) falls back to dir.
    """
    driver = driver or storage_driver()
    name = STORAGE_POOLS[driver]
    if _exists("storage", name):
        return name
    if driver == "btrfs":
        proc = run(["lxc", "storage", "create", name, "btrfs", "size=" + BTRFS_SIZE],
                   check=False)
        if proc.returncode == 0:
            return name
        log.warning("cannot make a btrfs pool, using dir: %s",
                    proc.stderr.decode(errors="replace").strip())
        return ensure_storage_pool("dir")
    run(["lxc", "storage", "create", name, "dir"])
    return name


def ensure_network(name: str = NETWORK,
                   iface: Optional[ipaddress.IPv4Interface] = None) -> None:
    """The yard bridge with its fixed subnet; keys that drifted are set again."""
    iface = iface or subnet()
    wanted = network_config(iface)
    if not _exists("network", name):
        run(["lxc", "network", "create", name]
            + ["{}={}".format(k, v) for k, v in sorted(wanted.items())])
        return
    for key, value in sorted(wanted.items()):
        current = run(["lxc", "network", "get", name, key]).stdout.decode().strip()
        if current != value:
            run(["lxc", "network", "set", name, key, value])


def ensure_profile(name: str = PROFILE, pool: str = STORAGE_POOL,
                   network: str = NETWORK) -> None:
    """A profile with only a root disk on the yard pool and a NIC on the yard bridge."""
    if not _exists("profile", name):
        run(["lxc", "profile", "create", name])
    devices = run(["lxc", "profile", "device", "list", name]).stdout.decode().split()
    if "root" not in devices:
        run(["lxc", "profile", "device", "add", name, "root", "disk",
             "path=/", "pool={}".format(pool)])
    if "eth0" not in devices:
        run(["lxc", "profile", "device", "add", name, "eth0", "nic",
             "network={}".format(network), "name=eth0"])


#: Kernel settings machines need, as (file under /proc/sys, least value).
#: Each container's systemd takes inotify instances; at Debian's default of 128
#: the host ran out with about 17 machines ("Failed to create control group
#: inotify object: Too many open files"). 1024 is what LXD's snap sets when its
#: daemon starts (canonical/lxd-pkg-snap, daemon.start); Debian's package does
#: not, and LXD's production set-up page suggests far more (1048576).
KERNEL_MINIMUMS = (
    ("net/ipv4/ip_forward", 1),  # NAT from the bridge needs it (LXD sets it too)
    ("fs/inotify/max_user_instances", 1024),
)


def ensure_kernel_settings(minimums=KERNEL_MINIMUMS, root: str = "/proc/sys") -> None:
    """Raise each kernel setting in ``minimums`` that is below its least value."""
    for name, least in minimums:
        path = os.path.join(root, name)
        try:
            with open(path) as f:
                if int(f.read().split()[0]) >= least:
                    continue
            with open(path, "w") as f:
                f.write("{}\n".format(least))
        except (OSError, ValueError, IndexError) as exc:
            log.warning("cannot set %s to %s: %s", name, least, exc)


@contextlib.contextmanager
def host_lock(path: str = SETUP_LOCK) -> Iterator[None]:
    """Hold the host-wide set-up lock (falls back to /tmp without /run/lock)."""
    if not os.path.isdir(os.path.dirname(path)):
        path = os.path.join("/tmp", os.path.basename(path))
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_host(home: str) -> str:
    """Everything on the host side, in order; idempotent.

    :returns: the storage pool for machines' root disks.
    """
    ensure_packages()
    ensure_daemon(os.path.join(home, "lxd", "lxd.log"))
    # The profile's root disk is only a default: machines name their pool.
    ensure_storage_pool("dir")
    pool = ensure_storage_pool()
    ensure_network()
    ensure_kernel_settings()
    ensure_profile()
    return pool
