"""A writer loop through one MariaDB address, for the galera model tests.

It runs in the probe's machine with the probe charm's Python (its venv has
PyMySQL): one INSERT every 50 ms through ``host``, each id written to its log
only after the server acknowledged the commit; failures are logged with
their time.  The password goes from ``relation-get`` to a 0600 file in the
machine, never through the test.  ``committed_rows`` on a node after the run
must hold every id the log calls committed.
"""

import json

PROBE_UNIT = "stackyard-probe/0"
WRITER = "/root/galera-writer.py"
LOG = "/root/writer.log"
PYTHON = "/var/lib/juju/agents/unit-stackyard-probe-0/charm/.venv/bin/python3"
WRITER_SCRIPT = r'''
import os, sys, time
import pymysql
host, user, database, pwfile, log, table = sys.argv[1:7]
password = open(pwfile).read().strip()
conn = None
n = 0
with open(log, "a", buffering=1) as out:
    while not os.path.exists(log + ".stop"):
        n += 1
        try:
            if conn is None:
                conn = pymysql.connect(host=host, user=user, password=password,
                                       database=database, autocommit=True,
                                       connect_timeout=2, read_timeout=5, write_timeout=5)
                conn.cursor().execute("CREATE TABLE IF NOT EXISTS %s "
                                      "(id INT PRIMARY KEY, at DOUBLE)" % table)
            conn.cursor().execute("INSERT INTO " + table + " VALUES (%s, %s)",
                                  (n, time.time()))
            out.write("ok %d %.3f\n" % (n, time.time()))
        except Exception as e:
            out.write("fail %d %.3f %s\n" % (n, time.time(), type(e).__name__))
            try:
                conn.close()
            except Exception:
                pass
            conn = None
            time.sleep(0.2)
        time.sleep(0.05)
'''


def sql(model, unit, statement):
    """Rows of ``statement`` run by the unit's root client, as lists of strings."""
    out = model.exec(unit, "mariadb --batch --skip-column-names -e %s" % json.dumps(statement))
    return [line.split("\t") for line in out.splitlines()]


def start(model, host, answering_unit, table="writer"):
    """Start the writer through ``host`` (a node's address or the VIP), into probe.<table>.

    ``answering_unit``: a galera unit whose shared-db bag holds the password.
    """
    rid = model.exec(PROBE_UNIT, "relation-ids shared-db").strip()
    model.exec(PROBE_UNIT, "cat > %s <<'EOF'\n%s\nEOF" % (WRITER, WRITER_SCRIPT))
    model.exec(PROBE_UNIT, "umask 077; relation-get -r %s password %s > /root/writer.pw; "
                           "rm -f %s %s.stop; "
                           "setsid nohup %s %s %s probe probe /root/writer.pw %s %s "
                           ">/root/writer.out 2>&1 < /dev/null &"
               % (rid, answering_unit, LOG, LOG, PYTHON, WRITER, host, LOG, table))
    model.until(lambda: "ok " in model.exec(PROBE_UNIT, "cat %s" % LOG), timeout=60,
                message="the writer's first commit through %s" % host)


def log(model):
    """``[(kind, n, time)]`` of the writer's log so far."""
    entries = []
    for line in model.exec(PROBE_UNIT, "cat %s" % LOG).splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] in ("ok", "fail"):
            entries.append((parts[0], int(parts[1]), float(parts[2])))
    return entries


def stop(model):
    """Stop the writer; ``(committed ids, failed attempts' times)``."""
    model.exec(PROBE_UNIT, "touch %s.stop; sleep 1" % LOG)
    entries = log(model)
    return ([n for kind, n, _ in entries if kind == "ok"],
            [t for kind, _, t in entries if kind == "fail"])


def failure_windows(entries):
    """Each run of failed writes as the seconds from the commit before it to the one after.

    A run still failing at the end of the log counts up to its last attempt.
    """
    windows, last_ok, failing = [], None, None
    for kind, _, at in entries:
        if kind == "ok":
            if failing is not None:
                windows.append(at - (last_ok if last_ok is not None else failing))
                failing = None
            last_ok = at
        elif failing is None:
            failing = at
    if failing is not None:
        windows.append(entries[-1][2] - (last_ok if last_ok is not None else failing))
    return windows


def longest_gap(entries):
    """Longest time between two acknowledged writes."""
    times = [at for kind, _, at in entries if kind == "ok"]
    return max((b - a for a, b in zip(times, times[1:])), default=0.0)


def committed_rows(model, unit, table="writer"):
    return {int(r[0]) for r in sql(model, unit, "SELECT id FROM probe.%s" % table)}
