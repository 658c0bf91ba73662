"""SQL through the mariadb client as root on the local socket (unix_socket auth).

Statements go on stdin, never argv (``ps`` shows argv) nor the log: some set
passwords.  Names in them are checked by the interface layer (letters,
digits, ``_``) and passwords are made by :mod:`credentials` (URL-safe
characters), so quoting them in ``'...'`` and backticks is safe.
"""

import subprocess

from charms.layer.galera import paths

TIMEOUT = 30


class Error(Exception):
    """The client failed; the message is its stderr (MariaDB's error, no statement)."""


def run(sql, timeout=TIMEOUT):
    """Run ``sql`` (one or more statements); the rows as lists of strings."""
    try:
        proc = subprocess.run([paths.MARIADB, '--batch', '--skip-column-names',
                               '--connect-timeout=5'], input=sql, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True,
                              timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Error(str(e)) from None
    if proc.returncode:
        raise Error(proc.stderr.strip() or 'mariadb exited {}'.format(proc.returncode))
    return [line.split('\t') for line in proc.stdout.splitlines()]


def status(names):
    """``{name: value}`` of global status variables (``wsrep_...``)."""
    wanted = ', '.join("'{}'".format(n) for n in names)
    rows = run('SHOW GLOBAL STATUS WHERE Variable_name IN ({});'.format(wanted))
    return {row[0]: row[1] if len(row) > 1 else '' for row in rows}


def wsrep_status():
    """The node's wsrep state, or ``{}`` when the server does not answer."""
    try:
        return status(['wsrep_cluster_size', 'wsrep_cluster_status', 'wsrep_ready',
                       'wsrep_local_state_comment', 'wsrep_connected',
                       'wsrep_incoming_addresses', 'wsrep_cluster_state_uuid',
                       'wsrep_last_committed'])
    except Error:
        return {}


def synced():
    """True when the node is Synced and ready (the restart health gate's test)."""
    state = wsrep_status()
    return state.get('wsrep_local_state_comment') == 'Synced' and \
        state.get('wsrep_ready') == 'ON'


def setup_admin(root_password, sst_user, sst_password):
    """On the bootstrapped node: the SST user and root's password (replicated)."""
    run("CREATE USER IF NOT EXISTS '{u}'@'localhost' IDENTIFIED BY '{p}';\n"
        "ALTER USER '{u}'@'localhost' IDENTIFIED BY '{p}';\n"
        "GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR, REPLICA MONITOR ON *.* "
        "TO '{u}'@'localhost';\n"
        "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password "
        "USING PASSWORD('{r}');\n".format(u=sst_user, p=sst_password, r=root_password))


def grant(database, username, hosts, password):
    """The database, and the user at each host with every right on it (idempotent)."""
    sql = ['CREATE DATABASE IF NOT EXISTS `{}`;'.format(database)]
    for host in hosts:
        sql += ["CREATE USER IF NOT EXISTS '{}'@'{}' IDENTIFIED BY '{}';".format(
                    username, host, password),
                "ALTER USER '{}'@'{}' IDENTIFIED BY '{}';".format(username, host, password),
                "GRANT ALL PRIVILEGES ON `{}`.* TO '{}'@'{}';".format(database, username, host)]
    run('\n'.join(sql) + '\n')
