"""The model controller: owns the state, schedules the uniters, serves the CLI.

One process per model.  A scheduler thread asks the resolver for each idle
unit's next operation and runs it in a thread pool, holding a per-unit and a
per-machine lock (Juju's machine lock), so hooks of one unit run in series and
one at a time per machine, in parallel across machines.
"""

import dataclasses
import fcntl
import importlib
import json
import os
import re
import shutil
import signal
import socketserver
import threading
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Tuple

import yaml

from yard import bundle as bundlelib
from yard import charm as charmlib
from yard import resolver, runner
from yard.ctximpl import HookContextImpl, port_text
from yard.model import (Application, Bag, Machine, ModelState, Op, Relation, RelEnd, RelRemote,
                        RemoteState, StatusValue, Task, Unit, bag_key, unit_number, unit_tag)
from yard.store import Store

DEFAULT_CONFIG = {"update-status-hook-interval": "5m", "automatically-retry-hooks": True}


class UserError(Exception):
    """An error the CLI prints as ``ERROR <text>`` and exits non-zero."""


def parse_duration(text) -> float:
    """``10s``, ``5m``, ``1h``, ``1m30s`` or a number of seconds."""
    if isinstance(text, (int, float)):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", str(text))
    if not parts or "".join(a + b for a, b in parts) != str(text).strip():
        raise UserError(f'time: invalid duration "{text}"')
    mult = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(a) * mult[b] for a, b in parts)


def _tools():
    """The hook tool server module, its client and jujud (overridable for tests)."""
    name = os.environ.get("YARD_TOOLS_MODULE", "yard.tools.server")
    mod = importlib.import_module(name)
    base = os.path.dirname(mod.__file__)
    client = getattr(mod, "CLIENT_PATH", os.path.join(base, "client.py"))
    jujud = getattr(mod, "JUJUD_PATH", os.path.join(base, "jujud"))
    return mod.ToolServer, list(mod.TOOL_NAMES), client, jujud


def make_provider(kind: str, model: str):
    """The provider named ``kind`` (``lxd`` or ``local``) for ``model``."""
    if kind == "local":
        from yard.provider.local import LocalProvider
        return LocalProvider(model)
    from yard.provider.lxd import LXDProvider  # written separately; imported lazily
    return LXDProvider(model)


