"""Load an interface layer's module from interfaces/ as a module of its own."""

import importlib.util
import os

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'interfaces')


def load(interface, role):
    """``interfaces/<interface>/<role>.py``, loaded afresh on every call."""
    spec = importlib.util.spec_from_file_location(
        'iface_{}_{}'.format(interface.replace('-', '_'), role),
        os.path.join(TOP, interface, role + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
