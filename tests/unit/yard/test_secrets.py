"""Juju 3.x secrets in yard: hook tools, tracking rules, hooks, access, user secrets, storage.

Texts and rules are Juju 3.6's; where each comes from (juju/juju):

* argument errors (exit 2): ``worker/uniter/runner/jujuc/secret-add.go``
  (``secretUpsertCommand.Init``, ``secretAddCommand.Init``), ``secret-get.go``,
  ``secret-info-get.go``, ``secret-grant.go``, ``secret-revoke.go``,
  ``secret-remove.go``; content: ``core/secrets/createsecret.go``
  (``CreateSecretData``/``encodeBase64``); URIs: ``core/secrets/secret.go`` (``ParseURI``);
* run-time errors (exit 1) and tracking: ``apiserver/facades/agent/secretsmanager``
  (``permission denied``, ``secret "<id>" not found``), ``worker/uniter/runner/context``
  (``this unit is not the leader``), ``core/secrets/secretvalue.go`` (``KeyValue``:
  ``secret key value "k" not found``); hooks and their env: ``worker/uniter/secrets``.
"""

import json
import os
import re
import shutil
import stat
import time

import pytest
import yaml

from fake_context import FakeContext
from yard.tools.server import run_tool
from yard_harness import TINY, Harness, UserError

URI_RE = re.compile(r"^secret:[0-9a-v]{20}$")
SID = "secret:9m4e2mr0ui3e8a215n4g"  # the id Juju's own docs use


def run(ctx, tool, *args):
    return run_tool(ctx, tool, list(args), stdin=b"", cwd="/charm")


def usage(tool, *args):
    res = run(FakeContext(), tool, *args)
    assert res.code == 2 and res.stdout == b"", res
    return res.stderr.decode()[len("ERROR "):-1]


# --- argument errors (juju/cmd Init: exit 2) --------------------------------------------

@pytest.mark.parametrize("tool,args,message", [
    ("secret-add", [], "missing secret value or filename"),
    ("secret-add", ["--rotate", "sometimes", "token=x"], 'rotate policy "sometimes" not valid'),
    ("secret-add", ["--owner", "model", "token=x"], 'secret owner "model" not valid'),
    ("secret-add", ["--expire", "soon", "token=x"], 'expire time or duration "soon" not valid'),
    ("secret-add", ["--expire", "-5m", "token=x"], 'negative expire duration "-5m" not valid'),
    ("secret-add", ["tk=x"], 'key "tk" not valid'),
    ("secret-add", ["Token=x"], 'key "Token" not valid'),
    ("secret-add", ["token"], 'key value "token" not valid'),
    ("secret-add", ["=x"], 'key value "=x" not valid'),
    ("secret-set", [], "missing secret URI"),
    ("secret-set", ["secret:nope", "token=x"], 'secret URI "secret:nope" not valid'),
    ("secret-get", [], "require either a secret URI or label"),
    ("secret-get", [SID, "--peek", "--refresh"],
     "specify one of --peek or --refresh but not both"),
    ("secret-get", ["secret:x"], 'secret URI "secret:x" not valid'),
    ("secret-get", [SID, "a", "b"], 'unrecognized args: ["b"]'),
    ("secret-get", [SID, "--format", "smart"],
     'invalid value "smart" for flag --format: unknown format "smart"'),
    ("secret-info-get", [], "require either a secret URI or label"),
    ("secret-info-get", [SID, "--label", "x"],
     "specify either a secret URI or label but not both"),
    ("secret-remove", [], "missing secret URI"),
    ("secret-grant", [], "missing secret URI"),
    ("secret-grant", [SID], "no relation id specified"),
    ("secret-revoke", [], "missing secret URI"),
    ("secret-revoke", [SID], "missing relation or application or unit"),
    ("secret-revoke", [SID, "--app", "a", "--unit", "a/0"],
     "specify only one of application or unit"),
    ("secret-ids", ["x"], 'unrecognized args: ["x"]'),
])
def test_argument_errors_exit_2(tool, args, message):
    assert usage(tool, *args) == message


def test_fake_context_without_secrets_fails_at_run_time():
    res = run(FakeContext(), "secret-add", "token=x")
    assert res.code == 1 and res.stderr == b"ERROR secrets are not supported\n"


# --- a model with two related applications ---------------------------------------------

