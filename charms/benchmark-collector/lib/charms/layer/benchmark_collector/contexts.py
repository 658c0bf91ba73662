"""Config rules, the database to use, and what the templates get."""

import json
import math
import os
import subprocess
import sys
import urllib.parse

from charmhelpers.core import hookenv

from charms.layer.stackyard import options
from charms.layer.benchmark_collector import paths

DATABASE_NAME = 'benchmarks'
# The PostgreSQL charm's side of `database` (interface postgresql_client): see README.md.
PG_ENDPOINT = 'database'


@options.rule('port')
def port_reason(value):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        return 'must be a TCP port (1-65535), not {!r}'.format(value)
    return None


@options.rule('threshold')
def threshold_reason(value):
    if not _fraction(value) or value >= 1:
        return 'must be a fraction from 0 to 1 (0.05 = 5 %), not {!r}'.format(value)
    return None


@options.rule('alpha')
def alpha_reason(value):
    if not _fraction(value) or not 0 < value < 0.5:
        return 'must be a significance level above 0 and below 0.5, not {!r}'.format(value)
    return None


@options.rule('database-uri')
def database_uri_reason(value):
    value = (value or '').strip()
    if not value or value.startswith('secret:'):
        return None
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme not in ('postgresql', 'postgres') or not parsed.path.strip('/'):
        return 'must be postgresql://[user@]host[:port]/dbname or a secret: id'
    if parsed.password:
        return 'holds a password: put the URI in a Juju secret and give its secret: id'
    return None


def _fraction(value):
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and
            math.isfinite(value) and value >= 0)


def secret_field(secret_id, key):
    """One key of a Juju secret's content (``secret-get``); None when it cannot be read."""
    try:
        out = subprocess.run(['secret-get', secret_id, key, '--format=json'],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        hookenv.log('secret-get {} failed: {}'.format(secret_id, out.stderr.strip()),
                    level=hookenv.WARNING)
        return None
    return json.loads(out.stdout or 'null')


def relation_database():
    """``postgresql://...`` from the ``database`` relation once PostgreSQL answered, else None.

    Reads the provider's application bag: ``endpoints`` (first ``host:port``),
    ``database``, and the credentials in the secret named by ``secret-user``
    (keys ``username``, ``password``) or, without Juju secrets, plain
    ``username`` and ``password``.
    """
    for rid in hookenv.relation_ids(PG_ENDPOINT):
        units = hookenv.related_units(rid)
        if not units:
            continue
        data = hookenv.relation_get(rid=rid, app=units[0].split('/')[0]) or {}
        endpoint = (data.get('endpoints') or '').split(',')[0].strip()
        user, password = data.get('username'), data.get('password')
        if data.get('secret-user'):
            user = secret_field(data['secret-user'], 'username')
            password = secret_field(data['secret-user'], 'password')
        if endpoint and user and password:
            return 'postgresql://{}:{}@{}/{}'.format(
                urllib.parse.quote(user, safe=''), urllib.parse.quote(password, safe=''),
                endpoint, data.get('database') or DATABASE_NAME)
    return None


def request_database():
    """Leader: ask PostgreSQL for the database (application bag key ``database``)."""
    if not hookenv.is_leader():
        return
    for rid in hookenv.relation_ids(PG_ENDPOINT):
        hookenv.relation_set(rid, {'database': DATABASE_NAME}, app=True)


def database_uri():
    """The one decision of where runs live: config, else the relation, else SQLite.

    Returns None while ``database-uri`` names a secret that cannot be read.
    """
    configured = (options.config().get('database-uri') or '').strip()
    if configured.startswith('secret:'):
        return secret_field(configured, 'uri')
    if configured:
        return configured
    return relation_database() or paths.SQLITE


def describe(uri):
    """Where runs live, without credentials (for status)."""
    parsed = urllib.parse.urlsplit(uri)
    if parsed.scheme.startswith('postgres'):
        return 'PostgreSQL {}{}'.format(parsed.hostname, parsed.path)
    return 'SQLite'


def address():
    return hookenv.unit_private_ip()


def api_url():
    """Where units POST runs too large for relation data."""
    host = address()
    host = '[{}]'.format(host) if ':' in host else host
    return 'http://{}:{}/api/runs'.format(host, options.config().get('port'))


class ServiceContext(dict):
    """The web server's settings; empty while the database is unknown (secret unreadable)."""

    name = 'a readable database-uri secret'

    def __init__(self):
        super().__init__()
        config = options.config()
        uri = database_uri()
        if uri:
            lib = os.path.join(hookenv.charm_dir(), 'lib')
            self.update(port=config['port'], settings=paths.SETTINGS, lib=lib,
                        python=sys.executable, settings_json=json.dumps({
                            'port': config['port'], 'database': uri,
                            'threshold': config['threshold'], 'alpha': config['alpha'],
                        }, indent=2, sort_keys=True))
