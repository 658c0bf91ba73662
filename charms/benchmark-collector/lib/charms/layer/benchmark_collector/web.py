"""The collector's dashboard and JSON API: one stdlib HTTP server, nothing from outside.

Pages are plain HTML with inline CSS; plots are SVG drawn here; no script runs
and the Content-Security-Policy lets the page load nothing but itself, so it
works with no internet access.  Run as ``python3 -m
charms.layer.benchmark_collector.web <settings.json>`` (the charm's service).
"""

import csv
import datetime
import http.server
import io
import json
import re
import sys
import threading
import urllib.parse

from charms.layer.benchmark_collector import compare, store
from charms.layer.benchmark_collector import pages

MAX_BODY = 8 * 1024 * 1024
_FILTER_RULES = {
    'benchmark': re.compile(r'^[a-z0-9][a-z0-9-]{0,63}$'),
    'application': re.compile(r'^[a-z0-9][a-z0-9-]{0,63}$'),
    'unit': re.compile(r'^[a-z0-9][a-z0-9-]{0,63}/[0-9]{1,6}$'),
    'charm': re.compile(r'^[a-z0-9][a-z0-9-]{0,63}$'),
    'since': re.compile(r'^\d{4}-\d\d-\d\d[0-9T:.Z-]{0,20}$'),
    'until': re.compile(r'^\d{4}-\d\d-\d\d[0-9T:.Z-]{0,20}$'),
}
# A page's cursor: ``<start>_<id>`` of its last run (ids are word characters, dots and
# hyphens; starts have no ``_``).
_CURSOR = re.compile(r'^(\d{4}-\d\d-\d\d[0-9T:.Z-]{0,24})_([\w.-]{1,200})$')
CSV_FIELDS = ('run_id', 'benchmark', 'unit', 'charm', 'revision', 'start', 'end', 'metric',
              'value', 'units', 'direction')


class BadRequest(Exception):
    """A request the API refuses (400); the message names the parameter."""


def filters(query):
    """The run filters of a query string, each checked; :class:`BadRequest` names a bad one."""
    out = {}
    for key, rule in _FILTER_RULES.items():
        value = (query.get(key) or [''])[0].strip()
        if value and not rule.match(value):
            raise BadRequest('bad {} {!r}'.format(key, value[:80]))
        if value:
            out[key] = value
    return out


def before(query):
    """The ``before`` cursor of a query string as ``(start, id)``, or None."""
    text = (query.get('before') or [''])[0]
    if not text:
        return None
    found = _CURSOR.match(text)
    if not found:
        raise BadRequest('bad before {!r} (the "next" of the previous page)'.format(text[:80]))
    return found.groups()


def page_of(db, limit, query, f):
    """``(runs, cursor of the next page or None)``: the newest ``limit`` runs matching
    ``f`` after the query's ``before`` (one more is read to know whether more exist)."""
    runs = db.runs(limit=limit + 1, before=before(query), **f)
    last = runs[limit - 1] if len(runs) > limit else None
    return runs[:limit], last and '{}_{}'.format(last['started'], last['id'])


def _int(query, key, default, low, high):
    text = (query.get(key) or [str(default)])[0]
    if not text.isdigit() or not low <= int(text) <= high:
        raise BadRequest('{} must be a whole number from {} to {}'.format(key, low, high))
    return int(text)


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ')


