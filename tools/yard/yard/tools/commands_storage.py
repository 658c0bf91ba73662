"""Hook tools for storage and resources.

Texts and exit codes follow juju/juju ``worker/uniter/runner/jujuc``:
``storage-get.go`` (``no storage instance specified`` from Init, exit 2;
``invalid storage attribute "k"`` from Run, exit 1), ``storage-id.go``
(the ``-s`` value: ``invalid storage ID "x"``, and the context's
``storage not found`` for an id the unit does not have, both flag errors,
exit 2), ``storage-list.go`` and ``storage-add.go`` (``storage add requires
a storage directive``; ``only count can be specified for "x"``; parse errors
of ``storage.ParseConstraintsMap``; all Init errors, exit 2).
"""

from yard import storage as storagelib
from yard.context import ToolError

from . import formats
from .commands import Invocation, command
from .flags import Flag, UsageError, check_empty, format_flag, output_flag


def _convert_storage(ctx, value: str) -> str:
    if not storagelib.valid_id(value):
        raise ValueError("invalid storage ID %s" % formats.go_quote(value))
    ctx.storage_get(value)  # storageIdValue.Set asks the context: unknown ids fail here
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


@command("storage-add", "add storage instances", "<charm storage name>[=count] ...",
         doc="Storage add adds storage instances to unit using provided storage directives.\n"
             "A storage directive consists of a storage name as per charm specification\n"
             "and optional storage COUNT.\n\n"
             "COUNT is a positive integer indicating how many instances\n"
             "of the storage to create. If unspecified, COUNT defaults to 1.")
def storage_add(inv: Invocation) -> None:
    if not inv.args:
        raise UsageError("storage add requires a storage directive")
    try:
        directives = storagelib.parse_directives(inv.args, must_have=False)
    except storagelib.StorageError as e:
        raise UsageError(str(e)) from None
    counts = {}
    for name, d in directives.items():
        if d.pool or d.size:
            raise UsageError("only count can be specified for %s" % formats.go_quote(name))
        counts[name] = d.count
    inv.ctx.storage_add(counts)


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
