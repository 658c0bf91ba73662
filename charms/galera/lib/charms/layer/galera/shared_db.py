"""shared-db: a database and user per consumer, made by the leader, answered by every unit.

The peer relation's application bag key ``shared-db-users`` (JSON, no
passwords; committed with the secret's new passwords) is the registry:
``{username: {"app": application, "grants": {database: [host, ...]}}}``.
A user belongs to the application that first asked for it, and so do its
databases: another application asking for either is refused (logged once
per hook) and nothing is created for it.  Passwords are in the
application's secret (:mod:`credentials`).
"""

import json

from charmhelpers.core import hookenv

from charms.layer.galera import cluster, credentials, db, ha

REGISTRY_KEY = 'shared-db-users'
# Database and user names the charm uses itself (benchmark-db's, see bench.py).
RESERVED = frozenset({'stackyard_bench'})
# unitdata: the ownership conflicts logged already.
CONFLICTS_KEY = 'galera.shared-db.conflicts'


def registry():
    try:
        found = json.loads(cluster.app_get(REGISTRY_KEY) or '{}')
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def conflict(request, users):
    """Why ``request`` clashes with what other applications own, or None."""
    app, user, database = request['application'], request['username'], request['database']
    if database.lower() in RESERVED:
        return 'database {} is the charm\'s own (asked for by {})'.format(database, app)
    if user.lower() in RESERVED:
        return 'user {} is the charm\'s own (asked for by {})'.format(user, app)
    owner = users.get(user)
    if owner and owner['app'] != app:
        return 'user {} of {} is asked for by {}'.format(user, owner['app'], app)
    for name, entry in users.items():
        if entry['app'] != app and database in entry['grants']:
            return 'database {} of {} is asked for by {}'.format(database, entry['app'], app)
    return None


def accept(requests, users):
    """``(requests that clash with no other application, [why each other is refused])``."""
    accepted, problems = [], []
    for request in requests:
        problem = conflict(request, users)
        if problem:
            problems.append(problem)
        else:
            accepted.append(request)
    return accepted, problems


def missing_grants(request, users):
    """Hosts of ``request`` not yet granted its database."""
    entry = users.get(request['username']) or {}
    granted = set((entry.get('grants') or {}).get(request['database'], []))
    return sorted(set(request['hostnames']) - granted)


def serve(endpoint):
    """Leader: create every accepted request's database and user; record them.

    Runs only on a node that is Synced (the statements replicate from it).
    """
    if not cluster.running() or not db.synced():
        return
    users = registry()
    accepted, problems = accept(endpoint.requests(), users)
    endpoint.log_refused(problems, CONFLICTS_KEY)
    todo = [(r, missing_grants(r, users)) for r in accepted]
    todo = [(r, hosts) for r, hosts in todo if hosts]
    if not todo:
        return
    secret = credentials.add_users(credentials.ensure(), sorted({r['username'] for r, _ in todo}))
    for request, hosts in todo:
        user = request['username']
        db.grant(request['database'], user, hosts, secret[credentials.user_key(user)])
        entry = users.setdefault(user, {'app': request['application'], 'grants': {}})
        entry['grants'][request['database']] = sorted(
            set(entry['grants'].get(request['database'], [])) | set(hosts))
        hookenv.log('shared-db: granted {} on {} at {} host(s) for {}'.format(
            user, request['database'], len(hosts), request['application']), level=hookenv.INFO)
    cluster.app_set(REGISTRY_KEY, json.dumps(users, sort_keys=True))


def answers(requests, users, secret):
    """``{relation_id: {prefix: {"password", "allowed_units"}}}`` for granted requests."""
    found = {}
    for request in requests:
        found.setdefault(request['relation_id'], {})
        entry = users.get(request['username'])
        password = secret.get(credentials.user_key(request['username']))
        if not entry or entry['app'] != request['application'] or not password or \
                missing_grants(request, users):
            continue
        found[request['relation_id']][request['prefix']] = {
            'password': password, 'allowed_units': request['units']}
    return found


def db_host():
    """What consumers connect to: the VIP while hacluster runs it, or this unit's address.

    With a ``vip`` set: the VIP while this unit's hacluster or a live peer's
    reports it running (:func:`ha.vip_running`), else None: nothing is
    answered (a consumer never sees a unit address first, nor a VIP that
    runs nowhere).
    """
    from charms.reactive import is_flag_set
    from charms.layer.stackyard import options
    vip = (options.config().get('vip') or '').strip()
    if not vip:
        return cluster.address()
    if not hookenv.relation_ids('ha'):
        return None
    return vip if ha.vip_running(vip, is_flag_set('ha.clustered')) else None


def publish(endpoint):
    """Every unit: answer each relation's granted requests (the same answer everywhere)."""
    users = registry()
    secret = credentials.read() if users else {}
    host = db_host()
    for relation_id, answer in answers(endpoint.requests(), users, secret).items():
        endpoint.publish(relation_id, host, 3306, answer if host else {})
