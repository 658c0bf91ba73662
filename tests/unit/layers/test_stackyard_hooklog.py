"""hooklog: routine log lines held and written with few juju-log calls, in order."""

import pytest
from charmhelpers.core import hookenv

from charms.layer.stackyard import compat, hooklog


@pytest.fixture
def written(monkeypatch):
    """What reached juju-log: [(level, message)]."""
    calls = []
    monkeypatch.setattr(hooklog, '_write', lambda message, level=None: calls.append(
        (level, message)))
    monkeypatch.setattr(hooklog, '_held', [])
    return calls


def test_routine_lines_are_held_and_written_as_one_call_per_level_run(written):
    hooklog.log('Reactive main running for hook config-changed', hookenv.INFO)
    hooklog.log('Invoking reactive handler: a')
    hooklog.log('Writing file /etc/x', hookenv.DEBUG)
    hooklog.log('Rendered /etc/x', 'debug')
    hooklog.log(['not', 'a', 'string'], hookenv.INFO)
    assert written == []
    hooklog.flush()
    assert written == [
        ('INFO', 'Reactive main running for hook config-changed\nInvoking reactive handler: a'),
        ('DEBUG', 'Writing file /etc/x\nRendered /etc/x'),
        ('INFO', "['not', 'a', 'string']")]
    hooklog.flush()
    assert len(written) == 3


def test_a_warning_writes_what_was_held_first_then_itself_at_once(written):
    hooklog.log('step one')
    hooklog.log('it failed', hookenv.WARNING)
    hooklog.log('Hook error', hookenv.ERROR)
    assert written == [('INFO', 'step one'), ('WARNING', 'it failed'), ('ERROR', 'Hook error')]


def test_old_lines_are_written_at_the_next_line(written):
    now = [0.0]
    hooklog.log('first', clock=lambda: now[0])
    now[0] = hooklog.MAX_HOLD_SECONDS - 0.1
    hooklog.log('second', clock=lambda: now[0])
    assert written == []
    now[0] = hooklog.MAX_HOLD_SECONDS + 0.1
    hooklog.log('third', clock=lambda: now[0])
    assert written == [('INFO', 'first\nsecond')]
    assert hooklog.held() == [('INFO', 'third')]


def test_a_long_run_is_split_below_the_argument_limit(written, monkeypatch):
    monkeypatch.setattr(hooklog, 'MAX_CALL_CHARS', 25)
    for n in range(6):
        hooklog.log('line {} xxxx'.format(n))   # 11 characters each
    hooklog.flush()
    assert [m.count('\n') + 1 for _, m in written] == [2, 2, 2]
    assert '\n'.join(m for _, m in written) == '\n'.join(
        'line {} xxxx'.format(n) for n in range(6))


def test_maintenance_status_writes_the_held_lines_first(written):
    statuses = []
    status_set = hooklog._wrap_status_set(lambda state, message, application=False:
                                          statuses.append((state, len(written))))
    hooklog.log('before')
    status_set('active', 'Ready')
    assert written == [] and statuses == [('active', 0)]
    status_set(hookenv.WORKLOAD_STATES.MAINTENANCE, 'Installing foo')
    assert written == [('INFO', 'before')] and statuses[-1] == (
        hookenv.WORKLOAD_STATES.MAINTENANCE, 1)


def test_install_routes_hookenv_log_and_skips_the_relation_set_probe(monkeypatch):
    compat.install()
    compat.install()
    assert hookenv.log is hooklog.log
    assert hookenv.status_set.stackyard_hooklog
    from charmhelpers.core import host
    assert host.log is hooklog.log
    # relation-set --help is never run to learn that --file works.
    assert hookenv._relation_set_accepts_file() is True
    calls = []
    monkeypatch.setattr(hookenv.subprocess, 'check_call', lambda cmd: calls.append(cmd))
    monkeypatch.setattr(hookenv.subprocess, 'check_output', lambda *a, **k: pytest.fail(a))
    monkeypatch.setattr(hookenv, 'local_unit', lambda: 'web/0')
    hookenv.relation_set('cluster:0', {'k': 'v'})
    assert calls[0][:3] == ['relation-set', '-r', 'cluster:0'] and calls[0][3] == '--file'
