"""stackyard-probe's shared-db side: what to ask for, and a write/read round trip."""

import re
import secrets

_NAME = re.compile(r'^[A-Za-z0-9_]{1,32}$')
_PREFIX = re.compile(r'^[A-Za-z0-9]{1,32}$')
TABLE = 'stackyard_probe'


def wanted(config):
    """``([(prefix or None, database, username)], problem or None)`` from the options.

    ``database`` and ``database-user`` make the unprefixed request; each name
    in ``extra-databases`` makes a prefixed one (prefix, database and user
    all that name), as a consumer with several databases does.
    """
    database, user = config.get('database') or '', config.get('database-user') or ''
    for option, value in (('database', database), ('database-user', user)):
        if not _NAME.match(value):
            return [], '{} {!r} must be 1-32 letters, digits or _'.format(option, value)
    extra = (config.get('extra-databases') or '').split()
    for name in extra:
        if not _PREFIX.match(name):
            return [], 'extra-databases: {!r} must be 1-32 letters or digits'.format(name)
    return [(None, database, user)] + [(name, name, name) for name in extra], None


def round_trip(creds, database, username, unit, timeout):
    """Write a row through ``creds["db_host"]`` and read it back.

    :returns: ``(ok, text)``; ``text`` never holds the password
    """
    import pymysql   # here: only hooks with a database answer need it
    token = secrets.token_hex(8)
    try:
        conn = pymysql.connect(host=creds['db_host'], port=creds['db_port'], user=username,
                               password=creds['password'], database=database,
                               connect_timeout=timeout, read_timeout=timeout,
                               write_timeout=timeout, autocommit=True)
    except pymysql.MySQLError as e:
        return False, '{}: {}'.format(creds['db_host'], _reason(e))
    try:
        with conn.cursor() as cur:
            cur.execute('CREATE TABLE IF NOT EXISTS {} (id INT AUTO_INCREMENT PRIMARY KEY, '
                        'unit VARCHAR(64) NOT NULL, token CHAR(16) NOT NULL)'.format(TABLE))
            cur.execute('INSERT INTO {} (unit, token) VALUES (%s, %s)'.format(TABLE),
                        (unit, token))
            cur.execute('SELECT token FROM {} WHERE token = %s'.format(TABLE), (token,))
            row = cur.fetchone()
            cur.execute('SELECT COUNT(*) FROM {}'.format(TABLE))
            count = cur.fetchone()[0]
    except pymysql.MySQLError as e:
        return False, '{}: {}'.format(creds['db_host'], _reason(e))
    finally:
        conn.close()
    if not row or row[0] != token:
        return False, '{}: the row written was not read back'.format(creds['db_host'])
    return True, 'round trip via {} ({} rows)'.format(creds['db_host'], count)


def _reason(error):
    args = getattr(error, 'args', ())
    return str(args[1]) if len(args) > 1 else str(error)


def summarise(results):
    """Status for ``[(database, ok, text)]`` round trips."""
    if not results:
        return 'waiting', 'shared-db: waiting for the database server to answer'
    bad = [r for r in results if not r[1]]
    if bad:
        return 'blocked', 'shared-db: {} failed ({})'.format(bad[0][0], bad[0][2])
    return 'active', 'shared-db: {} {}'.format(
        ', '.join(r[0] for r in results), results[0][2])
