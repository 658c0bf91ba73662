"""HTML of the dashboard: escaped text, inline CSS, SVG plots drawn here."""

import html
import urllib.parse

from charms.layer.benchmark_collector import store

LINE = '#1f6fb4'      # the plots' line and points (the browser test looks for this colour)
BASE = '#d62728'      # the baseline
PAGE = 100            # runs per page of the runs list
STYLE = """body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;font-size:90%}
.better{background:#d8f5d8}.worse{background:#f8d0d0}.unchanged{background:#eee}
nav a{margin-right:1em}form{margin:1em 0}svg{background:#fff;border:1px solid #ddd}"""


def esc(value):
    return html.escape('' if value is None else str(value), quote=True)


def link(path, text, **query):
    query = {k: v for k, v in query.items() if v}
    href = path + ('?' + urllib.parse.urlencode(query) if query else '')
    return '<a href="{}">{}</a>'.format(esc(href), esc(text))


def layout(title, body):
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{0}</title>'
            '<style>{1}</style></head><body><nav>{2}{3}{4}</nav><h1>{0}</h1>{5}'
            '</body></html>').format(esc(title), STYLE, link('/', 'Runs'),
                                     link('/api/runs', 'JSON'), link('/export.csv', 'CSV'),
                                     body)


def error(message):
    return layout('Not found', '<p>{}</p>'.format(esc(message)))


def table(header, rows):
    head = ''.join('<th>{}</th>'.format(esc(h)) for h in header)
    body = ''.join('<tr{}>{}</tr>'.format(cls, ''.join('<td>{}</td>'.format(c) for c in cells))
                   for cls, cells in rows)
    return '<table><tr>{}</tr>{}</table>'.format(head, body)


def number(value):
    return '' if value is None else esc('{:.6g}'.format(value))


def index(runs, count, filters, benchmarks, baselines, after):
    """The runs, newest first, with the filter form and the benchmarks; ``after``: the
    cursor of the next page (None on the last)."""
    fields = ''.join('<label>{0} <input name="{0}" value="{1}" size="12"></label> '.format(
        k, esc(filters.get(k, ''))) for k in ('benchmark', 'application', 'unit', 'since',
                                              'until'))
    form = '<form method="get" action="/">{}<button>Filter</button></form>'.format(fields)
    marks = {v: k for k, v in baselines.items()}
    rows = [('', [link('/runs/' + r['id'], r['id'][:8]), link('/benchmarks/' + r['benchmark'],
                                                              r['benchmark']),
                  esc(r['unit']), esc(r['charm']), esc(r['revision']), esc(r['started']),
                  number(r['composite']), 'baseline' if r['id'] in marks else
                  link('/compare', 'vs baseline', candidate=r['id'])]) for r in runs]
    bench = ', '.join('{} ({} runs)'.format(link('/benchmarks/' + b, b), n)
                      for b, n, _ in benchmarks) or 'none yet'
    more = link('/', 'older runs', before=after, **filters) if after else ''
    matched = '{}{} runs match.'.format('At least ' if count >= store.COUNT_CAP else '', count)
    runs_table = table(('run', 'benchmark', 'unit', 'charm', 'rev', 'start', 'composite', ''),
                       rows)
    return layout('Benchmark runs', '<p>Benchmarks: {}</p>{}<p>{}</p>{}<p>{}</p>{}'.format(
        bench, form, matched, runs_table, more,
        link('/export.csv', 'these runs as CSV', **filters)))


def run(doc, baseline_id):
    rows = [('', [esc(n), number(m['value']), esc(m['units']), esc(m['direction']),
                  esc(len(m.get('samples') or []))]) for n, m in sorted(doc['metrics'].items())]
    info = [('', [esc(k), esc(doc.get(k))]) for k in ('id', 'benchmark', 'unit', 'charm',
                                                      'revision', 'start', 'end')]
    extra = '<h2>Parameters</h2><pre>{}</pre><h2>Machine</h2><pre>{}</pre>'.format(
        esc(doc.get('params')), esc(doc.get('fingerprint')))
    versus = '' if baseline_id in (None, doc['id']) else link(
        '/compare', 'Compare with the baseline', candidate=doc['id'])
    return layout('Run ' + doc['id'], table(('field', 'value'), info) + '<h2>Metrics</h2>' +
                  table(('metric', 'value', 'units', 'better', 'samples'), rows) +
                  '<p>{}</p>'.format(versus) + extra)


