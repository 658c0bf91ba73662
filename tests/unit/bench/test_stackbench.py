"""stackbench.py's pieces that need no containers: the hooks table, action results,
and the VIP probe against a real listener."""

import os
import socket
import sys
import threading

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
sys.path.insert(0, os.path.join(TOP, 'tools', 'bench'))

import stackbench  # noqa: E402


def hook(unit, name, start, duration, code=0):
    return {'unit': unit, 'hook': name, 'start': start, 'duration': duration,
            'exit-code': code, 'skipped': False}


def test_app_hooks_table_counts_per_application_and_when_each_settled(capsys):
    hooks = [hook('galera/0', 'install', 100.0, 10.0), hook('galera/1', 'install', 101.0, 4.0),
             hook('hacluster/0', 'ha-relation-changed', 120.0, 2.0, code=1),
             hook('galera/0', 'update-status', 130.0, 1.0)]
    stackbench.app_hooks_table(hooks, began=95.0, full={'galera': 2, 'hacluster': 1})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ['application', 'hooks', 'run', 'full', 'failed',
                                'update-status', 'hook', 's', 'total', 'median', 'hook', 's',
                                'settled', 'at', 's']
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    # galera's update-status at 130 s is not when it settled
    assert rows['galera'] == ['3', '2', '0', '1', '15.0', '4.00', '15']
    assert rows['hacluster'] == ['1', '1', '1', '0', '2.0', '2.00', '27']
    assert rows['all'] == ['4', '3', '1', '1', '17.0', '3.00', '27']


def test_action_number_reads_nested_and_dotted_results():
    assert stackbench.action_number({'results': {'publish-rate': {'value': '812.5'}}},
                                    'results', 'publish-rate', 'value') == 812.5
    assert stackbench.action_number({'results.transactions.value': '41'},
                                    'results', 'transactions', 'value') == 41.0
    assert stackbench.action_number({'message': 'failed'}, 'results', 'x', 'value') is None


def test_mysql_answers_needs_a_greeting():
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(2)
    port = server.getsockname()[1]

    def serve(greeting):
        conn, _ = server.accept()
        conn.sendall(greeting)
        conn.close()
    for greeting, expected in ((b'\x4a\x00\x00\x00\x0a10.11.6-MariaDB', True), (b'', False)):
        worker = threading.Thread(target=serve, args=(greeting,))
        worker.start()
        assert stackbench.mysql_answers('127.0.0.1', port) is expected
        worker.join()
    server.close()


def test_model_names_differ_per_yard_home(monkeypatch):
    # LXD instance names are host-wide: two worktrees' benches must not share machines.
    monkeypatch.setenv('YARD_HOME', '/work/wt/a/.yard')
    first = stackbench.Model('bench-openstack-data').name
    monkeypatch.setenv('YARD_HOME', '/work/wt/b/.yard')
    second = stackbench.Model('bench-openstack-data').name
    assert first.startswith('bench-openstack-data-') and second.startswith('bench-openstack-data-')
    assert first != second
    monkeypatch.delenv('YARD_HOME')
    assert stackbench.Model('x').name == 'x-' + stackbench.hashlib.sha1(
        os.path.join(stackbench.REPO, '.yard').encode()).hexdigest()[:4]


def test_sysbench_runs_from_a_unit_that_does_not_hold_the_vip():
    units = {'galera/0': {}, 'galera/1': {}, 'galera/2': {}}
    assert stackbench.sysbench_client(units, 'galera/0') == 'galera/1'
    assert stackbench.sysbench_client(units, 'galera/1') == 'galera/0'
    assert stackbench.sysbench_client(units, None) == 'galera/0'
    assert stackbench.sysbench_client({'galera/0': {}}, 'galera/0') == 'galera/0'
