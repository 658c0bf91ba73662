"""Lost machines, forced removal and provisioning retries, as Juju 3.6 has them.

``kill-machine`` stops a machine behind the model's back: the model still
has it, its agent is ``down`` and its units' agents ``lost``; they stay in
their relations and run nothing.  Their leader keeps the lease until it lapses
(``leadership-lease-duration`` after the machine went down).  Only removal
with ``--force`` takes the units out of their relations.  The texts and rules,
with where each came from in juju/juju, are in tools/yard/README.md ("Lost
machines and forced removal").
"""

import time
from typing import List

from yard.controller.common import UserError, parse_duration
from yard.model import Application, StatusValue, Unit, unit_number

# apiserver/common/unitstatus.go and machinestatus.go (3.6)
AGENT_LOST = "agent is not communicating with the server"
# apiserver/common.MaxWait: how long --force waits for a clean removal
MAX_WAIT = 60.0


def can_be_lost(agent: StatusValue, workload: StatusValue) -> bool:
    """Juju's ``canBeLost``: a unit still allocating or installing is not reported lost."""
    if agent.current in ("allocating", "running"):
        return False
    if agent.current == "executing":
        return agent.message != "running install hook"
    if workload.current == "maintenance":
        return workload.message != "installing charm software"
    return not (workload.current == "waiting" and workload.message in (
        "waiting for machine", "installing agent", "agent initialising"))


