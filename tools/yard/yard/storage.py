"""Juju's storage directives, sizes and mount points (pure functions, no I/O).

Sources (juju/juju): ``storage/constraints.go`` (``ParseConstraints``,
``ParseConstraintsMap``: ``POOL,COUNT,SIZE`` in any order), juju/utils
``ParseSize`` (suffixes M G T P E Z Y, powers of 1024, no suffix = MiB),
``state/storage.go`` (``validateStorageConstraintsAgainstCharm`` and the
defaults: size = ``minimum-size`` or 1 GiB, count = the charm's minimum) and
``state/filesystem.go`` (``FilesystemMountPoint``).  See README "Storage".
"""

import dataclasses
import math
import posixpath
import re
from typing import Dict, Iterable, Optional, Tuple

#: Juju's machine storage directory (``paths.StorageDir``).
STORAGE_DIR = "/var/lib/juju/storage"
#: The pool yard's filesystems come from when none is named: Juju's LXD
#: provider's default filesystem pool, which is what yard's loop-mounted
#: images passed into the container as a disk device resemble.
DEFAULT_POOL = "lxd"
#: Size when neither the directive nor the charm's ``minimum-size`` gives one.
DEFAULT_SIZE = 1024

_SUFFIXES = "MGTPEZY"
_POOL = re.compile(r"^[a-zA-Z]+[-?a-zA-Z0-9]*$")
_COUNT = re.compile(r"^-?[0-9]+$")
_SIZE = re.compile(r"^-?[0-9]+(?:\.[0-9]+)?[MGTPEZY](?:i?B)?$")


class StorageError(ValueError):
    """A directive or size Juju would refuse; the text is Juju's."""


@dataclasses.dataclass(frozen=True)
class Directive:
    """A parsed ``name=POOL,COUNT,SIZE``: "" / 0 where not given."""

    pool: str = ""
    size: int = 0
    count: int = 0


def parse_size(text: str) -> int:
    """juju/utils ``ParseSize``: MiB, rounded up."""
    i = next((k for k, c in enumerate(text) if c != "." and not c.isdigit()), len(text))
    mult = 1
    if 0 < i < len(text):
        suffix = text[i:]
        mult = 0
        for j, base in enumerate(_SUFFIXES):
            if suffix in (base, base + "B", base + "iB"):
                mult = 1024 ** j
        if not mult:
            raise StorageError(f'invalid multiplier suffix "{suffix}", expected one of '
                               f'{_SUFFIXES}')
        text = text[:i]
    try:
        val = float(text)
    except ValueError:
        val = -1.0
    if val < 0:
        raise StorageError(f'expected a non-negative number, got "{text}"')
    return int(math.ceil(val * mult))


def parse_directive(text: str) -> Directive:
    """``storage.ParseConstraints`` (Juju 3.x): pool, count and size in any order."""
    got = {"pool": "", "size": 0, "count": 0}
    for field in text.split(","):
        if field:
            _parse_field(field, got)
    if not any(got.values()):
        raise StorageError("storage constraints require at least one field to be specified")
    return Directive(pool=got["pool"], size=got["size"], count=got["count"] or 1)


def _parse_field(field: str, got: dict) -> None:
    if _POOL.match(field):
        if got["pool"]:
            raise StorageError(f'pool name is already set to "{got["pool"]}", new value '
                               f'"{field}" not valid')
        got["pool"] = field
    elif _COUNT.match(field):
        if field.startswith("-") or int(field) == 0:
            raise StorageError('cannot parse count: count must be greater than zero, '
                               f'got "{field}"')
        got["count"] = int(field)
    elif _SIZE.match(field):
        try:
            got["size"] = parse_size(field)
        except StorageError as e:
            raise StorageError(f"cannot parse size: {e}") from None
    else:
        raise StorageError(f'unrecognized storage constraint "{field}" not valid')


def parse_directives(args: Iterable[str], must_have: bool = True) -> Dict[str, Directive]:
    """``storage.ParseConstraintsMap``: ``name=constraints`` (or ``name`` = ``name=1``)."""
    out: Dict[str, Directive] = {}
    for kv in args:
        parts = kv.split("=")
        name = parts[0]
        if len(parts) > 2 or not name:
            raise StorageError(f'expected "name=constraints" or "name", got "{kv}"')
        if must_have and len(parts) == 1:
            raise StorageError('expected "name=constraints" where "constraints" must be '
                               f'specified, got "{kv}"')
        if name in out:
            raise StorageError(f'storage "{name}" specified more than once')
        try:
            out[name] = parse_directive(parts[1] if len(parts) > 1 else "1")
        except StorageError as e:
            raise StorageError(f'cannot parse constraints for storage "{name}": {e}') from None
    return out


