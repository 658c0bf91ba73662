"""Import paths for unit tests of charm code, as a built charm would have them.

A built charm merges every layer's ``lib/`` into one; here each layer, interface
and test charm keeps its own, so ``charms.layer`` is extended to all of them.
charmhelpers needs the common layer's compat fixes before it is imported.
"""

import glob
import os
import sys
import tempfile

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
LIBS = sorted(glob.glob(os.path.join(TOP, 'layers', '*', 'lib')) +
              glob.glob(os.path.join(TOP, 'charms', '*', 'lib')) +
              glob.glob(os.path.join(TOP, 'tests', 'charms', '*', 'lib')))
for lib in LIBS:
    if lib not in sys.path:
        sys.path.insert(0, lib)
# yard, for its own tests and for those of the layer and benches that use its
# hook tools; the unit env does not install it.
YARD = os.path.join(TOP, 'tools', 'yard')
if YARD not in sys.path:
    sys.path.insert(0, YARD)
# Helpers shared with the model tests (tests/headless.py: Chromium).
if os.path.join(TOP, 'tests') not in sys.path:
    sys.path.append(os.path.join(TOP, 'tests'))

# Endpoint classes read the charm's metadata.yaml when they are imported.
if 'CHARM_DIR' not in os.environ:
    os.environ['CHARM_DIR'] = tempfile.mkdtemp(prefix='stackyard-unit-charm-')
    with open(os.path.join(os.environ['CHARM_DIR'], 'metadata.yaml'), 'w') as f:
        f.write('name: unit-test\n')

import charms.layer  # noqa: E402

for lib in LIBS:
    layer_dir = os.path.join(lib, 'charms', 'layer')
    if os.path.isdir(layer_dir) and layer_dir not in charms.layer.__path__:
        charms.layer.__path__.append(layer_dir)

from charms.layer.stackyard import compat  # noqa: E402

compat.install()
