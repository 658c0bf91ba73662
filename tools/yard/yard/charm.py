"""Read a built charm folder: metadata.yaml, config.yaml and actions.yaml.

Also builds the JSON schema of each action the way Juju does (see
juju-semantics.md section 5.1) and validates action parameters and config
values with Juju's error texts.
"""

import copy
import dataclasses
import os
import re
from typing import Dict, Optional, Tuple

import jsonschema
import yaml

from yard import storage as storagelib


class CharmError(Exception):
    """A charm folder is missing or its metadata is invalid."""


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """One relation endpoint of a charm."""

    name: str
    role: str  # "provides", "requires" or "peers"
    interface: str
    scope: str = "global"
    implicit: bool = False


@dataclasses.dataclass(frozen=True)
class StorageSpec:
    """One entry of metadata ``storage:`` (sizes in MiB; ``count_max`` -1 = no limit)."""

    name: str
    type: str
    location: str = ""
    minimum_size: int = 0
    count_min: int = 1
    count_max: int = 1
    shared: bool = False
    read_only: bool = False
    description: str = ""


@dataclasses.dataclass(frozen=True)
class Charm:
    """What yard needs to know about a built charm."""

    path: str
    name: str
    subordinate: bool
    endpoints: Tuple[Endpoint, ...]
    options: Dict[str, dict]
    actions: Dict[str, dict]
    extra_bindings: Tuple[str, ...] = ()
    storage: Dict[str, StorageSpec] = dataclasses.field(default_factory=dict)
    resources: Dict[str, "ResourceMeta"] = dataclasses.field(default_factory=dict)
    revision: int = 0  # the charm's ``revision`` file, else 0 (Juju's local charm minimum)

    def endpoint(self, name: str) -> Optional[Endpoint]:
        """The endpoint called ``name`` (including the implicit juju-info), or None."""
        for ep in self.endpoints:
            if ep.name == name:
                return ep
        return None

    def defaults(self) -> Dict[str, object]:
        """Every option with its default (None when it has none)."""
        return {k: v.get("default") for k, v in self.options.items()}


@dataclasses.dataclass(frozen=True)
class ResourceMeta:
    """One entry of metadata ``resources:`` (Juju's ``charm/resource.Meta``)."""

    name: str
    type: str
    filename: str
    description: str = ""


def _resources(meta: dict) -> Dict[str, ResourceMeta]:
    """``resources:`` with the checks of Juju's ``resource.Meta.Validate``.

    Texts from charm ``resource/meta.go`` and ``type.go``: ``resource missing
    filename``, ``filename cannot contain "/" (got "x")``, ``unsupported
    resource type "x"``.  ``oci-image`` is valid there but only Kubernetes
    charms use it; yard runs machine charms, so it refuses it here.
    """
    out = {}
    for name, spec in sorted((meta.get("resources") or {}).items()):
        spec = spec if isinstance(spec, dict) else {}
        rtype = str(spec.get("type", "file"))
        where = f'charm "{meta.get("name")}" resource "{name}"'
        if rtype == "oci-image":
            raise CharmError(f'{where}: type "oci-image" is for Kubernetes charms; '
                             'yard runs machine charms, which take type "file" only')
        if rtype != "file":
            raise CharmError(f'{where}: unsupported resource type "{rtype}"')
        filename = str(spec.get("filename") or "")
        if not filename:
            raise CharmError(f"{where}: resource missing filename")
        if "/" in filename:
            raise CharmError(f'{where}: filename cannot contain "/" (got "{filename}")')
        out[str(name)] = ResourceMeta(str(name), rtype, filename,
                                      str(spec.get("description") or ""))
    return out


ACTION_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
_OPTION_TYPES = {"string": str, "int": int, "float": float, "boolean": bool, "secret": str}


def _read_yaml(path: str) -> object:
    try:
        with open(path) as f:
            return yaml.safe_load(f)
    except FileNotFoundError:
        return None
    except yaml.YAMLError as e:
        raise CharmError(f"cannot parse {os.path.basename(path)}: {e}") from e


def _endpoints(meta: dict) -> Tuple[Endpoint, ...]:
    eps = []
    for role in ("provides", "requires", "peers"):
        for name, spec in sorted((meta.get(role) or {}).items()):
            if isinstance(spec, str):
                spec = {"interface": spec}
            if not isinstance(spec, dict) or "interface" not in spec:
                raise CharmError(f'relation "{name}" has no interface')
            eps.append(Endpoint(name, role, str(spec["interface"]),
                                str(spec.get("scope", "global"))))
    if not any(ep.name == "juju-info" for ep in eps):
        eps.append(Endpoint("juju-info", "provides", "juju-info", "global", implicit=True))
    return tuple(eps)


