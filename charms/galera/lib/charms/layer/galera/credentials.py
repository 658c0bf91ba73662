"""The application's credentials: one Juju secret owned by the application.

Content keys: ``root-password``, ``sst-password``, and ``u-<hex of user name>``
for each shared-db user (Juju's content keys allow only lower-case letters,
digits and ``-``, so the name is hex-encoded).  The leader makes and updates
it; every unit of the application reads it (owners always read the latest
revision).  Its URI is in the peer relation's application bag under
``credentials-secret`` (see :func:`cluster.app_get`).
Values go to ``secret-add``/``secret-set`` through 0600 files, never argv.
"""

import json
import os
import secrets
import subprocess
import tempfile

from charmhelpers.core import hookenv

from charms.layer.galera import cluster

LABEL = 'galera-credentials'
APP_KEY = 'credentials-secret'
SST_USER = 'stackyard_sst'


def _tool(*argv):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE,
                          universal_newlines=True).stdout


def new_password():
    """32 URL-safe random characters (safe inside SQL quotes and config files)."""
    return secrets.token_urlsafe(24)


def user_key(username):
    """The content key of a shared-db user's password."""
    return 'u-' + username.encode().hex()


# Content this process wrote (hook tools show a secret's new content only after the
# hook ends): two writers in one hook (shared-db users, the benchmark user) each
# start from the other's content instead of overwriting it.
_written = {}


class Unreadable(Exception):
    """The secret is named in the leader settings but cannot be read (yet)."""


def read():
    """The secret's content, or ``{}`` before the leader made it.

    :raises Unreadable: ``secret-get`` failed
    """
    uri = cluster.app_get(APP_KEY)
    if not uri:
        return {}
    if uri in _written:
        return dict(_written[uri])
    try:
        return json.loads(_tool('secret-get', uri, '--format', 'json') or '{}')
    except (subprocess.CalledProcessError, ValueError):
        raise Unreadable('secret-get {} failed'.format(uri)) from None


def _args(content):
    """``key#file=PATH`` arguments for ``content``, in a 0700 folder the caller removes."""
    folder = tempfile.mkdtemp(prefix='galera-secret-')
    args = []
    for key, value in sorted(content.items()):
        path = os.path.join(folder, key)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as f:
            f.write(value)
        args.append('{}#file={}'.format(key, path))
    return folder, args


def _write(command, content):
    import shutil
    folder, args = _args(content)
    try:
        return _tool(*(command + args))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def ensure():
    """Leader: the secret exists (root and SST passwords made once); its content.

    ``{}`` until the peer relation exists (where its URI is kept).
    """
    content = read()
    if content or not hookenv.relation_ids(cluster.PEER_ENDPOINT):
        return content
    content = {'root-password': new_password(), 'sst-password': new_password()}
    uri = _write(['secret-add', '--label', LABEL,
                  '--description', 'Galera root, SST and shared-db user passwords'],
                 content).strip()
    cluster.app_set(APP_KEY, uri)
    return content


def add_users(content, usernames):
    """Leader: a password for each user that has none; the new content."""
    missing = [u for u in usernames if user_key(u) not in content]
    if not missing:
        return content
    content = dict(content, **{user_key(u): new_password() for u in missing})
    uri = cluster.app_get(APP_KEY)
    _write(['secret-set', uri], content)
    _written[uri] = dict(content)
    return content
