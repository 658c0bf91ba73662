"""The machine image: an existing one if asked for, else Debian 12 built with debootstrap.

The built image has the host's apt sources and the host's extra CA
certificates (so HTTPS to the package registries verifies in machines as it
does on the host), a oneshot unit that sets the static address yard writes
into each machine before its first boot and an empty machine-id (each machine makes
its own).  It is built once and kept in LXD under :data:`ALIAS`.
"""

import glob
import hashlib
import logging
import os
import re
import shutil
import tempfile
import time
from typing import Dict, Iterable, List, Optional, Tuple

from yard.provider import lxd_setup

log = logging.getLogger(__name__)

SUITE = "bookworm"
#: ``sudo`` because Ubuntu's cloud images have it and charms (Juju's own test
#: charms among them) call it.
INCLUDE = (
    "systemd", "systemd-sysv", "dbus", "python3", "python3-venv", "python3-pip",
    "ca-certificates", "iproute2", "iputils-ping", "procps", "curl", "less",
    "netbase", "tar", "gzip", "sudo",
)
NETWORK_UNIT = "yard-network.service"
#: Read by NETWORK_UNIT; yard writes it into each machine before its first boot.
NETWORK_ENV = "/etc/yard/network.env"
NETWORK_UNIT_TEXT = """\
[Unit]
Description=yard static IPv4 address
DefaultDependencies=no
After=systemd-sysctl.service
Before=network-pre.target network.target network-online.target
Wants=network.target
ConditionPathExists={env}

[Service]
Type=oneshot
RemainAfterExit=yes
EnvironmentFile={env}
ExecStart=/sbin/ip link set dev ${{DEVICE}} up
ExecStart=/sbin/ip address replace ${{ADDRESS}} dev ${{DEVICE}}
ExecStart=/sbin/ip route replace default via ${{GATEWAY}} dev ${{DEVICE}}

[Install]
WantedBy=multi-user.target network-online.target
""".format(env=NETWORK_ENV)
#: The alias carries a digest of the recipe (suite, packages, network unit), so a
#: change to any of them makes hosts that have an older image build the new one;
#: machines already running keep theirs.
ALIAS = "yard/debian-12-" + hashlib.sha256(
    repr((SUITE, INCLUDE, NETWORK_UNIT_TEXT)).encode()).hexdigest()[:8]
PEM_RE = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
HOST_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
EXTRA_CA_DIR = "usr/local/share/ca-certificates"


def image_ref() -> str:
    """What ``lxc init`` launches: ``YARD_LXD_IMAGE`` (e.g. ``ubuntu:22.04``) or ours."""
    return os.environ.get("YARD_LXD_IMAGE", ALIAS)


def image_base(ref: str = "") -> Tuple[str, str]:
    """(name, channel) of the OS machines run, as ``juju status`` shows it.

    Ours is Debian 12; for others the release is read from the image
    reference (``ubuntu:22.04``, ``images:ubuntu/24.04``), Ubuntu if it says
    no more.
    """
    ref = ref or image_ref()
    if ref == ALIAS:
        return ("debian", "12")
    tail = ref.split(":", 1)[-1]
    match = re.match(r"(?:([a-z]+)/)?(\d+(?:\.\d+)?)", tail)
    if match:
        return (match.group(1) or "ubuntu", match.group(2))
    return ("ubuntu", "22.04")


def image_exists(alias: str = ALIAS) -> bool:
    """True if the local image store has ``alias``."""
    return lxd_setup.run(["lxc", "image", "info", alias], check=False,
                         timeout=60).returncode == 0


def parse_sources(text: str) -> List[Tuple[str, List[str], List[str]]]:
    """(uri, suites, components) of each enabled entry of a one-line or deb822 sources file."""
    entries = []
    if re.search(r"^\s*(Types|URIs)\s*:", text, re.M | re.I):
        for stanza in re.split(r"\n\s*\n", text):
            fields: Dict[str, str] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.strip()
            if "deb" not in fields.get("types", "").split():
                continue
            if fields.get("enabled", "yes").lower() == "no":
                continue
            for uri in fields.get("uris", "").split():
                entries.append((uri, fields.get("suites", "").split(),
                                fields.get("components", "").split()))
        return entries
    for line in text.splitlines():
        words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb":
            entries.append((words[1], [words[2]], words[3:]))
    return entries


def host_source_files(root: str = "/") -> List[str]:
    """The host's enabled apt source files (disabled ones have other suffixes)."""
    etc = os.path.join(root, "etc/apt")
    files = [os.path.join(etc, "sources.list")]
    files += sorted(glob.glob(os.path.join(etc, "sources.list.d", "*.list")))
    files += sorted(glob.glob(os.path.join(etc, "sources.list.d", "*.sources")))
    return [f for f in files if os.path.isfile(f)]


def pick_mirror(entries: Iterable[Tuple[str, List[str], List[str]]],
                suite: str = SUITE) -> Optional[str]:
    """The first source that serves ``suite`` itself with ``main`` (what debootstrap needs)."""
    for uri, suites, components in entries:
        if suite in suites and "main" in components:
            return uri
    return None


def host_mirror(suite: str = SUITE) -> str:
    """The host's Debian mirror for ``suite``.

    :raises lxd_setup.SetupError: if the host's sources have none.
    """
    entries = []
    for path in host_source_files():
        with open(path, errors="replace") as f:
            entries += parse_sources(f.read())
    mirror = pick_mirror(entries, suite)
    if not mirror:
        raise lxd_setup.SetupError(
            "no apt source for {} main on this host to build the image from".format(suite))
    return mirror


