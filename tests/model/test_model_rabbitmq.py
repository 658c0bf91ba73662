"""rabbitmq on LXD: three units form one cluster (one join at a time), the probe's round
trip through a quorum queue passes on every broker unit, bad options block naming
themselves and change nothing, hostile user and vhost names are refused and logged
once, the queue actions show a queue nobody consumes, a memory alarm fails the node's
own health check only, a killed rabbitmq machine loses no acknowledged message, and no
secret shows in the log, the status or any action's output.

Marker ``ha`` (``make model-ha``): three RabbitMQ containers and a probe take several
minutes on the shared 2-core host.  Timings are printed, not asserted.
"""

import json
import pathlib
import subprocess
import time

import pytest

from conftest import BUILD, skip_or_fail

pytestmark = pytest.mark.ha

APP, PROBE = 'rabbitmq', 'probe'
HERE = pathlib.Path(__file__).resolve().parent
PROBE_PYTHON = '/var/lib/juju/agents/unit-probe-0/charm/.venv/bin/python'
CLIENT = '/root/rabbitmq_client.py'
QUEUE = 'loss-test'


@pytest.fixture(scope='module')
def model(yard):
    for name in ('rabbitmq', 'stackyard-probe'):
        if not (BUILD / name).is_dir():
            skip_or_fail('build/%s is not built; run `make build`' % name)
    began = time.monotonic()
    yard.run('deploy', BUILD / 'rabbitmq', APP, '-n', '3', timeout=1500)
    # The probe shares machine 0 (one container fewer on the shared host).
    yard.run('deploy', BUILD / 'stackyard-probe', PROBE, '--to', '0', timeout=1500)
    yard.run('relate', PROBE + ':amqp', APP + ':amqp')
    yard.run('model-config', 'leadership-lease-duration=15s')
    yard.wait(timeout=1800)
    print('\nrabbitmq x3 + probe settled in %.0f s' % (time.monotonic() - began))
    return yard


def units(yard, app=APP):
    return yard.units(app)


def cluster_json(yard, unit):
    return json.loads(yard.exec(unit, 'rabbitmqctl -q cluster_status --formatter json'))


def secret_values(yard):
    """Every value of every secret in the model (the cookie and the amqp passwords)."""
    values = []
    for uri in yard.json('secrets'):
        content = yard.run('show-secret', uri, '--reveal', '--format', 'json').json()
        for entry in content.values():
            values += [v for v in (entry.get('content') or {}).values() if v]
    return values


def test_three_units_form_one_cluster(model):
    yard = model
    status = units(yard)
    assert len(status) == 3
    for name, unit in status.items():
        assert unit['workload-status']['current'] == 'active', (name, unit)
        assert 'Cluster of 3 nodes (3 running)' in unit['workload-status']['message']
    seen = cluster_json(yard, APP + '/1')
    assert len(seen['disk_nodes']) == 3 and sorted(seen['running_nodes']) == sorted(
        seen['disk_nodes'])
    assert seen['partitions'] == {} and seen['alarms'] == []
    # the cookie is the secret's, readable by rabbitmq alone; the config is the charm's
    out = yard.exec(APP + '/2', 'stat -c "%U %a" /var/lib/rabbitmq/.erlang.cookie; '
                    'grep -c "cluster_partition_handling = pause_minority" '
                    '/etc/rabbitmq/rabbitmq.conf')
    assert out.split() == ['rabbitmq', '400', '1']
    # one seed, named alike everywhere; each other node joined in a restart slot of
    # its own (batches 1 and 2, each after the previous join's health checks)
    seeds = {u['workload-status']['message'].rsplit('seed ', 1)[1].split(';')[0]
             for u in status.values()}
    assert len(seeds) == 1, seeds
    batches = []
    for name in status:
        _, task = yard.run_action(name, 'restart-history')
        for entry in json.loads(task['results'].get('history') or '[]'):
            if 'stackyard-seed' in entry['reason'] or 'join the cluster' in entry['reason']:
                batches.append((entry['batch'], name))
    print('joins (batch, unit): %s' % sorted(batches))
    assert sorted(b for b, _ in batches) == [1, 2], batches


def test_cluster_status_action(model):
    _, task = model.run_action(APP + '/0', 'cluster-status')
    results = task['results']
    assert len(results['nodes'].split()) == 3 and results['down'] == ''
    assert results['running'] == results['nodes']


def test_probe_round_trips_through_every_broker_unit(model):
    unit = units(model, PROBE)[PROBE + '/0']
    message = unit['workload-status']['message']
    assert unit['workload-status']['current'] == 'active', message
    assert 'amqp: 3/3 brokers round trip via quorum queue' in message
    # the probe's queue is a quorum queue with a member on each node
    out = model.exec(APP + '/0', 'rabbitmqctl -q list_queues -p probe name type '
                     '--formatter json')
    assert {'name': 'stackyard-probe', 'type': 'quorum'} in json.loads(out)


