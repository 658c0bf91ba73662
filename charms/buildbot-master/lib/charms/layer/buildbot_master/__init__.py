"""buildbot-master's library: jobs config, contexts, services, the REST client."""
