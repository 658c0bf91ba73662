"""The hook tools: one small function each, with Juju 3.6's flags, output and errors.

Each tool gets an :class:`Invocation` (the hook context, parsed flags,
positional args, where output goes) and either returns normally (exit 0),
raises :class:`~yard.tools.flags.UsageError` for argument errors (exit 2), or
lets a :class:`~yard.context.ToolError` from the context through (its code,
normally 1).  Argument checks come before any context call that changes
something, as juju/cmd runs ``Init`` before ``Run``.
"""

import dataclasses
import re
from typing import Callable, Dict, List, Tuple

from yard.context import HookContext, Port, Status, ToolError

from . import formats
from .flags import (Flag, UsageError, check_empty, deprecated_format_flag, format_flag,
                    output_flag, parse_key_values)


@dataclasses.dataclass
class Invocation:
    """One run of one tool."""

    ctx: HookContext
    tool: str
    opts: Dict[str, object]
    args: List[str]
    files: object  # has read(path) -> bytes ("-" is stdin) and write(path, data)
    stdout: bytearray = dataclasses.field(default_factory=bytearray)
    stderr: bytearray = dataclasses.field(default_factory=bytearray)

    def out(self, value) -> None:
        """Write ``value`` in the chosen ``--format``, to ``-o`` if given."""
        data = formats.FORMATTERS[self.opts.get("format") or "smart"](value)
        path = self.opts.get("output")
        if path:
            self.files.write(path, data)
        else:
            self.stdout += data

    def warn_deprecated_format(self) -> None:
        """Juju prints this warning (without a newline) for the legacy ``--format``."""
        if self.opts.get("deprecated_format"):
            self.stderr += formats.encode('--format flag deprecated for command "%s"'
                                          % self.tool)


@dataclasses.dataclass(frozen=True)
class Command:
    """A tool: its function and what ``--help`` says about it."""

    name: str
    run: Callable[[Invocation], None]
    flags: Tuple[Flag, ...] = ()
    args: str = ""
    purpose: str = ""
    doc: str = ""
    parse_flags: bool = True


COMMANDS: Dict[str, Command] = {}


def command(name: str, purpose: str, args: str = "", flags=(), doc: str = "",
            parse_flags: bool = True):
    """Register the decorated function as the tool ``name``."""
    def register(fn):
        COMMANDS[name] = Command(name, fn, tuple(flags), args, purpose, doc, parse_flags)
        return fn
    return register


# --- shared argument helpers -------------------------------------------------

_APP_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]*[a-z][a-z0-9]*)*$")
_UNIT_RE = re.compile(r"^([a-z][a-z0-9]*(?:-[a-z0-9]*[a-z][a-z0-9]*)*)/[0-9]+$")


def _relation_number(value: str) -> int:
    text = value.rsplit(":", 1)[-1]
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ValueError("invalid relation id")
    return int(text)


def _convert_relation(ctx: HookContext, value: str) -> str:
    """Juju's relation id flag: only the number after the last ``:`` counts."""
    number = _relation_number(value)
    hook_relation = ctx.relation_id
    if hook_relation and _relation_number(hook_relation) == number:
        return hook_relation
    try:
        endpoint = ctx.relation_endpoint(value)
    except ToolError:
        if value == str(number):
            raise
        endpoint = ctx.relation_endpoint(str(number))
    return "%s:%d" % (endpoint, number)


def relation_flag() -> Flag:
    """``-r/--relation``, defaulting to the hook's relation."""
    return Flag(("r", "relation"), "relation", "Specify a relation by id",
                convert=_convert_relation, shown_default="")


def _relation_or_fail(inv: Invocation) -> str:
    relation = inv.opts.get("relation") or inv.ctx.relation_id
    if not relation:
        raise UsageError("no relation id specified")
    return relation


def _settings_from_file(inv: Invocation, path: str) -> Dict[str, str]:
    if not path:
        return {}
    try:
        return formats.parse_settings_yaml(inv.files.read(path))
    except ValueError as exc:
        raise ToolError(str(exc)) from None


