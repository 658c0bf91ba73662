"""The scheduler: picks each idle unit's next operation and runs it.

Hooks run in the thread pool without the lock (``_execute``); everything
before (``_begin``) and after (``_finish``) holds it.
"""

import dataclasses
import time
import traceback
from typing import Dict, Optional

from yard import resolver, runner
from yard.ctximpl import HookContextImpl
from yard.model import Application, Op, StatusValue, Unit, bag_key, unit_number


class SchedulerRoom:
    """Part of :class:`yard.controller.Controller`; see the package docstring."""

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
        self._storage_tick()
        self._reap()
        self._secret_reap()
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
        if op.kind == "hook" and op.storage_id:
            base["JUJU_STORAGE_ID"] = op.storage_id
        with self.lock:
            base.update(self._secret_env(u, op))
        return runner.hook_env(base, u.name, ctx.context_id if ctx else "", self.tool_address)

    def _log_output(self, unit: str, name: str, res: runner.Result) -> None:
        module = f"unit.{unit}.{name}"
        for stream, level in ((res.stdout, "DEBUG"), (res.stderr, "WARNING")):
            for line in stream.decode(errors="replace").splitlines():
                self.debug_log(unit, level, module, line)

    def _finish(self, unit: str, op: Op, ctx, res: runner.Result) -> None:
        u = self.state.units.get(unit)
        if u is None:
            return  # removed (with --force) while it ran
        if self._agent_down(u):
            # the machine died under it: the agent never reported back (a restarted
            # Juju agent would run the hook again)
            self.debug_log(unit, "WARNING", "juju.worker.uniter",
                           f'"{op.hook or op.kind}" interrupted: machine {u.machine} is down')
            return
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
        self._secret_hook_done(u, op, ctx)
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
