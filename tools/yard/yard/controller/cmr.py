"""Cross-model relations: offers, SAAS and relations between two models' controllers.

Each model's controller owns its own state, so a relation that crosses models
exists twice, once in each model, tied by a shared token (Juju's relation
token).  What each side sees of the other is a :class:`RemoteApp`: in the
consuming model the SAAS, named after the offer (or the alias given to
``consume``), with remote units ``<saas>/<n>``; in the offering model the
consumer's proxy ``remote-<token>`` with units ``remote-<token>/<n>``.  Units
cross the wire only as numbers (Juju's ``RemoteRelationUnitChange.UnitId``).

The remote side's unit and app bags are mirrored into this model's bags, and
the remote units in scope into :attr:`CrossRelation.units`; the views add them
to each relation's members, so the resolver, hook tools and settings caches
work as for local units.  Like Juju's remote relations worker, a sync thread
pushes this side's settings (in-scope units' bags, the app bag, whether the
relation is alive) to the other model's controller over its socket
(``cmr-push``) whenever they change, and every ``RESEND`` seconds anyway; it
polls the offer's status for the SAAS status.  Nothing here blocks a hook:
network calls run in the sync thread or a CLI request, never under the lock,
each bounded by ``PEER_TIMEOUT``.  A peer model that is gone (its state file
removed) ends the relation on this side: the remote units depart, the
relation breaks, and a SAAS reads ``terminated``, as Juju shows an offer
that went away.
"""

import os
import re
import threading
import time
import uuid
from typing import Dict, List, Optional, Tuple

from yard import bundle as bundlelib
from yard import charm as charmlib
from yard.controller.cmr_sync import (PEER_TIMEOUT, RESEND, STATUS_POLL,  # noqa: F401
                                      SYNC_INTERVAL, CMRSync, PeerUnreachable)
from yard.controller.common import UserError, relates, ts
from yard.model import CrossRelation, Offer, RelEnd, RemoteApp, StatusValue

OWNER = "admin"
# juju's offer URL: [<controller>:][<user>/]<model>.<offer> (core/crossmodel ParseOfferURL)
_URL = re.compile(r"^(?:(?P<source>[^:/.]+):)?(?:(?P<user>[^:/.]+)/)?"
                  r"(?P<model>[^:/.]+)\.(?P<offer>[^:/.]+)$")


def parse_offer_url(text: str) -> Tuple[str, str]:
    """``[yard:][admin/]model.offer`` -> (model, offer); juju's URL forms."""
    m = _URL.match(text)
    if not m:
        raise UserError(f'offer URL "{text}" is not valid')
    if m.group("source") not in (None, "yard"):
        raise UserError(f'controller "{m.group("source")}" not found')
    if m.group("user") not in (None, OWNER):
        raise UserError(f'application offer "{text}" not found')
    return m.group("model"), m.group("offer")


def is_offer_url(text: str) -> bool:
    """Application and endpoint names have no dots; offer URLs do."""
    return "." in text


def _since(s: StatusValue) -> dict:
    d = {"current": s.current, "since": ts(s.since)}
    if s.message:
        d["message"] = s.message
    return d


