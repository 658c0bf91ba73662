"""The OpenAFS client: ``afs-cell``, ``afs-db-servers``, ``afs-cache-size``.

Debian's ``openafs-client`` reads ``/etc/openafs/ThisCell`` (the home cell),
``/etc/openafs/CellServDB`` (each cell's database servers: ``>cell`` then one
``address #name`` line per server) and ``/etc/openafs/cacheinfo``
(``/afs:<cache dir>:<size in 1K blocks>``).  The kernel module comes from
``openafs-modules-dkms``; inside a container it can neither be built for the
host's kernel nor loaded, and the charm says so in its status.
"""

import ipaddress
import re
import subprocess

from charms.layer.afs_mirror import paths, proxies

PACKAGES = ('openafs-client', 'openafs-modules-dkms')
# Smallest and largest sensible client caches.
MIN_CACHE = 10 * 1024 ** 2
_CELL = re.compile(r'^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$')


def parse_cell(value):
    """The cell name (``example.org``), or None when unset.

    :raises Invalid: not a lower-case domain-like name
    """
    cell = (value or '').strip()
    if not cell:
        return None
    if len(cell) > 64 or not _CELL.match(cell):
        raise proxies.Invalid('{!r} is not a cell name (a lower-case domain such as '
                              'example.org)'.format(value))
    return cell


def parse_db_servers(value):
    """The database servers' IPv4 addresses, in order.

    :raises Invalid: an item that is not an IPv4 address (OpenAFS has no IPv6)
    """
    servers = []
    for item in re.split(r'[\s,]+', (value or '').strip()):
        if not item:
            continue
        try:
            servers.append(str(ipaddress.IPv4Address(item)))
        except ValueError:
            raise proxies.Invalid('{!r} is not an IPv4 address'.format(item)) from None
    if len(set(servers)) != len(servers):
        raise proxies.Invalid('an address is listed twice')
    return servers


def parse_cache_size(value):
    """``afs-cache-size`` in 1K blocks (what cacheinfo holds).

    :raises Invalid: not a size of at least 10M
    """
    size = proxies.parse_size(value)
    if size < MIN_CACHE:
        raise proxies.Invalid('{!r} is less than 10M'.format(value))
    return size // 1024


def cell_blocks(text):
    """``{cell: [lines]}`` of a CellServDB text, in order."""
    blocks, cell = {}, None
    for line in (text or '').splitlines():
        if line.startswith('>'):
            cell = line[1:].split('#', 1)[0].strip()
            blocks[cell] = [line]
        elif cell is not None and line.strip():
            blocks[cell].append(line)
    return blocks


def cellservdb(shipped, cell, servers):
    """The CellServDB to write: ``cell`` with ``servers`` first, then the shipped cells.

    Without ``servers`` the shipped file is kept as it is.
    """
    if not servers:
        return shipped if shipped.endswith('\n') or not shipped else shipped + '\n'
    lines = ['>{}\t\t# set by the afs-mirror charm (afs-db-servers)'.format(cell)]
    lines += ['{}\t\t\t# {}'.format(s, s) for s in servers]
    for name, block in cell_blocks(shipped).items():
        if name != cell:
            lines += block
    return '\n'.join(lines) + '\n'


def module_loaded(modules_file=paths.PROC_MODULES):
    """Whether the ``openafs`` kernel module is loaded."""
    try:
        with open(modules_file) as f:
            return any(line.split(' ', 1)[0] == 'openafs' for line in f)
    except OSError:
        return False


def load_module():
    """``(ok, detail)`` of ``modprobe openafs`` (detail: its last line of output)."""
    try:
        proc = subprocess.run(['modprobe', 'openafs'], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    lines = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    return proc.returncode == 0, lines[-1] if lines else 'exit {}'.format(proc.returncode)
