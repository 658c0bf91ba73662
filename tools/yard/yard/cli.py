"""The ``yard`` command line: juju's verbs, talking to the model's controller.

Every command connects to the controller of the model over its unix socket
(``$YARD_HOME/<model>/controller.sock``), starting the controller in the
background first if it is not running.  Errors print ``ERROR <text>`` on
stderr and exit 1, as juju does.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from typing import List, Optional

import yaml

from yard import wire
from yard.cli_format import format_status, print_data, table

DEFAULT_MODEL = "default"


class CLIError(Exception):
    """Printed as ``ERROR <text>``; exit 1."""


def yard_home() -> str:
    """``$YARD_HOME`` or ``./.yard``."""
    return os.path.abspath(os.environ.get("YARD_HOME") or ".yard")


class Client:
    """Talks to (and starts) the controller of one model."""

    def __init__(self, model: str, home: Optional[str] = None):
        self.model = model
        self.home = home or yard_home()
        self.dir = os.path.join(self.home, model)
        self.sock = os.path.join(self.dir, "controller.sock")

    def _connect(self) -> socket.socket:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.sock)
        return s

    def running(self) -> bool:
        """Whether the controller answers."""
        try:
            self._connect().close()
            return True
        except OSError:
            return False

    def start(self) -> None:
        """Start the controller daemon if it is not running, and wait for it."""
        if self.running():
            return
        os.makedirs(self.dir, exist_ok=True)
        pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, YARD_HOME=self.home)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_parent, env.get("PYTHONPATH"))
                                            if p)
        log = open(os.path.join(self.dir, "controller.log"), "ab")
        subprocess.Popen([sys.executable, "-m", "yard", "-m", self.model, "controller", "run"],
                         env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                         start_new_session=True, close_fds=True, cwd="/")
        log.close()
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.running():
                return
            time.sleep(0.05)
        raise CLIError(f'cannot start the controller of model "{self.model}"; see '
                       f'{os.path.join(self.dir, "controller.log")}')

    def call(self, cmd: str, start: bool = True, **args) -> object:
        """Send one request; returns its result or raises :class:`CLIError`."""
        if start:
            self.start()
        try:
            resp = wire.request(self.sock, cmd, args)
        except wire.NotRunning:
            raise CLIError(f'model "{self.model}" not found') from None
        except wire.NoAnswer as e:
            raise CLIError(str(e)) from None
        if not resp.get("ok"):
            raise CLIError(resp.get("error", "unknown error"))
        return resp.get("result")


# ------------------------------------------------------------------ helpers
def _kv(pairs: List[str], parse_yaml: bool = True) -> dict:
    out = {}
    for p in pairs:
        if "=" not in p:
            raise CLIError(f'argument "{p}" must be of the form key=value')
        k, v = p.split("=", 1)
        out[k] = _yaml_value(v) if parse_yaml else v
    return out


def _yaml_value(v: str) -> object:
    try:
        return yaml.safe_load(v) if v != "" else ""
    except yaml.YAMLError:
        return v


def _nest(params: dict) -> dict:
    out: dict = {}
    for k, v in params.items():
        cur = out
        parts = k.split(".")
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = v
    return out


# ----------------------------------------------------------------- commands
def cmd_status(c: Client, a) -> int:
    st = c.call("status")
    if a.format in ("json", "yaml"):
        print_data(st, a.format)
        return 0
    sys.stdout.write(format_status(st, a.relations))
    return 0


def cmd_deploy(c: Client, a) -> int:
    path = os.path.abspath(a.path)
    from yard.cli_resources import resource_args
    res = c.call("deploy", path=path, overlays=[os.path.abspath(o) for o in a.overlay],
                 name=a.name, num_units=a.num_units,
                 config=_config_args(a.config, _app_name(path, a.name)),
                 to=a.to, storage=a.storage, resources=resource_args(a.resource))
    print(res.get("message", ""), file=sys.stderr)
    return _maybe_wait(c, a)


def _app_name(path: str, name: Optional[str]) -> Optional[str]:
    """The application a deploy creates: --name, else the charm's own name."""
    if name or not os.path.isdir(path):
        return name
    from yard import charm as charmlib
    try:
        return charmlib.load_charm(path).name
    except charmlib.CharmError:
        return None  # the controller reports the broken charm


def _config_args(items: List[str], app: Optional[str] = None) -> dict:
    """``--config k=v`` pairs, and YAML files holding one section per application.

    As in Juju, only the deployed application's section of a file is read;
    other applications' sections may share the file.
    """
    out = {}
    for item in items or []:
        if "=" in item:
            out.update(_kv([item], parse_yaml=False))
        else:
            with open(item) as f:
                data = yaml.safe_load(f) or {}
            section = data.get(app) if isinstance(data, dict) else None
            if isinstance(section, dict):
                out.update(section)
    return out


