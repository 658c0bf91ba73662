"""Views for the CLI: status, show-unit, hooks, debug-log rows, export-bundle.
"""

import time
from typing import Dict, List, Optional

from yard import runner
from yard.controller.common import relation_type, ts
from yard.controller.machines import AGENT_LOST, instance_status
from yard.ctximpl import port_text
from yard.model import Bag, StatusValue, Unit, bag_key, unit_number


class StatusViews:
    """Part of :class:`yard.controller.Controller`; see the package docstring."""

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
        if m is None or m.status not in ("started", "down"):
            return StatusValue("allocating", "", u.agent.since)
        return u.agent

    def cmd_status(self) -> dict:
        """juju's status JSON shape."""
        with self.cond:
            return self._status()

    def _unit_json(self, u: Unit) -> dict:
        ag, w = self.lost_view(u, self._agent(u), self._workload(u))
        m = self.state.machines.get(u.machine)
        d = {"workload-status": {"current": w.current, "since": ts(w.since)},
             "juju-status": {"current": ag.current, "since": ts(ag.since),
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
            machines[mid] = {
                "juju-status": {"current": m.status, "version": runner.JUJU_VERSION},
                "dns-name": m.address, "ip-addresses": [m.address] if m.address else [],
                "instance-id": m.instance or "pending",
                "machine-status": {"current": instance_status(m.status),
                                   "message": m.message or ("started" if m.status == "down"
                                                            else m.status)},
                "base": {"name": os_name, "channel": os_channel},
            }
            if m.status == "down":  # apiserver/common/machinestatus.go
                machines[mid]["juju-status"].update(message=AGENT_LOST, since=ts(m.since))
        apps = {}
        for name, a in sorted(self.state.applications.items()):
            st = self.app_status(name)
            units = [u for u in self.state.units.values() if u.app == name]
            leader = self.state.units.get(a.leader) if a.leader else None
            entry = {"charm": f"local:{a.charm_name}-{a.charm_rev}", "charm-origin": "local",
                     "charm-name": a.charm_name, "charm-rev": a.charm_rev, "exposed": False,
                     "application-status": {"current": st.current, "since": ts(st.since)},
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
                 "type": relation_type(r),
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
                if a.storage:  # storage.ToString's form: pool,count,sizeM
                    entry["storage"] = {k: f"{p},{c},{z}M" for k, (p, z, c) in a.storage.items()}
                apps[name] = entry
            rels = [[f"{e.app}:{e.endpoint}" for e in r.ends]
                    for _, r in sorted(self.state.relations.items()) if not r.peer and r.alive]
            machines = {mid: {} for mid in sorted(self.state.machines, key=int)}
            out = {"applications": apps, "machines": machines}
            if rels:
                out["relations"] = rels
            return out