_RANGE = re.compile(r"^([0-9]+)([-+]|-[0-9]+)$")


def _count_range(charm: str, name: str, value) -> Tuple[int, int]:
    """``multiple.range`` as charm/meta.go's storageCountC reads it: m, m-n, m+ or m-."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise CharmError(f'charm "{charm}" storage "{name}": invalid count {value}')
        return value, value
    m = _RANGE.match(str(value))
    if not m:
        raise CharmError(f'charm "{charm}" storage "{name}": value "{value}" does not match '
                         "'m', 'm-n', or 'm+'")
    low = int(m.group(1))
    high = -1 if m.group(2) in ("-", "+") else int(m.group(2)[1:])
    if high != -1 and high < max(low, 1):
        raise CharmError(f'charm "{charm}" storage "{name}": invalid maximum count {high}')
    return low, high


def _storage_spec(charm: str, name: str, spec) -> StorageSpec:
    """One metadata ``storage:`` entry, with charm/meta.go's checks (juju-semantics-more 1.1)."""
    spec = spec if isinstance(spec, dict) else {}
    kind = spec.get("type")
    if not kind:
        raise CharmError(f'charm "{charm}" storage "{name}": type must be specified')
    if kind not in ("filesystem", "block"):
        raise CharmError(f'charm "{charm}" storage "{name}": invalid storage type "{kind}"')
    if kind == "block" and spec.get("location"):
        raise CharmError(f'charm "{charm}" storage "{name}": location may not be specified '
                         'for "type: block"')
    low, high = _count_range(charm, name, (spec.get("multiple") or {}).get("range", 1))
    size = 0
    if spec.get("minimum-size") is not None:
        try:
            size = storagelib.parse_size(str(spec["minimum-size"]))
        except ValueError as e:
            raise CharmError(f'charm "{charm}" storage "{name}": {e}') from None
    return StorageSpec(name=name, type=kind, location=str(spec.get("location") or ""),
                       minimum_size=size, count_min=low, count_max=high,
                       shared=bool(spec.get("shared", False)),
                       read_only=bool(spec.get("read-only", False)),
                       description=str(spec.get("description") or ""))


def _revision_file(path: str) -> int:
    try:
        with open(os.path.join(path, "revision")) as f:
            return max(0, int(f.read().strip() or 0))
    except (OSError, ValueError):
        return 0


def load_charm(path: str) -> Charm:
    """Read the built charm at ``path``.

    :raises CharmError: when the folder or its metadata.yaml is missing or bad.
    """
    path = os.path.abspath(path)
    if not os.path.isdir(path):
        raise CharmError(f'charm or bundle at "{path}" not found')
    meta = _read_yaml(os.path.join(path, "metadata.yaml"))
    if not isinstance(meta, dict) or not meta.get("name"):
        raise CharmError(f'"{path}" is not a charm: metadata.yaml missing or without a name')
    config = _read_yaml(os.path.join(path, "config.yaml")) or {}
    options = (config.get("options") or {}) if isinstance(config, dict) else {}
    actions = _read_yaml(os.path.join(path, "actions.yaml")) or {}
    if not isinstance(actions, dict):
        raise CharmError("actions.yaml is not a mapping")
    for name in actions:
        if not ACTION_NAME.match(str(name)):
            raise CharmError(f'bad action name "{name}"')
    endpoints = _endpoints(meta)
    subordinate = bool(meta.get("subordinate", False))
    if subordinate and not any(e.role == "requires" and e.scope == "container"
                               for e in endpoints):
        raise CharmError(f'subordinate charm "{meta["name"]}" lacks "requires" relation '
                         'with container scope')
    return Charm(path=path, name=str(meta["name"]), subordinate=subordinate,
                 endpoints=endpoints, options={str(k): dict(v or {}) for k, v in options.items()},
                 actions={str(k): dict(v or {}) for k, v in actions.items()},
                 extra_bindings=tuple(sorted((meta.get("extra-bindings") or {}).keys())),
                 storage={str(k): _storage_spec(str(meta["name"]), str(k), v)
                          for k, v in (meta.get("storage") or {}).items()},
                 resources=_resources(meta), revision=_revision_file(path))


# --- config -----------------------------------------------------------------