class Controller:  # noqa: C901 - the controller is a facade over many small handlers
    """State, scheduler and request handlers of one model."""

    def __init__(self, home: str, model: str, provider=None, tools=None):
        self.home = home
        self.model = model
        self.dir = os.path.join(home, model)
        self.store = Store(os.path.join(self.dir, "state.db"))
        state = self.store.load()
        if state is None:
            state = ModelState(name=model, uuid=str(uuid.uuid4()),
                               provider=os.environ.get("YARD_PROVIDER", "lxd"),
                               config=dict(DEFAULT_CONFIG))
        else:
            state = _restarted(state)
        self.state = state
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.provider = provider or make_provider(state.provider, model)
        self._tools = tools
        self.tool_server = None
        self.tool_address = ""
        self.contexts: Dict[str, HookContextImpl] = {}
        self.busy_units = set()
        self.busy_machines = set()
        self.provisioning = set()
        self.fail_next = set()
        self.charms: Dict[str, charmlib.Charm] = {}
        self.pool = ThreadPoolExecutor(max_workers=32)
        self.stopping = False
        self.ready = False
        self.ready_error = ""
        self.thread = None
        self.dirty = True
        self.settings_cache: Dict[str, Dict[str, Dict[str, str]]] = {}
        self._destroyed = False

    # ------------------------------------------------------------------ setup
    def start(self) -> None:
        """Start the hook tool server and the scheduler thread."""
        self.thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self.thread.start()

    def _setup(self) -> None:
        try:
            self.provider.ensure_ready()
            server_cls, names, client, jujud = self._tools or _tools()
            client = self._native_client(client)
            self.tool_names, self.tool_client, self.jujud = names, client, jujud
            self.tool_server = server_cls(self.contexts.get, self.provider.host_address(), 0)
            host, port = self.tool_server.start()
            self.tool_address = f"{host}:{port}"
            self.ready = True
            self.debug_log("machine-0", "INFO", "juju.controller",
                           f"hook tools listening on {self.tool_address}")
        except Exception as e:  # noqa: BLE001 - reported in status and the log
            self.ready_error = str(e)
            self.debug_log("controller", "ERROR", "juju.controller",
                           f"cannot set up provider: {e}\n{traceback.format_exc()}")

    def _native_client(self, client: str) -> str:
        """The native build of the default client when it can be had, else ``client``."""
        from yard.tools import native, server
        if client != server.CLIENT_PATH:
            return client       # a test's own client
        built = native.build(native.cache_dir())
        self.debug_log("machine-0", "INFO", "juju.controller",
                       "hook tool client: " + ("native " + built if built else client))
        return built or client

    def stop(self) -> None:
        """Stop scheduling and the tool server (running hooks finish)."""
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        if self.thread:
            self.thread.join(timeout=10)
        if self.tool_server:
            self.tool_server.stop()
        self.pool.shutdown(wait=False)
        self._save()

    # ----------------------------------------------------------- state utils
    def _save(self) -> None:
        with self.lock:
            if self.dirty:
                self.store.save(self.state)
                self.dirty = False

    def _set(self, **changes) -> None:
        self.state = dataclasses.replace(self.state, **changes)
        self.dirty = True

    def update_unit(self, name: str, **changes) -> None:
        """Replace fields of a unit (no-op if it is gone)."""
        with self.cond:
            u = self.state.units.get(name)
            if u is None:
                return
            units = dict(self.state.units)
            units[name] = dataclasses.replace(u, **changes)
            self._set(units=units)
            self.cond.notify_all()

    def update_app(self, name: str, **changes) -> None:
        """Replace fields of an application."""
        with self.cond:
            a = self.state.applications.get(name)
            if a is None:
                return
            apps = dict(self.state.applications)
            apps[name] = dataclasses.replace(a, **changes)
            self._set(applications=apps)
            self.cond.notify_all()

    def _update_machine(self, mid: str, **changes) -> None:
        m = self.state.machines.get(mid)
        if m is None:
            return
        machines = dict(self.state.machines)
        machines[mid] = dataclasses.replace(m, **changes)
        self._set(machines=machines)

    def _update_relation(self, rid: int, **changes) -> None:
        rel = self.state.relations.get(rid)
        if rel is None:
            return
        rels = dict(self.state.relations)
        rels[rid] = dataclasses.replace(rel, **changes)
        self._set(relations=rels)

    def _update_task(self, tid: int, **changes) -> None:
        tasks = dict(self.state.tasks)
        tasks[tid] = dataclasses.replace(tasks[tid], **changes)
        self._set(tasks=tasks)
        self.cond.notify_all()

    def charm_of(self, app: str) -> charmlib.Charm:
        """The loaded charm of an application (cached per charm path)."""
        path = self.state.applications[app].charm_path
        if path not in self.charms:
            self.charms[path] = charmlib.load_charm(path)
        return self.charms[path]

    def app_config(self, app: str) -> Dict[str, object]:
        """Charm defaults overlaid with the user's settings."""
        cfg = self.charm_of(app).defaults()
        cfg.update(self.state.applications[app].config)
        return cfg

    def debug_log(self, entity: str, level: str, module: str, message: str) -> None:
        """Append a line to the model's debug log."""
        if "/" in entity:
            entity = unit_tag(entity)
        self.store.add_log(entity, level, module, message)

    def task_log(self, tid: int, message: str) -> None:
        """``action-log``: append a progress message to a task."""
        with self.cond:
            task = self.state.tasks[tid]
            self._update_task(tid, log=task.log + ((time.time(), message),))

    def leader_set(self, app: str, settings: Dict[str, str]) -> None:
        """Write leader settings now; bump the version if anything changed."""
        with self.cond:
            a = self.state.applications[app]
            data = dict(a.leader_settings)
            for k, v in settings.items():
                if v == "":
                    data.pop(k, None)
                else:
                    data[k] = v
            if data != a.leader_settings:
                self.update_app(app, leader_settings=data,
                                leader_settings_version=a.leader_settings_version + 1)

    def model_config(self) -> Dict[str, object]:
        """Model config with defaults."""
        cfg = dict(DEFAULT_CONFIG)
        cfg.update(self.state.config)
        return cfg

    # --------------------------------------------------------- remote views
    def _participates(self, unit: Unit, rel: Relation) -> bool:
        if rel.end_of(unit.app) is None:
            return False
        if rel.scope != "container" or rel.peer:
            return True
        other = rel.other_end(unit.app).app
        if not self.state.applications[unit.app].subordinate:
            return True
        return any(u.app == other and _container(u) == _container(unit)
                   for u in self.state.units.values())

    def _members(self, unit: Unit, rel: Relation) -> Dict[str, int]:
        other = rel.other_end(unit.app).app
        out = {}
        for name in rel.in_scope:
            u = self.state.units.get(name)
            if u is None or not u.alive or name == unit.name or u.app != other:
                continue
            if rel.scope == "container" and not rel.peer and _container(u) != _container(unit):
                continue  # Juju scopes container relations by principal unit
            out[name] = self.state.bags.get(bag_key(rel.id, name), Bag()).version
        return out

    def remote_state(self, unit: Unit) -> RemoteState:
        """What the controller says now, for one unit."""
        app = self.state.applications[unit.app]
        rels = {}
        for rel in self.state.relations.values():
            if not self._participates(unit, rel):
                continue
            end = rel.end_of(unit.app)
            other = rel.other_end(unit.app)
            if end.endpoint == "juju-info" and not rel.peer and self._implicit(end):
                continue  # the implicit side never runs hooks
            rels[rel.id] = RelRemote(
                id=rel.id, endpoint=end.endpoint, remote_app=other.app, peer=rel.peer,
                alive=rel.alive and app.alive,
                members=self._members(unit, rel),
                app_version=self.state.bags.get(bag_key(rel.id, other.app), Bag()).version)
        now = time.time()
        interval = parse_duration(self.model_config()["update-status-hook-interval"])
        retry = bool(self.model_config().get("automatically-retry-hooks", True))
        actions = tuple(t.id for t in sorted(self.state.tasks.values(), key=lambda t: t.id)
                        if t.unit == unit.name and t.status == "pending" and t.kind == "action")
        execs = tuple(t.id for t in sorted(self.state.tasks.values(), key=lambda t: t.id)
                      if t.unit == unit.name and t.status == "pending" and t.kind == "exec")
        leader_unit = self.state.units.get(app.leader) if app.leader else None
        pending = bool(leader_unit is not None and leader_unit.alive and
                       leader_unit.local.error is None and not leader_unit.local.leader)
        return RemoteState(
            unit=unit.name, alive=unit.alive, leader_pending=pending,
            config_version=app.config_version, charm_rev=app.charm_rev,
            leader=app.leader == unit.name,
            leader_settings_version=app.leader_settings_version, relations=rels,
            actions=actions, execs=execs,
            update_status_due=now - unit.last_update_status >= interval,
            retry_due=retry and unit.retry_at is not None and now >= unit.retry_at,
            resolved=unit.resolved)

    def _implicit(self, end: RelEnd) -> bool:
        ep = self.charm_of(end.app).endpoint(end.endpoint)
        return bool(ep and ep.implicit)

    # -------------------------------------------------------------- schedule
    def _loop(self) -> None:
        self._setup()
        while True:
            with self.cond:
                if self.stopping:
                    return
                try:
                    self._tick()
                except Exception:  # noqa: BLE001 - keep scheduling; log the bug
                    self.debug_log("controller", "ERROR", "juju.controller",
                                   traceback.format_exc())
                self.cond.wait(timeout=0.5)
            self._save()

    def _tick(self) -> None:
        if not self.ready:
            return
        self._elect_leaders()
        self._ensure_subordinates()
        self._reap()
        for mid, m in sorted(self.state.machines.items()):
            if m.status == "pending" and mid not in self.provisioning:
                self.provisioning.add(mid)
                self.pool.submit(self._provision, mid)
        for name in sorted(self.state.units, key=lambda n: (n.split("/")[0], unit_number(n))):
            self._schedule_unit(name)

    def _schedule_unit(self, name: str) -> None:
        for _ in range(50):  # local ops are applied at once; loop for the next one
            u = self.state.units.get(name)
            if u is None or name in self.busy_units or u.machine in self.busy_machines:
                return
            m = self.state.machines.get(u.machine)
            if m is None or m.status != "started":
                return
            op = resolver.next_op(u.local, self.remote_state(u))
            if op is None:
                return
            if op.kind == "local":
                self._apply_local(u, op)
                continue
            self._begin(u, op)
            return

    def _apply_local(self, u: Unit, op: Op) -> None:
        local = resolver.commit(u.local, op)
        self.update_unit(u.name, local=local)
        if op.hook == "forget":
            self._leave_scope(u.name, op.relation_id)

    def _begin(self, u: Unit, op: Op) -> None:
        self.busy_units.add(u.name)
        self.busy_machines.add(u.machine)
        changes = {}
        if op.kind == "hook" and op.hook != "update-status" and not op.skip:
            changes["agent"] = StatusValue("executing", f"running {op.hook} hook", time.time())
        if op.kind == "action":
            task = self.state.tasks[op.task_id]
            op = dataclasses.replace(op, hook=task.name)
            changes["agent"] = StatusValue("executing", f"running action {task.name}",
                                           time.time())
            self._update_task(op.task_id, status="running", started=time.time())
        if op.kind == "exec":
            self._update_task(op.task_id, status="running", started=time.time())
        if op.hook == "install" and not u.workload_set:
            changes["workload"] = StatusValue("maintenance", "installing charm software",
                                              time.time())
        if op.hook == "stop":
            changes["workload"] = StatusValue("maintenance",
                                              "cleaning up prior to charm deletion", time.time())
        if op.hook.endswith("-relation-created") and op.relation_id is not None:
            self._enter_scope(u, op.relation_id)
        self.update_unit(u.name, **changes)
        if op.remote_unit and op.relation_id is not None:  # a hook for U refreshes U's bag
            self.settings_cache.get(u.name, {}).pop(bag_key(op.relation_id, op.remote_unit), None)
        ctx = None
        if not op.skip:
            ctx = self._make_context(self.state.units[u.name], op)
            self.contexts[ctx.context_id] = ctx
        self.pool.submit(self._run, u.name, u.machine, op, ctx)

    def _make_context(self, u: Unit, op: Op) -> HookContextImpl:
        members, endpoints = {}, {}
        for rid, rl in u.local.relations.items():
            if rl.created:
                members[rid] = list(rl.members)
                endpoints[rid] = rl.endpoint
        if op.relation_id is not None:
            endpoints[op.relation_id] = op.endpoint
            ms = set(members.get(op.relation_id, []))
            if op.hook.endswith("-relation-joined"):
                ms.add(op.remote_unit)
            if op.hook.endswith("-relation-departed"):
                ms.discard(op.remote_unit)
            members[op.relation_id] = sorted(ms)
        name = op.hook if op.kind != "exec" else "run-commands"
        hook_name = op.hook if op.kind == "hook" else ""
        return HookContextImpl(self, u.name, op, runner.context_id(u.name, name), members,
                               endpoints, hook_name)

    def _enter_scope(self, u: Unit, rid: int) -> None:
        rel = self.state.relations.get(rid)
        if rel is None or u.name in rel.in_scope:
            return
        addr = self.state.machines[u.machine].address
        bags = dict(self.state.bags)
        key = bag_key(rid, u.name)
        bag = bags.get(key, Bag())
        data = dict(bag.data)
        data.update({"private-address": addr, "ingress-address": addr,
                     "egress-subnets": f"{addr}/32"})
        bags[key] = Bag(data=data, version=bag.version + 1)
        self._set(bags=bags)
        self._update_relation(rid, in_scope=tuple(sorted(rel.in_scope + (u.name,))))

    def _leave_scope(self, unit: str, rid: int) -> None:
        rel = self.state.relations.get(rid)
        if rel is not None and unit in rel.in_scope:
            self._update_relation(rid, in_scope=tuple(n for n in rel.in_scope if n != unit))

    # ------------------------------------------------------------------ run
    def _run(self, unit: str, machine: str, op: Op, ctx: Optional[HookContextImpl]) -> None:
        try:
            res = self._execute(unit, machine, op, ctx)
        except Exception as e:  # noqa: BLE001 - any runner failure fails the op
            res = runner.Result(code=255, stderr=f"yard: {e}".encode(), start=time.time())
            self.debug_log(unit, "ERROR", "juju.worker.uniter", traceback.format_exc())
        with self.cond:
            try:
                self._finish(unit, op, ctx, res)
            except Exception:  # noqa: BLE001 - keep the scheduler alive
                self.debug_log(unit, "ERROR", "juju.worker.uniter", traceback.format_exc())
            finally:
                if ctx is not None:
                    self.contexts.pop(ctx.context_id, None)
                self.busy_units.discard(unit)
                self.busy_machines.discard(machine)
                self.cond.notify_all()

    def _prepare_unit(self, unit: str, machine: str, upgrade: bool) -> None:
        with self.lock:
            u = self.state.units[unit]
            app = self.state.applications[u.app]
        if u.deployed_rev is None:
            runner.install_tools(self.provider, machine, unit, self.tool_client, self.tool_names)
        if u.deployed_rev != app.charm_rev:
            manifest = runner.deploy_charm(self.provider, machine, unit, app.charm_path,
                                           list(u.manifest))
            with self.lock:
                self.update_unit(unit, deployed_rev=app.charm_rev, manifest=tuple(manifest))

    def _execute(self, unit: str, machine: str, op: Op,
                 ctx: Optional[HookContextImpl]) -> runner.Result:
        if op.skip:
            return runner.Result(code=0, skipped=True, start=time.time())
        with self.lock:
            u = self.state.units[unit]
            app = self.state.applications[u.app]
            inject = (unit, op.hook) in self.fail_next and op.kind == "hook"
            self.fail_next.discard((unit, op.hook))
        self._prepare_unit(unit, machine, op.hook == "upgrade-charm")
        if inject:
            return runner.Result(code=1, stderr=b"yard: injected failure (fail-hook)\n",
                                 start=time.time())
        env = self._env(u, app, op, ctx)
        if op.kind == "exec":
            with self.lock:
                cmd = self.state.tasks[op.task_id].params.get("command", "")
            return runner.execute(self.provider, machine, unit, ["/bin/bash", "-c", cmd], env)
        kind = "actions" if op.kind == "action" else "hooks"
        handler = runner.handler(app.charm_path, kind, op.hook)
        if handler is None:
            return runner.Result(code=0 if kind == "hooks" else 1, missing=True,
                                 start=time.time())
        res = runner.execute(self.provider, machine, unit,
                             [runner.charm_dir(unit) + "/" + handler], env)
        res.handler = handler
        return res

    def _env(self, u: Unit, app: Application, op: Op, ctx) -> Dict[str, str]:
        base = {"JUJU_MODEL_NAME": self.state.name, "JUJU_MODEL_UUID": self.state.uuid,
                "JUJU_MACHINE_ID": u.machine, "JUJU_PRINCIPAL_UNIT": u.principal or "",
                "JUJU_API_ADDRESSES": self.tool_address.split(":")[0] + ":17070"}
        if op.kind == "hook":
            base["JUJU_HOOK_NAME"] = op.hook
            base["JUJU_DISPATCH_PATH"] = f"hooks/{op.hook}"
        if op.kind == "action":
            base.update({"JUJU_HOOK_NAME": "", "JUJU_DISPATCH_PATH": f"actions/{op.hook}",
                         "JUJU_ACTION_NAME": op.hook, "JUJU_ACTION_UUID": str(op.task_id),
                         "JUJU_ACTION_TAG": f"action-{op.task_id}"})
        if op.kind == "hook" and op.relation_id is not None:
            base.update({"JUJU_RELATION": op.endpoint,
                         "JUJU_RELATION_ID": f"{op.endpoint}:{op.relation_id}",
                         "JUJU_REMOTE_UNIT": op.remote_unit or "",
                         "JUJU_REMOTE_APP": op.remote_app or ""})
            if op.hook.endswith("-relation-departed"):
                base["JUJU_DEPARTING_UNIT"] = op.departing_unit or ""
        return runner.hook_env(base, u.name, ctx.context_id if ctx else "", self.tool_address)

    # --------------------------------------------------------------- finish
    def _log_output(self, unit: str, name: str, res: runner.Result) -> None:
        module = f"unit.{unit}.{name}"
        for stream, level in ((res.stdout, "DEBUG"), (res.stderr, "WARNING")):
            for line in stream.decode(errors="replace").splitlines():
                self.debug_log(unit, level, module, line)

    def _finish(self, unit: str, op: Op, ctx, res: runner.Result) -> None:
        u = self.state.units.get(unit)
        if u is None:
            return  # the machine was killed under it
        if op.kind in ("action", "exec"):
            self._finish_task(u, op, ctx, res)
            return
        name = op.hook
        self._log_output(unit, name, res)
        if res.missing:
            self.debug_log(unit, "INFO", "juju.worker.uniter.operation",
                           f'skipped "{name}" hook (missing)')
        if not op.skip:
            self.store.add_hook(unit, name, res.start, res.duration, res.code, res.missing)
        if res.code == 0:
            self._hook_succeeded(u, op, ctx)
        else:
            self._hook_failed(u, op, res)

    def _hook_succeeded(self, u: Unit, op: Op, ctx) -> None:
        changed = ctx.commit() if ctx is not None else []
        u = self.state.units[u.name]
        local = resolver.commit(u.local, op)
        app = self.state.applications[u.app]
        for key in changed:  # the leader never sees its own peer app-bag writes
            rid_s, owner = key.split("|", 1)
            rid = int(rid_s)
            rel = self.state.relations.get(rid)
            if owner == u.app and rel is not None and rel.peer and rid in local.relations:
                rels = dict(local.relations)
                rels[rid] = dataclasses.replace(
                    rels[rid], app_version=self.state.bags[key].version)
                local = dataclasses.replace(local, relations=rels)
        changes = dict(local=local, agent=StatusValue("idle", "", time.time()), failures=0,
                       retry_at=None, resolved=None)
        if op.hook == "start":
            changes["last_update_status"] = time.time()
            if not u.workload_set:
                changes["workload"] = StatusValue("unknown", "", time.time())
        if op.hook == "update-status":
            changes["last_update_status"] = time.time()
        if op.hook == "stop":
            changes["workload"] = StatusValue("terminated", "", time.time())
        if op.hook.endswith("-relation-broken"):
            self._leave_scope(u.name, op.relation_id)
        self.update_unit(u.name, **changes)
        del app

    def _hook_failed(self, u: Unit, op: Op, res: runner.Result) -> None:
        how = f" (via hook dispatching script: {res.handler})" if res.handler == "dispatch" else ""
        self.debug_log(u.name, "ERROR", "juju.worker.uniter.operation",
                       f'hook "{op.hook}"{how} failed: exit status {res.code}')
        failures = u.failures + 1
        delay = min(5.0 * (2 ** (failures - 1)), 300.0)
        self.update_unit(u.name, local=resolver.fail(u.local, op), failures=failures,
                         retry_at=time.time() + delay, resolved=None,
                         agent=StatusValue("idle", "", time.time()))

    def _finish_task(self, u: Unit, op: Op, ctx, res: runner.Result) -> None:
        task = self.state.tasks[op.task_id]
        out = res.stdout.decode(errors="replace")
        err = res.stderr.decode(errors="replace")
        results = dict(ctx.action_results) if ctx is not None else {}
        results.update({"return-code": res.code, "stdout": out, "stderr": err})
        if op.kind == "action":
            self._log_output(u.name, task.name, res)
        if res.code == 0 and ctx is not None:
            ctx.commit()
        if res.missing:
            status, message = "failed", f'action not implemented on unit "{u.name}"'
        elif res.code != 0:
            status, message = "failed", f"exit status {res.code}"
        elif ctx is not None and ctx.action_failed:
            status, message = "failed", ctx.action_failed
        else:
            status, message = "completed", ""
        if ctx is not None and ctx.action_failed:
            message = ctx.action_failed
        self._update_task(op.task_id, status=status, message=message, results=results,
                          completed=time.time())
        self.update_unit(u.name, agent=StatusValue("idle", "", time.time()))

    # ----------------------------------------------------------- machines
    def _provision(self, mid: str) -> None:
        try:
            existing = [m for m in self.provider.list_machines() if m.machine_id == mid]
            # a machine made before a controller restart is adopted, not made again
            info = existing[0] if existing else self.provider.create_machine(mid)
            runner.install_jujud(self.provider, mid, self.jujud)
            with self.cond:
                self._update_machine(mid, instance=info.instance, address=info.address,
                                     status="started", message="")
                self.debug_log(f"machine-{mid}", "INFO", "juju.provisioner",
                               f"machine {mid} started as {info.instance} at {info.address}")
        except Exception as e:  # noqa: BLE001 - shown on the machine
            with self.cond:
                self._update_machine(mid, status="error", message=str(e))
                self.debug_log(f"machine-{mid}", "ERROR", "juju.provisioner",
                               f"cannot start machine {mid}: {e}")
        finally:
            with self.cond:
                self.provisioning.discard(mid)
                self.cond.notify_all()

    def _elect_leaders(self) -> None:
        for name, app in sorted(self.state.applications.items()):
            units = [u for u in self.state.units.values() if u.app == name]
            if app.leader in {u.name for u in units}:
                continue
            alive = sorted((u for u in units if u.alive), key=lambda u: unit_number(u.name))
            new = alive[0].name if alive else None
            if new == app.leader:
                continue
            version = app.leader_settings_version + (1 if app.leader else 0)
            self.update_app(name, leader=new, leader_settings_version=version)
            if new:
                self.debug_log(unit_tag(new), "INFO", "juju.worker.leadership",
                               f"{new} promoted to leadership of {name}")

    def _implicit_scopes(self) -> None:
        """Units on an implicit endpoint (juju-info) run no hooks but are in scope."""
        for rel in list(self.state.relations.values()):
            if rel.peer:
                continue
            for end in rel.ends:
                if not self._implicit(end):
                    continue
                for u in list(self.state.units.values()):
                    if u.app != end.app:
                        continue
                    m = self.state.machines.get(u.machine)
                    inside = u.name in self.state.relations[rel.id].in_scope
                    wanted = rel.alive and u.alive and m is not None and m.status == "started"
                    if wanted and not inside:
                        self._enter_scope(u, rel.id)
                    elif inside and not wanted:  # the implicit side leaves without hooks
                        self._leave_scope(u.name, rel.id)

    def _ensure_subordinates(self) -> None:
        self._implicit_scopes()
        for rel in list(self.state.relations.values()):
            if rel.peer or rel.scope != "container" or not rel.alive:
                continue
            subs = [e for e in rel.ends if self.state.applications[e.app].subordinate]
            if len(subs) != 1:
                continue
            sub = subs[0].app
            principal_app = rel.other_end(sub).app
            if not self.state.applications[sub].alive:
                continue
            for p in sorted(self.state.units.values(), key=lambda x: x.name):
                if p.app != principal_app or not p.alive or p.name not in rel.in_scope:
                    continue
                if any(s.app == sub and s.principal == p.name for s in self.state.units.values()):
                    continue
                self._add_unit(sub, p.machine, principal=p.name)

    def _reap(self) -> None:
        for name, u in list(self.state.units.items()):
            if u.local.removed:
                self._remove_unit_now(name)
        for rid, rel in list(self.state.relations.items()):
            if not rel.alive and not rel.in_scope:
                self._delete_relation(rid)
        for name, app in list(self.state.applications.items()):
            if not app.alive and not any(u.app == name for u in self.state.units.values()):
                apps = dict(self.state.applications)
                del apps[name]
                self._set(applications=apps)
        for mid, m in list(self.state.machines.items()):
            if m.status == "started" and mid not in self.busy_machines and not any(
                    u.machine == mid for u in self.state.units.values()):
                machines = dict(self.state.machines)
                del machines[mid]
                self._set(machines=machines)
                self.pool.submit(self._destroy_machine, mid)

    def _destroy_machine(self, mid: str) -> None:
        try:
            self.provider.destroy_machine(mid)
        except Exception as e:  # noqa: BLE001 - logged
            self.debug_log(f"machine-{mid}", "ERROR", "juju.provisioner", str(e))

    def _delete_relation(self, rid: int) -> None:
        rels = dict(self.state.relations)
        rels.pop(rid, None)
        bags = {k: v for k, v in self.state.bags.items() if not k.startswith(f"{rid}|")}
        self._set(relations=rels, bags=bags)

    def _remove_unit_now(self, name: str) -> None:
        units = dict(self.state.units)
        u = units.pop(name, None)
        if u is None:
            return
        self._set(units=units)
        self.settings_cache.pop(name, None)
        for rid in list(self.state.relations):
            self._leave_scope(name, rid)
        tasks = {k: (dataclasses.replace(t, status="failed", message="unit removed")
                     if t.unit == name and t.status in ("pending", "running") else t)
                 for k, t in self.state.tasks.items()}
        self._set(tasks=tasks)
        self.debug_log(unit_tag(name), "INFO", "juju.worker.uniter", "unit removed")

    def _add_machine(self) -> str:
        mid = str(self.state.next_machine)
        machines = dict(self.state.machines)
        machines[mid] = Machine(id=mid)
        self._set(machines=machines, next_machine=self.state.next_machine + 1)
        return mid

    def _add_unit(self, app_name: str, machine: Optional[str] = None,
                  principal: Optional[str] = None) -> str:
        app = self.state.applications[app_name]
        name = f"{app_name}/{app.next_unit}"
        self.update_app(app_name, next_unit=app.next_unit + 1)
        if machine is None:
            machine = self._add_machine()
        units = dict(self.state.units)
        units[name] = Unit(name=name, app=app_name, machine=machine, principal=principal,
                           last_update_status=time.time())
        self._set(units=units)
        return name

    # ------------------------------------------------------------ handlers
    def handle(self, cmd: str, args: dict) -> object:
        """Run one CLI request; raises :class:`UserError` with juju's wording."""
        fn = getattr(self, "cmd_" + cmd.replace("-", "_"), None)
        if fn is None:
            raise UserError(f'unrecognized command: yard {cmd}')
        return fn(**args)

    def _app(self, name: str) -> Application:
        app = self.state.applications.get(name)
        if app is None:
            raise UserError(f'application "{name}" not found')
        return app

    def _unit(self, name: str) -> Unit:
        if "/" not in name:
            raise UserError(f'invalid unit name "{name}"')
        u = self.state.units.get(name)
        if u is None:
            raise UserError(f'unit "{name}" not found')
        return u

    def _placement(self, to: Optional[str], bundle_machines: Dict[str, str]) -> Optional[str]:
        """The machine for a ``--to``/``to:`` directive (None: a new machine).

        ``lxd:N`` is a new container, as in Juju (every yard machine is one); ``N`` is
        machine N (of the bundle when deploying one); ``app/N`` or ``app`` co-locates.
        """
        if to is None or to in ("", "new") or re.match(r"^(lxd|lxc)(:\d+)?$", to):
            host = to.split(":")[1] if to and ":" in to else None
            known = bundle_machines if bundle_machines is not None else self.state.machines
            if host is not None and host not in known:
                raise UserError(f'machine "{host}" not found')
            return None
        if to.isdigit():
            if bundle_machines is not None:
                if bundle_machines.get(to) is None:
                    bundle_machines[to] = self._add_machine()
                return bundle_machines[to]
            if to not in self.state.machines:
                raise UserError(f'machine "{to}" not found')
            return to
        target = self.state.units.get(to)
        if target is None and "/" not in to:
            cands = sorted((u for u in self.state.units.values() if u.app == to),
                           key=lambda u: unit_number(u.name))
            target = cands[0] if cands else None
        if target is None:
            raise UserError(f'invalid placement "{to}"')
        return target.machine

    def _store_charm(self, app: str, rev: int, path: str) -> str:
        """Copy the charm into the model, as Juju stores the charm archive at deploy.

        Units get this copy, so rebuilding the source folder changes nothing
        until ``upgrade-charm``.
        """
        dest = os.path.join(self.dir, "charms", f"{app}-{rev}")
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(path, dest, symlinks=True,
                        ignore=shutil.ignore_patterns(".git", "__pycache__"))
        self.charms[dest] = charmlib.load_charm(dest)
        return dest

    def _deploy_app(self, name: str, path: str, num_units: int, options: dict,
                    to: Tuple[str, ...] = (), bundle_machines=None) -> None:
        if not re.match(r"^[a-z][a-z0-9]*(-[a-z0-9]*[a-z][a-z0-9]*)*$", name):
            raise UserError(f'invalid application name "{name}"')
        charm = charmlib.load_charm(path)
        self.charms[charm.path] = charm
        cfg = {k: charmlib.coerce_option(charm, k, v) for k, v in (options or {}).items()}
        if name in self.state.applications:
            raise UserError(f'cannot add application "{name}": application already exists')
        machines = [self._placement(t, bundle_machines) for t in to]
        stored = self._store_charm(name, 1, charm.path)
        apps = dict(self.state.applications)
        apps[name] = Application(name=name, charm_path=stored, charm_name=charm.name,
                                 subordinate=charm.subordinate, config=cfg,
                                 charm_source=charm.path)
        self._set(applications=apps)
        for ep in charm.endpoints:
            if ep.role == "peers":
                self._add_relation((RelEnd(name, ep.name, "peers", ep.interface),), ep.scope)
        if charm.subordinate:
            return
        for i in range(num_units):
            self._add_unit(name, machines[i] if i < len(machines) else None)

    def cmd_deploy(self, path: str, overlays=(), name: Optional[str] = None, num_units: int = 1,
                   config: Optional[dict] = None, to: Optional[str] = None) -> dict:
        """Deploy a bundle file or one built charm folder."""
        with self.cond:
            try:
                if os.path.isfile(path):
                    return self._deploy_bundle(path, list(overlays))
                charm = charmlib.load_charm(path)
                app = name or charm.name
                cfg = {}
                for k, v in (config or {}).items():
                    cfg[k] = charmlib.coerce_option(charm, k, v)
                targets = [t for t in (to or "").split(",") if t] if to else []
                self._deploy_app(app, path, num_units, cfg, tuple(targets))
                self.cond.notify_all()
                return {"message": f'Deployed "{app}" from local charm "{charm.name}"'}
            except charmlib.CharmError as e:
                raise UserError(str(e)) from None

    def _deploy_bundle(self, path: str, overlays: List[str]) -> dict:
        b = self._check_bundle(path, overlays)
        bundle_machines = {m: None for m in b.machines}
        lines = []
        for app in b.applications:
            if app.name in self.state.applications:
                lines += self._update_from_bundle(app)
                continue
            self._deploy_app(app.name, app.charm, app.num_units, app.options, app.to,
                             bundle_machines)
            lines.append(f"- deploy application {app.name} from {app.charm}")
        for a, c in b.relations:
            try:
                self.cmd_relate(a, c)
            except UserError:  # already related: deploying a bundle again is a no-op
                continue
            lines.append(f"- add relation {a} - {c}")
        if not lines:
            lines.append("- no changes")
        self.cond.notify_all()
        return {"message": "Executing changes:\n" + "\n".join(lines)
                + "\nDeploy of bundle completed."}

    def _update_from_bundle(self, app: bundlelib.BundleApp) -> List[str]:
        """Juju's bundle diff for an application that exists: options and scale."""
        a = self.state.applications[app.name]
        lines = []
        if any(a.config.get(k) != v for k, v in app.options.items()):
            self._config_set(a, self.charm_of(app.name), app.options, [])
            lines.append(f"- set application options for {app.name}")
        units = [u for u in self.state.units.values() if u.app == app.name and u.alive]
        if not a.subordinate:
            for _ in range(app.num_units - len(units)):
                lines.append(f"- add unit {self._add_unit(app.name)}")
        return lines

    def _check_bundle(self, path: str, overlays: List[str]) -> bundlelib.Bundle:
        try:
            b = bundlelib.parse(path, overlays)
        except bundlelib.BundleError as e:
            raise UserError(str(e)) from None
        for app in b.applications:
            have = self.state.applications.get(app.name)
            if have is not None and have.charm_name != charmlib.load_charm(app.charm).name:
                raise UserError(f'cannot deploy bundle: application "{app.name}" exists with '
                                f'charm "{have.charm_name}"')
        for a, c in b.relations:
            try:
                self._resolve_relation(a, c, {x.name: x.charm for x in b.applications})
            except UserError as e:
                raise UserError(f"cannot deploy bundle: {e}") from None
        return b

    # relations
    def _endpoints_of(self, app: str, charm_paths=None) -> List[charmlib.Endpoint]:
        if charm_paths and app in charm_paths:
            return list(charmlib.load_charm(charm_paths[app]).endpoints)
        self._app(app)
        return list(self.charm_of(app).endpoints)

    def _resolve_relation(self, a: str, b: str, charm_paths=None) -> Tuple[RelEnd, RelEnd, str]:
        """Juju's endpoint matching for ``relate a[:ep] b[:ep]``: (end a, end b, scope)."""
        def split(s):
            app, _, ep = s.partition(":")
            if charm_paths is None or app not in charm_paths:
                self._app(app)
            return app, ep or None
        (app_a, ep_a), (app_b, ep_b) = split(a), split(b)
        eps_a = self._endpoints_of(app_a, charm_paths)
        eps_b = self._endpoints_of(app_b, charm_paths)
        for app, ep, eps in ((app_a, ep_a, eps_a), (app_b, ep_b, eps_b)):
            if ep and not any(e.name == ep for e in eps):
                raise UserError(f'application "{app}" has no "{ep}" relation')
        pairs = [(x, y) for x in eps_a for y in eps_b if _relates(x, y, ep_a, ep_b)]
        if not pairs:
            raise UserError("no relations found")
        if len(pairs) > 1:
            explicit = [(x, y) for x, y in pairs if not x.implicit and not y.implicit]
            if len(explicit) != 1:
                opts = "; ".join(f'"{app_a}:{x.name} {app_b}:{y.name}"' for x, y in pairs)
                raise UserError(f'ambiguous relation: "{a} {b}" could refer to {opts}')
            pairs = explicit
        x, y = pairs[0]
        scope = "container" if "container" in (x.scope, y.scope) else "global"
        return (RelEnd(app_a, x.name, x.role, x.interface),
                RelEnd(app_b, y.name, y.role, y.interface), scope)

    def _add_relation(self, ends: Tuple[RelEnd, ...], scope: str) -> Relation:
        rid = self.state.next_relation
        rel = Relation(id=rid, ends=ends, scope=scope)
        rels = dict(self.state.relations)
        rels[rid] = rel
        self._set(relations=rels, next_relation=rid + 1)
        return rel

    def cmd_relate(self, a: str, b: str) -> dict:
        """``yard relate a[:ep] b[:ep]``."""
        with self.cond:
            x, y, scope = self._resolve_relation(a, b)
            for rel in self.state.relations.values():
                if rel.alive and set(rel.ends) == {x, y}:
                    raise UserError(f'cannot add relation "{x.app}:{x.endpoint} '
                                    f'{y.app}:{y.endpoint}": relation {rel.key()} already exists')
            if scope == "container" and not any(
                    self.state.applications[e.app].subordinate for e in (x, y)):
                raise UserError(f'cannot add relation "{x.app}:{x.endpoint} {y.app}:{y.endpoint}"'
                                ': container scoped relation requires a subordinate application')
            rel = self._add_relation((x, y), scope)
            self.cond.notify_all()
            return {"id": rel.id, "key": rel.key()}

    cmd_integrate = cmd_relate

    def cmd_remove_relation(self, a: str, b: str) -> dict:
        """``yard remove-relation a[:ep] b[:ep]``."""
        with self.cond:
            x, y, _ = self._resolve_relation(a, b)
            for rel in self.state.relations.values():
                if rel.alive and set(rel.ends) == {x, y}:
                    self._update_relation(rel.id, alive=False)
                    self._kill_orphan_subordinates(rel)
                    self.cond.notify_all()
                    return {}
            raise UserError(f'relation "{x.app}:{x.endpoint} {y.app}:{y.endpoint}" not found')

    def _kill_orphan_subordinates(self, rel: Relation) -> None:
        if rel.scope != "container" or rel.peer:
            return
        for e in rel.ends:
            if not self.state.applications[e.app].subordinate:
                continue
            principal_app = rel.other_end(e.app).app
            still = any(r.alive and r.scope == "container" and r.end_of(e.app)
                        and r.end_of(principal_app) for r in self.state.relations.values())
            if still:
                continue
            for u in list(self.state.units.values()):
                if u.app == e.app and u.principal and u.principal.split("/")[0] == principal_app:
                    self._destroy_unit(u.name)

    # units and applications
    def _destroy_unit(self, name: str) -> None:
        u = self.state.units[name]
        if not u.alive:
            return
        self.update_unit(name, alive=False)
        for s in list(self.state.units.values()):
            if s.principal == name:
                self._destroy_unit(s.name)

    def cmd_add_unit(self, app: str, num_units: int = 1, to: Optional[str] = None) -> dict:
        """``yard add-unit APP [-n N] [--to X]``."""
        with self.cond:
            a = self._app(app)
            if a.subordinate:
                raise UserError(f'cannot add unit to application "{app}": '
                                'application is subordinate')
            targets = [t for t in (to or "").split(",") if t]
            names = []
            for i in range(num_units):
                m = self._placement(targets[i], None) if i < len(targets) else None
                names.append(self._add_unit(app, m))
            self.cond.notify_all()
            return {"units": names}

    def cmd_remove_unit(self, units: List[str]) -> dict:
        """``yard remove-unit UNIT...``."""
        with self.cond:
            for name in units:
                u = self._unit(name)
                if u.principal:
                    raise UserError(f'removing unit {name} failed: unit "{name}" is a '
                                    'subordinate, remove the relation instead')
            for name in units:
                self._destroy_unit(name)
            self.cond.notify_all()
            return {"message": "\n".join(f"will remove unit {n}" for n in units)}

    def cmd_remove_application(self, apps: List[str]) -> dict:
        """``yard remove-application APP...``."""
        with self.cond:
            for name in apps:
                self._app(name)
            for name in apps:
                self.update_app(name, alive=False)
                for rel in list(self.state.relations.values()):
                    if rel.end_of(name) is not None and rel.alive:
                        self._update_relation(rel.id, alive=False)
                        self._kill_orphan_subordinates(rel)
                for u in list(self.state.units.values()):
                    if u.app == name:
                        self._destroy_unit(u.name)
            self.cond.notify_all()
            return {"message": "\n".join(f"will remove application {n}" for n in apps)}

    # config
    def cmd_config(self, app: str, key: Optional[str] = None, values: Optional[dict] = None,
                   reset: Optional[List[str]] = None) -> dict:
        """Get all, get one, set, or reset an application's config."""
        with self.cond:
            a = self._app(app)
            charm = self.charm_of(app)
            if values or reset:
                self._config_set(a, charm, values or {}, reset or [])
                return {}
            if key is not None:
                if key not in charm.options:
                    raise UserError(f'key "{key}" not found in "{app}" application config '
                                    'or charm settings.')
                return {"value": self.app_config(app)[key]}
            return self._config_show(a, charm)

    def _config_set(self, a: Application, charm: charmlib.Charm, values: dict,
                    reset: List[str]) -> None:
        cfg = dict(a.config)
        for k in reset:
            if k not in charm.options:
                raise UserError(f'unknown option "{k}"')
            cfg.pop(k, None)
        for k, v in values.items():
            try:
                cfg[k] = charmlib.coerce_option(charm, k, v)
            except charmlib.CharmError as e:
                raise UserError(str(e)) from None
        before = self.app_config(a.name)
        self.update_app(a.name, config=cfg)
        if self.app_config(a.name) != before:  # no change, no config-changed
            self.update_app(a.name, config_version=a.config_version + 1)

    def _config_show(self, a: Application, charm: charmlib.Charm) -> dict:
        effective = self.app_config(a.name)
        settings = {}
        for k, spec in sorted(charm.options.items()):
            entry = {"description": spec.get("description", ""),
                     "source": "user" if k in a.config else "default",
                     "type": spec.get("type", "string")}
            if "default" in spec:
                entry["default"] = spec["default"]
            if effective[k] is not None:
                entry["value"] = effective[k]
            settings[k] = entry
        trust = {"default": False, "description": "Does this application have access to "
                 "trusted credentials", "source": "default", "type": "bool", "value": False}
        return {"application": a.name, "charm": charm.name, "settings": settings,
                "application-config": {"trust": trust}}

    def cmd_model_config(self, key: Optional[str] = None, values: Optional[dict] = None) -> dict:
        """Get or set model config."""
        with self.cond:
            if values:
                cfg = dict(self.state.config)
                for k, v in values.items():
                    if k == "update-status-hook-interval":
                        parse_duration(v)
                        cfg[k] = str(v)
                    elif k == "automatically-retry-hooks":
                        cfg[k] = str(v).lower() in ("true", "1", "yes")
                    else:
                        cfg[k] = v
                self._set(config=cfg)
                self.cond.notify_all()
                return {}
            cfg = self.model_config()
            if key is not None:
                if key not in cfg:
                    raise UserError(f'key "{key}" not found in "{self.model}" model.')
                return {"value": cfg[key]}
            return {"config": {k: {"value": v, "source": "model" if k in self.state.config
                                   else "default"} for k, v in sorted(cfg.items())}}

    def cmd_upgrade_charm(self, app: str, path: str) -> dict:
        """Point an application at a new build of its charm; units run upgrade-charm."""
        with self.cond:
            a = self._app(app)
            try:
                charm = charmlib.load_charm(path)
            except charmlib.CharmError as e:
                raise UserError(str(e)) from None
            old = self.charm_of(app)
            if charm.name != old.name:
                raise UserError(f'cannot upgrade application "{app}" to charm "{charm.name}": '
                                "cannot change an application's charm name")
            self.charms[charm.path] = charm
            cfg = {k: v for k, v in a.config.items() if k in charm.options}
            self.charms.pop(a.charm_path, None)
            stored = self._store_charm(app, a.charm_rev + 1, charm.path)
            self.update_app(app, charm_path=stored, charm_rev=a.charm_rev + 1, config=cfg,
                            charm_source=charm.path)
            for ep in charm.endpoints:
                if ep.role == "peers" and not any(
                        r.peer and r.ends[0].app == app and r.ends[0].endpoint == ep.name
                        for r in self.state.relations.values()):
                    self._add_relation((RelEnd(app, ep.name, "peers", ep.interface),), ep.scope)
            self.cond.notify_all()
            return {"revision": a.charm_rev + 1}

    # errors
    def cmd_resolved(self, unit: str, no_retry: bool = False) -> dict:
        """``yard resolved [--no-retry] UNIT``."""
        with self.cond:
            u = self._unit(unit)
            if u.local.error is None:
                raise UserError(f'unit "{unit}" is not in an error state')
            self.update_unit(unit, resolved="no-retry" if no_retry else "retry")
            return {}

    def cmd_fail_hook(self, unit: str, hook: str) -> dict:
        """Make the next run of ``hook`` on ``unit`` exit 1 without running."""
        with self.cond:
            self._unit(unit)
            self.fail_next.add((unit, hook))
            return {}

    def cmd_kill_machine(self, machine: str) -> dict:
        """Make a machine vanish: its units are lost without hooks."""
        with self.cond:
            if machine not in self.state.machines:
                raise UserError(f'machine "{machine}" not found')
            try:
                self.provider.kill_machine(machine)
            except Exception as e:  # noqa: BLE001 - reported
                raise UserError(f"cannot kill machine {machine}: {e}") from None
            for u in list(self.state.units.values()):
                if u.machine == machine:
                    self._remove_unit_now(u.name)
            machines = dict(self.state.machines)
            machines.pop(machine, None)
            self._set(machines=machines)
            self.debug_log(f"machine-{machine}", "WARNING", "juju.provisioner",
                           f"machine {machine} vanished")
            self.cond.notify_all()
            return {}

    # actions and exec
    def _leader_or_unit(self, target: str) -> Unit:
        if target.endswith("/leader"):
            app = self._app(target.split("/")[0])
            if not app.leader:
                raise UserError(f'could not determine leader for "{app.name}"')
            return self.state.units[app.leader]
        return self._unit(target)

    def cmd_run(self, target: str, action: str, params: Optional[dict] = None) -> dict:
        """Enqueue an action; returns the task id."""
        with self.cond:
            u = self._leader_or_unit(target)
            charm = self.charm_of(u.app)
            if action not in charm.actions:
                raise UserError(f'action "{action}" not defined on unit "{u.name}"')
            try:
                full = charmlib.validate_action(charm, action, params or {})
            except charmlib.CharmError as e:
                raise UserError(str(e)) from None
            return {"id": self._add_task(u.name, action, full, "action"), "unit": u.name}

    def _add_task(self, unit: str, name: str, params: dict, kind: str) -> int:
        tid = self.state.next_task
        tasks = dict(self.state.tasks)
        tasks[tid] = Task(id=tid, unit=unit, name=name, params=params, kind=kind,
                          enqueued=time.time())
        self._set(tasks=tasks, next_task=tid + 1)
        self.cond.notify_all()
        return tid

    def cmd_exec(self, unit: str, command: str) -> dict:
        """Enqueue a command to run in a hook context on a unit."""
        with self.cond:
            u = self._leader_or_unit(unit)
            return {"id": self._add_task(u.name, "juju-exec", {"command": command}, "exec"),
                    "unit": u.name}

    def cmd_task(self, id: int, wait: Optional[float] = None) -> dict:
        """A task's state; with ``wait`` block until it finishes (or the time is up)."""
        deadline = time.time() + (wait or 0)
        with self.cond:
            while True:
                task = self.state.tasks.get(int(id))
                if task is None:
                    raise UserError(f'task "{id}" not found')
                if task.status in ("completed", "failed") or time.time() >= deadline:
                    return task_json(task)
                self.cond.wait(timeout=min(1.0, max(0.01, deadline - time.time())))

    # waiting
    def _unsettled(self) -> Tuple[Optional[str], Optional[str]]:
        """(error, pending) descriptions; both None when the model is settled."""
        if self.ready_error:
            return f"provider: {self.ready_error}", None
        if not self.ready:
            return None, "provider is getting ready"
        err = self._first_error()
        if err:
            return err, None
        return None, self._first_pending()

    def _first_error(self) -> Optional[str]:
        for mid, m in sorted(self.state.machines.items()):
            if m.status == "error":
                return f'machine "{mid}" failed to start: {m.message}'
        for name in sorted(self.state.units):
            u = self.state.units[name]
            if u.local.error is not None and u.resolved is None:
                return f'unit "{name}" is in error: hook failed: "{u.local.error.hook}"'
        return None

    def _first_pending(self) -> Optional[str]:
        for mid, m in sorted(self.state.machines.items()):
            if m.status != "started":
                return f'machine "{mid}" is {m.status}'
        for name in sorted(self.state.units):
            u = self.state.units[name]
            if name in self.busy_units:
                return f'unit "{name}" is executing'
            remote = dataclasses.replace(self.remote_state(u), update_status_due=False)
            op = resolver.next_op(u.local, remote)
            if op is not None:
                return f'unit "{name}" has {op.hook or op.kind} pending'
        for t in self.state.tasks.values():
            if t.status in ("pending", "running"):
                return f"task {t.id} is {t.status}"
        for rel in self.state.relations.values():
            if not rel.alive:
                return f'relation "{rel.key()}" is dying'
        return None

    def cmd_wait(self, timeout: float = 600.0) -> dict:
        """Block until settled; raises with the unit in error or on timeout."""
        deadline = time.time() + float(timeout)
        with self.cond:
            while True:
                self._tick() if self.ready else None
                err, pending = self._unsettled()
                if err:
                    raise UserError(err)
                if pending is None:
                    return {"message": "model settled"}
                if time.time() >= deadline:
                    raise UserError(f"timed out after {timeout:g}s waiting for the model to "
                                    f"settle: {pending}")
                self.cond.wait(timeout=min(0.5, max(0.01, deadline - time.time())))

    # views
    def app_status(self, app: str) -> StatusValue:
        """The application status: the leader's, or the most severe unit status."""
        a = self.state.applications[app]
        if a.status is not None:
            return a.status
        order = ["error", "blocked", "maintenance", "waiting", "active", "unknown", "terminated"]
        statuses = [self._workload(u) for u in self.state.units.values() if u.app == app]
        if not statuses:
            return StatusValue("waiting", "waiting for machine" if a.alive else "")
        return min(statuses, key=lambda s: order.index(s.current)
                   if s.current in order else len(order))

    def _workload(self, u: Unit) -> StatusValue:
        if u.local.error is not None:
            return StatusValue("error", f'hook failed: "{u.local.error.hook}"', u.agent.since)
        return u.workload

    def _agent(self, u: Unit) -> StatusValue:
        m = self.state.machines.get(u.machine)
        if not u.alive and u.agent.current == "idle":
            return StatusValue("idle", "", u.agent.since)
        if m is None or m.status != "started":
            return StatusValue("allocating", "", u.agent.since)
        return u.agent

    def goal_state(self, unit: str) -> dict:
        """goal-state for a unit."""
        u = self.state.units[unit]
        units = {n: {"status": "active" if x.alive else "dying", "since": _ts(x.workload.since)}
                 for n, x in sorted(self.state.units.items()) if x.app == u.app}
        rels: Dict[str, dict] = {}
        for rel in self.state.relations.values():
            end = rel.end_of(u.app)
            if end is None:
                continue
            other = rel.other_end(u.app).app
            entry = rels.setdefault(end.endpoint, {})
            entry[other] = {"status": "joined" if rel.alive else "dying", "since": _ts(0)}
            for n, x in sorted(self.state.units.items()):
                if x.app == other and n != unit:
                    entry[n] = {"status": "active" if x.alive else "dying", "since": _ts(0)}
        return {"units": units, "relations": rels}

    def cmd_status(self) -> dict:
        """juju's status JSON shape."""
        with self.cond:
            return self._status()

    def _unit_json(self, u: Unit) -> dict:
        w, ag = self._workload(u), self._agent(u)
        m = self.state.machines.get(u.machine)
        d = {"workload-status": {"current": w.current, "since": _ts(w.since)},
             "juju-status": {"current": ag.current, "since": _ts(ag.since),
                             "version": runner.JUJU_VERSION},
             "machine": u.machine, "public-address": m.address if m else ""}
        if w.message:
            d["workload-status"]["message"] = w.message
        if ag.message:
            d["juju-status"]["message"] = ag.message
        if self.state.applications[u.app].leader == u.name:
            d["leader"] = True
        if u.ports:
            d["open-ports"] = [port_text(p) for p in u.ports]
        if not u.alive:
            d["life"] = "dying"
        subs = {s.name: self._unit_json(s)
                for s in sorted(self.state.units.values(), key=lambda x: x.name)
                if s.principal == u.name}
        for s in subs.values():
            s.pop("machine", None)
        if subs:
            d["subordinates"] = subs
        return d

    def _status(self) -> dict:
        machines = {}
        os_name, os_channel = self.provider.machine_base()
        for mid, m in sorted(self.state.machines.items(), key=lambda x: int(x[0])):
            state = {"pending": "pending", "started": "started"}.get(m.status, m.status)
            machines[mid] = {
                "juju-status": {"current": state, "version": runner.JUJU_VERSION},
                "dns-name": m.address, "ip-addresses": [m.address] if m.address else [],
                "instance-id": m.instance or "pending",
                "machine-status": {"current": "running" if m.status == "started" else m.status,
                                   "message": m.message or m.status},
                "base": {"name": os_name, "channel": os_channel},
            }
        apps = {}
        for name, a in sorted(self.state.applications.items()):
            st = self.app_status(name)
            units = [u for u in self.state.units.values() if u.app == name]
            leader = self.state.units.get(a.leader) if a.leader else None
            entry = {"charm": f"local:{a.charm_name}-{a.charm_rev}", "charm-origin": "local",
                     "charm-name": a.charm_name, "charm-rev": a.charm_rev, "exposed": False,
                     "application-status": {"current": st.current, "since": _ts(st.since)},
                     "relations": self._app_relations(name)}
            if st.message:
                entry["application-status"]["message"] = st.message
            version = leader.version if leader else next((u.version for u in units
                                                          if u.version), "")
            if version:
                entry["version"] = version
            if not a.alive:
                entry["life"] = "dying"
            if a.subordinate:
                entry["subordinate-to"] = sorted({
                    r.other_end(name).app for r in self.state.relations.values()
                    if r.end_of(name) and r.scope == "container" and not r.peer})
            else:
                entry["units"] = {u.name: self._unit_json(u)
                                  for u in sorted(units, key=lambda x: unit_number(x.name))}
                entry["scale"] = len(units)
            apps[name] = entry
        rels = [{"id": r.id, "key": r.key(), "interface": r.ends[0].interface,
                 "type": _relation_type(r),
                 "provider": next((f"{e.app}:{e.endpoint}" for e in r.ends
                                   if e.role in ("provides", "peers")), ""),
                 "requirer": next((f"{e.app}:{e.endpoint}" for e in r.ends
                                   if e.role in ("requires", "peers")), ""),
                 "status": "joined" if r.alive else "dying"}
                for _, r in sorted(self.state.relations.items())]
        return {"model": {"name": self.state.name, "type": "iaas", "controller": "yard",
                          "cloud": "localhost", "region": "localhost",
                          "version": runner.JUJU_VERSION, "model-status": {
                              "current": "available" if self.ready else "busy",
                              "message": self.ready_error}, "sla": "unsupported",
                          "provider": self.state.provider},
                "machines": machines, "applications": apps, "relations": rels,
                "controller": {"timestamp": time.strftime("%H:%M:%SZ", time.gmtime())}}

    def _app_relations(self, app: str) -> dict:
        out: Dict[str, list] = {}
        for r in sorted(self.state.relations.values(), key=lambda r: r.id):
            end = r.end_of(app)
            if end is None:
                continue
            other = r.other_end(app)
            out.setdefault(end.endpoint, []).append({
                "related-application": other.app, "interface": end.interface,
                "scope": r.scope})
        return out

    def cmd_show_unit(self, units: List[str]) -> dict:
        """juju's show-unit shape, with relation data as the unit sees it."""
        with self.cond:
            out = {}
            for name in units:
                u = self._unit(name)
                out[name] = self._show_unit(u)
            return out

    def _show_unit(self, u: Unit) -> dict:
        a = self.state.applications[u.app]
        m = self.state.machines.get(u.machine)
        infos = []
        for rid, rel in sorted(self.state.relations.items()):
            end = rel.end_of(u.app)
            if end is None or u.name not in rel.in_scope:
                continue
            other = rel.other_end(u.app)
            info = {"relation-id": rid, "endpoint": end.endpoint,
                    "related-endpoint": other.endpoint,
                    "application-data": dict(self.state.bags.get(
                        bag_key(rid, other.app), Bag()).data),
                    "local-unit": {"in-scope": True, "data": dict(self.state.bags.get(
                        bag_key(rid, u.name), Bag()).data)}}
            related = {}
            for n in sorted(self._members(u, rel)):
                related[n] = {"in-scope": True,
                              "data": dict(self.state.bags.get(bag_key(rid, n), Bag()).data)}
            if related:
                info["related-units"] = related
            infos.append(info)
        d = {"workload-version": u.version, "machine": u.machine,
             "opened-ports": [port_text(p) for p in u.ports],
             "public-address": m.address if m else "", "charm": f"local:{a.charm_name}-"
             f"{a.charm_rev}", "leader": a.leader == u.name,
             "life": "alive" if u.alive else "dying", "relation-info": infos}
        if u.principal:
            d["principal"] = u.principal
        return d

    def cmd_hooks(self, unit: Optional[str] = None) -> list:
        """Every hook run (optionally of one unit or application)."""
        return self.store.hooks(unit)

    def cmd_logs(self, after: int = 0) -> list:
        """Debug-log rows after id ``after``."""
        return [list(r) for r in self.store.logs(after)]

    def cmd_export_bundle(self) -> dict:
        """The model as a bundle mapping."""
        with self.cond:
            apps = {}
            for name, a in sorted(self.state.applications.items()):
                entry = {"charm": a.charm_source or a.charm_path}
                if not a.subordinate:
                    entry["num_units"] = sum(1 for u in self.state.units.values()
                                             if u.app == name)
                    machines = [u.machine for u in sorted(
                        (u for u in self.state.units.values() if u.app == name),
                        key=lambda x: unit_number(x.name))]
                    if machines:
                        entry["to"] = machines
                if a.config:
                    entry["options"] = dict(a.config)
                apps[name] = entry
            rels = [[f"{e.app}:{e.endpoint}" for e in r.ends]
                    for _, r in sorted(self.state.relations.items()) if not r.peer and r.alive]
            machines = {mid: {} for mid in sorted(self.state.machines, key=int)}
            out = {"applications": apps, "machines": machines}
            if rels:
                out["relations"] = rels
            return out

    def cmd_ping(self) -> dict:
        """Liveness probe."""
        return {"model": self.model, "pid": os.getpid()}

    def cmd_destroy_model(self) -> dict:
        """Destroy every machine; the server then stops and deletes the state."""
        with self.cond:
            self._set(units={}, applications={}, relations={}, bags={})
            self.stopping = True  # the scheduler stops making machines
            self.cond.notify_all()
            deadline = time.time() + 900
            while self.provisioning and time.time() < deadline:  # machines being made
                self.cond.wait(timeout=1.0)
            mids = set(self.state.machines)
            self._set(machines={})
            self.stopping = True
            self._destroyed = True
            self.cond.notify_all()
        try:
            mids |= {m.machine_id for m in self.provider.list_machines()}
        except Exception as e:  # noqa: BLE001 - destroy what we know about
            self.debug_log("controller", "WARNING", "juju.controller", str(e))
        for mid in sorted(mids):
            self._destroy_machine(mid)
        return {"destroyed": mids}


