"""Secrets: the model's secrets, who may read them, and which secret hooks are due.

The metadata (owners, revisions, labels, consumers, grants, timers) is a
:class:`yard.secrets.SecretStore` in the model state; the *content* of every
revision is in ``<model dir>/secrets.json``, mode 0600 (``state.db`` is
world-readable), and never reaches the debug log, status, show-unit or the
hook-run records.

Juju's rules kept here (juju/juju 3.6, ``apiserver/facades/agent/secretsmanager``
and ``worker/uniter/secrets``):

* the owner (the owning unit, or any unit of the owning application) reads the
  latest revision; a consumer needs a grant (to its application or to itself,
  over a relation that still exists, or ``juju grant-secret`` for user secrets),
  else ``permission denied``; its first read records the revision it then
  tracks until ``--refresh``; ``--peek`` reads the latest once;
* ``secret-changed`` goes to consumers that hold a record when a newer revision
  exists than they were told about; ``secret-rotate``/``secret-expired``/
  ``secret-remove`` go to the owning unit, or the leader for application
  secrets; a revision is obsolete when it is not the latest and no consumer
  tracks it (user secrets' obsolete revisions are pruned at once, no hook);
* timers use the model clock: real time plus ``yard advance-clock``.
"""

import dataclasses
import json
import os
import time
from typing import Dict, List, Optional, Tuple

from yard import secrets
from yard.context import ToolError
from yard.model import Op, Unit
from yard.secrets import Consumer, Grant, Revision, Secret


class ContentStore:
    """``{"<id>/<revision>": {key: base64}}`` in a file only its owner (root) reads."""

    def __init__(self, path: str):
        self.path = path
        self.data: Dict[str, Dict[str, str]] = {}
        if os.path.exists(path):
            with open(path) as f:
                self.data = json.load(f)

    def get(self, secret_id: str, revision: int) -> Dict[str, str]:
        """The content of one revision."""
        return dict(self.data.get(f"{secret_id}/{revision}", {}))

    def put(self, secret_id: str, revision: int, content: Dict[str, str]) -> None:
        """Store one revision's content."""
        self.data[f"{secret_id}/{revision}"] = dict(content)
        self._write()

    def drop(self, secret_id: str, revision: Optional[int] = None) -> None:
        """Forget one revision, or every revision of a secret."""
        prefix = f"{secret_id}/"
        for key in [k for k in self.data if k.startswith(prefix)]:
            if revision is None or key == f"{prefix}{revision}":
                del self.data[key]
        self._write()

    def _write(self) -> None:
        tmp = self.path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(self.data, f)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)


