"""Juju 3.x secrets as data: ids, policies, content parsing and the tracking rules.

Pure functions and frozen dataclasses (no I/O, no clock of their own: callers
pass ``now``).  The controller room ``yard.controller.secrets`` keeps a
:class:`SecretStore` in the model state and the *content* of every revision in
a separate root-only file; nothing here ever holds content except the small
parse helpers, whose results go straight to that file.

Where the rules come from (juju/juju, 3.6 tree unless noted):

* ids: ``core/secrets/secret.go`` (``NewURI`` makes an xid: 20 characters of
  base32hex, lower case; ``ParseURI`` accepts ``secret:<id>`` or a bare id);
* content: ``core/secrets/createsecret.go`` (``CreateSecretData``: ``key=value``,
  ``key#base64=...``, ``key#file=path``; keys match ``^[a-z](-?[a-z0-9]){2,}$``;
  1,000,000 bytes of base64 per value and in all);
* policies: ``core/secrets/rotate.go`` (``RotatePolicy.NextRotateTime``);
* tracking: ``apiserver/facades/agent/secretsmanager/secrets.go``
  (``getSecretContent``: owners read the latest revision, consumers the one
  they track until ``--refresh``; ``--peek`` reads the latest once).
"""

import base64
import calendar
import dataclasses
import datetime
import os
import re
from typing import Dict, Optional, Tuple

#: ``core/secrets/rotate.go``: a rotate hook that made no new revision comes back after this.
ROTATE_RETRY_DELAY = 300.0
#: ``core/secrets/rotate.go``: ``secret-expired`` repeats until the revision is removed.
EXPIRE_RETRY_DELAY = 300.0

POLICIES = ("never", "hourly", "daily", "weekly", "monthly", "quarterly", "yearly")
_ID_RE = re.compile(r"^[0-9a-v]{20}$")  # xid.FromString: base32hex
_KEY_RE = re.compile(r"^[a-z](?:-?[a-z0-9]){2,}$")
MAX_VALUE = 1000 * 1000
MAX_CONTENT = 1000 * 1000

#: ``owner`` of a user secret (``juju add-secret``): the model.
MODEL_OWNER = "model"


class SecretError(Exception):
    """A rule broken; ``code`` 2 for argument errors (juju/cmd ``Init``), else 1."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.message = message
        self.code = code


def new_id() -> str:
    """A fresh secret id: 12 random bytes as 20 lower-case base32hex characters (an xid)."""
    return base64.b32hexencode(os.urandom(12)).decode().rstrip("=").lower()


def parse_uri(text: str) -> str:
    """The bare id of ``secret:<id>`` or ``<id>``; ``secret URI "x" not valid`` (code 2)."""
    body = text[len("secret:"):] if text.startswith("secret:") else text
    if "/" in body:
        body = body.rsplit("/", 1)[1]  # secret://<model uuid>/<id>
    if not _ID_RE.match(body):
        raise SecretError('secret URI "%s" not valid' % text, 2)
    return body


def uri(secret_id: str) -> str:
    """``secret:<id>``, the form Juju prints and hooks get in ``JUJU_SECRET_ID``."""
    return "secret:" + secret_id


# --- content --------------------------------------------------------------------------

def parse_content(args, read_file) -> Dict[str, str]:
    """``CreateSecretData``: key values to ``{key: base64}``.

    :param read_file: ``path -> bytes`` for ``key#file=path`` (read on the unit).
    :raises SecretError: with Juju's texts, code 2 (an ``Init`` error).
    """
    data: Dict[str, str] = {}
    for arg in args:
        idx = arg.rstrip("=").find("=")
        if idx < 1:
            raise SecretError('key value "%s" not valid' % arg, 2)
        key, value = arg[:idx], arg[idx + 1:]
        if key.endswith("#file"):
            key = key[:-len("#file")]
            try:
                value = read_file(value).decode("utf-8", "surrogateescape")
            except OSError as e:
                raise SecretError('reading content for secret key "%s": %s' % (key, e), 2)
        data[key] = value
    return encode_content(data)


def encode_content(data: Dict[str, str]) -> Dict[str, str]:
    """``encodeBase64``: base64 every value (but ``key#base64`` ones), check keys and sizes."""
    out: Dict[str, str] = {}
    total = 0
    for key, value in data.items():
        if key.endswith("#base64"):
            key = key[:-len("#base64")]
        else:
            value = base64.b64encode(str(value).encode("utf-8", "surrogateescape")).decode()
        if not _KEY_RE.match(key):
            raise SecretError('key "%s" not valid' % key, 2)
        if len(value) > MAX_VALUE:
            raise SecretError('base64 encoded secret content for key "%s" too large: %d bytes'
                              % (key, len(value)), 2)
        out[key] = value
        total += len(value)
    if total > MAX_CONTENT:
        raise SecretError("base64 encoded secret content too large: %d bytes" % total, 2)
    return out


def decoded(content: Dict[str, str]) -> Dict[str, str]:
    """``SecretValue.Values``: every value decoded from base64."""
    return {k: base64.b64decode(v).decode("utf-8", "replace") for k, v in content.items()}


def key_value(content: Dict[str, str], key: str) -> str:
    """``SecretValue.KeyValue``: one value, or the raw base64 for ``key#base64``."""
    raw = key.endswith("#base64")
    name = key[:-len("#base64")] if raw else key
    if name not in content:
        raise SecretError('secret key value "%s" not found' % name)
    return content[name] if raw else decoded({name: content[name]})[name]


# --- time ------------------------------------------------------------------------------

_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
             "h": 3600.0}