def _maybe_wait(c: Client, a) -> int:
    if getattr(a, "wait", False):
        return cmd_wait(c, argparse.Namespace(timeout=getattr(a, "timeout", 600.0)))
    return 0


def cmd_wait(c: Client, a) -> int:
    c.call("wait", timeout=float(a.timeout))
    return 0


def cmd_config(c: Client, a) -> int:
    sets = [x for x in a.args if "=" in x]
    gets = [x for x in a.args if "=" not in x]
    if sets or a.reset:
        reset = [k for r in a.reset for k in r.split(",") if k]
        c.call("config", app=a.app, values=_kv(sets, parse_yaml=False), reset=reset)
        return 0
    if gets:
        res = c.call("config", app=a.app, key=gets[0])
        v = res["value"]
        if a.format == "json":
            print(json.dumps(v))
        elif isinstance(v, bool):
            print("true" if v else "false")
        elif v is not None:
            print(v)
        return 0
    print_data(c.call("config", app=a.app), a.format or "yaml")
    return 0


def cmd_model_config(c: Client, a) -> int:
    sets = [x for x in a.args if "=" in x]
    gets = [x for x in a.args if "=" not in x]
    if sets:
        c.call("model-config", values=_kv(sets, parse_yaml=False))
        return 0
    if gets:
        v = c.call("model-config", key=gets[0])["value"]
        print(json.dumps(v) if a.format == "json" else (str(v).lower() if isinstance(v, bool)
                                                        else v))
        return 0
    cfg = c.call("model-config")["config"]
    if a.format in ("json", "yaml"):
        print_data(cfg, a.format)
        return 0
    rows = [["Attribute", "From", "Value"]]
    for k, v in cfg.items():
        val = v["value"]
        rows.append([k, v["source"], str(val).lower() if isinstance(val, bool) else str(val)])
    sys.stdout.write(table(rows))
    return 0


def cmd_relate(c: Client, a) -> int:
    c.call("relate", a=a.app1, b=a.app2)
    return _maybe_wait(c, a)


def cmd_remove_relation(c: Client, a) -> int:
    c.call("remove-relation", a=a.app1, b=a.app2)
    return _maybe_wait(c, a)


def cmd_add_unit(c: Client, a) -> int:
    c.call("add-unit", app=a.app, num_units=a.num_units, to=a.to, attach_storage=a.attach_storage)
    return _maybe_wait(c, a)


def cmd_show_unit(c: Client, a) -> int:
    print_data(c.call("show-unit", units=a.units), a.format or "yaml")
    return 0


def cmd_upgrade_charm(c: Client, a) -> int:
    c.call("upgrade-charm", app=a.app, path=os.path.abspath(a.path))
    print(f'Added local charm "{a.app}" to the model.', file=sys.stderr)
    return _maybe_wait(c, a)


def cmd_resolved(c: Client, a) -> int:
    units = list(a.units)
    if a.all:
        st = c.call("status")
        units = [u for app in st["applications"].values() for u, s in
                 (app.get("units") or {}).items() if s["workload-status"]["current"] == "error"]
    if not units:
        raise CLIError("no unit specified")
    for u in units:
        c.call("resolved", unit=u, no_retry=a.no_retry)
    return 0


def _log_line(row) -> str:
    _, ts, entity, level, module, message = row
    return f"{entity}: {time.strftime('%H:%M:%S', time.localtime(ts))} {level} {module} {message}"


