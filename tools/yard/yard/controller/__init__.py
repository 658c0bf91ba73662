"""The model controller: owns the state, schedules the uniters, serves the CLI.

One process per model.  A scheduler thread asks the resolver for each idle
unit's next operation and runs it in a thread pool, holding a per-unit and a
per-machine lock (Juju's machine lock), so hooks of one unit run in series and
one at a time per machine, in parallel across machines.

The controller is one object made of rooms, one module each:

==================  ===========================================================
``state``           the state store and every update to it
``views``           what each unit sees of the model (its ``RemoteState``)
``scheduler``       the scheduler and hook running
``lifecycle``       leadership, subordinates, provisioning and clean-up
``machines``        lost machines, leases, forced removal, retry-provisioning
``cmd_*``           CLI request handlers, by area (``handle`` dispatches)
``resources``       charm resources: uploads, attach-resource, resource-get
``settled``         the checks behind ``yard wait``
``status``          status, show-unit and export views
``storage``         storage instances, attachments and the storage verbs
``daemon``          the socket daemon (``serve``)
``cmr``             cross-model relations: offers, SAAS (``cmr_sync``: the sync
                    thread and transport to the other model's controller)
``secrets``         secrets: access, tracking, content file, which secret hooks are due
==================  ===========================================================

Lock discipline: ``self.lock`` (an ``RLock``; ``self.cond`` is a condition on
it) guards ``self.state`` and every in-memory set (busy units and machines,
provisioning, hook contexts).  A ``cmd_*`` handler takes it for its whole run;
the scheduler holds it for each tick; the cross-model sync thread
(``cmr_sync``) holds it to read and record, never while it calls the other
model's controller.  Methods whose name starts with ``_``
expect it held.  Nothing slow runs under it: hooks, provisioning and machine
destruction run in the thread pool without it and take it again only to
record their result.  Whoever changes the state calls ``cond.notify_all()``
(the ``update_*`` helpers do) so waiters (``wait``, ``task --wait``, the
scheduler) look again.  ``save_lock`` orders snapshot writes (``_save``); it
is taken before ``self.lock``, never while holding it.
"""

import importlib
import os
import threading
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Dict

from yard import charm as charmlib
from yard.controller.cmd_config import ConfigCommands
from yard.controller.cmr import CMRRoom
from yard.controller.cmd_deploy import DeployCommands
from yard.controller.cmd_relations import RelationCommands
from yard.controller.cmd_tasks import TaskCommands
from yard.controller.cmd_units import UnitCommands
from yard.controller.common import (DEFAULT_CONFIG, UserError, dump, parse_duration,  # noqa: F401
                                    task_json)
from yard.controller.lifecycle import LifecycleRoom
from yard.controller.machines import MachineRoom
from yard.controller.resources import ResourcesRoom
from yard.controller.scheduler import SchedulerRoom
from yard.controller.cmd_secrets import SecretCommands
from yard.controller.secrets import SecretsRoom
from yard.controller.settled import SettledRoom
from yard.controller.state import StateRoom, restarted
from yard.controller.status import StatusViews
from yard.controller.storage import StorageRoom
from yard.controller.views import ViewsRoom
from yard.ctximpl import HookContextImpl
from yard.model import Application, ModelState, Unit
from yard.store import Store


def _tools():
    """The hook tool server module, its client and jujud (overridable for tests)."""
    name = os.environ.get("YARD_TOOLS_MODULE", "yard.tools.server")
    mod = importlib.import_module(name)
    base = os.path.dirname(mod.__file__)
    client = getattr(mod, "CLIENT_PATH", os.path.join(base, "client.py"))
    jujud = getattr(mod, "JUJUD_PATH", os.path.join(base, "jujud"))
    return mod.ToolServer, list(mod.TOOL_NAMES), client, jujud


def make_provider(kind: str, model: str):
    """The provider named ``kind`` (``lxd`` or ``local``) for ``model``."""
    if kind == "local":
        from yard.provider.local import LocalProvider
        return LocalProvider(model)
    from yard.provider.lxd import LXDProvider  # written separately; imported lazily
    return LXDProvider(model)


