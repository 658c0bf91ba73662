"""What every room of the controller shares: errors, durations, small helpers."""

import functools
import re
import time

import yaml

from yard import charm as charmlib
from yard.model import Relation, Task, Unit

DEFAULT_CONFIG = {"update-status-hook-interval": "5m", "automatically-retry-hooks": True,
                  # yard's own key: Juju's leader lease is 2 x 30 s (see README, "Lost machines")
                  "leadership-lease-duration": "1m"}


class UserError(Exception):
    """An error the CLI prints as ``ERROR <text>`` and exits non-zero."""


def parse_duration(text) -> float:
    """``10s``, ``5m``, ``1h``, ``1m30s`` or a number of seconds."""
    if isinstance(text, (int, float)):
        return float(text)
    return _parse_duration_text(str(text))


@functools.lru_cache(maxsize=64)  # the views parse one interval for every unit on every pass
def _parse_duration_text(text: str) -> float:
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    if not parts or "".join(a + b for a, b in parts) != text.strip():
        raise UserError(f'time: invalid duration "{text}"')
    mult = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(a) * mult[b] for a, b in parts)


def container_of(u: Unit) -> str:
    """The principal unit whose container ``u`` lives in (itself for a principal)."""
    return u.principal or u.name


def relates(x: charmlib.Endpoint, y: charmlib.Endpoint, want_x, want_y) -> bool:
    """Whether endpoints x and y can form the relation the user asked for."""
    if (want_x and x.name != want_x) or (want_y and y.name != want_y):
        return False
    if x.interface != y.interface or {x.role, y.role} != {"provides", "requires"}:
        return False
    return bool(want_x or want_y or not (x.implicit and y.implicit))


def relation_type(r: Relation) -> str:
    if r.peer:
        return "peer"
    return "subordinate" if r.scope == "container" else "regular"


def ts(t: float) -> str:
    return time.strftime("%d %b %Y %H:%M:%SZ", time.gmtime(t or time.time()))


def task_json(task: Task) -> dict:
    """A task as ``juju run --format json`` shows it (under the unit name)."""
    d = {"id": str(task.id), "unit": task.unit, "status": task.status,
         "results": dict(task.results), "timing": {
             "enqueued": ts(task.enqueued), "started": ts(task.started) if task.started else "",
             "completed": ts(task.completed) if task.completed else ""},
         "action": task.name, "kind": task.kind, "operation": str(task.operation)}
    if task.message:
        d["message"] = task.message
    if task.log:
        d["log"] = [f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(t))} {m}"
                    for t, m in task.log]
    return d


def dump(obj) -> str:
    """YAML the way the CLI prints it."""
    return yaml.safe_dump(obj, default_flow_style=False, sort_keys=True)
