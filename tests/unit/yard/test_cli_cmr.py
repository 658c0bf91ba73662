"""The cross-model verbs through the CLI: two controller daemons talking over their sockets."""

import json
import os
import time

import pytest
import yaml

from test_cli import CLI
from yard_harness import CHARMS

TINY = os.path.join(CHARMS, "tiny")


def until(predicate, timeout=60, message="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {message}")


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    home = tmp_path_factory.mktemp("cmrhome")
    off, con = CLI(home, "offm"), CLI(home, "conm")
    off("deploy", TINY, "-n", "2")
    con("deploy", TINY, "front")
    for c in (off, con):
        c("model-config", "automatically-retry-hooks=false")
        c("wait", "--timeout", 60)
    yield off, con
    for c in (con, off):
        c("destroy-model", "--no-prompt", check=False)


def related(con, units):
    def seen():
        info = json.loads(con("show-unit", "front/0", "--format", "json").stdout)
        rels = [r for r in info["front/0"]["relation-info"] if r["endpoint"] == "backend"]
        got = sorted(rels[0].get("related-units", {})) if rels else []
        return got == units
    return until(seen, message=f"front/0 related to {units}")


def test_offer_consume_integrate_over_sockets(two):
    off, con = two
    off.fails("offer", "tiny", message="endpoints must be specified")
    assert off("offer", "tiny:db").stderr == \
        'Application "tiny" endpoints [db] available at "admin/offm.tiny"\n'
    assert con("consume", "admin/offm.tiny").stderr == "Added admin/offm.tiny as tiny\n"
    con("integrate", "front", "tiny")
    related(con, ["tiny/0", "tiny/1"])
    out = con("status").stdout
    assert "SAAS  Status  Store  URL\ntiny  active  local  admin/offm.tiny\n" in out
    until(lambda: "1/1" in off("status").stdout, message="offer connected")
    summary = off("offers", "--format", "summary").stdout.splitlines()
    assert summary[0].split() == ["Offer", "Application", "Charm", "Connected", "Store", "URL",
                                  "Endpoint", "Interface", "Role"]
    # local:tiny-0: the first upload of a local charm is revision 0 (README, "Numbering").
    assert summary[1].split() == ["tiny", "tiny", "local:tiny-0", "1", "yard",
                                  "admin/offm.tiny", "db", "tiny-db", "provider"]
    tab = off("offers").stdout.splitlines()
    assert tab[0].split() == ["Offer", "User", "Relation", "id", "Status", "Endpoint",
                              "Interface", "Role"]
    assert tab[1].split()[:2] == ["tiny", "admin"] and tab[1].split()[3:] == [
        "joined", "db", "tiny-db", "provider"]
    listed = yaml.safe_load(off("offers", "--format", "yaml").stdout)
    assert listed["tiny"]["offer-url"] == "admin/offm.tiny"
    assert json.loads(off("offers", "tiny", "--format", "json").stdout).keys() == {"tiny"}
    assert listed["tiny"]["users"] == {"admin": {"access": "admin"}}
    for args in (("--application", "nope"), ("--interface", "nope"), ("nope",)):
        assert off("offers", *args).stdout == ""   # juju prints nothing when none match
    assert "tiny" in off("offers", "--interface", "tiny-db", "--active-only").stdout


def test_errors_and_tidy_up(two):
    off, con = two
    con.fails("remove-saas", "nope", message='saas application "nope" not found')
    con.fails("consume", "offm.nope", message='application offer "admin/offm.nope" not found')
    off.fails("remove-offer", "tiny",
              message='cannot delete application offer "tiny": offer has 1 relations')
    con("remove-relation", "front", "tiny")
    related(con, [])
    until(lambda: "0/0" in off("status").stdout, message="offer disconnected")
    con("remove-saas", "tiny")
    until(lambda: "SAAS" not in con("status").stdout, message="SAAS removed")
    off("remove-offer", "admin/offm.tiny")
    assert "Offer" not in off("status").stdout