@pytest.mark.parametrize('option, value', [
    ('cluster-partition-handling', 'pause-minority'),
    ('min-cluster-size', '0'),
])
def test_bad_option_blocks_naming_it_and_changes_nothing(model, option, value):
    yard = model
    files = 'md5sum /etc/rabbitmq/rabbitmq.conf /etc/rabbitmq/stackyard-seed'
    before = {name: yard.exec(name, files) for name in units(yard)}
    members = sorted(cluster_json(yard, APP + '/0')['disk_nodes'])
    yard.run('config', APP, '%s=%s' % (option, value))
    yard.wait()
    for name, unit in units(yard).items():
        assert unit['workload-status']['current'] == 'blocked', (name, unit)
        assert option in unit['workload-status']['message'], (name, unit)
    assert {name: yard.exec(name, files) for name in units(yard)} == before
    assert sorted(cluster_json(yard, APP + '/0')['disk_nodes']) == members
    yard.run('config', APP, '--reset', option)
    yard.wait()
    assert all(u['workload-status']['current'] == 'active' for u in units(yard).values())


@pytest.mark.parametrize('key, value', [
    ('username', 'evil;rm -rf /'),
    ('vhost', '../probe;x'),
])
def test_hostile_name_is_refused_and_logged_once(model, key, value):
    yard = model
    yard.run('config', PROBE, 'amqp-%s=%s' % (key, value))
    yard.wait()
    bag = yard.relation_info(PROBE + '/0', 'amqp')['related-units']
    for name, data in bag.items():
        assert 'password' not in data['data'], (name, data)
    made = yard.exec(APP + '/0', 'rabbitmqctl -q list_users --formatter json; '
                     'rabbitmqctl -q list_vhosts --formatter json')
    assert value.split(';')[0] not in made, made
    log = yard.run('debug-log', '--replay', '--no-tail', '-i', APP).stdout
    refusals = [line for line in log.splitlines() if 'Refusing amqp request' in line and
                '%s %r' % (key, value) in line]
    # once per broker unit, however many hooks ran since
    assert len(refusals) == 3, refusals
    yard.run('config', PROBE, '--reset', 'amqp-%s' % key)
    yard.wait()
    message = units(yard, PROBE)[PROBE + '/0']['workload-status']['message']
    assert 'amqp: 3/3 brokers round trip' in message


def push_client(yard):
    push = 'cat > %s <<"EOF"\n%s\nEOF' % (CLIENT, (HERE / 'rabbitmq_client.py').read_text())
    yard.exec(PROBE + '/0', push)
    return '%s %s' % (PROBE_PYTHON, CLIENT)


def test_queue_actions_show_a_queue_nobody_consumes(model):
    yard = model
    client = push_client(yard)
    yard.exec(PROBE + '/0', '%s publish idle-test 2 /root/idle.json' % client)
    confirmed = len(json.loads(yard.exec(PROBE + '/0', 'cat /root/idle.json'))['confirmed'])
    assert confirmed > 0
    _, task = yard.run_action(APP + '/1', 'check-queues', 'vhost=probe', 'queue-depth=1')
    found = {q['name']: q for q in json.loads(task['results']['queues'])}
    assert found['idle-test']['type'] == 'quorum' and found['idle-test']['consumers'] == 0
    assert found['idle-test']['messages'] == confirmed, found
    _, task = yard.run_action(APP + '/2', 'list-unconsumed-queues')
    idle = json.loads(task['results']['unconsumed-queues'])
    assert 'idle-test - %d' % confirmed in idle['probe'], idle
    result, task = yard.run_action(APP + '/0', 'check-queues', 'vhost=nowhere', check=False)
    assert task.get('status') == 'failed' and "'nowhere'" in json.dumps(task), task
    received = json.loads(yard.exec(PROBE + '/0', '%s consume idle-test' % client))
    assert len(received['received']) == confirmed
    _, task = yard.run_action(APP + '/2', 'list-unconsumed-queues')
    assert 'idle-test - 0' in json.loads(task['results']['unconsumed-queues'])['probe']


def test_health_fails_on_a_local_alarm_only(model):
    yard = model
    node = 'rabbit@yard-%s-%s' % (yard.model, units(yard)[APP + '/1']['machine'])
    try:
        yard.exec(APP + '/1', 'rabbitmqctl -q set_vm_memory_high_watermark absolute 1MB')
        yard.until(lambda: 'memory' in json.dumps(cluster_json(yard, APP + '/1')['alarms']),
                   timeout=60, interval=2, message='a memory alarm on %s' % node)
        _, task = yard.run_action(APP + '/1', 'health')
        assert task['results']['healthy'] == 'false', task
        assert 'alarm on %s' % node in task['results']['results'], task
        _, task = yard.run_action(APP + '/2', 'health')
        assert task['results']['healthy'] == 'true', task
    finally:
        yard.exec(APP + '/1', 'rabbitmqctl -q set_vm_memory_high_watermark 0.4')
    yard.until(lambda: not cluster_json(yard, APP + '/1')['alarms'], timeout=60,
               interval=2, message='the alarm on %s to clear' % node)
    _, task = yard.run_action(APP + '/1', 'health')
    assert task['results']['healthy'] == 'true', task


