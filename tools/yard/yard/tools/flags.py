"""A small ``juju/gnuflag`` work-alike: Juju's flag syntax, errors and ``--help``.

Flags may be interspersed with positional arguments; ``--`` ends the flags;
a lone ``-`` is a positional argument.  Long flags are ``--name`` or
``--name=value``; short ones ``-n value``, ``-nvalue`` or combined booleans
``-ab``.  Errors read as gnuflag's (``flag provided but not defined: --x``)
and are usage errors (exit 2).
"""

import dataclasses
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from yard.context import ToolError

from . import formats


class UsageError(ToolError):
    """A flag or argument error: exit code 2, as juju/cmd's Init errors."""

    def __init__(self, message: str):
        super().__init__(message, code=2)


class HelpRequested(Exception):
    """``-h``/``--help`` was given: print the help on stdout and exit 0."""


_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def parse_bool(value: str) -> bool:
    """Go's ``strconv.ParseBool``."""
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError('strconv.ParseBool: parsing %s: invalid syntax' % formats.go_quote(value))


@dataclasses.dataclass(frozen=True)
class Flag:
    """One flag, maybe with aliases (``("r", "relation")``).

    ``convert`` turns the raw text into the stored value (or raises
    ValueError/ToolError with the reason); it gets the hook context too.
    """

    names: Tuple[str, ...]
    dest: str
    help: str = ""
    boolean: bool = False
    default: object = None
    convert: Optional[Callable] = None
    shown_default: Optional[str] = None


def format_flag(default: str = "smart", allowed: Sequence[str] = formats.FORMATS) -> Flag:
    """``--format``, as juju/cmd ``Output.AddFlags`` defines it."""
    def convert(_ctx, value):
        if value not in allowed:
            raise ValueError("unknown format %s" % formats.go_quote(value))
        return value
    return Flag(("format",), "format", "Specify output format (%s)" % "|".join(sorted(allowed)),
                default=default, convert=convert)


def output_flag() -> Flag:
    """``-o/--output``, as juju/cmd ``Output.AddFlags`` defines it."""
    return Flag(("o", "output"), "output", "Specify an output file", default="",
                shown_default='""')


def deprecated_format_flag() -> Flag:
    """The ``--format`` that tools without output still accept (and warn about)."""
    return Flag(("format",), "deprecated_format", "deprecated format flag", default="",
                shown_default='""')


def _dash(name: str) -> str:
    return ("-" if len(name) == 1 else "--") + name


class FlagSet:
    """Parses one tool invocation's flags."""

    def __init__(self, flags: Sequence[Flag]):
        self.flags = list(flags)
        self.by_name: Dict[str, Flag] = {}
        for flag in self.flags:
            for name in flag.names:
                self.by_name[name] = flag

    def defaults(self) -> Dict[str, object]:
        """Every flag's default value, by ``dest``."""
        return {f.dest: f.default for f in self.flags}

    def parse(self, ctx, args: Sequence[str]) -> Tuple[Dict[str, object], List[str]]:
        """Return ``(values by dest, positional args)``.

        :raises UsageError: on an unknown flag, a missing or bad value.
        :raises HelpRequested: on ``-h``/``--help``.
        """
        values = self.defaults()
        positional: List[str] = []
        args = list(args)
        i = 0
        while i < len(args):
            arg = args[i]
            i += 1
            if arg == "--":
                positional.extend(args[i:])
                break
            if not arg.startswith("-") or arg == "-":
                positional.append(arg)
                continue
            if arg.startswith("--"):
                i = self._parse_long(ctx, arg[2:], args, i, values)
            else:
                i = self._parse_short(ctx, arg[1:], args, i, values)
        return values, positional

    def _parse_long(self, ctx, body, args, i, values) -> int:
        name, eq, value = body.partition("=")
        flag = self._lookup(name)
        if flag.boolean:
            self._set(ctx, flag, name, value if eq else "true", values)
            return i
        if not eq:
            if i >= len(args):
                raise UsageError("flag needs an argument: %s" % _dash(name))
            value = args[i]
            i += 1
        self._set(ctx, flag, name, value, values)
        return i

    def _parse_short(self, ctx, body, args, i, values) -> int:
        j = 0
        while j < len(body):
            name = body[j]
            j += 1
            flag = self._lookup(name)
            if flag.boolean:
                if j < len(body) and body[j] == "=":
                    self._set(ctx, flag, name, body[j + 1:], values)
                    return i
                self._set(ctx, flag, name, "true", values)
                continue
            value = body[j:]
            if value.startswith("="):
                value = value[1:]
            elif not value:
                if i >= len(args):
                    raise UsageError("flag needs an argument: -%s" % name)
                value = args[i]
                i += 1
            self._set(ctx, flag, name, value, values)
            return i
        return i

    def _lookup(self, name: str) -> Flag:
        flag = self.by_name.get(name)
        if flag is None:
            if name in ("h", "help"):
                raise HelpRequested()
            raise UsageError("flag provided but not defined: %s" % _dash(name))
        return flag

    def _set(self, ctx, flag: Flag, name: str, value: str, values) -> None:
        try:
            if flag.boolean:
                converted = parse_bool(value)
            elif flag.convert is not None:
                converted = flag.convert(ctx, value)
            else:
                converted = value
        except (ValueError, ToolError) as exc:
            reason = exc.message if isinstance(exc, ToolError) else str(exc)
            if reason.startswith("invalid value "):
                # The context already worded it as a flag error.
                raise UsageError(reason) from None
            raise UsageError("invalid value %s for flag %s: %s"
                             % (formats.go_quote(value), _dash(name), reason)) from None
        values[flag.dest] = converted

    def help_options(self) -> str:
        """The ``Options:`` block of ``--help``."""
        lines = []
        for flag in sorted(self.flags, key=lambda f: f.names[-1]):
            names = ", ".join(_dash(n) for n in flag.names)
            if flag.shown_default is not None:
                shown = flag.shown_default
            elif flag.boolean:
                shown = "true" if flag.default else "false"
            else:
                shown = "" if flag.default is None else str(flag.default)
            lines.append("%s  (= %s)" % (names, shown))
            lines.append("    " + flag.help)
        return "\n".join(lines)


def help_text(name: str, args: str, purpose: str, doc: str, flagset: FlagSet) -> str:
    """juju/cmd's ``Info.Help`` layout."""
    usage = "Usage: %s" % name
    if flagset.flags:
        usage += " [options]"
    if args:
        usage += " " + args
    parts = [usage, "", "Summary:", purpose]
    if flagset.flags:
        parts += ["", "Options:", flagset.help_options()]
    if doc.strip():
        parts += ["", "Details:", doc.strip()]
    return "\n".join(parts) + "\n"


def check_empty(args: Sequence[str]) -> None:
    """juju/cmd ``CheckEmpty``: extra positional arguments are a usage error."""
    if args:
        raise UsageError("unrecognized args: %s" % formats.go_quote_list(args))


def parse_key_values(args: Sequence[str], allow_empty: bool = True) -> Dict[str, str]:
    """juju/utils ``keyvalues.Parse``: ``k=v`` pairs, trimmed, no duplicates."""
    result: Dict[str, str] = {}
    for arg in args:
        key, eq, value = arg.partition("=")
        if not eq:
            raise UsageError('expected "key=value", got %s' % formats.go_quote(arg))
        key, value = key.strip(), value.strip()
        if not key or (not allow_empty and not value):
            raise UsageError('expected "key=value", got "%s=%s"' % (key, value))
        if key in result:
            raise UsageError("key %s specified more than once" % formats.go_quote(key))
        result[key] = value
    return result
