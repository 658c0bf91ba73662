"""The uniter's resolver: (local state, remote state) -> next operation.

Pure functions, no I/O.  Follows juju-semantics.md section 2: the priority of
2.1, the setup sequence of 2.2, the per-relation algorithm of 2.3, teardown of
2.6 and the commit rules.  Being level-triggered, it coalesces: whatever
changed while a unit was busy produces one hook for the latest version.
"""

import dataclasses
from typing import Optional

from yard.model import LocalState, Op, RelLocal, RemoteState


def _hook(name: str, **kw) -> Op:
    return Op(kind="hook", hook=name, **kw)


_WAIT = Op(kind="wait")


def next_op(local: LocalState, remote: RemoteState) -> Optional[Op]:
    """The single next operation for a unit, or None when it is idle."""
    if local.removed:
        return None
    if local.error is not None:
        return _in_error(local, remote)
    if local.queued:  # Juju's "queued" step: nothing pre-empts the follow-up hook
        version = remote.config_version if local.queued == "config-changed" else None
        return _hook(local.queued, version=version)
    op = _created_or_leadership(local, remote) or _task(remote) or _storage(local, remote)
    if op is _WAIT:
        return None
    return op or _main(local, remote)


def _created_or_leadership(local: LocalState, remote: RemoteState) -> Optional[Op]:
    if not (local.installed and remote.alive):
        return None
    op = _relation_created(local, remote)
    if op:
        return op
    if remote.leader_pending and not remote.leader and local.leader_settings_version is None:
        # A new minion waits for the leader's leader-elected (a slower agent in Juju
        # would see the same), so setup runs one leader-settings-changed.
        return _task(remote) or _WAIT
    return _leadership(local, remote)


def _main(local: LocalState, remote: RemoteState) -> Optional[Op]:
    """Step 11 of section 2.1: teardown, install, upgrade, config, relations, update-status."""
    if not remote.alive:
        return _teardown(local, remote)
    if not local.installed:
        return _hook("install", version=remote.charm_modified_version)
    if local.charm_modified_version != remote.charm_modified_version:
        return _hook("upgrade-charm", version=remote.charm_modified_version)
    if local.config_version != remote.config_version:
        return _hook("config-changed", version=remote.config_version)
    op = _relations(local, remote) or _secrets(remote)
    if op:
        return op
    if local.started and remote.update_status_due:
        return _hook("update-status")
    return None


def _secrets(remote: RemoteState) -> Optional[Op]:
    """Juju's secrets resolver (``worker/uniter/secrets/resolver.go``): expired, rotate,
    changed, then remove; only for an installed, living unit with nothing else to do."""
    for uri, rev in remote.secrets_expired:
        return _hook("secret-expired", secret_uri=uri, secret_revision=rev)
    for uri in remote.secrets_rotate:
        return _hook("secret-rotate", secret_uri=uri)
    for uri in remote.secrets_changed:
        return _hook("secret-changed", secret_uri=uri)
    for uri, rev in remote.secrets_obsolete:
        return _hook("secret-remove", secret_uri=uri, secret_revision=rev)
    return None


def _storage(local: LocalState, remote: RemoteState) -> Optional[Op]:
    """Juju's storage resolver (juju-semantics-more.md 1.3).

    It ranks above the main step: a dying attachment (or any attachment of a
    dying unit) whose attached hook ran gets ``<name>-storage-detaching``
    before departed/broken and ``stop``; a provisioned attachment gets
    ``<name>-storage-attached``; and ``install`` waits until every attachment
    present before it is provisioned and its attached hook committed.
    """
    for sid in sorted(local.storage):
        if not remote.alive or remote.storage.get(sid, "dying") == "dying":
            return _hook(f"{sid.split('/')[0]}-storage-detaching", storage_id=sid)
    if not remote.alive:
        return None
    for sid in sorted(remote.storage, key=_storage_order):
        if remote.storage[sid] == "attached" and sid not in local.storage:
            return _hook(f"{sid.split('/')[0]}-storage-attached", storage_id=sid)
    if not local.installed and "pending" in remote.storage.values():
        return _WAIT
    return None


def _storage_order(sid: str):
    """``data/2`` before ``data/10`` (Juju uses map order; yard picks a stable one)."""
    name, n = sid.split("/")
    return (name, int(n))


