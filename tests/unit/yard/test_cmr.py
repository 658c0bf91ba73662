"""Cross-model relations between two in-process controllers (controller/cmr.py).

Two models, ``off`` (offers tiny:db) and ``con`` (front consumes it), each with
its own controller; they talk through ``cmr_peers`` with the same JSON round
trip as the socket.  Names and texts follow juju (see controller/cmr.py and
tools/yard/README.md, "Cross-model relations").
"""

import json
import shutil
import time

import pytest

from yard.cli_cmr import format_offers_summary, format_offers_tabular
from yard.cli_format import format_status
from yard.controller import cmr, cmr_sync
from yard_harness import TINY, Harness, UserError


@pytest.fixture
def pair(tmp_path):
    off = Harness(tmp_path / "a", model="off")
    con = Harness(tmp_path / "b", model="con")
    off.ctl.cmr_peers = {"con": con.ctl}
    con.ctl.cmr_peers = {"off": off.ctl}
    off.call("deploy", path=TINY, num_units=2)
    con.call("deploy", path=TINY, name="front", num_units=1)
    off.wait()
    con.wait()
    yield off, con
    off.stop()
    con.stop()


def _remote(h):
    """The consumer's proxy app in the offering model (``remote-<token>``)."""
    names = [n for n in h.ctl.state.remote_apps if n.startswith("remote-")]
    assert len(names) == 1, names
    return names[0]


def _related(h, unit, endpoint, units):
    def seen():
        info = h.call("show-unit", units=[unit])[unit]["relation-info"]
        rel = [i for i in info if i["endpoint"] == endpoint]
        return rel and sorted(rel[0].get("related-units", {})) == sorted(units) and rel[0]
    return h.until(seen, message=f"{unit} related to {units}")


def test_offer_consume_integrate_data_both_ways(pair):
    off, con = pair
    res = off.call("offer", target="tiny:db", name="tinydb")
    assert res["message"] == ('Application "tiny" endpoints [db] available at '
                              '"admin/off.tinydb"')
    assert con.call("consume", url="admin/off.tinydb")["message"] == \
        "Added admin/off.tinydb as tinydb"
    con.call("integrate", a="front", b="tinydb")
    # consuming side: the SAAS name is the remote app, units are <saas>/<n>
    info = _related(con, "front/0", "backend", ["tinydb/0", "tinydb/1"])
    assert info["related-endpoint"] == "db"
    con.until(lambda: _related(con, "front/0", "backend", ["tinydb/0", "tinydb/1"])
              ["application-data"] == {"greeting": "hello"}, message="app bag")
    con.wait()
    log = [(r["hook"], r["remote-unit"], r["remote-app"]) for r in con.hook_log("front/0")]
    assert ("backend-relation-created", "", "tinydb") in log
    at = log.index(("backend-relation-joined", "tinydb/0", "tinydb"))
    assert log[at + 1] == ("backend-relation-changed", "tinydb/0", "tinydb")
    assert ("backend-relation-changed", "", "tinydb") in log   # the remote app bag
    # offering side: the consumer is remote-<32 hex>, its unit remote-<hex>/0
    remote = _remote(off)
    assert len(remote) == len("remote-") + 32
    _related(off, "tiny/0", "db", [f"{remote}/0"])
    off.wait()
    log = [(r["hook"], r["remote-unit"], r["remote-app"]) for r in off.hook_log("tiny/1")]
    assert ("db-relation-joined", f"{remote}/0", remote) in log
    # the consumer's unit bag arrived with its addresses
    data = off.exec("tiny/0", f"relation-get -r db:{_rid(off)} - {remote}/0")[1]
    assert "ingress-address" in data and "egress-subnets" in data
    # goal-state: the remote app with its relation status, no units (juju's uniter
    # goalStateRelations adds units for local applications only)
    gs = json.loads(con.exec("front/0", "goal-state --format=json")[1])
    assert set(gs["relations"]["backend"]) == {"tinydb"}
    assert gs["relations"]["backend"]["tinydb"]["status"] == "joined"
    # relation-model-get names the other model on both sides
    out = con.exec("front/0", f"relation-model-get -r backend:{_rid(con)} --format=json")[1]
    assert json.loads(out) == {"uuid": off.ctl.state.uuid}
    out = off.exec("tiny/0", f"relation-model-get -r db:{_rid(off)} --format=json")[1]
    assert json.loads(out) == {"uuid": con.ctl.state.uuid}


def _rid(h):
    return next(iter(h.ctl.state.cross.values())).rid