def split_pems(data: bytes) -> List[bytes]:
    """The PEM certificates in a bundle, normalised (stripped, one trailing newline)."""
    return [m.group(0).strip() + b"\n" for m in PEM_RE.finditer(data)]


def extra_certs(host_bundle: bytes, image_bundle: bytes) -> List[bytes]:
    """Certificates the host trusts that the image's own bundle lacks, in host order."""
    known = set(split_pems(image_bundle))
    extra = []
    for pem in split_pems(host_bundle):
        if pem not in known and pem not in extra:
            extra.append(pem)
    return extra


def metadata_yaml(created: int, arch: str = "x86_64") -> str:
    """LXD image metadata for the built rootfs."""
    return (
        "architecture: {arch}\n"
        "creation_date: {created}\n"
        "properties:\n"
        "  os: debian\n"
        "  release: {suite}\n"
        "  architecture: {arch}\n"
        "  description: yard Debian 12 ({suite}) built with debootstrap\n"
        "templates: {{}}\n"
    ).format(arch=arch, created=created, suite=SUITE)


def debootstrap_argv(rootfs: str, mirror: str) -> List[str]:
    """The debootstrap command line for the image's root file system."""
    return ["debootstrap", "--variant=minbase", "--include=" + ",".join(INCLUDE),
            SUITE, rootfs, mirror]


def _chroot(rootfs: str, *argv: str) -> None:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive",
           "LC_ALL": "C"}
    lxd_setup.run(["chroot", rootfs] + list(argv), env=env)


def _copy_apt_sources(rootfs: str) -> None:
    for path in glob.glob(os.path.join(rootfs, "etc/apt/sources.list.d/*")):
        os.remove(path)
    target_list = os.path.join(rootfs, "etc/apt/sources.list")
    if os.path.exists(target_list):
        os.remove(target_list)
    for path in host_source_files():
        rel = os.path.relpath(path, "/")
        shutil.copy2(path, os.path.join(rootfs, rel))
        with open(path, errors="replace") as f:
            keyrings = re.findall(r"(?:Signed-By:\s*|signed-by=)(/\S+?)(?:[\s\]]|$)", f.read())
        for keyring in keyrings:
            dest = os.path.join(rootfs, keyring.lstrip("/"))
            if os.path.isfile(keyring) and not os.path.exists(dest):
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                shutil.copy2(keyring, dest)


def _copy_ca_certs(rootfs: str) -> int:
    with open(HOST_BUNDLE, "rb") as f:
        host = f.read()
    with open(os.path.join(rootfs, HOST_BUNDLE.lstrip("/")), "rb") as f:
        image = f.read()
    extra = extra_certs(host, image)
    target = os.path.join(rootfs, EXTRA_CA_DIR)
    os.makedirs(target, exist_ok=True)
    for index, pem in enumerate(extra):
        with open(os.path.join(target, "yard-host-{:03d}.crt".format(index)), "wb") as f:
            f.write(pem)
    if extra:
        _chroot(rootfs, "update-ca-certificates")
    return len(extra)


def _configure_rootfs(rootfs: str) -> None:
    _copy_apt_sources(rootfs)
    count = _copy_ca_certs(rootfs)
    log.info("copied %d host CA certificates into the image", count)
    # networkd leaves eth0 "pending" in these containers (no udev to initialise
    # links), so a oneshot unit sets the static address yard writes per machine.
    unit = os.path.join(rootfs, "etc/systemd/system", NETWORK_UNIT)
    with open(unit, "w") as f:
        f.write(NETWORK_UNIT_TEXT)
    _chroot(rootfs, "systemctl", "enable", NETWORK_UNIT)
    # Units that only wait or fail inside a container.
    _chroot(rootfs, "systemctl", "mask", "systemd-networkd-wait-online.service",
            "systemd-timesyncd.service", "getty@tty1.service",
            "systemd-binfmt.service", "proc-sys-fs-binfmt_misc.automount")
    with open(os.path.join(rootfs, "etc/machine-id"), "w"):
        pass
    for leftover in ("etc/hostname", "var/lib/dbus/machine-id"):
        path = os.path.join(rootfs, leftover)
        if os.path.lexists(path):
            os.remove(path)
    _chroot(rootfs, "apt-get", "clean")


def build_image(workdir: str, alias: str = ALIAS) -> float:
    """Build the Debian image with debootstrap and import it as ``alias``.

    :returns: the seconds it took.
    """
    started = time.monotonic()
    os.makedirs(workdir, exist_ok=True)
    build = tempfile.mkdtemp(prefix="image-", dir=workdir)
    try:
        rootfs = os.path.join(build, "rootfs")
        mirror = host_mirror()
        log.info("building %s with debootstrap from %s", alias, mirror)
        lxd_setup.run(debootstrap_argv(rootfs, mirror), timeout=3600)
        _configure_rootfs(rootfs)
        with open(os.path.join(build, "metadata.yaml"), "w") as f:
            f.write(metadata_yaml(int(time.time())))
        tarball = os.path.join(workdir, "yard-debian-12.tar.gz")
        # gzip level 1: a third of the size at little CPU; LXD unpacks it per machine.
        lxd_setup.run(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*",
                       "-I", "gzip -1", "-C", build, "-cf", tarball,
                       "metadata.yaml", "rootfs"], timeout=1800)
        lxd_setup.run(["lxc", "image", "import", tarball, "--alias", alias], timeout=1800)
        os.remove(tarball)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return time.monotonic() - started


def ensure_image(workdir: str) -> Optional[float]:
    """Build our image unless ``YARD_LXD_IMAGE`` names another or ours exists.

    :returns: the build time in seconds, or None if nothing was built.
    """
    if "YARD_LXD_IMAGE" in os.environ or image_exists(ALIAS):
        return None
    return build_image(workdir)
