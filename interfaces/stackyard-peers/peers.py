"""Peers of a Stackyard application (the common layer's coordination channel)."""

from charms.reactive import Endpoint, clear_flag, is_flag_set, set_flag, toggle_flag


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

    def manage_flags(self):
        """Set ``connected``, ``joined`` and ``changed`` from the relation.

        charms.reactive calls this at the start of the hooks where they can
        change, without a handler invocation (and its log line) in every hook.
        """
        toggle_flag(self.expand_name('{endpoint_name}.connected'), bool(self.relations))
        toggle_flag(self.expand_name('{endpoint_name}.joined'), self.is_joined)
        if is_flag_set(self.expand_name('endpoint.{endpoint_name}.changed')):
            set_flag(self.expand_name('{endpoint_name}.changed'))
            clear_flag(self.expand_name('endpoint.{endpoint_name}.changed'))

    def peer_units(self):
        """Names of the other units, sorted."""
        return sorted(u.unit_name for u in self.all_joined_units)
