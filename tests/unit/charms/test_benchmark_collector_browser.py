"""benchmark-collector: the dashboard in real headless Chromium (Debian's package).

Chromium loads the pages from the collector on localhost, saves a screenshot
and a net log; the test checks the page rendered, the plot's pixels are on
the screenshot, and every request Chromium made went to localhost.
Under CI=true a missing Chromium is installed (apt-get), never skipped
(tests/headless.py, shared with the ci-bench model test).
"""

import pytest

from charms.layer.benchmark_collector import pages
from headless import browse, count_colour, elsewhere, find_chromium


@pytest.fixture(scope='module')
def chromium():
    return find_chromium(pytest.skip)


def test_dashboard_plots_render_in_chromium_and_nothing_leaves_localhost(
        served, chromium, tmp_path):
    base, runs = served
    shot = tmp_path / 'benchmark-http.png'
    _, urls = browse(chromium, tmp_path, base + '/benchmarks/http',
                     '--screenshot={}'.format(shot))
    assert shot.exists(), 'chromium wrote no screenshot'
    # The line and points of the two plots, in their colour, on the screenshot;
    # a page with an empty or broken SVG has none of that colour.
    drawn = count_colour(shot, pages.LINE)
    assert drawn > 500, 'only {} plot pixels in {}'.format(drawn, shot)
    assert count_colour(shot, pages.BASE, tolerance=24) > 50     # the dashed baseline
    dom, more = browse(chromium, tmp_path, base + '/', '--dump-dom')
    assert '<h1>Benchmark runs</h1>' in dom and runs[-1]['id'][:8] in dom
    compared, third = browse(chromium, tmp_path, base + '/compare?benchmark=http',
                             '--dump-dom')
    assert '<h1>http: worse</h1>' in compared
    urls |= more | third
    assert any(base in u for u in urls), urls            # the net log did record requests
    assert elsewhere(urls, '127.0.0.1') == []


def test_the_request_check_sees_a_page_that_loads_from_outside(chromium, tmp_path):
    """The net-log check can fail: a page with a remote image is caught."""
    import http.server
    import threading

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802  http.server's naming
            body = b'<html><body><img src="http://cdn.example.invalid/plot.png"></body></html>'
            self.send_response(200)
            self.send_header('Content-Type', 'text/html')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _, urls = browse(chromium, tmp_path, 'http://127.0.0.1:{}/'.format(
            server.server_address[1]), '--dump-dom')
    finally:
        server.shutdown()
        server.server_close()
    assert elsewhere(urls, '127.0.0.1') == ['http://cdn.example.invalid/plot.png']
