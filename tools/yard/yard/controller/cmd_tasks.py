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

    def cmd_run(self, target: str, action: str, params: Optional[dict] = None,
                operation: Optional[int] = None) -> dict:
        """Enqueue an action; returns the task id (and its operation's).

        ``operation`` adds the task to an operation made by an earlier call
        (``juju run`` on several units is one operation with one task each).
        """
        with self.cond:
            u = self._leader_or_unit(target)
            charm = self.charm_of(u.app)
            if action not in charm.actions:
                raise UserError(f'action "{action}" not defined on unit "{u.name}"')
            try:
                full = charmlib.validate_action(charm, action, params or {})
            except charmlib.CharmError as e:
                raise UserError(str(e)) from None
            return self._add_task(u.name, action, full, "action", operation)

    def _add_task(self, unit: str, name: str, params: dict, kind: str,
                  operation: Optional[int]) -> dict:
        """A task, and a new operation first unless ``operation`` names one.

        Juju numbers both from one model-wide sequence, ``task``
        (state/operation.go ``newOperationDoc``: ``sequenceWithMin("task", 1)``;
        state/action.go ``newActionDoc``: ``sequence("task")``), so the first
        ``juju run`` is operation 1 with task 2, the next operation 3 with task 4.
        """
        if operation is None:
            operation = self.state.next_task
            self._set(next_task=operation + 1)
        tid = self.state.next_task
        tasks = dict(self.state.tasks)
        tasks[tid] = Task(id=tid, unit=unit, name=name, params=params, kind=kind,
                          enqueued=time.time(), operation=operation)
        self._set(tasks=tasks, next_task=tid + 1)
        self.cond.notify_all()
        return {"id": tid, "operation": operation, "unit": unit}

    def cmd_exec(self, unit: str, command: str, operation: Optional[int] = None) -> dict:
        """Enqueue a command to run in a hook context on a unit (see :meth:`cmd_run`)."""
        with self.cond:
            u = self._leader_or_unit(unit)
            return self._add_task(u.name, "juju-exec", {"command": command}, "exec", operation)

    def cmd_operation(self, id: int) -> dict:
        """The tasks of one operation (``show-operation``)."""
        with self.cond:
            tasks = [task_json(t) for t in sorted(self.state.tasks.values(), key=lambda t: t.id)
                     if t.operation == int(id)]
            if not tasks:
                raise UserError(f'operation "{id}" not found')
            return {"id": str(id), "tasks": tasks}

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
