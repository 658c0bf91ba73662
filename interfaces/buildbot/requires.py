"""Requires side of ``buildbot`` (a worker): publish name, labels and executors; read the
master's address and this worker's password secret."""

import json
import re
import subprocess

from charmhelpers.core import hookenv
from charms.reactive import Endpoint, clear_flag, is_flag_set, set_flag, toggle_flag

DEFAULT_PORT = 9989
_HOST = re.compile(r'^[A-Za-z0-9.:-]+$')
_SECRET = re.compile(r'^(secret:)?[A-Za-z0-9/:-]+$')
_PASSWORD = re.compile(r'^[A-Za-z0-9_-]{16,128}$')
# Problems already logged (the same bad data is not logged in every hook).
_logged = set()


class Invalid(ValueError):
    """Relation data that cannot be used."""


def worker_name(unit_name=None):
    """This unit's worker name: the unit name with ``/`` replaced by ``-``."""
    return (unit_name or hookenv.local_unit()).replace('/', '-')


def parse_address(data):
    """``(address, port)`` from a master unit's bag.

    :raises Invalid: missing or bad address or port
    """
    address = (data.get('address') or '').strip()
    try:
        port = int(data.get('port') or '')
    except ValueError:
        raise Invalid('port {!r} is not a number'.format(data.get('port'))) from None
    if not address or not _HOST.match(address) or not 0 < port < 65536:
        raise Invalid('bad address {!r} or port {}'.format(address, port))
    return address, port


def secret_of(text, name):
    """The URI of worker ``name``'s secret in the master's ``workers`` app key, or None.

    :raises Invalid: not a JSON object, or a bad URI for ``name``
    """
    try:
        mapping = json.loads(text)
    except (TypeError, ValueError):
        raise Invalid('workers is not JSON') from None
    if not isinstance(mapping, dict):
        raise Invalid('workers is not a JSON object')
    uri = mapping.get(name)
    if uri is not None and (not isinstance(uri, str) or not _SECRET.match(uri)):
        raise Invalid('workers: bad secret URI for {}'.format(name))
    return uri


def read_password(uri):
    """The password in the secret ``uri`` (latest revision), or None when not readable yet.

    :raises Invalid: the secret holds no valid password
    """
    proc = subprocess.run(['secret-get', uri, 'password', '--refresh'],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)
    if proc.returncode != 0:
        # Not granted yet, or removed: the master's next hook fixes it.
        _log_once('secret {}: {}'.format(uri, proc.stderr.strip()))
        return None
    password = proc.stdout.strip()
    if not _PASSWORD.match(password):
        raise Invalid('secret {}: password is not 16-128 of A-Z a-z 0-9 _ -'.format(uri))
    return password


def _log_once(problem):
    if problem not in _logged:
        _logged.add(problem)
        hookenv.log('Ignoring buildbot master data: {}'.format(problem), level=hookenv.WARNING)


class BuildbotRequires(Endpoint):
    """A worker: publishes what it offers, reads where its master is and its password.

    Flags set:
      ``{endpoint_name}.connected``: a master unit joined.
      ``{endpoint_name}.available``: a master unit with a valid address and
      port, and this worker's secret in ``workers`` readable with a valid password.
      ``{endpoint_name}.changed``: the master's data changed (the charm clears it).

    Relation keys written (unit bag; see :meth:`publish`):
      ``worker-name`` (str), ``labels`` (JSON list of str), ``executors`` (JSON int).

    Relation keys read:
      master unit bags ``address`` (str) and ``port`` (str of int 1-65535);
      master app bag ``workers`` (JSON object: worker name to secret URI; the
      secret's ``password`` key: 16-128 of ``A-Za-z0-9_-``).  Invalid data is
      logged once and treated as missing.
    """

    def manage_flags(self):
        """Set the flags from the master's data."""
        joined = self.is_joined
        toggle_flag(self.expand_name('{endpoint_name}.connected'), joined)
        toggle_flag(self.expand_name('{endpoint_name}.available'),
                    joined and self.master() is not None)
        if not joined:
            clear_flag(self.expand_name('{endpoint_name}.changed'))
        elif is_flag_set(self.expand_name('endpoint.{endpoint_name}.changed')):
            set_flag(self.expand_name('{endpoint_name}.changed'))
            clear_flag(self.expand_name('endpoint.{endpoint_name}.changed'))

    def publish(self, labels, executors):
        """Every relation's unit bag: this worker's name, labels and executors.

        :param labels: list of str (words: ``A-Za-z0-9._:+-``, at most 63 chars each)
        :param executors: int from 1 to 256
        """
        data = {'worker-name': worker_name(), 'labels': json.dumps(sorted(set(labels))),
                'executors': json.dumps(int(executors))}
        for relation in self.relations:
            relation.to_publish_raw.update(data)

    def master(self):
        """The first master unit with valid data, or None.

        :returns: ``{"unit", "address", "port", "worker_name", "password"}``
        """
        if not hasattr(self, '_master'):
            self._master = self._find_master()
        return self._master

    def _find_master(self):
        name = worker_name()
        for relation in self.relations:
            text = relation.received_app_raw.get('workers')
            try:
                uri = secret_of(text, name) if text else None
                password = read_password(uri) if uri else None
            except Invalid as e:
                _log_once('{} app: {}'.format(relation.relation_id, e))
                continue
            if password is None:
                continue
            for unit in sorted(relation.joined_units, key=lambda u: u.unit_name):
                try:
                    address, port = parse_address(unit.received_raw)
                except Invalid as e:
                    if unit.received_raw:
                        _log_once('{}: {}'.format(unit.unit_name, e))
                    continue
                return {'unit': unit.unit_name, 'address': address, 'port': port,
                        'worker_name': name, 'password': password}
        return None
