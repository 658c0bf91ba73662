"""Parse a bundle file plus overlays into what the controller deploys.

Errors read like juju's: ``cannot deploy bundle: ...`` (the CLI adds ``ERROR``).
"""

import dataclasses
import os
import re
from typing import Dict, List, Optional, Tuple

import yaml

from yard import charm as charmlib


class BundleError(Exception):
    """The bundle cannot be deployed; the text says why (juju's wording)."""

    def __init__(self, message: str):
        super().__init__(f"cannot deploy bundle: {message}")


@dataclasses.dataclass(frozen=True)
class BundleApp:
    """One application of a bundle."""

    name: str
    charm: str  # absolute path of the built charm folder
    num_units: int = 1
    options: Dict[str, object] = dataclasses.field(default_factory=dict)
    to: Tuple[str, ...] = ()
    #: ``storage:`` as ``name=constraints`` directives (``data: 64M`` -> ``data=64M``)
    storage: Tuple[str, ...] = ()
    resources: Dict[str, str] = dataclasses.field(default_factory=dict)  # name -> abs path


@dataclasses.dataclass(frozen=True)
class Bundle:
    """A parsed bundle: applications in file order, relations as endpoint pairs."""

    applications: Tuple[BundleApp, ...]
    relations: Tuple[Tuple[str, str], ...]
    machines: Tuple[str, ...] = ()
    saas: Tuple[Tuple[str, str], ...] = ()   # (name, offer URL): juju's ``saas:`` section


_PLACEMENT = re.compile(r"^(new|\d+|lxd:\d+|lxc:\d+|lxd|[a-z][a-z0-9-]*(/\d+)?)$")


def _load(path: str) -> dict:
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except FileNotFoundError:
        raise BundleError(f'bundle file "{path}" not found') from None
    except yaml.YAMLError as e:
        raise BundleError(f"cannot unmarshal bundle contents: yaml: {_yaml_text(e)}") from None
    if not isinstance(data, dict):
        raise BundleError("cannot unmarshal bundle contents: not a mapping")
    return data


def _yaml_text(e: yaml.YAMLError) -> str:
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e)
    if mark is not None:
        return f"line {mark.line + 1}: {problem}"
    return problem


def _apps_section(data: dict, path: str) -> dict:
    apps = data.get("applications", data.get("services"))
    if apps is None:
        return {}
    if not isinstance(apps, dict):
        raise BundleError(f'{os.path.basename(path)}: "applications" must be a mapping')
    return apps


def _merge(base: dict, overlay: dict) -> dict:
    out = dict(base)
    for k, v in overlay.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _resolve_charm(spec: dict, name: str, base_dir: str) -> dict:
    spec = dict(spec)
    if "charm" in spec and isinstance(spec["charm"], str):
        spec["charm"] = os.path.normpath(os.path.join(base_dir, spec["charm"]))
    if isinstance(spec.get("resources"), dict):  # local files: relative to this file
        spec["resources"] = {k: os.path.normpath(os.path.join(base_dir, v))
                             if isinstance(v, str) else v
                             for k, v in spec["resources"].items()}
    return spec


def parse(path: str, overlays: Optional[List[str]] = None) -> Bundle:
    """Read ``path`` and apply ``overlays`` in order.

    :raises BundleError: on bad YAML, unknown keys' types, missing charms,
        bad placement or relations naming unknown applications.
    """
    data = _load(path)
    base_dir = os.path.dirname(os.path.abspath(path))
    apps = {}
    for name, spec in _apps_section(data, path).items():
        if not isinstance(spec, dict):
            raise BundleError(f'application "{name}" must be a mapping')
        apps[str(name)] = _resolve_charm(spec, name, base_dir)
    relations = list(data.get("relations") or [])
    machines = [str(m) for m in (data.get("machines") or {})]
    saas = _saas(data)
    for opath in overlays or []:
        odata = _load(opath)
        odir = os.path.dirname(os.path.abspath(opath))
        for name, spec in _apps_section(odata, opath).items():
            if spec is None:
                apps.pop(str(name), None)
                continue
            if not isinstance(spec, dict):
                raise BundleError(f'application "{name}" must be a mapping')
            apps[str(name)] = _merge(apps.get(str(name), {}), _resolve_charm(spec, name, odir))
        relations.extend(odata.get("relations") or [])
        machines.extend(str(m) for m in (odata.get("machines") or {}))
        saas.update(_saas(odata))
    return Bundle(applications=tuple(_app(n, s, machines) for n, s in apps.items()),
                  relations=tuple(_relations(relations, {**apps, **saas})),
                  machines=tuple(machines), saas=tuple(saas.items()))


