"""Config validation and unit overrides."""

import pytest
import yaml
from charmhelpers.core import unitdata

from charms.layer.stackyard import options

TYPES = {'debug': 'boolean', 'log-level': 'string', 'port': 'int', 'ratio': 'float',
         'unit-overrides': 'string'}
ALLOWED = {'debug', 'log-level'}
NOW = 1_800_000_000.0


def parse(text, unit='web/1'):
    return options.parse_overrides(text, unit, TYPES, ALLOWED, NOW)


def test_no_overrides():
    assert parse('') == ({}, None, [])
    assert parse('  \n') == ({}, None, [])


def test_only_the_targeted_unit_gets_its_values():
    text = yaml.safe_dump({'web/1': {'debug': True}, 'web/2': {'log-level': 'DEBUG'}})
    assert parse(text, 'web/1') == ({'debug': True}, None, [])
    assert parse(text, 'web/2') == ({'log-level': 'DEBUG'}, None, [])
    assert parse(text, 'web/0') == ({}, None, [])


def test_expiry_in_the_future_and_past():
    future = yaml.safe_dump({'web/1': {'debug': True, 'expires': '2030-01-01T00:00:00Z'}})
    overrides, expires, problems = parse(future)
    assert overrides == {'debug': True} and problems == []
    assert expires == options.parse_expiry('2030-01-01T00:00:00+00:00')
    past = yaml.safe_dump({'web/1': {'debug': True, 'expires': NOW - 1}})
    assert parse(past) == ({}, None, [])


@pytest.mark.parametrize('text, problem', [
    ('web/1: [unclosed', 'unit-overrides is not valid YAML at line 1'),
    ('- just\n- a list\n', 'unit-overrides must map unit names to options'),
    ('web/1: 5\n', 'unit-overrides: web/1 must map options to values'),
    ('web/1: {nosuch: 1}\n', 'unit-overrides: web/1 sets unknown option nosuch'),
    ('web/1: {port: 80}\n',
     'unit-overrides: port may not be overridden per unit (overridable: debug, log-level)'),
    ('web/1: {debug: "yes please"}\n',
     "unit-overrides: debug must be of type boolean, not 'yes please'"),
    ('web/1: {debug: true, expires: soon}\n',
     "unit-overrides: web/1: expires 'soon' is not an ISO 8601 timestamp"),
    ('web/2: {port: 80}\n',
     'unit-overrides: port may not be overridden per unit (overridable: debug, log-level)'),
])
def test_bad_overrides_name_the_problem(text, problem):
    overrides, expires, problems = parse(text)
    assert overrides == {} and expires is None
    assert problems == [problem]


def test_validators_name_the_option():
    rules = {'port': [lambda v: None if 0 < v < 65536 else 'must be 1-65535, not {}'.format(v)]}
    assert options.check_values({'port': 8080}, rules) == []
    assert options.check_values({'port': 0}, rules) == ['port: must be 1-65535, not 0']


@pytest.fixture
def charm_config(hook_env, monkeypatch):
    with open(hook_env.charm_dir + '/config.yaml', 'w') as f:
        yaml.safe_dump({'options': {k: {'type': v} for k, v in TYPES.items()}}, f)
    monkeypatch.setattr(options, '_overridable', set(ALLOWED))
    monkeypatch.setattr(options, '_rules', {})
    monkeypatch.setattr(options, '_current', {'effective': None})
    hook_env.config.update({'debug': False, 'log-level': 'INFO', 'port': 80, 'ratio': 0.5,
                            'unit-overrides': ''})
    return hook_env


def test_effective_config_keeps_last_good_while_invalid(charm_config, monkeypatch):
    charm_config.config['unit-overrides'] = 'test/0: {debug: true}'
    good = options.Effective(now=NOW)
    assert good.valid and good.values['debug'] is True
    assert unitdata.kv().get(options.GOOD_KEY)['debug'] is True
    charm_config.config['unit-overrides'] = 'test/0: {debug: maybe}'
    charm_config.config['log-level'] = 'ERROR'
    bad = options.Effective(now=NOW)
    assert not bad.valid
    assert bad.values['debug'] is True and bad.values['log-level'] == 'INFO'
    options._current['effective'] = bad
    assert options.status_check() == [
        ('blocked', "Invalid config: unit-overrides: debug must be of type boolean, "
                    "not 'maybe'")]


# -- the helpers charms parse their own options with ----------------------------------

@pytest.mark.parametrize('text, kind, found', [
    ('', list, []), (None, list, []), ('  \n', dict, {}), ('- a\n- b: 1\n', list, ['a', {'b': 1}]),
    ('name: /srv/x\n', dict, {'name': '/srv/x'})])
def test_yaml_option_returns_what_it_holds(text, kind, found):
    assert options.yaml_option(text, kind, 'a YAML list of things') == found


@pytest.mark.parametrize('text, kind, message', [
    ('- a\n- [b\n', list, 'not valid YAML at line 3'),
    ('a: b: c', dict, 'not valid YAML at line 1'),
    ('name: x', list, 'must be a YAML list of proxies'),
    ('- x', dict, 'must be a YAML list of proxies'),
    ('just words', list, 'must be a YAML list of proxies')])
def test_yaml_option_refuses_naming_the_problem(text, kind, message):
    with pytest.raises(options.Invalid) as e:
        options.yaml_option(text, kind, 'a YAML list of proxies')
    assert str(e.value) == message


def test_reason_of_a_parser():
    def parse(value):
        if value < 0:
            raise options.Invalid('{} is negative'.format(value))
        return value
    assert options.reason(parse, 3) is None
    assert options.reason(parse, -1) == '-1 is negative'
    with pytest.raises(TypeError):   # only Invalid is a reason; a bug still raises
        options.reason(parse, None)
