"""Comparing two runs without being fooled by noise.

A metric counts as changed only when both hold:

1. its relative change ``(candidate - base) / |base|`` is at least ``threshold``
   (config ``threshold``, default 5 %); and
2. when both runs have two or more samples of it, Welch's unequal-variances
   t-test rejects "same mean" at significance ``alpha`` (config ``alpha``,
   default 0.05, two-sided).  Without samples only the threshold applies.

The direction (higher or lower is better) makes a change ``better`` or
``worse``.  The run's verdict: ``worse`` if any metric is worse, else
``better`` if any is better, else ``unchanged``.  Standard library only: the
t distribution's tail comes from the regularised incomplete beta function.
"""

import math
import statistics


def _betacf(a, b, x):
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-12:
            break
    return h


def incomplete_beta(a, b, x):
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0 or x >= 1.0:
        return 0.0 if x <= 0.0 else 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) +
                     a * math.log(x) + b * math.log(1.0 - x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def welch(xs, ys):
    """``(t, degrees of freedom, two-sided p)`` of Welch's t-test; p is 1.0 when the
    samples cannot differ (both constant and equal)."""
    n1, n2 = len(xs), len(ys)
    m1, m2 = statistics.fmean(xs), statistics.fmean(ys)
    s1, s2 = statistics.variance(xs) / n1, statistics.variance(ys) / n2
    if s1 + s2 == 0.0:
        return 0.0, float(n1 + n2 - 2), 1.0 if m1 == m2 else 0.0
    t = (m2 - m1) / math.sqrt(s1 + s2)
    df = (s1 + s2) ** 2 / (s1 ** 2 / (n1 - 1) + s2 ** 2 / (n2 - 1))
    return t, df, incomplete_beta(df / 2.0, 0.5, df / (df + t * t))


def compare_metric(base, cand, threshold, alpha):
    """Verdict for one metric: a dict with change, p (or None), verdict and why."""
    a, b = base['value'], cand['value']
    change = (b - a) / abs(a) if a else (0.0 if b == a else math.copysign(math.inf, b - a))
    out = {'base': a, 'candidate': b, 'units': cand['units'], 'direction': cand['direction'],
           'change': change, 'p': None, 'test': 'threshold'}
    xs, ys = base.get('samples') or [], cand.get('samples') or []
    if len(xs) >= 2 and len(ys) >= 2:
        out['test'] = 'welch-t'
        out['p'] = welch(xs, ys)[2]
    if abs(change) < threshold:
        out.update(verdict='unchanged', why='change {:+.1%} within the {:.1%} threshold'.format(
            change, threshold))
    elif out['p'] is not None and out['p'] >= alpha:
        out.update(verdict='unchanged', why='change {:+.1%} within the noise (p={:.3f})'.format(
            change, out['p']))
    else:
        higher = change > 0
        good = higher if cand['direction'] == 'higher' else not higher
        out.update(verdict='better' if good else 'worse', why='change {:+.1%}{}'.format(
            change, '' if out['p'] is None else ' (p={:.3g})'.format(out['p'])))
    return out


def compare_runs(base, cand, threshold=0.05, alpha=0.05):
    """Compare two run documents: per-metric verdicts and one for the run.

    Metrics present in only one run are listed under ``missing`` and not judged.
    """
    names = sorted(set(base['metrics']) & set(cand['metrics']))
    metrics = {n: compare_metric(base['metrics'][n], cand['metrics'][n], threshold, alpha)
               for n in names}
    verdicts = {m['verdict'] for m in metrics.values()}
    verdict = ('worse' if 'worse' in verdicts else 'better' if 'better' in verdicts
               else 'unchanged')
    missing = sorted(set(base['metrics']) ^ set(cand['metrics']))
    return {'base': base['id'], 'candidate': cand['id'], 'benchmark': cand['benchmark'],
            'threshold': threshold, 'alpha': alpha, 'verdict': verdict, 'metrics': metrics,
            'missing': missing}


def pick(db, base=None, candidate=None, benchmark=None):
    """The two run documents to compare: ids given, or the newest run of ``benchmark``
    (or of the base's benchmark) against the benchmark's baseline.

    :raises LookupError: with a message naming what is missing
    """
    def get(run_id, what):
        run = db.get_run(run_id)
        if run is None:
            raise LookupError('no run with id {!r} ({})'.format(run_id, what))
        return run
    base_run = get(base, 'base') if base else None
    cand_run = get(candidate, 'candidate') if candidate else None
    name = benchmark or (cand_run or base_run or {}).get('benchmark')
    if not name:
        raise LookupError('give two run ids, or a benchmark to compare its newest run '
                          'with its baseline')
    if cand_run is None:
        newest = db.runs(benchmark=name, limit=1)
        if not newest:
            raise LookupError('benchmark {!r} has no runs'.format(name))
        cand_run = get(newest[0]['id'], 'newest run')
    if base_run is None:
        baseline = db.baselines().get(name)
        if not baseline:
            raise LookupError('benchmark {!r} has no baseline (set one with set-baseline)'
                              .format(name))
        base_run = get(baseline, 'baseline')
    return base_run, cand_run
