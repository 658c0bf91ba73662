"""Every path benchmark-collector writes or reads."""

SERVICE = 'benchmark-collector'
UNIT = '/etc/systemd/system/benchmark-collector.service'
# The web server's settings, database URI included: root only (0600).
SETTINGS = '/etc/benchmark-collector/settings.json'
DATA = '/var/lib/benchmark-collector'
SQLITE = DATA + '/runs.sqlite'
EXPORTS = DATA + '/exports'
