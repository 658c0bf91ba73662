"""Provides side of ``http``: publish where this unit serves HTTP."""

from charms.reactive import Endpoint, clear_flag, set_flag, when, when_not


class HttpProvides(Endpoint):
    """Publishes this unit's HTTP address.

    Flags set:
      ``{endpoint_name}.connected``: at least one remote unit joined.

    Relation keys written (unit bag):
      ``hostname`` (str): address the service answers on.
      ``port`` (str of int): TCP port.
    """

    @when('endpoint.{endpoint_name}.joined')
    def _joined(self):
        set_flag(self.expand_name('{endpoint_name}.connected'))

    @when_not('endpoint.{endpoint_name}.joined')
    def _departed(self):
        clear_flag(self.expand_name('{endpoint_name}.connected'))

    def publish(self, hostname, port):
        """Tell every related unit where to reach us.

        :param hostname: address (str)
        :param port: TCP port (int)
        """
        for relation in self.relations:
            relation.to_publish_raw.update({'hostname': str(hostname), 'port': str(int(port))})
