"""The model's state as plain frozen dataclasses (the way Scenario models state).

The controller keeps one :class:`ModelState` and replaces entities with
``dataclasses.replace`` under its lock; nothing here is mutated in place.
:class:`LocalState` is a unit agent's memory (what the uniter has seen and
run), :class:`RemoteState` the controller's view for one unit; the resolver
turns the pair into the next :class:`Op`.
"""

import dataclasses
from typing import Dict, Optional, Tuple

from yard.secrets import SecretStore


@dataclasses.dataclass(frozen=True)
class RelLocal:
    """What a unit has seen of one relation."""

    endpoint: str
    remote_app: str
    peer: bool = False
    created: bool = False
    members: Dict[str, int] = dataclasses.field(default_factory=dict)
    app_version: int = 0
    changed_pending: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class LocalState:
    """The unit agent's local state (Juju's uniter ``operation.State`` + relation state)."""

    installed: bool = False
    started: bool = False
    stopped: bool = False
    removed: bool = False
    leader: bool = False
    leader_settings_version: Optional[int] = None
    config_version: Optional[int] = None
    charm_modified_version: Optional[int] = None
    queued: Optional[str] = None
    relations: Dict[int, RelLocal] = dataclasses.field(default_factory=dict)
    error: Optional["Op"] = None
    #: storage ids whose ``<name>-storage-attached`` hook was committed
    storage: Tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class RelRemote:
    """The controller's view of one relation, from one unit's side."""

    id: int
    endpoint: str
    remote_app: str
    peer: bool = False
    alive: bool = True
    members: Dict[str, int] = dataclasses.field(default_factory=dict)
    app_version: int = 0


@dataclasses.dataclass(frozen=True)
class RemoteState:
    """What the controller says now, as seen by one unit."""

    unit: str
    alive: bool = True
    config_version: int = 1
    charm_modified_version: int = 0
    leader: bool = False
    leader_settings_version: int = 1
    leader_pending: bool = False
    relations: Dict[int, RelRemote] = dataclasses.field(default_factory=dict)
    actions: Tuple[int, ...] = ()
    execs: Tuple[int, ...] = ()
    update_status_due: bool = False
    retry_due: bool = False
    resolved: Optional[str] = None  # "retry" or "no-retry"
    # secret hooks due (yard.controller.secrets): (uri, revision) or uri
    secrets_expired: Tuple[Tuple[str, int], ...] = ()
    secrets_rotate: Tuple[str, ...] = ()
    secrets_changed: Tuple[str, ...] = ()
    secrets_obsolete: Tuple[Tuple[str, int], ...] = ()
    #: the unit's storage attachments: id -> ``pending``, ``attached`` or ``dying``
    storage: Dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Op:
    """One operation the uniter runs next.

    ``kind`` is ``hook``, ``action``, ``exec`` or ``local`` (bookkeeping only:
    ``hook`` then names it: ``resign``, ``forget``, ``removed``).  ``version`` is
    the remote version the op was decided on and is what commit records.
    """

    kind: str
    hook: str = ""
    relation_id: Optional[int] = None
    endpoint: Optional[str] = None
    remote_unit: Optional[str] = None
    remote_app: Optional[str] = None
    departing_unit: Optional[str] = None
    version: Optional[int] = None
    task_id: Optional[int] = None
    skip: bool = False
    peer: bool = False
    secret_uri: Optional[str] = None
    secret_revision: Optional[int] = None
    storage_id: Optional[str] = None

    def describe(self) -> str:
        """Name used in logs and the agent status."""
        if self.kind == "action":
            return f"action {self.hook}"
        return self.hook


# --- entities ---------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Machine:
    """A machine of the model."""

    id: str
    instance: str = ""
    address: str = ""
    status: str = "pending"  # pending, started, down, error
    message: str = ""
    since: float = 0.0  # when the status last changed (down: when the agent was lost)


@dataclasses.dataclass(frozen=True)
class StatusValue:
    """A status with its message and when it was set (unix time)."""

    current: str
    message: str = ""
    since: float = 0.0


