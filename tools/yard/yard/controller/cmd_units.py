"""CLI handlers: add and remove units and applications, errors, faults.
"""

from typing import List, Optional

from yard.controller.common import UserError


class UnitCommands:
    """Part of :class:`yard.controller.Controller`; see the package docstring."""

    def cmd_add_unit(self, app: str, num_units: int = 1, to: Optional[str] = None,
                     attach_storage=()) -> dict:
        """``yard add-unit APP [-n N] [--to X] [--attach-storage ID[,ID]]``."""
        with self.cond:
            a = self._app(app)
            attach = [s for item in attach_storage for s in item.split(",") if s]
            if attach and num_units != 1:
                raise UserError("--attach-storage cannot be used with -n")
            for sid in attach:
                self._storage_arg(sid)
            if a.subordinate:
                raise UserError(f'cannot add unit to application "{app}": '
                                'application is subordinate')
            targets = [t for t in (to or "").split(",") if t]
            names = []
            for i in range(num_units):
                m = self._placement(targets[i], None) if i < len(targets) else None
                self.attaching = attach  # fewer new instances of those stores
                try:
                    names.append(self._add_unit(app, m))
                finally:
                    self.attaching = []
                for sid in attach:
                    self._attach_existing(names[-1], sid)
            self.cond.notify_all()
            return {"units": names}

    def cmd_remove_unit(self, units: List[str], force: bool = False,
                        no_wait: bool = False, destroy_storage: bool = False) -> dict:
        """``yard remove-unit UNIT... [--force [--no-wait]] [--destroy-storage]``.

        Storage is detached by default (Juju 3.6), destroyed with --destroy-storage.
        """
        if no_wait and not force:
            raise UserError("--no-wait without --force not valid")
        with self.cond:
            for name in units:
                u = self._unit(name)
                if u.principal:
                    raise UserError(f'removing unit {name} failed: unit "{name}" is a '
                                    'subordinate, remove the relation instead')
            lines = []
            for name in units:
                self._destroy_unit(name)
                lines += [f"will remove unit {name}"] + self._storage_removal_lines(
                    name, destroy_storage)
            if force:
                self._force_units(units, no_wait)
            self.cond.notify_all()
            return {"message": "\n".join(lines)}

    def cmd_remove_application(self, apps: List[str], force: bool = False,
                               no_wait: bool = False, destroy_storage: bool = False) -> dict:
        """``yard remove-application APP... [--force [--no-wait]] [--destroy-storage]``."""
        if no_wait and not force:
            raise UserError("--no-wait without --force not valid")
        with self.cond:
            for name in apps:
                self._app(name)
            lines = []
            for name in apps:
                self.update_app(name, alive=False)
                for rel in list(self.state.relations.values()):
                    if rel.end_of(name) is not None and rel.alive:
                        self._update_relation(rel.id, alive=False)
                        self._kill_orphan_subordinates(rel)
                lines.append(f"will remove application {name}")
                units = [u.name for u in self.state.units.values() if u.app == name]
                for u in units:
                    self._destroy_unit(u)
                    lines += self._storage_removal_lines(u, destroy_storage)
                if force:
                    self._force_units(units, no_wait)
            self.cond.notify_all()
            return {"message": "\n".join(lines)}

    def cmd_resolved(self, unit: str, no_retry: bool = False) -> dict:
        """``yard resolved [--no-retry] UNIT``."""
        with self.cond:
            u = self._unit(unit)
            if u.local.error is None:
                raise UserError(f'unit "{unit}" is not in an error state')
            self.update_unit(unit, resolved="no-retry" if no_retry else "retry")
            return {}

    def cmd_fail_hook(self, unit: str, hook: str) -> dict:
        """Make the next run of ``hook`` on ``unit`` exit 1 without running."""
        with self.cond:
            self._unit(unit)
            self.fail_next.add((unit, hook))
            return {}
