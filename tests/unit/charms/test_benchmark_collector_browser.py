"""benchmark-collector: the dashboard in real headless Chromium (Debian's package).

Chromium loads the pages from the collector on localhost, saves a screenshot
and a net log; the test checks the page rendered, the plot's pixels are on
the screenshot, and every request Chromium made went to localhost.
Under CI=true a missing Chromium is installed (apt-get), never skipped.
"""

import json
import os
import shutil
import struct
import subprocess
import urllib.parse
import zlib

import pytest

from charms.layer.benchmark_collector import pages

FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--disable-default-apps',
         '--no-first-run', '--no-default-browser-check', '--disable-extensions',
         '--metrics-recording-only', '--hide-scrollbars', '--window-size=900,1100',
         # Chromium's own autofill lookup for pages with forms (not the page's doing).
         '--disable-features=AutofillServerCommunication']


@pytest.fixture(scope='module')
def chromium():
    path = shutil.which('chromium')
    if path is None:
        if os.environ.get('CI') != 'true' and os.geteuid() != 0:
            pytest.skip('chromium is not installed (apt-get install chromium)')
        subprocess.run(['apt-get', 'install', '-y', '-q', 'chromium'], check=True,
                       stdout=subprocess.DEVNULL, env=dict(os.environ,
                                                           DEBIAN_FRONTEND='noninteractive'))
        path = shutil.which('chromium')
    return path


def browse(chromium, tmp_path, url, *extra):
    profile = tmp_path / 'profile'
    netlog = tmp_path / 'netlog-{}.json'.format(len(list(tmp_path.glob('netlog-*'))))
    proc = subprocess.run([chromium] + FLAGS + ['--user-data-dir={}'.format(profile),
                                                '--log-net-log={}'.format(netlog)] +
                          list(extra) + [url],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    return proc.stdout.decode(), requested_urls(netlog)


def requested_urls(netlog):
    """The URLs of the requests the page made (its own and every resource it loaded).

    Chromium's net log also holds the browser's own background requests (time
    sync, account checks) that no page asked for; a request belongs to the
    page when its network isolation key's top frame is the page's site.
    """
    log = json.loads(netlog.read_text())
    start = log['constants']['logEventTypes']['URL_REQUEST_START_JOB']
    urls = set()
    for event in log.get('events', []):
        params = event.get('params') or {}
        if event['type'] == start and params.get('url') and params.get(
                'network_isolation_key', '').startswith('http://127.0.0.1 '):
            urls.add(params['url'])
    return urls


def local(url):
    return urllib.parse.urlsplit(url).hostname in ('127.0.0.1', 'localhost')


def png_pixels(path):
    """``(width, height, rows of RGB(A) bytes)`` of an 8-bit non-interlaced PNG."""
    data = path.read_bytes()
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    pos, idat, header = 8, b'', None
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b'IHDR':
            header = struct.unpack('>IIBBBBB', chunk)
        elif kind == b'IDAT':
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and interlace == 0 and colour in (2, 6)
    bpp = 3 if colour == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for r in range(height):
        kind, line = raw[r * (stride + 1)], bytearray(raw[r * (stride + 1) + 1:(r + 1) *
                                                          (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            pred = [0, a, b, (a + b) // 2, _paeth(a, b, c)][kind]
            line[i] = (line[i] + pred) & 0xff
        rows.append(line)
        prev = line
    return width, height, bpp, rows


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def count_colour(path, hex_colour, tolerance=8):
    want = bytes.fromhex(hex_colour.lstrip('#'))
    width, _, bpp, rows = png_pixels(path)
    return sum(1 for row in rows for x in range(width)
               if all(abs(row[x * bpp + i] - want[i]) <= tolerance for i in range(3)))


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
    assert sorted(u for u in urls if not local(u)) == []


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
    assert [u for u in urls if not local(u)] == ['http://cdn.example.invalid/plot.png']
