"""rabbitmq's actions: cluster-status, check-queues, list-unconsumed-queues,
forget-cluster-node.  None of them prints a password: they read the node through
rabbitmqctl, whose outputs name users at most."""

import json

from charms.layer.stackyard import actions
from charms.layer.rabbitmq import ctl, peers

QUEUE_FIELDS = ('name', 'messages', 'consumers', 'type')


def _ctl(fn, *args):
    try:
        return fn(*args)
    except ctl.Failed as e:
        raise actions.ActionFailed(str(e)) from None


@actions.action('cluster-status')
def cluster_status(params):
    """Members, running nodes, partitions and alarms as this node sees them."""
    status = _ctl(ctl.cluster_status)
    down = sorted(set(status['nodes']) - set(status['running']))
    lines = ['nodes:      ' + ' '.join(status['nodes']),
             'running:    ' + ' '.join(status['running']),
             'down:       ' + (' '.join(down) or 'none'),
             'partitions: ' + (json.dumps(status['partitions']) if status['partitions']
                               else 'none'),
             'alarms:     ' + (json.dumps(status['alarms']) if status['alarms'] else 'none')]
    return {'node': peers.node_name(), 'nodes': ' '.join(status['nodes']),
            'running': ' '.join(status['running']), 'down': ' '.join(down),
            'partitions': json.dumps(status['partitions'], sort_keys=True),
            'alarms': json.dumps(status['alarms'], sort_keys=True),
            'seed': peers.seed() or '', 'output': '\n'.join(lines)}


def queues(vhost):
    """``[{"name", "messages", "consumers", "type"}]`` of one vhost."""
    return _ctl(ctl.run_json, 'list_queues', '-p', vhost, *QUEUE_FIELDS) or []


def _vhosts():
    return [v['name'] for v in _ctl(ctl.run_json, 'list_vhosts', 'name') or []]


@actions.action('check-queues')
def check_queues(params):
    """Queues of ``vhost`` with at least ``queue-depth`` messages (-1: all)."""
    vhost, depth = params.get('vhost', '/'), params.get('queue-depth', -1)
    if vhost not in _vhosts():
        raise actions.ActionFailed('vhost {!r} does not exist'.format(vhost))
    found = [q for q in queues(vhost) if depth < 0 or q.get('messages', 0) >= depth]
    lines = ['{name}  messages={messages} consumers={consumers} type={type}'.format(**q)
             for q in found]
    return {'vhost': vhost, 'queue-count': str(len(found)),
            'queues': json.dumps(found, sort_keys=True), 'output': '\n'.join(lines) or 'none'}


@actions.action('list-unconsumed-queues')
def list_unconsumed_queues(params):
    """Queues without a consumer in every vhost: ``<vhost>: <queue> - <messages>``."""
    found = {}
    for vhost in _vhosts():
        idle = [q for q in queues(vhost) if not q.get('consumers')]
        if idle:
            found[vhost] = ['{} - {}'.format(q['name'], q.get('messages', 0)) for q in idle]
    count = sum(len(v) for v in found.values())
    lines = ['{}: {}'.format(vhost, item) for vhost, items in sorted(found.items())
             for item in items]
    return {'unconsumed-queue-count': str(count),
            'unconsumed-queues': json.dumps(found, sort_keys=True),
            'output': '\n'.join(lines) or 'none'}


@actions.action('forget-cluster-node')
def forget_cluster_node(params):
    """Remove a dead member (``node``) from the cluster; never this node or a running one."""
    node = (params.get('node') or '').strip()
    status = _ctl(ctl.cluster_status)
    if node == peers.node_name():
        raise actions.ActionFailed('{} is this node; run the action on another unit'.format(node))
    if node not in status['nodes']:
        raise actions.ActionFailed('{!r} is not a member of the cluster ({})'.format(
            node, ' '.join(status['nodes'])))
    if node in status['running']:
        raise actions.ActionFailed('{} is running; stop it (or its machine) first'.format(node))
    _ctl(ctl.run, 'forget_cluster_node', node)
    after = _ctl(ctl.cluster_status)
    return {'forgotten': node, 'nodes': ' '.join(after['nodes']),
            'message': 'Removed {} from the cluster'.format(node)}


@actions.action('benchmark-amqp')
def benchmark_amqp(params):
    """Confirmed publish and acknowledged consume rates through this node."""
    from charms.layer.rabbitmq import bench
    problem = bench.params_problem(params)
    if problem:
        raise actions.ActionFailed(problem)
    run = _ctl(bench.run, params)
    results = run.results()
    metrics = run.data['metrics']
    results['output'] = '{} x {} B messages, {} queue, {} runs: publish {:.0f} msg/s, ' \
        'consume {:.0f} msg/s'.format(params['messages'], params['size'], params['queue-type'],
                                      params['runs'], metrics['publish-rate']['value'],
                                      metrics['consume-rate']['value'])
    return results
