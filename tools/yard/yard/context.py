"""The contract between hook tools and the controller.

A hook tool (``relation-get``, ``config-get``, ...) runs inside a machine as a
small stdlib client.  It sends its argv, stdin and ``JUJU_CONTEXT_ID`` to the
controller, which looks up the :class:`HookContext` of the running hook or
action and calls :func:`yard.tools.server.run_tool` with it.  ``run_tool``
parses the arguments with Juju's flags, calls the methods below, and formats
the answer with Juju's output formats and exit codes.

The controller implements this class (one instance per running hook, action
or ``yard exec``).  Transactional writes (relation settings, ports, charm
state) are buffered in the context and committed only when the hook exits 0;
immediate writes (status, application version, leader settings, logs) go
straight to the model.  Methods raise :class:`ToolError` with Juju's message
text (without the ``ERROR`` prefix) when Juju's tool would fail.
"""

import abc
import dataclasses
import time
from typing import Dict, List, Optional


class ToolError(Exception):
    """A hook tool failure: ``ERROR <message>`` on stderr and ``code`` as exit."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclasses.dataclass(frozen=True)
class Port:
    """One opened port or range, as ``open-port`` takes it."""

    protocol: str  # "tcp", "udp" or "icmp"
    from_port: Optional[int] = None
    to_port: Optional[int] = None
    endpoints: tuple = ()


@dataclasses.dataclass(frozen=True)
class Status:
    """A workload status: ``status`` is one of Juju's status names."""

    status: str
    message: str = ""


