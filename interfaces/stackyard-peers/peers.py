"""Peers of a Stackyard application (the common layer's coordination channel)."""

from charmhelpers.core import hookenv
from charms.reactive import Endpoint, clear_flag, data_changed, is_flag_set, set_flag, toggle_flag


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

    def _manage_flags(self):
        """charms.reactive's automatic flags, reading only what can have changed.

        The stock version reads every peer's bag in every hook of the
        relation, to find which data changed.  Juju shows a unit a peer's new
        settings only in a hook for that peer (other bags read from a cache
        until then), so in ``-relation-changed`` for one unit only that
        unit's bag is new: the others were compared in their own hooks.
        With dozens of units, that is dozens of ``relation-get`` calls saved
        in each such hook.  Joined, departed, created and broken hooks, and
        the first hook after this endpoint's flags were set, scan every bag
        as before.
        """
        remote = hookenv.remote_unit()
        if hookenv.hook_name() != self.endpoint_name + '-relation-changed' or \
                not is_flag_set(self.expand_name('joined')):
            return super()._manage_flags()
        toggle_flag(self.expand_name('joined'), self.is_joined)
        if self.is_joined:
            clear_flag(self.expand_name('departed'))
        rid = hookenv.relation_id()
        for unit in self.all_joined_units:
            if unit.unit_name != remote or unit.relation.relation_id != rid:
                continue
            for key, value in unit.received.items():
                data_key = 'endpoint.{}.{}.{}.{}'.format(
                    self.endpoint_name, rid, unit.unit_name, key)
                if data_changed(data_key, value):
                    set_flag(self.expand_name('changed'))
                    set_flag(self.expand_name('changed.{}'.format(key)))
        self.manage_flags()

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
