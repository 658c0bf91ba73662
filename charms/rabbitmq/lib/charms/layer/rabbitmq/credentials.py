"""The Erlang cookie and the amqp users' passwords: made by the leader, kept in Juju secrets.

Each is an application-owned secret, so every unit of the application reads
it (the owner always reads the latest revision); its URI is in the peer
application bag (:mod:`peers`).  Values go to ``secret-add`` through a 0600
file and come back on stdout: never in argv, logs, status or action output.
"""

import json
import os
import secrets
import string
import subprocess
import tempfile

from charmhelpers.core import unitdata

from charms.layer.rabbitmq import peers

COOKIE_LABEL = 'rabbitmq-cookie'
USER_LABEL = 'rabbitmq-user-'
# Erlang cookies are atoms: letters and digits are safe.
_COOKIE_CHARS = string.ascii_uppercase + string.digits
PASSWORD_BYTES = 32
# unitdata key (leader): {username: secret URI} made but not yet published.
PENDING_KEY = 'rabbitmq.users.pending-secrets'


def _tool(*argv):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE,
                          universal_newlines=True).stdout


def canonical(secret_id):
    """``secret:<id>`` from any form the tools print."""
    body = secret_id.strip()
    body = body[len('secret:'):] if body.startswith('secret:') else body
    return 'secret:' + body.rsplit('/', 1)[-1]


def add(label, description, key, value):
    """A new application secret ``{key: value}``; its URI."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, key)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as f:
            f.write(value)
        return canonical(_tool('secret-add', '--label', label, '--description', description,
                               '{}#file={}'.format(key, path)))


def get(secret_id, key):
    """One value of a secret this application owns."""
    return _tool('secret-get', secret_id, key).strip()


def new_cookie():
    return ''.join(secrets.choice(_COOKIE_CHARS) for _ in range(32))


def new_password():
    return secrets.token_urlsafe(PASSWORD_BYTES)


def ensure_cookie():
    """Leader: the cookie secret exists and its URI is published; returns the URI."""
    found = peers.app().get(peers.COOKIE_KEY)
    if found:
        return found
    uri = add(COOKIE_LABEL, 'Erlang cookie of the RabbitMQ cluster', 'cookie', new_cookie())
    peers.set_app(**{peers.COOKIE_KEY: uri})
    return uri


def cookie():
    """The cluster's cookie, or None before the leader made it."""
    uri = peers.app().get(peers.COOKIE_KEY)
    return get(uri, 'cookie') if uri else None


def user_secrets():
    """``{username: secret URI}`` published by the leader."""
    return peers.app_json(peers.USERS_KEY, {})


def user_secret(username):
    """Leader: the URI of ``username``'s password secret, made now if there is none.

    A new secret is published (:func:`publish_user`) only once its user
    exists on the cluster; until then its URI waits in the leader's kv.
    """
    known = user_secrets().get(username)
    if known:
        return known
    kv = unitdata.kv()
    pending = kv.get(PENDING_KEY) or {}
    if username not in pending:
        pending[username] = add(USER_LABEL + username, 'AMQP password of user ' + username,
                                'password', new_password())
        kv.set(PENDING_KEY, pending)
    return pending[username]


def publish_user(username, uri):
    """Leader: ``username``'s user exists; publish its secret to the other units."""
    known = user_secrets()
    if known.get(username) != uri:
        known[username] = uri
        peers.set_app(**{peers.USERS_KEY: json.dumps(known, sort_keys=True)})
    kv = unitdata.kv()
    pending = kv.get(PENDING_KEY) or {}
    if pending.pop(username, None):
        kv.set(PENDING_KEY, pending)


def password(username):
    """The password of ``username``, or None while the leader has published none."""
    uri = user_secrets().get(username)
    return get(uri, 'password') if uri else None
