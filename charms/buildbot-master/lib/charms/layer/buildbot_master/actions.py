"""buildbot-master's action ``run-job``: force a build, wait, report it."""

import json

from charms.layer.stackyard import actions, options
from charms.layer.buildbot_master import api, contexts

MAX_TIMEOUT = 3600


def _builder(client, name):
    known = [j['name'] for j in contexts.configured_jobs()]
    if name not in known:
        raise actions.ActionFailed('no job named {!r}; jobs: {}'.format(
            name, ', '.join(known) or 'none'))
    builder_id = client.builder_id(name)
    if builder_id is None:
        raise actions.ActionFailed('job {} has no builder yet: no related worker has its '
                                   'labels'.format(name))
    return builder_id


@actions.action('run-job')
def run_job(params):
    """Force a build of ``job``; wait up to ``timeout`` s; its number, result, steps, timings.

    The action holds the machine lock while it waits, so ``timeout`` is bounded
    (at most an hour); a build still running then is reported as such.
    """
    name = (params.get('job') or '').strip()
    timeout = params.get('timeout', 600)
    if not 0 < timeout <= MAX_TIMEOUT:
        raise actions.ActionFailed('timeout must be from 1 to {} seconds'.format(MAX_TIMEOUT))
    port = options.config()['web-port']
    client = api.Client(port)
    try:
        builder_id = _builder(client, name)
        request_id = client.force(builder_id)
        build = client.wait_build(request_id, timeout)
        steps = client.steps(build['buildid'])
        timings = api.timings(line for s in steps for line in client.output(s['stepid']))
        worker = client.worker_name(build['workerid'])
    except api.Error as e:
        raise actions.ActionFailed(str(e)) from None
    result = api.RESULTS.get(build['results'], str(build['results']))
    seconds = build['complete_at'] - build['started_at']
    url = '{}#/builders/{}/builds/{}'.format(contexts.web_url(), builder_id, build['number'])
    table = ['{:<24} {:<10} {}'.format(s['name'], s['result'],
                                       '' if s['seconds'] is None else '{} s'.format(s['seconds']))
             for s in steps]
    return {'job': name, 'build-number': str(build['number']), 'result': result,
            'worker': worker, 'seconds': str(seconds), 'url': url,
            'steps': json.dumps(steps), 'table': '\n'.join(table),
            'timings': json.dumps(timings, sort_keys=True),
            'message': 'Build {} of {} on {}: {} in {} s'.format(
                build['number'], name, worker, result, seconds)}
