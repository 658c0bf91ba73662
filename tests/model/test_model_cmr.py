"""Cross-model relations on LXD: two models, one offer, data flowing both ways.

The offering model runs yard-classic (provides ``data``), the consuming model
yard-ops (requires it); each model has its own controller.  One container per
model keeps it short.  Names follow Juju: in the consuming model the remote
app is the SAAS (``yard-classic``, the offer's name) with units
``yard-classic/<n>``; in the offering model the consumer is
``remote-<32 hex>`` with units ``remote-<hex>/<n>`` (controller/cmr.py).
"""

import re

import pytest

from conftest import BUILD, Yard, skip_or_fail

pytestmark = pytest.mark.model

CLASSIC = "yard-classic"
OPS = "yard-ops"


@pytest.fixture(scope="module")
def models(yard):
    """(offering model, consuming model), both deployed and related through an offer."""
    for name in (CLASSIC, OPS):
        if not (BUILD / name).is_dir():
            skip_or_fail("build/%s is not built; run `make build`" % name)
    con = Yard(yard.model + "-con", yard.home)
    con.destroy()
    try:
        yard.run("deploy", BUILD / CLASSIC, "--config", "greeting=hello", timeout=1500)
        con.run("deploy", BUILD / OPS, timeout=1500)
        yard.wait(timeout=1500)
        con.wait(timeout=1500)
        result = yard.run("offer", "%s:data" % CLASSIC)
        assert 'available at "admin/%s.%s"' % (yard.model, CLASSIC) in result.stderr
        con.run("integrate", OPS, "%s.%s" % (yard.model, CLASSIC))   # consume implied
        yield yard, con
    finally:
        con.destroy()


def data_info(model, unit):
    """The unit's relation-info entry for ``data`` ({} until it is in scope)."""
    infos = [r for r in model.show_unit(unit).get("relation-info", [])
             if r.get("endpoint") == "data"]
    return infos[0] if infos else {}


def test_data_flows_both_ways(models):
    off, con = models
    # consuming side: yard-ops sees the SAAS's unit, its unit bag and its app bag

    def ops_sees():
        info = data_info(con, "%s/0" % OPS)
        units = info.get("related-units") or {}
        return ("%s/0" % CLASSIC in units and info.get("application-data", {}).get("greeting")
                == "hello" and info)
    info = con.until(ops_sees, message="yard-ops seeing yard-classic across models")
    assert info["related-units"]["%s/0" % CLASSIC]["data"]["greeting"] == "hello"
    con.until(lambda: con.units(OPS)["%s/0" % OPS]["workload-status"].get("message") ==
              "greeting from %s: hello (1 units)" % CLASSIC, message="yard-ops status")
    # offering side: the consumer is remote-<hex>, its bags arrived

    def classic_sees():
        info = data_info(off, "%s/0" % CLASSIC)
        units = list(info.get("related-units") or {})
        return (len(units) == 1 and info.get("application-data", {}).get("consumer") == OPS
                and (units[0], info))
    remote_unit, info = off.until(classic_sees, message="yard-classic seeing the consumer")
    assert re.fullmatch(r"remote-[0-9a-f]{32}/0", remote_unit), remote_unit
    assert info["related-units"][remote_unit]["data"]["ops-unit"] == "%s/0" % OPS
    off.wait()
    con.wait()
    # the hooks ran with Juju's remote names on each side
    ops_log = con.hook_log("%s/0" % OPS, OPS)
    joined = [r for r in ops_log if r["hook"] == "data-relation-joined"]
    assert [(r["remote-unit"], r["remote-app"]) for r in joined] == [("%s/0" % CLASSIC,
                                                                      CLASSIC)]
    classic_log = off.hook_log("%s/0" % CLASSIC, CLASSIC)
    changed = [r for r in classic_log if r["hook"] == "data-relation-changed"]
    assert any(r.get("remote-unit") == remote_unit for r in changed), changed


def test_status_sections(models):
    off, con = models
    saas = con.status()["application-endpoints"][CLASSIC]
    assert saas["url"] == "admin/%s.%s" % (off.model, CLASSIC)
    assert saas["application-status"]["current"] == "active"
    text = con.run("status").stdout
    assert re.search(r"^SAAS +Status +Store +URL\n%s +active +local +admin/%s\.%s$"
                     % (CLASSIC, re.escape(off.model), CLASSIC), text, re.M), text
    offer = off.status()["offers"][CLASSIC]
    assert offer["active-connected-count"] == 1
    listed = off.json("offers")[CLASSIC]
    assert listed["connections"][0]["endpoint"] == "data"


def test_remove_relation_and_saas_tidy_up(models):
    off, con = models
    con.run("remove-relation", OPS, CLASSIC)
    con.until(lambda: any(r["hook"] == "data-relation-broken"
                          for r in con.hook_log("%s/0" % OPS, OPS)), message="broken (ops)")
    off.until(lambda: any(r["hook"] == "data-relation-broken"
                          for r in off.hook_log("%s/0" % CLASSIC, CLASSIC)),
              message="broken (classic)")
    off.until(lambda: off.status()["offers"][CLASSIC].get("total-connected-count", 0) == 0,
              message="offer no longer connected")
    con.run("remove-saas", CLASSIC)
    con.until(lambda: "application-endpoints" not in con.status(), message="SAAS removed")
    off.run("remove-offer", CLASSIC)
    assert "offers" not in off.status()
