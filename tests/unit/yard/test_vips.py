"""The VIP range: bridge addresses no machine is given, shown as model config ``vip-range``."""

import ipaddress

import pytest

from yard.provider import addresses
from yard_harness import Harness, UserError

IFACE = ipaddress.IPv4Interface("10.157.83.1/24")


def test_vip_range_is_outside_allocation_and_dhcp():
    from yard.provider import lxd_setup
    assert addresses.vip_range(IFACE) == "10.157.83.150-10.157.83.199"
    assert addresses.LAST_HOST < addresses.VIP_FIRST_HOST
    assert addresses.VIP_LAST_HOST < lxd_setup.DHCP_FIRST_HOST


def test_allocation_never_hands_out_a_vip(tmp_path):
    book = addresses.AddressBook(str(tmp_path), "demo", IFACE)
    got = [book.allocate(str(i)) for i in range(addresses.LAST_HOST - addresses.FIRST_HOST + 1)]
    assert got[-1] == "10.157.83.149"
    with pytest.raises(addresses.AddressesExhausted):
        book.allocate("next")


def test_release_of_the_last_address_removes_the_models_file(tmp_path):
    book = addresses.AddressBook(str(tmp_path), "demo", IFACE)
    book.allocate("0")
    book.allocate("1")
    book.release("0")
    assert (tmp_path / "demo.json").exists()
    book.release("1")
    assert not (tmp_path / "demo.json").exists()   # destroy-model leaves no file behind
    book.release("1")                               # and releasing again is fine


def test_model_config_shows_vip_range_read_only(tmp_path):
    h = Harness(tmp_path)
    try:
        h.ctl.provider.vip_range = lambda: "10.157.83.150-10.157.83.199"
        cfg = h.call("model-config")["config"]
        assert cfg["vip-range"] == {"value": "10.157.83.150-10.157.83.199", "source": "default"}
        assert h.call("model-config", key="vip-range") == {"value": "10.157.83.150-10.157.83.199"}
        with pytest.raises(UserError, match='^cannot change vip-range from '
                                            '"10.157.83.150-10.157.83.199" to "x"$'):
            h.call("model-config", values={"vip-range": "x"})
    finally:
        h.stop()


def test_models_lists_models_only(tmp_path):
    from test_cli import CLI
    home = tmp_path / "home"
    for d in ("lxd/addresses", "alpha", "beta"):
        (home / d).mkdir(parents=True)
    (home / "alpha" / "state.db").write_text("")
    (home / "beta" / "state.db").write_text("")
    assert CLI(home)("models").stdout == "alpha\nbeta\n"
