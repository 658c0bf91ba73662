"""Juju's hook-tool output formats (``--format smart|json|yaml``).

These follow ``github.com/juju/cmd`` ``output.go``:

* ``json``: ``json.Marshal`` (compact, map keys sorted, ``<``, ``>`` and ``&``
  escaped as Go does) plus a newline; ``null`` for a missing value.
* ``yaml``: the YAML document with trailing newlines trimmed and one newline
  added; nothing at all for ``None``.
* ``smart``: nothing for ``None``, ``""`` or ``[]``; strings verbatim plus a
  newline; lists of strings one per line; booleans ``True``/``False``;
  everything else as YAML.
"""

import json
from typing import Callable, Dict

import yaml

FORMATS = ("json", "smart", "yaml")


def encode(text: str) -> bytes:
    """UTF-8, keeping argv bytes that were not UTF-8 (surrogateescape) as they came."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


def _go_numbers(value):
    """Integral floats print as Go prints a float64 (``1``, not ``1.0``)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {k: _go_numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_go_numbers(v) for v in value]
    return value


def format_json(value) -> bytes:
    """Go's ``json.Marshal`` output plus a newline."""
    text = json.dumps(_go_numbers(value), separators=(",", ":"), sort_keys=True,
                      ensure_ascii=False)
    # Go's encoder escapes HTML-sensitive characters and the JS line separators.
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return encode(text + "\n")


class _Dumper(yaml.SafeDumper):
    """A safe dumper that writes tuples as lists, as goyaml does with slices."""


def _represent_str(dumper, data):
    # goyaml double-quotes a string that would read back as another type
    # ("5432", "true", ""), and writes multi-line strings as literal blocks.
    if "\n" in data:
        style = "|"
    elif dumper.resolve(yaml.ScalarNode, data, (True, False)) != "tag:yaml.org,2002:str":
        style = '"'
    else:
        style = None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(tuple, _Dumper.represent_list)
_Dumper.add_representer(str, _represent_str)


def format_yaml(value) -> bytes:
    """goyaml's block-style document, one trailing newline, nothing for None."""
    if value is None:
        return b""
    text = yaml.dump(_go_numbers(value), Dumper=_Dumper, default_flow_style=False,
                     sort_keys=True, allow_unicode=True, width=1 << 30)
    if text.endswith("\n...\n"):
        # PyYAML closes a bare scalar document with "...", goyaml does not.
        text = text[:-4]
    return encode(text.rstrip("\n") + "\n")


def format_smart(value) -> bytes:
    """juju/cmd's ``FormatSmart``."""
    if value is None:
        return b""
    if isinstance(value, str):
        return encode(value + "\n") if value else b""
    if isinstance(value, bool):
        return b"True\n" if value else b"False\n"
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        # juju/cmd adds the newline only to non-empty output: [] prints nothing.
        joined = "\n".join(value)
        return encode(joined + "\n") if joined else b""
    return format_yaml(value)


FORMATTERS: Dict[str, Callable[[object], bytes]] = {
    "json": format_json,
    "smart": format_smart,
    "yaml": format_yaml,
}


def go_quote(text: str) -> str:
    """Go's ``%q`` of a string (close enough: JSON string syntax, UTF-8 kept)."""
    return json.dumps(text, ensure_ascii=False)


def go_quote_list(items) -> str:
    """Go's ``%q`` of a ``[]string``: ``["a" "b"]``."""
    return "[" + " ".join(go_quote(i) for i in items) + "]"


class _StringLoader(yaml.SafeLoader):
    """Reads every scalar as its literal text, null as "" (goyaml into map[string]string)."""


def _literal(loader, node):
    return node.value


def _null(loader, node):
    return ""


for _tag in ("bool", "int", "float", "timestamp", "binary"):
    _StringLoader.add_constructor("tag:yaml.org,2002:" + _tag, _literal)
_StringLoader.add_constructor("tag:yaml.org,2002:null", _null)


def parse_settings_yaml(data: bytes) -> Dict[str, str]:
    """Parse a ``--file`` of ``relation-set``/``state-set`` like goyaml into map[string]string.

    :raises ValueError: with goyaml-like text when the YAML is not a flat map.
    """
    try:
        doc = yaml.load(data.decode("utf-8", "replace"), Loader=_StringLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = " line %d:" % (mark.line + 1) if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValueError("yaml:%s %s" % (line, problem)) from None
    if doc is None or doc == "":
        return {}
    if not isinstance(doc, dict):
        raise ValueError("yaml: unmarshal errors:\n  line 1: cannot unmarshal !!%s into "
                         "map[string]string" % _yaml_kind(doc))
    settings = {}
    for key, value in doc.items():
        if isinstance(value, (dict, list)):
            raise ValueError("yaml: unmarshal errors:\n  cannot unmarshal !!%s into string"
                             % _yaml_kind(value))
        settings[str(key)] = value
    return settings


def _yaml_kind(value) -> str:
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "seq"
    return "str"
