"""stackyard-test's library: paths, contexts and service definitions."""
