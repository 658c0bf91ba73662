"""Filesystem storage for LXD machines: loop-mounted ext4 images on the host.

Juju's LXD provider makes a custom LXD volume and attaches it to the
container as a disk device.  yard does the same with a sparse image file
(``$YARD_HOME/<model>/storage/<name>-<n>.img``) formatted ext4 and
loop-mounted on the host (``.../<name>-<n>/``), so the filesystem has exactly
the requested size whatever the machines' storage pool is (a ``dir`` pool
has no quotas): a charm that fills it sees ENOSPC and ``df`` shows it full.

Machines are unprivileged: host root appears as ``nobody`` inside, so the
filesystem's root directory is given to the container's root as the host
sees it (``volatile.idmap.current``, the uid/gid mapped to 0), then the
mount is passed in with ``lxc config device add <c> <dev> disk source=...
path=<location>`` (tried here: root in the container writes, and
``df`` inside shows the loop device's size).
"""

import json
import os
import subprocess
from typing import List, Tuple


def paths(home: str, model: str, storage_id: str) -> Tuple[str, str]:
    """(image file, host mount point) of a storage instance."""
    base = os.path.join(home, model, "storage", storage_id.replace("/", "-"))
    return base + ".img", base


def device_name(storage_id: str) -> str:
    """The container's disk device for a storage instance: ``storage-data-0``."""
    return "storage-" + storage_id.replace("/", "-")


def _run(argv: List[str]) -> None:
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if proc.returncode != 0:
        raise OSError("{}: {}".format(" ".join(argv[:2]),
                                      proc.stderr.decode(errors="replace").strip()))


def mounted(path: str) -> bool:
    """Whether ``path`` is a mount point on the host."""
    return os.path.ismount(path)


def ensure_mounted(image: str, mount: str, size_mib: int) -> None:
    """Make the image (sparse, ext4) once and loop-mount it at ``mount``."""
    # only root on the host reads a unit's data (as with secrets)
    os.makedirs(os.path.dirname(mount), mode=0o700, exist_ok=True)
    os.makedirs(mount, exist_ok=True)
    if not os.path.exists(image):
        fd = os.open(image, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.truncate(size_mib * 1024 * 1024)
        try:
            _run(["mkfs.ext4", "-q", "-F", image])
        except OSError:
            os.unlink(image)
            raise
    if not mounted(mount):
        _run(["mount", "-o", "loop", image, mount])


def root_ids(instance: dict) -> Tuple[int, int]:
    """Host uid and gid of the container's root (0, 0 for a privileged container)."""
    raw = (instance.get("config") or {}).get("volatile.idmap.current") or "[]"
    uid = gid = 0
    for entry in json.loads(raw):
        if entry.get("Nsid") == 0:
            if entry.get("Isuid"):
                uid = entry["Hostid"]
            if entry.get("Isgid"):
                gid = entry["Hostid"]
    return uid, gid


def attach_argv(instance_name: str, storage_id: str, mount: str, location: str,
                read_only: bool) -> List[str]:
    """``lxc config device add`` for the disk device."""
    argv = ["config", "device", "add", instance_name, device_name(storage_id), "disk",
            "source=" + mount, "path=" + location]
    return argv + (["readonly=true"] if read_only else [])


def unmount(mount: str) -> None:
    """Lazily unmount (a deleted container may still hold it for a moment)."""
    if mounted(mount):
        _run(["umount", "-l", mount])


def destroy(image: str, mount: str) -> None:
    """Unmount and delete the image and its mount point."""
    unmount(mount)
    if os.path.exists(image):
        os.unlink(image)
    if os.path.isdir(mount) and not mounted(mount):
        os.rmdir(mount)
