"""What each unit sees of the model: its relations, members and remote state.
"""

import time
from typing import Dict, Tuple

from yard.controller.common import container_of, parse_duration, ts
from yard.model import Bag, RelEnd, RelRemote, Relation, RemoteState, Unit, bag_key


class ViewsRoom:
    """Part of :class:`yard.controller.Controller`; see the package docstring."""

    def _participates(self, unit: Unit, rel: Relation) -> bool:
        if rel.end_of(unit.app) is None:
            return False
        if rel.scope != "container" or rel.peer:
            return True
        other = rel.other_end(unit.app).app
        if not self.state.applications[unit.app].subordinate:
            return True
        return any(u.app == other and container_of(u) == container_of(unit)
                   for u in self.state.units.values())

    def _members(self, unit: Unit, rel: Relation) -> Dict[str, int]:
        other = rel.other_end(unit.app).app
        local, remote = self._member_versions(rel)
        out = dict(local.get(other, {}))
        out.pop(unit.name, None)
        if rel.scope == "container" and not rel.peer:  # Juju scopes these by principal unit
            here = container_of(unit)
            out = {n: v for n, v in out.items() if container_of(self.state.units[n]) == here}
        out.update(remote.get(other, {}))  # units of another model (cmr.py)
        return out

    def _member_versions(self, rel: Relation) -> Tuple[dict, dict]:
        """``rel``'s members as any unit sees them: app -> unit -> settings version.

        (units of this model, units of another model).  A unit in scope is a
        member while alive; a dying one is not (its agent says it is departing:
        PrepareLeaveScope), unless its agent is lost (it cannot say so).
        Computed once for a relation until its bags, the machines, the
        cross-model units or the units' :data:`~yard.controller.state.SEEN_BY_OTHERS`
        change, instead of once per unit: one scheduler pass over 300 settled
        units of one peer relation took 2595 ms with a loop per unit, 136 ms
        with this and the other changes of that commit, on a loaded host
        (``make bench-yard-scale``, tools/bench/README.md).
        """
        state = self.state
        key = (rel, state.bags, state.machines, state.cross, self.scope_gen)
        hit = self.member_cache.get(rel.id)
        if hit is not None and all(a is b for a, b in zip(hit[0], key)):
            return hit[1]
        local: Dict[str, Dict[str, int]] = {}
        for name in rel.in_scope:
            u = state.units.get(name)
            if u is None or (not u.alive and not self._agent_down(u)):
                continue
            local.setdefault(u.app, {})[name] = state.bags.get(bag_key(rel.id, name),
                                                               Bag()).version
        remote: Dict[str, Dict[str, int]] = {}
        for name in self._remote_members(rel):
            remote.setdefault(name.split("/")[0], {})[name] = state.bags.get(
                bag_key(rel.id, name), Bag()).version
        self.member_cache[rel.id] = (key, (local, remote))
        return local, remote

    def _pending_tasks(self) -> Dict[str, Tuple[Tuple[int, ...], Tuple[int, ...]]]:
        """unit -> (pending action ids, pending exec ids), oldest first; computed once
        per change of the tasks rather than once per unit."""
        tasks, index = self.task_cache
        if tasks is self.state.tasks:
            return index
        index = {}
        for t in sorted(self.state.tasks.values(), key=lambda t: t.id):
            if t.status == "pending" and t.kind in ("action", "exec"):
                actions, execs = index.get(t.unit, ((), ()))
                index[t.unit] = ((actions + (t.id,), execs) if t.kind == "action"
                                 else (actions, execs + (t.id,)))
        self.task_cache = (self.state.tasks, index)
        return index

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
        config = self.model_config()
        interval = parse_duration(config["update-status-hook-interval"])
        retry = bool(config.get("automatically-retry-hooks", True))
        actions, execs = self._pending_tasks().get(unit.name, ((), ()))
        leader_unit = self.state.units.get(app.leader) if app.leader else None
        pending = bool(leader_unit is not None and leader_unit.alive and
                       leader_unit.local.error is None and not leader_unit.local.leader)
        return RemoteState(
            unit=unit.name, alive=unit.alive, leader_pending=pending,
            config_version=app.config_version,
            charm_modified_version=app.charm_modified_version,
            leader=app.leader == unit.name,
            leader_settings_version=app.leader_settings_version, relations=rels,
            actions=actions, execs=execs,
            update_status_due=now - unit.last_update_status >= interval,
            retry_due=retry and unit.retry_at is not None and now >= unit.retry_at,
            resolved=unit.resolved, storage=self.storage_view(unit), **self.secret_due(unit))

    def _implicit(self, end: RelEnd) -> bool:
        if end.app not in self.state.applications:
            return False  # an application of another model (cmr.py)
        ep = self.charm_of(end.app).endpoint(end.endpoint)
        return bool(ep and ep.implicit)

    def goal_state(self, unit: str) -> dict:
        """goal-state for a unit."""
        u = self.state.units[unit]
        units = {n: {"status": "active" if x.alive else "dying", "since": ts(x.workload.since)}
                 for n, x in sorted(self.state.units.items()) if x.app == u.app}
        rels: Dict[str, dict] = {}
        for rel in self.state.relations.values():
            end = rel.end_of(u.app)
            if end is None:
                continue
            other = rel.other_end(u.app).app
            entry = rels.setdefault(end.endpoint, {})
            entry[other] = {"status": "joined" if rel.alive else "dying", "since": ts(0)}
            for n, x in sorted(self.state.units.items()):
                if x.app == other and n != unit:
                    entry[n] = {"status": "active" if x.alive else "dying", "since": ts(0)}
        return {"units": units, "relations": rels}
