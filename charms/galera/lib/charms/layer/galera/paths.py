"""Every path the galera charm writes or reads."""

CONF_DIR = '/etc/mysql/mariadb.conf.d'
# The node's Galera settings (holds the SST password: root:mysql 0640).
GALERA_CNF = CONF_DIR + '/99-stackyard-galera.cnf'
# The peers' addresses (wsrep_cluster_address): read only when mysqld starts,
# so a change is written without asking for a restart.
PEERS_CNF = CONF_DIR + '/99-stackyard-peers.cnf'
HEALTH_SCRIPT = '/usr/local/sbin/galera-synced'
DATADIR = '/var/lib/mysql'
GRASTATE = DATADIR + '/grastate.dat'
SERVICE = 'mariadb'
MARIADB = '/usr/bin/mariadb'
NEW_CLUSTER = '/usr/bin/galera_new_cluster'
RECOVERY = '/usr/bin/galera_recovery'
MARIABACKUP = '/usr/bin/mariabackup'
GALERA_PROVIDER = '/usr/lib/galera/libgalera_smm.so'
# The OCF resource agent pacemaker runs as ocf:stackyard:galera-monitor
# (files/galera-monitor; resource-agents' own mysql and galera agents start
# and stop mysqld, which the charm does itself).
OCF_AGENT = '/usr/lib/ocf/resource.d/stackyard/galera-monitor'