# --- config ---------------------------------------------------------------------

@command("config-get", "print application configuration", "[<key>]",
         flags=(format_flag(), output_flag(),
                Flag(("a", "all"), "all", "print all keys", boolean=True, default=False)),
         doc="When no <key> is supplied, all keys with values or defaults are printed. If\n"
             "--all is set, all known keys are printed; those without defaults or values are\n"
             "reported as null. <key> and --all are mutually exclusive.")
def config_get(inv: Invocation) -> None:
    key = inv.args[0] if inv.args else ""
    if key and inv.opts["all"]:
        raise UsageError("cannot use argument --all together with key %s" % formats.go_quote(key))
    check_empty(inv.args[1:])
    settings = dict(inv.ctx.config())
    if key:
        inv.out(settings.get(key))
        return
    if not inv.opts["all"]:
        settings = {k: v for k, v in settings.items() if v is not None}
    inv.out(settings)


# --- relations ------------------------------------------------------------------

def _relation_get_target(inv: Invocation, args: List[str], app: bool) -> Tuple[str, bool]:
    """Juju's ``determineUnitOrAppName``: who to read, and whether it is an app bag."""
    ctx = inv.ctx
    if args:
        supplied = args.pop(0)
        if app:
            match = _UNIT_RE.match(supplied)
            if match and not _APP_RE.match(supplied):
                return match.group(1), True
        return supplied, app
    if app:
        if not ctx.remote_app:
            raise UsageError("no unit or application specified")
        return ctx.remote_app, True
    if ctx.remote_unit:
        return ctx.remote_unit, False
    if ctx.remote_app:
        return ctx.remote_app, True
    raise UsageError("no unit or application specified")


@command("relation-get", "get relation settings", "<key> <unit id>",
         flags=(format_flag(), output_flag(), relation_flag(),
                Flag(("app",), "app",
                     "Get the relation data for the overall application, not just a unit",
                     boolean=True, default=False)),
         doc='relation-get prints the value of a unit\'s relation setting, specified by key.\n'
             'If no key is given, or if the key is "-", all keys and values will be printed.\n'
             '\n'
             'A unit can see its own settings by calling "relation-get - MYUNIT", this will\n'
             'include any changes that have been made with "relation-set".\n'
             '\n'
             'When reading remote relation data, a charm can call relation-get --app - to get\n'
             'the data for the application data bag that is set by the remote applications\n'
             'leader.')
def relation_get(inv: Invocation) -> None:
    relation = _relation_or_fail(inv)
    args = list(inv.args)
    key = args.pop(0) if args else ""
    if key == "-":
        key = ""
    owner, app = _relation_get_target(inv, args, bool(inv.opts["app"]))
    check_empty(args)
    settings = inv.ctx.relation_get(relation, owner, app)
    inv.out(dict(settings) if not key else settings.get(key))


@command("relation-set", "set relation settings", "key=value [key=value ...]",
         flags=(relation_flag(), Flag(("file",), "file", "file containing key-value pairs",
                                      default="", shown_default=""),
                deprecated_format_flag(),
                Flag(("app",), "app",
                     'pick whether you are setting "application" settings or "unit" settings',
                     boolean=True, default=False)),
         doc='"relation-set" writes the local unit\'s settings for some relation.\n'
             'If no relation is specified then the current relation is used. The\n'
             'setting values are not inspected and are stored as strings. Setting\n'
             'an empty string causes the setting to be removed. Duplicate settings\n'
             'are not allowed.\n'
             '\n'
             'If the unit is the leader, it can set the application settings using\n'
             '"--app". These are visible to related applications via \'relation-get --app\'\n'
             'or by supplying the application name to \'relation-get\' in place of\n'
             'a unit name.\n'
             '\n'
             'The --file option should be used when one or more key-value pairs are\n'
             'too long to fit within the command length limit of the shell or\n'
             'operating system. The file will contain a YAML map containing the\n'
             'settings.  Settings in the file will be overridden by any duplicate\n'
             'key-value arguments. A value of "-" for the filename means <stdin>.')
