"""CLI verbs for actions and commands: ``run``, ``exec``, ``show-task``, ``show-operation``.

Operations and tasks are numbered from one sequence, as in Juju (see
``yard.controller.cmd_tasks``): the first ``run`` is operation 1 with task 2.
"""

import argparse
import sys
import time
from typing import List, Optional

import yaml

from yard.cli import CLIError, Client, _duration, _kv, _nest
from yard.cli_format import print_data


def _wait_task(c: Client, tid: int, timeout: Optional[float]) -> dict:
    deadline = time.time() + timeout if timeout else None
    while True:
        chunk = 30.0 if deadline is None else max(0.0, min(30.0, deadline - time.time()))
        task = c.call("task", id=tid, wait=chunk)
        if task["status"] in ("completed", "failed"):
            return task
        if deadline is not None and time.time() >= deadline:
            raise CLIError(f"timed out waiting for results from: task {tid}")


def _run_args(a):
    """``UNIT [UNIT ...] ACTION [k=v ...]`` as juju 3 takes them."""
    words = [a.target, a.action] + list(a.kv)
    targets = []
    while words and "/" in words[0] and "=" not in words[0]:
        targets.append(words.pop(0))
    if not targets or not words:
        raise CLIError("no action specified" if targets else "no unit specified")
    return targets, words[0], words[1:]


def cmd_run(c: Client, a) -> int:
    targets, action, kv = _run_args(a)
    params = {}
    if a.params:
        with open(a.params) as f:
            params.update(yaml.safe_load(f) or {})
    params.update(_nest(_kv(kv, parse_yaml=not a.string_args)))
    queued = _enqueue(c, "run", targets, action=action, params=params)
    op, first = queued[0]["operation"], queued[0]["id"]
    if a.background or a.format not in ("json", "yaml"):
        out = sys.stdout if a.background else sys.stderr
        print(_scheduled(queued, "Scheduled" if a.background else "Running"), file=out)
        if a.background:
            print(f"Check operation status with 'yard show-operation {op}'\n"
                  f"Check task status with 'yard show-task {first}'")
            return 0
        print(f"Waiting for task {first}...", file=sys.stderr)
    tasks = [_wait_task(c, res["id"], a.wait) for res in queued]
    if a.format in ("json", "yaml"):
        print_data({t["unit"]: _shown(t) for t in tasks}, a.format)
    code = 0
    for t in tasks:
        code = _print_task(t, None if a.format in ("json", "yaml") else a.format,
                           quiet=a.format in ("json", "yaml")) or code
    return code


def _enqueue(c: Client, verb: str, targets: List[str], **args) -> List[dict]:
    """One operation with a task per target, numbered as Juju numbers them."""
    queued = []
    for t in targets:
        op = queued[0]["operation"] if queued else None
        key = "target" if verb == "run" else "unit"
        queued.append(c.call(verb, operation=op, **{key: t}, **args))
    return queued


def _scheduled(queued: List[dict], verb: str) -> str:
    """cmd/juju/action/run.go: ``Running operation 1 with 1 task`` / ``- task 2 on unit-x-0``."""
    op, n = queued[0]["operation"], len(queued)
    if verb == "Scheduled" and n == 1:
        return f"Scheduled operation {op} with task {queued[0]['id']}"
    lines = [f"{verb} operation {op} with {n} task{'s' if n > 1 else ''}"]
    lines += [f"  - task {r['id']} on unit-{r['unit'].replace('/', '-')}" for r in queued]
    return "\n".join(lines) + "\n"


def _shown(task: dict) -> dict:
    return {k: v for k, v in task.items() if k not in ("action", "kind", "operation")}


