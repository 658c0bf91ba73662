"""Flag names used in more than one place."""

INSTALLED = 'hacluster.packages.installed'
