"""``benchmark-db``: sysbench OLTP read/write against this node or the VIP, as a benchmark run.

The run connects over TCP as the benchmark user ``stackyard_bench``, which has
every right on the database ``stackyard_bench`` and nothing else.  The leader
makes both once its node is Synced (:func:`ensure_user`); the password is in
the application's credentials secret (the content key of a user named
``stackyard_bench``, see :mod:`credentials`) and reaches sysbench in a 0600
``--config-file``: never argv (``ps`` shows it), the log or the results.

``host`` is where sysbench connects: ``local`` (this node's address), ``vip``
(the ``vip`` option: hacluster's address, served by whichever node holds it),
or one of those two addresses written out; any other address is refused (this
action measures this cluster, not a way into other servers).  sysbench's
``cleanup`` drops the tables before the run (a kept run's) and after it unless
``keep-tables``, through the same connection as the run: a statement on this
node's socket reaches the VIP's holder a moment later, and sysbench there
failed with ``Unknown database`` after a DROP and CREATE DATABASE here
(seen in the model test).  Registered with ``benchmark.register``; galera has no
benchmark relation, so collectors' suites do not run it (the password is read
with ``secret-get``, which needs an action).
"""

import ipaddress
import os
import re
import shutil
import socket
import subprocess
import tempfile

from charmhelpers.core import hookenv

from charms.layer import benchmark
from charms.layer.stackyard import actions, options
from charms.layer.galera import cluster, credentials, db

USER = DATABASE = 'stackyard_bench'
# The client is a galera unit, reaching its own node or the VIP's holder: its source
# address can be any unit's or the VIP itself.  The user can touch only its database.
USER_HOSTS = ('%',)
# Peer application bag: set by the leader once the user exists (checked in every leader hook).
MADE_KEY = 'bench-user'
PORT = 3306
SYSBENCH = 'sysbench'
LIMITS = {'duration': (5, 600), 'threads': (1, 64), 'tables': (1, 16),
          'table-size': (100, 1000000)}
PREPARE_TIMEOUT = 900


def ensure_user():
    """Leader: the benchmark database and user exist, the password in the secret.

    Once: the peer bag's ``bench-user`` says it was done.  Only on a Synced node
    (the statements replicate from it).  :returns: True when made in this call.
    """
    if cluster.app_get(MADE_KEY) or not cluster.bootstrapped() or not cluster.running() or \
            not db.synced():
        return False
    content = credentials.ensure()
    if not content:
        return False
    content = credentials.add_users(content, [USER])
    db.grant(DATABASE, USER, USER_HOSTS, content[credentials.user_key(USER)])
    cluster.app_set(MADE_KEY, 'made')
    hookenv.log('benchmark-db: made the database and user {}'.format(USER), level=hookenv.INFO)
    return True


def target(host, node, vip):
    """``(kind, address)`` for the ``host`` param; :class:`benchmark.Invalid` names ``host``.

    :param node: this unit's address
    :param vip: the ``vip`` option ('' when unset)
    """
    choices = "local, vip, this node's address ({}){}".format(
        node, ' or the vip ({})'.format(vip) if vip else '')
    if not isinstance(host, str) or not host.strip():
        raise benchmark.Invalid('host must be one of {}, not {!r}'.format(choices, host))
    host = host.strip()
    if host in ('local', node):
        return 'local', node
    if host == 'vip' or (vip and host == vip):
        if not vip:
            raise benchmark.Invalid('host=vip: the vip option is not set')
        return 'vip', vip
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise benchmark.Invalid('host must be one of {}, not {!r}'.format(
            choices, host)) from None
    raise benchmark.Invalid('host {} is neither this node nor the configured vip: '
                            'it must be one of {}'.format(host, choices))


def db_params(params, node, vip):
    """The checked params: the numbers, ``host`` as ``(kind, address)``, ``keep-tables``."""
    out = {key: benchmark.whole(params, key, low, high) for key, (low, high) in LIMITS.items()}
    out['host'] = target(params.get('host', 'local'), node, vip)
    keep = params.get('keep-tables', False)
    if not isinstance(keep, bool):
        raise benchmark.Invalid('keep-tables must be true or false, not {!r}'.format(keep))
    out['keep-tables'] = keep
    return out


def parse(output):
    """``{"tps", "qps", "latency-avg", "latency-p95"}`` from sysbench's run output."""
    found = {}
    for key, pattern in (('tps', r'transactions:\s+\d+\s+\(([\d.]+) per sec'),
                         ('qps', r'queries:\s+\d+\s+\(([\d.]+) per sec'),
                         ('latency-avg', r'avg:\s+([\d.]+)'),
                         ('latency-p95', r'95th percentile:\s+([\d.]+)')):
        match = re.search(pattern, output)
        if match:
            found[key] = float(match.group(1))
    return found