def quorum_queue(yard, unit=APP + '/0'):
    """``(leader, members)`` of the test's quorum queue, as ``unit``'s node sees it."""
    out = yard.exec(unit, 'rabbitmqctl -q list_queues -p probe name leader members '
                    '--formatter json')
    found = {q['name']: q for q in json.loads(out)}[QUEUE]
    return found['leader'], found['members']


def test_killed_machine_loses_no_acknowledged_message(model):
    yard = model
    status = units(yard)
    probe_machine = units(yard, PROBE)[PROBE + '/0']['machine']
    victim = sorted(n for n, u in status.items() if u['machine'] != probe_machine)[0]
    # declared through the victim, the queue has its leader there (client-local
    # placement); a drain empties it again
    client = push_client(yard)
    yard.exec(PROBE + '/0', '%s publish %s 1 /root/warm.json %s && %s consume %s' % (
        client, QUEUE, status[victim]['public-address'], client, QUEUE))
    leader, members = quorum_queue(yard)
    assert len(members) == 3, members
    survivors = [u['public-address'] for n, u in status.items() if n != victim]
    publisher = subprocess.Popen(
        yard.prefix + ['-m', yard.model, 'exec', '--unit', PROBE + '/0', '--',
                       '%s publish %s 45 /root/pub.json %s' % (
                           client, QUEUE, ' '.join(survivors))],
        env=yard.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(12)
    yard.run('kill-machine', status[victim]['machine'])
    _, err = publisher.communicate(timeout=300)
    assert publisher.returncode == 0, err
    published = json.loads(yard.exec(PROBE + '/0', 'cat /root/pub.json'))
    received = json.loads(yard.exec(PROBE + '/0', '%s consume %s' % (client, QUEUE)))[
        'received']
    lost = sorted(set(published['confirmed']) - set(received))
    new_leader, _ = quorum_queue(yard)
    print('\nkilled machine of %s (queue leader was %s, now %s) 12 s into a 45 s run: '
          '%d confirmed, %d received, %d lost; longest publish stall %.2f s; '
          'connections %d; errors %s' % (
              victim, leader, new_leader, len(published['confirmed']), len(received),
              len(lost), published['longest_gap'], published['reconnects'],
              published['errors']))
    assert len(published['confirmed']) > 100
    assert lost == []
    assert new_leader != 'rabbit@yard-%s-%s' % (yard.model, status[victim]['machine'])
    model.victim = victim


def test_survivors_report_the_dead_node_and_forget_it(model):
    yard = model
    victim = getattr(model, 'victim', None)
    if victim is None:
        pytest.skip('no machine was killed')
    survivor = [n for n in units(yard) if n != victim][0]
    node = 'rabbit@yard-%s-%s' % (yard.model, units(yard)[victim]['machine'])
    result, task = yard.run_action(survivor, 'health', check=False)
    assert node in json.dumps(task), task
    _, task = yard.run_action(survivor, 'forget-cluster-node', 'node=%s' % node)
    assert task['results']['forgotten'] == node
    seen = cluster_json(yard, survivor)
    assert node not in seen['disk_nodes'] and len(seen['disk_nodes']) == 2


def test_no_password_in_logs_status_or_action_output(model):
    yard = model
    values = secret_values(yard)
    assert len(values) >= 2            # the cookie and the probe's password
    texts = [yard.run('debug-log', '--replay', '--no-tail').stdout,
             yard.run('status', '--format', 'json').stdout]
    # a unit whose machine still runs (actions for a lost unit wait for ever)
    unit = [n for n in units(yard) if n != getattr(model, 'victim', None)][-1]
    for action, params in (('cluster-status', ()), ('check-queues', ('vhost=probe',)),
                           ('list-unconsumed-queues', ()), ('health', ()),
                           ('benchmark-amqp', ('messages=300', 'runs=1'))):
        result, task = yard.run_action(unit, action, *params, check=False)
        texts.append(result.output)
        if action == 'benchmark-amqp':
            results = task['results']
            print('\nbenchmark-amqp on %s: %s' % (unit, results.get('output')))
            # dotted action-set keys come back nested, as from juju
            assert float(results['results']['publish-rate']['value']) > 0
            assert float(results['results']['consume-rate']['value']) > 0
    for value in values:
        for text in texts:
            assert value not in text