def relation_set(inv: Invocation) -> None:
    relation = _relation_or_fail(inv)
    overrides = parse_key_values(inv.args)
    inv.warn_deprecated_format()
    settings = _settings_from_file(inv, str(inv.opts["file"]))
    settings.update(overrides)
    inv.ctx.relation_set(relation, settings, bool(inv.opts["app"]))


@command("relation-ids", "list all relation ids with the given relation name", "<name>",
         flags=(format_flag(), output_flag()),
         doc="Only relation ids for relations which are not broken are included.")
def relation_ids(inv: Invocation) -> None:
    args = list(inv.args)
    if args:
        endpoint = args.pop(0)
    elif inv.ctx.relation_id:
        endpoint = inv.ctx.relation_endpoint(inv.ctx.relation_id)
    else:
        raise UsageError("no relation name specified")
    check_empty(args)
    inv.out(list(inv.ctx.relation_ids(endpoint)))


@command("relation-list", "list relation units", "",
         flags=(format_flag(), output_flag(), relation_flag(),
                Flag(("app",), "app", "List remote application instead of participating units",
                     boolean=True, default=False)),
         doc="-r must be specified when not in a relation hook")
def relation_list(inv: Invocation) -> None:
    relation = _relation_or_fail(inv)
    check_empty(inv.args)
    if inv.opts["app"]:
        inv.out(inv.ctx.relation_remote_app(relation))
    else:
        inv.out(list(inv.ctx.relation_list(relation)))


@command("relation-model-get", "get details about the model hosing a related application",
         "", flags=(format_flag(), output_flag(), relation_flag()),
         doc="-r must be specified when not in a relation hook")
def relation_model_get(inv: Invocation) -> None:
    relation = _relation_or_fail(inv)
    check_empty(inv.args)
    inv.ctx.relation_endpoint(relation)
    inv.out({"uuid": inv.ctx.relation_model_uuid(relation)})


# --- leadership -------------------------------------------------------------------

@command("is-leader", "print application leadership status", "",
         flags=(format_flag(), output_flag()),
         doc="is-leader prints a boolean indicating whether the local unit is guaranteed to\n"
             "be application leader for at least 30 seconds. If it fails, you should assume\n"
             "that there is no such guarantee.")
def is_leader(inv: Invocation) -> None:
    check_empty(inv.args)
    inv.out(bool(inv.ctx.is_leader()))


@command("leader-get", "print application leadership settings", "[<key>]",
         flags=(format_flag(), output_flag()),
         doc='leader-get prints the value of a leadership setting specified by key. If no key\n'
             'is given, or if the key is "-", all keys and values will be printed.')
def leader_get(inv: Invocation) -> None:
    args = list(inv.args)
    key = args.pop(0) if args else ""
    if key == "-":
        key = ""
    elif "=" in key:
        raise UsageError("invalid key %s" % formats.go_quote(key))
    check_empty(args)
    settings = dict(inv.ctx.leader_get())
    inv.out(settings.get(key) if key else settings)


@command("leader-set", "write application leadership settings",
         "<key>=<value> [...]",
         doc="leader-set immediate writes the supplied key/value pairs to the controller,\n"
             "which will then inform non-leader units of the change. It will fail if called\n"
             "without arguments, or if called by a unit that is not currently application\n"
             "leader.")
def leader_set(inv: Invocation) -> None:
    settings = parse_key_values(inv.args)
    inv.ctx.leader_set(settings)


# --- status and version -----------------------------------------------------------

_SETTABLE = ("maintenance", "blocked", "waiting", "active")


@command("status-set", "set status information",
         "<maintenance | blocked | waiting | active> [message]",
         flags=(Flag(("application",), "application",
                     "set this status for the application to which the unit belongs if the "
                     "unit is the leader", boolean=True, default=False),),
         doc='Sets the workload status of the charm. Message is optional.\n'
             'The "last updated" attribute of the status is set, even if the\n'
             'status and message are the same as what\'s already set.')
