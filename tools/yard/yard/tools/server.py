"""The controller side of the hook tools: ``run_tool`` and the socket server.

Wire protocol ("yard1")
-----------------------
One TCP (or Unix) connection per tool invocation.  A *message* is a netstring
(``<decimal length>:<payload>,``) whose payload is a sequence of netstring
*fields*; fields are raw bytes (argv and paths as the OS gives them, file
contents and output unencoded).  Netstrings rather than JSON keep the client
free of ``json``/``base64`` imports, which would double its start-up time.

1. client -> server, the request::

       ["yard1", <JUJU_CONTEXT_ID>, <tool>, <cwd>, <arg1>, <arg2>, ...]

2. server -> client, zero or more file requests made while the tool runs
   (``relation-set --file PATH``, ``state-set --file -``; ``-`` is stdin; other
   paths are absolute).  The client reads stdin only when asked, so a tool
   never blocks on a terminal or an inherited pipe it does not need::

       ["read", <path>]

   client -> server, the answer::

       ["data", <content>]        or        ["error", "open <path>: <reason>"]

3. server -> client, the result; then the connection closes::

       ["exit", <decimal exit code>, <stdout>, <stderr>, <path1>, <data1>, ...]

   The trailing (path, data) pairs are ``-o/--output`` writes, which the
   client makes (absolute paths, resolved against ``cwd``).

Example: ``config-get --all`` sends
``62:5:yard1,24:unit-a-0-install-0123abc,10:config-get,1:/,5:--all,,`` (lengths
count bytes).

The context id is the authentication: an id the ``lookup`` function does not
know gets ``ERROR bad request: unknown context id "..."`` and exit code 1.
"""

import dataclasses
import logging
import os
import socketserver
import threading
from typing import Callable, Dict, Optional

from yard.context import HookContext, ToolError

from . import commands
from .formats import encode
from .flags import FlagSet, HelpRequested, UsageError, help_text

log = logging.getLogger(__name__)

#: The Juju version the machines' ``jujud`` stub reports.
JUJU_VERSION = "3.6.4"

#: Every hook tool yard answers; the controller makes one symlink per name.
TOOL_NAMES: tuple = tuple(sorted(commands.COMMANDS))

#: The machine-side client (installed as ``jujuc``) and the ``jujud`` version stub.
CLIENT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "client.py")
JUJUD_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jujud")

PROTOCOL_VERSION = b"yard1"
_MAX_MESSAGE = 256 * 1024 * 1024


@dataclasses.dataclass
class ToolResult:
    """What the tool process prints and how it exits."""

    code: int
    stdout: bytes
    stderr: bytes
    #: ``-o/--output`` writes the client makes inside the machine: abs path -> bytes.
    files: Dict[str, bytes] = dataclasses.field(default_factory=dict)


def _open_error(path: str, exc: OSError) -> ToolError:
    reason = (exc.strerror or str(exc)).rstrip(".")
    return ToolError("open %s: %s" % (path, reason[:1].lower() + reason[1:]))


class LocalFiles:
    """Files as seen from ``cwd`` on this host; ``-`` reads ``stdin``.

    Used when ``run_tool`` is called in-process (tests, or a caller that shares
    the machine's filesystem).  Writes are collected, not made, so that the
    caller decides where they land (:class:`ToolResult` ``files``).
    """

    def __init__(self, cwd: str = "", stdin: bytes = b""):
        self.cwd = cwd or "/"
        self.stdin = stdin
        self.written: Dict[str, bytes] = {}

    def path(self, path: str) -> str:
        """The absolute path of ``path`` relative to the tool's working directory."""
        return os.path.normpath(os.path.join(self.cwd, path))

    def read(self, path: str) -> bytes:
        """The content of ``path``, or stdin for ``-``."""
        if path == "-":
            return self.stdin
        full = self.path(path)
        try:
            with open(full, "rb") as handle:
                return handle.read()
        except OSError as exc:
            raise _open_error(full, exc) from None

    def write(self, path: str, data: bytes) -> None:
        """Record a write of ``data`` to ``path`` (made by the caller)."""
        self.written[self.path(path)] = data


