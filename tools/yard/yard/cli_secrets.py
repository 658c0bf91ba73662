"""CLI verbs for secrets: ``add-secret``, ``update-secret``, ``remove-secret``,
``grant-secret``, ``revoke-secret``, ``secrets``, ``show-secret`` and the test
clock ``advance-clock``.

Content arguments are parsed here, on the client, as juju's CLI does
(``key=value``, ``key#base64=...``, ``key#file=path`` read from the local disk,
``--file`` a YAML/JSON map); only base64 content travels to the controller.
"""

import sys

import yaml

from yard import secrets
from yard.cli_format import print_data, table


def _content(values, path=None) -> dict:
    from yard.cli import CLIError

    def read(p):
        with open(p, "rb") as f:
            return f.read()
    try:
        content = secrets.parse_content(values or [], read)
        if path:
            with open(path) as f:
                data = yaml.safe_load(f) or {}
            content.update(secrets.encode_content({str(k): str(v) for k, v in data.items()}))
    except (secrets.SecretError, OSError) as e:
        raise CLIError(getattr(e, "message", str(e))) from None
    return content


def cmd_add_secret(c, a) -> int:
    res = c.call("add-secret", name=a.name, content=_content(a.values, a.file), info=a.info)
    print(res["uri"])
    return 0


def cmd_update_secret(c, a) -> int:
    c.call("update-secret", name=a.name, content=_content(a.values, a.file), info=a.info,
           new_name=a.new_name)
    return 0


def cmd_remove_secret(c, a) -> int:
    c.call("remove-secret", name=a.name, revision=a.revision)
    return 0


def cmd_grant_secret(c, a) -> int:
    c.call("grant-secret", name=a.name, apps=a.apps.split(","))
    return 0


def cmd_revoke_secret(c, a) -> int:
    c.call("revoke-secret", name=a.name, apps=a.apps.split(","))
    return 0


def cmd_secrets(c, a) -> int:
    rows = c.call("secrets")
    if a.format in ("json", "yaml"):
        print_data({r["id"]: {k: v for k, v in r.items() if k != "id"} for r in rows}, a.format)
        return 0
    lines = [["ID", "Name", "Owner", "Rotation", "Revision", "Last updated"]]
    for r in rows:
        lines.append([r["id"], r["name"] or "-", r["owner"], r["rotation"], str(r["revision"]),
                      r["updated"]])
    sys.stdout.write(table(lines))
    return 0


def cmd_show_secret(c, a) -> int:
    data = c.call("show-secret", name=a.name, reveal=a.reveal, revisions=a.revisions)
    print_data(data, a.format)
    return 0


def cmd_advance_clock(c, a) -> int:
    c.call("advance-clock", duration=a.duration)
    return 0


def register(add) -> None:
    """Add the verbs to ``yard``'s parser (see ``cli.build_parser``)."""
    sp = add("add-secret", cmd_add_secret, "add a user secret; prints its URI")
    sp.add_argument("name")
    sp.add_argument("values", nargs="*", metavar="key[#base64|#file]=value")
    sp.add_argument("--info", default="", help="the secret description")
    sp.add_argument("--file", default=None, help="a YAML file containing secret key values")

    sp = add("update-secret", cmd_update_secret, "update a user secret (new content: a new "
             "revision)")
    sp.add_argument("name")
    sp.add_argument("values", nargs="*", metavar="key[#base64|#file]=value")
    sp.add_argument("--info", default=None)
    sp.add_argument("--name", dest="new_name", default=None)
    sp.add_argument("--file", default=None)

    sp = add("remove-secret", cmd_remove_secret, "remove a user secret or one revision")
    sp.add_argument("name")
    sp.add_argument("--revision", type=int, default=None)

    for verb, fn, text in (("grant-secret", cmd_grant_secret, "let applications read a "
                            "user secret"),
                           ("revoke-secret", cmd_revoke_secret, "take that access back")):
        sp = add(verb, fn, text)
        sp.add_argument("name")
        sp.add_argument("apps", metavar="APP[,APP]")

    sp = add("secrets", cmd_secrets, "list the model's secrets (never their content)")
    sp.add_argument("--format", choices=["tabular", "yaml", "json"], default="tabular")

    sp = add("show-secret", cmd_show_secret, "show a secret's metadata (--reveal: content)")
    sp.add_argument("name", metavar="NAME|ID")
    sp.add_argument("--reveal", action="store_true")
    sp.add_argument("--revisions", action="store_true")
    sp.add_argument("--format", choices=["yaml", "json"], default="yaml")

    sp = add("advance-clock", cmd_advance_clock, "move the model's clock for secret "
             "rotation and expiry forward (a test aid)")
    sp.add_argument("duration", help="e.g. 1h, 90m")
