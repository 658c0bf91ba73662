#!/usr/bin/python3 -S
# Every hook of a Stackyard charm runs this file (hooks/hook.template execs it),
# with JUJU_HOOK_NAME set.  -S: no site-packages until the venv; the fast path
# and the bootstrap need only the standard library, and skipping site saves a
# few milliseconds a hook.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                'lib'))

from charms.layer.stackyard import idle  # noqa: E402  standard library only

try:
    # The full hook re-executes this file under the venv's python (a venv:
    # sys.prefix differs): the fast path already declined then.
    if sys.prefix == sys.base_prefix and idle.try_fast_path(
            os.environ.get('JUJU_CHARM_DIR') or os.environ.get('CHARM_DIR') or
            os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
            os.environ.get('JUJU_HOOK_NAME') or ''):
        sys.exit(0)
except Exception as e:  # the full hook below is always a correct fallback
    sys.stderr.write('stackyard: idle fast path skipped: ' + repr(e) + '\n')

from charms.layer.stackyard import bootstrap  # noqa: E402  standard library only

bootstrap.enter_venv()

from charms.layer.stackyard import hookrun  # noqa: E402  needs the venv

hookrun.main()