@dataclasses.dataclass(frozen=True)
class Application:
    """A deployed application."""

    name: str
    charm_path: str
    charm_name: str
    charm_rev: int = 0
    charm_modified_version: int = 0  # Juju's: bumped by a new charm and by new resource bytes
    subordinate: bool = False
    charm_source: str = ""
    config: Dict[str, object] = dataclasses.field(default_factory=dict)
    config_version: int = 1
    leader: Optional[str] = None
    leader_settings: Dict[str, str] = dataclasses.field(default_factory=dict)
    leader_settings_version: int = 1
    status: Optional[StatusValue] = None
    next_unit: int = 0
    alive: bool = True
    #: storage directives per storage name: ``(pool, size MiB, count)``, used by add-unit
    storage: Dict[str, Tuple[str, int, int]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Unit:
    """A unit: its model-side facts and its agent's local state."""

    name: str
    app: str
    machine: str
    principal: Optional[str] = None
    alive: bool = True
    workload: StatusValue = StatusValue("waiting", "waiting for machine")
    agent: StatusValue = StatusValue("allocating")
    workload_set: bool = False
    ports: Tuple[Tuple[str, Optional[int], Optional[int]], ...] = ()
    state: Dict[str, str] = dataclasses.field(default_factory=dict)
    version: str = ""
    deployed_rev: Optional[int] = None
    manifest: Tuple[str, ...] = ()
    local: LocalState = LocalState()
    failures: int = 0
    retry_at: Optional[float] = None
    resolved: Optional[str] = None
    last_update_status: float = 0.0
    force_at: Optional[float] = None  # remove --force: obliterated at this time if still here
    resources: Dict[str, str] = dataclasses.field(default_factory=dict)  # name -> fingerprint


@dataclasses.dataclass(frozen=True)
class RelEnd:
    """One side of a relation."""

    app: str
    endpoint: str
    role: str
    interface: str


@dataclasses.dataclass(frozen=True)
class Relation:
    """A relation between two endpoints (or a peer relation: one end)."""

    id: int
    ends: Tuple[RelEnd, ...]
    scope: str = "global"
    alive: bool = True
    in_scope: Tuple[str, ...] = ()

    @property
    def peer(self) -> bool:
        """Whether this is a peer relation."""
        return len(self.ends) == 1

    def end_of(self, app: str) -> Optional[RelEnd]:
        """The end that belongs to ``app``."""
        for e in self.ends:
            if e.app == app:
                return e
        return None

    def other_end(self, app: str) -> Optional[RelEnd]:
        """The end opposite ``app`` (the same end for a peer relation)."""
        if self.peer:
            return self.ends[0]
        for e in self.ends:
            if e.app != app:
                return e
        return None

    def key(self) -> str:
        """Juju's relation key: ``a:x b:y`` with the requirer first, or ``a:peer``."""
        order = {"requires": 0, "peers": 0, "provides": 1}
        ends = sorted(self.ends, key=lambda e: order.get(e.role, 2))
        return " ".join(f"{e.app}:{e.endpoint}" for e in ends)


@dataclasses.dataclass(frozen=True)
class Bag:
    """One relation data bag with its settings version (0 = never written)."""

    data: Dict[str, str] = dataclasses.field(default_factory=dict)
    version: int = 0


@dataclasses.dataclass(frozen=True)
class Task:
    """An action (or exec) task."""

    id: int
    unit: str
    name: str
    params: Dict[str, object] = dataclasses.field(default_factory=dict)
    status: str = "pending"  # pending, running, completed, failed
    message: str = ""
    results: Dict[str, object] = dataclasses.field(default_factory=dict)
    log: Tuple[Tuple[float, str], ...] = ()
    enqueued: float = 0.0
    started: float = 0.0
    completed: float = 0.0
    kind: str = "action"  # "action" or "exec"
    operation: int = 0  # the operation the task belongs to (same id sequence)


@dataclasses.dataclass(frozen=True)
class AppResource:
    """An application's resource (Juju's ``resource.Resource``): a placeholder until uploaded.

    ``path`` is the stored copy on the host ("" for a placeholder); ``fingerprint``
    its SHA-384 (Juju's resource fingerprint).
    """

    app: str
    name: str
    filename: str
    description: str = ""
    path: str = ""
    fingerprint: str = ""
    size: int = 0
    username: str = ""
    timestamp: float = 0.0

    @property
    def placeholder(self) -> bool:
        """Whether nothing was uploaded (Juju's ``IsPlaceholder``)."""
        return not self.path


@dataclasses.dataclass(frozen=True)
class Offer:
    """An offer of this model's application (``yard offer``)."""

    name: str
    app: str
    endpoints: Tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class RemoteApp:
    """An application of another model (cross-model relations, controller/cmr.py).

    In the consuming model it is the SAAS (named after the offer or its alias);
    in the offering model it stands for the consumer (``remote-<token>``).
    ``endpoints`` are ``(name, role, interface)``.
    """

    name: str
    model: str
    url: str
    offer: str
    endpoints: Tuple[Tuple[str, str, str], ...]
    token: str
    consumer: bool = False
    status: StatusValue = StatusValue("unknown")
    alive: bool = True
    model_uuid: str = ""


@dataclasses.dataclass(frozen=True)
class CrossRelation:
    """A relation that crosses to another model: its token and the remote units in scope."""

    token: str
    rid: int
    remote_app: str
    units: Tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class StorageInstance:
    """A storage instance (``data/0``) and its attachment to a unit, if any.

    ``status`` is Juju's storage status: ``pending`` (not provisioned yet),
    ``attached``, ``detaching`` (the attachment is dying) or ``detached``
    (kept in the model without a unit).  ``destroy`` means: remove the
    instance once detached (``--destroy-storage``, ``remove-storage``).
    """

    id: str
    name: str
    kind: str = "filesystem"
    pool: str = "lxd"
    size: int = 1024  # MiB
    unit: Optional[str] = None
    machine: Optional[str] = None
    location: str = ""
    read_only: bool = False
    status: str = "pending"
    message: str = ""
    since: float = 0.0
    destroy: bool = False


@dataclasses.dataclass(frozen=True)
class ModelState:
    """The whole model.  ``bags`` is keyed by ``"<rel id>|<unit or app>"``."""

    name: str
    uuid: str
    provider: str = "lxd"
    config: Dict[str, object] = dataclasses.field(default_factory=dict)
    machines: Dict[str, Machine] = dataclasses.field(default_factory=dict)
    applications: Dict[str, Application] = dataclasses.field(default_factory=dict)
    units: Dict[str, Unit] = dataclasses.field(default_factory=dict)
    relations: Dict[int, Relation] = dataclasses.field(default_factory=dict)
    bags: Dict[str, Bag] = dataclasses.field(default_factory=dict)
    tasks: Dict[int, Task] = dataclasses.field(default_factory=dict)
    next_machine: int = 0
    next_relation: int = 0
    next_task: int = 1
    offers: Dict[str, Offer] = dataclasses.field(default_factory=dict)
    remote_apps: Dict[str, RemoteApp] = dataclasses.field(default_factory=dict)
    cross: Dict[str, CrossRelation] = dataclasses.field(default_factory=dict)
    secrets: SecretStore = SecretStore()
    storage: Dict[str, StorageInstance] = dataclasses.field(default_factory=dict)
    next_storage: int = 0
    resources: Dict[str, AppResource] = dataclasses.field(default_factory=dict)  # "app/name"
    charm_revisions: Dict[str, int] = dataclasses.field(default_factory=dict)  # name -> next


def bag_key(relation_id: int, owner: str) -> str:
    """Key of a relation bag in :attr:`ModelState.bags`."""
    return f"{relation_id}|{owner}"


def unit_number(unit: str) -> int:
    """``app/3`` -> 3."""
    return int(unit.rsplit("/", 1)[1])


def unit_tag(unit: str) -> str:
    """``app/3`` -> ``unit-app-3``."""
    return "unit-" + unit.replace("/", "-")
