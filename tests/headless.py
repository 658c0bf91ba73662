"""Real headless Chromium (Debian's ``chromium`` package) for tests of web pages.

Shared by the collector's unit test (a server on localhost) and the ci-bench
model test (the deployed collector in its machine).  Chromium runs once per
page with ``--screenshot`` or ``--dump-dom``, no WebDriver: the pages need no
clicking.  A net log records every request the page made, so a test can check
nothing was loaded from anywhere but the page's own host.  Screenshots are
decoded here (PNG, standard library) to count the pixels of a colour: a plot
that is drawn has its line's colour on the screen, an empty or broken SVG has
none.

Under ``CI=true`` (or as root) a missing Chromium is installed with apt-get
(Debian's package; nothing else is needed), never skipped.
"""

import json
import os
import shutil
import struct
import subprocess
import urllib.parse
import zlib

FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--disable-default-apps',
         '--no-first-run', '--no-default-browser-check', '--disable-extensions',
         '--metrics-recording-only', '--hide-scrollbars', '--window-size=900,1100',
         # Chromium's own autofill lookup for pages with forms (not the page's doing).
         '--disable-features=AutofillServerCommunication']


def find_chromium(skip):
    """The chromium binary; installed when missing under CI=true or as root, else
    ``skip(reason)`` is called (pytest.skip)."""
    path = shutil.which('chromium')
    if path is None:
        if os.environ.get('CI') != 'true' and os.geteuid() != 0:
            skip('chromium is not installed (apt-get install chromium)')
        subprocess.run(['apt-get', 'install', '-y', '-q', 'chromium'], check=True,
                       stdout=subprocess.DEVNULL, env=dict(os.environ,
                                                           DEBIAN_FRONTEND='noninteractive'))
        path = shutil.which('chromium')
    return path


def browse(chromium, folder, url, *extra):
    """Load ``url``; ``(stdout, URLs the page requested)``.  ``folder`` keeps the
    profile and the net logs."""
    profile = folder / 'profile'
    netlog = folder / 'netlog-{}.json'.format(len(list(folder.glob('netlog-*'))))
    proc = subprocess.run([chromium] + FLAGS + ['--user-data-dir={}'.format(profile),
                                                '--log-net-log={}'.format(netlog)] +
                          list(extra) + [url],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    return proc.stdout.decode(), requested_urls(netlog, site(url))


def site(url):
    parts = urllib.parse.urlsplit(url)
    return '{}://{}'.format(parts.scheme, parts.hostname)


def requested_urls(netlog, page_site):
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
                'network_isolation_key', '').startswith(page_site + ' '):
            urls.add(params['url'])
    return urls


def elsewhere(urls, host):
    """The URLs of ``urls`` not on ``host``, sorted."""
    return sorted(u for u in urls if urllib.parse.urlsplit(u).hostname != host)


def png_pixels(path):
    """``(width, height, bytes per pixel, rows)`` of an 8-bit non-interlaced RGB(A) PNG."""
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
    """How many pixels of the PNG at ``path`` are ``hex_colour`` (per channel +-tolerance)."""
    want = bytes.fromhex(hex_colour.lstrip('#'))
    width, _, bpp, rows = png_pixels(path)
    return sum(1 for row in rows for x in range(width)
               if all(abs(row[x * bpp + i] - want[i]) <= tolerance for i in range(3)))
