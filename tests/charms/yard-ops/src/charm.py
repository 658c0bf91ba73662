#!/usr/bin/env python3
"""yard-ops: an ops charm that consumes the ``yard-data`` interface.

Used by yard's model tests to show that yard runs unmodified ops charms: it
records each dispatch, publishes its own data on ``data`` and reports what the
other side published in its workload status.
"""

import logging
import os
import time

import ops

logger = logging.getLogger(__name__)

HOOK_LOG = "/var/log/yard-ops-hooks.log"


def hook_record(environ, now):
    """The hook-log line for one dispatch, built from Juju's environment.

    :param environ: the process environment (``JUJU_*`` variables).
    :param now: the time to record, seconds since the epoch.
    :returns: one line (no newline) of space-separated ``key=value`` fields.
    """
    kind, _, name = environ.get("JUJU_DISPATCH_PATH", "").partition("/")
    hook = name if kind == "hooks" else "action:" + name
    fields = [
        ("time", "%.6f" % now),
        ("unit", environ.get("JUJU_UNIT_NAME", "")),
        ("hook", hook),
        ("remote-unit", environ.get("JUJU_REMOTE_UNIT", "")),
        ("remote-app", environ.get("JUJU_REMOTE_APP", "")),
        ("relation-id", environ.get("JUJU_RELATION_ID", "")),
        ("machine", environ.get("JUJU_MACHINE_ID", "")),
    ]
    return " ".join("%s=%s" % (key, "_".join(value.split())) for key, value in fields)


def append_hook_record(environ):
    """Append this dispatch's line to the hook log (under ``YARD_CHARM_ROOT``)."""
    path = environ.get("YARD_CHARM_ROOT", "") + HOOK_LOG
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a", encoding="utf-8") as log:
        log.write(hook_record(environ, time.time()) + "\n")


class YardOpsCharm(ops.CharmBase):
    """Publishes its identity on ``data`` and shows the remote greeting."""

    def __init__(self, framework):
        super().__init__(framework)
        for event in (
            self.on.install,
            self.on.leader_elected,
            self.on.config_changed,
            self.on.start,
            self.on.upgrade_charm,
            self.on.update_status,
            self.on.data_relation_created,
            self.on.data_relation_joined,
            self.on.data_relation_changed,
            self.on.data_relation_departed,
            self.on.data_relation_broken,
        ):
            framework.observe(event, self._on_any_event)
        framework.observe(self.on.get_data_action, self._on_get_data_action)

    def _on_any_event(self, event):
        self._publish()
        self.unit.status = self._assess_status()

    def _publish(self):
        """Write this unit's (and, as leader, the app's) data on ``data``."""
        relation = self.model.get_relation("data")
        if relation is None:
            return
        mine = {"label": str(self.config["label"]), "ops-unit": self.unit.name}
        unit_bag = relation.data[self.unit]
        for key, value in mine.items():
            if unit_bag.get(key) != value:
                unit_bag[key] = value
        if self.unit.is_leader() and relation.data[self.app].get("consumer") != self.app.name:
            relation.data[self.app]["consumer"] = self.app.name

    def _remote(self):
        """``(relation, remote app, remote app bag)`` of ``data``, or Nones."""
        relation = self.model.get_relation("data")
        if relation is None or relation.app is None:
            return relation, None, {}
        return relation, relation.app, dict(relation.data[relation.app])

    def _assess_status(self):
        relation, app, bag = self._remote()
        if relation is None:
            return ops.BlockedStatus("needs a data relation")
        if app is None or not bag.get("greeting"):
            return ops.WaitingStatus("waiting for data from %s" % (app.name if app else "data"))
        return ops.ActiveStatus("greeting from %s: %s (%d units)"
                                % (app.name, bag["greeting"], len(relation.units)))

    def _on_get_data_action(self, event):
        relation, app, bag = self._remote()
        if relation is None:
            event.fail("no data relation")
            return
        key = event.params.get("key", "greeting")
        event.log("reading %s from %s" % (key, app.name if app else "?"))
        event.set_results({
            "remote-app": app.name if app else "",
            "units": ",".join(sorted(unit.name for unit in relation.units)),
            "value": bag.get(key, ""),
            "leader": str(self.unit.is_leader()).lower(),
        })


if __name__ == "__main__":  # pragma: no cover - run by dispatch
    append_hook_record(os.environ)
    ops.main(YardOpsCharm)
