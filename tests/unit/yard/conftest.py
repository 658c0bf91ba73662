"""Put tools/yard on sys.path so the yard package imports without installing it."""

import os
import sys

_YARD = os.path.abspath(os.path.join(os.path.dirname(__file__), "../../../tools/yard"))
if _YARD not in sys.path:
    sys.path.insert(0, _YARD)

import pytest  # noqa: E402 - after the path set-up above, as the harness needs it

from yard_harness import TINY, Harness  # noqa: E402


@pytest.fixture
def h(tmp_path):
    """An in-process controller on the local provider, stopped after the test."""
    harness = Harness(tmp_path)
    yield harness
    harness.stop()


@pytest.fixture
def three(h):
    """``h`` with three settled units of the tiny charm."""
    h.call("deploy", path=TINY, num_units=3)
    h.wait()
    return h