def _print_task(task: dict, fmt: Optional[str], quiet: bool = False) -> int:
    if fmt in ("json", "yaml"):
        print_data({task["unit"]: _shown(task)}, fmt)
    elif not quiet:
        for line in task.get("log", []):
            print(line)
        results = {k: v for k, v in task["results"].items()
                   if k not in ("return-code", "stdout", "stderr", "Code", "Stdout", "Stderr")}
        if results:
            sys.stdout.write(yaml.safe_dump(results, default_flow_style=False))
        if task["results"].get("stdout"):
            sys.stdout.write(task["results"]["stdout"])
        if task["results"].get("stderr"):
            sys.stderr.write(task["results"]["stderr"])
    if task["status"] != "completed":
        code = task["results"].get("return-code", 1)
        why = f"\n {task['message']}" if task.get("message") else ""
        print(f'ERROR the following task failed:\n id "{task["id"]}" with return code {code}'
              f"{why}\n\nuse 'yard show-task {task['id']}' to inspect the failure",
              file=sys.stderr)
        return 1
    return 0


def cmd_show_task(c: Client, a) -> int:
    task = c.call("task", id=int(a.id), wait=0)
    print_data({k: v for k, v in task.items() if k not in ("kind", "operation")},
               a.format or "yaml")
    return 0


def cmd_show_operation(c: Client, a) -> int:
    """cmd/juju/action/showoperation.go's shape: summary, status, action, timing, tasks."""
    tasks = c.call("operation", id=int(a.id))["tasks"]
    first = tasks[0]
    status = "failed" if any(t["status"] == "failed" for t in tasks) else (
        "completed" if all(t["status"] == "completed" for t in tasks) else first["status"])
    units = ",".join("unit-" + t["unit"].replace("/", "-") for t in tasks)
    out = {"summary": f"{first['action']} run on {units}", "status": status,
           "action": {"name": first["action"]}, "timing": first["timing"],
           "tasks": {t["id"]: {"host": t["unit"], "status": t["status"], "timing": t["timing"],
                               "results": t["results"]} for t in tasks}}
    print_data(out, a.format or "yaml")
    return 0


def cmd_exec(c: Client, a) -> int:
    command = " ".join(a.command)
    if not a.unit:
        raise CLIError("You must specify a target, either through --all, --machine, "
                       "--application or --unit")
    code = 0
    tasks = _enqueue(c, "exec", a.unit, command=command)
    results = {}
    for t in tasks:
        task = _wait_task(c, t["id"], a.timeout)
        results[task["unit"]] = task
    if a.format in ("json", "yaml"):
        print_data({u: _shown(t) for u, t in results.items()}, a.format)
    for u, t in results.items():
        rc = t["results"].get("return-code", 1)
        if a.format not in ("json", "yaml"):
            sys.stdout.write(t["results"].get("stdout", ""))
            sys.stderr.write(t["results"].get("stderr", ""))
        code = code or rc
    return code


def register(add) -> None:
    """Add this area's verbs to the parser (see ``cli.build_parser``)."""
    sp = add("run", cmd_run, "run an action on a unit or APP/leader")
    sp.add_argument("target")
    sp.add_argument("action")
    sp.add_argument("kv", nargs="*")
    sp.add_argument("--params", default=None)
    sp.add_argument("--string-args", action="store_true")
    sp.add_argument("--background", action="store_true")
    sp.add_argument("--wait", type=lambda v: _duration(v), default=None)
    sp.add_argument("--format", choices=["plain", "json", "yaml"], default="plain")

    sp = add("show-task", cmd_show_task, "show a task's results")
    sp.add_argument("id")
    sp.add_argument("--format", choices=["yaml", "json"], default="yaml")

    sp = add("show-operation", cmd_show_operation, "show an operation and its tasks")
    sp.add_argument("id")
    sp.add_argument("--format", choices=["yaml", "json"], default="yaml")

    sp = add("exec", cmd_exec, "run commands on units in a hook context")
    sp.add_argument("--unit", action="append", default=[])
    sp.add_argument("--timeout", type=lambda v: _duration(v), default=None)
    sp.add_argument("--format", choices=["plain", "json", "yaml"], default="plain")
    sp.add_argument("command", nargs=argparse.REMAINDER)