def status_set(inv: Invocation) -> None:
    if not inv.args:
        raise UsageError("invalid args, require <status> [message]")
    state = inv.args[0]
    if state not in _SETTABLE:
        raise UsageError("invalid status %s, expected one of [%s]"
                         % (formats.go_quote(state), " ".join(_SETTABLE)))
    message = inv.args[1] if len(inv.args) > 1 else ""
    check_empty(inv.args[2:])
    inv.ctx.status_set(Status(state, message), bool(inv.opts["application"]))


def _status_details(status: Dict[str, object], include_data: bool) -> Dict[str, object]:
    # Juju's toDetails: only "status" unless --include-data.
    details: Dict[str, object] = {"status": status.get("status", "")}
    if include_data:
        details["message"] = status.get("message", "")
        details["status-data"] = dict(status.get("status-data") or {})
    return details


@command("status-get", "print status information", "[--include-data] [--application]",
         flags=(format_flag(), output_flag(),
                Flag(("include-data",), "include_data", "print all status data",
                     boolean=True, default=False),
                Flag(("application",), "application",
                     "print status for all units of this application if this unit is the "
                     "leader", boolean=True, default=False)),
         doc="By default, only the status value is printed.\n"
             "If the --include-data flag is passed, the associated data are printed also.")
def status_get(inv: Invocation) -> None:
    check_empty(inv.args)
    include = bool(inv.opts["include_data"])
    smart = (inv.opts.get("format") or "smart") == "smart"
    if inv.opts["application"]:
        raw = inv.ctx.status_get(True)
        app = dict(raw.get("application-status", raw))
        if not include and smart:
            inv.out(app.get("status", ""))
            return
        details = _status_details(app, include)
        units = app.get("units") or {}
        details["units"] = {u: _status_details(s, include) for u, s in units.items()}
        inv.out({"application-status": details})
        return
    unit = inv.ctx.status_get(False)
    if not include and smart:
        inv.out(unit.get("status", ""))
        return
    inv.out(_status_details(unit, include))


@command("application-version-set", "specify which version of the application is deployed",
         "<new-version>",
         doc="application-version-set tells Juju which version of the application software\n"
             "is running. This could be a package version number or some other useful\n"
             "identifier, such as a Git hash, that indicates the version of the deployed\n"
             "software. (It shouldn't be confused with the charm revision.) The version\n"
             'set will be displayed in "juju status" output for the application.')
def application_version_set(inv: Invocation) -> None:
    if not inv.args:
        raise UsageError("no version specified")
    check_empty(inv.args[1:])
    inv.ctx.application_version_set(inv.args[0])


# --- logging ------------------------------------------------------------------------

_LEVELS = {"TRACE": "TRACE", "DEBUG": "DEBUG", "INFO": "INFO", "WARN": "WARNING",
           "WARNING": "WARNING", "ERROR": "ERROR", "CRITICAL": "CRITICAL"}


@command("juju-log", "write a message to the juju log", "<message>",
         flags=(Flag(("debug",), "debug", "log at debug level", boolean=True, default=False),
                Flag(("l", "log-level"), "level", "Send log message at the given level",
                     default="INFO"),
                deprecated_format_flag()))
def juju_log(inv: Invocation) -> None:
    if not inv.args:
        raise UsageError("no message specified")
    message = " ".join(inv.args)
    inv.warn_deprecated_format()
    level = "INFO"
    if inv.opts["debug"]:
        level = "DEBUG"
    elif inv.opts["level"]:
        level = _LEVELS.get(str(inv.opts["level"]).upper(), "")
        if not level:
            inv.ctx.log("WARNING", "Specified log level of %s is not valid"
                        % formats.go_quote(str(inv.opts["level"])))
            level = "INFO"
    # The context adds Juju's "<relation id>: " prefix inside relation hooks.
    inv.ctx.log(level, message)


