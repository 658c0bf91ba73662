"""galera's actions: ``cluster-status``, ``recover-cluster``, ``backup``.

Results never hold a password (the backup authenticates as root over the
local socket).
"""

import json
import os
import secrets
import subprocess
import time

from charmhelpers.core import hookenv

from charms.layer.stackyard import actions
from charms.layer.galera import cluster, db, paths


@actions.action('cluster-status')
def cluster_status(params):
    """This node's wsrep status and saved state; publishes the state to the peers."""
    state = cluster.publish_state() or cluster.local_state()
    wsrep = db.wsrep_status() if state['running'] else {}
    result = {'running': str(state['running']).lower(), 'uuid': state['uuid'],
              'seqno': str(state['seqno']), 'safe-to-bootstrap': str(state['safe']).lower(),
              'bootstrapped': hookenv.leader_get('bootstrapped') or ''}
    for key, value in wsrep.items():
        result[key.replace('_', '-')] = value
    peers = cluster.peer_states()
    result['peers'] = json.dumps(peers, sort_keys=True)
    return result


def _states():
    """Every unit's published state, this one's read now."""
    states = cluster.peer_states()
    states[hookenv.local_unit()] = cluster.local_state()
    return states


@actions.action('recover-cluster')
def recover_cluster(params):
    """Leader: bootstrap a fully stopped cluster from the most advanced node."""
    if not hookenv.is_leader():
        raise actions.ActionFailed('run recover-cluster on the leader')
    states = _states()
    unknown = sorted(set(cluster.peers()) - set(states))
    up = sorted(u for u, s in states.items() if s.get('running'))
    if (unknown or up) and not params.get('force'):
        raise actions.ActionFailed(
            'not every node is known to be stopped (running: {}; no state reported: {}); '
            'run cluster-status on them, or force=true'.format(
                ', '.join(up) or 'none', ', '.join(unknown) or 'none'))
    chosen = cluster.choose_bootstrap({u: s for u, s in states.items() if not s['running']})
    if chosen is None:
        raise actions.ActionFailed('no node has a usable seqno or safe_to_bootstrap: '
                                   '{}'.format(json.dumps(states, sort_keys=True)))
    token = secrets.token_hex(8)
    if chosen == hookenv.local_unit():
        # Up before the others hear of it, so their hooks find a member to join.
        cluster.recover_here(token)
        cluster.publish_state()
    hookenv.leader_set({'recover-from': json.dumps({'unit': chosen, 'token': token})})
    return {'bootstrap-unit': chosen, 'seqno': str(states[chosen]['seqno']),
            'states': json.dumps(states, sort_keys=True),
            'message': '{} bootstraps the cluster; the other nodes rejoin in their next '
                       'hooks'.format(chosen)}


def _size(folder):
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


@actions.action('backup')
def backup(params):
    """A full mariabackup of this node, prepared, in a new 0700 folder under ``path``."""
    base = params.get('path') or '/var/backups/galera'
    timeout = int(params.get('timeout') or 600)
    if not os.path.isabs(base):
        raise actions.ActionFailed('path {!r} is not absolute'.format(base))
    if not cluster.running():
        raise actions.ActionFailed('MariaDB is not running on this unit')
    os.makedirs(base, mode=0o700, exist_ok=True)
    target = os.path.join(base, time.strftime('galera-%Y%m%dT%H%M%SZ', time.gmtime()))
    started = time.monotonic()
    for step in (['--backup', '--galera-info', '--target-dir=' + target, '--user=root'],
                 ['--prepare', '--target-dir=' + target]):
        try:
            proc = subprocess.run([paths.MARIABACKUP] + step, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, universal_newlines=True,
                                  timeout=max(1, timeout - (time.monotonic() - started)))
        except subprocess.TimeoutExpired:
            raise actions.ActionFailed('mariabackup {} did not finish in {} s'.format(
                step[0], timeout)) from None
        if proc.returncode:
            tail = proc.stdout.strip().splitlines()[-1:] or ['exit {}'.format(proc.returncode)]
            raise actions.ActionFailed('mariabackup {} failed: {}'.format(step[0], tail[0]))
    os.chmod(target, 0o700)
    seconds = time.monotonic() - started
    size = _size(target)
    message = 'Backup of {:.1f} MiB in {} in {:.1f} s'.format(size / 2**20, target, seconds)
    return {'path': target, 'size-bytes': str(size), 'seconds': '{:.1f}'.format(seconds),
            'message': message}
