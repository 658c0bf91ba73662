#!/usr/bin/python3 -SE
"""yard's jujuc: the hook tool client that runs inside a machine.

Installed as ``/var/lib/juju/tools/unit-<app>-<n>/jujuc`` with one symlink per
hook tool; the tool is ``basename(argv[0])`` (or the first argument when run
as ``jujuc``).  It forwards argv, the working directory and ``JUJU_CONTEXT_ID``
to the controller named by ``JUJU_AGENT_SOCKET_NETWORK`` (``tcp`` or ``unix``)
and ``JUJU_AGENT_SOCKET_ADDRESS``, answers the controller's requests for files
or stdin, then prints what the controller says and exits with its code.

Standard library only, Python 3.9+, and only the cheapest built-in modules
(``_socket``, no ``json``/``socket``/``base64``): hooks call tools a lot, and the
interpreter starts with ``-S -E`` for the same reason.  The wire protocol is
described in ``yard/tools/server.py``.
"""

import sys

import _socket
import posix  # not os: importing os costs a couple of milliseconds

_FS = sys.getfilesystemencoding()


def fsencode(text):
    """``os.fsencode`` without ``os``."""
    return text.encode(_FS, "surrogateescape")


def getenv(name):
    """An environment variable as str ("" when unset)."""
    return posix.environ.get(name.encode(), b"").decode(_FS, "surrogateescape")


VERSION = b"yard1"


def netstring(data):
    """One netstring: ``<len>:<data>,``."""
    return b"%d:%s," % (len(data), data)


def message(fields):
    """A message: a netstring whose payload is one netstring per field."""
    return netstring(b"".join(netstring(f) for f in fields))


class Connection:
    """A socket that reads whole messages."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def _fill(self):
        chunk = self.sock.recv(262144)
        if not chunk:
            raise EOFError("connection closed")
        self.buffer += chunk

    def receive(self):
        """The next message's fields (a list of bytes)."""
        while b":" not in self.buffer:
            if len(self.buffer) > 20:
                raise ValueError("bad frame")
            self._fill()
        head, _, rest = self.buffer.partition(b":")
        size = int(head)
        while len(rest) < size + 1:
            self._fill()
            head, _, rest = self.buffer.partition(b":")
        if rest[size:size + 1] != b",":
            raise ValueError("bad frame")
        payload, self.buffer = rest[:size], rest[size + 1:]
        fields = []
        while payload:
            head, _, payload = payload.partition(b":")
            length = int(head)
            fields.append(payload[:length])
            payload = payload[length + 1:]
        return fields

    def send(self, fields):
        """Send one message."""
        self.sock.sendall(message(fields))


def fail(text, code=1):
    """Print ``ERROR <text>`` as jujuc does and exit."""
    sys.stderr.write("ERROR %s\n" % text)
    sys.stderr.flush()
    sys.exit(code)


def connect():
    """A socket to the controller, from the hook's environment."""
    network = getenv("JUJU_AGENT_SOCKET_NETWORK") or "tcp"
    address = getenv("JUJU_AGENT_SOCKET_ADDRESS")
    if not address:
        fail("JUJU_AGENT_SOCKET_ADDRESS not set")
    try:
        if network == "unix":
            sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            # "@name" is an abstract socket, as Juju's agents use.
            sock.connect("\0" + address[1:] if address.startswith("@") else address)
        else:
            host, _, port = address.rpartition(":")
            host = host.strip("[]")
            family = _socket.AF_INET6 if ":" in host else _socket.AF_INET
            sock = _socket.socket(family, _socket.SOCK_STREAM)
            sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            sock.connect((host, int(port)))
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        fail("dial %s %s: %s" % (network, address, reason.lower()))
    return Connection(sock)


def read_file(path):
    """Answer a controller's request for ``path`` (``-`` is stdin)."""
    try:
        if path == b"-":
            return [b"data", sys.stdin.buffer.read()]
        with open(path, "rb") as handle:
            return [b"data", handle.read()]
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        return [b"error", b"open %s: %s" % (path, reason.encode())]


def write_files(pairs):
    """Make the ``-o/--output`` writes the controller asked for."""
    for i in range(0, len(pairs) - 1, 2):
        path = pairs[i]
        try:
            with open(path, "wb") as handle:
                handle.write(pairs[i + 1])
        except OSError as exc:
            reason = (exc.strerror or str(exc)).lower()
            fail("open %s: %s" % (path.decode(_FS, "surrogateescape"), reason))


def exchange(conn, request):
    """Send the request, serve file requests, return the exit message's fields."""
    try:
        conn.send(request)
        fields = conn.receive()
        while fields and fields[0] == b"read" and len(fields) == 2:
            conn.send(read_file(fields[1]))
            fields = conn.receive()
    except (OSError, EOFError, ValueError) as exc:
        fail("lost connection to the controller: %s" % exc)
    if len(fields) < 4 or fields[0] != b"exit":
        fail("bad response from the controller")
    return fields


def main(argv):
    tool = argv[0].rpartition("/")[2]
    args = argv[1:]
    if tool == "jujuc" and args:
        tool, args = args[0].rpartition("/")[2], args[1:]
    context_id = getenv("JUJU_CONTEXT_ID")
    if not context_id:
        fail("JUJU_CONTEXT_ID not set")
    try:
        cwd = posix.getcwd()
    except OSError:
        cwd = "/"
    request = [VERSION, fsencode(context_id), fsencode(tool), fsencode(cwd)]
    request.extend(fsencode(a) for a in args)
    fields = exchange(connect(), request)
    write_files(fields[4:])
    if fields[2]:
        sys.stdout.buffer.write(fields[2])
        sys.stdout.buffer.flush()
    if fields[3]:
        sys.stderr.buffer.write(fields[3])
        sys.stderr.buffer.flush()
    return int(fields[1])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