def test_status_saas_and_offers_sections(pair):
    off, con = pair
    off.call("offer", target="tiny:db")
    con.call("integrate", a="front", b="off.tiny")   # consume implied, named after the offer
    con.until(lambda: con.status()["application-endpoints"]["tiny"]["application-status"]
              ["current"] == "active", message="SAAS status")
    st = con.status()
    saas = st["application-endpoints"]["tiny"]
    assert saas["url"] == "admin/off.tiny"
    assert saas["endpoints"] == {"db": {"interface": "tiny-db", "role": "provider"}}
    assert saas["relations"] == {"db": ["front"]}
    text = format_status(st)
    assert "SAAS  Status  Store  URL\ntiny  active  local  admin/off.tiny\n" in text
    assert text.index("SAAS") < text.index("App ")
    off.until(lambda: off.status().get("offers", {}).get("tiny", {})
              .get("active-connected-count") == 1, message="offer connected")
    text = format_status(off.status())
    assert "Offer  Application  Charm  Rev  Connected  Endpoint  Interface  Role\n" in text
    # Rev 0: the first upload of a local charm, as Juju numbers them (README, "Numbering").
    assert "tiny   tiny         tiny   0    1/1        db        tiny-db    provider" in text
    offers = off.call("offers")
    assert offers["tiny"]["offer-url"] == "admin/off.tiny"
    conn = offers["tiny"]["connections"][0]
    assert conn["endpoint"] == "db" and conn["username"] == "admin"
    assert conn["source-model-uuid"] == con.ctl.state.uuid
    assert format_offers_summary(offers).splitlines()[0].split() == [
        "Offer", "Application", "Charm", "Connected", "Store", "URL", "Endpoint", "Interface",
        "Role"]
    assert format_offers_tabular(offers).splitlines()[1].split() == [
        "tiny", "admin", str(conn["relation-id"]), "joined", "db", "tiny-db", "provider"]
    # export-bundle: juju's saas section; the consumer's proxy stays out
    assert con.call("export-bundle")["saas"] == {"tiny": {"url": "admin/off.tiny"}}
    assert ["front:backend", "tiny:db"] in con.call("export-bundle")["relations"]
    assert "relations" not in off.call("export-bundle")


def test_remove_relation_from_consumer_ends_both_sides_then_remove_saas(pair):
    off, con = pair
    off.call("offer", target="tiny:db")
    con.call("integrate", a="front:backend", b="admin/off.tiny")
    remote = off.until(lambda: [n for n in off.ctl.state.remote_apps], message="proxy")[0]
    _related(off, "tiny/0", "db", [f"{remote}/0"])
    _related(con, "front/0", "backend", ["tiny/0", "tiny/1"])
    off.wait()   # the members are there: their joined hooks run before this returns
    con.wait()
    con.call("remove-relation", a="front", b="tiny")
    con.until(lambda: not con.ctl.state.relations or all(
        r.peer for r in con.ctl.state.relations.values()), message="relation gone (con)")
    off.until(lambda: not off.ctl.state.remote_apps, message="proxy gone (off)")
    assert con.hooks("front/0")[-1] == "backend-relation-broken"
    off.wait()
    assert "db-relation-broken" in off.hooks("tiny/0")
    departed = [r["remote-unit"] for r in off.hook_log("tiny/0")
                if r["hook"] == "db-relation-departed"]
    assert departed == [f"{remote}/0"]
    con.call("remove-saas", names=["tiny"])
    con.until(lambda: not con.ctl.state.remote_apps, message="saas gone")
    assert "application-endpoints" not in con.status()


def test_remove_relation_from_offerer_and_remove_unit_departs(pair):
    off, con = pair
    off.call("offer", target="tiny:db")
    con.call("integrate", a="front", b="off.tiny")
    _related(con, "front/0", "backend", ["tiny/0", "tiny/1"])
    con.until(lambda: any((r["hook"], r["remote-unit"]) == ("backend-relation-changed", "tiny/1")
                          for r in con.hook_log("front/0")), message="front/0 joined tiny/1")
    off.call("remove-unit", units=["tiny/1"])
    _related(con, "front/0", "backend", ["tiny/0"])
    con.wait()
    log = [(r["hook"], r["remote-unit"]) for r in con.hook_log("front/0")]
    assert ("backend-relation-departed", "tiny/1") in log
    remote = _remote(off)
    off.call("remove-relation", a="tiny", b=remote)
    con.until(lambda: "backend-relation-broken" in con.hooks("front/0"), message="broken")


