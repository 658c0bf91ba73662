"""benchmark-collector: the JSON API, CSV and pages over a real HTTP server on localhost."""

import csv
import html
import io
import json
import re
import urllib.error
import urllib.request

import pytest

from charms.layer.benchmark_collector import pages
from collector_runs import make_run, stamp


def get(url, data=None):
    request = urllib.request.Request(url, data=data, method='POST' if data else 'GET',
                                     headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def test_api_lists_filters_and_returns_runs(served):
    base, runs = served
    status, headers, body = get(base + '/api/runs')
    data = json.loads(body)
    assert status == 200 and headers['Content-Type'] == 'application/json'
    assert data['count'] == 6 and data['more'] is False
    assert [r['id'] for r in data['runs']][0] == runs[-1]['id']
    assert json.loads(get(base + '/api/runs?unit=web/1')[2])['count'] == 2
    first = json.loads(get(base + '/api/runs?limit=2')[2])
    assert [r['id'] for r in first['runs']] == [runs[5]['id'], runs[4]['id']]
    second = json.loads(get(base + '/api/runs?limit=2&before=' + first['next'])[2])
    assert [r['id'] for r in second['runs']] == [runs[3]['id'], runs[2]['id']]
    assert json.loads(get(base + '/api/runs?limit=6')[2])['next'] is None
    assert data['next'] is None
    status, _, body = get(base + '/api/runs/' + runs[2]['id'])
    assert status == 200 and json.loads(body) == runs[2]
    assert json.loads(body)['metrics']['requests']['units'] == 'req/s'
    status, _, body = get(base + '/api/runs/nope')
    assert status == 404 and 'no run' in json.loads(body)['error']
    assert json.loads(get(base + '/api/benchmarks')[2]) == [
        {'benchmark': 'http', 'runs': 6, 'latest': stamp(9), 'baseline': runs[0]['id']}]


@pytest.mark.parametrize('query, message', [
    ('unit=web', "bad unit 'web'"), ('benchmark=DROP%20TABLE', 'bad benchmark'),
    ('limit=0', 'limit must be a whole number'), ('since=yesterday', 'bad since'),
    ('before=nope', "bad before 'nope'")])
def test_bad_filters_are_refused_naming_them(served, query, message):
    status, _, body = get(served[0] + '/api/runs?' + query)
    assert status == 400 and message in json.loads(body)['error']


def test_compare_by_ids_and_against_the_baseline(served):
    base, runs = served
    status, _, body = get('{}/api/compare?base={}&candidate={}'.format(
        base, runs[0]['id'], runs[1]['id']))
    assert status == 200 and json.loads(body)['verdict'] == 'unchanged'
    data = json.loads(get(base + '/api/compare?benchmark=http')[2])   # newest vs baseline
    assert (data['base'], data['candidate'], data['verdict']) == (
        runs[0]['id'], runs[-1]['id'], 'worse')
    assert data['metrics']['requests']['verdict'] == 'worse'
    status, _, body = get(base + '/api/compare?base=nope&candidate=' + runs[1]['id'])
    assert status == 404 and json.loads(body)['error'] == "no run with id 'nope' (base)"


def test_post_stores_a_run_once_and_refuses_a_bad_one(served):
    base, _ = served
    run = make_run(unit='db/0', name='disk', samples=3000)
    status, _, body = get(base + '/api/runs', json.dumps(run).encode())
    assert status == 201 and json.loads(body) == {'id': run['id'], 'stored': True}
    assert get(base + '/api/runs', json.dumps(run).encode())[0] == 200
    assert json.loads(get(base + '/api/runs/' + run['id'])[2]) == run
    run['metrics']['requests']['direction'] = 'up'
    status, _, body = get(base + '/api/runs', json.dumps(run).encode())
    assert status == 400 and "direction 'up'" in json.loads(body)['error']
    assert get(base + '/api/runs', b'{not json')[0] == 400


def test_csv_export(served):
    base, runs = served
    status, headers, body = get(base + '/export.csv?benchmark=http&since=' + stamp(9))
    assert status == 200 and headers['Content-Type'].startswith('text/csv')
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert [(r['run_id'], r['metric'], r['units']) for r in rows] == [
        (runs[-1]['id'], 'latency-p99', 'ms'), (runs[-1]['id'], 'requests', 'req/s')]
    assert float(rows[1]['value']) == pytest.approx(runs[-1]['metrics']['requests']['value'])


def test_pages_render_escape_and_load_nothing_from_outside(served):
    base, runs = served
    for path in ('/', '/runs/' + runs[0]['id'], '/benchmarks/http', '/compare?benchmark=http',
                 '/?unit=web/1'):
        status, headers, body = get(base + path)
        text = body.decode()
        assert status == 200, path
        assert "default-src 'none'" in headers['Content-Security-Policy']
        assert '<script' not in text and 'src="http' not in text and "url(" not in text
    page = get(base + '/benchmarks/http')[2].decode()
    assert page.count('<svg class="plot"') == 2 and page.count('<circle') == 12
    assert 'stroke-dasharray' in page           # the baseline
    compared = get(base + '/compare?benchmark=http')[2].decode()
    assert '<h1>http: worse</h1>' in compared and 'class="worse"' in compared
    assert get(base + '/?benchmark=<b>')[0] == 400
    assert get(base + '/runs/none')[0] == 404


def test_the_runs_page_pages_by_keyset(served, monkeypatch):
    base, runs = served
    monkeypatch.setattr(pages, 'PAGE', 4)
    first = get(base + '/')[2].decode()
    found = re.search(r'<a href="(/\?before=[^"]+)">older runs</a>', first)
    assert found and runs[2]['id'][:8] in first and runs[1]['id'][:8] not in first
    second = get(base + html.unescape(found.group(1)))[2].decode()
    assert runs[1]['id'][:8] in second and runs[0]['id'][:8] in second
    assert runs[2]['id'][:8] not in second and 'older runs' not in second
