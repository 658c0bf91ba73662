"""Run one operation (hook, action, exec) of a unit on its machine.

Knows Juju's on-machine layout (section 1 and 10 of juju-semantics.md):
charm dir ``/var/lib/juju/agents/unit-<app>-<n>/charm``, hook tools in
``/var/lib/juju/tools/unit-<app>-<n>`` and the hook environment of section 6.
"""

import dataclasses
import os
import subprocess
import tempfile
import time
import uuid
from typing import Dict, List, Optional

JUJU_VERSION = "3.6.4"
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
HOOK_TIMEOUT = 3600.0


@dataclasses.dataclass
class Result:
    """What running an op produced."""

    code: int
    stdout: bytes = b""
    stderr: bytes = b""
    start: float = 0.0
    duration: float = 0.0
    skipped: bool = False
    missing: bool = False
    handler: str = ""


def unit_dir(unit: str) -> str:
    """``/var/lib/juju/agents/unit-<app>-<n>``."""
    return f"/var/lib/juju/agents/unit-{unit.replace('/', '-')}"


def charm_dir(unit: str) -> str:
    """The unit's charm dir inside its machine."""
    return unit_dir(unit) + "/charm"


def tools_dir(unit: str) -> str:
    """The unit's hook tools dir inside its machine."""
    return f"/var/lib/juju/tools/unit-{unit.replace('/', '-')}"


def context_id(unit: str, name: str) -> str:
    """``<unit>-<hook or action>-<32 hex>``."""
    return f"{unit}-{name}-{uuid.uuid4().hex}"


def _manifest(path: str) -> List[str]:
    out = []
    for root, dirs, files in os.walk(path):
        for f in files:
            out.append(os.path.relpath(os.path.join(root, f), path))
    return sorted(out)


def deploy_charm(provider, machine: str, unit: str, host_charm: str,
                 old_manifest: List[str]) -> List[str]:
    """Copy the built charm into the unit's charm dir (Juju's manifest deployer).

    Files of the previous charm that the new one lacks are removed; other files in
    the charm dir (unit state, persistent config) are kept.

    :returns: the new manifest.
    """
    new = _manifest(host_charm)
    stale = sorted(set(old_manifest) - set(new))
    staging = unit_dir(unit) + "/.charm-new"
    provider.exec(machine, ["rm", "-rf", staging])
    provider.push(machine, host_charm, staging)
    script = ('set -e; mkdir -p "$1"; cp -a "$2"/. "$1"/; rm -rf "$2"; cd "$1"; shift 2; '
              'for f in "$@"; do rm -f -- "$f"; done')
    res = provider.exec(machine, ["/bin/sh", "-c", script, "sh", charm_dir(unit), staging]
                        + stale)
    if res.returncode != 0:
        raise RuntimeError(f"cannot deploy charm: {res.stderr.decode(errors='replace')}")
    return new


def install_tools(provider, machine: str, unit: str, client: str, names: List[str]) -> None:
    """Put ``jujuc`` and one symlink per hook tool in the unit's tools dir."""
    tdir = tools_dir(unit)
    provider.push(machine, client, tdir + "/jujuc")
    script = 'set -e; cd "$1"; chmod 755 jujuc; shift; for n in "$@"; do ln -sf jujuc "$n"; done'
    res = provider.exec(machine, ["/bin/sh", "-c", script, "sh", tdir] + list(names))
    if res.returncode != 0:
        raise RuntimeError(f"cannot install hook tools: {res.stderr.decode(errors='replace')}")


def install_jujud(provider, machine: str, jujud: str) -> None:
    """Put the ``jujud`` version probe charmhelpers runs on the machine."""
    if not jujud or not os.path.exists(jujud):
        return
    path = f"/var/lib/juju/tools/machine-{machine}/jujud"
    provider.push(machine, jujud, path)
    provider.exec(machine, ["chmod", "755", path])


def handler(host_charm: str, kind: str, name: str) -> Optional[str]:
    """Which executable runs a hook/action (section 1.1), relative to the charm dir."""
    dispatch = os.path.join(host_charm, "dispatch")
    if os.path.isfile(dispatch) and os.access(dispatch, os.X_OK):
        return "dispatch"
    rel = f"{kind}/{name}"
    path = os.path.join(host_charm, rel)
    if os.path.isfile(path):
        return rel
    return None


def hook_env(base: Dict[str, str], unit: str, ctx_id: str, socket: str) -> Dict[str, str]:
    """The environment every hook, action and exec gets (section 6)."""
    env = {
        "CHARM_DIR": charm_dir(unit), "JUJU_CHARM_DIR": charm_dir(unit),
        "JUJU_CONTEXT_ID": ctx_id, "JUJU_AGENT_SOCKET_NETWORK": "tcp",
        "JUJU_AGENT_SOCKET_ADDRESS": socket, "JUJU_UNIT_NAME": unit,
        "JUJU_VERSION": JUJU_VERSION, "JUJU_AVAILABILITY_ZONE": "", "CLOUD_API_VERSION": "",
        "JUJU_CHARM_HTTP_PROXY": "", "JUJU_CHARM_HTTPS_PROXY": "",
        "JUJU_CHARM_FTP_PROXY": "", "JUJU_CHARM_NO_PROXY": "", "JUJU_SLA": "unsupported",
        "PATH": tools_dir(unit) + ":" + BASE_PATH, "LANG": "C.UTF-8",
        "DEBIAN_FRONTEND": "noninteractive", "APT_LISTCHANGES_FRONTEND": "none",
        "TERM": "tmux-256color",
    }
    env.update(base)
    return env


def execute(provider, machine: str, unit: str, argv: List[str], env: Dict[str, str],
            stdin: Optional[bytes] = None) -> Result:
    """Run argv in the charm dir; a lost machine is exit code 255."""
    start = time.time()
    try:
        res = provider.exec(machine, argv, env=env, stdin=stdin, cwd=charm_dir(unit),
                            timeout=HOOK_TIMEOUT)
        code, out, err = res.returncode, res.stdout or b"", res.stderr or b""
    except Exception as e:  # noqa: BLE001 - a provider failure is a failed hook
        code, out, err = 255, b"", f"yard: {e}".encode()
    return Result(code=code, stdout=out, stderr=err, start=start,
                  duration=time.time() - start)


def write_temp(data: bytes) -> str:
    """A temporary host file holding ``data`` (caller removes it)."""
    fd, path = tempfile.mkstemp(prefix="yard-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


def completed(code: int) -> subprocess.CompletedProcess:
    """A CompletedProcess stand-in for skipped runs."""
    return subprocess.CompletedProcess([], code, b"", b"")
