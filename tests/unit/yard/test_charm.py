"""Reading built charms, config values and action schemas (juju-semantics 5.1)."""

import pytest

from yard import charm as charmlib
from yard_harness import TINY, TINYSUB


@pytest.fixture(scope="module")
def tiny():
    return charmlib.load_charm(TINY)


def test_endpoints_include_implicit_juju_info(tiny):
    assert tiny.endpoint("cluster").role == "peers"
    assert tiny.endpoint("db").interface == "tiny-db"
    info = tiny.endpoint("juju-info")
    assert info.implicit and info.role == "provides"


def test_subordinate_needs_container_requires():
    sub = charmlib.load_charm(TINYSUB)
    assert sub.subordinate and sub.endpoint("host").scope == "container"


def test_not_a_charm(tmp_path):
    with pytest.raises(charmlib.CharmError, match="not found"):
        charmlib.load_charm(str(tmp_path / "nope"))
    with pytest.raises(charmlib.CharmError, match="not a charm"):
        charmlib.load_charm(str(tmp_path))


def test_schema_building_rules(tiny):
    schema = charmlib.action_schema(tiny.actions["echo"])
    assert schema["required"] == ["message"]
    assert schema["additionalProperties"] is False
    assert charmlib.action_schema(tiny.actions["open"])["additionalProperties"] is True


def test_defaults_inserted_after_validation(tiny):
    assert charmlib.validate_action(tiny, "echo", {"message": "a"}) == {"message": "a",
                                                                        "count": 1}
    with pytest.raises(charmlib.CharmError) as e:
        charmlib.validate_action(tiny, "echo", {"count": 2})
    assert str(e.value) == 'validation failed: (root) : "message" is required'


def test_validation_error_texts(tiny):
    with pytest.raises(charmlib.CharmError) as e:
        charmlib.validate_action(tiny, "echo", {"message": "a", "count": "x", "colour": 1})
    assert str(e.value) == ('validation failed: (root) : additional property "colour" is not '
                            'allowed, (root).count : must be of type integer')


def test_additional_properties_default_true(tiny):
    assert charmlib.validate_action(tiny, "open", {"x": 1}) == {"x": 1}


def test_config_coercion(tiny):
    assert charmlib.coerce_option(tiny, "count", "5") == 5
    assert charmlib.coerce_option(tiny, "fail-config-changed", "true") is True
    assert charmlib.coerce_option(tiny, "greeting", 5) == "5"
    with pytest.raises(charmlib.CharmError, match='option "count" expected int, got "x"'):
        charmlib.coerce_option(tiny, "count", "x")
    with pytest.raises(charmlib.CharmError, match='unknown option "nope"'):
        charmlib.coerce_option(tiny, "nope", "1")
