"""Unit tests of LXD host set-up, image building helpers and address allocation."""

import ipaddress
import subprocess
import threading

import pytest

from yard.provider import addresses, image, lxd_setup

IFACE = ipaddress.IPv4Interface("10.157.83.1/24")

CERT_A = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
CERT_B = b"-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n"
CERT_C = b"-----BEGIN CERTIFICATE-----\nCCCC\n-----END CERTIFICATE-----"


@pytest.fixture
def lxc(monkeypatch):
    """Record host commands; ``replies`` maps an argv prefix to a CompletedProcess."""
    calls, replies = [], {}

    def fake_run(argv, **kwargs):
        calls.append(list(argv))
        for prefix, reply in replies.items():
            if tuple(argv[:len(prefix)]) == prefix:
                return reply
        return subprocess.CompletedProcess(argv, 0, b"", b"")

    monkeypatch.setattr(subprocess, "run", fake_run)
    return calls, replies


# -- addresses -----------------------------------------------------------------

def test_pick_free_skips_used_and_bridge():
    assert addresses.pick_free(IFACE, []) == "10.157.83.10"
    assert addresses.pick_free(IFACE, ["10.157.83.10", "10.157.83.11"]) == "10.157.83.12"
    assert addresses.pick_free(IFACE, [], first=1, last=3) == "10.157.83.2"


def test_pick_free_exhausted():
    used = ["10.157.83.{}".format(i) for i in range(10, 200)]
    with pytest.raises(addresses.AddressesExhausted):
        addresses.pick_free(IFACE, used)


def test_allocation_is_stable_saved_and_released(tmp_path):
    book = addresses.AddressBook(str(tmp_path), "demo", IFACE)
    assert book.allocate("0") == "10.157.83.10"
    assert book.allocate("1") == "10.157.83.11"
    assert book.allocate("0") == "10.157.83.10"
    again = addresses.AddressBook(str(tmp_path), "demo", IFACE)
    assert again.allocations() == {"0": "10.157.83.10", "1": "10.157.83.11"}
    again.release("0")
    assert book.allocate("2") == "10.157.83.10"


def test_allocation_avoids_other_models_and_lxd_instances(tmp_path):
    addresses.AddressBook(str(tmp_path), "other", IFACE).allocate("0")
    book = addresses.AddressBook(str(tmp_path), "demo", IFACE,
                                 in_use=lambda: ["10.157.83.11"])
    assert book.allocate("0") == "10.157.83.12"


