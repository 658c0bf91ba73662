"""Requires side of ``mysql-shared`` (a consumer): ask for a database, read the answer."""

from charmhelpers.core import hookenv
from charms.reactive import Endpoint, clear_flag, is_flag_set, set_flag, toggle_flag

DEFAULT_PORT = 3306


def parse_answer(data, local_unit, prefix=None):
    """The credentials in one server unit's bag, or None when not complete for us.

    Complete as upstream's reactive requirer has it: ``db_host``, the
    (prefixed) password, and this unit in the (prefixed) ``allowed_units``.

    :returns: ``{"db_host", "db_port" (int), "password"}`` or None
    """
    head = prefix + '_' if prefix else ''
    host = (data.get('db_host') or '').strip()
    password = data.get(head + 'password') or ''
    allowed = (data.get(head + 'allowed_units') or '').split()
    if not host or not password or local_unit not in allowed:
        return None
    try:
        port = int(data.get('db_port') or DEFAULT_PORT)
    except ValueError:
        return None
    if not 0 < port < 65536:
        return None
    return {'db_host': host, 'db_port': port, 'password': password}


class MySQLSharedRequires(Endpoint):
    """A consumer of a MySQL/MariaDB server: one database and user (per prefix).

    Flags set:
      ``{endpoint_name}.connected``: at least one server unit joined.
      ``{endpoint_name}.available``: a server unit answered every prefix this
      unit asked for, listing this unit in ``allowed_units``.

    Relation keys written (this unit's bag, raw strings): ``database``,
    ``username``, ``hostname`` (or ``<prefix>_database`` ...).

    Relation keys read (server unit bags): ``db_host``, ``db_port`` (default
    3306), ``password`` / ``<prefix>_password``, ``allowed_units`` /
    ``<prefix>_allowed_units``.
    """

    def manage_flags(self):
        toggle_flag(self.expand_name('{endpoint_name}.connected'), self.is_joined)
        asked = self._asked()
        toggle_flag(self.expand_name('{endpoint_name}.available'),
                    self.is_joined and bool(asked) and
                    all(self.credentials(p) for p in asked))
        if is_flag_set(self.expand_name('endpoint.{endpoint_name}.changed')):
            clear_flag(self.expand_name('endpoint.{endpoint_name}.changed'))
            set_flag(self.expand_name('{endpoint_name}.changed'))

    def _asked(self):
        """The prefixes this unit asked for (None for the unprefixed request)."""
        asked = set()
        for relation in self.relations:
            for key in relation.to_publish_raw:
                if key == 'database':
                    asked.add(None)
                elif key.endswith('_database'):
                    asked.add(key[:-len('_database')])
        return asked

    def request(self, database, username, hostname, prefix=None):
        """Ask every related server for ``database`` and ``username``, from ``hostname``."""
        head = prefix + '_' if prefix else ''
        for relation in self.relations:
            relation.to_publish_raw.update({head + 'database': database,
                                            head + 'username': username,
                                            head + 'hostname': hostname})

    def credentials(self, prefix=None):
        """The first complete answer, by server unit name.

        :returns: ``{"db_host", "db_port", "password", "unit"}`` or None
        """
        local = hookenv.local_unit()
        for unit in sorted(self.all_joined_units, key=lambda u: u.unit_name):
            answer = parse_answer(unit.received_raw, local, prefix)
            if answer:
                return dict(answer, unit=unit.unit_name)
        return None