def si_bytes(mib: int) -> str:
    """go-humanize ``Bytes(mib * MByte)`` as Juju's validation errors print sizes."""
    return _humanize(mib * 1000 ** 2, 1000, ["B", "kB", "MB", "GB", "TB", "PB", "EB"])


def iec_bytes(mib: int) -> str:
    """go-humanize ``IBytes(mib * MiByte)``: the Size column of ``juju storage``."""
    if mib <= 0:
        return ""
    return _humanize(mib * 1024 ** 2, 1024, ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"])


def _humanize(n: int, base: int, units) -> str:
    if n < 10:
        return f"{n} B"
    e = min(int(math.floor(math.log(n, base))), len(units) - 1)
    val = math.floor(n / base ** e * 10 + 0.5) / 10
    return (f"{val:.1f} {units[e]}" if val < 10 else f"{val:.0f} {units[e]}")


def resolve(charm, given: Dict[str, Directive]) -> Dict[str, Tuple[str, int, int]]:
    """The application's storage directives: the user's over Juju's defaults, checked.

    :returns: ``{name: (pool, size MiB, count)}`` for every store of the charm
        with a count above zero.
    :raises StorageError: with state/storage.go's texts.
    """
    out = {}
    for name in sorted(given):
        if name not in charm.storage:
            raise StorageError(f'charm "{charm.name}" has no store called "{name}"')
    for name, spec in sorted(charm.storage.items()):
        d = given.get(name)
        if d is None and spec.count_min == 0:
            continue
        count = d.count if d is not None else spec.count_min
        size = (d.size if d is not None else 0) or spec.minimum_size or DEFAULT_SIZE
        pool = (d.pool if d is not None else "") or DEFAULT_POOL
        check_deploy(charm, spec, count)
        if spec.minimum_size and size < spec.minimum_size:
            raise StorageError(f'charm "{charm.name}" store "{name}": minimum storage size is '
                               f'{si_bytes(spec.minimum_size)}, {si_bytes(size)} specified')
        out[name] = (pool, size, count)
    return out


def check_deploy(charm, spec, count: int) -> None:
    """``validateStorageConstraintsAgainstCharm`` / ``validateCharmStorageCount``."""
    where = f'charm "{charm.name}" store "{spec.name}"'
    if spec.shared:
        raise StorageError(f"{where}: shared storage support not implemented")
    if spec.type != "filesystem":
        raise StorageError(f'{where}: yard supports only filesystem storage, not "block"')
    if spec.count_min == 1 and spec.count_max == 1 and count != 1:
        raise StorageError(f"{where}: storage is singular, {count} specified")
    if count < spec.count_min:
        raise StorageError(f"{where}: {spec.count_min} instances required, {count} specified")
    if spec.count_max >= 0 and count > spec.count_max:
        raise StorageError(f"{where}: at most {spec.count_max} instances supported, "
                           f"{count} specified")


def check_change(spec, current: int, n: int) -> None:
    """``validateCharmStorageCountChange``: adding (n > 0) or detaching (n < 0) instances."""
    action = "attach" if n > 0 else "detach"
    count = current + n
    what = f"{action}ing {abs(n)} storage instance{'' if abs(n) == 1 else 's'} brings the " \
        f"total to {count}"
    if spec.count_min == 1 and spec.count_max == 1 and count != 1:
        raise StorageError(f"cannot {action}, storage is singular")
    if count < spec.count_min:
        raise StorageError(f"{what}, which is less than the minimum of {spec.count_min}")
    if spec.count_max >= 0 and count > spec.count_max:
        raise StorageError(f"{what}, exceeding the maximum of {spec.count_max}")


def mount_point(spec, storage_id: str) -> str:
    """``FilesystemMountPoint``: the location, or ``<location or storage dir>/<id>``."""
    if spec.location.startswith(STORAGE_DIR):
        raise StorageError(f'invalid location "{spec.location}": must not fall within '
                           f'"{STORAGE_DIR}"')
    if spec.location and spec.count_max == 1:
        return spec.location
    return posixpath.join(spec.location or STORAGE_DIR, storage_id)


def sort_key(storage_id: str) -> Tuple[str, int]:
    """Juju's slash-separated order: ``data/2`` before ``data/10``."""
    name, _, n = storage_id.partition("/")
    return (name, int(n) if n.isdigit() else -1)


def valid_id(storage_id: Optional[str]) -> bool:
    """``names.IsValidStorage``: ``<name>/<n>``."""
    return bool(storage_id) and re.match(
        r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*/[0-9]+$", storage_id) is not None
