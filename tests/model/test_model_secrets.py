"""Juju secrets on LXD: a secret made by the owner's leader, granted over a relation,
read by the consumer, rotated, and followed with ``--refresh``; a user secret given
through a config option of type secret.

One machine holds both units (``--to 0``) to keep the test short.  Time for the
hourly rotation passes with ``yard advance-clock`` (the model clock that secret
timers use; see tools/yard/README.md, "Secrets").
"""

import os
import re
import stat

import pytest

from conftest import BUILD, parse_record, skip_or_fail

pytestmark = pytest.mark.model

OWNER = "yard-secret-owner"
CONSUMER = "yard-secret-consumer"
URI_RE = re.compile(r"^secret:[0-9a-v]{20}$")


@pytest.fixture(scope="module")
def model(yard):
    for name in (OWNER, CONSUMER):
        if not (BUILD / name).is_dir():
            skip_or_fail("build/%s is not built; run `make build`" % name)
    yard.run("deploy", BUILD / OWNER, timeout=1500)
    yard.run("deploy", BUILD / CONSUMER, "--to", "0", timeout=1500)
    yard.run("relate", OWNER, CONSUMER)
    yard.wait(timeout=1500)
    return yard


def log(yard, charm, unit):
    out = yard.exec(unit, "cat /var/log/%s-hooks.log 2>/dev/null || true" % charm)
    return [parse_record(line) for line in out.splitlines() if line.strip()]


def kept(yard, name):
    return yard.exec("%s/0" % CONSUMER, "cat /var/lib/yard-secret-consumer/%s" % name).strip()


def content(yard, uri):
    data = yard.run("show-secret", uri, "--reveal", "--format", "json").json()
    return data[uri[len("secret:"):]]


def test_secret_shared_read_rotated_and_refreshed(model):
    yard = model
    uri = yard.relation_info("%s/0" % CONSUMER, "creds")["application-data"]["secret-uri"]
    assert URI_RE.match(uri)
    first = content(yard, uri)
    assert first["revision"] == 1 and first["owner"] == OWNER and first["label"] == "creds"
    assert first["rotation"] == "hourly"
    assert kept(yard, "password") == first["content"]["password"]
    assert first["content"]["password"].startswith("initial-")

    # an hour passes: secret-rotate on the owner's leader, secret-changed on the consumer
    yard.run("advance-clock", "61m")
    yard.until(lambda: content(yard, uri)["revision"] == 2, message="a second revision")
    yard.wait()
    second = content(yard, uri)
    assert second["content"]["password"].startswith("rotated-")
    assert kept(yard, "password") == second["content"]["password"]
    owner = log(yard, OWNER, "%s/0" % OWNER)
    rotates = [r for r in owner if r["hook"] == "secret-rotate"]
    assert len(rotates) == 1, owner
    assert rotates[0]["secret-id"] == uri and rotates[0]["secret-label"] == "creds"
    assert rotates[0]["secret-revision"] == "unset"
    changed = [r for r in log(yard, CONSUMER, "%s/0" % CONSUMER) if r["hook"] == "secret-changed"]
    assert [(r["secret-id"], r["secret-label"], r["secret-revision"]) for r in changed] == [
        (uri, "creds", "unset")]
    # the consumer moved to revision 2, so revision 1 is obsolete: secret-remove on the owner
    removes = yard.until(lambda: [r for r in log(yard, OWNER, "%s/0" % OWNER)
                                  if r["hook"] == "secret-remove"], message="secret-remove")
    assert [(r["secret-id"], r["secret-revision"]) for r in removes] == [(uri, "1")]
    yard.until(lambda: [r["revision"] for r in yard.run(
        "show-secret", uri, "--revisions", "--format", "json").json()[uri[7:]]["revisions"]]
        == [2], message="revision 1 removed")


def test_user_secret_through_a_config_option_of_type_secret(model):
    yard = model
    uri = yard.run("add-secret", "api-key", "key=Us3rS3cret", "--info", "for the test").stdout
    uri = uri.strip()
    assert URI_RE.match(uri)
    yard.run("grant-secret", "api-key", CONSUMER)
    yard.run("config", CONSUMER, "api-key=%s" % uri)
    yard.wait()
    assert kept(yard, "api-key") == "Us3rS3cret"
    assert yard.run("config", CONSUMER, "api-key").stdout.strip() == uri
    rows = yard.run("secrets").stdout
    assert "api-key" in rows and "<model>" in rows


def test_content_is_never_shown_and_stored_root_only(model):
    yard = model
    secret_values = [kept(yard, "password"), "Us3rS3cret"]
    texts = [yard.run("debug-log", "--replay", "--no-tail").output,
             yard.run("status", "--format", "json").stdout,
             yard.run("show-unit", "%s/0" % CONSUMER, "%s/0" % OWNER).stdout,
             yard.run("hooks", "--format", "json").stdout,
             yard.run("secrets", "--format", "json").stdout]
    for value in secret_values:
        assert value and not any(value in t for t in texts), value
    path = os.path.join(str(yard.home), yard.model, "secrets.json")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    mode = yard.exec("%s/0" % CONSUMER, "stat -c %a /var/lib/yard-secret-consumer/password")
    assert mode.strip() == "600"
