"""Hook tools for storage and resources."""

import re

from yard.context import ToolError

from . import formats
from .commands import Invocation, command
from .flags import Flag, UsageError, check_empty, format_flag, output_flag

_STORAGE_RE = re.compile(r"^[a-z][a-z0-9-]*/[0-9]+$")


def _convert_storage(_ctx, value: str) -> str:
    if not _STORAGE_RE.match(value):
        raise ValueError("invalid storage ID %s" % formats.go_quote(value))
    return value


@command("storage-get", "print information for the storage instance with the specified ID",
         "[<key>]",
         flags=(format_flag(), output_flag(),
                Flag(("s",), "storage", "specify a storage instance by id",
                     convert=_convert_storage, shown_default="")),
         doc="When no <key> is supplied, all keys values are printed.")
def storage_get(inv: Invocation) -> None:
    key = inv.args[0] if inv.args else ""
    check_empty(inv.args[1:])
    values = dict(inv.ctx.storage_get(inv.opts["storage"]))
    if not key:
        inv.out(values)
        return
    if key not in values:
        raise ToolError("invalid storage attribute %s" % formats.go_quote(key))
    inv.out(values[key])


@command("storage-list", "list storage attached to the unit", "[<storage-name>]",
         flags=(format_flag(), output_flag()),
         doc="storage-list will list the names of all storage instances\n"
             "attached to the unit. These names can be passed to storage-get\n"
             'via the "-s" flag to query the storage attributes.\n\n'
             "A storage name may be specified, in which case only storage\n"
             "instances for that named storage will be returned.")
def storage_list(inv: Invocation) -> None:
    name = inv.args[0] if inv.args else None
    check_empty(inv.args[1:])
    inv.out(list(inv.ctx.storage_ids(name)))


@command("resource-get", "get the path to the locally cached resource file", "<resource name>",
         doc='"resource-get" is used while a hook is running to get the local path\n'
             "to the file for the identified resource. This file is an fs-local copy,\n"
             "unique to the unit for which the hook is running.")
def resource_get(inv: Invocation) -> None:
    if not inv.args:
        raise UsageError("missing required resource name")
    check_empty(inv.args[1:])
    # Juju prints the path without a trailing newline.
    inv.stdout += formats.encode(inv.ctx.resource_path(inv.args[0]))