def write_config(folder, address, password):
    """sysbench's ``--config-file`` (0600): where to connect, as whom, with which password."""
    path = os.path.join(folder, 'sysbench.cfg')
    lines = ['db-driver=mysql', 'mysql-host=' + address, 'mysql-port={}'.format(PORT),
             'mysql-user=' + USER, 'mysql-password=' + password, 'mysql-db=' + DATABASE]
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def sysbench(config, args, timeout, password):
    """sysbench oltp_read_write with ``config``; its output.  Errors never show ``password``."""
    argv = [SYSBENCH, '--config-file=' + config, 'oltp_read_write'] + list(args)
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise actions.ActionFailed('sysbench {} did not finish in {} s'.format(
            args[-1], timeout)) from None
    if proc.returncode:
        lines = [line for line in proc.stdout.splitlines() if line.strip()]
        tail = ' / '.join(lines[-2:]) or 'exit {}'.format(proc.returncode)
        raise actions.ActionFailed('sysbench {} failed: {}'.format(
            args[-1], tail.replace(password, '***')))
    return proc.stdout


def cleanup(config, password, timeout=PREPARE_TIMEOUT):
    """sysbench ``cleanup`` of as many tables as a run may make (a kept run's too)."""
    sysbench(config, ['--tables={}'.format(LIMITS['tables'][1]), 'cleanup'], timeout, password)


def answers(address, timeout=5):
    """True when something accepts a TCP connection on ``address``:3306."""
    try:
        with socket.create_connection((address, PORT), timeout=timeout):
            return True
    except OSError:
        return False


def password():
    """The benchmark user's password; ActionFailed until the leader made the user."""
    try:
        content = credentials.read() if cluster.app_get(MADE_KEY) else {}
    except credentials.Unreadable as e:
        raise actions.ActionFailed(str(e)) from None
    found = content.get(credentials.user_key(USER))
    if not found:
        raise actions.ActionFailed('the benchmark user {} is not made yet: the leader makes '
                                   'it once its node is Synced'.format(USER))
    return found


def db_context():
    """What only an action can read: this unit's address and the vip option."""
    return {'node': cluster.address(), 'vip': (options.config().get('vip') or '').strip()}


def run_metrics(p, found):
    """The finished run of sysbench's figures ``found``."""
    kind, address = p['host']
    params = dict(p, host=kind, address=address)
    run = benchmark.Run('sysbench-oltp', params)
    run.metric('transactions', found['tps'], 'tx/s', 'higher')
    run.metric('queries', found.get('qps', 0.0), 'queries/s', 'higher')
    run.metric('latency-avg', found.get('latency-avg', 0.0), 'ms', 'lower')
    run.metric('latency-p95', found.get('latency-p95', 0.0), 'ms', 'lower')
    run.composite(found['tps'], 'tx/s', 'higher')
    return run.finish()


@benchmark.register('benchmark-db', context=db_context)
def measure_db(params, node, vip):
    """Drop the tables, prepare, run for ``duration`` seconds, drop them again."""
    p = db_params(params, node, vip)
    kind, address = p['host']
    if not cluster.running():
        raise actions.ActionFailed('MariaDB is not running on this unit')
    secret = password()
    if not answers(address):
        raise actions.ActionFailed('host={}: nothing answers on {}:{}{}'.format(
            kind, address, PORT, ' (is hacluster related and running the vip?)'
            if kind == 'vip' else ''))
    benchmark.ensure_command(SYSBENCH, 'sysbench')
    folder = tempfile.mkdtemp(prefix='galera-bench-')
    try:
        config = write_config(folder, address, secret)
        out = prepare_and_run(config, secret, p)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    found = parse(out)
    if 'tps' not in found:
        raise actions.ActionFailed('no transactions/s in sysbench output')
    return run_metrics(p, found)


def prepare_and_run(config, secret, p):
    """cleanup, prepare, run, cleanup (unless ``keep-tables``); the run's output.

    After a failed step the tables are still dropped when possible, and the
    step's error is what the action reports.
    """
    shape = ['--tables={}'.format(p['tables']), '--table-size={}'.format(p['table-size'])]
    cleanup(config, secret)
    try:
        sysbench(config, shape + ['prepare'], PREPARE_TIMEOUT, secret)
        out = sysbench(config, shape + ['--threads={}'.format(p['threads']),
                                        '--time={}'.format(p['duration']), 'run'],
                       p['duration'] + 120, secret)
    except actions.ActionFailed:
        if not p['keep-tables']:
            try:
                cleanup(config, secret)
            except actions.ActionFailed as e:
                hookenv.log('benchmark-db: {}'.format(e), level=hookenv.WARNING)
        raise
    if not p['keep-tables']:
        cleanup(config, secret)
    return out