class SecretsRoom:
    """Part of :class:`yard.controller.Controller`; see the package docstring."""

    # -- state -----------------------------------------------------------------------
    @property
    def secret_contents(self) -> ContentStore:
        """The model's content file (opened on first use)."""
        store = self.__dict__.get("_secret_contents")
        if store is None:
            store = self.__dict__["_secret_contents"] = ContentStore(
                os.path.join(self.dir, "secrets.json"))
        return store

    def secret_clock(self) -> float:
        """The model's time for secret timers: now plus ``yard advance-clock``."""
        return time.time() + self.state.secrets.clock_offset

    def _put_secret(self, s: Optional[Secret], drop: str = "") -> None:
        table = dict(self.state.secrets.secrets)
        if s is None:
            table.pop(drop, None)
        else:
            table[s.id] = s
        self._set(secrets=dataclasses.replace(self.state.secrets, secrets=table))
        self.cond.notify_all()

    def secret_by_owner_label(self, owner: str, label: str) -> Optional[Secret]:
        """The secret ``owner`` labelled ``label``."""
        return next((s for s in self.state.secrets.secrets.values()
                     if s.owner == owner and s.label == label), None)

    def _live_units(self):
        return {n for n, u in self.state.units.items() if u.alive}

    def secret_access(self, s: Secret, unit: str) -> bool:
        """Whether ``unit`` may read ``s``: owner, or granted over a living relation."""
        if secrets.owns(s, unit):
            return True
        app = unit.split("/")[0]
        for g in s.grants:
            if g.target not in (app, unit):
                continue
            if g.relation_id is None:
                return True
            rel = self.state.relations.get(g.relation_id)
            if rel is not None and rel.alive:
                return True
        return False

    # -- hook side (the lock is held) ----------------------------------------------
    def _find(self, unit: str, secret_id: Optional[str], label: str) -> Secret:
        table = self.state.secrets.secrets
        if secret_id is not None:
            s = table.get(secret_id)
            if s is None:
                raise ToolError(f'secret "{secret_id}" not found')
            return s
        for s in table.values():  # owned secrets first, then consumer labels
            if secrets.owns(s, unit) and s.label == label:
                return s
        for s in table.values():
            c = s.consumers.get(unit)
            if c is not None and c.label == label:
                return s
        raise ToolError(f'consumer label "{label}" not found')

    def secret_read(self, unit: str, secret_id: Optional[str], label: str, peek: bool,
                    refresh: bool) -> Tuple[Secret, Dict[str, str]]:
        """``secret-get``: the secret and the content this unit gets now."""
        s = self._find(unit, secret_id, label)
        if secrets.owns(s, unit):
            return s, self.secret_contents.get(s.id, s.latest)
        if not self.secret_access(s, unit):
            raise ToolError("permission denied")
        c = s.consumers.get(unit)
        if c is None:
            c = Consumer(revision=s.latest, seen=s.latest)
        if refresh:
            c = dataclasses.replace(c, revision=s.latest, seen=s.latest)
        if secret_id is not None and label:
            c = dataclasses.replace(c, label=label)
        if c != s.consumers.get(unit):
            s = dataclasses.replace(s, consumers={**s.consumers, unit: c})
            self._put_secret(s)
            self._secret_prune(s)
        return s, self.secret_contents.get(s.id, s.latest if peek else c.revision)

    def _secret_prune(self, s: Secret) -> None:
        """User secrets drop obsolete revisions at once (Juju's auto-prune)."""
        if s.owner != secrets.MODEL_OWNER:
            return
        gone = secrets.obsolete(s, self._live_units())
        if gone:
            for rev in gone:
                self.secret_contents.drop(s.id, rev)
            self._put_secret(dataclasses.replace(
                s, revisions=tuple(r for r in s.revisions if r.revision not in gone)))

    def secret_info(self, unit: str, secret_id: Optional[str], label: str) -> dict:
        """``secret-info-get``: metadata of an owned secret, by id or owner label."""
        for s in self.state.secrets.secrets.values():
            if secrets.owns(s, unit) and (s.id == secret_id or (label and s.label == label)):
                return {s.id: self._metadata(s)}
        raise ToolError('secret "%s" not found' % (secret_id or label))

    def _metadata(self, s: Secret) -> dict:
        md = {"revision": s.latest, "label": s.label, "owner": s.owner_kind}
        if s.description:
            md["description"] = s.description
        if s.rotate_policy:
            md["rotation"] = s.rotate_policy
        expiry = s.revisions[-1].expire_time
        if expiry is not None:
            md["expiry"] = secrets.rfc3339(expiry)
        if s.next_rotate is not None:
            md["rotates"] = secrets.rfc3339(s.next_rotate)
        access = self._access_list(s)
        if access:
            md["access"] = access
        return md

    def _access_list(self, s: Secret) -> List[dict]:
        out = []
        for g in s.grants:
            rel = self.state.relations.get(g.relation_id) if g.relation_id is not None else None
            if g.relation_id is not None and (rel is None or not rel.alive):
                continue  # the grant ended with its relation
            kind = "unit" if "/" in g.target else "application"
            scope = ("relation-" + rel.key().replace(":", ".").replace(" ", "#")
                     if rel is not None else "model-" + self.state.uuid)
            out.append({"target": f"{kind}-{g.target.replace('/', '-')}", "scope": scope,
                        "role": "view"})
        return out

    def secret_apply(self, unit: str, ops: List[dict]) -> set:
        """Commit a hook's queued secret changes; returns ids that got a new revision."""
        now = self.secret_clock()
        renewed = set()
        for op in ops:
            s = self.state.secrets.secrets.get(op["id"])
            if op["kind"] == "add":
                s = Secret(id=op["id"], owner=op["owner"], revisions=(), created=time.time())
            if s is None:
                self.debug_log(unit, "WARNING", "juju.worker.uniter",
                               f'secret "{op["id"]}" not found')
                continue
            if op["kind"] in ("add", "set"):
                s, new = self._upsert(s, op, now)
                if new:
                    renewed.add(s.id)
                self._put_secret(s)
            elif op["kind"] == "remove":
                self._remove(s, op["revision"])
            elif op["kind"] == "grant":
                grants = tuple(g for g in s.grants if g.target != op["target"])
                self._put_secret(dataclasses.replace(
                    s, grants=grants + (Grant(op["target"], op["relation_id"]),)))
            elif op["kind"] == "revoke":
                self._put_secret(dataclasses.replace(s, grants=tuple(
                    g for g in s.grants if g.target != op["target"])))
        return renewed

    def _upsert(self, s: Secret, op: dict, now: float) -> Tuple[Secret, bool]:
        """Apply ``secret-add``/``secret-set`` arguments; new content, new revision."""
        changes: dict = {"updated": time.time()}  # timestamps in real time, timers in model time
        revisions = s.revisions
        content = op.get("content") or {}
        new = bool(content) and (not revisions or content != self.secret_contents.get(
            s.id, s.latest))
        if new:
            rev = revisions[-1].revision + 1 if revisions else 1
            self.secret_contents.put(s.id, rev, content)
            revisions = revisions + (Revision(rev, time.time(), op.get("expire")),)
        elif op.get("expire") is not None and revisions:
            revisions = revisions[:-1] + (dataclasses.replace(
                revisions[-1], expire_time=op["expire"], expire_retry=None),)
        changes["revisions"] = revisions
        for key in ("label", "description"):
            if op.get(key):
                changes[key] = op[key]
        policy = op.get("rotate")
        if policy and policy != s.rotate_policy:
            changes["rotate_policy"] = policy
            changes["next_rotate"] = secrets.next_rotate(policy, now, now)
        return dataclasses.replace(s, **changes), new

    def _remove(self, s: Secret, revision: Optional[int]) -> None:
        left = tuple(r for r in s.revisions if revision is not None and r.revision != revision)
        self.secret_contents.drop(s.id, revision if left else None)
        self._put_secret(dataclasses.replace(s, revisions=left) if left else None, drop=s.id)

    def _secret_reap(self) -> None:
        """Secrets go with their owner (Juju deletes a unit's or an application's
        secrets when it is removed), consumer records with their unit."""
        units, apps = self.state.units, self.state.applications
        for s in list(self.state.secrets.secrets.values()):
            owner_gone = (s.owner != secrets.MODEL_OWNER and s.owner not in units
                          and s.owner not in apps)
            if owner_gone:
                self.secret_contents.drop(s.id)
                self._put_secret(None, drop=s.id)
            elif any(u not in units for u in s.consumers):
                self._put_secret(dataclasses.replace(s, consumers={
                    u: c for u, c in s.consumers.items() if u in units}))

    # -- what is due (the scheduler's view) ---------------------------------------
    def _secret_manager(self, s: Secret, unit: Unit) -> bool:
        """Whether ``unit`` gets the owner's hooks: the owning unit or the app's leader."""
        if s.owner == unit.name:
            return True
        app = self.state.applications.get(unit.app)
        return s.owner == unit.app and app is not None and app.leader == unit.name

    def secret_due(self, unit: Unit) -> dict:
        """The ``secrets_*`` fields of the unit's :class:`yard.model.RemoteState`."""
        due: Dict[str, list] = {"secrets_expired": [], "secrets_rotate": [],
                                "secrets_changed": [], "secrets_obsolete": []}
        if not self.state.secrets.secrets:
            return {k: () for k in due}  # no secrets: no scan of every unit (per unit, per pass)
        now, live = self.secret_clock(), self._live_units()
        for sid in sorted(self.state.secrets.secrets):
            s = self.state.secrets.secrets[sid]
            uri = secrets.uri(sid)
            if self._secret_manager(s, unit):
                due["secrets_expired"] += [
                    (uri, r.revision) for r in s.revisions
                    if r.expire_time is not None and now >= (r.expire_retry or r.expire_time)]
                if s.next_rotate is not None and now >= s.next_rotate:
                    due["secrets_rotate"].append(uri)
                due["secrets_obsolete"] += [
                    (uri, rev) for rev in secrets.obsolete(s, live)
                    if not s.revision(rev).remove_notified]
            c = s.consumers.get(unit.name)
            if (c is not None and s.latest > c.seen and not secrets.owns(s, unit.name)
                    and self.secret_access(s, unit.name)):
                due["secrets_changed"].append(uri)
        return {k: tuple(v) for k, v in due.items()}

    def _secret_env(self, u: Unit, op: Op) -> Dict[str, str]:
        """``JUJU_SECRET_ID``/``_LABEL``/``_REVISION`` for a secret hook (else nothing)."""
        if not op.secret_uri:
            return {}
        s = self.state.secrets.secrets.get(secrets.parse_uri(op.secret_uri))
        label = s.label if s else ""
        if op.hook == "secret-changed" and s is not None:
            c = s.consumers.get(u.name)
            label = (c.label if c else "") or label  # the consumer label, else the owner's
        env = {"JUJU_SECRET_ID": op.secret_uri, "JUJU_SECRET_LABEL": label}
        if op.secret_revision is not None:
            env["JUJU_SECRET_REVISION"] = str(op.secret_revision)
        return env

    def _secret_hook_done(self, u: Unit, op: Op, ctx) -> None:
        """Record that a secret hook ran (or was skipped) so it is not due again."""
        if not op.secret_uri:
            return
        s = self.state.secrets.secrets.get(secrets.parse_uri(op.secret_uri))
        if s is None:
            return
        now = self.secret_clock()
        if op.hook == "secret-changed" and u.name in s.consumers:
            c = dataclasses.replace(s.consumers[u.name], seen=s.latest)
            s = dataclasses.replace(s, consumers={**s.consumers, u.name: c})
        elif op.hook == "secret-rotate":
            renewed = ctx is not None and s.id in getattr(ctx, "secret_new_revisions", ())
            s = dataclasses.replace(s, next_rotate=(
                secrets.next_rotate(s.rotate_policy, now, now) if renewed
                else now + secrets.ROTATE_RETRY_DELAY))
        elif op.hook in ("secret-expired", "secret-remove") and s.revision(op.secret_revision):
            rev = s.revision(op.secret_revision)
            rev = (dataclasses.replace(rev, expire_retry=now + secrets.EXPIRE_RETRY_DELAY)
                   if op.hook == "secret-expired" else
                   dataclasses.replace(rev, remove_notified=True))
            s = dataclasses.replace(s, revisions=tuple(
                rev if r.revision == rev.revision else r for r in s.revisions))
        self._put_secret(s)
