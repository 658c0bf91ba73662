"""Provides side of ``http``: publish where this unit serves HTTP."""

from charms.reactive import Endpoint, toggle_flag


class HttpProvides(Endpoint):
    """Publishes this unit's HTTP address.

    Flags set:
      ``{endpoint_name}.connected``: at least one remote unit joined.

    Relation keys written (unit bag):
      ``hostname`` (str): address the service answers on.
      ``port`` (str of int): TCP port.
    """

    def manage_flags(self):
        """Keep ``connected`` in step with the joined units.

        charms.reactive calls this at the start of the hooks where the flags
        can change, without a handler invocation (and its log line) in every hook.
        """
        toggle_flag(self.expand_name('{endpoint_name}.connected'), self.is_joined)

    def publish(self, hostname, port):
        """Tell every related unit where to reach us.

        :param hostname: address (str)
        :param port: TCP port (int)
        """
        for relation in self.relations:
            relation.to_publish_raw.update({'hostname': str(hostname), 'port': str(int(port))})
