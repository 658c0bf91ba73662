"""The socket daemon: one JSON line in, one out, per CLI request."""

import fcntl
import json
import os
import shutil
import signal
import socketserver
import threading
import traceback

from yard.controller.common import UserError


class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        ctl = self.server.controller
        line = self.rfile.readline()
        req = None
        if not line.strip():
            return  # a liveness probe
        try:
            req = json.loads(line)
            result = ctl.handle(req["cmd"], req.get("args") or {})
            resp = {"ok": True, "result": result}
        except UserError as e:
            resp = {"ok": False, "error": str(e)}
        except Exception as e:  # noqa: BLE001 - report to the CLI, keep serving
            ctl.debug_log("controller", "ERROR", "juju.controller", traceback.format_exc())
            resp = {"ok": False, "error": f"internal error: {e}"}
        ctl._save()
        try:
            self.wfile.write(json.dumps(resp, default=str).encode() + b"\n")
        except OSError:
            pass
        cmd = req.get("cmd") if isinstance(req, dict) else None
        if cmd in ("destroy-model", "shutdown") and resp.get("ok"):
            threading.Thread(target=self.server.shutdown, daemon=True).start()


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


def serve(home: str, model: str) -> None:
    """Run the controller of ``model`` until asked to stop (the daemon's main)."""
    os.makedirs(os.path.join(home, model), exist_ok=True)
    lock = open(os.path.join(home, model, "controller.lock"), "w")
    try:  # one controller per model: a second one started in a race just leaves
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return
    from yard.controller import Controller  # the package imports this module
    ctl = Controller(home, model)
    sock = os.path.join(ctl.dir, "controller.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    server = _Server(sock, _Handler)
    server.controller = ctl
    Controller.cmd_shutdown = lambda self: {"stopping": True}
    ctl.start()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(
        target=server.shutdown, daemon=True).start())  # stop cleanly, state saved
    with open(os.path.join(ctl.dir, "controller.pid"), "w") as f:
        f.write(str(os.getpid()))
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        ctl.stop()
        server.server_close()
        if os.path.exists(sock):
            os.unlink(sock)
        if ctl._destroyed:
            ctl.store.close()
            shutil.rmtree(ctl.dir, ignore_errors=True)
