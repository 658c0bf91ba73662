"""A small client of the master's REST API (``/api/v2``) on this unit."""

import json
import re
import time
import urllib.error
import urllib.request

# Buildbot's result codes (buildbot.process.results).
RESULTS = {0: 'success', 1: 'warnings', 2: 'failure', 3: 'skipped', 4: 'exception',
           5: 'retry', 6: 'cancelled'}


class Error(Exception):
    """The API did not answer, or answered with an error."""


class Client:
    """Talks to ``http://127.0.0.1:<port>/api/v2``.

    :param port: the web port
    :param timeout: seconds for one request
    """

    def __init__(self, port, timeout=10.0):
        self.base = 'http://127.0.0.1:{}/api/v2'.format(port)
        self.timeout = timeout

    def _open(self, request):
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read().decode())
        except (OSError, ValueError) as e:
            raise Error('{} {}: {}'.format(request.get_method(), request.full_url, e)) from None

    def get(self, path):
        """The decoded JSON of ``GET /api/v2/<path>``."""
        return self._open(urllib.request.Request(self.base + path))

    def force(self, builder_id):
        """Force a build of ``builder_id``; the build request id.

        :raises Error: the scheduler refused (an error in the JSON-RPC answer)
        """
        body = json.dumps({'jsonrpc': '2.0', 'method': 'force', 'id': 1,
                           'params': {'builderid': str(builder_id)}}).encode()
        answer = self._open(urllib.request.Request(
            self.base + '/forceschedulers/force', data=body, method='POST',
            headers={'Content-Type': 'application/json'}))
        if 'error' in answer:
            raise Error('force: {}'.format(answer['error'].get('message', answer['error'])))
        _, requests = answer['result']
        return int(requests[str(builder_id)])

    def builder_id(self, name):
        """The id of the builder named ``name``, or None."""
        for builder in self.get('/builders')['builders']:
            if builder['name'] == name:
                return builder['builderid']
        return None

    def build_of_request(self, request_id):
        """The build started for a build request, or None while it waits."""
        builds = self.get('/builds?buildrequestid={}'.format(request_id))['builds']
        return builds[-1] if builds else None

    def wait_build(self, request_id, timeout, clock=time.monotonic, sleep=time.sleep):
        """The finished build of a build request.

        :raises Error: not finished within ``timeout`` seconds
        """
        deadline = clock() + timeout
        while True:
            build = self.build_of_request(request_id)
            if build is not None and build.get('complete'):
                return build
            if clock() >= deadline:
                raise Error('build request {} not finished after {} s ({})'.format(
                    request_id, timeout, 'running' if build else 'waiting for a worker'))
            sleep(1.0)

    def steps(self, build_id):
        """``[{"name", "result", "seconds", "stepid"}]`` of a build's steps.

        Buildbot keeps whole seconds: a step's own ``timing`` lines are finer
        (:func:`timings`).
        """
        out = []
        for step in self.get('/builds/{}/steps'.format(build_id))['steps']:
            started, done = step.get('started_at'), step.get('complete_at')
            out.append({'name': step['name'], 'result': RESULTS.get(step['results'], 'running'),
                        'seconds': (done - started) if started and done else None,
                        'stepid': step['stepid']})
        return out

    def output(self, step_id):
        """The lines of a step's ``stdio`` log, without their stream tags, or [] without one."""
        try:
            chunks = self.get('/steps/{}/logs/stdio/contents'.format(step_id))['logchunks']
        except Error:
            return []   # steps that ran no command (the property lookup) have no stdio log
        # Each line of a stdio log starts with its stream: o(ut), e(rr), h(eader), i(n).
        return [line[1:] for chunk in chunks for line in chunk['content'].splitlines()]

    def worker_name(self, worker_id):
        """The name of a worker id."""
        return self.get('/workers/{}'.format(worker_id))['workers'][0]['name']

    def connected_workers(self):
        """Names of the workers connected to this master."""
        return sorted(w['name'] for w in self.get('/workers')['workers'] if w['connected_to'])


TIMING = re.compile(r'^timing ([A-Za-z0-9._-]{1,63}) (\d+(?:\.\d+)?)$')


def timings(lines):
    """``{phase: seconds}`` from the lines ``timing <phase> <seconds>`` in a job's output.

    A job times what matters to it more finely than Buildbot's whole-second
    step times, e.g. with bash's ``TIMEFORMAT='timing pip-install %3R'; time
    pip install ...``.  A phase timed twice adds up.
    """
    out = {}
    for line in lines:
        found = TIMING.match(line.strip())
        if found:
            out[found.group(1)] = round(out.get(found.group(1), 0.0) + float(found.group(2)), 3)
    return out
