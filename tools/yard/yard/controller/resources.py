"""Charm resources (type ``file``): uploads, attach-resource and what ``resource-get`` fetches.

Juju's rules (juju/juju 3.x, cited in tools/yard/README.md, "Resources"):

- deploying a local charm makes one record per resource in metadata; one not
  supplied with ``--resource`` (or a bundle's ``resources:``) is a
  *placeholder*, and ``resource-get`` on it fails;
- an upload stores the file with Origin ``upload``, the uploading user and the
  time (``apiserver`` resources handler ``updateResource`` sets Revision 0);
- an upload whose bytes differ from what the application had bumps the
  application's ``CharmModifiedVersion`` (``state/resources_staged.go``
  ``Activate``/``hasNewBytes``), which is what makes the uniter run
  ``upgrade-charm`` (then ``config-changed``); the same bytes again change
  nothing.  At deploy the bump is not made (the charm is new anyway);
- the unit fetches the file on ``resource-get`` into
  ``/var/lib/juju/agents/unit-<app>-<n>/resources/<name>/<filename>`` and
  syncs it on every later call.

The copies live under ``$YARD_HOME/<model>/resources/<app>/<name>/<sha384>``.
"""

import dataclasses
import hashlib
import os
import shutil
import time
from typing import Dict, List, Optional

from yard.context import ToolError
from yard.controller.common import UserError
from yard.model import AppResource, unit_tag

UPLOADER = "admin"  # Juju records the uploading user; yard has one


def _fingerprint(path: str) -> str:
    h = hashlib.sha384()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def unit_resource_path(unit: str, name: str, filename: str) -> str:
    """Where ``resource-get`` puts a resource on the unit's machine."""
    return f"/var/lib/juju/agents/{unit_tag(unit)}/resources/{name}/{filename}"