def run_tool(ctx: HookContext, tool: str, args: list, stdin: bytes = b"", cwd: str = "",
             files=None) -> ToolResult:
    """Run hook tool ``tool`` with ``args`` against ``ctx``; never raises.

    :param stdin: what ``--file -`` reads (when ``files`` is not given).
    :param cwd: the tool's working directory, for relative ``--file``/``-o`` paths.
    :param files: optional object with ``read(path)``/``write(path, data)`` and
        a ``written`` dict, used instead of :class:`LocalFiles`.
    :returns: exit code, stdout, stderr and the ``-o`` files to write.
    """
    files = files if files is not None else LocalFiles(cwd, stdin)
    spec = commands.COMMANDS.get(tool)
    if spec is None:
        return ToolResult(1, b"", encode("ERROR unknown command: %s\n" % tool))
    flagset = FlagSet(spec.flags)
    inv = None
    try:
        if spec.parse_flags:
            opts, positional = flagset.parse(ctx, list(args))
        else:
            if "--help" in args or "-h" in args:
                raise HelpRequested()
            opts, positional = flagset.defaults(), list(args)
        inv = commands.Invocation(ctx, tool, opts, positional, files)
        spec.run(inv)
    except HelpRequested:
        text = help_text(spec.name, spec.args, spec.purpose, spec.doc, flagset)
        return ToolResult(0, encode(text), b"")
    except (UsageError, ToolError) as exc:
        stderr = bytes(inv.stderr) if inv is not None else b""
        return ToolResult(exc.code, b"", stderr + encode("ERROR %s\n" % exc.message))
    except Exception as exc:  # a bug in a context must not kill the server thread
        shown = "(arguments hidden)" if tool.startswith("secret-") else repr(args)  # content
        log.exception("hook tool %s %s failed", tool, shown)
        return ToolResult(1, b"", encode("ERROR %s\n" % (exc,)))
    return ToolResult(0, bytes(inv.stdout), bytes(inv.stderr), dict(getattr(files, "written", {})))


# --- socket server -------------------------------------------------------------------


def netstring(data: bytes) -> bytes:
    """``<len>:<data>,``."""
    return b"%d:%s," % (len(data), data)


def encode_message(fields) -> bytes:
    """A message: a netstring of netstring fields."""
    return netstring(b"".join(netstring(f) for f in fields))


def decode_fields(payload: bytes) -> list:
    """The fields of a message payload.

    :raises ValueError: on a malformed payload.
    """
    fields = []
    while payload:
        head, sep, payload = payload.partition(b":")
        if not sep or not head.isdigit() or len(head) > 12:
            raise ValueError("bad field")
        size = int(head)
        if payload[size:size + 1] != b",":
            raise ValueError("bad field")
        fields.append(payload[:size])
        payload = payload[size + 1:]
    return fields


def read_message(stream) -> Optional[list]:
    """The next message's fields from a binary stream; None at end of stream.

    :raises ValueError: on a malformed or oversized message.
    """
    head = b""
    while True:
        char = stream.read(1)
        if not char:
            if head:
                raise ValueError("truncated message")
            return None
        if char == b":":
            break
        if not char.isdigit() or len(head) > 12:
            raise ValueError("bad message length")
        head += char
    size = int(head or b"x")
    if size > _MAX_MESSAGE:
        raise ValueError("message too large")
    body = stream.read(size + 1)
    if len(body) != size + 1 or body[-1:] != b",":
        raise ValueError("truncated message")
    return decode_fields(body[:-1])


