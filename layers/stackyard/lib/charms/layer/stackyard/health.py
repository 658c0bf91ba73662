"""Health checks declared per service: TCP port, HTTP URL, command (stdlib only).

A service definition may carry ``'health': [health.TCP(8080),
health.HTTP('http://127.0.0.1:8080/'), health.Command(['myapp', 'ping'])]``.
Checks run after every restart (until they pass or the health timeout runs
out) and on update-status; failing checks are named in status and the
``health`` action returns every result.
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
        try:
            scheme, host, port, target = split_url(self.url)
            if scheme == 'https':
                code = self._https_status(host, port, target)
            else:
                code = http_status(host, port, target, self.timeout)
        except (OSError, ValueError) as e:
            return False, str(e) or type(e).__name__
        if code == self.status:
            return True, 'HTTP {}'.format(code)
        return False, 'HTTP {} (expected {})'.format(code, self.status)

    def _https_status(self, host, port, target):
        import http.client
        conn = http.client.HTTPSConnection(host, port, timeout=self.timeout)
        try:
            conn.request('GET', target)
            return conn.getresponse().status
        except http.client.HTTPException as e:
            raise ValueError(str(e) or type(e).__name__) from None
        finally:
            conn.close()


def split_url(url):
    """``(scheme, host, port, target)`` of an http(s) URL.

    Small on purpose: the idle fast path checks plain-HTTP URLs, and
    urllib.parse and http.client together cost more to import than the
    rest of that hook.

    :raises ValueError: not an http or https URL
    """
    scheme, sep, rest = url.partition('://')
    scheme = scheme.lower()
    if not sep or scheme not in ('http', 'https'):
        raise ValueError('not an http(s) URL: {}'.format(url))
    netloc, slash, path = rest.partition('/')
    target = slash + path if slash else '/'
    netloc = netloc.rpartition('@')[2]
    if netloc.startswith('['):
        host, _, after = netloc[1:].partition(']')
        port_text = after[1:] if after.startswith(':') else ''
    else:
        host, _, port_text = netloc.partition(':')
    if not host:
        raise ValueError('no host in URL: {}'.format(url))
    port = int(port_text) if port_text else (443 if scheme == 'https' else 80)
    if not 0 < port < 65536:
        raise ValueError('bad port in URL: {}'.format(url))
    return scheme, host, port, target.partition('#')[0]


def http_status(host, port, target, timeout):
    """The status code of ``GET target`` over plain HTTP/1.0 (raw socket).

    :raises OSError: cannot connect, or timed out
    :raises ValueError: the reply is not HTTP
    """
    host_header = '[{}]'.format(host) if ':' in host else host
    request = ('GET {} HTTP/1.0\r\nHost: {}:{}\r\nUser-Agent: stackyard-health\r\n'
               'Connection: close\r\n\r\n').format(target, host_header, port)
    with socket.create_connection((host, port), timeout=timeout) as conn:
        conn.sendall(request.encode('latin-1'))
        head = b''
        while b'\n' not in head and len(head) < 4096:
            chunk = conn.recv(4096)
            if not chunk:
                break
            head += chunk
    parts = head.split(b'\n', 1)[0].split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b'HTTP/') or not parts[1].isdigit():
        raise ValueError('not an HTTP reply: {!r}'.format(head[:60]))
    return int(parts[1])


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

    The first retry comes after ``first`` seconds and the pause doubles up to
    ``interval``: a service back in a fraction of a second is seen back then.
    A rolling restart's next batch waits for this answer, and every pause
    adds half its length to each batch on average, so it stays short: a
    port or URL check is one local connection.  A slow check (a command
    that takes a second, say) is never re-run sooner than twice its own
    run time after it ended, so the checks take at most a third of the wait.

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