class HookContext(abc.ABC):
    """What a hook, action or exec may ask of the model.

    Attributes every context has:

    ``unit_name`` (``app/0``), ``app_name``, ``model_name``, ``model_uuid``,
    ``hook_name`` ("" for actions), ``relation_id`` (e.g. ``db:3`` or None),
    ``remote_unit`` (or None), ``remote_app`` (or None), ``action_name`` (or
    None), ``charm_dir``.
    """

    unit_name: str
    app_name: str
    model_name: str
    model_uuid: str
    hook_name: str
    relation_id: Optional[str]
    remote_unit: Optional[str]
    remote_app: Optional[str]
    action_name: Optional[str]
    charm_dir: str

    # config
    @abc.abstractmethod
    def config(self) -> Dict[str, object]:
        """The application's charm config with defaults applied (cached per hook)."""

    # relations
    @abc.abstractmethod
    def relation_ids(self, endpoint: str) -> List[str]:
        """Sorted ``endpoint:id`` strings of the unit's live relations on ``endpoint``."""

    @abc.abstractmethod
    def relation_endpoint(self, relation_id: str) -> str:
        """The local endpoint name of a relation id; :class:`ToolError` code 2 if unknown.

        ``relation_id`` is what the charm passed to ``-r``: ``endpoint:N`` or a
        bare ``N``; as in Juju only the number after the last ``:`` counts.
        """

    @abc.abstractmethod
    def relation_list(self, relation_id: str) -> List[str]:
        """Sorted remote units this unit has joined on the relation."""

    @abc.abstractmethod
    def relation_remote_app(self, relation_id: str) -> str:
        """The application on the other side of the relation (own app for peers)."""

    def relation_model_uuid(self, relation_id: str) -> str:
        """UUID of the model of the other side (another model's across an offer)."""
        return self.model_uuid

    @abc.abstractmethod
    def relation_get(self, relation_id: str, owner: str, app: bool) -> Dict[str, str]:
        """The whole bag of ``owner`` (a unit, or an app when ``app``).

        Reading the own unit (or own app as leader) includes this hook's
        uncommitted writes.  A non-leader reading its own app bag raises
        ``ToolError("permission denied")``.
        """

    @abc.abstractmethod
    def relation_set(self, relation_id: str, settings: Dict[str, str], app: bool) -> None:
        """Buffer writes to the own unit bag (or app bag when ``app``).

        An empty value deletes the key.  A non-leader writing the app bag raises
        ``ToolError("cannot write relation settings")``.
        """

    # leadership
    @abc.abstractmethod
    def is_leader(self) -> bool:
        """Whether this unit holds the application's leadership."""

    @abc.abstractmethod
    def leader_get(self) -> Dict[str, str]:
        """The application's leader settings."""

    @abc.abstractmethod
    def leader_set(self, settings: Dict[str, str]) -> None:
        """Write leader settings now; "" deletes.  Non-leaders raise ToolError."""

    # status and version
    @abc.abstractmethod
    def status_get(self, application: bool) -> Dict[str, object]:
        """``{"status": ..., "message": ..., "status-data": {}}`` for the unit or app.

        For ``application`` the answer is Juju's shape with ``application-status``
        and ``units``; non-leaders raise ToolError("finding workload status: this
        unit is not the leader").
        """

    @abc.abstractmethod
    def status_set(self, status: Status, application: bool) -> None:
        """Set the unit (or, leader only, the app) workload status immediately."""

    @abc.abstractmethod
    def application_version_set(self, version: str) -> None:
        """Record the workload version shown by ``yard status``."""

    # logging
    @abc.abstractmethod
    def log(self, level: str, message: str) -> None:
        """Write a line to the model's debug log under ``unit.<unit>.juju-log``.

        ``level`` is one of TRACE, DEBUG, INFO, WARNING, ERROR, CRITICAL.  The
        context adds Juju's ``<relation id>: `` prefix inside relation hooks;
        ``juju-log`` passes the bare message.
        """

    # actions: raise ToolError("not running an action") outside one
    @abc.abstractmethod
    def action_params(self) -> Dict[str, object]:
        """The validated action parameters with defaults filled in."""

    @abc.abstractmethod
    def action_set(self, results: Dict[str, object]) -> None:
        """Merge nested results (already split on dots) into the action's results."""

    @abc.abstractmethod
    def action_fail(self, message: str) -> None:
        """Mark the running action failed with ``message``."""

    @abc.abstractmethod
    def action_log(self, message: str) -> None:
        """Append a progress message to the running action."""

    # machine and network
    @abc.abstractmethod
    def unit_address(self, kind: str) -> str:
        """``private-address`` or ``public-address`` of the unit's machine."""

    @abc.abstractmethod
    def network_info(self, binding: str) -> Dict[str, object]:
        """Juju's ``network-get`` answer for an endpoint or extra binding.

        Unknown bindings raise ToolError('no network config found for binding "x"').
        """

    @abc.abstractmethod
    def open_port(self, port: Port) -> None:
        """Buffer opening a port (committed at hook end)."""

    @abc.abstractmethod
    def close_port(self, port: Port) -> None:
        """Buffer closing a port (committed at hook end)."""

    @abc.abstractmethod
    def opened_ports(self) -> List[Port]:
        """The unit's opened ports including this hook's buffered changes."""

    # goal state, storage, resources
    @abc.abstractmethod
    def goal_state(self) -> Dict[str, object]:
        """Juju's goal-state mapping: ``{"units": {...}, "relations": {...}}``."""

    @abc.abstractmethod
    def storage_ids(self, name: Optional[str]) -> List[str]:
        """Storage instance ids (``data/0``) attached to the unit, in Juju's order."""

    @abc.abstractmethod
    def storage_get(self, storage_id: Optional[str]) -> Dict[str, str]:
        """``{"kind": "filesystem", "location": "/srv/data"}`` for a storage id.

        ``None`` means the hook's own storage (storage hooks only); without one
        ToolError("no storage instance specified", 2).  An id the unit does not
        have raises ToolError("storage not found") (the uniter's NotFoundf).
        """

    @abc.abstractmethod
    def storage_add(self, counts: Dict[str, int]) -> None:
        """Buffer adding ``count`` instances of each named store (committed at hook end).

        Unknown stores or counts above the charm's maximum raise ToolError with
        state/storage.go's text.
        """

    @abc.abstractmethod
    def resource_path(self, name: str) -> str:
        """Path inside the machine of a charm resource; ToolError if none."""

    # charm state (transactional)
    @abc.abstractmethod
    def state_get(self) -> Dict[str, str]:
        """The unit's charm state including this hook's buffered changes."""

    @abc.abstractmethod
    def state_set(self, settings: Dict[str, str]) -> None:
        """Buffer charm state writes."""

    @abc.abstractmethod
    def state_delete(self, key: str) -> None:
        """Buffer a charm state deletion."""

    # secrets (Juju 3.x; yard.ctx_secrets implements them).  ``secret_id`` is the bare
    # id; content is ``{key: base64}``.  Contexts without secrets fail every call.
    def secret_now(self) -> float:
        """The model's time (``yard advance-clock`` moves it) for ``--expire`` durations."""
        return time.time()

    def secret_add(self, content: Dict[str, str], owner: str, label: str, description: str,
                   rotate: str, expire: Optional[float]) -> str:
        """Queue a new secret (committed at hook end); returns ``secret:<id>``."""
        raise ToolError("secrets are not supported")

    def secret_get(self, secret_id: Optional[str], label: str, peek: bool,
                   refresh: bool) -> Dict[str, str]:
        """The content the unit may read, by id or label, with Juju's tracking rules."""
        raise ToolError("secrets are not supported")

    def secret_set(self, secret_id: str, content: Dict[str, str], label: str,
                   description: str, rotate: str, expire: Optional[float]) -> None:
        """Queue an update: new content makes a new revision; empty values keep it."""
        raise ToolError("secrets are not supported")

    def secret_remove(self, secret_id: str, revision: Optional[int]) -> None:
        """Queue removing the secret or one revision."""
        raise ToolError("secrets are not supported")

    def secret_grant(self, secret_id: str, relation_id: str, unit: str) -> None:
        """Queue a grant to the relation's remote app, or to one of its units."""
        raise ToolError("secrets are not supported")

    def secret_revoke(self, secret_id: str, relation_id: str, app: str, unit: str) -> None:
        """Queue revoking a relation's, an app's or a unit's access."""
        raise ToolError("secrets are not supported")

    def secret_ids(self) -> List[str]:
        """Bare ids of the secrets the unit owns (its own and its app's)."""
        raise ToolError("secrets are not supported")

    def secret_info(self, secret_id: Optional[str], label: str) -> Dict[str, object]:
        """``{id: metadata}`` of an owned secret, as ``secret-info-get`` prints it."""
        raise ToolError("secrets are not supported")
