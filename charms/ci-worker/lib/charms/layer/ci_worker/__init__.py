"""ci-worker's library: options, mirror config, git cache, disk watchdog, agents."""
