"""Juju's output formats and gnuflag-style parsing used by the hook tools."""

import pytest

from yard.context import ToolError
from yard.tools import formats
from yard.tools.flags import (Flag, FlagSet, HelpRequested, UsageError, format_flag,
                              parse_key_values)


@pytest.mark.parametrize("value,expected", [
    (None, b""),
    ("", b""),
    ("text", b"text\n"),
    ("two\nlines", b"two\nlines\n"),
    (True, b"True\n"),
    (False, b"False\n"),
    (["a", "b"], b"a\nb\n"),
    ([], b""),
    (8080, b"8080\n"),
    (1.5, b"1.5\n"),
    (2.0, b"2\n"),
    ({"b": "1", "a": "x"}, b'a: x\nb: "1"\n'),
    ([1, 2], b"- 1\n- 2\n"),
])
def test_smart(value, expected):
    assert formats.format_smart(value) == expected


@pytest.mark.parametrize("value,expected", [
    (None, b"null\n"),
    ("", b'""\n'),
    ({"z": 1, "a": [True, None]}, b'{"a":[true,null],"z":1}\n'),
    ({"html": "<a href='x'>&</a>"},
     b'{"html":"\\u003ca href=\'x\'\\u003e\\u0026\\u003c/a\\u003e"}\n'),
    ("caf\u00e9", '"caf\u00e9"\n'.encode()),
    (3.0, b"3\n"),
    (0.25, b"0.25\n"),
])
def test_json(value, expected):
    assert formats.format_json(value) == expected


@pytest.mark.parametrize("value,expected", [
    (None, b""),
    ("plain", b"plain\n"),
    ("", b'""\n'),
    ({"port": "5432", "on": "true", "yes": "yes", "host": "10.0.0.1"},
     b'host: 10.0.0.1\n"on": "true"\nport: "5432"\n"yes": "yes"\n'),
    ({"k": "a\nb\n"}, b"k: |\n  a\n  b\n"),
    ({"nested": {"list": ["x", 1]}}, b"nested:\n  list:\n  - x\n  - 1\n"),
    ({}, b"{}\n"),
    ([], b"[]\n"),
    (("a", "b"), b"- a\n- b\n"),
    ({"long": "x" * 200}, b"long: " + b"x" * 200 + b"\n"),
])
def test_yaml(value, expected):
    assert formats.format_yaml(value) == expected


def test_non_utf8_argv_bytes_survive():
    text = b"caf\xff".decode("utf-8", "surrogateescape")
    assert formats.format_smart(text) == b"caf\xff\n"


@pytest.mark.parametrize("data,expected", [
    (b"", {}),
    (b"a: 1\nb: true\nc: null\nd: ~\ne:\nf: 'x'\ng: 1.50\n",
     {"a": "1", "b": "true", "c": "", "d": "", "e": "", "f": "x", "g": "1.50"}),
    (b'{"json": "works", "n": 5}', {"json": "works", "n": "5"}),
    (b"multi: |\n  line1\n  line2\n", {"multi": "line1\nline2\n"}),
])
def test_parse_settings_yaml(data, expected):
    assert formats.parse_settings_yaml(data) == expected


@pytest.mark.parametrize("data", [b"- a\n", b"a: [1, 2]\n", b"a: {b: c}\n", b"a: b: c\n",
                                  b"just a string\n"])
def test_parse_settings_yaml_rejects_non_flat_maps(data):
    with pytest.raises(ValueError) as exc:
        formats.parse_settings_yaml(data)
    assert str(exc.value).startswith("yaml:")


def test_go_quote():
    assert formats.go_quote('a"b') == '"a\\"b"'
    assert formats.go_quote_list(["x", "y z"]) == '["x" "y z"]'


# --- flags ----------------------------------------------------------------------------

def flagset():
    return FlagSet([format_flag(), Flag(("a", "all"), "all", "all", boolean=True, default=False),
                    Flag(("b",), "bee", "b", boolean=True, default=False),
                    Flag(("r", "relation"), "relation", "rel")])


@pytest.mark.parametrize("args,opts,positional", [
    ([], {"format": "smart", "all": False, "bee": False, "relation": None}, []),
    (["x", "--format", "json", "y"], {"format": "json"}, ["x", "y"]),
    (["--format=yaml"], {"format": "yaml"}, []),
    (["-ab"], {"all": True, "bee": True}, []),
    (["-ar", "db:1"], {"all": True, "relation": "db:1"}, []),
    (["-rdb:1"], {"relation": "db:1"}, []),
    (["-r=db:1"], {"relation": "db:1"}, []),
    (["--all=false", "-a=true"], {"all": True}, []),
    (["--all=0"], {"all": False}, []),
    (["-", "--", "--format", "-a"], {"format": "smart", "all": False}, ["-", "--format", "-a"]),
])
def test_flag_parsing(args, opts, positional):
    values, rest = flagset().parse(None, args)
    assert {k: values[k] for k in opts} == opts
    assert rest == positional


@pytest.mark.parametrize("args,message", [
    (["--nope"], "flag provided but not defined: --nope"),
    (["-az"], "flag provided but not defined: -z"),
    (["-r"], "flag needs an argument: -r"),
    (["--relation"], "flag needs an argument: --relation"),
    (["--all=yes"], 'invalid value "yes" for flag --all: strconv.ParseBool: parsing "yes": '
                    'invalid syntax'),
    (["--format=xml"], 'invalid value "xml" for flag --format: unknown format "xml"'),
])
def test_flag_errors(args, message):
    with pytest.raises(UsageError) as exc:
        flagset().parse(None, args)
    assert exc.value.code == 2 and exc.value.message == message


@pytest.mark.parametrize("args", [["-h"], ["--help"], ["x", "--help", "y"], ["-ah"]])
def test_help(args):
    with pytest.raises(HelpRequested):
        flagset().parse(None, args)


def test_converter_errors_from_the_context_become_flag_errors():
    def convert(ctx, value):
        raise ToolError("relation not found", 2)
    flags = FlagSet([Flag(("r",), "r", "", convert=convert)])
    with pytest.raises(UsageError) as exc:
        flags.parse(None, ["-r", "db:9"])
    assert exc.value.message == 'invalid value "db:9" for flag -r: relation not found'


def test_key_values():
    assert parse_key_values([" a = 1 ", "b=", "c=x=y"]) == {"a": "1", "b": "", "c": "x=y"}
    with pytest.raises(UsageError):
        parse_key_values(["b"], allow_empty=True)
    with pytest.raises(UsageError):
        parse_key_values(["b="], allow_empty=False)