HOOKS = {
    "secret-changed": 'if [ -e "$CHARM_DIR/../no-refresh" ]; then echo changed >> "$SLOG"; '
                      'exit 0; fi\n'
                      'echo "changed id=$JUJU_SECRET_ID label=$JUJU_SECRET_LABEL '
                      'rev=${JUJU_SECRET_REVISION-unset} '
                      'old=$(secret-get "$JUJU_SECRET_ID" token) '
                      'new=$(secret-get "$JUJU_SECRET_ID" token --refresh) '
                      'after=$(secret-get "$JUJU_SECRET_ID" token)" >> "$SLOG"',
    "secret-rotate": 'echo "rotate id=$JUJU_SECRET_ID label=$JUJU_SECRET_LABEL '
                     'rev=${JUJU_SECRET_REVISION-unset}" >> "$SLOG"\n'
                     '[ -e "$CHARM_DIR/../no-rotate" ] || '
                     'secret-set "$JUJU_SECRET_ID" token="rotated-$(date +%s%N)"',
    "secret-expired": 'echo "expired id=$JUJU_SECRET_ID rev=$JUJU_SECRET_REVISION" >> "$SLOG"\n'
                      'secret-remove "$JUJU_SECRET_ID" --revision "$JUJU_SECRET_REVISION"',
    "secret-remove": 'echo "remove id=$JUJU_SECRET_ID label=$JUJU_SECRET_LABEL '
                     'rev=$JUJU_SECRET_REVISION" >> "$SLOG"\n'
                     'secret-remove "$JUJU_SECRET_ID" --revision "$JUJU_SECRET_REVISION"',
}


def secret_charm(tmp_path):
    """The tiny charm plus secret hooks that log to ``../secrets.log``."""
    path = str(tmp_path / "tiny-secrets")
    shutil.copytree(TINY, path, symlinks=True)
    for name, body in HOOKS.items():
        hook = os.path.join(path, "hooks", name)
        with open(hook, "w") as f:
            f.write('#!/bin/bash\n. "$(dirname "$0")/common.sh"\n'
                    'SLOG="$CHARM_DIR/../secrets.log"\n' + body + "\n")
        os.chmod(hook, 0o755)
    return path


@pytest.fixture
def pair(h, tmp_path):
    """``owner`` (db) related to ``consumer`` (backend), two consumer units."""
    charm = secret_charm(tmp_path)
    h.call("deploy", path=charm, name="owner")
    h.call("deploy", path=charm, name="consumer", num_units=2)
    h.call("relate", a="owner:db", b="consumer:backend")
    h.wait()
    return h


def sh(h, unit, command):
    """Run in a hook context; (code, stdout, stderr without ERROR prefix)."""
    code, out, err = h.exec(unit, command)
    return code, out, err.replace("ERROR ", "")


def ok(h, unit, command):
    code, out, err = h.exec(unit, command)
    assert code == 0, (command, out, err)
    return out


def unit_dir(h, unit):
    return os.path.join(h.machine_dir(unit), "var/lib/juju/agents",
                        "unit-" + unit.replace("/", "-"))


def slog(h, unit):
    path = os.path.join(unit_dir(h, unit), "secrets.log")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.split() for line in f]


def granted(h, *args):
    uri = ok(h, "owner/0", "secret-add token=one " + " ".join(args)).strip()
    ok(h, "owner/0", f"secret-grant {uri} -r $(relation-ids db)")
    return uri


def test_add_prints_uri_and_owner_reads_it(pair):
    h = pair
    uri = ok(h, "owner/0", "secret-add --label db-pass --description 'the db' token=s3cret "
             "other#base64=aGk=").strip()
    assert URI_RE.match(uri)
    assert ok(h, "owner/0", f"secret-get {uri}") == "other: hi\ntoken: s3cret\n"
    assert ok(h, "owner/0", f"secret-get {uri} token") == "s3cret\n"
    assert ok(h, "owner/0", f"secret-get {uri} token#base64") == "czNjcmV0\n"
    assert ok(h, "owner/0", "secret-get --label db-pass --format json") == \
        '{"other":"hi","token":"s3cret"}\n'
    assert ok(h, "owner/0", "secret-ids") == uri[len("secret:"):] + "\n"
    info = yaml.safe_load(ok(h, "owner/0", f"secret-info-get {uri}"))
    assert info == {uri[7:]: {"revision": 1, "label": "db-pass", "owner": "application",
                              "description": "the db"}}
    code, _, err = sh(h, "owner/0", f"secret-get {uri} missing")
    assert (code, err) == (1, 'secret key value "missing" not found\n')


