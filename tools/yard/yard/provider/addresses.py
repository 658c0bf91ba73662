"""Static IPv4 addresses for machines on the yard bridge.

DHCP did not answer on the project's build machines, so yard hands out
addresses itself.  Each model keeps its allocations in a small JSON file;
one lock file per yard home serialises allocation across threads and
processes, and addresses held by other models or by any LXD instance that
carries ``user.yard.address`` are never handed out twice.
"""

import contextlib
import fcntl
import glob
import ipaddress
import json
import os
import socket
import threading
from typing import Callable, Dict, Iterable, Iterator, Optional

#: Static addresses come from host numbers FIRST_HOST..LAST_HOST of the subnet;
#: the bridge itself is host 1 and LXD's DHCP range sits above VIP_LAST_HOST.
FIRST_HOST = 10
LAST_HOST = 149
#: Host numbers never allocated to a machine: free for virtual IPs that HA charms
#: (IPaddr2, keepalived) add to a machine's interface.  Shown as ``vip-range``.
VIP_FIRST_HOST = 150
VIP_LAST_HOST = 199

_thread_lock = threading.Lock()


def vip_range(iface: ipaddress.IPv4Interface) -> str:
    """``first-last`` of the addresses kept out of allocation for VIPs."""
    base = iface.network.network_address
    return "{}-{}".format(base + VIP_FIRST_HOST, base + VIP_LAST_HOST)


class AddressesExhausted(Exception):
    """No free address is left in the subnet."""


def held(address: str, timeout: float = 1.0) -> bool:
    """True when some host holds ``address``: a TCP connect to its port 22 is answered
    (accepted or refused); a timeout or no route means nobody has it."""
    probe = socket.socket()
    probe.settimeout(timeout)
    try:
        return probe.connect_ex((address, 22)) in (0, 111)     # 111: ECONNREFUSED
    finally:
        probe.close()


def free_vip(vip_range: str, seed: str, is_held: Callable[[str], bool] = held) -> str:
    """An address of ``vip_range`` (``first-last``, as ``yard model-config vip-range``
    prints it) that nothing answers on now, for a test or benchmark to give an HA charm.

    Every model on the bridge shares the range and yard does not hand VIPs out, so
    ``seed`` (the model's name) picks where the search starts: models running at the
    same time try different addresses first.

    :raises AddressesExhausted: every address of the range is held
    """
    first, last = (ipaddress.ip_address(a.strip()) for a in vip_range.strip().split("-"))
    size = int(last) - int(first) + 1
    offset = int(seed.encode().hex() or "0", 16) % size
    for step in range(size):
        address = str(first + (offset + step) % size)
        if not is_held(address):
            return address
    raise AddressesExhausted("no free address in vip-range {}".format(vip_range.strip()))


def pick_free(iface: ipaddress.IPv4Interface, used: Iterable[str],
              first: int = FIRST_HOST, last: int = LAST_HOST) -> str:
    """The lowest host address in ``first..last`` of the subnet that is not in ``used``.

    :raises AddressesExhausted: when every candidate is taken.
    """
    taken = set(used) | {str(iface.ip)}
    network = iface.network
    for offset in range(first, last + 1):
        candidate = network.network_address + offset
        if candidate not in network or candidate == network.broadcast_address:
            break
        if str(candidate) not in taken:
            return str(candidate)
    raise AddressesExhausted("no free address left in {}".format(network))


class AddressBook:
    """The allocations of one model, persisted in ``<root>/<model>.json``."""

    def __init__(self, root: str, model: str, iface: ipaddress.IPv4Interface,
                 in_use: Optional[Callable[[], Iterable[str]]] = None):
        """:param in_use: returns addresses held outside yard's files (LXD instances)."""
        self.root = root
        self.model = model
        self.iface = iface
        self.in_use = in_use or (lambda: ())
        self.path = os.path.join(root, "{}.json".format(model))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        os.makedirs(self.root, exist_ok=True)
        with _thread_lock, open(os.path.join(self.root, ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self, path: str) -> Dict[str, str]:
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _write(self, data: Dict[str, str]) -> None:
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

    def allocations(self) -> Dict[str, str]:
        """machine id -> address for this model."""
        return self._read(self.path)

    def allocate(self, machine_id: str) -> str:
        """The machine's address: its existing one, or a new free one saved at once."""
        with self._locked():
            mine = self._read(self.path)
            if machine_id in mine:
                return mine[machine_id]
            used = set(self.in_use())
            for path in glob.glob(os.path.join(self.root, "*.json")):
                used.update(self._read(path).values())
            address = pick_free(self.iface, used)
            mine[machine_id] = address
            self._write(mine)
            return address

    def release(self, machine_id: str) -> None:
        """Forget the machine's address (no error if it had none).

        The model's file goes with its last address, so a destroyed model
        leaves nothing behind.
        """
        with self._locked():
            mine = self._read(self.path)
            if mine.pop(machine_id, None) is None:
                return
            if mine:
                self._write(mine)
            elif os.path.exists(self.path):
                os.remove(self.path)
