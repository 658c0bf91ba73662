"""The "settled" checks behind ``yard wait``.
"""

import dataclasses
import time
from typing import Optional, Tuple

from yard import resolver
from yard.controller.common import UserError


class SettledRoom:
    """Part of :class:`yard.controller.Controller`; see the package docstring."""

    def _unsettled(self) -> Tuple[Optional[str], Optional[str]]:
        """(error, pending) descriptions; both None when the model is settled."""
        if self.ready_error:
            return f"provider: {self.ready_error}", None
        if not self.ready:
            return None, "provider is getting ready"
        err = self._first_error()
        if err:
            return err, None
        return None, self._first_pending()

    def _first_error(self) -> Optional[str]:
        for mid, m in sorted(self.state.machines.items()):
            if m.status == "error":
                return f'machine "{mid}" failed to start: {m.message}'
        for name in sorted(self.state.units):
            u = self.state.units[name]
            if u.local.error is not None and u.resolved is None:
                return f'unit "{name}" is in error: hook failed: "{u.local.error.hook}"'
        return None

    def _first_pending(self) -> Optional[str]:
        """What the model still waits for; a lost agent's work is not (it never comes)."""
        for mid, m in sorted(self.state.machines.items()):
            if m.status not in ("started", "down"):
                return f'machine "{mid}" is {m.status}'
        pending = self._first_lease() or next(
            (p for p in map(self._unit_pending, sorted(self.state.units)) if p), None)
        if pending:
            return pending
        for t in self.state.tasks.values():
            if t.status in ("pending", "running") and not self._lost_name(t.unit):
                return f"task {t.id} is {t.status}"
        for rel in self.state.relations.values():
            if not rel.alive and not all(self._lost_name(n) for n in rel.in_scope):
                return f'relation "{rel.key()}" is dying'
        return self._storage_unsettled()

    def _lost_name(self, name: str) -> bool:
        u = self.state.units.get(name)
        return u is not None and self._agent_down(u)

    def _unit_pending(self, name: str) -> Optional[str]:
        u = self.state.units[name]
        if u.force_at is not None:
            return f'unit "{name}" is being removed (--force)'
        if self._agent_down(u):
            return None
        if name in self.busy_units:
            return f'unit "{name}" is executing'
        remote = dataclasses.replace(self.remote_state(u), update_status_due=False)
        op = resolver.next_op(u.local, remote)
        if op is not None:
            return f'unit "{name}" has {op.hook or op.kind} pending'
        return None

    def _first_lease(self) -> Optional[str]:
        for name, app in sorted(self.state.applications.items()):
            left = self._lease_left(app)
            if left > 0:
                return (f'application "{name}": the lease of its lost leader {app.leader} '
                        f'lapses in {left:.0f}s')
        return None

    def cmd_wait(self, timeout: float = 600.0) -> dict:
        """Block until settled; raises with the unit in error or on timeout."""
        deadline = time.time() + float(timeout)
        with self.cond:
            while True:
                self._tick() if self.ready else None
                err, pending = self._unsettled()
                if err:
                    raise UserError(err)
                if pending is None:
                    return {"message": "model settled"}
                if time.time() >= deadline:
                    raise UserError(f"timed out after {timeout:g}s waiting for the model to "
                                    f"settle: {pending}")
                self.cond.wait(timeout=min(0.5, max(0.01, deadline - time.time())))
