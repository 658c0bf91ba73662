"""Provides side of ``buildbot`` (the master): read workers, give each a password secret."""

import json
import os
import re
import secrets
import subprocess
import tempfile

from charmhelpers.core import hookenv
from charms.reactive import Endpoint, clear_flag, is_flag_set, set_flag, toggle_flag

# Owner label of the password secret of worker <name>.
LABEL_PREFIX = 'buildbot-worker-'
_NAME = re.compile(r'^[a-z0-9][a-z0-9-]{0,62}$')
_LABEL = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._:+-]{0,62}$')
MAX_LABELS = 32
MAX_EXECUTORS = 256
# Problems already logged (the same bad data is not logged in every hook).
_logged = set()


class Invalid(ValueError):
    """Relation data that cannot be used."""


def expected_name(unit_name):
    """The worker name a unit must publish: its unit name with ``/`` replaced by ``-``."""
    return unit_name.replace('/', '-')


def parse_worker(unit_name, data):
    """``{"name", "labels", "executors"}`` from a worker unit's bag.

    :raises Invalid: a missing or bad ``worker-name``, ``labels`` or ``executors``
    """
    name = data.get('worker-name')
    if name != expected_name(unit_name) or not _NAME.match(name or ''):
        raise Invalid('worker-name {!r} is not {!r}'.format(name, expected_name(unit_name)))
    try:
        labels = json.loads(data.get('labels') or '')
        executors = json.loads(data.get('executors') or '')
    except ValueError:
        raise Invalid('labels or executors is not JSON') from None
    if not isinstance(labels, list) or len(labels) > MAX_LABELS or \
            not all(isinstance(w, str) and _LABEL.match(w) for w in labels):
        raise Invalid('labels must be a list of at most {} words'.format(MAX_LABELS))
    if isinstance(executors, bool) or not isinstance(executors, int) or \
            not 0 < executors <= MAX_EXECUTORS:
        raise Invalid('executors {!r} is not a whole number from 1 to {}'.format(
            executors, MAX_EXECUTORS))
    return {'name': name, 'labels': sorted(set(labels)), 'executors': executors}


def _log_once(problem):
    if problem not in _logged:
        _logged.add(problem)
        hookenv.log('Ignoring invalid buildbot worker data: {}'.format(problem),
                    level=hookenv.WARNING)


def _tool(*argv):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE,
                          universal_newlines=True).stdout


def canonical(uri):
    """``secret:<id>`` from any form the tools print (``<id>``, ``secret://<model>/<id>``)."""
    body = uri.strip()
    body = body[len('secret:'):] if body.startswith('secret:') else body
    return 'secret:' + body.rsplit('/', 1)[-1]


def owned_secrets():
    """``{worker name: secret id}`` of the worker password secrets this application owns."""
    found = {}
    for secret_id in json.loads(_tool('secret-ids', '--format', 'json') or '[]'):
        info = json.loads(_tool('secret-info-get', secret_id, '--format', 'json'))
        for _, meta in info.items():
            label = meta.get('label') or ''
            if label.startswith(LABEL_PREFIX):
                found[label[len(LABEL_PREFIX):]] = canonical(secret_id)
    return found


def add_secret(name):
    """A new password secret for worker ``name``; its id.

    The password goes through a 0600 file, not the command line (``ps`` shows argv).
    """
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, 'password')
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as f:
            f.write(secrets.token_urlsafe(24))
        return canonical(_tool('secret-add', '--label', LABEL_PREFIX + name,
                               '--description', 'Buildbot worker password of ' + name,
                               'password#file=' + path))


def password(secret_id):
    """The password in a worker secret (the owner always reads the latest revision)."""
    return _tool('secret-get', secret_id, 'password').strip()


