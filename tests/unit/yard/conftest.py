"""Fixtures for yard's unit tests (tests/unit/conftest.py puts tools/yard on sys.path)."""

import pytest

from yard_harness import TINY, Harness


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
