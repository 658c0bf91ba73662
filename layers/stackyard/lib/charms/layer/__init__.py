"""Shared namespace of the layers' libraries (``charms.layer.<name>``)."""

import os


def options(layer_name=None):
    """The built charm's layer options (from its merged layer.yaml).

    :param layer_name: return only this layer's options
    :returns: dict of options, ``{}`` when there are none
    """
    import yaml  # not at import time: the bootstrap imports this package before the venv

    charm_dir = os.environ.get('JUJU_CHARM_DIR') or os.environ.get('CHARM_DIR') or '.'
    try:
        with open(os.path.join(charm_dir, 'layer.yaml')) as f:
            data = yaml.safe_load(f) or {}
    except OSError:
        data = {}
    opts = data.get('options') or {}
    return opts.get(layer_name) or {} if layer_name else opts