# --- actions --------------------------------------------------------------------------

_ACTION_KEY = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
_RESERVED_ACTION_KEYS = ("stdout", "stdout-encoding", "stderr", "stderr-encoding")


@command("action-get", "get action parameters", "[<key>[.<key>.<key>...]]",
         flags=(format_flag(), output_flag()),
         doc="action-get will print the value of the parameter at the given key, serialized\n"
             "as YAML.  If multiple keys are passed, action-get will recurse into the param\n"
             "map as needed.")
def action_get(inv: Invocation) -> None:
    keys: List[str] = []
    if inv.args:
        check_empty(inv.args[1:])
        keys = inv.args[0].split(".")
    value: object = inv.ctx.action_params()
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    inv.out(value)


def _merge_path(results: Dict[str, object], keys: List[str], value: str) -> None:
    node = results
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[keys[-1]] = value


@command("action-set", "set action results", "<key>=<value> [<key>=<value> ...]",
         doc="action-set adds the given values to the results map of the Action. This map\n"
             "is returned to the user after the completion of the Action. Keys must start\n"
             "and end with lowercase alphanumeric, and contain only lowercase alphanumeric\n"
             "and hyphens.")
def action_set(inv: Invocation) -> None:
    results: Dict[str, object] = {}
    for arg in inv.args:
        path, eq, value = arg.partition("=")
        if not eq:
            raise UsageError("argument %s must be of the form key...=value"
                             % formats.go_quote(arg))
        keys = path.split(".")
        for key in keys:
            if not _ACTION_KEY.match(key):
                raise UsageError("key %s must start and end with lowercase alphanumeric, and "
                                 "contain only lowercase alphanumeric and hyphens"
                                 % formats.go_quote(key))
            if key in _RESERVED_ACTION_KEYS:
                raise UsageError("cannot set reserved action key %s" % formats.go_quote(key))
        _merge_path(results, keys, value)
    if results:
        inv.ctx.action_set(results)


@command("action-fail", "set action fail status with message", '["<failure message>"]',
         doc="action-fail sets the fail state of the action with a given error message.  "
             "Using\naction-fail without a failure message will set a default message "
             "indicating a\nproblem with the action.")
def action_fail(inv: Invocation) -> None:
    message = "action failed without reason given, check action for errors"
    if inv.args:
        message = inv.args[0]
        check_empty(inv.args[1:])
    inv.ctx.action_fail(message)


@command("action-log", "record a progress message for the current action", "<message>")
def action_log(inv: Invocation) -> None:
    if not inv.args:
        raise UsageError("no message specified")
    inv.ctx.action_log(" ".join(inv.args))


# --- machine and network -------------------------------------------------------------

@command("unit-get", "print public-address or private-address", "<setting>",
         flags=(format_flag(), output_flag()))
def unit_get(inv: Invocation) -> None:
    if not inv.args:
        raise UsageError("no setting specified")
    key = inv.args[0]
    if key not in ("private-address", "public-address"):
        raise UsageError("unknown setting %s" % formats.go_quote(key))
    check_empty(inv.args[1:])
    inv.out(inv.ctx.unit_address(key))


def _first_address(info: Dict[str, object], binding: str) -> str:
    for bind in info.get("bind-addresses") or []:
        for address in bind.get("addresses") or []:
            value = address.get("value") or address.get("address")
            if value:
                return value
    raise ToolError("no addresses attached to space for binding %s" % formats.go_quote(binding))


