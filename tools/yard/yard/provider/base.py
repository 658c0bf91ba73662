"""The contract between the controller and whatever provides machines.

The controller never talks to LXD directly: it asks a :class:`Provider` for
machines, copies charms into them and runs hooks in them.  The LXD provider
(``yard.provider.lxd``) is the real one; tests of the scheduler may use a
provider that runs "machines" as folders on the host.
"""

import abc
import dataclasses
import subprocess
from typing import Dict, List, Optional, Tuple


class ProviderError(Exception):
    """A machine could not be made, reached or removed; the text says why."""


@dataclasses.dataclass(frozen=True)
class MachineInfo:
    """A running machine: its provider-side name and its IPv4 address."""

    machine_id: str
    instance: str
    address: str


class Provider(abc.ABC):
    """Makes machines, moves files into them and runs commands there."""

    @abc.abstractmethod
    def ensure_ready(self) -> None:
        """Set up the substrate if needed (idempotent, may take minutes the first time)."""

    @abc.abstractmethod
    def host_address(self) -> str:
        """The host's address as machines see it: the controller listens here."""

    def vip_range(self) -> str:
        """Addresses of the machines' network no machine gets, for VIPs ("" if none)."""
        return ""

    def machine_base(self) -> Tuple[str, str]:
        """(name, channel) of the machines' OS, for status."""
        return ("ubuntu", "22.04")

    @abc.abstractmethod
    def create_machine(self, machine_id: str) -> MachineInfo:
        """Start a new machine for model machine ``machine_id`` and wait until usable.

        Usable means: booted, has its address, ``python3`` runs, and it can
        reach :meth:`host_address`.
        """

    @abc.abstractmethod
    def destroy_machine(self, machine_id: str) -> None:
        """Stop and delete a machine; no error if it is already gone."""

    @abc.abstractmethod
    def kill_machine(self, machine_id: str) -> None:
        """Stop a machine abruptly, as a lost host would (fault injection).

        The instance stays (a stopped container) with its address until
        :meth:`destroy_machine`; nothing runs in it meanwhile.
        """

    @abc.abstractmethod
    def list_machines(self) -> List[MachineInfo]:
        """Machines of this model that exist now."""

    @abc.abstractmethod
    def push(self, machine_id: str, local_path: str, remote_path: str) -> None:
        """Copy a file or a whole folder into the machine (parents created, root owned)."""

    @abc.abstractmethod
    def exec(self, machine_id: str, argv: List[str], env: Optional[Dict[str, str]] = None,
             stdin: Optional[bytes] = None, cwd: Optional[str] = None,
             timeout: Optional[float] = None) -> subprocess.CompletedProcess:
        """Run ``argv`` as root in the machine with exactly ``env``; capture bytes output.

        Returns a CompletedProcess with ``returncode``, ``stdout`` and ``stderr``
        (bytes).  Raises :class:`ProviderError` if the machine cannot be reached.
        """

    # -- storage (filesystems) ------------------------------------------------------

    def attach_filesystem(self, machine_id: str, storage_id: str, size_mib: int,
                          location: str, read_only: bool = False) -> None:
        """Make (once) a filesystem of ``size_mib`` for ``storage_id`` and mount it at
        ``location`` in the machine.  Idempotent; the data survives detaching."""
        raise ProviderError("this provider has no storage")

    def detach_filesystem(self, machine_id: str, storage_id: str, location: str) -> None:
        """Unmount the filesystem from the machine (gone machines are fine); keep its data."""
        raise ProviderError("this provider has no storage")

    def destroy_filesystem(self, storage_id: str) -> None:
        """Delete the filesystem and its data (it is detached)."""
        raise ProviderError("this provider has no storage")
