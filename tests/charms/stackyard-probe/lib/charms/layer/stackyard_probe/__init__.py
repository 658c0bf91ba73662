"""stackyard-probe's library: fetch related HTTP services and judge them."""

import json
import urllib.error
import urllib.request


def timeout_problem(value):
    """Why ``value`` is not a usable timeout, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.1 <= value <= 60:
        return 'timeout {!r} must be a number of seconds from 0.1 to 60'.format(value)
    return None


def fetch(hostname, port, timeout):
    """GET ``http://hostname:port/``.

    :returns: ``(ok, text)``: the reply's ``message`` field, or the error
    """
    url = 'http://{}:{}/'.format(hostname, port)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            body = json.loads(reply.read().decode() or '{}')
        return True, str(body.get('message', ''))
    except (OSError, ValueError, urllib.error.URLError) as e:
        return False, '{}: {}'.format(url, getattr(e, 'reason', e))


def summarise(results):
    """Status for a list of ``(unit, ok, text)`` probe results."""
    if not results:
        return 'waiting', 'Waiting for http targets to publish an address'
    good = [r for r in results if r[1]]
    if len(good) == len(results):
        return 'active', '{}/{} targets answer: {}'.format(len(good), len(results), good[0][2])
    bad = [r for r in results if not r[1]]
    return 'blocked', '{}/{} targets answer; {} failed ({})'.format(
        len(good), len(results), bad[0][0], bad[0][2])
