"""Agent side of ``jenkins_agent_v0``: register as a Jenkins inbound agent.

Upstream agents provide this relation and the master requires it; the keys
are those of both upstream generations (see README.md), so one agent works
with a classic reactive master and with a jenkins-k8s operator.
"""

import re
import urllib.parse

from charmhelpers.core import hookenv
from charms.reactive import Endpoint, toggle_flag

# Jenkins node secrets are hex (64 characters); accept any plain token.
_SECRET = re.compile(r'^[A-Za-z0-9_-]{8,512}$')
# Problems already logged (the same bad data is not logged in every hook).
_logged = set()


class Invalid(ValueError):
    """Relation data that cannot be used."""


def check_url(value):
    """The master's URL (http or https, with a host), without a trailing slash.

    :raises Invalid: anything else
    """
    text = (value or '').strip()
    parts = urllib.parse.urlsplit(text)
    try:
        parts.port
    except ValueError:
        raise Invalid('url {!r} has a bad port'.format(value)) from None
    if parts.scheme not in ('http', 'https') or not parts.hostname or parts.query or \
            parts.fragment or any(c in text for c in ' "\'<>\\\n'):
        raise Invalid('url {!r} is not an http(s) URL'.format(value))
    return text.rstrip('/')


def node_names(model, unit):
    """``(name, slavehost)``: the node name each generation of master registers.

    The current master (jenkins_agent_v0) registers ``<model>-<unit>``, the
    classic one the unit name alone, ``/`` replaced by ``-`` in both.
    """
    dashed = unit.replace('/', '-')
    return '{}-{}'.format(model, dashed), dashed


def credentials(data, name, slavehost):
    """What one master unit's bag gives this agent, or None.

    :param data: the master unit's bag
    :returns: ``{"url", "secret", "node"}``: ``node`` is the name the master
        registered (``name`` when it answered with ``<name>_secret``, else
        ``slavehost`` for the classic ``secret``)
    :raises Invalid: a present but unusable url or secret
    """
    if not data.get('url'):
        return None
    url = check_url(data['url'])
    for key, node in (('{}_secret'.format(name), name), ('secret', slavehost)):
        secret = (data.get(key) or '').strip()
        if secret:
            if not _SECRET.match(secret):
                raise Invalid('{} is not a node secret'.format(key))
            return {'url': url, 'secret': secret, 'node': node}
    return None


def _log_once(problem):
    if problem not in _logged:
        _logged.add(problem)
        hookenv.log('Ignoring invalid Jenkins master data: {}'.format(problem),
                    level=hookenv.WARNING)


class JenkinsAgentProvides(Endpoint):
    """The agent's end: publishes the node's metadata, reads the master's URL and secret.

    Flags set:
      ``{endpoint_name}.connected``: at least one master unit joined.
      ``{endpoint_name}.available``: a master unit gave a valid ``url`` and
      this agent's secret.

    Relation keys written (unit bag, every relation; raw strings):
      ``executors`` (str of int >= 1), ``labels`` (labels separated by
      spaces, as Jenkins reads a node's label string), ``name``
      (``<model>-<unit>``, current), ``slavehost`` (``<unit>``, classic),
      ``remote_fs`` (absolute path of the agent's work dir, current).

    Relation keys read (master unit bags): ``url`` (http(s) URL of Jenkins),
    ``<name>_secret`` (current) or ``secret`` (classic): the node's secret.
    Invalid data is logged once and treated as missing.
    """

    def manage_flags(self):
        """Keep ``connected`` and ``available`` in step (no handler needed)."""
        toggle_flag(self.expand_name('{endpoint_name}.connected'), self.is_joined)
        toggle_flag(self.expand_name('{endpoint_name}.available'),
                    self.is_joined and self.master() is not None)

    def names(self):
        """``(name, slavehost)`` of this unit."""
        return node_names(hookenv.model_name(), hookenv.local_unit())

    def publish(self, executors, labels, remote_fs):
        """Publish the node's metadata on every relation.

        :param executors: how many jobs the node runs at once (int >= 1)
        :param labels: list of label words
        :param remote_fs: the agent's work dir (absolute path)
        """
        name, slavehost = self.names()
        data = {'executors': str(int(executors)), 'labels': ' '.join(labels),
                'name': name, 'slavehost': slavehost, 'remote_fs': remote_fs}
        for relation in self.relations:
            relation.to_publish_raw.update(data)

    def master(self):
        """The first master unit's ``{"url", "secret", "node"}`` for this agent, or None."""
        name, slavehost = self.names()
        for relation in self.relations:
            for unit in sorted(relation.joined_units, key=lambda u: u.unit_name):
                try:
                    found = credentials(unit.received_raw, name, slavehost)
                except Invalid as e:
                    _log_once('{}: {}'.format(unit.unit_name, e))
                    continue
                if found:
                    return found
        return None