def coerce_option(charm: Charm, key: str, value: object) -> object:
    """Check (and convert from string) one config value as Juju's ``juju config`` does.

    :raises CharmError: ``unknown option "x"`` or ``option "x" expected int, got "y"``.
    """
    if key not in charm.options:
        raise CharmError(f'unknown option "{key}"')
    typ = charm.options[key].get("type", "string")
    if value is None:
        return None
    if typ in ("string", "secret"):
        return value if isinstance(value, str) else _yaml_str(value)
    if isinstance(value, str):
        return _from_string(key, typ, value)
    want = _OPTION_TYPES.get(typ, str)
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, want) or (isinstance(value, bool) and want is not bool):
        raise CharmError(f'option "{key}" expected {typ}, got {value!r}')
    return value


_BOOLS = {"true": True, "yes": True, "on": True, "1": True,
          "false": False, "no": False, "off": False, "0": False}


def _from_string(key: str, typ: str, value: str) -> object:
    try:
        if typ == "int":
            return int(value)
        if typ == "float":
            return float(value)
        if typ == "boolean":
            return _BOOLS[value.lower()]
    except (ValueError, KeyError):
        pass
    raise CharmError(f'option "{key}" expected {typ}, got "{value}"')


def _yaml_str(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- actions ----------------------------------------------------------------

_ACTION_KEYS = ("description", "title", "required", "parallel", "execution-group", "params")


def action_schema(spec: dict) -> dict:
    """Juju's JSON schema for one actions.yaml entry (section 5.1)."""
    schema = {"type": "object", "description": spec.get("description", ""),
              "properties": copy.deepcopy(spec.get("params") or {})}
    if spec.get("title"):
        schema["title"] = spec["title"]
    if spec.get("required"):
        schema["required"] = list(spec["required"])
    for k, v in spec.items():
        if k not in _ACTION_KEYS:
            schema[k] = copy.deepcopy(v)
    schema.setdefault("additionalProperties", True)
    return schema


def _path(err: jsonschema.ValidationError) -> str:
    parts = ["(root)"] + [str(p) for p in err.absolute_path]
    return ".".join(parts)


_GO_TYPES = {"integer": "integer", "number": "number", "string": "string",
             "boolean": "boolean", "object": "object", "array": "array"}


def _go_message(err: jsonschema.ValidationError) -> str:
    """One error in gojsonschema's words, as Juju prints them."""
    v = err.validator
    if v == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        return "; ".join(f'additional property "{k}" is not allowed' for k in extra) or err.message
    if v == "required":
        m = re.match(r"'(.*)' is a required property", err.message)
        return f'"{m.group(1) if m else err.message}" is required'
    if v == "type":
        want = err.validator_value
        want = "/".join(want) if isinstance(want, list) else _GO_TYPES.get(want, want)
        return f"must be of type {want}"
    if v == "enum":
        return "must be one of the following: " + ", ".join(
            f'"{x}"' if isinstance(x, str) else str(x) for x in err.validator_value)
    if v == "minimum":
        return f"must be greater than or equal to {err.validator_value}"
    if v == "maximum":
        return f"must be less than or equal to {err.validator_value}"
    if v == "minLength":
        return f"string length must be greater than or equal to {err.validator_value}"
    if v == "maxLength":
        return f"string length must be less than or equal to {err.validator_value}"
    if v == "pattern":
        return f'does not match pattern "{err.validator_value}"'
    return err.message


def _insert_defaults(schema: dict, params: dict) -> dict:
    out = dict(params)
    for key, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        if key not in out and "default" in prop:
            out[key] = copy.deepcopy(prop["default"])
        elif key in out and isinstance(out[key], dict) and prop.get("type") == "object":
            out[key] = _insert_defaults(prop, out[key])
    return out


def validate_action(charm: Charm, name: str, params: dict) -> dict:
    """Validate ``params`` for action ``name`` then insert defaults (Juju's order).

    :returns: the parameters with schema defaults filled in.
    :raises CharmError: ``validation failed: (root) : ...``.
    """
    schema = action_schema(charm.actions[name])
    try:
        validator = jsonschema.Draft4Validator(schema)
    except jsonschema.SchemaError as e:
        raise CharmError(f"invalid params schema for action {name}: {e.message}") from e
    errors = sorted(validator.iter_errors(params), key=lambda e: (_path(e), e.message))
    if errors:
        text = ", ".join(f"{_path(e)} : {_go_message(e)}" for e in errors)
        raise CharmError(f"validation failed: {text}")
    return _insert_defaults(schema, params)
