"""bench-scale's counting: the records it reads and the numbers it derives from them.

The fake systemctl and the sandbox are run for real (the sandbox needs root,
as `make bench-scale` does), so a change to what they write cannot leave the
parser reporting wrong numbers silently.
"""

import os
import subprocess
import sys
import time

import pytest

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
sys.path.insert(0, os.path.join(TOP, 'tools', 'bench'))

import scalebench  # noqa: E402

FAKE = os.path.join(TOP, 'tools', 'bench', 'scale', 'fake-bin', 'systemctl')


def hook_line(start, kind='skip', wall=0.002, cpu=0.001, name='cluster-relation-changed',
              remote='web/1', unit='web/0', code=0):
    return '{} {} {} {} {} {} {} {}\n'.format(start, wall, cpu, kind, name, remote, unit, code)


def test_hook_records_parse_and_bad_lines_raise():
    hooks = scalebench.parse_hooks([hook_line(10.5, kind='full', cpu=0.3),
                                    '\n', hook_line(11, remote='-', code=1)])
    assert [(h.start, h.kind, h.cpu, h.remote, h.code) for h in hooks] == [
        (10.5, 'full', 0.3, 'web/1', 0), (11.0, 'skip', 0.001, '', 1)]
    with pytest.raises(ValueError):
        scalebench.parse_hooks(['10.5 0.002 0.001 skip cluster-relation-changed\n'])
    with pytest.raises(ValueError):
        scalebench.parse_hooks([hook_line(1, kind='maybe')])


def test_most_at_once_counts_overlaps_not_touching_spans():
    assert scalebench.most_at_once([]) == 0
    # three batches of two, each starting when the last one ended
    spans = [(0, 5), (0.1, 5), (5, 10), (5, 10.2), (10.2, 15), (10.3, 15)]
    assert scalebench.most_at_once(spans) == 2
    assert scalebench.most_at_once([(0, 10), (1, 2), (1.5, 3), (2.5, 4)]) == 3


def test_summarise_counts_one_roll():
    units = ['web/0', 'web/1', 'web/2']
    calls = [scalebench.Call('restart', 'svc', 'web/2', 50, 55),   # an earlier roll
             scalebench.Call('restart', 'svc', 'web/0', 100, 105),
             scalebench.Call('restart', 'svc', 'web/1', 100.5, 105.5),
             scalebench.Call('restart', 'svc', 'web/1', 106, 111),
             scalebench.Call('is-active', 'svc', 'web/2', 106, 106.01)]
    hooks = scalebench.parse_hooks(
        [hook_line(40, kind='full')] +
        [hook_line(99 + i, kind='full', cpu=0.25) for i in range(4)] +
        [hook_line(101, kind='python', cpu=0.03)] +
        [hook_line(102 + i / 10, wall=w, cpu=0.002) for i, w in enumerate((0.002, 0.004, 0.1))] +
        [hook_line(115, kind='full', wall=2, code=1)])
    row = scalebench.summarise(hooks, calls, 99, units, batch=2, restart_seconds=5)
    assert row['restarts'] == 3
    assert row['not once'] == 2          # web/1 twice, web/2 never
    assert (row['full'], row['fast'], row['skipped'], row['failed']) == (5, 1, 3, 1)
    assert row['skip p50 ms'] == pytest.approx(4)
    assert row['skip p95 ms'] == pytest.approx(100)
    assert row['skip cpu ms'] == pytest.approx(2)
    assert row['hook cpu'] == pytest.approx(4 * 0.25 + 0.03 + 3 * 0.002 + 0.001)
    assert row['wall'] == pytest.approx(117 - 99)
    assert row['ideal'] == 10
    assert row['at once'] == 2


def test_fake_systemctl_records_what_the_parser_reads(tmp_path):
    env = dict(os.environ, YARD_MACHINE_ROOT=str(tmp_path), JUJU_UNIT_NAME='web/3',
               SCALE_BENCH_RESTART_SECONDS='0.3')

    def systemctl(*args):
        return subprocess.run([FAKE] + list(args), env=env, capture_output=True, text=True)

    assert systemctl('is-active', '--quiet', 'svc').returncode == 3
    before = time.time()
    assert systemctl('restart', 'svc.service').returncode == 0
    assert systemctl('is-active', 'svc').stdout == 'active\n'
    assert systemctl('daemon-reload').returncode == 0
    assert systemctl('stop', 'svc').returncode == 0
    assert systemctl('is-active', 'svc').returncode == 3
    with open(tmp_path / '.sandbox' / 'systemctl.log') as f:
        calls = scalebench.parse_calls(f)
    assert [(c.verb, c.service, c.unit) for c in calls] == [
        ('is-active', 'svc', 'web/3'), ('restart', 'svc', 'web/3'), ('is-active', 'svc', 'web/3'),
        ('daemon-reload', '-', 'web/3'), ('stop', 'svc', 'web/3'), ('is-active', 'svc', 'web/3')]
    restart = calls[1]
    assert restart.start >= before - 0.01
    assert restart.end - restart.start >= 0.3