@command("network-get", "get network config",
         "<binding-name> [--ingress-address] [--bind-address] [--egress-subnets]",
         flags=(format_flag(), output_flag(), relation_flag(),
                Flag(("primary-address",), "primary", "(deprecated) get the primary address "
                     "for the binding", boolean=True, default=False),
                Flag(("bind-address",), "bind", "get the address for the binding on which the "
                     "unit should listen", boolean=True, default=False),
                Flag(("ingress-address",), "ingress", "get the ingress address for the binding",
                     boolean=True, default=False),
                Flag(("egress-subnets",), "egress", "get the egress subnets for the binding",
                     boolean=True, default=False)),
         doc="network-get returns the network config for a given binding name. By default\n"
             "it returns the list of interfaces and associated addresses in the space for\n"
             "the binding, as well as the ingress address for the binding. If defined, any\n"
             "egress subnets are also returned.\n"
             "If one of the following flags are specified, just that value is returned.\n"
             "If more than one flag is specified, a map of values is returned.")
def network_get(inv: Invocation) -> None:
    if not inv.args:
        raise UsageError("no arguments specified")
    binding = inv.args[0]
    if not binding:
        raise UsageError("no binding name specified")
    check_empty(inv.args[1:])
    info = inv.ctx.network_info(binding)
    opts = inv.opts
    keys = [k for k, on in (("bind-address", opts["bind"]), ("ingress-address", opts["ingress"]),
                            ("egress-subnets", opts["egress"])) if on]
    if opts["primary"]:
        if keys:
            raise ToolError("--primary-address must be the only flag specified")
        inv.out(_first_address(info, binding))
        return
    if not keys:
        inv.out(info)
        return
    values: Dict[str, object] = {}
    if opts["egress"]:
        values["egress-subnets"] = list(info.get("egress-subnets") or [])
    if opts["ingress"]:
        ingress = info.get("ingress-addresses") or []
        values["ingress-address"] = ingress[0] if ingress else _first_address(info, binding)
    if opts["bind"]:
        values["bind-address"] = _first_address(info, binding)
    inv.out(values[keys[0]] if len(keys) == 1 else values)


_PORT_FORMAT = "<port>[/<protocol>] or <from>-<to>[/<protocol>] or icmp"
_PORT_RE = re.compile(r"^(?:(icmp)|([0-9]+)(?:-([0-9]+))?(?:/([a-z0-9]+))?)$")


def parse_port(arg: str, endpoints: Tuple[str, ...] = ()) -> Port:
    """Juju's ``open-port`` argument: ``80``, ``80/udp``, ``1000-2000/tcp``, ``icmp``.

    :raises UsageError: with Juju's text for malformed or out-of-range values.
    """
    match = _PORT_RE.match(arg.lower())
    if not match:
        raise UsageError("expected %s; got %s" % (_PORT_FORMAT, formats.go_quote(arg)))
    icmp, first, last, protocol = match.groups()
    if icmp or protocol == "icmp":
        if icmp:
            return Port("icmp", None, None, endpoints)
        raise UsageError('protocol "icmp" doesn\'t support any ports; got "%s"' % first)
    protocol = protocol or "tcp"
    from_port = int(first)
    to_port = int(last) if last is not None else from_port
    if from_port > to_port:
        raise UsageError("invalid port range %d-%d/%s; expected fromPort <= toPort"
                         % (from_port, to_port, protocol))
    for label, number in ((("port" if from_port == to_port else "fromPort"), from_port),
                          ("toPort", to_port)):
        if not 1 <= number <= 65535:
            raise UsageError('%s must be in the range [1, 65535]; got "%d"' % (label, number))
    if protocol not in ("tcp", "udp"):
        raise UsageError('protocol must be "tcp", "udp", or "icmp"; got %s'
                         % formats.go_quote(protocol))
    return Port(protocol, from_port, to_port, endpoints)


def port_string(port: Port) -> str:
    """Juju's ``PortRange.String()``: ``80/tcp``, ``1000-2000/udp``, ``icmp``."""
    if port.protocol == "icmp" or port.from_port is None:
        return port.protocol
    if port.to_port is None or port.to_port == port.from_port:
        return "%d/%s" % (port.from_port, port.protocol)
    return "%d-%d/%s" % (port.from_port, port.to_port, port.protocol)


def _port_sort_key(port: Port):
    from_port = -1 if port.from_port is None else port.from_port
    to_port = from_port if port.to_port is None else port.to_port
    return (from_port, to_port, port.protocol)