def _task(remote: RemoteState) -> Optional[Op]:
    if remote.actions:
        return Op(kind="action", task_id=remote.actions[0])
    if remote.execs:
        return Op(kind="exec", hook="juju-exec", task_id=remote.execs[0])
    return None


def _in_error(local: LocalState, remote: RemoteState) -> Optional[Op]:
    if remote.actions:
        return Op(kind="action", task_id=remote.actions[0])
    if remote.execs:
        return Op(kind="exec", hook="juju-exec", task_id=remote.execs[0])
    if remote.resolved == "no-retry":
        return dataclasses.replace(_refresh(local.error, remote), skip=True)
    if remote.resolved == "retry" or remote.retry_due:
        return _refresh(local.error, remote)
    return None


def _refresh(op: Op, remote: RemoteState) -> Op:
    """A retried hook runs for the latest remote version (changes coalesce)."""
    if op.hook == "config-changed":
        return dataclasses.replace(op, version=remote.config_version)
    if op.hook == "leader-settings-changed":
        return dataclasses.replace(op, version=remote.leader_settings_version)
    rr = remote.relations.get(op.relation_id) if op.relation_id is not None else None
    if rr is not None and op.hook.endswith(("-relation-changed", "-relation-joined")):
        if op.remote_unit and op.remote_unit in rr.members:
            return dataclasses.replace(op, version=rr.members[op.remote_unit])
        if not op.remote_unit and rr.app_version:
            return dataclasses.replace(op, version=rr.app_version)
    return op


def _relation_created(local: LocalState, remote: RemoteState) -> Optional[Op]:
    for rid in sorted(remote.relations):
        rr = remote.relations[rid]
        rl = local.relations.get(rid)
        if rr.alive and (rl is None or not rl.created):
            return _hook(f"{rr.endpoint}-relation-created", relation_id=rid,
                         endpoint=rr.endpoint, remote_app=rr.remote_app, peer=rr.peer)
    return None


def _leadership(local: LocalState, remote: RemoteState) -> Optional[Op]:
    if remote.leader and not local.leader:
        return _hook("leader-elected")
    if not remote.leader and local.leader:
        return Op(kind="local", hook="resign")
    if not remote.leader and local.leader_settings_version != remote.leader_settings_version:
        return _hook("leader-settings-changed", version=remote.leader_settings_version)
    return None


def _rel_hook(kind: str, rid: int, rl: RelLocal, **kw) -> Op:
    return _hook(f"{rl.endpoint}-relation-{kind}", relation_id=rid, endpoint=rl.endpoint,
                 remote_app=rl.remote_app, peer=rl.peer, **kw)


def _relations(local: LocalState, remote: RemoteState) -> Optional[Op]:
    for rid in sorted(local.relations):
        rl = local.relations[rid]
        if not rl.created:
            continue
        op = _one_relation(rid, rl, remote.relations.get(rid), remote.unit)
        if op:
            return op
    return None


def _one_relation(rid, rl, rr, unit) -> Optional[Op]:
    """Section 2.3: the first applicable hook for one relation id."""
    alive = rr is not None and rr.alive
    members = rr.members if alive else {}
    if rl.changed_pending is not None and rl.changed_pending in rl.members:
        u = rl.changed_pending
        return _rel_hook("changed", rid, rl, remote_unit=u, version=members.get(u, rl.members[u]))
    gone = rl.members.keys() - members.keys()
    if gone:
        u = min(gone)
        return _rel_hook("departed", rid, rl, remote_unit=u, departing_unit=u)
    if not alive:
        if rl.peer:
            return Op(kind="local", hook="forget", relation_id=rid)
        return _rel_hook("broken", rid, rl)
    if rr.app_version and rr.app_version != rl.app_version:
        return _rel_hook("changed", rid, rl, version=rr.app_version)
    return _joins_and_changes(rid, rl, members)


def _joins_and_changes(rid, rl, members) -> Optional[Op]:
    if members == rl.members:  # the usual case, decided without a loop over every member
        return None
    for u in sorted(members):
        if u not in rl.members:
            return _rel_hook("joined", rid, rl, remote_unit=u, version=members[u])
    for u in sorted(members):
        if members[u] != rl.members[u]:
            return _rel_hook("changed", rid, rl, remote_unit=u, version=members[u])
    return None