def test_secret_added_in_a_hook_is_readable_in_it_and_lost_if_it_fails(pair):
    h = pair
    out = ok(h, "owner/0", 'u=$(secret-add token=x); secret-get "$u" token; echo "$u"')
    value, uri = out.split()
    assert value == "x" and URI_RE.match(uri)
    code, out, _ = sh(h, "owner/0", 'u=$(secret-add token=lost); echo "$u"; exit 1')
    assert code == 1
    code, _, err = sh(h, "owner/0", f"secret-get {out.strip()}")
    assert (code, err) == (1, f'secret "{out.strip()[7:]}" not found\n')


def test_leadership_and_unit_owned_secrets(pair):
    h = pair
    code, _, err = sh(h, "consumer/1", "secret-add token=x")
    assert (code, err) == (1, "this unit is not the leader\n")
    uri = ok(h, "consumer/1", "secret-add --owner unit --label mine token=x").strip()
    info = yaml.safe_load(ok(h, "consumer/1", "secret-info-get --label mine"))
    assert info[uri[7:]]["owner"] == "unit"
    assert ok(h, "consumer/0", "secret-ids") == ""
    code, _, err = sh(h, "consumer/0", f"secret-get {uri}")
    assert (code, err) == (1, "permission denied\n")
    code, _, err = sh(h, "consumer/0", "secret-info-get --label mine")
    assert (code, err) == (1, 'secret "mine" not found\n')
    code, _, err = sh(h, "owner/0", "secret-add --label dup token=a; secret-add --label dup "
                      "token=b")
    assert (code, err) == (1, "secret label already exists\n")


def test_consumer_tracking_peek_refresh_and_secret_changed(pair):
    h = pair
    uri = granted(h)
    code, _, err = sh(h, "consumer/0", "secret-get secret:aaaaaaaaaaaaaaaaaaa0")
    assert (code, err) == (1, 'secret "aaaaaaaaaaaaaaaaaaa0" not found\n')
    assert ok(h, "consumer/0", f"secret-get {uri} token --label the-db") == "one\n"
    ok(h, "owner/0", f"secret-set {uri} token=two")
    h.wait()
    # consumer/0 read it: it tracks revision 1 and got secret-changed for revision 2
    assert slog(h, "consumer/0") == [["changed", f"id={uri}", "label=the-db", "rev=unset",
                                      "old=one", "new=two", "after=two"]]
    assert slog(h, "consumer/1") == []  # never read it: no consumer record, no hook
    assert slog(h, "owner/0") == [["remove", f"id={uri}", "label=", "rev=1"]]
    assert ok(h, "consumer/1", f"secret-get {uri} token") == "two\n"
    open(os.path.join(unit_dir(h, "consumer/1"), "no-refresh"), "w").close()
    ok(h, "owner/0", f"secret-set {uri} token=three")
    h.wait()
    assert slog(h, "consumer/1") == [["changed"]]
    assert ok(h, "consumer/1", f"secret-get {uri} token") == "two\n"
    assert ok(h, "consumer/1", f"secret-get {uri} token --peek") == "three\n"
    assert ok(h, "consumer/1", f"secret-get {uri} token") == "two\n"
    assert ok(h, "consumer/0", "secret-get --label the-db") == "token: three\n"
    # as in Juju, the first argument is always the URI, even with --label
    assert sh(h, "consumer/0", "secret-get --label the-db token")[2] == \
        'secret URI "token" not valid\n'
    assert ok(h, "owner/0", f"secret-get {uri} token") == "three\n"  # owners see the latest


def test_identical_content_makes_no_revision(pair):
    h = pair
    uri = granted(h)
    ok(h, "owner/0", f"secret-set {uri} token=one; secret-set {uri} --description d")
    info = yaml.safe_load(ok(h, "owner/0", f"secret-info-get {uri}"))[uri[7:]]
    assert info["revision"] == 1 and info["description"] == "d"


