"""The client side of the controller's socket: one JSON line out, one back.

The CLI and a controller talking to another model's controller (cross-model
relations) both send requests this way; ``controller/daemon.py`` answers them.
"""

import json
import socket
from typing import Optional


class NotRunning(OSError):
    """Nothing listens on the socket (the controller is not running)."""


class NoAnswer(OSError):
    """The controller closed the connection without answering."""


def request(sock_path: str, cmd: str, args: dict, timeout: Optional[float] = None) -> dict:
    """Send ``{"cmd", "args"}`` and return the decoded answer ``{"ok", "result"|"error"}``.

    :raises NotRunning: the socket cannot be connected to.
    :raises NoAnswer: the connection closed before an answer.
    :raises OSError: any other socket error (including ``timeout``).
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        try:
            s.connect(sock_path)
        except OSError as e:
            raise NotRunning(str(e)) from None
        s.sendall(json.dumps({"cmd": cmd, "args": args}).encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            buf += chunk
    if not buf:
        raise NoAnswer("controller closed the connection")
    return json.loads(buf)