def _teardown(local: LocalState, remote: RemoteState) -> Op:
    """Section 2.6: departed for every member, broken (non-peer), stop, remove."""
    for rid in sorted(local.relations):
        rl = local.relations[rid]
        if not rl.created:
            return Op(kind="local", hook="forget", relation_id=rid)
        for u in sorted(rl.members):
            return _rel_hook("departed", rid, rl, remote_unit=u, departing_unit=remote.unit)
        if rl.peer:
            return Op(kind="local", hook="forget", relation_id=rid)
        return _rel_hook("broken", rid, rl)
    if local.installed and not local.stopped:
        return _hook("stop")
    if local.installed:
        return _hook("remove")
    return Op(kind="local", hook="removed")


def _set_rel(local: LocalState, rid: int, rl: Optional[RelLocal]) -> LocalState:
    rels = dict(local.relations)
    if rl is None:
        rels.pop(rid, None)
    else:
        rels[rid] = rl
    return dataclasses.replace(local, relations=rels)


def commit(local: LocalState, op: Op) -> LocalState:
    """The local state after ``op`` succeeded (or was resolved with --no-retry)."""
    if op.kind in ("action", "exec"):
        return local
    # in error only the failed hook (retried or skipped) can run, so success clears it
    local = dataclasses.replace(local, error=None) if local.error is not None else local
    name = op.hook
    if op.storage_id is not None:
        return _commit_storage(local, op)
    if op.relation_id is not None and "-relation-" in name:
        return _commit_relation(local, op, name.rsplit("-", 1)[1])
    simple = {
        "install": dict(installed=True, charm_modified_version=op.version),
        "leader-elected": dict(leader=True),
        "leader-settings-changed": dict(leader_settings_version=op.version),
        "start": dict(started=True, queued=None),
        "upgrade-charm": dict(charm_modified_version=op.version, queued="config-changed"),
        "stop": dict(stopped=True, started=False),
        "remove": dict(removed=True),
        "removed": dict(removed=True),
        "resign": dict(leader=False, leader_settings_version=None),
    }
    if name in simple:
        return dataclasses.replace(local, **simple[name])
    if name == "config-changed":
        return dataclasses.replace(local, config_version=op.version,
                                   queued=None if local.started else "start")
    if name == "forget":
        return _set_rel(local, op.relation_id, None)
    return local


def _commit_storage(local: LocalState, op: Op) -> LocalState:
    have = tuple(s for s in local.storage if s != op.storage_id)
    if op.hook.endswith("-storage-attached"):
        have += (op.storage_id,)
    return dataclasses.replace(local, storage=tuple(sorted(have, key=_storage_order)))


def _unskip(op: Op) -> Op:
    return dataclasses.replace(op, skip=False)


def _commit_relation(local: LocalState, op: Op, kind: str) -> LocalState:
    rid = op.relation_id
    rl = local.relations.get(rid) or RelLocal(endpoint=op.endpoint or "",
                                              remote_app=op.remote_app or "",
                                              peer=op.peer)
    if kind == "created":
        return _set_rel(local, rid, dataclasses.replace(rl, created=True))
    if kind == "broken":
        return _set_rel(local, rid, None)
    members = dict(rl.members)
    if kind == "joined":
        members[op.remote_unit] = op.version
        return _set_rel(local, rid, dataclasses.replace(rl, members=members,
                                                        changed_pending=op.remote_unit))
    if kind == "departed":
        members.pop(op.remote_unit, None)
        pending = None if rl.changed_pending == op.remote_unit else rl.changed_pending
        return _set_rel(local, rid, dataclasses.replace(rl, members=members,
                                                        changed_pending=pending))
    if kind == "changed" and op.remote_unit:
        members[op.remote_unit] = op.version
        return _set_rel(local, rid, dataclasses.replace(rl, members=members,
                                                        changed_pending=None))
    if kind == "changed":
        return _set_rel(local, rid, dataclasses.replace(rl, app_version=op.version or 0))
    return local


def fail(local: LocalState, op: Op) -> LocalState:
    """The local state after ``op`` (a hook) failed: the unit is in error on it."""
    return dataclasses.replace(local, error=_unskip(op))
