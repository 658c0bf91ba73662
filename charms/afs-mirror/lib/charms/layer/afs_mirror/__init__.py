"""afs-mirror's library: proxies config, contexts, services, cache tools."""
