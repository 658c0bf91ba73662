"""Leadership, subordinates, provisioning and clean-up, run on every tick.
"""

from yard import runner
from yard.model import Relation, unit_tag


class LifecycleRoom:
    """Part of :class:`yard.controller.Controller`; see the package docstring."""

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
        """Leadership moves when the holder goes or its lease lapses (``_next_leader``)."""
        for name, app in sorted(self.state.applications.items()):
            new = self._next_leader(app)
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
        self._reap_stuck()
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
                self._forget_resources(name)
        used = {u.machine for u in self.state.units.values()}
        for mid, m in list(self.state.machines.items()):
            if m.status == "started" and mid not in self.busy_machines and mid not in used:
                machines = dict(self.state.machines)
                del machines[mid]
                self._set(machines=machines)
                self.pool.submit(self._destroy_machine, mid)

    def _destroy_machine(self, mid: str) -> None:
        try:
            self.provider.destroy_machine(mid)
        except Exception as e:  # noqa: BLE001 - logged
            self.debug_log(f"machine-{mid}", "ERROR", "juju.provisioner", str(e))

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

    def _destroy_unit(self, name: str) -> None:
        u = self.state.units[name]
        if not u.alive:
            return
        self.update_unit(name, alive=False)
        for s in list(self.state.units.values()):
            if s.principal == name:
                self._destroy_unit(s.name)