def test_obsolete_revision_waits_for_its_last_consumer(pair):
    h = pair
    uri = granted(h)
    ok(h, "consumer/1", f"secret-get {uri}")
    h.call("fail-hook", unit="consumer/1", hook="secret-changed")
    ok(h, "owner/0", f"secret-set {uri} token=two")
    h.until(lambda: h.status()["applications"]["consumer"]["units"]["consumer/1"]
            ["workload-status"]["current"] == "error", message="consumer/1 in error")
    assert slog(h, "owner/0") == []  # consumer/1 still tracks revision 1
    h.call("resolved", unit="consumer/1")
    h.wait()
    assert slog(h, "owner/0") == [["remove", f"id={uri}", "label=", "rev=1"]]
    revs = h.call("show-secret", name=uri, revisions=True)[uri[7:]]["revisions"]
    assert [r["revision"] for r in revs] == [2]


def test_grant_ends_with_the_relation_and_revoke(pair):
    h = pair
    uri = ok(h, "owner/0", "secret-add token=one").strip()
    assert sh(h, "consumer/0", f"secret-get {uri}")[2] == "permission denied\n"
    ok(h, "owner/0", f"secret-grant {uri} -r $(relation-ids db) --unit consumer/1")
    assert sh(h, "consumer/0", f"secret-get {uri}")[2] == "permission denied\n"
    assert ok(h, "consumer/1", f"secret-get {uri} token") == "one\n"
    code, _, err = sh(h, "owner/0", f"secret-grant {uri} -r $(relation-ids db)")
    assert (code, err) == (1, "any unit level grants need to be revoked before granting "
                              "access to the corresponding application\n")
    code, _, err = sh(h, "owner/0", f"secret-grant {uri} -r $(relation-ids db) --unit owner/0")
    assert (code, err) == (2, 'cannot specify unit "owner/0" in relation to application '
                              '"consumer"\n')
    ok(h, "owner/0", f"secret-revoke {uri} --unit consumer/1; "
       f"secret-grant {uri} -r $(relation-ids db)")
    info = yaml.safe_load(ok(h, "owner/0", f"secret-info-get {uri} --format yaml"))[uri[7:]]
    rid = h.ctl.state.relations[max(h.ctl.state.relations)].id
    assert info["access"] == [{"target": "application-consumer",
                               "scope": "relation-consumer.backend#owner.db", "role": "view"}]
    assert ok(h, "consumer/0", f"secret-get {uri} token") == "one\n"
    h.call("remove-relation", a="owner:db", b="consumer:backend")
    h.wait()
    assert rid not in h.ctl.state.relations or not h.ctl.state.relations[rid].alive
    assert sh(h, "consumer/0", f"secret-get {uri}")[2] == "permission denied\n"
    info = yaml.safe_load(ok(h, "owner/0", f"secret-info-get {uri}"))[uri[7:]]
    assert "access" not in info


def test_rotate_fires_on_the_owner_leader_when_the_clock_passes(pair):
    h = pair
    uri = granted(h, "--rotate hourly --label rot")
    info = yaml.safe_load(ok(h, "owner/0", f"secret-info-get {uri}"))[uri[7:]]
    assert info["rotation"] == "hourly" and "rotates" in info
    ok(h, "consumer/0", f"secret-get {uri}")
    h.call("advance-clock", duration="30m")
    h.wait()
    assert slog(h, "owner/0") == []
    h.call("advance-clock", duration="31m")
    h.wait()
    log = slog(h, "owner/0")
    assert log[0] == ["rotate", f"id={uri}", "label=rot", "rev=unset"]
    assert [x[0] for x in log] == ["rotate", "remove"]  # revision 1 became obsolete
    assert slog(h, "consumer/0")[0][:2] == ["changed", f"id={uri}"]
    s = h.ctl.state.secrets.secrets[uri[7:]]
    assert s.latest == 2
    assert 3500 < s.next_rotate - h.ctl.secret_clock() <= 3600  # the next in an hour


def test_rotate_without_a_new_revision_retries_in_five_minutes(pair, tmp_path):
    h = pair
    open(os.path.join(unit_dir(h, "owner/0"), "no-rotate"), "w").close()
    uri = granted(h, "--rotate daily")
    h.call("advance-clock", duration="25h")
    h.wait()
    assert [x[0] for x in slog(h, "owner/0")] == ["rotate"]
    s = h.ctl.state.secrets.secrets[uri[7:]]
    assert 290 < s.next_rotate - h.ctl.secret_clock() <= 300


