"""An in-process controller on the local (folder) provider, for scheduler tests.

The hooks of the tiny bash test charms under ``charms/`` really run (on the
host, paths rewritten under a tmp folder) and call the real hook tools through
``yard/tools``' client and server.
"""

import os
import time

from yard.controller import Controller, UserError
from yard.provider.local import LocalProvider

CHARMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "charms")
TINY = os.path.join(CHARMS, "tiny")
TINYSUB = os.path.join(CHARMS, "tinysub")


class Harness:
    """Drives a :class:`Controller` the way the CLI does, without the socket."""

    def __init__(self, tmp_path, model="test"):
        self.root = str(tmp_path / "machines")
        self.provider = LocalProvider(model, root=self.root)
        self.ctl = Controller(str(tmp_path / "home"), model, provider=self.provider)
        self.ctl.start()
        self.call("model-config", values={"automatically-retry-hooks": "false"})

    def call(self, cmd, **args):
        """One request, as the CLI sends it."""
        return self.ctl.handle(cmd, args)

    def wait(self, timeout=60):
        """Block until the model settles (raises UserError on error or timeout)."""
        return self.call("wait", timeout=timeout)

    def until(self, predicate, timeout=60, message="condition"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {message}")

    def machine_dir(self, unit):
        return os.path.join(self.root, self.ctl.state.units[unit].machine)

    def hook_log(self, unit):
        """The records the tiny charm wrote for ``unit`` (dicts of key=value)."""
        tag = "unit-" + unit.replace("/", "-")
        path = os.path.join(self.machine_dir(unit), "var/lib/juju/agents", tag, "hooks.log")
        if not os.path.exists(path):
            return []
        out = []
        with open(path) as f:
            for line in f:
                rec = {}
                for tok in line.split():
                    k, _, v = tok.partition("=")
                    rec[k] = v
                out.append(rec)
        return out

    def hooks(self, unit):
        return [r["hook"] for r in self.hook_log(unit)]

    def exec(self, unit, command, timeout=30):
        """``yard exec``: (return code, stdout, stderr) of a command in a hook context."""
        tid = self.call("exec", unit=unit, command=command)["id"]
        task = self.call("task", id=tid, wait=timeout)
        assert task["status"] in ("completed", "failed"), task
        r = task["results"]
        return r["return-code"], r["stdout"], r["stderr"]

    def run_action(self, target, action, params=None, timeout=30):
        tid = self.call("run", target=target, action=action, params=params or {})["id"]
        return self.call("task", id=tid, wait=timeout)

    def status(self):
        return self.call("status")

    def stop(self):
        self.ctl.stop()


__all__ = ["Harness", "UserError", "TINY", "TINYSUB", "CHARMS"]
