"""The secret half of a hook context: Juju's queue-until-commit rules for secrets.

As in Juju's uniter (``worker/uniter/runner/context/context.go``: pending creates,
updates, deletes, grants and revokes flushed with the hook's other changes),
``secret-add``/``-set``/``-remove``/``-grant``/``-revoke`` are checked when called
and applied by :meth:`SecretsContext.commit_secrets` only when the hook exits 0.
Reads see what the hook queued: a secret added in this hook can be read back at
once; content set in this hook is returned only with ``--peek``/``--refresh``.
Consumer tracking (first read, ``--refresh``, consumer labels) is immediate, as
the controller records it while answering ``GetSecretContentInfo``.
"""

from typing import Dict, List, Optional

from yard import secrets
from yard.context import ToolError


class SecretsContext:
    """Mixin for :class:`yard.ctximpl.HookContextImpl` (``ctl``, ``unit_name``, leadership)."""

    _secret_ops: List[dict]
    _secret_new: Dict[str, dict]

    def _secret_init(self) -> None:
        if not hasattr(self, "_secret_ops"):
            self._secret_ops = []   # queued changes, in call order
            self._secret_new = {}   # id -> {"owner", "label", "content"} added in this hook
            self.secret_new_revisions = set()  # ids that got a new revision at commit

    def _queue(self, **op) -> None:
        self._secret_init()
        self._secret_ops.append(op)

    def _pending_content(self, secret_id: str) -> Optional[Dict[str, str]]:
        """The last content this hook queued for ``secret_id`` (None if none)."""
        self._secret_init()
        content = None
        for op in self._secret_ops:
            if op["id"] == secret_id and op.get("content"):
                content = op["content"]
        return content

    def _pending_label(self, label: str) -> Optional[str]:
        self._secret_init()
        for op in reversed(self._secret_ops):
            if op.get("label") == label and op["kind"] in ("add", "set"):
                return op["id"]
        return None

    def secret_now(self) -> float:
        with self.ctl.lock:
            return self.ctl.secret_clock()

    def _owner_for(self, owner: str) -> str:
        return self.unit_name if owner == "unit" else self.app_name

    def _check_label(self, owner: str, label: str, secret_id: str = "") -> None:
        """Owner labels are unique per owner (``secret label already exists``)."""
        if not label:
            return
        other = self._pending_label(label)
        if other and other != secret_id and self._secret_new.get(other, {}).get(
                "owner") == owner:
            raise ToolError("secret label already exists")
        with self.ctl.lock:
            clash = self.ctl.secret_by_owner_label(owner, label)
        if clash is not None and clash.id != secret_id:
            raise ToolError("secret label already exists")

    def secret_add(self, content, owner, label, description, rotate, expire) -> str:
        self._secret_init()
        if owner == "application" and not self.is_leader():
            raise ToolError("this unit is not the leader")
        owner = self._owner_for(owner)
        self._check_label(owner, label)
        secret_id = secrets.new_id()
        self._secret_new[secret_id] = {"owner": owner, "label": label}
        self._queue(kind="add", id=secret_id, owner=owner, content=dict(content), label=label,
                    description=description, rotate=rotate, expire=expire)
        return secrets.uri(secret_id)

    def _managed(self, secret_id: str) -> Optional[str]:
        """The owner of a secret this unit may change now; None for an unknown id.

        :raises ToolError: ``this unit is not the leader`` for an app secret, or
            ``permission denied`` for a secret the unit does not own.
        """
        self._secret_init()
        if secret_id in self._secret_new:
            return self._secret_new[secret_id]["owner"]
        with self.ctl.lock:
            s = self.ctl.state.secrets.secrets.get(secret_id)
        if s is None:
            return None  # Juju reports an unknown secret only when the hook commits
        if not secrets.owns(s, self.unit_name):
            raise ToolError("permission denied")
        if s.owner == self.app_name and not self.is_leader():
            raise ToolError("this unit is not the leader")
        return s.owner

    def secret_set(self, secret_id, content, label, description, rotate, expire) -> None:
        owner = self._managed(secret_id)
        if owner is None:
            return
        self._check_label(owner, label, secret_id)
        self._queue(kind="set", id=secret_id, content=dict(content), label=label,
                    description=description, rotate=rotate, expire=expire)

    def secret_remove(self, secret_id, revision) -> None:
        if self._managed(secret_id) is not None:
            self._queue(kind="remove", id=secret_id, revision=revision)

    def secret_grant(self, secret_id, relation_id, unit) -> None:
        if self._managed(secret_id) is None:
            raise ToolError('secret "%s" not found' % secret_id)
        rid = int(str(relation_id).rsplit(":", 1)[-1])
        target = unit or self.relation_remote_app(relation_id)
        if not unit and any(t.split("/")[0] == target and "/" in t
                            for t in self._grant_targets(secret_id)):
            raise ToolError("any unit level grants need to be revoked before granting access "
                            "to the corresponding application")
        self._queue(kind="grant", id=secret_id, target=target, relation_id=rid)

    def _grant_targets(self, secret_id: str) -> set:
        """Who holds a grant once this hook's queued grants and revokes apply."""
        with self.ctl.lock:
            s = self.ctl.state.secrets.secrets.get(secret_id)
            targets = {g.target for g in s.grants} if s is not None else set()
        for op in self._secret_ops:
            if op["id"] == secret_id and op["kind"] == "grant":
                targets.add(op["target"])
            elif op["id"] == secret_id and op["kind"] == "revoke":
                targets.discard(op["target"])
        return targets

    def secret_revoke(self, secret_id, relation_id, app, unit) -> None:
        if self._managed(secret_id) is not None:
            self._queue(kind="revoke", id=secret_id, target=unit or app)

    def secret_get(self, secret_id, label, peek, refresh) -> Dict[str, str]:
        self._secret_init()
        if secret_id is None:
            secret_id = self._pending_label(label)
        if secret_id is not None and secret_id in self._secret_new:
            return dict(self._pending_content(secret_id))
        with self.ctl.lock:
            s, content = self.ctl.secret_read(self.unit_name, secret_id, label, peek, refresh)
        if not secrets.owns(s, self.unit_name):
            return content
        if label and secret_id is not None and label != s.label:
            # the owner names its secret: only the leader changes an app secret's label
            if s.owner == self.unit_name or self.is_leader():
                self._check_label(s.owner, label, s.id)
                self._queue(kind="set", id=s.id, content={}, label=label, description="",
                            rotate="", expire=None)
        pending = self._pending_content(s.id)
        return dict(pending) if pending and (peek or refresh) else content

    def secret_ids(self) -> List[str]:
        self._secret_init()
        with self.ctl.lock:
            ids = [s.id for s in self.ctl.state.secrets.secrets.values()
                   if secrets.owns(s, self.unit_name)]
        return sorted(set(ids) | set(self._secret_new))

    def secret_info(self, secret_id, label) -> Dict[str, object]:
        with self.ctl.lock:
            return self.ctl.secret_info(self.unit_name, secret_id, label)

    def commit_secrets(self) -> None:
        """Apply the queued changes (the controller lock is held)."""
        self._secret_init()
        if self._secret_ops:
            self.secret_new_revisions = self.ctl.secret_apply(self.unit_name, self._secret_ops)