def test_offer_removed_or_model_gone_terminates_saas(pair, tmp_path):
    off, con = pair
    off.call("offer", target="tiny:db")
    con.call("integrate", a="front", b="off.tiny")
    _related(con, "front/0", "backend", ["tiny/0", "tiny/1"])
    with pytest.raises(UserError, match='cannot delete application offer "tiny": offer has 1 '
                       'relations'):
        off.call("remove-offer", name="tiny")
    off.call("remove-offer", name="tiny", force=True)
    con.until(lambda: con.status()["application-endpoints"]["tiny"]["application-status"]
              ["current"] == "terminated", message="terminated")
    con.until(lambda: "backend-relation-broken" in con.hooks("front/0"), message="broken")
    # a second offer, then the offering model goes away entirely
    off.call("offer", target="tiny:db", name="again")
    con.call("integrate", a="front", b="off.again")
    _related(con, "front/0", "backend", ["again/0", "again/1"])
    off.stop()
    con.ctl.cmr_peers = {}
    shutil.rmtree(tmp_path / "a" / "home" / "off")
    con.until(lambda: con.status()["application-endpoints"]["again"]["application-status"]
              ["current"] == "terminated", message="terminated (model gone)")
    con.until(lambda: con.hooks("front/0").count("backend-relation-broken") == 2,
              message="broken again")


def test_errors_read_like_juju(pair):
    off, con = pair
    with pytest.raises(UserError, match="^endpoints must be specified$"):
        off.call("offer", target="tiny")
    with pytest.raises(UserError, match='^application "nope" not found$'):
        off.call("offer", target="nope:db")
    with pytest.raises(UserError, match='^application "tiny" has no "nope" relation$'):
        off.call("offer", target="tiny:nope")
    with pytest.raises(UserError, match='^application offer "admin/off.nope" not found$'):
        con.call("consume", url="off.nope")
    with pytest.raises(UserError, match='^application offer "admin/gone.x" not found$'):
        con.call("consume", url="gone.x")
    with pytest.raises(UserError, match='^controller "other" not found$'):
        con.call("consume", url="other:admin/off.tiny")
    with pytest.raises(UserError, match='^saas application "x" not found$'):
        con.call("remove-saas", names=["x"])
    with pytest.raises(UserError, match='^application offer "x" not found$'):
        off.call("remove-offer", name="x")
    off.call("offer", target="tiny:db")
    con.call("consume", url="yard:admin/off.tiny", alias="db1")
    assert con.call("consume", url="off.tiny", alias="db1")["name"] == "db1"   # idempotent
    with pytest.raises(UserError, match='^cannot add remote application "front": saas '
                       'application already exists$'):
        con.call("consume", url="off.tiny", alias="front")
    with pytest.raises(UserError, match="^no relations found$"):
        con.call("integrate", a="front:other", b="db1")


def test_unreachable_peer_changes_nothing_until_it_is_gone(pair, tmp_path):
    off, con = pair
    off.call("offer", target="tiny:db")
    con.call("integrate", a="front", b="off.tiny")
    _related(con, "front/0", "backend", ["tiny/0", "tiny/1"])
    con.wait()
    # the offering model still exists (its state file) but its controller does not answer
    stale = tmp_path / "b" / "home" / "off"
    stale.mkdir(parents=True)
    (stale / "state.db").write_text("")
    con.ctl.cmr_peers = {}
    time.sleep(cmr.STATUS_POLL + 0.5)   # a status poll and several pushes failed
    assert con.status()["application-endpoints"]["tiny"]["application-status"]["current"] \
        == "active"
    _related(con, "front/0", "backend", ["tiny/0", "tiny/1"])
    assert "backend-relation-departed" not in con.hooks("front/0")
    shutil.rmtree(stale)   # now it is gone
    con.until(lambda: "backend-relation-broken" in con.hooks("front/0"), message="broken")
    assert con.status()["application-endpoints"]["tiny"]["application-status"] == {
        "current": "terminated", "message": "offering model has been removed",
        "since": con.status()["application-endpoints"]["tiny"]["application-status"]["since"]}


def test_bundle_saas_section_consumes_and_relates(pair, tmp_path):
    off, con = pair
    off.call("offer", target="tiny:db")
    bundle = tmp_path / "bundle.yaml"
    bundle.write_text(f"""
saas:
  tinydb:
    url: admin/off.tiny
applications:
  front:
    charm: {TINY}
    num_units: 1
relations:
  - [front:backend, tinydb:db]
""")
    con.call("deploy", path=str(bundle))
    _related(con, "front/0", "backend", ["tinydb/0", "tinydb/1"])
    con.call("deploy", path=str(bundle))   # deploying it again changes nothing
    assert len(con.ctl.state.cross) == 1
    assert con.call("export-bundle")["saas"] == {"tinydb": {"url": "admin/off.tiny"}}


