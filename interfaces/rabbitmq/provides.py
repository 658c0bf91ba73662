"""Provides side of ``rabbitmq`` (the broker): read consumers' requests, answer them."""

import re

from charmhelpers.core import hookenv, unitdata
from charms.reactive import Endpoint, toggle_flag

# RabbitMQ accepts almost any text as a user or vhost name; these are the
# names OpenStack charms send (nova, neutron, openstack, ...).  Anything else
# is refused: names end up in rabbitmqctl's argv and in log lines.
_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$')
# Users the broker charm keeps for itself.
RESERVED_USERS = ('guest',)
RESERVED_PREFIX = 'stackyard'
# Queue-expiry policy (upstream: heat's notification queues, LP#1925436).
_TTL_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$')
MAX_TTL_MS = 30 * 24 * 3600 * 1000
# unitdata key: problems already logged (a bad request is logged once, not in every hook).
LOGGED_KEY = 'rabbitmq.amqp.logged'


class Invalid(ValueError):
    """A consumer's request that cannot be served; the message names the key."""


def check_name(value, key):
    """``value`` when it is a usable user or vhost name, else raise :class:`Invalid`."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise Invalid('{} {!r} is not 1-64 letters, digits, "_", "." or "-"'.format(key, value))
    return value


def _ttl(data):
    """``(name, regex, ms)`` of the optional queue-expiry policy, or None."""
    keys = [data.get(k) for k in ('ttlname', 'ttlreg', 'ttl')]
    if not any(keys):
        return None
    if not all(keys):
        raise Invalid('ttlname, ttlreg and ttl go together')
    name, regex, ms = keys
    if not _TTL_NAME.match(name):
        raise Invalid('ttlname {!r} is not a policy name'.format(name))
    try:
        re.compile(regex)
    except re.error:
        raise Invalid('ttlreg {!r} is not a regular expression'.format(regex)) from None
    if len(regex) > 256 or '\n' in regex:
        raise Invalid('ttlreg is longer than 256 characters or has a newline')
    if not ms.isdigit() or not 0 < int(ms) <= MAX_TTL_MS:
        raise Invalid('ttl {!r} is not milliseconds from 1 to {}'.format(ms, MAX_TTL_MS))
    return {'name': name, 'regex': regex, 'ms': int(ms)}


def parse_request(data):
    """``{"username", "vhost", "admin", "ttl"}`` from a consumer unit's bag, or None.

    None while ``username`` or ``vhost`` is missing or empty (not asked yet).

    :raises Invalid: a name or the ttl policy is unusable, or the user is reserved
    """
    username, vhost = data.get('username'), data.get('vhost')
    if not username or not vhost:
        return None
    check_name(username, 'username')
    check_name(vhost, 'vhost')
    if username in RESERVED_USERS or username.lower().startswith(RESERVED_PREFIX):
        raise Invalid('username {!r} is reserved by the broker charm'.format(username))
    return {'username': username, 'vhost': vhost, 'admin': bool(data.get('admin')),
            'ttl': _ttl(data)}


def log_once(problem):
    """Log ``problem`` at WARNING unless it was logged before (in any hook)."""
    kv = unitdata.kv()
    seen = kv.get(LOGGED_KEY) or []
    if problem in seen:
        return
    hookenv.log('Refusing amqp request: {}'.format(problem), level=hookenv.WARNING)
    kv.set(LOGGED_KEY, (seen + [problem])[-200:])


class RabbitMQProvides(Endpoint):
    """The broker: reads each consumer's user and vhost, answers with where and how.

    Flags set:
      ``{endpoint_name}.connected``: at least one consumer unit joined.

    Relation keys read (consumer unit bags, raw strings):
      ``username`` (str) and ``vhost`` (str): required, both non-empty; 1-64
      letters, digits, ``_ . -``; ``guest`` and names starting with
      ``stackyard`` are refused.
      ``admin`` (str): any non-empty value makes the user an administrator.
      ``ttlname``, ``ttlreg``, ``ttl`` (str, all three or none): a queue
      policy named ``ttlname`` on queues matching ``ttlreg`` that expire
      after ``ttl`` ms of disuse.
      A request that breaks these rules is logged once and not answered.

    Relation keys written (this unit's bag, raw strings, set by every broker
    unit so that consumers can list every host):
      ``hostname`` (str): this unit's address.
      ``password`` (str): the password of the relation's ``username``.
    """

    def manage_flags(self):
        toggle_flag(self.expand_name('{endpoint_name}.connected'), self.is_joined)

    def requests(self):
        """One valid request per relation: ``{"relation_id", "application", ...}``.

        The units of one application ask the same; the first unit with a
        valid request speaks for the relation.  Bad requests are logged once.
        """
        found = []
        for relation in self.relations:
            for unit in relation.joined_units:
                try:
                    request = parse_request(unit.received_raw)
                except Invalid as e:
                    log_once('{} ({}): {}'.format(unit.unit_name, relation.relation_id, e))
                    continue
                if request:
                    request.update(relation_id=relation.relation_id,
                                   application=relation.application_name)
                    found.append(request)
                    break
        return found

    def relation_ids(self):
        """Every relation's id (those without a valid request are not answered)."""
        return [relation.relation_id for relation in self.relations]

    def publish(self, relation_id, hostname, password):
        """Answer one relation: this unit's address and the user's password."""
        self._relation(relation_id).to_publish_raw.update(
            {'hostname': str(hostname), 'password': password})

    def withdraw(self, relation_id):
        """Take back this unit's answer (its node is not serving the cluster)."""
        self._relation(relation_id).to_publish_raw.update({'hostname': None, 'password': None})

    def _relation(self, relation_id):
        return next(r for r in self.relations if r.relation_id == relation_id)
