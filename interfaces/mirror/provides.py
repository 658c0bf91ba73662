"""Provides side of ``mirror``: publish what this mirror serves and where."""

import json

from charmhelpers.core import hookenv
from charms.reactive import Endpoint, toggle_flag


class MirrorProvides(Endpoint):
    """Publishes the mirror-info (leader, app bag) and this unit's address (unit bag).

    Flags set:
      ``{endpoint_name}.connected``: at least one remote unit joined.

    Relation keys written:
      app bag (leader only) ``mirror-info`` (str): JSON object, one key per
      mirror name, each ``{"type": "pypi"|"npm"|"apt"|"generic", "path":
      "/pypi/simple/"}``; type ``apt`` adds ``"suites": [str], "components":
      [str], "trusted": bool``; optional in every entry: ``"scheme": "https"``
      (served over TLS, at ``https-port``), and for a static mirror
      ``"static": true`` with ``"timestamp": "/ubuntu/timestamp.txt"`` (path
      of its freshness file).
      unit bag ``address`` (str): address the mirror answers on;
      ``port`` (str of int): its HTTP port; ``https-port`` (str of int,
      only while TLS is on): its HTTPS port.
    """

    def manage_flags(self):
        """Keep ``connected`` in step with the joined units (no handler needed)."""
        toggle_flag(self.expand_name('{endpoint_name}.connected'), self.is_joined)

    def publish(self, info, address, port, https_port=None):
        """Publish to every relation: ``info`` (leader only), ``address`` and ports.

        :param info: the mirror-info dict (see the class docstring)
        :param address: this unit's address (str)
        :param port: HTTP port (int)
        :param https_port: HTTPS port (int) while TLS is on, else None
        """
        text = json.dumps(info, sort_keys=True)
        leader = hookenv.is_leader()
        for relation in self.relations:
            relation.to_publish_raw.update({'address': str(address), 'port': str(int(port)),
                                            'https-port': str(int(https_port))
                                            if https_port else None})
            if leader:
                relation.to_publish_app_raw['mirror-info'] = text
