"""CLI handlers: user secrets (``juju add-secret`` and friends) and the model clock.

User secrets (Juju 3.3+, ``cmd/juju/secrets``): owned by the model, named by
their label, readable by the applications ``grant-secret`` names (no hook runs
on a grant); ``update-secret`` with new content makes a new revision and
consumers get ``secret-changed``.  Content arrives already parsed and base64
encoded by the CLI (``#file`` paths are read on the client, as juju does).
"""

import dataclasses
import time
from typing import Dict, List, Optional

from yard import secrets
from yard.controller.common import UserError, parse_duration
from yard.secrets import Grant, Revision, Secret


class SecretCommands:
    """Part of :class:`yard.controller.Controller`; see the package docstring."""

    def _named_secret(self, name: str, user_only: bool = True) -> Secret:
        table = self.state.secrets.secrets
        s = None
        try:
            s = table.get(secrets.parse_uri(name))
        except secrets.SecretError:
            pass
        if s is None:
            s = next((x for x in table.values()
                      if x.owner == secrets.MODEL_OWNER and x.label == name), None)
        if s is None or (user_only and s.owner != secrets.MODEL_OWNER):
            raise UserError(f'secret "{name}" not found')
        return s

    def cmd_add_secret(self, name: str, content: Dict[str, str], info: str = "") -> dict:
        """``yard add-secret NAME key=value... [--info TEXT]``: prints the URI."""
        with self.cond:
            if not content:
                raise UserError("missing secret value or filename")
            if self.secret_by_owner_label(secrets.MODEL_OWNER, name) is not None:
                raise UserError(f'secret with name "{name}" already exists')
            now = time.time()
            s = Secret(id=secrets.new_id(), owner=secrets.MODEL_OWNER,
                       revisions=(Revision(1, now),), label=name, description=info,
                       created=now, updated=now)
            self.secret_contents.put(s.id, 1, content)
            self._put_secret(s)
            return {"uri": secrets.uri(s.id)}

    def cmd_update_secret(self, name: str, content: Optional[Dict[str, str]] = None,
                          info: Optional[str] = None, new_name: Optional[str] = None) -> dict:
        """``yard update-secret NAME [key=value...] [--info] [--name]``."""
        with self.cond:
            s = self._named_secret(name)
            op = {"content": content or {}, "description": info, "label": new_name}
            s, _ = self._upsert(s, op, self.secret_clock())
            self._put_secret(s)
            self._secret_prune(s)
            return {}

    def cmd_remove_secret(self, name: str, revision: Optional[int] = None) -> dict:
        """``yard remove-secret NAME [--revision N]``."""
        with self.cond:
            s = self._named_secret(name)
            if revision is not None and s.revision(revision) is None:
                raise UserError(f'secret revision "{revision}" not found')
            self._remove(s, revision)
            return {}

    def _grant_targets(self, apps: List[str]) -> List[str]:
        for app in apps:
            self._app(app)
        return apps

    def cmd_grant_secret(self, name: str, apps: List[str]) -> dict:
        """``yard grant-secret NAME APP[,APP]``: read access, no hook."""
        with self.cond:
            s = self._named_secret(name)
            new = [a for a in self._grant_targets(apps) if a not in {g.target for g in s.grants}]
            self._put_secret(dataclasses.replace(
                s, grants=s.grants + tuple(Grant(a) for a in new)))
            return {}

    def cmd_revoke_secret(self, name: str, apps: List[str]) -> dict:
        """``yard revoke-secret NAME APP[,APP]``."""
        with self.cond:
            s = self._named_secret(name)
            gone = set(self._grant_targets(apps))
            self._put_secret(dataclasses.replace(
                s, grants=tuple(g for g in s.grants if g.target not in gone)))
            return {}

    def _owner_text(self, s: Secret) -> str:
        return "<model>" if s.owner == secrets.MODEL_OWNER else s.owner

    def cmd_secrets(self) -> List[dict]:
        """``yard secrets``: every secret's metadata (never content)."""
        with self.cond:
            return [{"id": s.id, "uri": secrets.uri(s.id), "name": s.label,
                     "owner": self._owner_text(s), "rotation": s.rotate_policy or "never",
                     "revision": s.latest, "updated": secrets.rfc3339(s.updated)}
                    for s in sorted(self.state.secrets.secrets.values(), key=lambda x: x.id)]

    def cmd_show_secret(self, name: str, reveal: bool = False, revisions: bool = False) -> dict:
        """``yard show-secret NAME|ID [--reveal] [--revisions]``, as ``juju show-secret``."""
        with self.cond:
            s = self._named_secret(name, user_only=False)
            out = {"revision": s.latest, "owner": self._owner_text(s)}
            if s.label:
                out["name" if s.owner == secrets.MODEL_OWNER else "label"] = s.label
            if s.description:
                out["description"] = s.description
            if s.rotate_policy:
                out["rotation"] = s.rotate_policy
            out["created"] = secrets.rfc3339(s.created)
            out["updated"] = secrets.rfc3339(s.updated)
            if revisions:
                out["revisions"] = [{"revision": r.revision, "created": secrets.rfc3339(
                    r.created)} for r in s.revisions]
            access = self._access_list(s)
            if access:
                out["access"] = access
            if reveal:
                out["content"] = secrets.decoded(self.secret_contents.get(s.id, s.latest))
            return {s.id: out}

    def cmd_advance_clock(self, duration: str) -> dict:
        """``yard advance-clock DURATION``: move the model's secret clock forward.

        Rotation and expiry are due when the model clock passes their time, as in
        Juju when that much time has passed; nothing else changes.
        """
        with self.cond:
            seconds = parse_duration(duration)
            self._set(secrets=dataclasses.replace(
                self.state.secrets, clock_offset=self.state.secrets.clock_offset + seconds))
            self.cond.notify_all()
            return {"offset": self.state.secrets.clock_offset}
