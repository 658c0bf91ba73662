"""CLI verbs for charm resources: ``attach-resource`` and ``resources``.

``deploy --resource name=path`` is parsed here too (:func:`resource_args`).
"""

import os
import sys
from typing import Dict, List

from yard.cli import CLIError, Client, _add_wait, _maybe_wait
from yard.cli_format import print_data, table


def resource_args(items: List[str], what: str = "--resource") -> Dict[str, str]:
    """``name=path`` pairs with absolute paths (the controller runs elsewhere).

    Text of cmd/juju/resource/upload.go ``parseResourceValueArg``: ``expected
    name=path format``.
    """
    out = {}
    for item in items or []:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise CLIError(f'invalid {what} "{item}": expected name=path format')
        out[name] = os.path.abspath(os.path.expanduser(path))
    return out


def cmd_attach_resource(c: Client, a) -> int:
    c.call("attach-resource", app=a.app, resources=resource_args(a.resources, "resource"))
    return _maybe_wait(c, a)


def cmd_resources(c: Client, a) -> int:
    """cmd/juju/resource/list.go: an application's table, or a unit's (Resource, Revision)."""
    data = c.call("resources", app=a.app)
    res, unit = data["resources"], data.get("unit")
    if a.format in ("yaml", "json"):
        shown = [{k: v for k, v in r.items() if not k.startswith("_")} for r in res]
        print_data(shown if unit else ({"resources": shown} if shown else {}), a.format)
        return 0
    if not res:
        print("No resources to display.", file=sys.stderr)
        return 0
    if unit:
        rows = [["Resource", "Revision"]] + [[r["name"], r["_revision"]] for r in res]
    else:
        rows = [["Resource", "Supplied by", "Revision"]]
        rows += [[r["name"], r["_supplied_by"], r["_revision"]] for r in res]
    sys.stdout.write(table(rows))
    return 0


def register(add) -> None:
    """Add this area's verbs to the parser (see ``cli.build_parser``)."""
    sp = add("attach-resource", cmd_attach_resource,
             "upload a file as a resource for an application")
    sp.add_argument("app")
    sp.add_argument("resources", nargs="+", metavar="name=path")
    _add_wait(sp)

    sp = add("resources", cmd_resources, "show the resources of an application or unit",
             aliases=("list-resources",))
    sp.add_argument("app")
    sp.add_argument("--format", choices=["tabular", "yaml", "json"], default="tabular")