class MachineRoom:
    """Part of :class:`yard.controller.Controller`; see the package docstring."""

    # -- what a dead agent looks like ------------------------------------------
    def _agent_down(self, u: Unit) -> bool:
        """Whether the unit's machine agent is gone (its machine is down)."""
        m = self.state.machines.get(u.machine)
        return m is not None and m.status == "down"

    def lost_view(self, u: Unit, agent: StatusValue, workload: StatusValue):
        """(agent, workload) as status shows them, with Juju's presence rules applied."""
        if not self._agent_down(u) or not can_be_lost(agent, workload):
            return agent, workload
        since = self.state.machines[u.machine].since
        if workload.current not in ("error", "terminated"):
            workload = StatusValue("unknown", f"agent lost, see 'juju show-status-log {u.name}'",
                                   workload.since)
        return StatusValue("lost", AGENT_LOST, since), workload

    def _lease_left(self, app: Application) -> float:
        """Seconds until the leader's lease lapses (0 if it has, or it is renewed)."""
        u = self.state.units.get(app.leader) if app.leader else None
        if u is None or not self._agent_down(u):
            return 0.0
        lease = parse_duration(self.model_config()["leadership-lease-duration"])
        return max(0.0, self.state.machines[u.machine].since + lease - time.time())

    def _can_claim(self, u: Unit) -> bool:
        """Whether a unit's agent could claim leadership (its machine is not down or broken)."""
        m = self.state.machines.get(u.machine)
        return u.alive and m is not None and m.status not in ("down", "error")

    def _next_leader(self, app: Application):
        """The unit that leads ``app`` now: the holder until its lease lapses, else a claimer."""
        units = [u for u in self.state.units.values() if u.app == app.name]
        holder = self.state.units.get(app.leader) if app.leader else None
        if holder is not None and (not self._agent_down(holder) or self._lease_left(app) > 0):
            return holder.name
        claimers = sorted((u for u in units if self._can_claim(u)),
                          key=lambda u: unit_number(u.name))
        return claimers[0].name if claimers else None

    # -- kill-machine ------------------------------------------------------------
    def cmd_kill_machine(self, machine: str) -> dict:
        """Stop a machine without telling the model (fault injection): its agents are lost."""
        with self.cond:
            m = self.state.machines.get(machine)
            if m is None:
                raise UserError(f"machine {machine} not found")
            if m.status != "started":
                raise UserError(f"machine {machine} is not running ({m.status})")
            try:
                self.provider.kill_machine(machine)
            except Exception as e:  # noqa: BLE001 - reported
                raise UserError(f"cannot kill machine {machine}: {e}") from None
            self._update_machine(machine, status="down", since=time.time())
            self.debug_log(f"machine-{machine}", "WARNING", "juju.apiserver",
                           f"machine {machine}: {AGENT_LOST}")
            self.cond.notify_all()
            return {}

    # -- remove-machine ------------------------------------------------------------
    def cmd_remove_machine(self, machines: List[str], force: bool = False,
                           no_wait: bool = False) -> dict:
        """``yard remove-machine N... [--force [--no-wait]]``: Juju's lines and exit status."""
        if no_wait and not force:
            raise UserError("--no-wait without --force not valid")
        lines, failed = [], False
        with self.cond:
            for mid in machines:
                try:
                    lines += self._remove_machine(mid, force)
                except UserError as e:
                    failed = True
                    lines.append(f"removing machine {mid} failed: {e}")
            self.cond.notify_all()
        return {"message": "\n".join(lines), "failed": failed}

    def _remove_machine(self, mid: str, force: bool) -> List[str]:
        if mid not in self.state.machines:
            raise UserError(f"machine {mid} not found")
        units = [u for u in self.state.units.values() if u.machine == mid and not u.principal]
        if units and not force:
            raise UserError(f'machine {mid} has unit "{units[0].name}" assigned')
        lines = [f"removing machine {mid}"]
        for u in units:
            lines.append(f"- will remove unit {u.name}")
            self._obliterate_unit(u.name)
        machines = dict(self.state.machines)
        del machines[mid]
        self._set(machines=machines)
        self.provisioning.discard(mid)
        self.pool.submit(self._destroy_machine, mid)
        return lines

    def _obliterate_unit(self, name: str) -> None:
        """Remove a unit and its subordinates now, without hooks (Juju's obliterateUnit).

        The other units see them leave scope: relation-departed, as when a unit goes.
        """
        for s in [s.name for s in self.state.units.values() if s.principal == name]:
            self._obliterate_unit(s)
        self.debug_log(name, "WARNING", "juju.state", f"unit {name} removed without its hooks")
        self._remove_unit_now(name)

    # -- --force on units and applications -------------------------------------------
    def _force_units(self, names: List[str], no_wait: bool) -> None:
        """Mark units for forced removal: gone at the latest ``MAX_WAIT`` from now.

        A unit whose agent can still run tears down with its hooks meanwhile; one
        that cannot (lost, machine failed, never started) or stays in error is
        obliterated when the time is up (Juju's cleanupForceDestroyedUnit).
        """
        at = time.time() + (0.0 if no_wait else MAX_WAIT)
        for name in names:
            u = self.state.units.get(name)
            if u is None:
                continue
            self.update_unit(name, force_at=at if u.force_at is None else min(u.force_at, at))
            for s in [s.name for s in self.state.units.values() if s.principal == name]:
                self.update_unit(s, force_at=at)

    def _reap_stuck(self) -> None:
        """Removals no agent will finish: forced ones due, never-started units, empty machines.

        A dying unit whose agent never started (its machine pending or failed) goes at
        once, as Juju removes a unit still ``allocating``; a down or failed machine
        left without units goes with them (``remove-unit``/``remove-application
        --force`` take such machines too).
        """
        now = time.time()
        for name, u in list(self.state.units.items()):
            if name not in self.state.units or name in self.busy_units:
                continue
            m = self.state.machines.get(u.machine)
            never_started = not u.alive and not u.local.installed and (
                m is None or m.status in ("pending", "error")) \
                and u.machine not in self.provisioning
            if (u.force_at is not None and now >= u.force_at) or never_started:
                self._obliterate_unit(name)
        for mid, m in list(self.state.machines.items()):
            if m.status in ("down", "error") and not any(
                    u.machine == mid for u in self.state.units.values()):
                machines = dict(self.state.machines)
                del machines[mid]
                self._set(machines=machines)
                self.pool.submit(self._destroy_machine, mid)

    # -- retry-provisioning ------------------------------------------------------------
    def cmd_retry_provisioning(self, machines: List[str]) -> dict:
        """``yard retry-provisioning N...``: start machines that failed to start again."""
        with self.cond:
            for mid in machines:
                m = self.state.machines.get(mid)
                if m is None:
                    raise UserError(f'machine "{mid}" not found')
                if m.status != "error":
                    raise UserError(f"machine {mid} is not in an error state "
                                    f"({instance_status(m.status)})")
            for mid in machines:
                self._update_machine(mid, status="pending", message="", since=time.time())
                self.debug_log(f"machine-{mid}", "INFO", "juju.provisioner",
                               f"retrying provisioning of machine {mid}")
            self.cond.notify_all()
            return {}


def instance_status(machine_status: str) -> str:
    """The instance status Juju shows (``machine-status``) for a yard machine status."""
    return {"started": "running", "down": "running", "error": "provisioning error"}.get(
        machine_status, machine_status)
