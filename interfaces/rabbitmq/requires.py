"""Requires side of ``rabbitmq`` (a consumer): ask for a user and vhost, read the answer."""

import re

from charmhelpers.core import hookenv
from charms.reactive import Endpoint, toggle_flag

_HOST = re.compile(r'^[A-Za-z0-9.:-]{1,253}$')
# Problems already logged in this hook.
_logged = set()


class RabbitMQRequires(Endpoint):
    """A consumer of the broker.

    Flags set:
      ``{endpoint_name}.connected``: at least one broker unit joined.
      ``{endpoint_name}.available``: at least one broker unit answered with a
      ``hostname`` and a ``password``.

    Relation keys written (this unit's bag): ``username``, ``vhost`` (str).

    Relation keys read (broker unit bags): ``hostname`` (str, an address or
    host name), ``password`` (str); ``ssl_port`` (str of int, only with TLS).
    A unit with a malformed ``hostname`` is logged and left out.
    """

    def manage_flags(self):
        toggle_flag(self.expand_name('{endpoint_name}.connected'), self.is_joined)
        toggle_flag(self.expand_name('{endpoint_name}.available'), bool(self.hosts()))

    def request_access(self, username, vhost):
        """Ask every related broker for ``username`` on ``vhost``."""
        for relation in self.relations:
            relation.to_publish_raw.update({'username': username, 'vhost': vhost})

    def hosts(self):
        """Sorted addresses of the broker units that answered (each has the password)."""
        found = []
        for relation in self.relations:
            for unit in relation.joined_units:
                data = unit.received_raw
                host = data.get('hostname')
                if not host or not data.get('password'):
                    continue
                if not _HOST.match(host):
                    if host not in _logged:
                        _logged.add(host)
                        hookenv.log('Ignoring amqp hostname {!r} of {}'.format(
                            host, unit.unit_name), level=hookenv.WARNING)
                    continue
                found.append(host)
        return sorted(set(found))

    def password(self):
        """The password the brokers gave (the same on every unit), or None."""
        for relation in self.relations:
            for unit in relation.joined_units:
                if unit.received_raw.get('password'):
                    return unit.received_raw['password']
        return None
