"""Every path and system name the hacluster charm writes or runs."""

COROSYNC_CONF = '/etc/corosync/corosync.conf'
AUTHKEY = '/etc/corosync/authkey'
# The crm configuration last applied (leader), root only: it is the principal's data.
STATE_DIR = '/var/lib/hacluster-charm'
CRM_FILE = STATE_DIR + '/resources.crm'
# Debian's hook that tells maintainer scripts not to start services.
POLICY_RC_D = '/usr/sbin/policy-rc.d'

COROSYNC = 'corosync'
PACEMAKER = 'pacemaker'
PACKAGES = ('corosync', 'pacemaker', 'crmsh', 'resource-agents')