def test_parallel_allocations_are_distinct(tmp_path):
    book = addresses.AddressBook(str(tmp_path), "demo", IFACE)
    got = []

    def take(i):
        # A fresh book per thread, as separate controller threads would have.
        got.append(addresses.AddressBook(str(tmp_path), "demo", IFACE).allocate(str(i)))

    threads = [threading.Thread(target=take, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(got)) == 20
    assert set(book.allocations().values()) == set(got)


# -- host set-up ---------------------------------------------------------------

def test_network_config_fixed_subnet_nat_no_ipv6():
    config = lxd_setup.network_config(IFACE)
    assert config == {
        "ipv4.address": "10.157.83.1/24",
        "ipv4.nat": "true",
        "ipv4.dhcp.ranges": "10.157.83.200-10.157.83.250",
        "ipv6.address": "none",
    }


def test_subnet_override(monkeypatch):
    monkeypatch.setenv("YARD_LXD_SUBNET", "10.9.8.1/24")
    assert str(lxd_setup.subnet().ip) == "10.9.8.1"


def test_missing_packages_parses_dpkg_query(lxc):
    calls, replies = lxc
    replies[("dpkg-query",)] = subprocess.CompletedProcess(
        [], 1, b"lxd installed\nlxcfs not-installed\n", b"dpkg-query: no packages found")
    assert lxd_setup.missing_packages(["lxd", "lxcfs", "iptables"]) == ["lxcfs", "iptables"]


def test_ensure_packages_does_nothing_when_installed(lxc):
    calls, replies = lxc
    replies[("dpkg-query",)] = subprocess.CompletedProcess([], 0, b"lxd installed\n", b"")
    lxd_setup.ensure_packages(["lxd"])
    assert [c[0] for c in calls] == ["dpkg-query"]


def test_ensure_packages_installs_missing_without_recommends(lxc):
    calls, replies = lxc
    replies[("dpkg-query",)] = subprocess.CompletedProcess([], 1, b"", b"")
    lxd_setup.ensure_packages(["lxd", "iptables"])
    assert calls[-1] == ["apt-get", "install", "-y", "-q", "--no-install-recommends",
                         "lxd", "iptables"]


def test_ensure_network_creates_when_missing(lxc):
    calls, replies = lxc
    replies[("lxc", "network", "show")] = subprocess.CompletedProcess([], 1, b"", b"")
    lxd_setup.ensure_network("yardbr0", IFACE)
    assert calls[-1][:4] == ["lxc", "network", "create", "yardbr0"]
    assert "ipv4.nat=true" in calls[-1] and "ipv6.address=none" in calls[-1]


def test_ensure_network_fixes_drifted_keys_only(lxc):
    calls, replies = lxc
    replies[("lxc", "network", "get", "yardbr0", "ipv4.nat")] = \
        subprocess.CompletedProcess([], 0, b"false\n", b"")
    replies[("lxc", "network", "get")] = subprocess.CompletedProcess([], 0, b"?\n", b"")
    lxd_setup.ensure_network("yardbr0", IFACE)
    sets = [c for c in calls if c[2] == "set"]
    assert ["lxc", "network", "set", "yardbr0", "ipv4.nat", "true"] in sets


def test_run_raises_setup_error_with_stderr(lxc):
    calls, replies = lxc
    replies[("false",)] = subprocess.CompletedProcess([], 2, b"", b"it broke\n")
    with pytest.raises(lxd_setup.SetupError, match="it broke"):
        lxd_setup.run(["false"])


# -- image ---------------------------------------------------------------------

DEB822 = """\
Types: deb
# a comment
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
Components: main
"""


def test_parse_deb822_sources_and_pick_mirror():
    entries = image.parse_sources(DEB822)
    assert [e[0] for e in entries] == ["http://mirror.example/debian",
                                       "http://mirror.example/debian-security"]
    assert image.pick_mirror(entries) == "http://mirror.example/debian"


def test_parse_one_line_sources():
    text = ("# deb http://old.example/debian bookworm main\n"
            "deb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main contrib\n")
    entries = image.parse_sources(text)
    assert entries == [("http://m.example/debian", ["bookworm"], ["main", "contrib"])]


def test_pick_mirror_none_when_suite_missing():
    assert image.pick_mirror([("http://x", ["bookworm-security"], ["main"])]) is None


def test_extra_certs_only_what_the_image_lacks():
    host = CERT_A + b"\n" + CERT_B + CERT_C + b"\n"
    assert image.extra_certs(host, CERT_A) == [CERT_B, CERT_C + b"\n"]
    assert image.extra_certs(CERT_A, CERT_A) == []


def test_debootstrap_argv_includes_systemd_and_python():
    argv = image.debootstrap_argv("/tmp/rootfs", "http://m.example/debian")
    assert argv[:2] == ["debootstrap", "--variant=minbase"]
    include = argv[2].split("=", 1)[1].split(",")
    for pkg in ("systemd", "systemd-sysv", "python3", "python3-venv", "ca-certificates", "sudo"):
        assert pkg in include
    assert argv[-3:] == ["bookworm", "/tmp/rootfs", "http://m.example/debian"]


def test_image_alias_changes_with_the_package_list():
    """Hosts with an image of an older recipe build the new one (the alias differs)."""
    import hashlib
    assert image.ALIAS.startswith("yard/debian-12-")
    digest = hashlib.sha256(repr((image.SUITE, image.INCLUDE + ("x",),
                                  image.NETWORK_UNIT_TEXT)).encode()).hexdigest()[:8]
    assert "yard/debian-12-" + digest != image.ALIAS


def test_image_ref_override(monkeypatch):
    monkeypatch.delenv("YARD_LXD_IMAGE", raising=False)
    assert image.image_ref() == image.ALIAS
    monkeypatch.setenv("YARD_LXD_IMAGE", "ubuntu:22.04")
    assert image.image_ref() == "ubuntu:22.04"


def test_metadata_yaml():
    text = image.metadata_yaml(1700000000)
    assert "architecture: x86_64" in text and "creation_date: 1700000000" in text


def test_storage_driver_prefers_btrfs_with_loop(monkeypatch):
    monkeypatch.delenv("YARD_LXD_STORAGE", raising=False)
    monkeypatch.setattr(lxd_setup.os.path, "exists", lambda p: p == "/dev/loop-control")
    assert lxd_setup.storage_driver("nodev\tproc\n\tbtrfs\n\text4\n") == "btrfs"
    assert lxd_setup.storage_driver("nodev\tproc\n\text4\n") == "dir"
    monkeypatch.setattr(lxd_setup.os.path, "exists", lambda p: False)
    assert lxd_setup.storage_driver("\tbtrfs\n") == "dir"


def test_storage_driver_override(monkeypatch):
    monkeypatch.setenv("YARD_LXD_STORAGE", "dir")
    assert lxd_setup.storage_driver("\tbtrfs\n") == "dir"
    monkeypatch.setenv("YARD_LXD_STORAGE", "zfs")
    with pytest.raises(lxd_setup.SetupError, match="YARD_LXD_STORAGE"):
        lxd_setup.storage_driver()


def test_btrfs_pool_falls_back_to_dir(lxc):
    calls, replies = lxc
    replies[("lxc", "storage", "show")] = subprocess.CompletedProcess([], 1, b"", b"")
    replies[("lxc", "storage", "create", "yard-btrfs")] = subprocess.CompletedProcess(
        [], 1, b"", b"Error: no loop device")
    assert lxd_setup.ensure_storage_pool("btrfs") == "yard"
    assert calls[-1] == ["lxc", "storage", "create", "yard", "dir"]


def test_host_lock_serialises(tmp_path):
    path = str(tmp_path / "setup.lock")
    order = []

    def hold(tag):
        with lxd_setup.host_lock(path):
            order.append(tag + "+")
            order.append(tag + "-")

    threads = [threading.Thread(target=hold, args=(str(i),)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(order[i][:-1] == order[i + 1][:-1] for i in range(0, 10, 2))


# -- lxcfs -----------------------------------------------------------------------

def _stat_raising(errnum):
    def fake_stat(path, *args, **kwargs):
        raise OSError(errnum, "boom", path)
    return fake_stat


def test_mount_state_stale_fuse_mount(monkeypatch):
    import errno
    monkeypatch.setattr(lxd_setup.os, "stat", _stat_raising(errno.ENOTCONN))
    assert lxd_setup._mount_state("/var/lib/lxcfs") == "stale"
    monkeypatch.setattr(lxd_setup.os, "stat", _stat_raising(errno.ENOENT))
    assert lxd_setup._mount_state("/var/lib/lxcfs") == "absent"


def test_mount_state_plain_dir_is_not_mounted(tmp_path):
    assert lxd_setup._mount_state(str(tmp_path)) == "absent"
    assert lxd_setup._mount_state("/proc") == "mounted"


def test_ensure_lxcfs_unmounts_a_stale_mount_then_starts(monkeypatch, tmp_path, lxc):
    """A mount left by a killed lxcfs is unmounted lazily, and lxcfs started again."""
    calls, _ = lxc
    states = iter(["stale", "mounted"])
    started = []
    monkeypatch.setattr(lxd_setup.shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(lxd_setup, "_mount_state", lambda path: next(states))
    monkeypatch.setattr(lxd_setup.subprocess, "Popen",
                        lambda argv, **kw: started.append(list(argv)))
    point = str(tmp_path / "lxcfs")
    lxd_setup._ensure_lxcfs(str(tmp_path / "lxcfs.log"), mount_point=point)
    assert ["umount", "-l", point] in calls
    assert started == [["lxcfs", point]]


def test_ensure_lxcfs_failure_is_only_a_warning(monkeypatch, tmp_path, caplog):
    """If the mount point cannot be made, set-up goes on without lxcfs."""
    monkeypatch.setattr(lxd_setup.shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(lxd_setup, "_mount_state", lambda path: "absent")
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    started = []
    monkeypatch.setattr(lxd_setup.subprocess, "Popen",
                        lambda argv, **kw: started.append(argv))
    lxd_setup._ensure_lxcfs(str(tmp_path / "lxcfs.log"), mount_point=str(blocker / "sub"))
    assert started == []
    assert "lxcfs not started" in caplog.text


def test_image_base_for_status():
    assert image.image_base(image.ALIAS) == ("debian", "12")
    assert image.image_base("ubuntu:22.04") == ("ubuntu", "22.04")
    assert image.image_base("images:ubuntu/24.04") == ("ubuntu", "24.04")
    assert image.image_base("images:debian/12") == ("debian", "12")
    assert image.image_base("some-local-alias") == ("ubuntu", "22.04")


def test_kernel_settings_raised_only_when_below(tmp_path):
    (tmp_path / "fs" / "inotify").mkdir(parents=True)
    (tmp_path / "net" / "ipv4").mkdir(parents=True)
    low = tmp_path / "fs" / "inotify" / "max_user_instances"
    low.write_text("128\n")
    high = tmp_path / "net" / "ipv4" / "ip_forward"
    high.write_text("1\n")
    lxd_setup.ensure_kernel_settings(root=str(tmp_path))
    assert low.read_text() == "1024\n"
    assert high.read_text() == "1\n"
    low.write_text("4096\n")
    lxd_setup.ensure_kernel_settings(root=str(tmp_path))
    assert low.read_text() == "4096\n"


def test_kernel_setting_missing_is_a_warning(tmp_path, caplog):
    lxd_setup.ensure_kernel_settings(root=str(tmp_path))
    assert "cannot set fs/inotify/max_user_instances to 1024" in caplog.text