class Controller(CMRRoom, StateRoom, ViewsRoom, SchedulerRoom, LifecycleRoom, DeployCommands,
                 RelationCommands, UnitCommands, ConfigCommands, TaskCommands, SettledRoom,
                 StatusViews, SecretsRoom, SecretCommands, MachineRoom, StorageRoom,
                 ResourcesRoom):
    """State, scheduler and request handlers of one model."""

    def __init__(self, home: str, model: str, provider=None, tools=None):
        self.home = home
        self.model = model
        self.dir = os.path.join(home, model)
        self.store = Store(os.path.join(self.dir, "state.db"))
        state = self.store.load()
        if state is None:
            state = ModelState(name=model, uuid=str(uuid.uuid4()),
                               provider=os.environ.get("YARD_PROVIDER", "lxd"),
                               config=dict(DEFAULT_CONFIG))
        else:
            state = restarted(state)
        self.state = state
        self.lock = threading.RLock()
        self.save_lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.provider = provider or make_provider(state.provider, model)
        self._tools = tools
        self.tool_server = None
        self.tool_address = ""
        self.contexts: Dict[str, HookContextImpl] = {}
        self.busy_units = set()
        self.busy_machines = set()
        self.provisioning = set()
        self.storage_busy = set()
        self.attaching = []
        self.fail_next = set()
        self.charms: Dict[str, charmlib.Charm] = {}
        self.pool = ThreadPoolExecutor(max_workers=32)
        self.stopping = False
        self.ready = False
        self.ready_error = ""
        self.thread = None
        self.dirty = True
        self.settings_cache: Dict[str, Dict[str, Dict[str, str]]] = {}
        self.scope_gen = 0      # bumped when units come, go or change what others see
        self.member_cache: Dict[int, tuple] = {}     # views._member_versions
        self.task_cache: tuple = (None, {})          # views._pending_tasks
        self._destroyed = False

    def start(self) -> None:
        """Start the hook tool server and the scheduler thread."""
        self.thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self.thread.start()
        self._cmr_start()

    def _setup(self) -> None:
        try:
            self.provider.ensure_ready()
            server_cls, names, client, jujud = self._tools or _tools()
            client = self._native_client(client)
            self.tool_names, self.tool_client, self.jujud = names, client, jujud
            self.tool_server = server_cls(self.contexts.get, self.provider.host_address(), 0)
            host, port = self.tool_server.start()
            self.tool_address = f"{host}:{port}"
            self.ready = True
            self.debug_log("machine-0", "INFO", "juju.controller",
                           f"hook tools listening on {self.tool_address}")
        except Exception as e:  # noqa: BLE001 - reported in status and the log
            self.ready_error = str(e)
            self.debug_log("controller", "ERROR", "juju.controller",
                           f"cannot set up provider: {e}\n{traceback.format_exc()}")

    def _native_client(self, client: str) -> str:
        """The native build of the default client when it can be had, else ``client``."""
        from yard.tools import native, server
        if client != server.CLIENT_PATH:
            return client       # a test's own client
        built = native.build(native.cache_dir())
        self.debug_log("machine-0", "INFO", "juju.controller",
                       "hook tool client: " + ("native " + built if built else client))
        return built or client

    def stop(self) -> None:
        """Stop scheduling and the tool server (running hooks finish)."""
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        if self.thread:
            self.thread.join(timeout=10)
        if self.tool_server:
            self.tool_server.stop()
        self.pool.shutdown(wait=False)
        self._save()

    def handle(self, cmd: str, args: dict) -> object:
        """Run one CLI request; raises :class:`UserError` with juju's wording."""
        fn = getattr(self, "cmd_" + cmd.replace("-", "_"), None)
        if fn is None:
            raise UserError(f'unrecognized command: yard {cmd}')
        return fn(**args)

    def _app(self, name: str) -> Application:
        app = self.state.applications.get(name)
        if app is None:
            raise UserError(f'application "{name}" not found')
        return app

    def _unit(self, name: str) -> Unit:
        if "/" not in name:
            raise UserError(f'invalid unit name "{name}"')
        u = self.state.units.get(name)
        if u is None:
            raise UserError(f'unit "{name}" not found')
        return u

    def cmd_ping(self) -> dict:
        """Liveness probe."""
        return {"model": self.model, "pid": os.getpid()}

    def cmd_destroy_model(self) -> dict:
        """Destroy every machine; the server then stops and deletes the state."""
        with self.cond:
            self._set(units={}, applications={}, relations={}, bags={})
            self.stopping = True  # the scheduler stops making machines
            self.cond.notify_all()
            deadline = time.time() + 900
            while self.provisioning and time.time() < deadline:  # machines being made
                self.cond.wait(timeout=1.0)
            mids = set(self.state.machines)
            self._set(machines={})
            self.stopping = True
            self._destroyed = True
            self.cond.notify_all()
        try:
            mids |= {m.machine_id for m in self.provider.list_machines()}
        except Exception as e:  # noqa: BLE001 - destroy what we know about
            self.debug_log("controller", "WARNING", "juju.controller", str(e))
        for mid in sorted(mids):
            self._destroy_machine(mid)
        with self.cond:
            self._destroy_all_storage()
        return {"destroyed": mids}


def serve(home: str, model: str) -> None:
    """Run the controller of ``model`` until asked to stop (the daemon's main)."""
    from yard.controller import daemon
    daemon.serve(home, model)
