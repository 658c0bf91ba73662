"""Peers of a Stackyard application (the common layer's coordination channel)."""

from charms.reactive import Endpoint, clear_flag, set_flag, toggle_flag, when, when_not


class StackyardPeers(Endpoint):
    """The application's units seen from one of them.

    Flags set:
      ``{endpoint_name}.connected``: the peer relation exists (set from
      relation-created on, even with a single unit).
      ``{endpoint_name}.joined``: at least one other unit joined.
      ``{endpoint_name}.changed``: a peer's or the app's data changed (the
      charm clears it).

    Relation keys: none are required by the interface itself; the common
    layer writes its own namespaced keys (documented in layers/stackyard).
    """

    @when('endpoint.{endpoint_name}.joined')
    def _joined(self):
        set_flag(self.expand_name('{endpoint_name}.joined'))

    @when_not('endpoint.{endpoint_name}.joined')
    def _alone(self):
        clear_flag(self.expand_name('{endpoint_name}.joined'))

    @when('endpoint.{endpoint_name}.changed')
    def _changed(self):
        set_flag(self.expand_name('{endpoint_name}.changed'))
        clear_flag(self.expand_name('endpoint.{endpoint_name}.changed'))

    def manage_flags(self):
        """Keep ``connected`` in step with the relation's existence."""
        toggle_flag(self.expand_name('{endpoint_name}.connected'), bool(self.relations))

    def peer_units(self):
        """Names of the other units, sorted."""
        return sorted(u.unit_name for u in self.all_joined_units)
