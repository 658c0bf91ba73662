"""CLI handlers: deploy (charms and bundles) and upgrade-charm.
"""

import os
import re
import shutil
from typing import Dict, List, Optional, Tuple

from yard import bundle as bundlelib
from yard import charm as charmlib
from yard.controller.common import UserError
from yard.model import Application, RelEnd, unit_number


class DeployCommands:
    """Part of :class:`yard.controller.Controller`; see the package docstring."""

    def _placement(self, to: Optional[str], bundle_machines: Dict[str, str]) -> Optional[str]:
        """The machine for a ``--to``/``to:`` directive (None: a new machine).

        ``lxd:N`` is a new container, as in Juju (every yard machine is one); ``N`` is
        machine N (of the bundle when deploying one); ``app/N`` or ``app`` co-locates.
        """
        if to is None or to in ("", "new") or re.match(r"^(lxd|lxc)(:\d+)?$", to):
            host = to.split(":")[1] if to and ":" in to else None
            known = bundle_machines if bundle_machines is not None else self.state.machines
            if host is not None and host not in known:
                raise UserError(f'machine "{host}" not found')
            return None
        if to.isdigit():
            if bundle_machines is not None:
                if bundle_machines.get(to) is None:
                    bundle_machines[to] = self._add_machine()
                return bundle_machines[to]
            if to not in self.state.machines:
                raise UserError(f'machine "{to}" not found')
            return to
        target = self.state.units.get(to)
        if target is None and "/" not in to:
            cands = sorted((u for u in self.state.units.values() if u.app == to),
                           key=lambda u: unit_number(u.name))
            target = cands[0] if cands else None
        if target is None:
            raise UserError(f'invalid placement "{to}"')
        return target.machine

    def _store_charm(self, app: str, rev: int, path: str) -> str:
        """Copy the charm into the model, as Juju stores the charm archive at deploy.

        Units get this copy, so rebuilding the source folder changes nothing
        until ``upgrade-charm``.
        """
        dest = os.path.join(self.dir, "charms", f"{app}-{rev}")
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(path, dest, symlinks=True,
                        ignore=shutil.ignore_patterns(".git", "__pycache__"))
        self.charms[dest] = charmlib.load_charm(dest)
        return dest

    def _next_charm_rev(self, charm: charmlib.Charm) -> int:
        """Juju's local charm revision: a per-name sequence whose minimum is the charm's own.

        state/charm.go ``PrepareLocalCharmUpload`` takes ``sequenceWithMin(
        "charmrev-<url>", <revision file or 0>)``: the first upload of a charm
        name is 0 (or its ``revision`` file), each later one (another deploy,
        a refresh) one more.  The sequence outlives the application.
        """
        rev = max(self.state.charm_revisions.get(charm.name, 0), charm.revision)
        self._set(charm_revisions=dict(self.state.charm_revisions, **{charm.name: rev + 1}))
        return rev

    def _deploy_app(self, name: str, path: str, num_units: int, options: dict,
                    to: Tuple[str, ...] = (), bundle_machines=None, storage=(),
                    resources: Optional[Dict[str, str]] = None) -> None:
        if not re.match(r"^[a-z][a-z0-9]*(-[a-z0-9]*[a-z][a-z0-9]*)*$", name):
            raise UserError(f'invalid application name "{name}"')
        charm = charmlib.load_charm(path)
        self.charms[charm.path] = charm
        cfg = {k: charmlib.coerce_option(charm, k, v) for k, v in (options or {}).items()}
        if name in self.state.applications:
            raise UserError(f'cannot add application "{name}": application already exists')
        self._check_resources(charm.resources, resources or {})
        machines = [self._placement(t, bundle_machines) for t in to]
        directives = self._storage_directives(charm, list(storage))
        rev = self._next_charm_rev(charm)
        stored = self._store_charm(name, rev, charm.path)
        apps = dict(self.state.applications)
        apps[name] = Application(name=name, charm_path=stored, charm_name=charm.name,
                                 charm_rev=rev, subordinate=charm.subordinate, config=cfg,
                                 charm_source=charm.path, storage=directives)
        self._set(applications=apps)
        self._add_resources(name, resources)
        for ep in charm.endpoints:
            if ep.role == "peers":
                self._add_relation((RelEnd(name, ep.name, "peers", ep.interface),), ep.scope)
        if charm.subordinate:
            return
        for i in range(num_units):
            self._add_unit(name, machines[i] if i < len(machines) else None)

    def cmd_deploy(self, path: str, overlays=(), name: Optional[str] = None, num_units: int = 1,
                   config: Optional[dict] = None, to: Optional[str] = None,
                   storage=(), resources: Optional[Dict[str, str]] = None) -> dict:
        """Deploy a bundle file or one built charm folder."""
        with self.cond:
            try:
                if os.path.isfile(path):
                    return self._deploy_bundle(path, list(overlays))
                charm = charmlib.load_charm(path)
                app = name or charm.name
                cfg = {}
                for k, v in (config or {}).items():
                    cfg[k] = charmlib.coerce_option(charm, k, v)
                targets = [t for t in (to or "").split(",") if t] if to else []
                self._deploy_app(app, path, num_units, cfg, tuple(targets), storage=storage,
                                 resources=resources)
                self.cond.notify_all()
                return {"message": f'Deployed "{app}" from local charm "{charm.name}"'}
            except charmlib.CharmError as e:
                raise UserError(str(e)) from None

    def _deploy_bundle(self, path: str, overlays: List[str]) -> dict:
        b = self._check_bundle(path, overlays)
        bundle_machines = {m: None for m in b.machines}
        lines = []
        for app in b.applications:
            if app.name in self.state.applications:
                lines += self._update_from_bundle(app)
                continue
            self._deploy_app(app.name, app.charm, app.num_units, app.options, app.to,
                             bundle_machines, app.storage, app.resources)
            lines.append(f"- deploy application {app.name} from {app.charm}")
        for a, c in b.relations:
            try:
                self.cmd_relate(a, c)
            except UserError:  # already related: deploying a bundle again is a no-op
                continue
            lines.append(f"- add relation {a} - {c}")
        if not lines:
            lines.append("- no changes")
        self.cond.notify_all()
        return {"message": "Executing changes:\n" + "\n".join(lines)
                + "\nDeploy of bundle completed."}

    def _update_from_bundle(self, app: bundlelib.BundleApp) -> List[str]:
        """Juju's bundle diff for an application that exists: options and scale."""
        a = self.state.applications[app.name]
        lines = []
        if any(a.config.get(k) != v for k, v in app.options.items()):
            self._config_set(a, self.charm_of(app.name), app.options, [])
            lines.append(f"- set application options for {app.name}")
        units = [u for u in self.state.units.values() if u.app == app.name and u.alive]
        if not a.subordinate:
            for _ in range(app.num_units - len(units)):
                lines.append(f"- add unit {self._add_unit(app.name)}")
        return lines

    def _check_bundle(self, path: str, overlays: List[str]) -> bundlelib.Bundle:
        try:
            b = bundlelib.parse(path, overlays)
        except bundlelib.BundleError as e:
            raise UserError(str(e)) from None
        for app in b.applications:
            have = self.state.applications.get(app.name)
            if have is not None and have.charm_name != charmlib.load_charm(app.charm).name:
                raise UserError(f'cannot deploy bundle: application "{app.name}" exists with '
                                f'charm "{have.charm_name}"')
        for a, c in b.relations:
            try:
                self._resolve_relation(a, c, {x.name: x.charm for x in b.applications})
            except UserError as e:
                raise UserError(f"cannot deploy bundle: {e}") from None
        return b

    def cmd_upgrade_charm(self, app: str, path: str) -> dict:
        """Point an application at a new build of its charm; units run upgrade-charm."""
        with self.cond:
            a = self._app(app)
            try:
                charm = charmlib.load_charm(path)
            except charmlib.CharmError as e:
                raise UserError(str(e)) from None
            old = self.charm_of(app)
            if charm.name != old.name:
                raise UserError(f'cannot upgrade application "{app}" to charm "{charm.name}": '
                                "cannot change an application's charm name")
            self.charms[charm.path] = charm
            cfg = {k: v for k, v in a.config.items() if k in charm.options}
            self.charms.pop(a.charm_path, None)
            rev = self._next_charm_rev(charm)
            stored = self._store_charm(app, rev, charm.path)
            self.update_app(app, charm_path=stored, charm_rev=rev, config=cfg,
                            charm_source=charm.path,
                            charm_modified_version=a.charm_modified_version + 1)
            self._new_charm_resources(app, charm)
            for ep in charm.endpoints:
                if ep.role == "peers" and not any(
                        r.peer and r.ends[0].app == app and r.ends[0].endpoint == ep.name
                        for r in self.state.relations.values()):
                    self._add_relation((RelEnd(app, ep.name, "peers", ep.interface),), ep.scope)
            self.cond.notify_all()
            return {"revision": rev}
