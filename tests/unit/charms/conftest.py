"""Fixtures of the charm unit tests."""

import pytest

from charms.layer.benchmark_collector import store, web
from collector_runs import make_run, stamp


@pytest.fixture
def served(tmp_path):
    """A collector web server on a free localhost port, with six runs stored."""
    path = str(tmp_path / 'runs.sqlite')
    db = store.Store(path)
    db.migrate()
    runs = [make_run(seed=i, start=stamp(i), unit='web/{}'.format(i % 2)) for i in range(5)]
    runs.append(make_run(seed=9, start=stamp(9), rps=700.0, latency=15.0))  # a slow one
    for run in runs:
        db.add_run(run, stamp(0))
    db.set_baseline('http', runs[0]['id'], stamp(0))
    db.close()
    server = web.serve({'database': path, 'port': 0, 'threshold': 0.05, 'alpha': 0.05},
                       address='127.0.0.1')
    base = 'http://127.0.0.1:{}'.format(server.server_address[1])
    yield base, runs
    server.shutdown()
    server.server_close()