def test_offered_application_in_use_is_not_removed_unless_forced(pair):
    off, con = pair
    off.call("offer", target="tiny:db")
    con.call("integrate", a="front", b="off.tiny")
    off.until(lambda: off.status().get("offers", {}).get("tiny", {})
              .get("active-connected-count") == 1, message="offer connected")
    with pytest.raises(UserError, match='^removing application tiny failed: cannot destroy '
                       'application "tiny": application is used by 1 offer$'):
        off.call("remove-application", apps=["tiny"])
    off.call("remove-application", apps=["tiny"], force=True)
    assert off.call("offers") == {}
    con.until(lambda: "backend-relation-broken" in con.hooks("front/0"), message="broken")
    con.until(lambda: con.status()["application-endpoints"]["tiny"]["application-status"]
              ["current"] == "terminated", message="terminated")


def test_wait_covers_sending_this_sides_settings(pair):
    off, con = pair
    off.call("offer", target="tiny:db")
    con.call("integrate", a="front", b="off.tiny")
    con.wait()   # front/0 entered scope and its bag reached the offering model
    remote = _remote(off)
    x = next(iter(off.ctl.state.cross.values()))
    assert x.units == (f"{remote}/0",)
    off.wait()   # so its units have joined it, with no polling
    log = [(r["hook"], r["remote-unit"]) for r in off.hook_log("tiny/0")]
    assert ("db-relation-joined", f"{remote}/0") in log


def test_a_new_relation_is_not_ended_while_the_consumer_records_it(pair, monkeypatch):
    off, con = pair
    off.call("offer", target="tiny:db")
    # the offering side has the relation, the consumer has not recorded it (yet)
    rid = off.call("cmr-register", token="t" * 32, offer="tiny", offer_endpoint="db",
                   app_token="a" * 32, consumer_model="con", model_uuid=con.ctl.state.uuid,
                   endpoint=["backend", "requires", "tiny-db"])["id"]
    time.sleep(4 * cmr.SYNC_INTERVAL + 0.5)   # pushes answered "unknown"
    assert off.ctl.state.relations[rid].alive
    monkeypatch.setattr(cmr_sync, "REGISTER_GRACE", 0.0)   # never confirmed: it ends
    off.until(lambda: rid not in off.ctl.state.relations, message="relation ended")
    off.until(lambda: not off.ctl.state.remote_apps, message="proxy gone")


def test_consuming_model_gone_ends_the_offering_side(pair, tmp_path):
    off, con = pair
    off.call("offer", target="tiny:db")
    con.call("integrate", a="front", b="off.tiny")
    con.wait()
    off.wait()
    remote = _remote(off)
    con.stop()
    off.ctl.cmr_peers = {}
    shutil.rmtree(tmp_path / "b" / "home" / "con", ignore_errors=True)
    off.until(lambda: not off.ctl.state.remote_apps, message="proxy gone")
    off.wait()
    log = [(r["hook"], r["remote-unit"]) for r in off.hook_log("tiny/0")]
    assert ("db-relation-departed", f"{remote}/0") in log
    assert off.hooks("tiny/0")[-1] == "db-relation-broken"
    assert off.call("offers")["tiny"].get("connections") is None


def test_a_restarted_controller_keeps_its_cross_model_relations(pair, tmp_path, monkeypatch):
    off, con = pair
    off.call("offer", target="tiny:db")
    con.call("integrate", a="front", b="off.tiny")
    _related(con, "front/0", "backend", ["tiny/0", "tiny/1"])
    con.wait()
    off.wait()
    con.stop()
    # the same state, a new controller (knowing its peer from its first tick)
    monkeypatch.setattr(cmr_sync.CMRSync, "cmr_peers", {"off": off.ctl})
    con2 = Harness(tmp_path / "b", model="con")
    try:
        off.ctl.cmr_peers = {"con": con2.ctl}
        _related(con2, "front/0", "backend", ["tiny/0", "tiny/1"])
        off.call("remove-unit", units=["tiny/1"])
        _related(con2, "front/0", "backend", ["tiny/0"])
        con2.wait()
        log = [(r["hook"], r["remote-unit"]) for r in con2.hook_log("front/0")]
        assert ("backend-relation-departed", "tiny/1") in log
        assert con2.status()["application-endpoints"]["tiny"]["application-status"][
            "current"] == "active"
    finally:
        con2.stop()
