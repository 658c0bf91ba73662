"""State store and updates: every change to the model goes through here.

Every method here expects the controller's lock held (see ``__init__``) and
replaces frozen dataclasses in ``self.state``; the store saves the snapshot at
the end of each scheduler tick and CLI request.
"""

import dataclasses
import time
from typing import Dict, Optional, Tuple

from yard import charm as charmlib
from yard.controller.common import DEFAULT_CONFIG
from yard.model import (Bag, Machine, ModelState, RelEnd, Relation, StatusValue, Unit, bag_key,
                        unit_tag)

#: The fields of a unit that other units' views read (``views._member_versions``).
SEEN_BY_OTHERS = frozenset({"name", "app", "alive", "machine"})


class StateRoom:
    """Part of :class:`yard.controller.Controller`; see the package docstring."""

    def _save(self) -> None:
        """Write the snapshot if the state changed.  The state is immutable, so it is
        pickled outside the controller's lock (at 300 units a snapshot of 750 KiB
        takes 35 ms, which held hooks' results and tool calls back); ``save_lock``
        keeps two savers from writing an older state after a newer one."""
        with self.save_lock:
            with self.lock:
                if not self.dirty:
                    return
                state, self.dirty = self.state, False
            self.store.save(state)

    def _set(self, scope_kept: bool = False, **changes) -> None:
        """Replace fields of the state.

        :param scope_kept: the new ``units`` differ from the old only in fields
            other units do not see (not in :data:`SEEN_BY_OTHERS`)
        """
        self.state = dataclasses.replace(self.state, **changes)
        self.dirty = True
        if "units" in changes and not scope_kept:
            self.scope_gen += 1

    def update_unit(self, name: str, **changes) -> None:
        """Replace fields of a unit (no-op if it is gone)."""
        with self.cond:
            u = self.state.units.get(name)
            if u is None:
                return
            units = dict(self.state.units)
            units[name] = dataclasses.replace(u, **changes)
            self._set(units=units, scope_kept=not SEEN_BY_OTHERS.intersection(changes))
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
        vips = self.provider.vip_range()
        if vips:  # read-only: the provider's, see provider/addresses.py
            cfg["vip-range"] = vips
        return cfg

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
        self._add_unit_storage(name)
        return name

    def _add_relation(self, ends: Tuple[RelEnd, ...], scope: str) -> Relation:
        rid = self.state.next_relation
        rel = Relation(id=rid, ends=ends, scope=scope)
        rels = dict(self.state.relations)
        rels[rid] = rel
        self._set(relations=rels, next_relation=rid + 1)
        return rel


def restarted(state: ModelState) -> ModelState:
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
