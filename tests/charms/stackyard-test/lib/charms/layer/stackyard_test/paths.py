"""Every path stackyard-test writes."""

CONFIG = '/etc/stackyard-test/config.json'
SERVER = '/usr/local/lib/stackyard-test/server.py'
UNIT = '/etc/systemd/system/stackyard-test.service'
SERVICE = 'stackyard-test'
STARTS_LOG = '/var/log/stackyard-test/starts.log'
READY_LOG = '/var/log/stackyard-test/ready.log'
