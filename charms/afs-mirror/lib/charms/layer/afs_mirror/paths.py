"""Every path afs-mirror writes or reads."""

SITE = '/etc/apache2/sites-enabled/afs-mirror.conf'
DEFAULT_SITE = '/etc/apache2/sites-enabled/000-default.conf'
MODS_ENABLED = '/etc/apache2/mods-enabled'
DEFAULT_CACHE = '/var/cache/afs-mirror'
ACCESS_LOG = '/var/log/apache2/afs-mirror-access.log'
ERROR_LOG = '/var/log/apache2/afs-mirror-error.log'
# Debian's APACHE_LOCK_DIR, writable by www-data.
CACHE_LOCK = '/var/lock/apache2/afs-mirror-cachelock'
CLEANER_UNIT = '/etc/systemd/system/afs-mirror-htcacheclean.service'
APACHE = 'apache2'
CLEANER = 'afs-mirror-htcacheclean'
HTCACHECLEAN = '/usr/bin/htcacheclean'
APACHE2CTL = '/usr/sbin/apache2ctl'
# Apache modules the site needs (a2enmod names).
MODULES = ('proxy', 'proxy_http', 'ssl', 'cache', 'cache_disk', 'substitute', 'headers')
CLEANER_PID = '/run/afs-mirror-htcacheclean.pid'
DEBIAN_CLEANER = 'apache-htcacheclean'
PROC_MODULES = '/proc/modules'
# TLS: the certificate (public) and its key (root only).
TLS_DIR = '/etc/apache2/afs-mirror'
TLS_CERT = TLS_DIR + '/tls.crt'
TLS_KEY = TLS_DIR + '/tls.key'
# OpenAFS client (Debian's openafs-client).
AFS_SERVICE = 'openafs-client'
AFS_THISCELL = '/etc/openafs/ThisCell'
AFS_CELLSERVDB = '/etc/openafs/CellServDB'
AFS_SHIPPED_CELLSERVDB = '/usr/share/openafs/CellServDB'
AFS_CACHEINFO = '/etc/openafs/cacheinfo'
AFS_CACHE = '/var/cache/openafs'
AFS_MOUNT = '/afs'