def test_expiry_fires_secret_expired_with_the_revision(pair):
    h = pair
    uri = ok(h, "owner/0", "secret-add --expire 2h token=one").strip()
    ok(h, "owner/0", f"secret-set {uri} token=two --expire 1h")
    h.call("advance-clock", duration="90m")
    h.wait()
    log = slog(h, "owner/0")
    assert ["expired", f"id={uri}", "rev=2"] in log
    assert ["expired", f"id={uri}", "rev=1"] not in log


def test_user_secret_cli_grant_and_config(pair):
    h = pair
    uri = h.call("add-secret", name="apikey", content={"key": "czNjcmV0"}, info="api")["uri"]
    assert URI_RE.match(uri)
    with pytest.raises(UserError, match='secret with name "apikey" already exists'):
        h.call("add-secret", name="apikey", content={"key": "eA=="})
    assert sh(h, "consumer/0", f"secret-get {uri} key")[2] == "permission denied\n"
    h.call("grant-secret", name="apikey", apps=["consumer"])
    assert ok(h, "consumer/0", f"secret-get {uri} key") == "s3cret\n"
    h.call("update-secret", name="apikey", content={"key": "bmV3"})
    h.wait()
    assert slog(h, "consumer/0")[0][:2] == ["changed", f"id={uri}"]
    shown = h.call("show-secret", name="apikey", revisions=True)[uri[7:]]
    assert shown["owner"] == "<model>" and shown["name"] == "apikey"
    assert [r["revision"] for r in shown["revisions"]] == [2]  # user secrets prune
    assert "content" not in shown
    assert h.call("show-secret", name=uri, reveal=True)[uri[7:]]["content"] == {"key": "new"}
    rows = h.call("secrets")
    assert [(r["name"], r["owner"], r["revision"]) for r in rows] == [("apikey", "<model>", 2)]
    with pytest.raises(UserError, match='application "nope" not found'):
        h.call("grant-secret", name="apikey", apps=["nope"])
    h.call("remove-secret", name="apikey")
    assert h.call("secrets") == []
    with pytest.raises(UserError, match='secret "apikey" not found'):
        h.call("show-secret", name="apikey")


def test_content_stays_out_of_logs_status_and_world_readable_files(pair):
    h = pair
    uri = ok(h, "owner/0", "secret-add token=Sup3rS3cretValue").strip()
    ok(h, "owner/0", f"secret-set {uri} token=An0therS3cretValue")
    h.call("add-secret", name="u", content={"key": "VXMzclMzY3JldA=="})  # "Us3rS3cret"
    ok(h, "owner/0", f"secret-get {uri} token >/dev/null")
    h.ctl._save()
    texts = [json.dumps(h.call("logs", after=0)), json.dumps(h.status()),
             json.dumps(h.call("show-unit", units=["owner/0", "consumer/0"])),
             json.dumps(h.call("hooks")), json.dumps(h.call("secrets")),
             json.dumps(h.call("show-secret", name=uri))]
    with open(os.path.join(h.ctl.dir, "state.db"), "rb") as f:
        texts.append(f.read().decode("latin-1"))
    for plain in ("Sup3rS3cretValue", "An0therS3cretValue", "Us3rS3cret"):
        for b64 in (plain, __import__("base64").b64encode(plain.encode()).decode()[:16]):
            assert not any(b64 in t for t in texts), b64
    path = os.path.join(h.ctl.dir, "secrets.json")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as f:
        assert "QW4wdGhlclMzY3JldFZhbHVl" in f.read()  # it is where the content lives


def test_content_survives_a_controller_restart(tmp_path, pair):
    h = pair
    uri = ok(h, "owner/0", "secret-add token=kept").strip()
    h.stop()
    h2 = Harness(tmp_path)
    try:
        deadline = time.time() + 10
        while not h2.ctl.ready and time.time() < deadline:
            time.sleep(0.05)
        assert ok(h2, "owner/0", f"secret-get {uri} token") == "kept\n"
    finally:
        h2.stop()


# --- pure parts: the resolver's order, content parsing, policies --------------------------