class _RemoteFiles(LocalFiles):
    """Files inside the machine: reads go back over the connection to the client."""

    def __init__(self, handler: "_Handler", cwd: str):
        super().__init__(cwd)
        self.handler = handler

    def read(self, path: str) -> bytes:
        target = path if path == "-" else self.path(path)
        self.handler.send([b"read", os.fsencode(target)])
        try:
            reply = self.handler.receive()
        except ValueError:
            reply = None
        if not reply or len(reply) != 2:
            raise ToolError("lost connection to the hook tool")
        if reply[0] == b"error":
            raise ToolError(os.fsdecode(reply[1]))
        return reply[1]


class _Handler(socketserver.StreamRequestHandler):
    """Serves one tool invocation."""

    server: "_Server"

    def send(self, fields) -> None:
        self.wfile.write(encode_message(fields))
        self.wfile.flush()

    def receive(self) -> Optional[list]:
        return read_message(self.rfile)

    def handle(self) -> None:
        try:
            request = self.receive()
        except ValueError:
            request = []
        if request is None:
            return
        result = self.server.answer(self, request)
        try:
            self._finish(result)
        except OSError:
            log.debug("hook tool client went away before its result")

    def _finish(self, result: ToolResult) -> None:
        fields = [b"exit", str(result.code).encode(), result.stdout, result.stderr]
        for path, data in result.files.items():
            fields += [os.fsencode(path), data]
        self.send(fields)


class _TCPHandler(_Handler):
    disable_nagle_algorithm = True


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Many units' hooks call tools at once; a short accept queue drops SYNs,
    # which clients only retry after a second.
    request_queue_size = 256
    answer: Callable[[_Handler, list], ToolResult]


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = 256
    answer: Callable[[_Handler, list], ToolResult]


class ToolServer:
    """Answers hook tools over TCP (or a Unix socket when ``host`` is a path).

    :param lookup: ``lookup(context_id)`` returns the running hook's
        :class:`HookContext`, or None for an unknown (or finished) one.

    Each invocation is served in its own thread, so a context's methods may be
    called concurrently when a hook runs tools in parallel (a pipeline, ``&``).
    """

    def __init__(self, lookup: Callable[[str], Optional[HookContext]], host: str,
                 port: int = 0):
        self.lookup = lookup
        self.host = host
        self.port = port
        self._server = None
        self._thread: Optional[threading.Thread] = None

    def start(self) -> tuple:
        """Serve in daemon threads; return the bound ``(host, port)`` (port 0 for Unix)."""
        if self.host.startswith("/"):
            if os.path.exists(self.host):
                os.unlink(self.host)
            server = _UnixServer(self.host, _Handler)
            address = (self.host, 0)
        else:
            server = _Server((self.host, self.port), _TCPHandler)
            address = server.server_address[:2]
        server.answer = self._answer
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="yard-hook-tools",
                                        kwargs={"poll_interval": 0.2}, daemon=True)
        self._thread.start()
        return address

    def stop(self) -> None:
        """Stop accepting invocations and close the socket."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self.host.startswith("/") and os.path.exists(self.host):
            os.unlink(self.host)

    def _answer(self, handler: _Handler, request: list) -> ToolResult:
        if len(request) < 4 or request[0] != PROTOCOL_VERSION:
            return ToolResult(1, b"", b"ERROR bad request: malformed message\n")
        context_id, tool, cwd = (os.fsdecode(f) for f in request[1:4])
        args = [os.fsdecode(a) for a in request[4:]]
        try:
            ctx = self.lookup(context_id) if context_id else None
        except Exception:  # a lookup bug must not leave the client hanging
            log.exception("hook tool context lookup failed for %r", context_id)
            ctx = None
        if ctx is None:
            return ToolResult(1, b"", encode('ERROR bad request: unknown context id "%s"\n'
                                             % context_id))
        # No per-context lock: a shell pipeline such as
        # "config-get --format=yaml | relation-set --file -" runs two tools of one
        # hook at once, and the second waits for the first's output.
        return run_tool(ctx, tool, args, cwd=cwd, files=_RemoteFiles(handler, cwd))