def _restarted(state: ModelState) -> ModelState:
    """The state as unit agents see it after a controller (agent) restart.

    Juju runs ``config-changed`` after an agent restart and minions see
    ``leader-settings-changed`` (their versions live in memory, 2.7/2.8); a hook
    or task that was running when the controller stopped did not finish.
    """
    now = time.time()
    units = {}
    for name, u in state.units.items():
        local = u.local
        if local.installed and not local.queued and local.error is None:
            local = dataclasses.replace(local, config_version=None)
            if not local.leader:
                local = dataclasses.replace(local, leader_settings_version=None)
        agent = StatusValue("idle", "", now) if u.agent.current == "executing" else u.agent
        units[name] = dataclasses.replace(u, local=local, agent=agent)
    tasks = {k: (dataclasses.replace(t, status="failed", message="task aborted: the "
                                     "controller restarted", completed=now)
                 if t.status == "running" else t) for k, t in state.tasks.items()}
    return dataclasses.replace(state, units=units, tasks=tasks)


def _container(u: Unit) -> str:
    """The principal unit whose container ``u`` lives in (itself for a principal)."""
    return u.principal or u.name


def _relates(x: charmlib.Endpoint, y: charmlib.Endpoint, want_x, want_y) -> bool:
    """Whether endpoints x and y can form the relation the user asked for."""
    if (want_x and x.name != want_x) or (want_y and y.name != want_y):
        return False
    if x.interface != y.interface or {x.role, y.role} != {"provides", "requires"}:
        return False
    return bool(want_x or want_y or not (x.implicit and y.implicit))


