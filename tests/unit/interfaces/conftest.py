"""Every interface test gets a fresh unit kv store (flags and Endpoint state live there)."""

import pytest
from charmhelpers.core import unitdata


@pytest.fixture(autouse=True)
def fresh_unit_state(tmp_path, monkeypatch):
    monkeypatch.setenv('UNIT_STATE_DB', str(tmp_path / 'state.db'))
    monkeypatch.setattr(unitdata, '_KV', None)
    yield
    unitdata._KV = None