def _saas(data: dict) -> Dict[str, str]:
    """``saas: {name: {url: [admin/]model.offer}}`` (cross-model, controller/cmr.py)."""
    out = {}
    for name, spec in (data.get("saas") or {}).items():
        if not isinstance(spec, dict) or not spec.get("url"):
            raise BundleError(f'saas "{name}" must be a mapping with a url')
        out[str(name)] = str(spec["url"])
    return out


def _app(name: str, spec: dict, machines: List[str]) -> BundleApp:
    charm = spec.get("charm")
    if not isinstance(charm, str) or not charm:
        raise BundleError(f'application "{name}" has no charm')
    if not os.path.isdir(charm):
        raise BundleError(f'charm path in application "{name}" does not exist: {charm}')
    num = spec.get("num_units", spec.get("scale", 1))
    if not isinstance(num, int) or isinstance(num, bool) or num < 0:
        raise BundleError(f'application "{name}": num_units must be a non-negative integer')
    options = spec.get("options") or {}
    if not isinstance(options, dict):
        raise BundleError(f'application "{name}": options must be a mapping')
    to = _placements(name, spec.get("to") or [], machines)
    try:
        meta = charmlib.load_charm(charm)
        opts = {k: charmlib.coerce_option(meta, k, v) for k, v in options.items()}
    except charmlib.CharmError as e:
        raise BundleError(f'application "{name}": {e}') from None
    if meta.subordinate and num not in (0, None):
        num = 0
    storage = tuple(f"{k}={v}" for k, v in sorted((spec.get("storage") or {}).items()))
    return BundleApp(name=name, charm=charm, num_units=num, options=opts, to=to,
                     storage=storage, resources=_resources(name, spec.get("resources"), meta))


def _resources(name: str, spec, meta: charmlib.Charm) -> Dict[str, str]:
    """A bundle's ``resources:``: local files only (a number is a store revision)."""
    if not spec:
        return {}
    if not isinstance(spec, dict):
        raise BundleError(f'application "{name}": resources must be a mapping')
    for res, path in spec.items():
        if res not in meta.resources:
            raise BundleError(f'application "{name}": unrecognized resource "{res}"')
        if not isinstance(path, str):
            raise BundleError(f'application "{name}": resource "{res}": a store revision '
                              f"({path}) needs a store; yard takes a local file path")
        if not os.path.isfile(path):
            raise BundleError(f'application "{name}": resource "{res}": open {path}: '
                              "no such file or directory")
    return {str(k): v for k, v in spec.items()}


def _placements(name: str, to, machines: List[str]) -> Tuple[str, ...]:
    if isinstance(to, (str, int)):
        to = [to]
    to = tuple(str(t) for t in to)
    for t in to:
        if not _PLACEMENT.match(t):
            raise BundleError(f'invalid placement "{t}" in application "{name}"')
        m = re.match(r"^(?:lxd:|lxc:)?(\d+)$", t)
        if m and m.group(1) not in machines:
            raise BundleError(f'placement "{t}" in application "{name}" refers to '
                              f'machine "{m.group(1)}" not defined in this bundle')
    return to


def _relations(relations: list, apps: dict) -> List[Tuple[str, str]]:
    out = []
    for rel in relations:
        if not isinstance(rel, (list, tuple)) or len(rel) != 2:
            raise BundleError(f"relation {rel!r} must be a list of two endpoints")
        pair = []
        for ep in rel:
            if isinstance(ep, list) and len(ep) == 1:
                ep = ep[0]
            ep = str(ep)
            app = ep.split(":", 1)[0]
            if app not in apps:
                names = '", "'.join(str(x) for x in rel)
                raise BundleError(f'relation ["{names}"] refers to application "{app}" '
                                  "not defined in this bundle")
            pair.append(ep)
        out.append((pair[0], pair[1]))
    return out