class BuildbotProvides(Endpoint):
    """The master: reads its workers, publishes its address and one password secret each.

    Flags set:
      ``{endpoint_name}.connected``: at least one worker unit joined.
      ``{endpoint_name}.available``: at least one joined worker with valid data.
      ``{endpoint_name}.changed``: a worker's data or the set of workers changed
      (the charm clears it).

    Relation keys read (worker unit bags):
      ``worker-name`` (str): the unit name with ``/`` replaced by ``-``;
      ``labels`` (JSON list of str): what jobs may ask for;
      ``executors`` (JSON int, 1-256): builds it runs at once.
      A unit whose data is missing or bad is logged once and left out.

    Relation keys written:
      unit bag ``address`` (str) and ``port`` (str of int): where workers
      connect (Buildbot's worker protocol, 9989 by default);
      app bag (leader) ``workers`` (JSON object): worker name to the URI of
      its password secret, content ``{"password": str}``, owned by this
      application and granted to that worker unit on this relation.
    """

    def manage_flags(self):
        """Set the flags from the joined workers and their data."""
        joined = self.is_joined
        toggle_flag(self.expand_name('{endpoint_name}.connected'), joined)
        toggle_flag(self.expand_name('{endpoint_name}.available'),
                    joined and bool(self.workers()))
        if not joined:
            clear_flag(self.expand_name('{endpoint_name}.changed'))
        for internal in ('changed', 'departed'):
            name = self.expand_name('endpoint.{endpoint_name}.' + internal)
            if is_flag_set(name):
                set_flag(self.expand_name('{endpoint_name}.changed'))
                clear_flag(name)

    def workers(self):
        """Every joined worker with valid data, sorted by name.

        :returns: list of ``{"name", "labels", "executors", "unit", "relation_id"}``
        """
        found = []
        for relation in self.relations:
            for unit in relation.joined_units:
                if not unit.received_raw:
                    continue
                try:
                    worker = parse_worker(unit.unit_name, unit.received_raw)
                except Invalid as e:
                    _log_once('{}: {}'.format(unit.unit_name, e))
                    continue
                worker.update(unit=unit.unit_name, relation_id=relation.relation_id)
                found.append(worker)
        return sorted(found, key=lambda w: w['name'])

    def publish_address(self, address, port):
        """Every relation's unit bag: where workers connect."""
        for relation in self.relations:
            relation.to_publish_raw.update({'address': str(address), 'port': str(int(port))})

    def update_secrets(self):
        """Leader: one password secret per valid worker, granted to it; the rest removed.

        Writes each relation's ``workers`` app key.  Call it in the hooks where
        workers come and go (and on leader-elected); it costs one ``secret-ids``
        and one ``secret-info-get`` per worker secret.

        :returns: ``{worker name: secret id}`` of the current workers
        """
        owned = owned_secrets()
        current = {}
        for relation in self.relations:
            try:
                before = json.loads(relation.to_publish_app_raw.get('workers') or '{}')
            except ValueError:
                before = {}
            mapping = {}
            for worker in self.workers():
                if worker['relation_id'] != relation.relation_id:
                    continue
                name = worker['name']
                secret_id = owned.get(name) or add_secret(name)
                owned[name] = secret_id
                if before.get(name) != secret_id:
                    _tool('secret-grant', secret_id, '-r', relation.relation_id,
                          '--unit', worker['unit'])
                mapping[name] = current[name] = secret_id
            text = json.dumps(mapping, sort_keys=True)
            # Only a change is written (nothing on a relation being broken, emptied before).
            if relation.to_publish_app_raw.get('workers') != text:
                relation.to_publish_app_raw['workers'] = text
        for name, secret_id in sorted(owned.items()):
            if name not in current:
                _tool('secret-remove', secret_id)
        return current

    def published(self):
        """``{worker name: secret URI}`` the leader published (no hook tool call)."""
        found = {}
        for relation in self.relations:
            try:
                found.update(json.loads(relation.to_publish_app_raw.get('workers') or '{}'))
            except ValueError:
                continue
        return found

    def passwords(self):
        """``{worker name: password}`` from the secrets the leader published (leader only)."""
        return {name: password(uri) for name, uri in sorted(self.published().items())}
