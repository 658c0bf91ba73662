"""Hook tools for charm state (``state-*``), legacy payloads and metrics, and the tools
yard does not support."""

from yard.context import ToolError

from . import formats
from .commands import Invocation, _settings_from_file, command
from .flags import Flag, UsageError, check_empty, format_flag, output_flag, parse_key_values


@command("state-get", "print server-side-state value", "[<key>]",
         flags=(format_flag(), output_flag(),
                Flag(("strict",), "strict", "Return an error if the requested key does not exist",
                     boolean=True, default=False)),
         doc="state-get prints the value of the server side state specified by key.\n"
             "If no key is given, or if the key is \"-\", all keys and values will be printed.")
def state_get(inv: Invocation) -> None:
    args = list(inv.args)
    key = args.pop(0) if args else ""
    if key == "-":
        key = ""
    check_empty(args)
    state = dict(inv.ctx.state_get())
    if not key:
        inv.out(state)
        return
    if key not in state and inv.opts["strict"]:
        raise ToolError("%s not found" % formats.go_quote(key))
    inv.out(state.get(key, ""))


@command("state-set", "set server-side-state values", "key=value [key=value ...]",
         flags=(Flag(("file",), "file", "file containing key-value pairs", default="",
                     shown_default=""),),
         doc='state-set sets the value of the server side state specified by key.\n\n'
             'The --file option should be used when one or more key-value pairs\n'
             'are too long to fit within the command length limit of the shell\n'
             'or operating system. The file will contain a YAML map containing\n'
             'the settings as strings.  Settings in the file will be overridden\n'
             'by any duplicate key-value arguments. A value of "-" for the filename\n'
             'means <stdin>.\n\n'
             'The following fields are reserved for internal use and cannot be set: ""')
def state_set(inv: Invocation) -> None:
    overrides = parse_key_values(inv.args)
    settings = _settings_from_file(inv, str(inv.opts["file"]))
    settings.update(overrides)
    for key in [k for k, v in settings.items() if v == ""]:
        del settings[key]
        inv.ctx.state_delete(key)
    if settings:
        inv.ctx.state_set(settings)


@command("state-delete", "delete server-side-state key value pair", "<key>")
def state_delete(inv: Invocation) -> None:
    if not inv.args:
        return  # Juju accepts a missing key and does nothing
    check_empty(inv.args[1:])
    if inv.args[0]:
        inv.ctx.state_delete(inv.args[0])


# --- legacy and unsupported tools --------------------------------------------------------

@command("payload-register", "register a charm payload with juju", "<type> <class> <id> [tags...]")
def payload_register(inv: Invocation) -> None:
    if len(inv.args) < 3:
        raise UsageError("missing required arguments")
    # Payloads are legacy; Juju 3.6 accepts and ignores them on machines, as yard does.


@command("payload-unregister", "stop tracking a payload", "<class> <id>")
def payload_unregister(inv: Invocation) -> None:
    if len(inv.args) < 2:
        raise UsageError("missing required arguments")
    check_empty(inv.args[2:])


@command("payload-status-set", "update the status of a payload",
         "<class> <id> <status, one of starting, started, stopping, stopped>")
def payload_status_set(inv: Invocation) -> None:
    if len(inv.args) < 3:
        raise UsageError("missing required arguments")
    if inv.args[2] not in ("starting", "started", "stopping", "stopped"):
        raise UsageError('status "%s" not supported; expected one of [starting, started, '
                         'stopping, stopped]' % inv.args[2])
    check_empty(inv.args[3:])


@command("add-metric", "add metrics", "key1=value1 [key2=value2 ...]",
         flags=(Flag(("l", "labels"), "labels", "labels to be associated with metric values",
                     default="", shown_default='""'),))
def add_metric(inv: Invocation) -> None:
    if not inv.args:
        raise UsageError("no metrics specified")
    # Juju 3 never fires collect-metrics, the only hook allowed to add metrics.
    raise ToolError("metrics not allowed in this context")


def _unsupported(what: str):
    def run(inv: Invocation) -> None:
        raise ToolError("%s %s not supported by yard" % (what, "are" if what.endswith("s")
                                                         else "is"))
    return run


_UNSUPPORTED = {
    "credential-get": ("access cloud credentials", "cloud credentials"),
    "juju-reboot": ("reboot the host machine", "juju-reboot"),
}

for _name, (_purpose, _what) in _UNSUPPORTED.items():
    command(_name, _purpose, "", parse_flags=False,
            doc="Not supported by yard: the tool always fails.")(_unsupported(_what))