def _port_command(inv: Invocation, operation: Callable[[Port], None]) -> None:
    if not inv.args:
        raise UsageError("no port or range specified")
    endpoints = tuple(e.strip() for e in str(inv.opts["endpoints"]).split(",") if e.strip())
    port = parse_port(inv.args[0], endpoints)
    check_empty(inv.args[1:])
    inv.warn_deprecated_format()
    operation(port)


_ENDPOINTS_FLAG = Flag(("endpoints",), "endpoints", "a comma-delimited list of application "
                       "endpoints to target with this operation", default="", shown_default='""')


@command("open-port", "register a request to open a port or port range", _PORT_FORMAT,
         flags=(_ENDPOINTS_FLAG, deprecated_format_flag()),
         doc="open-port registers a request to open the specified port or port range.\n\n"
             "By default, the specified port or port range will be opened for all defined\n"
             "application endpoints. The --endpoints option can be used to constrain the\n"
             "open request to a comma-delimited list of application endpoints.")
def open_port(inv: Invocation) -> None:
    _port_command(inv, inv.ctx.open_port)


@command("close-port", "register a request to close a port or port range", _PORT_FORMAT,
         flags=(_ENDPOINTS_FLAG, deprecated_format_flag()),
         doc="close-port registers a request to close the specified port or port range.\n\n"
             "By default, the specified port or port range will be closed for all defined\n"
             "application endpoints. The --endpoints option can be used to constrain the\n"
             "close request to a comma-delimited list of application endpoints.")
def close_port(inv: Invocation) -> None:
    _port_command(inv, inv.ctx.close_port)


@command("opened-ports", "list all ports or port ranges opened by the unit", "",
         flags=(format_flag(), output_flag(),
                Flag(("endpoints",), "endpoints", "display the list of target application "
                     "endpoints for each port range", boolean=True, default=False)),
         doc="opened-ports lists all ports or port ranges opened by a unit.\n\n"
             "By default, the port range listing does not include information about the\n"
             "application endpoints that each port range applies to. Each list entry is\n"
             'formatted as <port>/<protocol> (e.g. "80/tcp") or <from>-<to>/<protocol>\n'
             '(e.g. "8080-8088/udp").\n\n'
             "If the --endpoints option is specified, each entry in the port list will be\n"
             "augmented with a comma-delimited list of endpoints that the port range\n"
             'applies to (e.g. "80/tcp (endpoint1, endpoint2)"). If a port range applies to\n'
             "all endpoints, this will be indicated by the presence of a '*' character\n"
             '(e.g. "80/tcp (*)").')
def opened_ports(inv: Invocation) -> None:
    check_empty(inv.args)
    grouped: Dict[Port, set] = {}
    for port in inv.ctx.opened_ports():
        bare = Port(port.protocol, port.from_port,
                    port.from_port if port.to_port is None else port.to_port)
        grouped.setdefault(bare, set()).update(port.endpoints or ("",))
    ordered = sorted(grouped, key=_port_sort_key)
    if not inv.opts["endpoints"]:
        inv.out([port_string(p) for p in ordered])
        return
    lines = []
    for port in ordered:
        endpoints = grouped[port]
        described = "*" if "" in endpoints else ", ".join(sorted(endpoints))
        lines.append("%s (%s)" % (port_string(port), described))
    inv.out(lines)


# --- goal state ------------------------------------------------------

@command("goal-state", "print the status of the charm's peers and related units", "",
         flags=(format_flag("yaml", ("json", "yaml")), output_flag()),
         doc="'goal-state' command will list the charm units and relations, specifying their\n"
             "status and their relations to other units in different charms.")
def goal_state(inv: Invocation) -> None:
    check_empty(inv.args)
    inv.out(inv.ctx.goal_state())


# The other tools live in their own modules by area; importing them registers them.
from . import commands_secrets, commands_state, commands_storage  # noqa: E402,F401 - registration
