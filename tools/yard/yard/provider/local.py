"""A test double of :class:`~yard.provider.base.Provider` for the scheduler.

Not a substrate for real charms: each "machine" is a folder under a root
directory on the host, and :meth:`LocalProvider.exec` runs argv on the host
(as the calling user) with every ``/var/lib/juju``, ``/etc`` and ``/srv`` path
in argv, env and cwd rewritten to live under that machine's folder.  Good
enough for tiny bash test charms driving the resolver, the runner and the hook
tools end to end; model tests use the LXD provider.
"""

import os
import shutil
import signal
import subprocess
from typing import Dict, List, Optional

from yard.provider.base import MachineInfo, Provider, ProviderError

_PREFIXES = ("/var/lib/juju",)


class LocalProvider(Provider):
    """Machines as folders under ``root`` (default ``$YARD_HOME/<model>/machines``)."""

    def __init__(self, model: str, root: Optional[str] = None):
        self.model = model
        home = os.environ.get("YARD_HOME", os.path.abspath(".yard"))
        self.root = root or os.path.join(home, model, "machines")

    def _dir(self, machine_id: str) -> str:
        return os.path.join(self.root, str(machine_id))

    def rewrite(self, machine_id: str, text: str) -> str:
        """Rewrite machine paths in ``text`` to host paths under the machine folder."""
        base = self._dir(machine_id)
        for prefix in _PREFIXES:
            text = text.replace(prefix, base + prefix)
        return text

    def ensure_ready(self) -> None:
        os.makedirs(self.root, exist_ok=True)

    def host_address(self) -> str:
        return "127.0.0.1"

    def _info(self, machine_id: str) -> MachineInfo:
        n = int(machine_id) if str(machine_id).isdigit() else 0
        return MachineInfo(machine_id=str(machine_id),
                           instance=f"yard-{self.model}-{machine_id}",
                           address=f"10.250.{n // 250}.{n % 250 + 2}")

    def create_machine(self, machine_id: str) -> MachineInfo:
        os.makedirs(self._dir(machine_id), exist_ok=True)
        with open(os.path.join(self._dir(machine_id), ".alive"), "w"):
            pass
        return self._info(machine_id)

    def destroy_machine(self, machine_id: str) -> None:
        shutil.rmtree(self._dir(machine_id), ignore_errors=True)

    def kill_machine(self, machine_id: str) -> None:
        """Stop the machine: it stays (files and all) but runs nothing until destroyed."""
        try:
            os.unlink(os.path.join(self._dir(machine_id), ".alive"))
        except FileNotFoundError:
            pass

    def list_machines(self) -> List[MachineInfo]:
        if not os.path.isdir(self.root):
            return []
        return [self._info(m) for m in sorted(os.listdir(self.root))
                if os.path.exists(os.path.join(self._dir(m), ".alive"))]

    def _alive(self, machine_id: str) -> None:
        if not os.path.exists(os.path.join(self._dir(machine_id), ".alive")):
            raise ProviderError(f'machine "{machine_id}" not found')

    def push(self, machine_id: str, local_path: str, remote_path: str) -> None:
        self._alive(machine_id)
        dest = self.rewrite(machine_id, remote_path)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if os.path.isdir(local_path):
            shutil.copytree(local_path, dest, symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy2(local_path, dest)

    def _storage_dir(self, storage_id: str) -> str:
        return os.path.join(os.path.dirname(self.root), "storage", storage_id.replace("/", "-"))

    def attach_filesystem(self, machine_id: str, storage_id: str, size_mib: int,
                          location: str, read_only: bool = False) -> None:
        """A folder stands for the filesystem (no size); a symlink mounts it."""
        self._alive(machine_id)
        src = self._storage_dir(storage_id)
        os.makedirs(src, exist_ok=True)
        dest = self._dir(machine_id) + location
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if not os.path.islink(dest):
            os.symlink(src, dest)

    def detach_filesystem(self, machine_id: str, storage_id: str, location: str) -> None:
        dest = self._dir(machine_id) + location
        if os.path.islink(dest):
            os.unlink(dest)

    def destroy_filesystem(self, storage_id: str) -> None:
        shutil.rmtree(self._storage_dir(storage_id), ignore_errors=True)

    def exec(self, machine_id: str, argv: List[str], env: Optional[Dict[str, str]] = None,
             stdin: Optional[bytes] = None, cwd: Optional[str] = None,
             timeout: Optional[float] = None) -> subprocess.CompletedProcess:
        self._alive(machine_id)
        argv = [self.rewrite(machine_id, a) for a in argv]
        env = {k: self.rewrite(machine_id, v) for k, v in (env or {}).items()}
        env["YARD_MACHINE_ROOT"] = self._dir(machine_id)
        cwd = self.rewrite(machine_id, cwd) if cwd else self._dir(machine_id)
        try:
            proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True)
        except OSError as e:
            return subprocess.CompletedProcess(argv, 127, b"", str(e).encode())
        try:
            out, err = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        return subprocess.CompletedProcess(argv, proc.returncode, out, err)
