"""CLI handlers: actions (run), exec and tasks.
"""

import time
from typing import Optional

from yard import charm as charmlib
from yard.controller.common import task_json, UserError
from yard.model import Task, Unit


class TaskCommands:
    """Part of :class:`yard.controller.Controller`; see the package docstring."""

    def _leader_or_unit(self, target: str) -> Unit:
        if target.endswith("/leader"):
            app = self._app(target.split("/")[0])
            if not app.leader:
                raise UserError(f'could not determine leader for "{app.name}"')
            return self.state.units[app.leader]
        return self._unit(target)

    def cmd_run(self, target: str, action: str, params: Optional[dict] = None) -> dict:
        """Enqueue an action; returns the task id."""
        with self.cond:
            u = self._leader_or_unit(target)
            charm = self.charm_of(u.app)
            if action not in charm.actions:
                raise UserError(f'action "{action}" not defined on unit "{u.name}"')
            try:
                full = charmlib.validate_action(charm, action, params or {})
            except charmlib.CharmError as e:
                raise UserError(str(e)) from None
            return {"id": self._add_task(u.name, action, full, "action"), "unit": u.name}

    def _add_task(self, unit: str, name: str, params: dict, kind: str) -> int:
        tid = self.state.next_task
        tasks = dict(self.state.tasks)
        tasks[tid] = Task(id=tid, unit=unit, name=name, params=params, kind=kind,
                          enqueued=time.time())
        self._set(tasks=tasks, next_task=tid + 1)
        self.cond.notify_all()
        return tid

    def cmd_exec(self, unit: str, command: str) -> dict:
        """Enqueue a command to run in a hook context on a unit."""
        with self.cond:
            u = self._leader_or_unit(unit)
            return {"id": self._add_task(u.name, "juju-exec", {"command": command}, "exec"),
                    "unit": u.name}

    def cmd_task(self, id: int, wait: Optional[float] = None) -> dict:
        """A task's state; with ``wait`` block until it finishes (or the time is up)."""
        deadline = time.time() + (wait or 0)
        with self.cond:
            while True:
                task = self.state.tasks.get(int(id))
                if task is None:
                    raise UserError(f'task "{id}" not found')
                if task.status in ("completed", "failed") or time.time() >= deadline:
                    return task_json(task)
                self.cond.wait(timeout=min(1.0, max(0.01, deadline - time.time())))
