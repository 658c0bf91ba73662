"""What each unit sees of the model: its relations, members and remote state.
"""

import time
from typing import Dict

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
        out = {}
        for name in rel.in_scope:
            u = self.state.units.get(name)
            if u is None or name == unit.name or u.app != other:
                continue
            if not u.alive and not self._agent_down(u):
                continue  # its agent says it is departing (PrepareLeaveScope); a lost one cannot
            if rel.scope == "container" and not rel.peer and container_of(u) != container_of(unit):
                continue  # Juju scopes container relations by principal unit
            out[name] = self.state.bags.get(bag_key(rel.id, name), Bag()).version
        for name in self._remote_members(rel):  # units of another model (cmr.py)
            if name.split("/")[0] == other:
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
