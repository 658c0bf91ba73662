"""hookrun: the flag trace goes to the log as one entry per hook."""

from charms.layer.stackyard import hookrun


def test_trace_is_held_then_written_once(hook_env, monkeypatch):
    monkeypatch.setattr(hookrun.trace.charms.reactive, 'get_flags', lambda: ['a.ready'])
    tracer = hookrun.OneEntryTracer()
    tracer.start_dispatch()
    tracer.start_dispatch_phase('hooks', [])
    assert hook_env.logs == []
    tracer.emit()
    tracer.emit()
    assert hook_env.logs == ['tracer>\ntracer: starting handler dispatch, 1 flags set\n'
                             'tracer: set flag a.ready\ntracer: hooks phase, 0 handlers queued']
