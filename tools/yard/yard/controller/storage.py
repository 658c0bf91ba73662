"""Storage: instances and attachments, their provisioning, and the storage CLI verbs.

A storage instance is a real filesystem of its size, made and attached by the
provider (``attach_filesystem``: on LXD a loop-mounted ext4 image on the host
passed into the container as a disk device).  The uniter's side (which hook
runs when) is the resolver's ``_storage``; this room keeps the model's side:

- ``pending`` instances of a unit on a started machine are provisioned in the
  thread pool, then ``attached``;
- an attachment whose unit is dying or gone, or that ``detach-storage`` /
  ``remove-storage --force`` made dying, shows ``detaching``; once the unit
  has no ``storage-attached`` left for it (its detaching hook committed, or it
  never attached, or the unit is gone) the provider detaches it and it is
  ``detached``, or removed when it was to be destroyed.
"""

import dataclasses
import time
from typing import Dict, List, Optional

from yard import storage as storagelib
from yard.controller.common import UserError
from yard.model import StorageInstance, Unit


class StorageRoom:
    """Part of :class:`yard.controller.Controller`; see the package docstring."""

    # -- the model's side ----------------------------------------------------------------

    def _storage_directives(self, charm, given: List[str]) -> Dict[str, tuple]:
        """``--storage`` / bundle ``storage:`` over Juju's defaults, checked against the charm."""
        try:
            return storagelib.resolve(charm, storagelib.parse_directives(given or ()))
        except storagelib.StorageError as e:
            raise UserError(str(e)) from None

    def _add_storage(self, unit: str, name: str, pool: str, size: int, count: int) -> List[str]:
        """Make ``count`` new instances of store ``name`` attached to ``unit``."""
        u = self.state.units[unit]
        spec = self.charm_of(u.app).storage[name]
        instances = dict(self.state.storage)
        ids = []
        n = self.state.next_storage
        for _ in range(count):
            sid = f"{name}/{n}"
            n += 1
            try:
                location = storagelib.mount_point(spec, sid)
            except storagelib.StorageError as e:
                raise UserError(str(e)) from None
            instances[sid] = StorageInstance(
                id=sid, name=name, pool=pool, size=size, unit=unit, machine=u.machine,
                location=location, read_only=spec.read_only, since=time.time())
            ids.append(sid)
        self._set(storage=instances, next_storage=n)
        return ids

    def _add_unit_storage(self, unit: str) -> None:
        """A new unit gets its application's storage directives (Juju's add-unit), less
        the instances ``add-unit --attach-storage`` brings (``self.attaching``)."""
        app = self.state.applications[self.state.units[unit].app]
        for name, (pool, size, count) in sorted(app.storage.items()):
            count -= sum(1 for sid in self.attaching if sid.split("/")[0] == name)
            if count > 0:
                self._add_storage(unit, name, pool, size, count)

    def _attach_existing(self, unit: str, sid: str) -> None:
        """Attach a detached instance to ``unit`` (state/storage.go ``AttachStorage``)."""
        s = self._storage_arg(sid)
        u = self._unit(unit)
        try:
            if s.unit == unit:
                raise storagelib.StorageError(f'storage attachment "{sid}" on "{unit}" '
                                              "already exists")
            if s.unit is not None:
                raise storagelib.StorageError(f"cannot attach storage owned by unit {s.unit} "
                                              f"to unit {unit}")
            charm = self.charm_of(u.app)
            spec = charm.storage.get(s.name)
            if spec is None:
                raise storagelib.StorageError(f"charm {charm.name} has no storage called "
                                              f"{s.name}")
            storagelib.check_change(spec, self._unit_count(unit, s.name), 1)
            location = storagelib.mount_point(spec, sid)
        except storagelib.StorageError as e:
            raise UserError(f"cannot attach storage {sid} to unit {unit}: {e}") from None
        self._update_storage(sid, unit=unit, machine=u.machine, location=location,
                             read_only=spec.read_only, status="pending", destroy=False)

    def cmd_attach_storage(self, unit: str, ids: List[str]) -> dict:
        """``yard attach-storage UNIT ID...``: detached storage joins a unit."""
        with self.cond:
            for sid in ids:
                self._attach_existing(unit, sid)
            return {}

    def _update_storage(self, sid: str, **changes) -> None:
        s = self.state.storage.get(sid)
        if s is None:
            return
        if changes.get("status", s.status) != s.status:
            changes["since"] = time.time()
        instances = dict(self.state.storage)
        instances[sid] = dataclasses.replace(s, **changes)
        self._set(storage=instances)
        self.cond.notify_all()

    def storage_view(self, unit: Unit) -> Dict[str, str]:
        """The unit's attachments as its ``RemoteState`` carries them."""
        out = {}
        for sid, s in self.state.storage.items():
            if s.unit != unit.name:
                continue
            out[sid] = {"pending": "pending", "attached": "attached"}.get(s.status, "dying")
        return out

    def _storage_tick(self) -> None:
        """Provision pending attachments; finish detaching the dying ones."""
        busy = self.storage_busy
        for sid, s in sorted(self.state.storage.items()):
            if sid in busy or s.unit is None:
                continue
            u = self.state.units.get(s.unit)
            if s.status == "attached" and (u is None or not u.alive):
                self._update_storage(sid, status="detaching")
            m = self.state.machines.get(s.machine or "")
            if s.status == "pending" and u is not None and u.alive:
                if m is not None and m.status == "started":
                    busy.add(sid)
                    self.pool.submit(self._provision_storage, sid)
                continue
            done = u is None or (sid not in u.local.storage and u.name not in self.busy_units)
            if s.status in ("pending", "detaching") and done:
                busy.add(sid)
                self.pool.submit(self._release_storage, sid, s.status != "pending")

    def _provision_storage(self, sid: str) -> None:
        with self.lock:
            s = self.state.storage[sid]
        try:
            self.provider.attach_filesystem(s.machine, sid, s.size, s.location, s.read_only)
            with self.cond:
                self._update_storage(sid, status="attached", message="")
                self.debug_log(f"machine-{s.machine}", "INFO", "juju.storage.provisioner",
                               f"filesystem {sid} ({s.size}M) attached at {s.location}")
        except Exception as e:  # noqa: BLE001 - shown as the storage's message
            with self.cond:
                self._update_storage(sid, message=str(e))
                self.debug_log(f"machine-{s.machine}", "ERROR", "juju.storage.provisioner",
                               f"cannot attach {sid}: {e}")
            time.sleep(5)  # retried by the next tick after that
        finally:
            with self.cond:
                self.storage_busy.discard(sid)
                self.cond.notify_all()

    def _release_storage(self, sid: str, made: bool) -> None:
        """Detach from the machine; destroy or keep as ``detached`` (Juju's default)."""
        with self.lock:
            s = self.state.storage[sid]
        try:
            if made:
                self.provider.detach_filesystem(s.machine, sid, s.location)
            if s.destroy:
                self.provider.destroy_filesystem(sid)
            with self.cond:
                if s.destroy:
                    instances = dict(self.state.storage)
                    instances.pop(sid, None)
                    self._set(storage=instances)
                else:
                    self._update_storage(sid, status="detached", unit=None, machine=None,
                                         message="")
        except Exception as e:  # noqa: BLE001 - shown as the storage's message
            with self.cond:
                self._update_storage(sid, message=str(e))
            time.sleep(5)
        finally:
            with self.cond:
                self.storage_busy.discard(sid)
                self.cond.notify_all()

    def _storage_unsettled(self) -> Optional[str]:
        """What ``yard wait`` still waits for: storage being provisioned or detached."""
        for sid, s in sorted(self.state.storage.items()):
            if s.status in ("pending", "detaching") or sid in self.storage_busy:
                return f'storage "{sid}" is {s.status}'
        return None

    def _storage_of(self, unit: str) -> List[str]:
        return sorted((sid for sid, s in self.state.storage.items() if s.unit == unit),
                      key=storagelib.sort_key)

    def _storage_removal_lines(self, unit: str, destroy: bool) -> List[str]:
        """Mark a removed unit's storage for destruction or detachment; Juju's message lines."""
        lines = []
        for sid in self._storage_of(unit):
            if destroy:
                self._update_storage(sid, destroy=True)
            lines.append(f"- will {'remove' if destroy else 'detach'} storage {sid}")
        return lines

    def _destroy_all_storage(self) -> None:
        """destroy-model: every instance goes, attached or not."""
        for sid, s in sorted(self.state.storage.items()):
            try:
                if s.machine is not None:
                    self.provider.detach_filesystem(s.machine, sid, s.location)
                self.provider.destroy_filesystem(sid)
            except Exception as e:  # noqa: BLE001 - destroy what we can
                self.debug_log("controller", "WARNING", "juju.storage", f"{sid}: {e}")
        self._set(storage={})

    # -- hook tools -----------------------------------------------------------------------

    def storage_add(self, unit: str, counts: Dict[str, int]) -> None:
        """``storage-add`` at hook commit: new instances with the app's directives."""
        u = self.state.units[unit]
        charm = self.charm_of(u.app)
        app = self.state.applications[u.app]
        for name, count in sorted(counts.items()):
            spec = charm.storage[name]
            pool, size, _ = app.storage.get(name) or (
                storagelib.DEFAULT_POOL, spec.minimum_size or storagelib.DEFAULT_SIZE, 0)
            self._add_storage(unit, name, pool, size, count)

    def check_storage_add(self, unit: str, counts: Dict[str, int]) -> None:
        """Juju's checks for ``storage-add`` (state/storage.go texts).

        :raises storagelib.StorageError: unknown store, or above its maximum count.
        """
        charm = self.charm_of(self.state.units[unit].app)
        for name, count in sorted(counts.items()):
            spec = charm.storage.get(name)
            if spec is None:
                raise storagelib.StorageError(f'charm "{charm.name}" has no store called '
                                              f'"{name}"')
            storagelib.check_change(spec, self._unit_count(unit, name), count)

    # -- CLI ------------------------------------------------------------------------------

    def cmd_storage(self) -> dict:
        """``yard storage``: the shape of ``juju storage --format yaml`` (cmd/juju/storage:
        ``storage`` by storage id, ``filesystems`` by filesystem id, with pool and size)."""
        with self.cond:
            storage, filesystems = {}, {}
            for sid, s in self.state.storage.items():
                status = {"current": s.status, "since": _since(s.since)}
                if s.message:
                    status["message"] = s.message
                info = {"kind": s.kind, "life": "dying" if s.destroy else "alive",
                        "status": status, "persistent": False}
                fs = {"storage": sid, "pool": s.pool, "size": s.size, "life": info["life"],
                      "status": status}
                if s.unit:
                    life = "dying" if s.status == "detaching" else "alive"
                    info["attachments"] = {"units": {s.unit: {
                        "machine": s.machine, "location": s.location, "life": life}}}
                    fs["attachments"] = {
                        "machines": {s.machine: {"mount-point": s.location,
                                                 "read-only": s.read_only, "life": life}},
                        "units": info["attachments"]["units"]}
                storage[sid] = info
                filesystems[sid.split("/")[1]] = fs
            return {"storage": storage, "filesystems": filesystems}

    def cmd_add_storage(self, unit: str, directive: str) -> dict:
        """``yard add-storage UNIT name[=pool,size,count]``."""
        with self.cond:
            u = self._unit(unit)
            charm = self.charm_of(u.app)
            try:
                name, d = next(iter(storagelib.parse_directives([directive], False).items()))
                if name not in charm.storage:
                    raise storagelib.StorageError(f'charm "{charm.name}" has no store called '
                                                  f'"{name}"')
                self.check_storage_add(unit, {name: d.count})
            except storagelib.StorageError as e:
                raise UserError(str(e)) from None
            spec = charm.storage[name]
            app = self.state.applications[u.app]
            pool, size, _ = app.storage.get(name) or ("", 0, 0)
            ids = self._add_storage(unit, name, d.pool or pool or storagelib.DEFAULT_POOL,
                                    d.size or size or spec.minimum_size
                                    or storagelib.DEFAULT_SIZE, d.count)
            return {"message": "\n".join(f'added storage {sid} to {unit}' for sid in ids)}

    def _storage_arg(self, sid: str) -> StorageInstance:
        if not storagelib.valid_id(sid):
            raise UserError(f'storage ID "{sid}" not valid')
        s = self.state.storage.get(sid)
        if s is None:
            raise UserError(f'storage "{sid}" not found')
        return s

    def cmd_detach_storage(self, ids: List[str]) -> dict:
        """``yard detach-storage ID...``: the attachment dies (detaching hook first)."""
        with self.cond:
            for sid in ids:
                s = self._storage_arg(sid)
                if s.unit is None:
                    raise UserError(f'storage {sid} is not attached')
                self._check_min_count(s)
            for sid in ids:
                self._update_storage(sid, status="detaching")
            return {"message": "\n".join(f"detaching {sid}" for sid in ids)}

    def _unit_count(self, unit: str, name: str) -> int:
        return sum(1 for s in self.state.storage.values()
                   if s.unit == unit and s.name == name and s.status != "detaching")

    def _check_min_count(self, s: StorageInstance) -> None:
        u = self.state.units.get(s.unit)
        if u is None or not u.alive:
            return
        spec = self.charm_of(u.app).storage.get(s.name)
        try:
            if spec is not None:
                storagelib.check_change(spec, self._unit_count(s.unit, s.name), -1)
        except storagelib.StorageError as e:
            raise UserError(f"detaching {s.id} from unit {s.unit}: {e}") from None

    def cmd_remove_storage(self, ids: List[str], force: bool = False) -> dict:
        """``yard remove-storage [--force] ID...``: destroy; attached ones need --force."""
        with self.cond:
            for sid in ids:
                s = self._storage_arg(sid)
                if s.unit is not None and not force:
                    raise UserError(f"removing storage {sid} failed: storage is attached; "
                                    "use --force to detach and remove it")
            for sid in ids:
                s = self.state.storage[sid]
                self._update_storage(sid, destroy=True,
                                     status=s.status if s.unit is None else "detaching")
                if s.unit is None and s.status == "detached":
                    self._remove_detached(sid)
            return {"message": "\n".join(f"removing {sid}" for sid in ids)}

    def _remove_detached(self, sid: str) -> None:
        try:
            self.provider.destroy_filesystem(sid)
        except Exception as e:  # noqa: BLE001 - reported
            raise UserError(f"removing storage {sid} failed: {e}") from None
        instances = dict(self.state.storage)
        instances.pop(sid, None)
        self._set(storage=instances)


def _since(t: Optional[float]) -> str:
    return time.strftime("%d %b %Y %H:%M:%SZ", time.gmtime(t or time.time()))
