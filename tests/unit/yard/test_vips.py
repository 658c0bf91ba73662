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


def test_free_vip_starts_where_the_seed_says_and_skips_held_addresses():
    vips = "10.157.83.150-10.157.83.199"
    first = addresses.free_vip(vips, "model-a", is_held=lambda a: False)
    assert ipaddress.ip_address("10.157.83.150") <= ipaddress.ip_address(first) <= \
        ipaddress.ip_address("10.157.83.199")
    assert addresses.free_vip(vips, "model-a", is_held=lambda a: False) == first
    assert addresses.free_vip(vips, "model-b", is_held=lambda a: False) != first
    asked = []
    got = addresses.free_vip(vips, "model-a", is_held=lambda a: asked.append(a) or a == first)
    assert got != first and asked == [first, got]
    # wraps round the end of the range
    assert addresses.free_vip("10.0.0.5-10.0.0.6", "x", is_held=lambda a: a != "10.0.0.5") == \
        "10.0.0.5"
    with pytest.raises(addresses.AddressesExhausted, match="no free address in vip-range"):
        addresses.free_vip(vips, "model-a", is_held=lambda a: True)


def test_held_is_true_when_port_22_answers_or_refuses(monkeypatch):
    # Loopback answers port 22: accepted (an sshd) or refused, either way held.
    assert addresses.held("127.0.0.254") is True
    # A connect that times out (what an unassigned bridge address does) is not held.
    import socket
    monkeypatch.setattr(socket.socket, "connect_ex", lambda self, addr: 11)   # EAGAIN
    assert addresses.held("10.157.83.170") is False