def plot(name, entry, baseline_value, width=640, height=180):
    """An SVG line plot of one metric across runs (oldest left)."""
    points = entry['points']
    values = [p[1] for p in points] + ([baseline_value] if baseline_value is not None else [])
    low, high = min(values), max(values)
    pad = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
    low, high = low - pad, high + pad
    left, right, top, bottom = 60, width - 10, 10, height - 25

    def x(i):
        return left + (right - left) * (i / (len(points) - 1) if len(points) > 1 else 0.5)

    def y(v):
        return bottom - (bottom - top) * (v - low) / (high - low)
    line = ' '.join('{:.1f},{:.1f}'.format(x(i), y(p[1])) for i, p in enumerate(points))
    dots = ''.join('<circle cx="{:.1f}" cy="{:.1f}" r="3" fill="{}"><title>{} {} {} ({})'
                   '</title></circle>'.format(x(i), y(p[1]), LINE, esc(p[0]), number(p[1]),
                                              esc(entry['units']), esc(p[3]))
                   for i, p in enumerate(points))
    base = '' if baseline_value is None else (
        '<line x1="{0}" x2="{1}" y1="{2:.1f}" y2="{2:.1f}" stroke="{3}" stroke-width="2" '
        'stroke-dasharray="6 4"/>'.format(left, right, y(baseline_value), BASE))
    labels = ('<text x="5" y="{:.0f}" font-size="11">{}</text><text x="5" y="{:.0f}" '
              'font-size="11">{}</text><text x="{}" y="{}" font-size="11">{}</text>'
              '<text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>').format(
        top + 10, number(high), bottom, number(low), left, height - 8, esc(points[0][0][:16]),
        right, height - 8, esc(points[-1][0][:16]))
    return ('<h3>{} ({}, {} is better)</h3><svg class="plot" data-metric="{}" width="{}" '
            'height="{}" viewBox="0 0 {} {}" xmlns="http://www.w3.org/2000/svg">{}{}'
            '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>{}</svg>').format(
        esc(name), esc(entry['units']), esc(entry['direction']), esc(name), width, height,
        width, height, labels, base, line, LINE, dots)


def benchmark(name, series, baseline):
    base_metrics = baseline['metrics'] if baseline else {}
    plots = ''.join(plot(m, e, base_metrics.get(m, {}).get('value'))
                    for m, e in sorted(series.items()))
    note = 'No baseline set (action set-baseline).'
    if baseline:
        note = 'Dashed line: the baseline, run {}.'.format(
            link('/runs/' + baseline['id'], baseline['id'][:8]))
    links = link('/', 'runs', benchmark=name) + ' ' + link('/compare', 'newest vs baseline',
                                                           benchmark=name)
    return layout('Benchmark ' + name, '<p>{} {}</p>{}'.format(
        note, links, plots or '<p>No runs.</p>'))


def comparison(result, base, cand):
    """Two runs side by side, a verdict per metric and for the run."""
    rows = [(' class="{}"'.format(m['verdict']),
             [esc(n), number(m['base']), number(m['candidate']), esc(m['units']),
              esc('{:+.1%}'.format(m['change'])), esc(m['verdict']), esc(m['why'])])
            for n, m in sorted(result['metrics'].items())]
    who = table(('', 'base', 'candidate'), [('', [esc(k), esc(base.get(k)), esc(cand.get(k))])
                                            for k in ('id', 'unit', 'revision', 'start')])
    return layout('{}: {}'.format(result['benchmark'], result['verdict']),
                  who + '<h2>Metrics</h2>' + table(
                      ('metric', 'base', 'candidate', 'units', 'change', 'verdict', 'why'),
                      rows) + '<p>Threshold {:.1%}, alpha {}; missing: {}</p>'.format(
                      result['threshold'], result['alpha'],
                      esc(', '.join(result['missing']) or 'none')))
