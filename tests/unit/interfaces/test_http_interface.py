"""interface:http: untrusted relation data is parsed and validated."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', '..', 'interfaces',
                                'http'))
import requires  # noqa: E402


@pytest.mark.parametrize('data, expected', [
    ({'hostname': '10.0.0.5', 'port': '8080'}, ('10.0.0.5', 8080)),
    ({'hostname': ' web.local ', 'port': '80'}, ('web.local', 80)),
    ({'hostname': '10.0.0.5'}, None),
    ({'port': '8080'}, None),
    ({'hostname': '10.0.0.5', 'port': 'eighty'}, None),
    ({'hostname': '10.0.0.5', 'port': '70000'}, None),
    ({'hostname': '10.0.0.5', 'port': '0'}, None),
    ({}, None),
])
def test_parse(data, expected):
    assert requires._parse(data) == expected
