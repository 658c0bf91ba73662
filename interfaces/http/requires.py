"""Requires side of ``http``: collect the HTTP services of related units."""

from charmhelpers.core import hookenv
from charms.reactive import Endpoint, clear_flag, set_flag, toggle_flag, when, when_not


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

    @when('endpoint.{endpoint_name}.joined')
    def _joined(self):
        set_flag(self.expand_name('{endpoint_name}.connected'))
        toggle_flag(self.expand_name('{endpoint_name}.available'), bool(self.services()))

    @when('endpoint.{endpoint_name}.changed')
    def _changed(self):
        set_flag(self.expand_name('{endpoint_name}.changed'))
        clear_flag(self.expand_name('endpoint.{endpoint_name}.changed'))

    @when_not('endpoint.{endpoint_name}.joined')
    def _broken(self):
        for flag in ('connected', 'available', 'changed'):
            clear_flag(self.expand_name('{endpoint_name}.' + flag))

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
