"""Provides side of ``hacluster``: read a principal's request, answer ``clustered``.

The hacluster charm declares ``provides: {ha: {interface: hacluster, scope:
container}}``.  The principal's data is untrusted input: it is parsed as
upstream hacluster does (``json_<section>`` first, then the plain
``<section>``; JSON, then a Python literal) and validated so that nothing in
it can add a statement to the pacemaker configuration it becomes.
"""

import ast
import json
import re

from charmhelpers.core import hookenv
from charms.reactive import Endpoint, toggle_flag

#: Sections whose value is ``{name: text}``.
TEXT_SECTIONS = ('resource_params', 'groups', 'clones', 'colocations', 'locations',
                 'orders', 'ms')
#: Every section read, as ``json_<section>`` or ``<section>``.
SECTIONS = ('resources', 'init_services', 'delete_resources') + TEXT_SECTIONS
#: Keys upstream principals send that this side reads and does not use:
#: multicast settings (this cluster is knet unicast) and the reactive
#: layer's ``json_systemd_services`` (upstream hacluster ignores it too).
IGNORED = ('corosync_bindiface', 'corosync_mcastport', 'json_systemd_services')

NAME = re.compile(r'^[A-Za-z][A-Za-z0-9_.-]{0,63}$')
AGENT = re.compile(r'^(ocf:[A-Za-z0-9_-]+:[A-Za-z0-9_.-]+|'
                   r'(lsb|systemd|service|stonith):[A-Za-z0-9_.@-]+)$')
SERVICE = re.compile(r'^[A-Za-z0-9_.@-]{1,128}$')
# One crm statement's arguments: printable, one line, no comment or escapes.
TEXT = re.compile(r'^[\x20-\x7e]{1,1024}$')
_logged = set()


class Invalid(ValueError):
    """A request that cannot be configured."""


def decode(text):
    """A section's value from relation text: JSON, else a Python literal (upstream's order).

    :raises Invalid: neither
    """
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise Invalid('not JSON nor a literal: {!r}'.format(text[:60])) from None


def _name(value, what):
    if not isinstance(value, str) or not NAME.match(value):
        raise Invalid('{}: bad name {!r}'.format(what, value))
    return value


def _text(value, what):
    if not isinstance(value, str) or not TEXT.match(value) or '#' in value or '\\' in value:
        raise Invalid('{}: bad value {!r} (one printable line, no # or \\)'.format(what, value))
    if value.count('"') % 2:
        raise Invalid('{}: unbalanced quotes in {!r}'.format(what, value))
    return value


def _mapping(value, section):
    if not isinstance(value, dict):
        raise Invalid('{}: not an object'.format(section))
    return value


def _services(value, what):
    names = value if isinstance(value, list) else [value]
    for name in names:
        if not isinstance(name, str) or not SERVICE.match(name):
            raise Invalid('{}: bad service name {!r}'.format(what, name))
    return list(names)


def check_section(section, value):
    """One section, validated.

    :returns: ``{name: agent}``, ``{name: text}``, ``{name: [service]}`` or
        ``[name]`` (``delete_resources``)
    :raises Invalid: a bad name, agent, text or shape
    """
    if section == 'delete_resources':
        if not isinstance(value, list):
            raise Invalid('delete_resources: not a list')
        return [_name(v, section) for v in value]
    value = _mapping(value, section)
    out = {}
    for name, text in value.items():
        what = '{} {}'.format(section, name)
        _name(name, section)
        if section == 'resources':
            if not isinstance(text, str) or not AGENT.match(text):
                raise Invalid('{}: bad resource agent {!r}'.format(what, text))
            out[name] = text
        elif section == 'init_services':
            out[name] = _services(text, what)
        else:
            out[name] = _text(text, what)
    return out


def check_references(request):
    """Every group, clone and ms member, and every parameter set, names a resource asked for.

    :raises Invalid: naming the first dangling name
    """
    resources = set(request['resources'])
    for name in request['resource_params']:
        if name not in resources:
            raise Invalid('resource_params {}: no such resource'.format(name))
    for section in ('groups', 'clones', 'ms'):
        for name, text in request[section].items():
            members = text.split() if section == 'groups' else text.split()[:1]
            known = resources | set(request['groups'])
            for member in members:
                if member not in known:
                    raise Invalid('{} {}: no such resource {!r}'.format(section, name, member))


def parse_request(data):
    """The principal's whole request from its unit bag.

    :param data: the bag (``{key: str}``)
    :returns: ``{section: value}`` for every section in :data:`SECTIONS`
        (empty when absent)
    :raises Invalid: any section that is malformed or names a bad thing
    """
    request = {}
    for section in SECTIONS:
        text = data.get('json_' + section) or data.get(section)
        if not text:
            request[section] = [] if section == 'delete_resources' else {}
            continue
        try:
            request[section] = check_section(section, decode(text))
        except Invalid as e:
            raise Invalid('{}: {}'.format(section, e)) from None
    check_references(request)
    return request


def _log_once(problem):
    if problem not in _logged:
        _logged.add(problem)
        hookenv.log('Ignoring invalid hacluster request: {}'.format(problem),
                    level=hookenv.WARNING)


class HAClusterProvides(Endpoint):
    """The hacluster subordinate's view of its principal.

    Flags set:
      ``{endpoint_name}.connected``: the principal unit joined.
      ``{endpoint_name}.available``: it sent a valid request with at least
      one resource.

    Relation keys read (the principal's unit bag, each ``json_<section>``
    or else ``<section>``): ``resources``, ``resource_params``, ``groups``,
    ``clones``, ``colocations``, ``locations``, ``orders``, ``ms``,
    ``init_services``, ``delete_resources`` (see :func:`parse_request`);
    ``corosync_bindiface``, ``corosync_mcastport`` and
    ``json_systemd_services`` are ignored.

    Relation keys written (this unit's bag): ``clustered`` (``yes``, absent
    until the resources run).
    """

    def manage_flags(self):
        """Keep ``connected`` and ``available`` in step with the principal's data."""
        toggle_flag(self.expand_name('{endpoint_name}.connected'), self.is_joined)
        request = self.request() if self.is_joined else None
        toggle_flag(self.expand_name('{endpoint_name}.available'),
                    bool(request and request['resources']))

    def raw_request(self):
        """The principal's bag, or None when no principal joined."""
        for unit in self.all_joined_units:
            return unit.received_raw
        return None

    def request(self):
        """The principal's validated request, or None (no principal, or bad data, logged once)."""
        data = self.raw_request()
        if data is None:
            return None
        try:
            return parse_request(data)
        except Invalid as e:
            _log_once('{}: {}'.format(self.all_joined_units[0].unit_name, e))
            return None

    def problem(self):
        """Why the principal's request is refused, or None."""
        data = self.raw_request()
        try:
            parse_request(data or {})
        except Invalid as e:
            return str(e)
        return None

    def set_clustered(self, clustered):
        """Tell the principal whether the cluster runs its resources (``clustered=yes``).

        Written with ``relation-set`` at once as well: ``pause`` and
        ``resume`` change it from an action, and an action has no hook end
        to flush the Endpoint's data.
        """
        value = 'yes' if clustered else None
        for relation in self.relations:
            if relation.to_publish_raw.get('clustered') != value:
                relation.to_publish_raw['clustered'] = value
                hookenv.relation_set(relation.relation_id, {'clustered': value})
