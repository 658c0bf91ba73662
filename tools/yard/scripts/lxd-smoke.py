#!/usr/bin/env python3
"""Manual smoke test of yard's LXD provider, with timings.

Sets LXD up if needed, creates two machines in parallel, checks that each
reaches the other and the host over TCP, measures ``exec`` round trips and
a folder push, then destroys both.  Run as root on the host:

    python3 tools/yard/scripts/lxd-smoke.py [--model smoke] [--keep]
"""

import argparse
import concurrent.futures
import os
import socket
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from yard.provider import lxd  # noqa: E402

LISTEN = ("import socket, sys\n"
          "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
          "s.bind(('0.0.0.0', int(sys.argv[1]))); s.listen(1); s.settimeout(30)\n"
          "c, a = s.accept(); c.sendall(b'hello from ' + socket.gethostname().encode())\n")
CONNECT = ("import socket, sys\n"
           "c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)\n"
           "print(c.recv(100).decode())\n")
PORT = 17070


def timed(label, func, *args):
    """Run ``func`` and print how long it took."""
    started = time.monotonic()
    result = func(*args)
    print("{:<34} {:8.2f} s".format(label, time.monotonic() - started), flush=True)
    return result


def check_peer(prov, server, client):
    """``client`` connects to a listener in ``server`` over TCP."""
    listener = prov.exec(server.machine_id, ["sh", "-c", "python3 -c \"$0\" $1 "
                                             ">/tmp/listen.out 2>&1 &", LISTEN, str(PORT)])
    assert listener.returncode == 0, listener
    for _ in range(50):
        proc = prov.exec(client.machine_id,
                         ["python3", "-c", CONNECT, server.address, str(PORT)])
        if proc.returncode == 0:
            print("  {} -> {}: {}".format(client.instance, server.instance,
                                          proc.stdout.decode().strip()))
            return
        time.sleep(0.1)
    raise SystemExit("{} cannot reach {}: {}".format(client.instance, server.instance,
                                                     proc.stderr.decode()))


def check_host(prov, machine):
    """The machine connects to a listener on the host's bridge address."""
    with socket.socket() as srv:
        srv.bind((prov.host_address(), 0))
        srv.listen(1)
        script = "import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])))"
        proc = prov.exec(machine.machine_id, ["python3", "-c", script, prov.host_address(),
                                              str(srv.getsockname()[1])])
        assert proc.returncode == 0, proc.stderr
        srv.settimeout(5)
        conn, peer = srv.accept()
        conn.close()
        print("  {} -> host {}: connected from {}".format(
            machine.instance, prov.host_address(), peer[0]))


def exec_latency(prov, machine, count=20):
    """Median wall time of ``exec(["true"])``."""
    times = []
    for _ in range(count):
        started = time.monotonic()
        prov.exec(machine.machine_id, ["true"], env={})
        times.append(time.monotonic() - started)
    return statistics.median(times)


def push_folder(prov, machine, files=2000):
    """Push a folder of ``files`` small files and check the count arrived."""
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(files):
            sub = os.path.join(tmp, "wheelhouse", "d{}".format(i % 20))
            os.makedirs(sub, exist_ok=True)
            with open(os.path.join(sub, "f{}.py".format(i)), "w") as f:
                f.write("x = {}\n".format(i) * 50)
        started = time.monotonic()
        prov.push(machine.machine_id, tmp, "/var/lib/yard-smoke/charm")
        took = time.monotonic() - started
    proc = prov.exec(machine.machine_id, ["sh", "-c", "find /var/lib/yard-smoke/charm -type f"
                                          " | wc -l"])
    assert proc.stdout.strip() == str(files).encode(), proc.stdout
    return took


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smoke")
    parser.add_argument("--keep", action="store_true", help="leave the machines running")
    args = parser.parse_args()
    prov = lxd.LXDProvider(args.model)
    timed("ensure_ready", prov.ensure_ready)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        started = time.monotonic()
        machines = list(pool.map(prov.create_machine, ["0", "1"]))
        print("{:<34} {:8.2f} s".format("create_machine x2 (parallel)",
                                        time.monotonic() - started), flush=True)
    try:
        for m in machines:
            print("  {} {} {}".format(m.machine_id, m.instance, m.address))
        check_peer(prov, machines[0], machines[1])
        check_peer(prov, machines[1], machines[0])
        for m in machines:
            check_host(prov, m)
        for via in ("lxc", "agent"):
            fast = lxd.LXDProvider(args.model, exec_via=via)
            print("{:<34} {:8.1f} ms".format("exec true via {}, median of 20".format(via),
                                             1000 * exec_latency(fast, machines[0])))
        print("{:<34} {:8.2f} s".format("push folder of 2000 files",
                                        push_folder(prov, machines[0])))
    finally:
        if not args.keep:
            for m in machines:
                timed("destroy_machine " + m.machine_id, prov.destroy_machine, m.machine_id)
    print("OK")


if __name__ == "__main__":
    main()
