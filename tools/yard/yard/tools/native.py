"""The native hook tool client: ``jujuc.c``, built once per source version.

Juju's hook tools are a compiled program; yard's ``client.py`` starts a
Python interpreter for every tool call (about 10 ms of CPU in a machine,
against about 0.5 ms for this build).
A hook calls a dozen tools and a host runs many machines' hooks at once, so
the controller installs a static build of ``jujuc.c`` when the host has a C
compiler, and ``client.py`` otherwise.  Both speak the same protocol and give
the same output; ``YARD_NATIVE_TOOLS=0`` keeps ``client.py``.
"""

import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
from typing import Optional

log = logging.getLogger(__name__)

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jujuc.c")
CFLAGS = ("-O2", "-static", "-s", "-Wall")


def enabled() -> bool:
    """Whether the native client may be used (``YARD_NATIVE_TOOLS`` is not ``0``)."""
    return os.environ.get("YARD_NATIVE_TOOLS", "1").strip().lower() not in ("0", "no", "false")


def cache_dir() -> str:
    """Where builds are kept, shared by every model of this user: ``$XDG_CACHE_HOME/yard``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "yard", "native")


def compiler() -> Optional[str]:
    """The C compiler to use: ``$CC``, else ``cc`` or ``gcc`` on PATH; None if there is none."""
    for name in (os.environ.get("CC"), "cc", "gcc"):
        if name:
            path = shutil.which(name)
            if path:
                return path
    return None


def build(cache_dir: str, source: str = SOURCE) -> Optional[str]:
    """The path of a working native client for this host, building it if needed.

    The binary lives in ``cache_dir`` under a name made of the source's hash
    and the host's architecture, so a changed ``jujuc.c`` is rebuilt and an
    unchanged one never is.  None when disabled, without a compiler, or when
    the build or its smoke test fails (logged): the caller falls back to
    ``client.py``.
    """
    if not enabled():
        return None
    target = _target(cache_dir, source)
    if target is None or os.access(target, os.X_OK):
        return target
    cc = compiler()
    if cc is None:
        log.info("native jujuc: no C compiler on PATH; using client.py")
        return None
    try:
        os.makedirs(cache_dir, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".jujuc-", dir=cache_dir)
        os.close(fd)
    except OSError as exc:
        log.warning("native jujuc: cannot write to %s: %s; using client.py", cache_dir, exc)
        return None
    try:
        if not _compile(cc, source, tmp) or not smoke_test(tmp):
            return None
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)  # atomic: concurrent builders agree on the result
        return target
    except OSError as exc:
        log.warning("native jujuc: cannot build: %s; using client.py", exc)
        return None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _target(cache_dir: str, source: str) -> Optional[str]:
    """Where the build of ``source`` goes: named by its hash and the host's architecture."""
    try:
        with open(source, "rb") as handle:
            digest = hashlib.sha256(handle.read() + repr(CFLAGS).encode()).hexdigest()[:16]
    except OSError as exc:
        log.warning("native jujuc: cannot read %s: %s", source, exc)
        return None
    return os.path.join(cache_dir, "jujuc-{}-{}".format(platform.machine() or "host", digest))


def _compile(cc: str, source: str, output: str) -> bool:
    """Run the compiler; False (logged) when it fails."""
    try:
        proc = subprocess.run([cc, *CFLAGS, "-o", output, source], capture_output=True,
                              timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("native jujuc: cannot run %s: %s; using client.py", cc, exc)
        return False
    if proc.returncode != 0:
        log.warning("native jujuc: %s failed; using client.py:\n%s", cc,
                    proc.stderr.decode(errors="replace")[-2000:])
        return False
    return True


def smoke_test(binary: str) -> bool:
    """Whether ``binary`` runs and refuses a call without a hook context, as jujuc does."""
    os.chmod(binary, 0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUJU_")}
    try:
        proc = subprocess.run([binary, "config-get"], env=env, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("native jujuc: the build does not run: %s; using client.py", exc)
        return False
    if (proc.returncode, proc.stderr) != (1, b"ERROR JUJU_CONTEXT_ID not set\n"):
        log.warning("native jujuc: unexpected smoke test result %r; using client.py",
                    (proc.returncode, proc.stderr[:200]))
        return False
    return True
