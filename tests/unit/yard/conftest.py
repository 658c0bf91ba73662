"""Put tools/yard on sys.path so the yard package imports without installing it."""

import os
import sys

_YARD = os.path.abspath(os.path.join(os.path.dirname(__file__), "../../../tools/yard"))
if _YARD not in sys.path:
    sys.path.insert(0, _YARD)
