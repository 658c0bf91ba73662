"""Cross-model relations: the sync between two models' controllers (see cmr.py).

A mixin of :class:`yard.controller.cmr.CMRRoom`: the transport to the other
model's controller, the requests it sends us (``cmr-push``) and the sync
thread that pushes this side's settings and polls the offer's status.
"""

import dataclasses
import json
import os
import threading
import time
from typing import Dict, Optional, Tuple

from yard import wire
from yard.controller.common import UserError
from yard.model import Bag, CrossRelation, RemoteApp, StatusValue, bag_key, unit_number

PEER_TIMEOUT = 5.0
SYNC_INTERVAL = 0.25
RESEND = 10.0
STATUS_POLL = 3.0
REGISTER_GRACE = 30.0   # an unconfirmed new relation is ended after this long


class PeerUnreachable(Exception):
    """The other model's controller did not answer (it may come back)."""


class PeerGone(PeerUnreachable):
    """The other model no longer exists."""


class CMRSync:
    """Part of :class:`yard.controller.Controller` (through ``CMRRoom``)."""

    cmr_peers: Dict[str, object] = {}   # tests: model name -> in-process controller

    # -- transport -------------------------------------------------------------
    def _peer_call(self, model: str, cmd: str, start: bool = False, **args) -> dict:
        """One request to another model's controller; UserError carries its error text.

        ``start`` (CLI requests only) starts a stopped peer controller as the
        CLI would; the sync thread never does (a model being destroyed must
        not come back), it retries until the peer is up again or gone.
        """
        peer = self.cmr_peers.get(model)
        if peer is not None:   # in-process (tests): same JSON round trip as the socket
            return json.loads(json.dumps(peer.handle(cmd, json.loads(json.dumps(args))),
                                         default=str))
        if not os.path.exists(os.path.join(self.home, model, "state.db")):
            raise PeerGone(model)
        try:
            return self._socket_call(model, cmd, args, start)
        except OSError as e:
            raise PeerUnreachable(f"{model}: {e}") from None

    def _socket_call(self, model: str, cmd: str, args: dict, start: bool) -> dict:
        path = os.path.join(self.home, model, "controller.sock")
        if start and not os.path.exists(path):
            self._start_peer(model)
        resp = wire.request(path, cmd, args, timeout=PEER_TIMEOUT)
        if not resp.get("ok"):
            raise UserError(resp.get("error", "unknown error"))
        return resp.get("result")

    def _start_peer(self, model: str) -> None:
        """Start a stopped peer controller, as the CLI does (Juju's are always up)."""
        from yard.cli import CLIError, Client
        try:
            Client(model, self.home).start()
        except CLIError as e:
            raise OSError(str(e)) from None

    def cmd_cmr_push(self, token: str, alive: bool, units: Dict[str, dict],
                     app: dict) -> dict:
        """The other side's settings for one relation: mirror them into our bags."""
        with self.cond:
            x = self.state.cross.get(token)
            rel = self.state.relations.get(x.rid) if x else None
            if rel is None:
                return {"known": False}
            if not rel.alive:
                return {"known": True}   # ending here already: its data no longer matters
            if not alive:
                self._replace_cross(token, units=())
                if rel.alive:
                    self._update_relation(rel.id, alive=False)
                self.cond.notify_all()
                return {"known": True}
            bags = dict(self.state.bags)
            _mirror(bags, bag_key(rel.id, x.remote_app), app)
            names = []
            for n, data in units.items():
                name = f"{x.remote_app}/{n}"
                names.append(name)
                _mirror(bags, bag_key(rel.id, name), data)
            self._set(bags=bags)
            self._replace_cross(token, units=tuple(sorted(names, key=unit_number)))
            self.cond.notify_all()
            return {"known": True}

    def _replace_cross(self, token: str, **changes) -> None:
        cross = dict(self.state.cross)
        if token in cross:
            cross[token] = dataclasses.replace(cross[token], **changes)
            self._set(cross=cross)

    def _remote_members(self, rel) -> Tuple[str, ...]:
        """Remote units in scope of ``rel`` (used by the views)."""
        for x in self.state.cross.values():
            if x.rid == rel.id:
                return x.units
        return ()

    def _replace_remote(self, name: str, **changes) -> None:
        apps = dict(self.state.remote_apps)
        if name in apps:
            apps[name] = dataclasses.replace(apps[name], **changes)
            self._set(remote_apps=apps)

    # -- the sync thread -------------------------------------------------------
    def _cmr_start(self) -> None:
        self.cmr_sent: Dict[str, Tuple[str, float]] = {}
        self.cmr_polled: Dict[str, float] = {}
        self.cmr_down: Dict[str, str] = {}
        self.cmr_first: Dict[str, float] = {}   # token -> first push
        self.cmr_acked = set()                   # tokens the other side has confirmed
        t = threading.Thread(target=self._cmr_loop, name="cmr", daemon=True)
        t.start()

    def _cmr_loop(self) -> None:
        while not self.stopping:
            try:
                self._cmr_tick()
            except Exception as e:  # noqa: BLE001 - logged; the loop goes on
                self.debug_log("controller", "ERROR", "juju.worker.remoterelations", repr(e))
            time.sleep(SYNC_INTERVAL)

    def _cmr_tick(self) -> None:
        with self.cond:
            if not self.state.cross and not self.state.remote_apps:
                return
            pushes = self._outgoing()
            polls = self._polls_due()
        results = []
        for model, token, payload, key in pushes:
            results.append((token, payload, key, self._try(model, "cmr-push", token=token,
                                                           **payload)))
        statuses = [(name, self._try(model, "cmr-offer-info", offer=offer))
                    for name, model, offer in polls]
        with self.cond:
            for token, payload, key, res in results:
                self._pushed(token, payload, key, res)
            for name, res in statuses:
                self._polled(name, res)
            self._reap_remote()
            self.cond.notify_all()

    def _try(self, model: str, cmd: str, **args):
        """The peer's answer, or the exception that stood for it (logged once per model)."""
        try:
            res = self._peer_call(model, cmd, **args)
            self.cmr_down.pop(model, None)
            return res
        except (PeerUnreachable, UserError) as e:
            if not isinstance(e, UserError) and self.cmr_down.get(model) != str(e):
                self.cmr_down[model] = str(e)
                self.debug_log("controller", "WARNING", "juju.worker.remoterelations",
                               f'model "{model}": {e}')
            return e

    def _outgoing(self) -> list:
        now = time.time()
        out = []
        for token, x in self.state.cross.items():
            ra = self.state.remote_apps.get(x.remote_app)
            if ra is None:
                continue
            payload = self._snapshot(x, ra)
            key = json.dumps([payload, x.rid in self.state.relations], sort_keys=True)
            sent = self.cmr_sent.get(token)
            if sent is None or sent[0] != key or now - sent[1] > RESEND:
                out.append((ra.model, token, payload, key))
        return out

    def _first_pending(self) -> Optional[str]:
        """``yard wait`` also waits until this side's settings reached the other model
        (what the other model then does is its own ``wait``'s business)."""
        pending = super()._first_pending()
        if pending is not None or not hasattr(self, "cmr_sent"):
            return pending
        for model, token, payload, key in self._outgoing():
            sent = self.cmr_sent.get(token)
            if sent is None or sent[0] != key:
                return f'cross-model relation data not yet sent to model "{model}"'
        return None

    def _snapshot(self, x: CrossRelation, ra: RemoteApp) -> dict:
        """This side of a cross-model relation, as Juju's RemoteRelationChangeEvent has it."""
        rel = self.state.relations.get(x.rid)
        if rel is None or not rel.alive or not ra.alive:
            return {"alive": False, "units": {}, "app": {}}
        local = rel.other_end(ra.name).app
        units = {}
        for name in rel.in_scope:
            u = self.state.units.get(name)
            if u is not None and u.alive and u.app == local:
                units[str(unit_number(name))] = dict(
                    self.state.bags.get(bag_key(rel.id, name), Bag()).data)
        app = dict(self.state.bags.get(bag_key(rel.id, local), Bag()).data)
        return {"alive": True, "units": units, "app": app}

    def _pushed(self, token: str, payload: dict, key: str, res) -> None:
        x = self.state.cross.get(token)
        if x is None or isinstance(res, UserError):
            return
        if isinstance(res, PeerUnreachable) and not isinstance(res, PeerGone):
            return   # try again on the next tick
        unknown = isinstance(res, dict) and not res.get("known")
        first = self.cmr_first.setdefault(token, time.time())
        if (unknown and payload["alive"] and token not in self.cmr_acked
                and time.time() - first < REGISTER_GRACE):
            return   # a new relation the consumer is still recording: push again
        if not unknown and not isinstance(res, PeerGone):
            self.cmr_acked.add(token)
        self.cmr_sent[token] = (key, time.time())
        if unknown or isinstance(res, PeerGone):   # the other side no longer has it
            self._end_cross(x, isinstance(res, PeerGone))
        if x.rid not in self.state.relations and (unknown or isinstance(res, PeerGone)
                                                  or not payload["alive"]):
            cross = dict(self.state.cross)
            del cross[token]
            self._set(cross=cross)
            for memo in (self.cmr_sent, self.cmr_first):
                memo.pop(token, None)
            self.cmr_acked.discard(token)

    def _end_cross(self, x: CrossRelation, model_gone: bool) -> None:
        """This side of a relation the other side no longer has ends too."""
        self._replace_cross(x.token, units=())
        rel = self.state.relations.get(x.rid)
        if rel is not None and rel.alive:
            self._update_relation(x.rid, alive=False)
        if model_gone:
            self._terminate(x.remote_app, "offering model has been removed")

    def _polls_due(self) -> list:
        now = time.time()
        out = []
        for name, ra in self.state.remote_apps.items():
            if ra.consumer or not ra.alive or ra.status.current == "terminated":
                continue
            if now - self.cmr_polled.get(name, 0) >= STATUS_POLL:
                self.cmr_polled[name] = now
                out.append((name, ra.model, ra.offer))
        return out

    def _polled(self, name: str, res) -> None:
        ra = self.state.remote_apps.get(name)
        if ra is None:
            return
        if isinstance(res, PeerGone):
            self._terminate(name, "offering model has been removed")
        elif isinstance(res, UserError):
            self._terminate(name, "offer has been removed")
        elif isinstance(res, dict):
            st = res["status"]
            if (st["current"], st.get("message", "")) != (ra.status.current, ra.status.message):
                self._replace_remote(name, status=StatusValue(st["current"], st.get("message", ""),
                                                              time.time()))

    def _terminate(self, name: str, message: str) -> None:
        """The offer went away: Juju's SAAS reads ``terminated``; its units leave scope."""
        ra = self.state.remote_apps.get(name)
        if ra is None or ra.status.current == "terminated":
            return
        if not ra.consumer:
            self._replace_remote(name, status=StatusValue("terminated", message, time.time()))
        for x in list(self.state.cross.values()):
            if x.remote_app == name:
                self._replace_cross(x.token, units=())
                if x.rid in self.state.relations:
                    self._update_relation(x.rid, alive=False)
        self.debug_log("controller", "INFO", "juju.worker.remoterelations",
                       f'remote application "{name}": {message}')

    def _reap_remote(self) -> None:
        """A removed SAAS, or a consumer's proxy, goes with its last relation."""
        for name, ra in list(self.state.remote_apps.items()):
            if ra.alive and not ra.consumer:
                continue
            if any(r.end_of(name) for r in self.state.relations.values()):
                continue
            if any(x.remote_app == name for x in self.state.cross.values()):
                continue
            apps = dict(self.state.remote_apps)
            del apps[name]
            self._set(remote_apps=apps)


def _mirror(bags: dict, key: str, data: dict) -> None:
    """Copy a remote bag in; its version moves only when its content changed."""
    old = bags.get(key, Bag())
    if old.data != data or old.version == 0:
        bags[key] = Bag(data=dict(data), version=old.version + 1)