def test_resolver_orders_secret_hooks_after_relations_as_juju():
    from yard import resolver
    from yard.model import LocalState, RemoteState
    local = LocalState(installed=True, started=True, config_version=1, charm_modified_version=0,
                       leader_settings_version=1)
    remote = RemoteState(unit="a/0", secrets_expired=(("secret:e", 2),),
                         secrets_rotate=("secret:r",), secrets_changed=("secret:c",),
                         secrets_obsolete=(("secret:o", 1),))
    order = []
    for field in ("secrets_expired", "secrets_rotate", "secrets_changed", "secrets_obsolete"):
        op = resolver.next_op(local, remote)
        order.append((op.hook, op.secret_uri, op.secret_revision))
        remote = __import__("dataclasses").replace(remote, **{field: ()})
    assert order == [("secret-expired", "secret:e", 2), ("secret-rotate", "secret:r", None),
                     ("secret-changed", "secret:c", None), ("secret-remove", "secret:o", 1)]
    assert resolver.next_op(local, remote) is None
    # not before install, and never while dying
    assert resolver.next_op(LocalState(), RemoteState(unit="a/0", secrets_rotate=("x",))).hook \
        == "install"
    dying = RemoteState(unit="a/0", alive=False, secrets_rotate=("x",))
    assert resolver.next_op(local, dying).hook == "stop"


def test_content_parsing_and_time_rules(tmp_path):
    from yard import secrets
    path = tmp_path / "cert"
    path.write_text("line1\nline2")
    content = secrets.parse_content(["token=a=b", "blob#base64=aGk=", f"cert#file={path}"],
                                    lambda p: open(p, "rb").read())
    assert secrets.decoded(content) == {"token": "a=b", "blob": "hi", "cert": "line1\nline2"}
    with pytest.raises(secrets.SecretError, match='key "ab" not valid'):
        secrets.encode_content({"ab": "x"})
    assert secrets.parse_expire("2025-01-01T06:06:06", 0) == 1735711566.0  # taken as UTC
    assert secrets.parse_expire("2025-01-01T07:06:06+01:00", 0) == 1735711566.0
    assert secrets.parse_expire("1h30m", 100.0) == 100.0 + 5400
    jan31 = secrets.parse_expire("2025-01-31T00:00:00Z", 0)
    assert secrets.rfc3339(secrets.next_rotate("monthly", jan31, 0)) == "2025-02-28T00:00:00Z"
    assert secrets.next_rotate("never", jan31, 0) is None
    assert secrets.next_rotate("hourly", 0.0, 50000.0) == 50000.0  # never before now
    assert secrets.parse_uri("secret:9m4e2mr0ui3e8a215n4g") == "9m4e2mr0ui3e8a215n4g"
    assert secrets.parse_uri("9m4e2mr0ui3e8a215n4g") == "9m4e2mr0ui3e8a215n4g"
    assert URI_RE.match(secrets.uri(secrets.new_id()))


def test_expired_repeats_every_five_minutes_until_removed(pair):
    h = pair
    uri = ok(h, "owner/0", "secret-add --expire 1h token=one; "
             "secret-add --expire 1h --owner unit token=two").split()[0]
    # the test charm's hook removes the revision: make it keep it instead
    hook = os.path.join(unit_dir(h, "owner/0"), "charm/hooks/secret-expired")
    with open(hook, "w") as f:
        f.write('#!/bin/bash\necho "expired $JUJU_SECRET_ID $JUJU_SECRET_REVISION" '
                '>> "$CHARM_DIR/../secrets.log"\n')
    h.call("advance-clock", duration="61m")
    h.wait()
    first = [x for x in slog(h, "owner/0") if x[1] == uri]
    assert first == [["expired", uri, "1"]]
    h.call("advance-clock", duration="4m")
    h.wait()
    assert [x for x in slog(h, "owner/0") if x[1] == uri] == first
    h.call("advance-clock", duration="2m")
    h.wait()
    assert [x for x in slog(h, "owner/0") if x[1] == uri] == first * 2


def test_secrets_go_with_their_owner(pair):
    h = pair
    app_uri = ok(h, "consumer/0", "secret-add token=a").strip()
    unit_uri = ok(h, "consumer/1", "secret-add --owner unit token=b").strip()
    h.call("remove-unit", units=["consumer/1"])
    h.wait()
    table = h.ctl.state.secrets.secrets
    assert unit_uri[7:] not in table and app_uri[7:] in table
    h.call("remove-application", apps=["consumer"])
    h.wait()
    h.until(lambda: app_uri[7:] not in h.ctl.state.secrets.secrets, message="app secret gone")
    assert h.ctl.secret_contents.data == {}
