"""Hook tools for Juju 3.x secrets: ``secret-add``, ``-get``, ``-set``, ``-remove``,
``-grant``, ``-revoke``, ``-ids`` and ``-info-get``.

Flags, usage and texts follow juju/juju 3.6 ``worker/uniter/runner/jujuc/secret-*.go``
(argument errors come from each command's ``Init``: exit 2) and
``core/secrets/createsecret.go`` for the content arguments.  The rules behind the
answers (ownership, tracking, access) live in :mod:`yard.secrets` and the
controller room ``yard.controller.secrets``.
"""

import re
from typing import Dict

import yaml

from yard import secrets
from yard.context import ToolError

from . import formats
from .commands import Invocation, command, relation_flag
from .flags import Flag, UsageError, check_empty, format_flag, output_flag

_UNIT_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]*[a-z][a-z0-9]*)*/[0-9]+$")
_APP_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]*[a-z][a-z0-9]*)*$")


def _usage(exc: secrets.SecretError) -> ToolError:
    return UsageError(exc.message) if exc.code == 2 else ToolError(exc.message, exc.code)


def _parse_id(text: str) -> str:
    try:
        return secrets.parse_uri(text)
    except secrets.SecretError as e:
        raise _usage(e) from None


def _upsert_flags():
    """``secretUpsertCommand.SetFlags`` (shared by secret-add and secret-set)."""
    return (Flag(("description",), "description", "the secret description", default="",
                 shown_default='""'),
            Flag(("expire",), "expire", "either a duration or time when the secret should "
                 "expire", default="", shown_default='""'),
            Flag(("file",), "file", "a YAML file containing secret key values", default="",
                 shown_default='""'),
            Flag(("label",), "label", "a label used to identify the secret in hooks",
                 default="", shown_default='""'),
            Flag(("owner",), "owner", "the owner of the secret, either the application or unit",
                 default="application", shown_default='"application"'),
            Flag(("rotate",), "rotate", "the secret rotation policy", default="",
                 shown_default='""'))


def _file_content(inv: Invocation, path: str) -> Dict[str, str]:
    """``ReadSecretData``: a JSON or YAML map of key values."""
    try:
        data = yaml.safe_load(inv.files.read(path)) or {}
    except yaml.YAMLError as e:
        raise ToolError(str(e)) from None
    if not isinstance(data, dict):
        raise ToolError("yaml: unmarshal errors: cannot unmarshal into map[string]string")
    return {str(k): "" if v is None else str(v) for k, v in data.items()}


def _upsert_init(inv: Invocation, args) -> dict:
    """``secretUpsertCommand.Init``: expiry, policy, owner, then the content."""
    opts = inv.opts
    try:
        expire = (secrets.parse_expire(opts["expire"], inv.ctx.secret_now())
                  if opts["expire"] else None)
        if opts["rotate"]:
            secrets.check_policy(opts["rotate"])
        if opts["owner"] not in ("application", "unit"):
            raise secrets.SecretError('secret owner "%s" not valid' % opts["owner"], 2)
        content = secrets.parse_content(args, inv.files.read)
        if opts["file"]:
            content.update(secrets.encode_content(_file_content(inv, opts["file"])))
    except secrets.SecretError as e:
        raise _usage(e) from None
    return dict(content=content, label=opts["label"], description=opts["description"],
                rotate=opts["rotate"], expire=expire)


@command("secret-add", "Add a new secret.", "[key[#base64|#file]=value...]",
         flags=_upsert_flags(),
         doc="Add a secret with a list of key values.\n\n"
             "If a key has the '#base64' suffix, the value is already in base64 format and no\n"
             "encoding will be performed, otherwise the value will be base64 encoded\n"
             "prior to being stored.\n\n"
             "If a key has the '#file' suffix, the value is read from the corresponding file.\n\n"
             "By default, a secret is owned by the application, meaning only the unit\n"
             "leader can manage it. Use \"--owner unit\" to create a secret owned by the\n"
             "specific unit which created it.")
def secret_add(inv: Invocation) -> None:
    if not inv.args and not inv.opts["file"]:
        raise UsageError("missing secret value or filename")
    args = _upsert_init(inv, inv.args)
    if not args["content"]:
        raise ToolError("empty secret value not valid")
    uri = inv.ctx.secret_add(owner=inv.opts["owner"], **args)
    inv.stdout += formats.encode(uri + "\n")


@command("secret-set", "Update an existing secret.", "<ID> [key[#base64]=value...]",
         flags=_upsert_flags(),
         doc="Update a secret with a list of key values, or set new metadata.\n"
             "If a value has the '#base64' suffix, it is already in base64 format and no\n"
             "encoding will be performed, otherwise the value will be base64 encoded\n"
             "prior to being stored.\n"
             "To just update selected metadata like rotate policy, do not specify any secret "
             "value.")
def secret_set(inv: Invocation) -> None:
    if not inv.args:
        raise UsageError("missing secret URI")
    secret_id = _parse_id(inv.args[0])
    inv.ctx.secret_set(secret_id, **_upsert_init(inv, inv.args[1:]))


@command("secret-get", "Get the content of a secret.", "<ID> [key[#base64]]",
         flags=(format_flag("yaml", ("json", "yaml")), output_flag(),
                Flag(("label",), "label", "a label used to identify the secret in hooks",
                     default="", shown_default='""'),
                Flag(("peek",), "peek", "get the latest revision just this time", boolean=True,
                     default=False),
                Flag(("refresh",), "refresh", "get the latest revision and also get this same "
                     "revision for subsequent calls", boolean=True, default=False)),
         doc="Get the content of a secret with a given secret ID.\n"
             "The first time the value is fetched, the latest revision is used.\n"
             "Subsequent calls will always return this same revision unless\n"
             "--peek or --refresh are used.\n"
             "Using --peek will fetch the latest revision just this time.\n"
             "Using --refresh will fetch the latest revision and continue to\n"
             "return the same revision next time unless --peek or --refresh is used.\n\n"
             "Either the ID or label can be used to identify the secret.")
