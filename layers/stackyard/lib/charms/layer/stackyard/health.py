"""Health checks declared per service: TCP port, HTTP URL, command (stdlib only).

A service definition may carry ``'health': [health.TCP(8080),
health.HTTP('http://127.0.0.1:8080/'), health.Command(['myapp', 'ping'])]``,
run after every restart (until they pass or time out) and on update-status.
"""

import socket
import time


class TCP:
    """Passes when a TCP connection to ``host:port`` opens."""

    def __init__(self, port, host='127.0.0.1', timeout=2.0):
        self.port, self.host, self.timeout = int(port), host, timeout
        self.name = 'tcp {}:{}'.format(host, self.port)

    def spec(self):
        return {'kind': 'tcp', 'port': self.port, 'host': self.host, 'timeout': self.timeout}

    def __call__(self):
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout):
                return True, 'open'
        except OSError as e:
            return False, e.strerror or str(e)


class HTTP:
    """Passes when a GET of ``url`` answers with ``status``."""

    def __init__(self, url, status=200, timeout=3.0):
        self.url, self.status, self.timeout = url, int(status), timeout
        self.name = 'http {}'.format(url)

    def spec(self):
        return {'kind': 'http', 'url': self.url, 'status': self.status, 'timeout': self.timeout}

    def __call__(self):
        import http.client
        import urllib.parse
        try:
            url = urllib.parse.urlsplit(self.url)
            if url.scheme not in ('http', 'https') or not url.hostname or url.port == 0:
                raise ValueError('not an http(s) URL with a host and port: {}'.format(self.url))
            conn = (http.client.HTTPSConnection if url.scheme == 'https' else
                    http.client.HTTPConnection)(url.hostname, url.port, timeout=self.timeout)
            try:
                conn.request('GET', (url.path or '/') + ('?' + url.query if url.query else ''))
                code = conn.getresponse().status
            finally:
                conn.close()
        except (OSError, ValueError, http.client.HTTPException) as e:
            return False, str(e) or type(e).__name__
        if code == self.status:
            return True, 'HTTP {}'.format(code)
        return False, 'HTTP {} (expected {})'.format(code, self.status)


class Command:
    """Passes when ``argv`` exits 0 within ``timeout`` seconds."""

    def __init__(self, argv, timeout=10.0):
        self.argv, self.timeout = list(argv), timeout
        self.name = 'command {}'.format(' '.join(self.argv))

    def spec(self):
        return {'kind': 'command', 'argv': self.argv, 'timeout': self.timeout}

    def __call__(self):
        import subprocess
        try:
            proc = subprocess.run(self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  universal_newlines=True, timeout=self.timeout)
        except (OSError, subprocess.TimeoutExpired) as e:
            return False, str(e)
        lines = proc.stdout.strip().splitlines()
        detail = lines[-1] if lines else 'exit {}'.format(proc.returncode)
        return proc.returncode == 0, detail


KINDS = {'tcp': TCP, 'http': HTTP, 'command': Command}


def from_spec(spec):
    """A check from what its ``spec()`` returned."""
    spec = dict(spec)
    return KINDS[spec.pop('kind')](**spec)


def run(checks_by_service):
    """Run every check once.

    :param checks_by_service: ``{service: [check, ...]}``
    :returns: list of ``{"service", "check", "ok", "detail"}``
    """
    results = []
    for service, checks in sorted(checks_by_service.items()):
        for check in checks:
            ok, detail = check()
            results.append({'service': service, 'check': check.name, 'ok': ok,
                            'detail': detail})
    return results


def failing(results):
    """Only the failed results."""
    return [r for r in results if not r['ok']]


def wait_healthy(checks_by_service, timeout, interval=0.1, first=0.05, clock=time.monotonic,
                 sleep=time.sleep):
    """Re-run the checks until all pass or ``timeout`` seconds passed.

    Retries after ``first`` seconds, the pause doubling up to ``interval``
    (the next batch waits for this answer); a slow check is never re-run
    sooner than twice its own run time, so checks take at most a third of it.

    :returns: ``(ok, last results)``
    """
    deadline = clock() + timeout
    pause = min(first, interval)
    while True:
        began = clock()
        results = run(checks_by_service)
        if not failing(results):
            return True, results
        ended = clock()
        if ended >= deadline:
            return False, results
        sleep(min(max(pause, 2 * (ended - began)), max(0.0, deadline - ended)))
        pause = min(pause * 2, interval)


def describe(result):
    """One line naming a failed check: ``stackyard-test http ... (refused)``."""
    return '{} {} ({})'.format(result['service'], result['check'], result['detail'])
