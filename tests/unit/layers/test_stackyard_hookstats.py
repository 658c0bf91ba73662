"""Hook timing records: kept, bounded, summarised; failed hooks keep only the record."""

import pytest
from charmhelpers.core import unitdata

from charms.layer.stackyard import hookrun, hookstats


def test_records_are_kept_in_order_and_bounded(hook_env):
    kv = unitdata.kv()
    for i in range(hookstats.MAX_RECORDS + 25):
        hookstats.record('update-status', 1000.0 + i, 0.01, 'ok', kv=kv)
    recs = hookstats.records(kv)
    assert len(recs) == hookstats.MAX_RECORDS
    assert recs[0]['start'] == 1025.0
    assert recs[-1]['start'] == 1000.0 + hookstats.MAX_RECORDS + 24


def test_summary_count_median_p95_max_errors():
    recs = [{'hook': 'install', 'start': 0, 'duration': 5.0, 'outcome': 'ok'}]
    recs += [{'hook': 'update-status', 'start': i, 'duration': float(i), 'outcome': 'ok'}
             for i in range(1, 101)]
    recs.append({'hook': 'install', 'start': 1, 'duration': 7.0, 'outcome': 'error'})
    summary = hookstats.summary(recs)
    assert summary['install'] == {'count': 2, 'median': 6.0, 'p95': 7.0, 'max': 7.0,
                                  'errors': 1}
    assert summary['update-status']['median'] == 50.5
    assert summary['update-status']['p95'] == 95.0
    assert summary['update-status']['max'] == 100.0


def test_action_names_are_recorded_as_actions(hook_env, monkeypatch):
    monkeypatch.setenv('JUJU_ACTION_NAME', 'restart-services')
    assert hookstats.current_name() == 'action:restart-services'


def _fake_main(kv_writes, fail):
    def main():
        kv = unitdata.kv()
        for k, v in kv_writes.items():
            kv.set(k, v)
        if fail:
            raise RuntimeError('handler blew up')
        kv.flush()
    return main


def test_hookrun_records_success(hook_env, monkeypatch):
    monkeypatch.setattr(hookrun.reactive, 'main', _fake_main({'charm.key': 1}, fail=False))
    monkeypatch.setattr(hookrun.hookenv, 'atstart', lambda *a: None)
    monkeypatch.setattr(hookrun.hookenv, 'atexit', lambda *a: None)
    hookrun.main()
    unitdata._KV = None
    kv = unitdata.kv()
    assert kv.get('charm.key') == 1
    [rec] = hookstats.records(kv)
    assert rec['hook'] == 'config-changed' and rec['outcome'] == 'ok'
    assert rec['duration'] >= 0


def test_hookrun_failed_hook_keeps_record_but_not_its_writes(hook_env, monkeypatch):
    monkeypatch.setattr(hookrun.reactive, 'main', _fake_main({'charm.key': 2}, fail=True))
    monkeypatch.setattr(hookrun.hookenv, 'atstart', lambda *a: None)
    monkeypatch.setattr(hookrun.hookenv, 'atexit', lambda *a: None)
    with pytest.raises(RuntimeError):
        hookrun.main()
    unitdata._KV = None
    kv = unitdata.kv()
    assert kv.get('charm.key') is None
    assert [r['outcome'] for r in hookstats.records(kv)] == ['error']