_GO_DURATION = re.compile(r"^([-+]?)((?:[0-9]*\.?[0-9]+(?:ns|us|\u00b5s|ms|s|m|h))+|0)$")


def go_duration(text: str) -> float:
    """Go's ``time.ParseDuration`` in seconds; ValueError if it does not parse."""
    m = _GO_DURATION.match(text)
    if not m:
        raise ValueError(text)
    total = sum(float(n) * _GO_UNITS[u]
                for n, u in re.findall(r"([0-9]*\.?[0-9]+)(ns|us|\u00b5s|ms|s|m|h)", m.group(2)))
    return -total if m.group(1) == "-" else total


def parse_expire(text: str, now: float) -> float:
    """``--expire``: RFC 3339, ``2006-01-02T15:04:05`` (UTC) or a duration from ``now``.

    Texts of ``worker/uniter/runner/jujuc/secret-add.go`` ``secretUpsertCommand.Init``.
    """
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            return datetime.datetime.strptime(text.replace("Z", "+0000"), fmt).timestamp()
        except ValueError:
            pass
    try:
        naive = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S")
        return float(calendar.timegm(naive.timetuple()))
    except ValueError:
        pass
    try:
        seconds = go_duration(text)
    except ValueError:
        raise SecretError('expire time or duration "%s" not valid' % text, 2) from None
    if seconds <= 0:
        raise SecretError('negative expire duration "%s" not valid' % text, 2)
    return now + seconds


def check_policy(policy: str) -> str:
    """``rotate policy "x" not valid`` (code 2) unless one of :data:`POLICIES`."""
    if policy not in POLICIES:
        raise SecretError('rotate policy "%s" not valid' % policy, 2)
    return policy


def _add_months(when: float, months: int) -> float:
    t = datetime.datetime.fromtimestamp(when, datetime.timezone.utc)
    month = t.month - 1 + months
    year, month = t.year + month // 12, month % 12 + 1
    day = min(t.day, calendar.monthrange(year, month)[1])
    return t.replace(year=year, month=month, day=day).timestamp()


def next_rotate(policy: str, last: float, now: float) -> Optional[float]:
    """``NextRotateTime``: last rotation plus the policy's interval, never before ``now``."""
    fixed = {"hourly": 3600.0, "daily": 86400.0, "weekly": 7 * 86400.0}
    months = {"monthly": 1, "quarterly": 3, "yearly": 12}
    if policy in fixed:
        nxt = last + fixed[policy]
    elif policy in months:
        nxt = _add_months(last, months[policy])
    else:
        return None
    return max(nxt, now)


def rfc3339(when: Optional[float]) -> Optional[str]:
    """``2025-01-02T03:04:05Z`` (what goyaml prints for a ``time.Time`` in UTC)."""
    if when is None:
        return None
    return datetime.datetime.fromtimestamp(when, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


# --- the model's secrets ---------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Revision:
    """One revision's metadata (its content lives in the root-only content file)."""

    revision: int
    created: float
    expire_time: Optional[float] = None
    expire_retry: Optional[float] = None  # next secret-expired after the first
    remove_notified: bool = False  # the owner got secret-remove for it


@dataclasses.dataclass(frozen=True)
class Consumer:
    """What one consuming unit has of a secret.

    ``revision`` is the tracked revision (moved only by ``--refresh``);
    ``seen`` the latest revision the unit was told about (first read,
    ``--refresh`` or a ``secret-changed`` hook): a newer latest fires
    ``secret-changed`` once.
    """

    revision: int
    seen: int
    label: str = ""


@dataclasses.dataclass(frozen=True)
class Grant:
    """``view`` access for an application or one unit, tied to a relation.

    ``relation_id`` is None for user secrets (``juju grant-secret``); otherwise
    the grant ends with the relation.
    """

    target: str  # "app" or "app/N"
    relation_id: Optional[int] = None


@dataclasses.dataclass(frozen=True)
class Secret:
    """A secret: owner (``app``, ``app/N`` or :data:`MODEL_OWNER`), revisions, access."""

    id: str
    owner: str
    revisions: Tuple[Revision, ...]
    label: str = ""
    description: str = ""
    rotate_policy: str = ""
    next_rotate: Optional[float] = None
    created: float = 0.0
    updated: float = 0.0
    consumers: Dict[str, Consumer] = dataclasses.field(default_factory=dict)
    grants: Tuple[Grant, ...] = ()

    @property
    def latest(self) -> int:
        """The latest revision number."""
        return self.revisions[-1].revision

    def revision(self, n: int) -> Optional[Revision]:
        """Revision ``n`` if it still exists."""
        return next((r for r in self.revisions if r.revision == n), None)

    @property
    def owner_kind(self) -> str:
        """``application``, ``unit`` or ``model``, as ``secret-info-get`` prints it."""
        if self.owner == MODEL_OWNER:
            return "model"
        return "unit" if "/" in self.owner else "application"


@dataclasses.dataclass(frozen=True)
class SecretStore:
    """Every secret of the model, by id, and the test clock's offset."""

    secrets: Dict[str, Secret] = dataclasses.field(default_factory=dict)
    clock_offset: float = 0.0


def owns(secret: Secret, unit: str) -> bool:
    """Whether ``unit`` manages the secret: its unit, or any unit of its application."""
    return secret.owner == unit or secret.owner == unit.split("/")[0]


def obsolete(secret: Secret, live_units) -> Tuple[int, ...]:
    """Revisions neither latest nor tracked by a consumer among ``live_units``."""
    tracked = {c.revision for u, c in secret.consumers.items() if u in live_units}
    return tuple(r.revision for r in secret.revisions
                 if r.revision != secret.latest and r.revision not in tracked)
