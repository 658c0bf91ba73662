#!/usr/bin/env python3
"""stackyard-test's workload: one JSON reply over HTTP."""

import http.server
import json
import os
import socket
import sys
import time

VERSION = '1.0.0'
CONFIG = '/etc/stackyard-test/config.json'
STARTED = time.time()


class Handler(http.server.BaseHTTPRequestHandler):
    """Answers every GET with the configured message."""

    config = {}

    def do_GET(self):  # noqa: N802  (http.server's naming)
        body = json.dumps({'message': self.config.get('message', ''),
                           'unit': self.config.get('unit', ''),
                           'host': socket.gethostname(),
                           'version': VERSION,
                           'started': STARTED,
                           'debug': bool(self.config.get('debug'))}).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


def main(argv):
    if argv[1:] == ['--version']:
        print(VERSION)
        return 0
    with open(CONFIG) as f:
        Handler.config = json.load(f)
    log = Handler.config.get('starts_log')
    if log:
        # One line per start, so restart times can be read on the machine.
        os.makedirs(os.path.dirname(log), exist_ok=True)
        with open(log, 'a') as f:
            f.write('{:.3f} {}\n'.format(STARTED, Handler.config.get('unit', '')))
    # A slow-starting workload, when configured: nothing listens until then.
    time.sleep(max(0, int(Handler.config.get('warmup') or 0)))
    server = http.server.ThreadingHTTPServer(('0.0.0.0', int(Handler.config['port'])), Handler)
    ready = Handler.config.get('ready_log')
    if ready:
        # When it listens: a restart's own duration, apart from how soon a
        # health check noticed (make bench-restarts).
        with open(ready, 'a') as f:
            f.write('{:.3f} {}\n'.format(time.time(), Handler.config.get('unit', '')))
    server.serve_forever()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
