"""CLI handlers: integrate / relate and remove-relation.
"""

from typing import List, Tuple

from yard import charm as charmlib
from yard.controller.common import relates, UserError
from yard.model import RelEnd


class RelationCommands:
    """Part of :class:`yard.controller.Controller`; see the package docstring."""

    def _endpoints_of(self, app: str, charm_paths=None) -> List[charmlib.Endpoint]:
        if charm_paths and app in charm_paths:
            return list(charmlib.load_charm(charm_paths[app]).endpoints)
        self._app(app)
        return list(self.charm_of(app).endpoints)

    def _resolve_relation(self, a: str, b: str, charm_paths=None) -> Tuple[RelEnd, RelEnd, str]:
        """Juju's endpoint matching for ``relate a[:ep] b[:ep]``: (end a, end b, scope)."""
        def split(s):
            app, _, ep = s.partition(":")
            if charm_paths is None or app not in charm_paths:
                self._app(app)
            return app, ep or None
        (app_a, ep_a), (app_b, ep_b) = split(a), split(b)
        eps_a = self._endpoints_of(app_a, charm_paths)
        eps_b = self._endpoints_of(app_b, charm_paths)
        for app, ep, eps in ((app_a, ep_a, eps_a), (app_b, ep_b, eps_b)):
            if ep and not any(e.name == ep for e in eps):
                raise UserError(f'application "{app}" has no "{ep}" relation')
        pairs = [(x, y) for x in eps_a for y in eps_b if relates(x, y, ep_a, ep_b)]
        if not pairs:
            raise UserError("no relations found")
        if len(pairs) > 1:
            explicit = [(x, y) for x, y in pairs if not x.implicit and not y.implicit]
            if len(explicit) != 1:
                opts = "; ".join(f'"{app_a}:{x.name} {app_b}:{y.name}"' for x, y in pairs)
                raise UserError(f'ambiguous relation: "{a} {b}" could refer to {opts}')
            pairs = explicit
        x, y = pairs[0]
        scope = "container" if "container" in (x.scope, y.scope) else "global"
        return (RelEnd(app_a, x.name, x.role, x.interface),
                RelEnd(app_b, y.name, y.role, y.interface), scope)

    def cmd_relate(self, a: str, b: str) -> dict:
        """``yard relate a[:ep] b[:ep]``."""
        with self.cond:
            x, y, scope = self._resolve_relation(a, b)
            for rel in self.state.relations.values():
                if rel.alive and set(rel.ends) == {x, y}:
                    raise UserError(f'cannot add relation "{x.app}:{x.endpoint} '
                                    f'{y.app}:{y.endpoint}": relation {rel.key()} already exists')
            if scope == "container" and not any(
                    self.state.applications[e.app].subordinate for e in (x, y)):
                raise UserError(f'cannot add relation "{x.app}:{x.endpoint} {y.app}:{y.endpoint}"'
                                ': container scoped relation requires a subordinate application')
            rel = self._add_relation((x, y), scope)
            self.cond.notify_all()
            return {"id": rel.id, "key": rel.key()}

    cmd_integrate = cmd_relate

    def cmd_remove_relation(self, a: str, b: str) -> dict:
        """``yard remove-relation a[:ep] b[:ep]``."""
        with self.cond:
            x, y, _ = self._resolve_relation(a, b)
            for rel in self.state.relations.values():
                if rel.alive and set(rel.ends) == {x, y}:
                    self._update_relation(rel.id, alive=False)
                    self._kill_orphan_subordinates(rel)
                    self.cond.notify_all()
                    return {}
            raise UserError(f'relation "{x.app}:{x.endpoint} {y.app}:{y.endpoint}" not found')
