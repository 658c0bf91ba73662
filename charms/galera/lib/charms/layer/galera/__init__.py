"""galera charm library: MariaDB Galera from the OS packages, serving shared-db.

Modules: ``paths`` (every file the charm writes or reads), ``db`` (SQL through
the mariadb client on the root socket), ``credentials`` (the application's
Juju secret), ``cluster`` (peers, bootstrap, join, recovery state),
``services`` (the services-framework definition), ``shared_db`` (the
consumers' databases and users), ``checks`` (config rules and status),
``actions``.
"""
