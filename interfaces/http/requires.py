"""Requires side of ``http``: collect the HTTP services of related units."""

from charmhelpers.core import hookenv
from charms.reactive import Endpoint, clear_flag, is_flag_set, set_flag, toggle_flag


def _parse(data):
    """``(hostname, port)`` from a unit's bag, or None when incomplete or invalid."""
    hostname = (data.get('hostname') or '').strip()
    try:
        port = int(data.get('port') or '')
    except ValueError:
        return None
    if not hostname or not 0 < port < 65536:
        return None
    return hostname, port


class HttpRequires(Endpoint):
    """Reads the HTTP services of related units.

    Flags set:
      ``{endpoint_name}.connected``: at least one remote unit joined.
      ``{endpoint_name}.available``: at least one unit published a valid
      hostname and port.
      ``{endpoint_name}.changed``: published data changed (the charm clears it).

    Relation keys read (remote unit bags):
      ``hostname`` (str), ``port`` (str of an int 1-65535).  A unit with a
      missing or invalid value is logged once and left out.
    """

    def manage_flags(self):
        """Set the flags from the joined units and their data.

        charms.reactive calls this at the start of the hooks where they can
        change, without a handler invocation (and its log line) in every hook.
        """
        joined = self.is_joined
        toggle_flag(self.expand_name('{endpoint_name}.connected'), joined)
        toggle_flag(self.expand_name('{endpoint_name}.available'),
                    joined and bool(self.services()))
        if not joined:
            clear_flag(self.expand_name('{endpoint_name}.changed'))
        elif is_flag_set(self.expand_name('endpoint.{endpoint_name}.changed')):
            set_flag(self.expand_name('{endpoint_name}.changed'))
            clear_flag(self.expand_name('endpoint.{endpoint_name}.changed'))

    def services(self):
        """Valid services, sorted by unit name.

        :returns: list of dicts ``{"unit": str, "hostname": str, "port": int}``
        """
        found = []
        for unit in sorted(self.all_joined_units, key=lambda u: u.unit_name):
            parsed = _parse(unit.received_raw)
            if parsed is None:
                if unit.received_raw.get('hostname') or unit.received_raw.get('port'):
                    hookenv.log('Ignoring invalid http data from {}: {!r}'.format(
                        unit.unit_name, dict(unit.received_raw)), level=hookenv.WARNING)
                continue
            found.append({'unit': unit.unit_name, 'hostname': parsed[0], 'port': parsed[1]})
        return found
