"""The storage verbs: ``storage``, ``add-storage``, ``detach-storage``, ``remove-storage``,
and the storage flags of ``deploy``, ``add-unit``, ``remove-unit`` and ``remove-application``.
"""

import sys

from yard import storage as storagelib
from yard.cli_format import print_data, table


def format_storage(data: dict) -> str:
    """``juju storage``'s table (cmd/juju/storage ``formatStorageInstancesListTabular``):
    rows by unit (detached last), then storage id numerically; IEC sizes."""
    fs = {f["storage"]: f for f in (data.get("filesystems") or {}).values()}
    rows = []
    for sid, info in (data.get("storage") or {}).items():
        units = sorted((info.get("attachments") or {}).get("units") or {}) or [""]
        for unit in units:
            f = fs.get(sid, {})
            status = info["status"]
            rows.append([unit, sid, info["kind"], f.get("pool", ""),
                         storagelib.iec_bytes(f.get("size", 0)), status["current"],
                         status.get("message", "")])
    if not rows:
        return ""
    rows.sort(key=lambda r: (r[0] == "", r[0], storagelib.sort_key(r[1])))
    return table([["Unit", "Storage ID", "Type", "Pool", "Size", "Status", "Message"]] + rows)


def cmd_storage(c, a) -> int:
    data = c.call("storage")
    if a.format in ("json", "yaml"):
        print_data({k: v for k, v in data.items() if v}, a.format)
        return 0
    text = format_storage(data)
    if not text:
        print("No storage to display.", file=sys.stderr)
    sys.stdout.write(text)
    return 0


def cmd_add_storage(c, a) -> int:
    print(c.call("add-storage", unit=a.unit, directive=a.directive)["message"], file=sys.stderr)
    return 0


def cmd_detach_storage(c, a) -> int:
    print(c.call("detach-storage", ids=a.ids)["message"], file=sys.stderr)
    return 0


def cmd_remove_storage(c, a) -> int:
    print(c.call("remove-storage", ids=a.ids, force=a.force)["message"], file=sys.stderr)
    return 0


def cmd_attach_storage(c, a) -> int:
    c.call("attach-storage", unit=a.unit, ids=a.ids)
    return 0


def register(add) -> None:
    """Add the storage verbs to the parser (see ``cli.build_parser``)."""
    sp = add("storage", cmd_storage, "list storage instances (like juju storage)")
    sp.add_argument("--format", choices=["tabular", "json", "yaml"], default="tabular")
    sp = add("add-storage", cmd_add_storage, "add storage instances to a unit")
    sp.add_argument("unit")
    sp.add_argument("directive", help="name[=pool,size,count]")
    sp = add("attach-storage", cmd_attach_storage, "attach detached storage to a unit")
    sp.add_argument("unit")
    sp.add_argument("ids", nargs="+")
    sp = add("detach-storage", cmd_detach_storage, "detach storage from its unit")
    sp.add_argument("ids", nargs="+")
    sp = add("remove-storage", cmd_remove_storage, "remove storage from the model")
    sp.add_argument("ids", nargs="+")
    sp.add_argument("--force", action="store_true", help="detach attached storage first")


def extend(parsers: dict) -> None:
    """Juju's storage flags on verbs defined in ``cli``."""
    parsers["deploy"].add_argument("--storage", action="append", default=[],
                                   help="name=[pool,][size,][count] (Juju's directive)")
    parsers["add-unit"].add_argument("--attach-storage", action="append", default=[],
                                     help="detached storage to attach (with -n 1)")
    for verb in ("remove-unit", "remove-application"):
        parsers[verb].add_argument("--destroy-storage", action="store_true",
                                   help="remove the storage instead of detaching it")
