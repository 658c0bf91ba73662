"""The Galera cluster seen from one unit: peers, bootstrap, joining, recovery.

Leader settings (written by the leader only):
  ``bootstrapped``: ``<unit> <UTC time>`` once the leader bootstrapped the
  cluster (never cleared: from then on a stopped node joins, it never
  bootstraps on its own).
  ``recover-from``: JSON ``{"unit", "token"}`` set by ``recover-cluster``:
  that unit bootstraps from its own data once.

Peer application bag (``cluster`` relation, the leader writes it):
  ``credentials-secret`` (:mod:`credentials`), ``shared-db-users``
  (:mod:`shared_db`).

Peer unit bag (``cluster`` relation, every unit writes its own):
  ``galera-state``: JSON ``{"running": bool, "uuid", "seqno": int,
  "safe": bool}``, this node's grastate.dat (seqno recovered with
  ``galera_recovery`` when the file says -1), written in every full hook
  and by ``cluster-status``; ``recover-cluster`` reads it.
"""

import json
import os
import re
import socket
import subprocess
import time

from charmhelpers.core import hookenv, host, unitdata
from charms.reactive import endpoint_from_name

from charms.layer.galera import paths

PEER_ENDPOINT = 'cluster'
STATE_KEY = 'galera-state'
GALERA_PORT = 4567
BOOTSTRAP_TIMEOUT = 300
# unitdata: the recovered position of a stopped node, keyed by grastate.dat's mtime.
RECOVERED_KEY = 'galera.recovered'
# unitdata: the recover-from token this unit already acted on.
RECOVERED_TOKEN_KEY = 'galera.recover-token'


def address():
    """This unit's address (what peers and consumers reach)."""
    return hookenv.unit_private_ip()


def peers():
    """``{unit name: address}`` of the other units on the peer relation."""
    endpoint = endpoint_from_name(PEER_ENDPOINT)
    found = {}
    for unit in endpoint.all_joined_units if endpoint else []:
        data = unit.received_raw
        addr = data.get('ingress-address') or data.get('private-address')
        if addr:
            found[unit.unit_name] = addr
    return found


def peer_states():
    """``{unit name: galera-state dict}`` as the peers last published them."""
    endpoint = endpoint_from_name(PEER_ENDPOINT)
    found = {}
    for unit in endpoint.all_joined_units if endpoint else []:
        try:
            state = json.loads(unit.received_raw.get(STATE_KEY) or 'null')
        except ValueError:
            state = None
        if isinstance(state, dict):
            found[unit.unit_name] = state
    return found


def cluster_addresses():
    """Every unit's address, this one's included, sorted (wsrep_cluster_address)."""
    return sorted(set(peers().values()) | {address()})


def bootstrapped():
    return bool(hookenv.leader_get('bootstrapped'))


def running():
    return host.service_running(paths.SERVICE)


def read_grastate(text):
    """``{"uuid", "seqno", "safe"}`` from grastate.dat's text."""
    fields = dict(re.findall(r'^\s*([a-z_]+):\s*(\S*)\s*$', text, re.M))
    try:
        seqno = int(fields.get('seqno', '-1'))
    except ValueError:
        seqno = -1
    return {'uuid': fields.get('uuid', ''), 'seqno': seqno,
            'safe': fields.get('safe_to_bootstrap') == '1'}


def grastate():
    """This node's saved state; seqno -1 is recovered from the data when stopped."""
    try:
        with open(paths.GRASTATE) as f:
            state = read_grastate(f.read())
        mtime = int(os.stat(paths.GRASTATE).st_mtime)
    except OSError:
        return {'uuid': '', 'seqno': -1, 'safe': False}
    if state['seqno'] == -1 and state['uuid'] and not running():
        state['seqno'] = recovered_seqno(state['uuid'], mtime)
    return state


def recovered_seqno(uuid, mtime):
    """The last committed seqno from ``galera_recovery`` (once per stop; -1 if it fails)."""
    kv = unitdata.kv()
    cached = kv.get(RECOVERED_KEY) or {}
    if cached.get('mtime') == mtime and cached.get('uuid') == uuid:
        return cached['seqno']
    seqno = -1
    try:
        out = subprocess.run([paths.RECOVERY], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             universal_newlines=True, timeout=120).stdout
        found = re.search(r'--wsrep[-_]start[-_]position=([0-9a-f-]+):(-?\d+)', out)
        if found and found.group(1) == uuid:
            seqno = int(found.group(2))
    except (OSError, subprocess.TimeoutExpired):
        pass
    kv.set(RECOVERED_KEY, {'mtime': mtime, 'uuid': uuid, 'seqno': seqno})
    return seqno


