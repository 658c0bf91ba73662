"""benchmark-collector: comparisons that respect noise (threshold and Welch's t-test)."""

import pytest

from charms.layer.benchmark_collector import compare
from collector_runs import make_run


def test_incomplete_beta_and_t_tails_match_known_values():
    # I_0.4(2, 3) = sum_{j=2..4} C(4, j) 0.4^j 0.6^(4-j) = 0.5248
    assert compare.incomplete_beta(2, 3, 0.4) == pytest.approx(0.5248, abs=1e-9)
    # Two-sided p of Student's t: t=2.228 with 10 df is the 5 % point; t=3.169 the 1 %.
    for t, df, p in ((2.228, 10, 0.05), (3.169, 10, 0.01), (1.96, 1e6, 0.05)):
        assert compare.incomplete_beta(df / 2, 0.5, df / (df + t * t)) == pytest.approx(
            p, rel=2e-3)


def test_welch_on_equal_and_on_distinct_samples():
    assert compare.welch([1, 2, 3], [1, 2, 3])[2] == pytest.approx(1.0)
    t, df, p = compare.welch([10, 11, 9, 10, 10.5], [20, 21, 19, 20, 20.5])
    assert t > 10 and p < 1e-5 and df == pytest.approx(8.0)
    assert compare.welch([5, 5], [5, 5])[2] == 1.0 and compare.welch([5, 5], [6, 6])[2] == 0.0


def test_a_slower_run_is_worse():
    base = make_run(seed=1)
    slow = make_run(seed=2, rps=800.0, latency=14.0)
    out = compare.compare_runs(base, slow)
    assert out['verdict'] == 'worse'
    assert out['metrics']['requests']['verdict'] == 'worse'
    assert out['metrics']['latency-p99']['verdict'] == 'worse'
    assert out['metrics']['requests']['test'] == 'welch-t'
    assert out['metrics']['requests']['p'] < 0.001
    assert out['metrics']['requests']['change'] == pytest.approx(-0.2, abs=0.02)
    assert compare.compare_runs(slow, base)['verdict'] == 'better'


def test_a_repeat_is_unchanged():
    out = compare.compare_runs(make_run(seed=1), make_run(seed=2))
    assert out['verdict'] == 'unchanged'
    assert all(m['verdict'] == 'unchanged' for m in out['metrics'].values())


def test_a_change_past_the_threshold_but_inside_the_noise_is_unchanged():
    # 30 % noise, 8 % apart: past a 5 % threshold, but the t-test cannot tell them apart.
    base = make_run(seed=3, noise=0.3, samples=4)
    cand = make_run(seed=3, noise=0.3, samples=4, rps=1080.0)
    m = compare.compare_runs(base, cand)['metrics']['requests']
    assert abs(m['change']) >= 0.05 and m['p'] > 0.05
    assert m['verdict'] == 'unchanged' and 'noise' in m['why']


def test_without_samples_only_the_threshold_counts():
    base = make_run(samples=0)
    cand = make_run(samples=0, rps=1040.0, latency=9.0)
    out = compare.compare_runs(base, cand, threshold=0.05)
    assert out['metrics']['requests']['verdict'] == 'unchanged'
    assert out['metrics']['latency-p99']['verdict'] == 'better'
    assert out['metrics']['latency-p99']['test'] == 'threshold'
    assert out['verdict'] == 'better'
    assert compare.compare_runs(base, cand, threshold=0.2)['verdict'] == 'unchanged'


def test_metrics_in_one_run_only_are_listed_not_judged():
    base, cand = make_run(), make_run(seed=2)
    del cand['metrics']['latency-p99']
    out = compare.compare_runs(base, cand)
    assert out['missing'] == ['latency-p99'] and list(out['metrics']) == ['requests']