class ResourcesRoom:
    """Part of :class:`yard.controller.Controller`; see the package docstring."""

    def _check_resources(self, known: dict, supplied: Dict[str, str]) -> None:
        """Names the charm declares, files that can be read: before anything changes.

        ``unrecognized resource "x"`` / ``unrecognized resources: x, y`` are
        cmd/juju/resource/deploy.go ``checkExpectedResources``; a missing file
        is Go's ``open PATH: no such file or directory``; a file whose extension
        is not the metadata filename's is refused as the apiserver resources
        handler does (``incorrect extension on resource upload "f", expected ".x"``).
        """
        unknown = sorted(n for n in supplied if n not in known)
        if len(unknown) == 1:
            raise UserError(f'unrecognized resource "{unknown[0]}"')
        if unknown:
            raise UserError("unrecognized resources: " + ", ".join(unknown))
        for name, path in supplied.items():
            if not os.path.isfile(path):
                raise UserError(f"open {path}: no such file or directory")
            # The apiserver's resources handler refuses another extension.
            want = os.path.splitext(known[name].filename)[1]
            if os.path.splitext(path)[1] != want:
                raise UserError(f'incorrect extension on resource upload "{path}", '
                                f'expected "{want}"')

    def _store_upload(self, app: str, name: str, src: str) -> AppResource:
        """Copy ``src`` into the model and return the uploaded record (state unchanged)."""
        res = self.state.resources[f"{app}/{name}"]
        fp = _fingerprint(src)
        dest = os.path.join(self.dir, "resources", app, name, fp)
        if not os.path.exists(dest):
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copyfile(src, dest + ".tmp")
            os.replace(dest + ".tmp", dest)
        return dataclasses.replace(res, path=dest, fingerprint=fp, size=os.path.getsize(dest),
                                   username=UPLOADER, timestamp=time.time())

    def _add_resources(self, app: str, supplied: Optional[Dict[str, str]]) -> None:
        """Record the charm's resources for a new application, uploading ``supplied`` ones."""
        supplied = supplied or {}
        resources = dict(self.state.resources)
        for name, meta in self.charm_of(app).resources.items():
            resources[f"{app}/{name}"] = AppResource(app=app, name=name, filename=meta.filename,
                                                     description=meta.description)
        self._set(resources=resources)
        for name, path in supplied.items():
            res = self._store_upload(app, name, path)
            self._set(resources=dict(self.state.resources, **{f"{app}/{name}": res}))

    def _new_charm_resources(self, app: str, charm) -> None:
        """After a refresh: placeholders for resources the new charm adds."""
        resources = dict(self.state.resources)
        for name, meta in charm.resources.items():
            key = f"{app}/{name}"
            old = resources.get(key)
            resources[key] = (dataclasses.replace(old, filename=meta.filename,
                                                  description=meta.description)
                              if old else AppResource(app=app, name=name,
                                                      filename=meta.filename,
                                                      description=meta.description))
        self._set(resources=resources)

    def _forget_resources(self, app: str) -> None:
        """Drop an application's resources (removal); the copies go with the model."""
        self._set(resources={k: v for k, v in self.state.resources.items() if v.app != app})

    def cmd_attach_resource(self, app: str, resources: Dict[str, str]) -> dict:
        """``juju attach-resource APP name=path...``: new bytes run upgrade-charm."""
        with self.cond:
            a = self._app(app)
            for name, path in resources.items():
                try:
                    self._check_resources(self.charm_of(app).resources, {name: path})
                except UserError as e:  # cmd/juju/resource/upload.go names the resource
                    if not str(e).startswith("unrecognized"):
                        raise UserError(f'failed to upload resource "{name}": {e}') from None
                    raise
            changed = False
            for name, path in resources.items():
                old = self.state.resources[f"{app}/{name}"]
                new = self._store_upload(app, name, path)
                changed = changed or new.fingerprint != old.fingerprint
                self._set(resources=dict(self.state.resources, **{f"{app}/{name}": new}))
            if changed:
                self.update_app(app, charm_modified_version=a.charm_modified_version + 1)
            self.cond.notify_all()
            return {"upgraded": changed}

    def cmd_resources(self, app: str) -> dict:
        """``juju resources APP|UNIT`` data: one entry per resource in Juju's formatted shape.

        For a unit, as cmd/juju/resource/list.go ``formatUnitResources``: a
        resource the unit never fetched has revision ``-``.
        """
        with self.cond:
            unit = self._unit(app) if "/" in app else None
            app = unit.app if unit else self._app(app).name
            out: List[dict] = []
            for res in sorted(self.state.resources.values(), key=lambda r: r.name):
                if res.app != app:
                    continue
                entry = resource_json(res)
                if unit is not None and res.name not in unit.resources:
                    entry["revision"] = "-"
                out.append(entry)
            return {"resources": out, "unit": unit.name if unit else None}

    def resource_fetch(self, unit: str, name: str) -> str:
        """``resource-get``: sync the unit's copy with the application's and return its path.

        Called from the hook tool server without the lock held; it takes it only
        to read and record, and copies into the machine without it.
        """
        with self.lock:
            u = self.state.units[unit]
            res = self.state.resources.get(f"{u.app}/{name}")
            have = u.resources.get(name)
            machine = u.machine
        if res is None or res.placeholder:
            # The text seen from Juju for a local charm deployed without the
            # resource (juju PR #12367; ops' Harness raises the same).
            url = (f"https://{self.provider.host_address()}:17070/model/{self.state.uuid}"
                   f"/units/{unit_tag(unit)}/resources/{name}")
            raise ToolError(f"could not download resource: HTTP request failed: "
                            f"Get {url}: resource#{u.app}/{name} not found")
        dest = unit_resource_path(unit, name, res.filename)
        if have != res.fingerprint:
            self.provider.push(machine, res.path, dest)
            with self.lock:
                cur = self.state.units.get(unit)
                if cur is not None:
                    self.update_unit(unit, resources={**cur.resources, name: res.fingerprint})
        return dest


def revision_text(res: AppResource) -> str:
    """The Revision column: Juju's ``combinedRevision`` for an upload.

    cmd/juju/resource/formatter.go formats the upload time with the Go layout
    ``2006-02-01T15:04``: year, *day*, month (a Juju quirk kept here); ``-``
    when nothing was uploaded.
    """
    if res.placeholder:
        return "-"
    return time.strftime("%Y-%d-%mT%H:%M", time.gmtime(res.timestamp))


def resource_json(res: AppResource) -> dict:
    """Juju's ``FormattedAppResource`` (cmd/juju/resource/formatted.go) plus the table cells."""
    d = {"resourceid": f"{res.app}/{res.name}", "applicationId": res.app, "name": res.name,
         "type": "file", "path": res.filename, "revision": "0", "fingerprint": res.fingerprint,
         "size": res.size, "origin": "upload", "used": not res.placeholder}
    if res.description:
        d["description"] = res.description
    if not res.placeholder:
        d["timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(res.timestamp))
        d["username"] = res.username
    d["_supplied_by"] = res.username if not res.placeholder else "upload"
    d["_revision"] = revision_text(res)
    return d