def secret_get(inv: Invocation) -> None:
    args = list(inv.args)
    secret_id = _parse_id(args.pop(0)) if args else None
    if secret_id is None and not inv.opts["label"]:
        raise UsageError("require either a secret URI or label")
    if inv.opts["peek"] and inv.opts["refresh"]:
        raise UsageError("specify one of --peek or --refresh but not both")
    key = args.pop(0) if args else ""
    check_empty(args)
    content = inv.ctx.secret_get(secret_id, inv.opts["label"], inv.opts["peek"],
                                 inv.opts["refresh"])
    if not key:
        inv.out(secrets.decoded(content))
        return
    try:
        inv.out(secrets.key_value(content, key))
    except secrets.SecretError as e:
        raise _usage(e) from None


def _revision(_ctx, value: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", value):
        raise ValueError("strconv.ParseInt: parsing %s: invalid syntax" % formats.go_quote(value))
    return int(value)


@command("secret-remove", "Remove an existing secret.", "<ID>",
         flags=(Flag(("revision",), "revision", "remove the specified revision", default=0,
                     convert=_revision, shown_default="0"),),
         doc="Remove a secret with the specified URI.")
def secret_remove(inv: Invocation) -> None:
    if not inv.args:
        raise UsageError("missing secret URI")
    secret_id = _parse_id(inv.args[0])
    check_empty(inv.args[1:])
    revision = inv.opts["revision"]
    inv.ctx.secret_remove(secret_id, revision if revision > 0 else None)


@command("secret-grant", "Grant access to a secret.", "<ID>",
         flags=(relation_flag(),
                Flag(("unit",), "unit", "the unit to grant access", default="",
                     shown_default='""')),
         doc="Grant access to view the value of a specified secret.\n"
             "Access is granted in the context of a relation - unless revoked\n"
             "earlier, once the relation is removed, so too is the access grant.\n\n"
             "By default, all units of the related application are granted access.\n"
             "Optionally specify a unit name to limit access to just that unit.")
def secret_grant(inv: Invocation) -> None:
    if not inv.args:
        raise UsageError("missing secret URI")
    secret_id = _parse_id(inv.args[0])
    relation = inv.opts.get("relation") or inv.ctx.relation_id
    if not relation:
        raise UsageError("no relation id specified")
    app = inv.ctx.relation_remote_app(relation)
    unit = inv.opts["unit"]
    if unit:
        if not _UNIT_RE.match(unit):
            raise UsageError('unit "%s" not valid' % unit)
        if unit.split("/")[0] != app:
            raise UsageError('cannot specify unit "%s" in relation to application "%s"'
                             % (unit, app))
    check_empty(inv.args[1:])
    inv.ctx.secret_grant(secret_id, relation, unit)


@command("secret-revoke", "Revoke access to a secret.", "<ID>",
         flags=(relation_flag(),
                Flag(("app", "application"), "app", "the application to revoke access",
                     default="", shown_default='""'),
                Flag(("unit",), "unit", "the unit to revoke access", default="",
                     shown_default='""')),
         doc="Revoke access to view the value of a specified secret.\n"
             "Access may be revoked from an application (all units of\n"
             "that application lose access), or from a specified unit.\n"
             "If run in a relation hook, the related application's \n"
             "access is revoked, unless a uni is specified, in which\n"
             "case just that unit's access is revoked.'")
def secret_revoke(inv: Invocation) -> None:
    if not inv.args:
        raise UsageError("missing secret URI")
    secret_id = _parse_id(inv.args[0])
    app, unit = inv.opts["app"], inv.opts["unit"]
    if app and not _APP_RE.match(app):
        raise UsageError('application "%s" not valid' % app)
    if unit and not _UNIT_RE.match(unit):
        raise UsageError('unit "%s" not valid' % unit)
    if app and unit:
        raise UsageError("specify only one of application or unit")
    relation = inv.opts.get("relation")
    if relation:
        if app:
            raise UsageError("do not specify both relation and app")
        app = inv.ctx.relation_remote_app(relation)
    elif not app and not unit and inv.ctx.relation_id:
        relation = inv.ctx.relation_id  # in a relation hook: the related application
        app = inv.ctx.relation_remote_app(relation)
    if not app and not unit:
        raise UsageError("missing relation or application or unit")
    check_empty(inv.args[1:])
    inv.ctx.secret_revoke(secret_id, relation or "", app, unit)


@command("secret-ids", "Print secret IDs.", "",
         flags=(format_flag(), output_flag()),
         doc="Returns the secret ids for secrets owned by the application.")
def secret_ids(inv: Invocation) -> None:
    check_empty(inv.args)
    inv.out(list(inv.ctx.secret_ids()))


@command("secret-info-get", "Get a secret's metadata info.", "<ID>",
         flags=(format_flag("yaml", ("json", "yaml")), output_flag(),
                Flag(("label",), "label", "a label used to identify the secret", default="",
                     shown_default='""')),
         doc="Get the metadata of a secret with a given secret ID.\n"
             "Either the ID or label can be used to identify the secret.")
def secret_info_get(inv: Invocation) -> None:
    args = list(inv.args)
    secret_id = _parse_id(args.pop(0)) if args else None
    if secret_id is None and not inv.opts["label"]:
        raise UsageError("require either a secret URI or label")
    if secret_id is not None and inv.opts["label"]:
        raise UsageError("specify either a secret URI or label but not both")
    check_empty(args)
    inv.out(inv.ctx.secret_info(secret_id, inv.opts["label"]))
