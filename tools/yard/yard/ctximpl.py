"""The controller's concrete :class:`yard.context.HookContext`.

One instance per running hook, action or exec.  Transactional writes
(relation settings, ports, charm state) are buffered here and applied by
:meth:`HookContextImpl.commit` only when the process exited 0; immediate
writes (status, application version, leader settings, logs, action results)
go straight to the controller.
"""

import time
from typing import Dict, List, Optional

from yard import storage as storagelib
from yard.context import HookContext, Port, Status, ToolError
from yard.ctx_secrets import SecretsContext
from yard.model import Bag, StatusValue, bag_key

_SETTABLE = ("maintenance", "blocked", "waiting", "active")


def port_key(port: Port) -> tuple:
    """Ports are stored as ``(protocol, from, to)`` tuples."""
    return (port.protocol, port.from_port, port.to_port)


def port_text(key) -> str:
    """``80/tcp``, ``1000-2000/udp`` or ``icmp``."""
    proto, lo, hi = key
    if lo is None:
        return proto
    if hi is None or hi == lo:
        return f"{lo}/{proto}"
    return f"{lo}-{hi}/{proto}"


class HookContextImpl(SecretsContext, HookContext):
    """A hook context backed by the controller's model state."""

    def __init__(self, ctl, unit_name: str, op, context_id: str, members: Dict[int, List[str]],
                 relation_endpoints: Dict[int, str], hook_name: str):
        self.ctl = ctl
        self.context_id = context_id
        self.op = op
        unit = ctl.state.units[unit_name]
        self.unit_name = unit_name
        self.app_name = unit.app
        self.model_name = ctl.state.name
        self.model_uuid = ctl.state.uuid
        self.hook_name = hook_name
        self.relation_id = (f"{op.endpoint}:{op.relation_id}"
                            if op.relation_id is not None else None)
        self.remote_unit = op.remote_unit if op.relation_id is not None else None
        self.remote_app = op.remote_app if op.relation_id is not None else None
        self.action_name = ctl.state.tasks[op.task_id].name if op.kind == "action" else None
        self.charm_dir = f"/var/lib/juju/agents/unit-{unit_name.replace('/', '-')}/charm"
        self._members = members
        self._endpoints = relation_endpoints
        self._rel_writes: Dict[str, Dict[str, str]] = {}
        self._ports: Dict[tuple, bool] = {}
        self._state: Dict[str, Optional[str]] = {}
        self._storage_adds: Dict[str, int] = {}
        self._config = None
        self._not_leader = False
        self._app_cache: Dict[str, Dict[str, str]] = {}
        self.action_results: Dict[str, object] = {}
        self.action_failed: Optional[str] = None

    # -- helpers -------------------------------------------------------------
    def _rid(self, relation_id: str) -> int:
        try:
            rid = int(str(relation_id).rsplit(":", 1)[-1])
        except ValueError:
            raise ToolError(f'invalid relation id "{relation_id}"', 2) from None
        if rid not in self._endpoints:
            raise ToolError(f'invalid value "{relation_id}" for option -r: relation not found', 2)
        return rid

    def _relation(self, rid: int):
        return self.ctl.state.relations.get(rid)

    def _is_peer(self, rid: int) -> bool:
        rel = self._relation(rid)
        return bool(rel and rel.peer)

    # -- config --------------------------------------------------------------
    def config(self) -> Dict[str, object]:
        if self._config is None:
            with self.ctl.lock:
                self._config = self.ctl.app_config(self.app_name)
        return dict(self._config)

    # -- relations -----------------------------------------------------------
    def relation_ids(self, endpoint: str) -> List[str]:
        out = []
        for rid, ep in self._endpoints.items():
            if ep != endpoint:
                continue
            if self.op.relation_id == rid and self.hook_name.endswith("-relation-broken"):
                continue  # Juju >= 3.4: the broken relation is not listed
            out.append((rid, f"{ep}:{rid}"))
        return [s for _, s in sorted(out)]

    def relation_endpoint(self, relation_id: str) -> str:
        return self._endpoints[self._rid(relation_id)]

    def relation_list(self, relation_id: str) -> List[str]:
        return sorted(self._members.get(self._rid(relation_id), []))

    def relation_remote_app(self, relation_id: str) -> str:
        rid = self._rid(relation_id)
        rel = self._relation(rid)
        if rel is None:
            return self.remote_app or ""
        return rel.other_end(self.app_name).app

    def relation_model_uuid(self, relation_id: str) -> str:
        rid = self._rid(relation_id)
        with self.ctl.lock:
            rel = self._relation(rid)
            other = rel.other_end(self.app_name).app if rel is not None else ""
            ra = self.ctl.state.remote_apps.get(other)
        return ra.model_uuid if ra is not None else self.model_uuid

    def relation_get(self, relation_id: str, owner: str, app: bool) -> Dict[str, str]:
        rid = self._rid(relation_id)
        with self.ctl.lock:
            rel = self._relation(rid)
            if app:
                owner = owner.split("/")[0]
                self._check_app_read(rid, rel, owner)
            else:
                self._check_unit_read(rid, rel, owner)
            data = self._remote_read(rid, owner, app)
        if owner in (self.unit_name, self.app_name):
            for k, v in self._rel_writes.get(bag_key(rid, owner), {}).items():
                if v == "":
                    data.pop(k, None)
                else:
                    data[k] = v
        return data

    def _remote_read(self, rid: int, owner: str, app: bool) -> Dict[str, str]:
        """Juju's settings caches (section 1.4), with the controller lock held.

        A remote unit's bag is cached across hooks until a hook for that unit
        runs; a remote app bag is read once per hook; own bags are read fresh.
        """
        key = bag_key(rid, owner)
        fresh = self.ctl.state.bags.get(key, Bag()).data
        if owner in (self.unit_name, self.app_name):
            return dict(fresh)
        cache = self._app_cache if app else self.ctl.settings_cache.setdefault(
            self.unit_name, {})
        if key not in cache:
            cache[key] = dict(fresh)
        return dict(cache[key])

    def _check_app_read(self, rid, rel, owner):
        if self.hook_name.endswith("-relation-broken") and rid == self.op.relation_id:
            raise ToolError("permission denied")
        if owner == self.app_name:
            if rel is not None and rel.peer:
                return
            if not self.is_leader():
                raise ToolError("permission denied")
            return
        if rel is None or rel.end_of(owner) is None:
            raise ToolError("permission denied")

    def _check_unit_read(self, rid, rel, owner):
        if owner == self.unit_name:
            return
        app = owner.split("/")[0]
        known = bag_key(rid, owner) in self.ctl.state.bags
        if rel is None or rel.end_of(app) is None or not known:
            raise ToolError(f'cannot read settings for unit "{owner}" in relation '
                            f'"{self._endpoints[rid]}:{rid}": unit "{owner}": settings not found')

    def relation_set(self, relation_id: str, settings: Dict[str, str], app: bool) -> None:
        rid = self._rid(relation_id)
        if app and not self.is_leader():
            raise ToolError("cannot write relation settings")
        key = bag_key(rid, self.app_name if app else self.unit_name)
        buf = self._rel_writes.setdefault(key, {})
        for k, v in settings.items():
            buf[str(k)] = "" if v is None else str(v)

    # -- leadership ----------------------------------------------------------
    def is_leader(self) -> bool:
        if self._not_leader:
            return False
        with self.ctl.lock:
            app = self.ctl.state.applications.get(self.app_name)
            leader = bool(app and app.leader == self.unit_name)
        if not leader:
            self._not_leader = True
        return leader

    def leader_get(self) -> Dict[str, str]:
        with self.ctl.lock:
            return dict(self.ctl.state.applications[self.app_name].leader_settings)

    def leader_set(self, settings: Dict[str, str]) -> None:
        if not self.is_leader():
            raise ToolError("cannot write leadership settings: cannot write settings: "
                            "not the leader")
        self.ctl.leader_set(self.app_name, {str(k): "" if v is None else str(v)
                                            for k, v in settings.items()})

    # -- status --------------------------------------------------------------
    def status_get(self, application: bool) -> Dict[str, object]:
        with self.ctl.lock:
            if not application:
                u = self.ctl.state.units[self.unit_name]
                return {"status": u.workload.current, "message": u.workload.message,
                        "status-data": {}}
            if not self.is_leader():
                raise ToolError("finding workload status: this unit is not the leader")
            st = self.ctl.app_status(self.app_name)
            units = {n: {"status": u.workload.current, "message": u.workload.message,
                         "status-data": {}}
                     for n, u in sorted(self.ctl.state.units.items()) if u.app == self.app_name}
            return {"application-status": {"status": st.current, "message": st.message,
                                           "status-data": {}, "units": units}}

    def status_set(self, status: Status, application: bool) -> None:
        if status.status not in _SETTABLE:
            raise ToolError(f'invalid status "{status.status}", expected one of '
                            '[maintenance blocked waiting active]', 2)
        value = StatusValue(status.status, status.message, time.time())
        if application:
            if not self.is_leader():
                raise ToolError("setting application status: this unit is not the leader")
            self.ctl.update_app(self.app_name, status=value)
        else:
            self.ctl.update_unit(self.unit_name, workload=value, workload_set=True)

    def application_version_set(self, version: str) -> None:
        self.ctl.update_unit(self.unit_name, version=version)

    # -- logging -------------------------------------------------------------
    def log(self, level: str, message: str) -> None:
        level = level.upper() if level.upper() in (
            "TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL") else "INFO"
        if self.relation_id and self.op.kind == "hook":
            message = f"{self.relation_id}: {message}"
        self.ctl.debug_log(self.unit_name, level, f"unit.{self.unit_name}.juju-log", message)

    # -- actions -------------------------------------------------------------
    def _need_action(self):
        if self.op.kind != "action":
            raise ToolError("not running an action")

    def action_params(self) -> Dict[str, object]:
        self._need_action()
        return dict(self.ctl.state.tasks[self.op.task_id].params)

    def action_set(self, results: Dict[str, object]) -> None:
        self._need_action()
        _merge(self.action_results, results)

    def action_fail(self, message: str) -> None:
        self._need_action()
        self.action_failed = message or "action failed without reason given, check action " \
            "for errors"

    def action_log(self, message: str) -> None:
        self._need_action()
        self.ctl.task_log(self.op.task_id, message)

    # -- machine and network -------------------------------------------------
    def _address(self) -> str:
        with self.ctl.lock:
            u = self.ctl.state.units[self.unit_name]
            m = self.ctl.state.machines.get(u.machine)
            return m.address if m else ""

    def unit_address(self, kind: str) -> str:
        return self._address()

    def network_info(self, binding: str) -> Dict[str, object]:
        charm = self.ctl.charm_of(self.app_name)
        if charm.endpoint(binding) is None and binding not in charm.extra_bindings:
            raise ToolError(f'no network config found for binding "{binding}"')
        addr = self._address()
        prefix = ".".join(addr.split(".")[:3]) + ".0/24" if addr else ""
        return {
            "bind-addresses": [{
                "mac-address": "", "interface-name": "eth0",
                "addresses": [{"hostname": "", "value": addr, "cidr": prefix,
                               "address": addr}],
                "macaddress": "", "interfacename": "eth0"}],
            "egress-subnets": [f"{addr}/32"] if addr else [],
            "ingress-addresses": [addr] if addr else [],
        }

    def open_port(self, port: Port) -> None:
        self._ports[port_key(port)] = True

    def close_port(self, port: Port) -> None:
        self._ports[port_key(port)] = False

    def _port_set(self) -> set:
        with self.ctl.lock:
            ports = set(tuple(p) for p in self.ctl.state.units[self.unit_name].ports)
        for k, opened in self._ports.items():
            (ports.add if opened else ports.discard)(k)
        return ports

    def opened_ports(self) -> List[Port]:
        return [Port(p, lo, hi) for p, lo, hi in sorted(
            self._port_set(), key=lambda k: (k[0], k[1] or 0, k[2] or 0))]

    # -- goal state, storage, resources -------------------------------------
    def goal_state(self) -> Dict[str, object]:
        with self.ctl.lock:
            return self.ctl.goal_state(self.unit_name)

    def _storage_known(self) -> List[str]:
        """The unit's attachments the uniter knows: attached hooks run, plus this hook's."""
        with self.ctl.lock:
            u = self.ctl.state.units.get(self.unit_name)
            known = set(u.local.storage) if u else set()
            if self.op.storage_id:
                known.add(self.op.storage_id)
            return sorted((s for s in known if s in self.ctl.state.storage),
                          key=storagelib.sort_key)

    def storage_ids(self, name: Optional[str]) -> List[str]:
        return [s for s in self._storage_known() if name is None or s.split("/")[0] == name]

    def storage_get(self, storage_id: Optional[str]) -> Dict[str, str]:
        storage_id = storage_id or self.op.storage_id
        if not storage_id:
            raise ToolError("no storage instance specified", 2)
        if storage_id not in self._storage_known():
            raise ToolError("storage not found")
        s = self.ctl.state.storage[storage_id]
        return {"kind": s.kind, "location": s.location}

    def storage_add(self, counts: Dict[str, int]) -> None:
        with self.ctl.lock:
            pending = {k: v + self._storage_adds.get(k, 0) for k, v in counts.items()}
            try:
                self.ctl.check_storage_add(self.unit_name, pending)
            except storagelib.StorageError as e:
                raise ToolError(str(e)) from None
        self._storage_adds.update(pending)

    def resource_path(self, name: str) -> str:
        return self.ctl.resource_fetch(self.unit_name, name)

    # -- charm state ---------------------------------------------------------
    def state_get(self) -> Dict[str, str]:
        with self.ctl.lock:
            data = dict(self.ctl.state.units[self.unit_name].state)
        for k, v in self._state.items():
            if v is None:
                data.pop(k, None)
            else:
                data[k] = v
        return data

    def state_set(self, settings: Dict[str, str]) -> None:
        for k, v in settings.items():
            self._state[str(k)] = None if v in (None, "") else str(v)

    def state_delete(self, key: str) -> None:
        self._state[key] = None

    # -- commit --------------------------------------------------------------
    def commit(self) -> List[str]:
        """Apply the buffered writes (call with the controller lock held).

        :returns: the bag keys whose content changed.
        """
        self.commit_secrets()
        state = self.ctl.state
        changed = []
        bags = dict(state.bags)
        for key, writes in self._rel_writes.items():
            bag = bags.get(key, Bag())
            data = dict(bag.data)
            for k, v in writes.items():
                if v == "":
                    data.pop(k, None)
                else:
                    data[k] = v
            if data != bag.data:
                bags[key] = Bag(data=data, version=bag.version + 1)
                changed.append(key)
        unit = state.units.get(self.unit_name)
        if unit is None:
            return changed
        ports = tuple(sorted(self._port_set(), key=lambda k: (k[0], k[1] or 0, k[2] or 0)))
        self.ctl._set(bags=bags)
        self.ctl.update_unit(self.unit_name, ports=ports, state=self.state_get())
        if self._storage_adds:
            self.ctl.storage_add(self.unit_name, self._storage_adds)
        return changed


def _merge(into: dict, new: dict) -> None:
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = v
