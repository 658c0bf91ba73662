"""An in-memory :class:`yard.context.HookContext` for hook tool tests.

It keeps Juju's read/write rules that the tools surface (leader-only app bags,
``permission denied``, ``not running an action``) and records every write, so
tests assert on what a tool did, not on how.
"""

import copy
from typing import Dict, List, Optional

from yard.context import HookContext, Port, Status, ToolError


class FakeRelation:
    """One relation as the local unit sees it."""

    def __init__(self, rid: int, endpoint: str, remote_app: str, members=(), peer=False,
                 bags=None):
        self.rid = rid
        self.endpoint = endpoint
        self.remote_app = remote_app
        self.members = list(members)
        self.peer = peer
        self.bags: Dict[str, Dict[str, str]] = copy.deepcopy(bags or {})

    @property
    def id(self) -> str:
        return "%s:%d" % (self.endpoint, self.rid)


class FakeContext(HookContext):
    """A hook context for unit ``app/0`` with everything in plain attributes."""

    def __init__(self, unit_name="app/0", hook_name="install", relation=None,
                 remote_unit=None, remote_app=None, action_name=None, leader=True):
        self.unit_name = unit_name
        self.app_name = unit_name.split("/")[0]
        self.model_name = "test"
        self.model_uuid = "01234567-89ab-cdef-0123-456789abcdef"
        self.hook_name = hook_name
        self.relation_id = relation
        self.remote_unit = remote_unit
        self.remote_app = remote_app
        self.action_name = action_name
        self.charm_dir = "/var/lib/juju/agents/unit-app-0/charm"
        self.leader = leader
        self.config_values: Dict[str, object] = {}
        self.relations: Dict[int, FakeRelation] = {}
        self.leader_settings: Dict[str, str] = {}
        self.unit_status = Status("unknown", "")
        self.app_status = Status("unknown", "")
        self.other_units: Dict[str, Status] = {}
        self.version = ""
        self.logs: List[tuple] = []
        self.params: Optional[Dict[str, object]] = None if action_name is None else {}
        self.results: Dict[str, object] = {}
        self.failed: Optional[str] = None
        self.action_logs: List[str] = []
        self.addresses = {"private-address": "10.0.0.10", "public-address": "10.0.0.10"}
        self.networks: Dict[str, Dict[str, object]] = {}
        self.ports: List[Port] = []
        self.goal: Dict[str, object] = {"units": {}, "relations": {}}
        self.storage: Dict[str, Dict[str, str]] = {}
        self.hook_storage: Optional[str] = None
        self.stores = ("data", "logs")  # the charm's storage names, for storage-add
        self.storage_added: Dict[str, int] = {}
        self.resources: Dict[str, str] = {}
        self.state: Dict[str, str] = {}
        self.calls: List[tuple] = []

    # helpers for tests
    def add_relation(self, rid, endpoint, remote_app, members=(), peer=False, bags=None):
        """Add a relation and return it."""
        rel = FakeRelation(rid, endpoint, remote_app, members, peer, bags)
        self.relations[rid] = rel
        return rel

    def _rel(self, relation_id: str) -> FakeRelation:
        try:
            rid = int(str(relation_id).rsplit(":", 1)[-1])
        except ValueError:
            raise ToolError("invalid relation id", 2) from None
        if rid not in self.relations:
            raise ToolError("relation not found", 2)
        return self.relations[rid]

    # config
    def config(self):
        return dict(self.config_values)

    # relations
    def relation_ids(self, endpoint):
        return sorted(r.id for r in self.relations.values() if r.endpoint == endpoint)

    def relation_endpoint(self, relation_id):
        return self._rel(relation_id).endpoint

    def relation_list(self, relation_id):
        return sorted(self._rel(relation_id).members)

    def relation_remote_app(self, relation_id):
        return self._rel(relation_id).remote_app

    def relation_get(self, relation_id, owner, app):
        rel = self._rel(relation_id)
        if app and owner == self.app_name and not self.leader and not rel.peer:
            raise ToolError("permission denied")
        if app and owner not in (self.app_name, rel.remote_app):
            raise ToolError("permission denied")
        self.calls.append(("relation_get", rel.id, owner, app))
        return dict(rel.bags.get(owner, {}))

    def relation_set(self, relation_id, settings, app):
        rel = self._rel(relation_id)
        if app and not self.leader:
            raise ToolError("cannot write relation settings")
        owner = self.app_name if app else self.unit_name
        bag = rel.bags.setdefault(owner, {})
        for key, value in settings.items():
            if value == "":
                bag.pop(key, None)
            else:
                bag[key] = value
        self.calls.append(("relation_set", rel.id, dict(settings), app))

    # leadership
    def is_leader(self):
        return self.leader

    def leader_get(self):
        return dict(self.leader_settings)

    def leader_set(self, settings):
        if not self.leader:
            raise ToolError("cannot write leadership settings: cannot write settings: "
                            "not the leader")
        for key, value in settings.items():
            if value == "":
                self.leader_settings.pop(key, None)
            else:
                self.leader_settings[key] = value

    # status
    def status_get(self, application):
        if not application:
            return {"status": self.unit_status.status, "message": self.unit_status.message,
                    "status-data": {}}
        if not self.leader:
            raise ToolError("finding workload status: this unit is not the leader")
        units = {self.unit_name: self.unit_status, **self.other_units}
        return {"application-status": {
            "status": self.app_status.status, "message": self.app_status.message,
            "status-data": {},
            "units": {n: {"status": s.status, "message": s.message, "status-data": {}}
                      for n, s in units.items()}}}

    def status_set(self, status, application):
        if application:
            if not self.leader:
                raise ToolError("setting application status: this unit is not the leader")
            self.app_status = status
        else:
            self.unit_status = status

    def application_version_set(self, version):
        self.version = version

    def log(self, level, message):
        self.logs.append((level, message))

    # actions
    def _action(self):
        if self.params is None:
            raise ToolError("not running an action")

    def action_params(self):
        self._action()
        return copy.deepcopy(self.params)

    def action_set(self, results):
        self._action()
        _merge(self.results, results)

    def action_fail(self, message):
        self._action()
        self.failed = message

    def action_log(self, message):
        self._action()
        self.action_logs.append(message)

    # machine and network
    def unit_address(self, kind):
        return self.addresses[kind]

    def network_info(self, binding):
        if binding not in self.networks:
            raise ToolError('no network config found for binding "%s"' % binding)
        return copy.deepcopy(self.networks[binding])

    def open_port(self, port):
        if port not in self.ports:
            self.ports.append(port)

    def close_port(self, port):
        self.ports = [p for p in self.ports if p != port]

    def opened_ports(self):
        return list(self.ports)

    # goal state, storage, resources
    def goal_state(self):
        return copy.deepcopy(self.goal)

    def storage_ids(self, name):
        return sorted(s for s in self.storage if name is None or s.split("/")[0] == name)

    def storage_get(self, storage_id):
        storage_id = storage_id or self.hook_storage
        if not storage_id:
            raise ToolError("no storage instance specified", 2)
        if storage_id not in self.storage:
            raise ToolError("storage not found")
        return dict(self.storage[storage_id])

    def storage_add(self, counts):
        for name in counts:
            if name not in self.stores:
                raise ToolError('charm "app" has no store called "%s"' % name)
        for name, n in counts.items():
            self.storage_added[name] = self.storage_added.get(name, 0) + n

    def resource_path(self, name):
        if name not in self.resources:
            raise ToolError('could not download resource: resource "%s" not found' % name)
        return self.resources[name]

    # charm state
    def state_get(self):
        return dict(self.state)

    def state_set(self, settings):
        self.state.update(settings)

    def state_delete(self, key):
        self.state.pop(key, None)


def _merge(into, new):
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)