@pytest.mark.skipif(os.geteuid() != 0 and not os.environ.get('CI'),
                    reason='the sandbox needs root (mount namespaces), as make bench-scale does')
def test_sandbox_classifies_hooks_by_the_python_they_start(tmp_path):
    bench = tmp_path / 'bench'
    scalebench.build_helpers(str(bench))
    venv = tmp_path / 'charm' / '.venv'
    subprocess.run(['/usr/bin/python3', '-m', 'venv', '--without-pip', str(venv)], check=True)
    machine = tmp_path / 'machine'
    machine.mkdir()
    env = {'PATH': '/usr/bin:/bin', 'YARD_MACHINE_ROOT': str(machine),
           'SCALE_BENCH_DIR': str(bench), 'JUJU_UNIT_NAME': 'web/0',
           'JUJU_HOOK_NAME': 'cluster-relation-changed', 'JUJU_REMOTE_UNIT': 'web/1'}
    runs = [['/bin/sh', '-c', 'exit 0'],
            ['/bin/sh', '-c', '/usr/bin/python3 -S -c "import sys; sys.exit(3)"'],
            ['/bin/sh', '-c', '/usr/bin/python3 -S -c pass && {} -c "import sys; '
             'assert sys.prefix == {!r}"'.format(venv / 'bin' / 'python3', str(venv))],
            ['/bin/sh', '-c', 'echo x > /etc/scale-bench-test && systemctl restart svc']]
    codes = [subprocess.run([str(bench / 'sandbox')] + argv, env=env).returncode
             for argv in runs]
    assert codes == [0, 3, 0, 0]
    with open(machine / '.sandbox' / 'hooks.log') as f:
        hooks = scalebench.parse_hooks(f)
    assert [(h.kind, h.code, h.unit, h.remote) for h in hooks] == [
        ('skip', 0, 'web/0', 'web/1'), ('python', 3, 'web/0', 'web/1'),
        ('full', 0, 'web/0', 'web/1'), ('skip', 0, 'web/0', 'web/1')]
    assert all(0 <= h.cpu and 0 < h.wall < 30 for h in hooks)
    # the machine's writes stay in its overlay; the fake systemctl came first on PATH
    assert not os.path.exists('/etc/scale-bench-test')
    assert (machine / '.sandbox' / 'etc' / 'up' / 'scale-bench-test').read_text() == 'x\n'
    with open(machine / '.sandbox' / 'systemctl.log') as f:
        assert [c.verb for c in scalebench.parse_calls(f)] == ['restart']


def test_misses_names_each_target_missed():
    row = {'full': 400, 'skip cpu ms': 2.5, 'skip p50 ms': 4.0, 'at once': 30, 'wall': 75,
           'ideal': 50, 'not once': 0, 'failed': 0, 'hook cpu': 100.0, 'yard cpu': 20.0}
    assert scalebench.misses(100, 30, row, 5) == []
    row.update({'full': 401, 'skip cpu ms': 5.5, 'skip p50 ms': 12, 'at once': 31, 'wall': 76,
                'not once': 1})
    assert scalebench.misses(100, 30, row, 5) == [
        'full hooks 4.01 x N > 4 x N', 'a skipped hook takes 5.5 ms of CPU > 5 ms',
        'a skipped hook takes 12.0 ms wall (median) > 5 ms', '31 restarts at once > batch 30',
        'wall 76s > 1.5 x 50s (this host needs {:.0f}s of its CPUs)'.format(
            120 / (os.cpu_count() or 1)), '1 units not restarted exactly once, 0 hooks failed']
    assert scalebench.misses(100, 30, row, 5, cut=True) == [
        'full hooks 4.01 x N > 4 x N', 'a skipped hook takes 5.5 ms of CPU > 5 ms',
        'a skipped hook takes 12.0 ms wall (median) > 5 ms', '31 restarts at once > batch 30']
