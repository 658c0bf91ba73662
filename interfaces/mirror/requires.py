"""Requires side of ``mirror``: read and validate what a mirror serves."""

import json
import re

from charmhelpers.core import hookenv
from charms.reactive import Endpoint, clear_flag, is_flag_set, set_flag, toggle_flag

TYPES = ('pypi', 'npm', 'apt', 'generic')
_NAME = re.compile(r'^[a-z0-9][a-z0-9-]{0,30}$')
_PATH = re.compile(r'^/[A-Za-z0-9._~+/-]*$')
_WORD = re.compile(r'^[A-Za-z0-9._-]+$')
_HOST = re.compile(r'^[A-Za-z0-9.:-]+$')
# Problems already logged (the same bad data is not logged in every hook).
_logged = set()


class Invalid(ValueError):
    """Relation data that cannot be used."""


def _words(entry, key, name):
    value = entry.get(key)
    if not isinstance(value, list) or not all(isinstance(w, str) and _WORD.match(w)
                                              for w in value):
        raise Invalid('{}: {} must be a list of words'.format(name, key))
    return list(value)


def _optional(entry, name):
    """The optional keys of an entry: ``scheme``, ``static``, ``timestamp``."""
    found = {}
    if 'scheme' in entry:
        if entry['scheme'] not in ('http', 'https'):
            raise Invalid('{}: scheme must be http or https'.format(name))
        found['scheme'] = entry['scheme']
    if 'static' in entry:
        if not isinstance(entry['static'], bool):
            raise Invalid('{}: static must be true or false'.format(name))
        found['static'] = entry['static']
    if 'timestamp' in entry:
        stamp = entry['timestamp']
        if not isinstance(stamp, str) or not _PATH.match(stamp) or '..' in stamp:
            raise Invalid('{}: bad timestamp path {!r}'.format(name, stamp))
        found['timestamp'] = stamp
    return found


def parse_entry(name, entry):
    """One validated mirror entry.

    :raises Invalid: bad name, type, path, or apt fields
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise Invalid('bad mirror name {!r}'.format(name))
    if not isinstance(entry, dict):
        raise Invalid('{}: not an object'.format(name))
    kind, path = entry.get('type'), entry.get('path')
    if kind not in TYPES:
        raise Invalid('{}: unknown type {!r}'.format(name, kind))
    if not isinstance(path, str) or not _PATH.match(path) or '..' in path:
        raise Invalid('{}: bad path {!r}'.format(name, path))
    parsed = {'type': kind, 'path': path}
    parsed.update(_optional(entry, name))
    if kind == 'apt':
        if not isinstance(entry.get('trusted'), bool):
            raise Invalid('{}: trusted must be true or false'.format(name))
        parsed.update(suites=_words(entry, 'suites', name),
                      components=_words(entry, 'components', name),
                      trusted=entry['trusted'])
    return parsed


def parse_info(text):
    """The mirror-info dict from its JSON text.

    :raises Invalid: not JSON, not an object, or a bad entry
    """
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        raise Invalid('mirror-info is not JSON') from None
    if not isinstance(data, dict) or not data:
        raise Invalid('mirror-info is not a non-empty object')
    return {name: parse_entry(name, entry) for name, entry in sorted(data.items())}


def _port(data, key):
    try:
        port = int(data.get(key) or '')
    except ValueError:
        raise Invalid('{} {!r} is not a number'.format(key, data.get(key))) from None
    if not 0 < port < 65536:
        raise Invalid('{} {} is not a TCP port'.format(key, port))
    return port


def parse_address(data):
    """``(address, port)`` from a unit bag.

    :raises Invalid: missing or bad address or port
    """
    address = (data.get('address') or '').strip()
    port = _port(data, 'port')
    if not address or not _HOST.match(address):
        raise Invalid('bad address {!r} or port {}'.format(address, port))
    return address, port


def parse_https_port(data):
    """The unit's ``https-port``, or None when it publishes none (TLS off).

    :raises Invalid: a value that is not a TCP port
    """
    return _port(data, 'https-port') if data.get('https-port') else None


def _base(scheme, host, port):
    default = 443 if scheme == 'https' else 80
    return '{}://{}{}'.format(scheme, host, '' if port == default else ':{}'.format(port))


def with_urls(info, address, port, https_port=None):
    """mirror-info with absolute ``url`` keys for one mirror unit (zuul-jobs' shape).

    Entries with ``"scheme": "https"`` get an https URL at ``https_port``
    (443 when the unit published none).
    """
    host = '[{}]'.format(address) if ':' in address else address
    out = {}
    for name, entry in info.items():
        if entry.get('scheme') == 'https':
            base = _base('https', host, https_port or 443)
        else:
            base = _base('http', host, port)
        out[name] = dict(entry, url=base + entry['path'])
    return out


def _log_once(problem):
    if problem not in _logged:
        _logged.add(problem)
        hookenv.log('Ignoring invalid mirror data: {}'.format(problem), level=hookenv.WARNING)


class MirrorRequires(Endpoint):
    """Reads a mirror's mirror-info and its units' addresses.

    Flags set:
      ``{endpoint_name}.connected``: at least one remote unit joined.
      ``{endpoint_name}.available``: valid mirror-info and at least one unit
      with a valid address and port.
      ``{endpoint_name}.changed``: published data changed (the charm clears it).

    Relation keys read:
      app bag ``mirror-info`` (JSON; see provides.py), unit bags ``address``
      (str), ``port`` (str of int 1-65535) and, while the mirror serves TLS,
      ``https-port`` (str of int).  Invalid data is logged once
      and treated as missing.
    """

    def manage_flags(self):
        """Set the flags from the joined units and their data."""
        joined = self.is_joined
        toggle_flag(self.expand_name('{endpoint_name}.connected'), joined)
        toggle_flag(self.expand_name('{endpoint_name}.available'),
                    joined and bool(self.mirrors()))
        if not joined:
            clear_flag(self.expand_name('{endpoint_name}.changed'))
        elif is_flag_set(self.expand_name('endpoint.{endpoint_name}.changed')):
            set_flag(self.expand_name('{endpoint_name}.changed'))
            clear_flag(self.expand_name('endpoint.{endpoint_name}.changed'))

    def mirrors(self):
        """One mirror-info with URLs per valid mirror unit, sorted by unit name.

        :returns: list of ``{"unit": str, "address": str, "port": int,
            "https-port": int or None, "info": {name: {"type", "path", "url", ...}}}``
        """
        found = []
        for relation in self.relations:
            text = relation.received_app_raw.get('mirror-info')
            if not text:
                continue
            try:
                info = parse_info(text)
            except Invalid as e:
                _log_once('{} app: {}'.format(relation.relation_id, e))
                continue
            for unit in sorted(relation.joined_units, key=lambda u: u.unit_name):
                try:
                    address, port = parse_address(unit.received_raw)
                    https_port = parse_https_port(unit.received_raw)
                except Invalid as e:
                    if unit.received_raw:
                        _log_once('{}: {}'.format(unit.unit_name, e))
                    continue
                found.append({'unit': unit.unit_name, 'address': address, 'port': port,
                              'https-port': https_port,
                              'info': with_urls(info, address, port, https_port)})
        return found

    def mirror_info(self):
        """The first valid mirror unit's mirror-info with URLs, or None."""
        found = self.mirrors()
        return found[0]['info'] if found else None