class CMRRoom(CMRSync):
    """Part of :class:`yard.controller.Controller`; see the package and module docstrings."""

    # -- offers (the offering model) -----------------------------------------
    def cmd_offer(self, target: str, name: Optional[str] = None) -> dict:
        """``yard offer app:ep[,ep] [name]``."""
        app, _, eps = target.partition(":")
        if not eps:
            raise UserError("endpoints must be specified")   # cmd/juju/crossmodel/offer.go
        endpoints = tuple(sorted(e for e in eps.split(",") if e))
        name = name or app
        with self.cond:
            self._app(app)
            for ep in endpoints:
                e = self.charm_of(app).endpoint(ep)
                if e is None or e.role == "peers":
                    raise UserError(f'application "{app}" has no "{ep}" relation')
            old = self.state.offers.get(name)
            if old is not None and old.app != app:
                raise UserError(f'offer "{name}" already exists for application "{old.app}"')
            if old is not None:
                endpoints = tuple(sorted(set(endpoints) | set(old.endpoints)))
            offers = dict(self.state.offers)
            offers[name] = Offer(name=name, app=app, endpoints=endpoints)
            self._set(offers=offers)
            url = f"{OWNER}/{self.model}.{name}"
        return {"url": url, "message": f'Application "{app}" endpoints [{", ".join(endpoints)}]'
                f' available at "{url}"'}

    def _offer_connections(self, offer: Offer) -> List[dict]:
        out = []
        for x in sorted(self.state.cross.values(), key=lambda x: x.rid):
            ra = self.state.remote_apps.get(x.remote_app)
            rel = self.state.relations.get(x.rid)
            if ra is None or not ra.consumer or ra.offer != offer.name or rel is None:
                continue
            end = rel.end_of(offer.app)
            out.append({"source-model-uuid": ra.model_uuid, "username": OWNER,
                        "relation-id": x.rid, "endpoint": end.endpoint if end else "",
                        "status": {"current": "joined" if rel.alive else "broken"}})
        return out

    def _offer_endpoints(self, offer: Offer) -> Dict[str, dict]:
        out = {}
        for ep in offer.endpoints:
            e = self.charm_of(offer.app).endpoint(ep)
            out[ep] = {"interface": e.interface, "role": _role(e.role)}
        return out

    def cmd_offers(self) -> dict:
        """``yard offers``: juju's list-offers items, keyed by offer name."""
        with self.cond:
            out = {}
            for name, o in sorted(self.state.offers.items()):
                a = self.state.applications.get(o.app)
                if a is None:
                    continue
                item = {"application": o.app, "store": "yard",
                        "charm": f"local:{a.charm_name}-{a.charm_rev}",
                        "offer-url": f"{OWNER}/{self.model}.{name}",
                        "endpoints": self._offer_endpoints(o),
                        "users": {OWNER: {"access": "admin"}}}
                conns = self._offer_connections(o)
                if conns:
                    item["connections"] = conns
                out[name] = item
            return out

    def cmd_remove_offer(self, name: str, force: bool = False) -> dict:
        """``yard remove-offer NAME [--force]``: in use, only with --force (it ends them)."""
        if is_offer_url(name):
            name = parse_offer_url(name)[1]
        with self.cond:
            o = self.state.offers.get(name)
            if o is None:
                raise UserError(f'application offer "{name}" not found')
            conns = [c for c in self._offer_connections(o)
                     if c["status"]["current"] == "joined"]
            if conns and not force:   # state/applicationoffers.go Remove
                raise UserError(f'cannot delete application offer "{name}": offer has '
                                f'{len(conns)} relations')
            for c in conns:
                self._update_relation(c["relation-id"], alive=False)
            offers = dict(self.state.offers)
            del offers[name]
            self._set(offers=offers)
            self.cond.notify_all()
            return {}

    def cmd_remove_application(self, apps: List[str], *args, **kwargs) -> dict:
        """An application whose offers are in use stays (juju's state/application.go:
        ``application is used by N offer(s)``) unless forced; its offers go with it."""
        with self.cond:
            for name in apps:
                offers = [o for o in self.state.offers.values() if o.app == name]
                used = [o for o in offers if any(c["status"]["current"] == "joined"
                                                 for c in self._offer_connections(o))]
                if used and not kwargs.get("force"):
                    n = len(offers)
                    raise UserError(f"removing application {name} failed: cannot destroy "
                                    f'application "{name}": application is used by {n} '
                                    f"offer{'s' if n != 1 else ''}")
            out = super().cmd_remove_application(apps, *args, **kwargs)
            self._set(offers={k: o for k, o in self.state.offers.items() if o.app not in apps})
            return out

    # -- consuming ---------------------------------------------------------------
    def cmd_consume(self, url: str, alias: Optional[str] = None) -> dict:
        """``yard consume [admin/]model.offer [alias]``: add the SAAS."""
        model, offer = parse_offer_url(url)
        full = f"{OWNER}/{model}.{offer}"
        if model == self.model:
            raise UserError(f'cannot consume "{full}": it is offered by this model')
        try:
            info = self._peer_call(model, "cmr-offer-info", start=True, offer=offer)
        except PeerUnreachable:
            raise UserError(f'application offer "{full}" not found') from None
        name = alias or offer
        with self.cond:
            old = self.state.remote_apps.get(name)
            if old is not None and old.url == full and old.alive:
                return {"name": name, "message": f"Added {full} as {name}"}
            if name in self.state.applications or old is not None:
                raise UserError(f'cannot add remote application "{name}": saas application '
                                'already exists')
            apps = dict(self.state.remote_apps)
            apps[name] = RemoteApp(
                name=name, model=model, url=full, offer=offer,
                endpoints=tuple(tuple(e) for e in info["endpoints"]), token=uuid.uuid4().hex,
                status=StatusValue(info["status"]["current"], info["status"].get("message", ""),
                                   time.time()),
                model_uuid=info["model-uuid"])
            self._set(remote_apps=apps)
            self.cond.notify_all()
        return {"name": name, "message": f"Added {full} as {name}"}

    def cmd_remove_saas(self, names: List[str]) -> dict:
        """``yard remove-saas NAME...``: its relations end on both sides, then it goes."""
        with self.cond:
            for name in names:
                ra = self.state.remote_apps.get(name)
                if ra is None or ra.consumer:
                    raise UserError(f'saas application "{name}" not found')
            for name in names:
                self._replace_remote(name, alive=False)
                for rel in self.state.relations.values():
                    if rel.alive and rel.end_of(name):
                        self._update_relation(rel.id, alive=False)
            self.cond.notify_all()
            return {}

    # -- integrate / remove-relation across models --------------------------------
    _cmr_local = threading.local()   # per request thread: cross relations a bundle defers

    def cmd_deploy(self, path: str, *args, **kwargs) -> dict:
        """A bundle's ``saas:`` entries are consumed first; its cross-model relations are
        made after the rest (outside the deploy's lock: they call the other model)."""
        if not os.path.isfile(path):
            return super().cmd_deploy(path, *args, **kwargs)
        try:
            b = bundlelib.parse(path, list(kwargs.get("overlays") or ()))
        except bundlelib.BundleError:
            return super().cmd_deploy(path, *args, **kwargs)   # it reports the error
        for name, url in b.saas:
            self.cmd_consume(url, name)
        self._cmr_local.deferred = []
        try:
            out = super().cmd_deploy(path, *args, **kwargs)
        finally:
            deferred, self._cmr_local.deferred = self._cmr_local.deferred, None
        for a, c in deferred:
            try:
                self.cmd_relate(a, c)
            except UserError as e:
                if "already exists" not in str(e):
                    raise
        return out

    def _resolve_relation(self, a: str, b: str, charm_paths=None):
        """Bundle checks see cross-model relations resolved like local ones."""
        if not self._crosses(a, b):
            return super()._resolve_relation(a, b, charm_paths)
        local, remote = self._resolve_cross(a, b, charm_paths)
        return (local, remote, "global") if local.app == a.partition(":")[0] else \
            (remote, local, "global")

    def _crosses(self, a: str, b: str) -> bool:
        names = [s.partition(":")[0] for s in (a, b) if not is_offer_url(s)]
        return len(names) < 2 or any(n in self.state.remote_apps for n in names)

    def cmd_relate(self, a: str, b: str) -> dict:
        """``yard integrate app model.offer`` (consumes it) or ``app saas``; else local."""
        if not self._crosses(a, b):
            return super().cmd_relate(a, b)
        if getattr(self._cmr_local, "deferred", None) is not None:
            self._cmr_local.deferred.append((a, b))   # a bundle's: made after its deploy
            return {}
        args = [self.cmd_consume(s)["name"] if is_offer_url(s) else s for s in (a, b)]
        with self.cond:
            local, remote = self._resolve_cross(*args)
            ra = self._check_new_cross(local, remote)
        token = uuid.uuid4().hex
        try:
            self._peer_call(ra.model, "cmr-register", start=True, token=token, offer=ra.offer,
                            offer_endpoint=remote.endpoint, app_token=ra.token,
                            consumer_model=self.model, model_uuid=self.state.uuid,
                            endpoint=[local.endpoint, local.role, local.interface])
        except PeerUnreachable as e:
            raise UserError(f'cannot add relation: offering model unreachable: {e}') from None
        with self.cond:
            rel = self._add_relation((local, remote), "global")
            self._add_cross(CrossRelation(token=token, rid=rel.id, remote_app=ra.name))
            self.cond.notify_all()
            return {"id": rel.id, "key": rel.key()}

    cmd_integrate = cmd_relate

    def _check_new_cross(self, local: RelEnd, remote: RelEnd) -> RemoteApp:
        ra = self.state.remote_apps[remote.app]
        for rel in self.state.relations.values():
            if rel.alive and set(rel.ends) == {local, remote}:
                raise UserError(f'cannot add relation "{local.app}:{local.endpoint} '
                                f'{remote.app}:{remote.endpoint}": relation '
                                f'{rel.key()} already exists')
        if not ra.alive:
            raise UserError(f'saas application "{ra.name}" is not alive')
        if ra.consumer:
            raise UserError(f'cannot add relation to "{ra.name}": it is the consumer of an offer')
        return ra

    def cmd_remove_relation(self, a: str, b: str) -> dict:
        """``yard remove-relation`` of a cross-model relation ends it on both sides."""
        if not self._crosses(a, b):
            return super().cmd_remove_relation(a, b)
        with self.cond:
            local, remote = self._resolve_cross(a, b)
            for rel in self.state.relations.values():
                if rel.alive and set(rel.ends) == {local, remote}:
                    self._update_relation(rel.id, alive=False)
                    self.cond.notify_all()
                    return {}
            raise UserError(f'relation "{local.app}:{local.endpoint} {remote.app}:'
                            f'{remote.endpoint}" not found')

    def _resolve_cross(self, a: str, b: str, charm_paths=None) -> Tuple[RelEnd, RelEnd]:
        """Juju's endpoint matching between a local app and a remote one: (local, remote)."""
        (app_a, _, ep_a), (app_b, _, ep_b) = a.partition(":"), b.partition(":")
        if app_a in self.state.remote_apps:
            (app_a, ep_a), (app_b, ep_b) = (app_b, ep_b), (app_a, ep_a)
        if app_b not in self.state.remote_apps:
            raise UserError(f'application "{app_b}" not found')
        ra = self.state.remote_apps[app_b]
        remote_eps = [charmlib.Endpoint(n, r, i) for n, r, i in ra.endpoints]
        local_eps = [e for e in self._endpoints_of(app_a, charm_paths) if e.scope == "global"]
        for app, ep, eps in ((app_a, ep_a, local_eps), (app_b, ep_b, remote_eps)):
            if ep and not any(e.name == ep for e in eps):
                raise UserError(f'application "{app}" has no "{ep}" relation')
        pairs = [(x, y) for x in local_eps for y in remote_eps
                 if relates(x, y, ep_a or None, ep_b or None)]
        if not pairs:
            raise UserError("no relations found")
        if len(pairs) > 1:
            opts = "; ".join(f'"{app_a}:{x.name} {app_b}:{y.name}"' for x, y in pairs)
            raise UserError(f'ambiguous relation: "{a} {b}" could refer to {opts}')
        x, y = pairs[0]
        return (RelEnd(app_a, x.name, x.role, x.interface),
                RelEnd(app_b, y.name, y.role, y.interface))

    def _add_cross(self, x: CrossRelation) -> None:
        cross = dict(self.state.cross)
        cross[x.token] = x
        self._set(cross=cross)

    # -- requests from the other model's controller ---------------------------
    def cmd_cmr_offer_info(self, offer: str) -> dict:
        """What a consumer learns of an offer: endpoints and the offered app's status."""
        with self.cond:
            o = self.state.offers.get(offer)
            if o is None or o.app not in self.state.applications:
                raise UserError(f'application offer "{OWNER}/{self.model}.{offer}" not found')
            eps = [[ep, self.charm_of(o.app).endpoint(ep).role,
                    self.charm_of(o.app).endpoint(ep).interface] for ep in o.endpoints]
            st = self.app_status(o.app)
            return {"application": o.app, "endpoints": eps, "model-uuid": self.state.uuid,
                    "status": {"current": st.current, "message": st.message}}

    def cmd_cmr_register(self, token: str, offer: str, offer_endpoint: str, app_token: str,
                         consumer_model: str, model_uuid: str, endpoint: list) -> dict:
        """A consumer relates to our offer: add ``remote-<token>`` and the relation."""
        with self.cond:
            if token in self.state.cross:
                return {"id": self.state.cross[token].rid}
            o = self.state.offers.get(offer)
            if o is None or offer_endpoint not in o.endpoints:
                raise UserError(f'application offer "{OWNER}/{self.model}.{offer}" not found')
            ep = self.charm_of(o.app).endpoint(offer_endpoint)
            name = "remote-" + app_token   # apiserver crossmodelrelations: "remote-" + token
            ra = self.state.remote_apps.get(name)
            eps = tuple(ra.endpoints) if ra else ()
            if tuple(endpoint) not in eps:
                eps += (tuple(endpoint),)
            apps = dict(self.state.remote_apps)
            apps[name] = RemoteApp(name=name, model=consumer_model, url="", offer=offer,
                                   endpoints=eps, token=app_token, consumer=True,
                                   status=StatusValue("active", "", time.time()),
                                   model_uuid=model_uuid)
            self._set(remote_apps=apps)
            rel = self._add_relation((RelEnd(o.app, ep.name, ep.role, ep.interface),
                                      RelEnd(name, *endpoint)), "global")
            self._add_cross(CrossRelation(token=token, rid=rel.id, remote_app=name))
            self.cond.notify_all()
            return {"id": rel.id}

    # -- status ------------------------------------------------------------------
    def _status(self) -> dict:
        out = super()._status()
        saas = {name: self._saas_json(ra) for name, ra in sorted(self.state.remote_apps.items())
                if not ra.consumer}
        if saas:
            out["application-endpoints"] = saas
        offers = {}
        for name, o in sorted(self.state.offers.items()):
            a = self.state.applications.get(o.app)
            if a is None:
                continue
            conns = self._offer_connections(o)
            active = [c for c in conns if c["status"]["current"] == "joined"]
            offers[name] = {"application": o.app, "charm": f"local:{a.charm_name}-{a.charm_rev}",
                            "total-connected-count": len(conns),
                            "active-connected-count": len(active),
                            "endpoints": self._offer_endpoints(o)}
        if offers:
            out["offers"] = offers
        return out

    def cmd_export_bundle(self) -> dict:
        """The bundle with juju's ``saas:`` section; a consumer's proxy is not exported."""
        out = super().cmd_export_bundle()
        with self.cond:
            proxies = {n for n, ra in self.state.remote_apps.items() if ra.consumer}
            saas = {n: {"url": ra.url} for n, ra in sorted(self.state.remote_apps.items())
                    if not ra.consumer and ra.alive}
        rels = [r for r in out.get("relations", [])
                if not any(e.partition(":")[0] in proxies for e in r)]
        out.pop("relations", None)
        if rels:
            out["relations"] = rels
        if saas:
            out["saas"] = saas
        return out

    def _saas_json(self, ra: RemoteApp) -> dict:
        """One entry of juju status's ``application-endpoints``."""
        rels: Dict[str, list] = {}
        for r in sorted(self.state.relations.values(), key=lambda r: r.id):
            end = r.end_of(ra.name)
            if end is not None:
                rels.setdefault(end.endpoint, []).append(r.other_end(ra.name).app)
        entry = {"url": ra.url, "endpoints": {n: {"interface": i, "role": _role(r)}
                                              for n, r, i in ra.endpoints},
                 "application-status": _since(ra.status)}
        if rels:
            entry["relations"] = rels
        if not ra.alive:
            entry["life"] = "dying"
        return entry


def _role(role: str) -> str:
    """Juju shows offer endpoint roles as ``provider`` / ``requirer``."""
    return {"provides": "provider", "requires": "requirer"}.get(role, role)