class App:
    """What the server serves; ``settings``: database, threshold, alpha."""

    def __init__(self, settings):
        self.settings = settings
        self._local = threading.local()

    def db(self):
        """This thread's connection (SQLite connections stay in their thread)."""
        if getattr(self._local, 'db', None) is None:
            self._local.db = store.Store(self.settings['database'])
        return self._local.db

    def route(self, method, path, query, body):
        """``(status, content type, body bytes)`` for a request."""
        routes = [('GET', r'/', self.index), ('GET', r'/runs/([\w.-]{1,200})', self.run_page),
                  ('GET', r'/benchmarks/([a-z0-9-]{1,64})', self.benchmark_page),
                  ('GET', r'/compare', self.compare_page), ('GET', r'/export\.csv', self.csv),
                  ('GET', r'/api/runs', self.api_runs), ('POST', r'/api/runs', self.api_post),
                  ('GET', r'/api/runs/([\w.-]{1,200})', self.api_run),
                  ('GET', r'/api/compare', self.api_compare),
                  ('GET', r'/api/benchmarks', self.api_benchmarks),
                  ('GET', r'/healthz', lambda q: (200, 'text/plain', b'ok\n'))]
        for verb, pattern, handler in routes:
            found = re.fullmatch(pattern, path)
            if found and verb == method:
                args = found.groups() + ((body,) if method == 'POST' else ())
                return handler(query, *args)
        return _json(404, {'error': 'no such page: {} {}'.format(method, path[:100])})

    # --- JSON API ---------------------------------------------------------------------------

    def api_runs(self, query):
        f = filters(query)
        limit = _int(query, 'limit', 100, 1, 1000)
        runs, after = page_of(self.db(), limit, query, f)
        count = self.db().count(**f)
        return _json(200, {'count': count, 'more': count >= store.COUNT_CAP, 'limit': limit,
                           'next': after, 'runs': runs})

    def api_run(self, query, run_id):
        run = self.db().get_run(run_id)
        if run is None:
            return _json(404, {'error': 'no run with id {!r}'.format(run_id)})
        return _json(200, run)

    def api_post(self, query, body):
        from charms.layer import benchmark  # the run schema's one owner
        try:
            run = benchmark.validate(json.loads(body.decode('utf-8')))
        except (ValueError, UnicodeDecodeError) as e:  # benchmark.Invalid is a ValueError
            return _json(400, {'error': 'refused: {}'.format(e)})
        stored = self.db().add_run(run, now())
        return _json(201 if stored else 200, {'id': run['id'], 'stored': stored})

    def comparison(self, query):
        one = {k: (query.get(k) or [None])[0] for k in ('base', 'candidate', 'benchmark')}
        if one['benchmark']:
            filters({'benchmark': [one['benchmark']]})
        base, cand = compare.pick(self.db(), **one)
        return compare.compare_runs(base, cand, self.settings['threshold'],
                                    self.settings['alpha']), base, cand

    def api_compare(self, query):
        try:
            return _json(200, self.comparison(query)[0])
        except LookupError as e:
            return _json(404, {'error': str(e.args[0])})

    def api_benchmarks(self, query):
        baselines = self.db().baselines()
        return _json(200, [{'benchmark': b, 'runs': n, 'latest': latest,
                            'baseline': baselines.get(b)}
                           for b, n, latest in self.db().benchmarks()])

    def csv(self, query):
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_FIELDS)
        for row in self.db().metric_rows(**filters(query)):
            writer.writerow(row)
        return 200, 'text/csv; charset=utf-8', out.getvalue().encode()

    # --- pages ------------------------------------------------------------------------------

    def index(self, query):
        f = filters(query)
        db = self.db()
        runs, after = page_of(db, pages.PAGE, query, f)
        return _page(pages.index(runs, db.count(**f), f, db.benchmarks(), db.baselines(),
                                 after))

    def run_page(self, query, run_id):
        run = self.db().get_run(run_id)
        if run is None:
            return 404, 'text/html; charset=utf-8', pages.error(
                'No run with id {}'.format(run_id)).encode()
        return _page(pages.run(run, self.db().baselines().get(run['benchmark'])))

    def benchmark_page(self, query, name):
        db = self.db()
        series = db.series(name, limit=_int(query, 'limit', 200, 2, 2000))
        baseline = db.baselines().get(name)
        return _page(pages.benchmark(name, series, baseline and db.get_run(baseline)))

    def compare_page(self, query):
        try:
            result, base, cand = self.comparison(query)
        except LookupError as e:
            return 404, 'text/html; charset=utf-8', pages.error(str(e.args[0])).encode()
        return _page(pages.comparison(result, base, cand))


def _json(status, data):
    return status, 'application/json', json.dumps(data, sort_keys=True).encode()


def _page(text):
    return 200, 'text/html; charset=utf-8', text.encode()


class Handler(http.server.BaseHTTPRequestHandler):
    """Hands every request to the server's :class:`App`; errors become JSON or text."""

    server_version = 'benchmark-collector'
    # Nothing but this page itself: no scripts, no fonts, no remote anything.
    CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'"

    def do_GET(self):  # noqa: N802  http.server's naming
        self._answer('GET', b'')

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get('Content-Length') or 0)
        if length > MAX_BODY:
            return self._send(413, 'application/json', b'{"error": "run too large"}')
        self._answer('POST', self.rfile.read(length))

    def _answer(self, method, body):
        parts = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(parts.query)
        try:
            status, ctype, data = self.server.app.route(method, parts.path, query, body)
        except BadRequest as e:
            status, ctype, data = _json(400, {'error': str(e)})
        except store.StoreError as e:
            status, ctype, data = _json(503, {'error': str(e)})
        self._send(status, ctype, data)

    def _send(self, status, ctype, data):
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(data)))
        self.send_header('Content-Security-Policy', self.CSP)
        self.send_header('X-Content-Type-Options', 'nosniff')
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        pass


def serve(settings, address='0.0.0.0'):
    """A started server (in a thread) for ``settings``; ``server.shutdown()`` stops it."""
    app = App(settings)
    app.db().migrate()
    server = http.server.ThreadingHTTPServer((address, settings['port']), Handler)
    server.app = app
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv):
    with open(argv[1]) as f:
        settings = json.load(f)
    server = serve(settings, settings.get('address', '0.0.0.0'))
    print('benchmark-collector serving on port {}'.format(settings['port']), flush=True)
    threading.Event().wait()
    server.shutdown()


if __name__ == '__main__':
    sys.exit(main(sys.argv))
