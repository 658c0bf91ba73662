"""critpath.py: per-application hook figures and the critical path from hook records."""

import os
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
sys.path.insert(0, os.path.join(TOP, 'tools', 'bench'))

import critpath  # noqa: E402


def hook(unit, name, start, duration):
    return {'unit': unit, 'hook': name, 'start': start, 'duration': duration}


MACHINES = {'galera/0': '0', 'hacluster/0': '0', 'galera/1': '1', 'probe/0': '2'}


def test_the_path_follows_the_machine_lock_then_the_waking_hook():
    hooks = [
        hook('galera/0', 'install', 100, 50),           # ends 150
        hook('galera/1', 'install', 100, 30),           # ends 130
        hook('hacluster/0', 'install', 151, 40),        # machine 0's lock: ends 191
        hook('galera/1', 'cluster-relation-changed', 195, 5),   # woken by hacluster/0's end
        hook('probe/0', 'update-status', 199, 1),       # timers are never on the path
        hook('galera/0', 'config-changed', 191.5, 2),   # ends 193.5, before galera/1's start
        hook('probe/0', 'shared-db-relation-changed', 230, 3),  # 30 s after the last end
    ]
    chain = critpath.critical_path(hooks, MACHINES, began=90)
    assert [(h['unit'], h['hook'], cause) for h, cause in chain] == [
        ('galera/0', 'install', 'start'),
        ('hacluster/0', 'install', 'machine'),
        ('galera/0', 'config-changed', 'machine'),
        ('galera/1', 'cluster-relation-changed', 'woken'),
        ('probe/0', 'shared-db-relation-changed', 'woken'),
    ]


def test_per_application_counts_runs_totals_and_longest_in_order_of_first_run():
    hooks = [hook('galera/0', 'install', 0, 10), hook('galera/1', 'install', 1, 12),
             hook('galera/0', 'start', 20, 1), hook('probe/0', 'install', 0, 5)]
    assert critpath.per_application(hooks) == {
        'galera': [('install', 2, 22.0, 12.0), ('start', 1, 1.0, 1.0)],
        'probe': [('install', 1, 5.0, 5.0)]}


def test_report_prints_both_parts(capsys):
    hooks = [hook('galera/0', 'install', 100, 50), hook('hacluster/0', 'install', 151, 40)]
    critpath.report(hooks, MACHINES, began=95)
    out = capsys.readouterr().out
    assert 'galera: 1 hooks on 1 units' in out
    assert 'path: 2 hooks, 90 s in hooks, 6 s between them, 96 s in all' in out