def _log_match(row, includes: List[str], level: Optional[str]) -> bool:
    levels = ["TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
    if level and row[3] in levels and levels.index(row[3]) < levels.index(level.upper()):
        return False
    if not includes:
        return True
    entity = row[2]
    for inc in includes:
        tag = inc if inc.startswith(("unit-", "machine-")) else "unit-" + inc.replace("/", "-")
        if entity == tag or ("/" not in inc and entity.startswith(tag + "-")):
            return True
    return False


def cmd_debug_log(c: Client, a) -> int:
    rows = [r for r in c.call("logs", after=0) if _log_match(r, a.include, a.level)]
    if not a.replay:
        rows = rows[-a.lines:] if a.lines else []
    for r in rows:
        print(_log_line(r), flush=True)
    if not a.tail:
        return 0
    last = max([r[0] for r in c.call("logs", after=0)] or [0])
    try:
        while True:
            time.sleep(0.5)
            new = c.call("logs", after=last)
            for r in new:
                last = r[0]
                if _log_match(r, a.include, a.level):
                    print(_log_line(r), flush=True)
    except KeyboardInterrupt:
        return 0


def cmd_hooks(c: Client, a) -> int:
    rows = c.call("hooks", unit=a.unit)
    if a.format in ("json", "yaml"):
        print_data(rows, a.format)
        return 0
    lines = [["Unit", "Hook", "Start", "Duration", "Exit"]]
    for r in rows:
        start = time.strftime("%H:%M:%S", time.localtime(r["start"])) + \
            f".{int((r['start'] % 1) * 1000):03d}"
        lines.append([r["unit"], r["hook"] + (" (missing)" if r["skipped"] else ""), start,
                      f"{r['duration']:.3f}s", str(r["exit-code"])])
    sys.stdout.write(table(lines))
    return 0


def cmd_export_bundle(c: Client, a) -> int:
    data = c.call("export-bundle")
    text = yaml.safe_dump(data, default_flow_style=False, sort_keys=False)
    if a.filename:
        with open(a.filename, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


def cmd_fail_hook(c: Client, a) -> int:
    c.call("fail-hook", unit=a.unit, hook=a.hook)
    return 0


def cmd_destroy_model(c: Client, a) -> int:
    if not os.path.isdir(c.dir):
        raise CLIError(f'model "{c.model}" not found')
    c.call("destroy-model")
    deadline = time.time() + 120
    while time.time() < deadline and (c.running() or os.path.exists(c.dir)):
        time.sleep(0.1)
    print(f'Model "{c.model}" destroyed.', file=sys.stderr)
    return 0


def cmd_controller(c: Client, a) -> int:
    if a.action == "run":
        from yard import controller
        controller.serve(c.home, c.model)
        return 0
    if a.action == "start":
        c.start()
        return 0
    if a.action == "stop":
        if c.running():
            c.call("shutdown", start=False)
            deadline = time.time() + 30
            while c.running() and time.time() < deadline:
                time.sleep(0.05)
        return 0
    print("running" if c.running() else "stopped")
    return 0


def cmd_models(c: Client, a) -> int:
    """Folders of YARD_HOME that hold a model (its state), not yard's own (``lxd``)."""
    home = c.home
    names = sorted(d for d in os.listdir(home)
                   if os.path.isfile(os.path.join(home, d, "state.db"))) \
        if os.path.isdir(home) else []
    for n in names:
        print(n)
    return 0


# ------------------------------------------------------------------- parser
def _add_model(p: argparse.ArgumentParser) -> None:
    p.add_argument("-m", "--model", default=argparse.SUPPRESS, help="model to operate in")


def _add_wait(p: argparse.ArgumentParser) -> None:
    p.add_argument("--wait", action="store_true", help="block until the model settles")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds for --wait")


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree of every verb."""
    p = _Parser(prog="yard", description="Deploy charm bundles on one machine with Juju's "
                "semantics, on LXD containers.")
    p.add_argument("-m", "--model", default=None, help="model (default: $YARD_MODEL or "
                   "\"default\")")
    sub = p.add_subparsers(dest="verb", metavar="COMMAND")

    def add(name, fn, help_, aliases=()):
        sp = sub.add_parser(name, help=help_, aliases=list(aliases))
        _add_model(sp)
        sp.set_defaults(fn=fn)
        return sp

    sp = add("status", cmd_status, "show the model's applications, units and machines")
    sp.add_argument("--format", choices=["tabular", "json", "yaml"], default="tabular")
    sp.add_argument("--relations", action="store_true")
    sp.add_argument("--watch", type=float, default=None, help="refresh every N seconds")

    sp = add("deploy", cmd_deploy, "deploy a bundle file or a built charm folder")
    sp.add_argument("path")
    sp.add_argument("name", nargs="?")
    sp.add_argument("--overlay", action="append", default=[])
    sp.add_argument("--resource", action="append", default=[], metavar="name=path")
    sp.add_argument("-n", "--num-units", type=int, default=1)
    sp.add_argument("--config", action="append", default=[])
    sp.add_argument("--to", default=None)
    _add_wait(sp)

    sp = add("wait", cmd_wait, "block until every unit is idle with nothing pending")
    sp.add_argument("--timeout", type=float, default=600.0)

    sp = add("config", cmd_config, "get or set application config")
    sp.add_argument("app")
    sp.add_argument("args", nargs="*")
    sp.add_argument("--reset", action="append", default=[])
    sp.add_argument("--format", choices=["yaml", "json"], default=None)

    sp = add("model-config", cmd_model_config, "get or set model config")
    sp.add_argument("args", nargs="*")
    sp.add_argument("--format", choices=["tabular", "yaml", "json"], default="tabular")

    for name, fn, aliases in (("integrate", cmd_relate, ("relate", "add-relation")),
                              ("remove-relation", cmd_remove_relation, ())):
        sp = add(name, fn, f"{name.replace('-', ' ')} between two applications", aliases)
        sp.add_argument("app1")
        sp.add_argument("app2")
        _add_wait(sp)

    sp = add("add-unit", cmd_add_unit, "add units to an application")
    sp.add_argument("app")
    sp.add_argument("-n", "--num-units", type=int, default=1)
    sp.add_argument("--to", default=None)
    _add_wait(sp)

    sp = add("show-unit", cmd_show_unit, "show a unit with its relation data")
    sp.add_argument("units", nargs="+")
    sp.add_argument("--format", choices=["yaml", "json"], default="yaml")

    sp = add("upgrade-charm", cmd_upgrade_charm, "upgrade an application's charm",
             aliases=("refresh",))
    sp.add_argument("app")
    sp.add_argument("--path", required=True)
    _add_wait(sp)

    sp = add("resolved", cmd_resolved, "mark a unit's failed hook resolved",
             aliases=("resolve",))
    sp.add_argument("units", nargs="*")
    sp.add_argument("--no-retry", action="store_true")
    sp.add_argument("--all", action="store_true")

    sp = add("debug-log", cmd_debug_log, "show the model's log")
    sp.add_argument("--replay", action="store_true")
    sp.add_argument("-i", "--include", action="append", default=[])
    sp.add_argument("-n", "--lines", type=int, default=10)
    sp.add_argument("--level", default=None)
    sp.add_argument("--no-tail", dest="tail", action="store_false")
    sp.add_argument("--tail", dest="tail", action="store_true")
    sp.set_defaults(tail=True)

    sp = add("hooks", cmd_hooks, "one row per hook run")
    sp.add_argument("unit", nargs="?")
    sp.add_argument("--format", choices=["tabular", "json", "yaml"], default="tabular")

    sp = add("export-bundle", cmd_export_bundle, "print the model as a bundle")
    sp.add_argument("--filename", default=None)

    sp = add("fail-hook", cmd_fail_hook, "make the next run of a hook fail (fault injection)")
    sp.add_argument("unit")
    sp.add_argument("hook")

    sp = add("destroy-model", cmd_destroy_model, "remove every machine and the model's state")
    sp.add_argument("model_name", nargs="?")
    sp.add_argument("--no-prompt", "-y", action="store_true")
    sp.add_argument("--force", action="store_true")

    sp = add("controller", cmd_controller, "controller internals: start, stop, status")
    sp.add_argument("action", choices=["start", "stop", "status", "run"])

    add("models", cmd_models, "list models")

    # Later areas' verbs: cli_<area>.py, register(add); imported here (they import cli).
    from yard import cli_cmr, cli_machines, cli_resources, cli_secrets, cli_storage, cli_tasks
    for area in (cli_cmr, cli_secrets, cli_machines, cli_storage, cli_tasks, cli_resources):
        area.register(add)
    cli_storage.extend(sub.choices)
    return p


def _duration(v: str) -> float:
    from yard.controller import UserError, parse_duration
    try:
        return parse_duration(v)
    except UserError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


class _Parser(argparse.ArgumentParser):
    """argparse with juju's error style: ``ERROR <text>`` and exit 2."""

    def error(self, message):
        self.exit(2, f"ERROR {message}\n")


def _target_model(a) -> str:
    if getattr(a, "model_name", None):
        return a.model_name
    return getattr(a, "model", None) or os.environ.get("YARD_MODEL") or DEFAULT_MODEL


def _run(client: Client, a) -> int:
    if getattr(a, "watch", None):
        while True:
            sys.stdout.write("\x1b[H\x1b[2J")
            a.fn(client, a)
            time.sleep(a.watch)
    return a.fn(client, a)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``yard`` console script."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        a = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    if not getattr(a, "verb", None):
        parser.print_help()
        return 0
    if a.verb == "exec" and a.command and a.command[0] == "--":
        a.command = a.command[1:]
    try:
        return _run(Client(_target_model(a)), a)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `yard debug-log | head` and the like
        sys.stderr.close()
        return 0
    except (CLIError, OSError, yaml.YAMLError) as e:
        print(f"ERROR {e}", file=sys.stderr)
        return 1
