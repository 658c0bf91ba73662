"""Every path and name rabbitmq writes or runs."""

SERVICE = 'rabbitmq-server'
RABBITMQCTL = '/usr/sbin/rabbitmqctl'
RABBITMQ_QUEUES = '/usr/sbin/rabbitmq-queues'
CONFIG = '/etc/rabbitmq/rabbitmq.conf'
# The node this one joins (empty on the seed and before the cluster forms);
# read by the join script at every start of the service.
SEED_FILE = '/etc/rabbitmq/stackyard-seed'
DROP_IN = '/etc/systemd/system/rabbitmq-server.service.d/stackyard.conf'
TOOLS_DIR = '/usr/local/lib/stackyard-rabbitmq'
JOIN_SCRIPT = TOOLS_DIR + '/join'
HEALTH_SCRIPT = TOOLS_DIR + '/health'
COOKIE = '/var/lib/rabbitmq/.erlang.cookie'
HOSTS = '/etc/hosts'
USER = 'rabbitmq'
AMQP_PORT = 5672