def local_state():
    """What this unit publishes as ``galera-state``."""
    return dict(grastate(), running=running())


def publish_state():
    """Write this node's state into its peer bag (if there is a peer relation).

    Written with ``relation-set`` at once, not through the Endpoint (whose
    data is flushed when a hook ends): ``cluster-status`` publishes from an
    action, which has no hook end.
    """
    rids = hookenv.relation_ids(PEER_ENDPOINT)
    if not rids:
        return None
    state = local_state()
    value = json.dumps(state, sort_keys=True)
    for rid in rids:
        if hookenv.relation_get(STATE_KEY, unit=hookenv.local_unit(), rid=rid) != value:
            hookenv.relation_set(relation_id=rid, relation_settings={STATE_KEY: value})
    return state


def any_peer_up(timeout=1.0):
    """True when some peer's Galera port answers (a cluster is there to join)."""
    for addr in peers().values():
        try:
            with socket.create_connection((addr, GALERA_PORT), timeout=timeout):
                return True
        except OSError:
            continue
    return False


def choose_bootstrap(states):
    """The unit to bootstrap a fully stopped cluster from.

    The one marked safe_to_bootstrap, else the highest seqno; ties go to the
    first unit by name.

    :param states: ``{unit: {"seqno", "safe", ...}}``
    :returns: unit name or None (no usable state: every seqno -1, none safe)
    """
    safe = sorted(u for u, s in states.items() if s.get('safe'))
    if safe:
        return safe[0]
    best = max((s.get('seqno', -1) for s in states.values()), default=-1)
    if best < 0:
        return None
    return sorted(u for u, s in states.items() if s.get('seqno') == best)[0]


def mark_safe_to_bootstrap():
    """Set safe_to_bootstrap: 1 in grastate.dat (this node was chosen to bootstrap)."""
    with open(paths.GRASTATE) as f:
        text = f.read()
    text = re.sub(r'^safe_to_bootstrap:.*$', 'safe_to_bootstrap: 1', text, flags=re.M)
    with open(paths.GRASTATE, 'w') as f:
        f.write(text)


def bootstrap_new_cluster():
    """Start this node as a new cluster's first member (``galera_new_cluster``)."""
    hookenv.log('Bootstrapping the Galera cluster from this node', level=hookenv.INFO)
    subprocess.check_call([paths.NEW_CLUSTER], timeout=BOOTSTRAP_TIMEOUT)


def mark_bootstrapped():
    hookenv.leader_set({'bootstrapped': '{} {}'.format(
        hookenv.local_unit(), time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))})


def recover_request():
    """The pending ``recover-from`` request for this unit, or None."""
    try:
        request = json.loads(hookenv.leader_get('recover-from') or 'null')
    except ValueError:
        return None
    if not isinstance(request, dict) or request.get('unit') != hookenv.local_unit():
        return None
    if unitdata.kv().get(RECOVERED_TOKEN_KEY) == request.get('token'):
        return None
    return request


def recover_here(token):
    """Bootstrap from this node's data after a full stop (recover-cluster chose it)."""
    unitdata.kv().set(RECOVERED_TOKEN_KEY, token)
    mark_safe_to_bootstrap()
    bootstrap_new_cluster()


# Written this hook (relation-get answers are cached per hook by charmhelpers).
_app_written = {}


def app_get(key):
    """A key of the application's bag on the peer relation ('' when unset or no relation).

    The leader keeps here what must reach the other units together with the
    secret content it goes with: relation data and secret changes are both
    committed when the leader's hook ends, where leader settings are
    written at once (a unit saw a new user before its password, and the
    secret's URI before the secret).
    """
    if key in _app_written:
        return _app_written[key]
    rids = hookenv.relation_ids(PEER_ENDPOINT)
    if not rids:
        return ''
    return hookenv.relation_get(key, app=hookenv.application_name(), rid=rids[0]) or ''


def app_set(key, value):
    """Leader: set a key of the application's peer bag; False without a peer relation."""
    rids = hookenv.relation_ids(PEER_ENDPOINT)
    if not rids:
        return False
    hookenv.relation_set(relation_id=rids[0], relation_settings={key: value}, app=True)
    _app_written[key] = value
    return True