def _relation_type(r: Relation) -> str:
    if r.peer:
        return "peer"
    return "subordinate" if r.scope == "container" else "regular"


def _ts(t: float) -> str:
    return time.strftime("%d %b %Y %H:%M:%SZ", time.gmtime(t or time.time()))


def task_json(task: Task) -> dict:
    """A task as ``juju run --format json`` shows it (under the unit name)."""
    d = {"id": str(task.id), "unit": task.unit, "status": task.status,
         "results": dict(task.results), "timing": {
             "enqueued": _ts(task.enqueued), "started": _ts(task.started) if task.started else "",
             "completed": _ts(task.completed) if task.completed else ""},
         "action": task.name, "kind": task.kind}
    if task.message:
        d["message"] = task.message
    if task.log:
        d["log"] = [f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(t))} {m}"
                    for t, m in task.log]
    return d


# -------------------------------------------------------------------- server
class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        ctl: Controller = self.server.controller
        line = self.rfile.readline()
        req = None
        if not line.strip():
            return  # a liveness probe
        try:
            req = json.loads(line)
            result = ctl.handle(req["cmd"], req.get("args") or {})
            resp = {"ok": True, "result": result}
        except UserError as e:
            resp = {"ok": False, "error": str(e)}
        except Exception as e:  # noqa: BLE001 - report to the CLI, keep serving
            ctl.debug_log("controller", "ERROR", "juju.controller", traceback.format_exc())
            resp = {"ok": False, "error": f"internal error: {e}"}
        ctl._save()
        try:
            self.wfile.write(json.dumps(resp, default=str).encode() + b"\n")
        except OSError:
            pass
        cmd = req.get("cmd") if isinstance(req, dict) else None
        if cmd in ("destroy-model", "shutdown") and resp.get("ok"):
            threading.Thread(target=self.server.shutdown, daemon=True).start()


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


def serve(home: str, model: str) -> None:
    """Run the controller of ``model`` until asked to stop (the daemon's main)."""
    os.makedirs(os.path.join(home, model), exist_ok=True)
    lock = open(os.path.join(home, model, "controller.lock"), "w")
    try:  # one controller per model: a second one started in a race just leaves
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return
    ctl = Controller(home, model)
    sock = os.path.join(ctl.dir, "controller.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    server = _Server(sock, _Handler)
    server.controller = ctl
    Controller.cmd_shutdown = lambda self: {"stopping": True}
    ctl.start()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(
        target=server.shutdown, daemon=True).start())  # stop cleanly, state saved
    with open(os.path.join(ctl.dir, "controller.pid"), "w") as f:
        f.write(str(os.getpid()))
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        ctl.stop()
        server.server_close()
        if os.path.exists(sock):
            os.unlink(sock)
        if ctl._destroyed:
            ctl.store.close()
            shutil.rmtree(ctl.dir, ignore_errors=True)


def dump(obj) -> str:
    """YAML the way the CLI prints it."""
    return yaml.safe_dump(obj, default_flow_style=False, sort_keys=True)
