"""yard's machine agent: runs commands inside a machine for the controller.

``lxc exec`` costs about 55 ms a command (a round trip through the LXD
daemon, a new process set up in the container's namespaces); a hook that
does nothing then costs more than yard's budget.  Like Juju's own machine
agent, this small daemon lives in the machine (a systemd service), and the
controller asks it over TCP to run a command: the price is one connection
and one fork.

This file is copied into every machine and run there with the machine's
python3, so it uses the standard library only and runs on Python 3.5+.

Protocol (one request per connection, both ways a 4-byte big-endian length
then a JSON object):

- request: ``{"token", "argv", "env", "cwd", "timeout", "stdin"}`` with
  ``stdin`` base64; ``env`` is the whole environment (nothing is inherited);
  ``timeout`` seconds or null.
- reply: ``{"code", "stdout", "stderr", "timed_out"}`` (outputs base64), or
  ``{"error": text}`` when the request itself was refused.

The token is compared in constant time; every other machine on the bridge can
connect, none without the token can run anything.  A command runs in its own
session; on timeout its whole process group gets SIGTERM, then SIGKILL after
``kill_after`` seconds, and the reply says ``timed_out`` with code 124 (as
coreutils' ``timeout`` exits).
"""

import argparse
import base64
import hmac
import json
import os
import signal
import socketserver
import struct
import subprocess
import sys

#: The agent's TCP port on the machine's address.
PORT = 17022
#: Requests larger than this are refused (hook stdin is small).
MAX_REQUEST = 64 * 1024 * 1024
#: Seconds between SIGTERM and SIGKILL when a command runs out of time.
KILL_AFTER = 5


def send_message(sock, obj):
    """Write one length-prefixed JSON message."""
    data = json.dumps(obj).encode()
    sock.sendall(struct.pack(">I", len(data)) + data)


def recv_exact(sock, size):
    """``size`` bytes from ``sock``; raises EOFError if the peer closes first."""
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise EOFError("connection closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv_message(sock, limit=MAX_REQUEST):
    """Read one length-prefixed JSON message."""
    (size,) = struct.unpack(">I", recv_exact(sock, 4))
    if size > limit:
        raise ValueError("message of {} bytes is too large".format(size))
    return json.loads(recv_exact(sock, size).decode())


def _b64(data):
    return base64.b64encode(data or b"").decode()


def _failed(code, text):
    return {"code": code, "stdout": "", "stderr": _b64(text.encode()), "timed_out": False}


def _kill_group(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except OSError:
        pass


def _spawn(argv, env, cwd):
    """Start the command in its own session; (process, None) or (None, failure reply)."""
    try:
        return subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True, close_fds=True), None
    except FileNotFoundError as err:
        if not os.path.isdir(cwd):
            return None, _failed(1, "yard-agent: cannot change directory to {}: {}\n".format(
                cwd, err.strerror))
        # As env(1) reports a missing program.
        return None, _failed(127, "env: '{}': No such file or directory\n".format(argv[0]))
    except OSError as err:
        return None, _failed(126, "env: '{}': {}\n".format(argv[0], err.strerror))


def run_command(request, kill_after=KILL_AFTER):
    """Run one request's command; the reply dict (see the module docstring)."""
    argv, env = request["argv"], request.get("env") or {}
    timeout = request.get("timeout")
    stdin = base64.b64decode(request.get("stdin") or "")
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        return {"error": "argv must be a non-empty list of strings"}
    proc, failure = _spawn(argv, env, request.get("cwd") or "/")
    if failure:
        return failure
    timed_out = False
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc, signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=kill_after)
        except subprocess.TimeoutExpired:
            _kill_group(proc, signal.SIGKILL)
            out, err = proc.communicate()
    if timed_out:
        _kill_group(proc, signal.SIGKILL)  # what it left running in its session goes too
    code = 124 if timed_out else proc.returncode
    return {"code": code, "stdout": _b64(out), "stderr": _b64(err), "timed_out": timed_out}


class Handler(socketserver.BaseRequestHandler):
    """One connection: check the token, run the command, reply."""

    def handle(self):
        try:
            request = recv_message(self.request)
        except (EOFError, ValueError, OSError):
            return
        token = self.server.token
        given = request.get("token") if isinstance(request, dict) else None
        if not isinstance(given, str) or not hmac.compare_digest(given.encode(), token):
            reply = {"error": "permission denied"}
        elif request.get("ping"):
            reply = {"pong": True, "pid": os.getpid()}
        else:
            try:
                reply = run_command(request)
            except (KeyError, TypeError, ValueError) as err:
                reply = {"error": "bad request: {}".format(err)}
        try:
            send_message(self.request, reply)
        except OSError:
            pass  # the controller went away; nothing to tell


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """Threads, so that an exec does not wait for a long hook."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, token):
        self.token = token
        socketserver.TCPServer.__init__(self, address, Handler)


def read_token(path):
    """The secret from ``path`` (one line, at least 16 characters)."""
    with open(path, "rb") as f:
        token = f.read().strip()
    if len(token) < 16:
        raise SystemExit("yard-agent: the token in {} is too short".format(path))
    return token


def main(argv=None):
    parser = argparse.ArgumentParser(prog="yard-agent", description=__doc__.split("\n")[0])
    parser.add_argument("--address", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--token-file", required=True)
    args = parser.parse_args(argv)
    server = Server((args.address, args.port), read_token(args.token_file))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
