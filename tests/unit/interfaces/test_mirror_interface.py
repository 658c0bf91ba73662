"""interface:mirror: the provider's mirror-info round-trips; bad data is refused."""

import json
import os

import pytest
import yaml

from charms.layer.afs_mirror import contexts, proxies, static

import iface

HERE = os.path.dirname(__file__)
TOP = os.path.join(HERE, '..', '..', '..')


requires = iface.load('mirror', 'requires')
provides = iface.load('mirror', 'provides')


def charm_info():
    with open(os.path.join(TOP, 'charms', 'afs-mirror', 'config.yaml')) as f:
        default = yaml.safe_load(f)['options']['proxies']['default']
    return contexts.mirror_info(proxies.parse(default), [], False)


def test_what_afs_mirror_publishes_parses():
    info = requires.parse_info(json.dumps(charm_info()))
    assert info == charm_info()
    urls = requires.with_urls(info, '10.0.0.5', 80)
    assert urls['pypi']['url'] == 'http://10.0.0.5/pypi/simple/'
    assert urls['debian']['url'] == 'http://10.0.0.5/debian/'
    assert urls['debian']['trusted'] is False and urls['debian']['components'] == ['main']
    assert requires.with_urls(info, 'fd00::5', 8080)['npm']['url'] == 'http://[fd00::5]:8080/npm/'


def test_static_mirrors_and_tls_in_mirror_info():
    configured = proxies.parse(yaml.safe_dump([{'name': 'pypi', 'upstream': 'https://i.test/',
                                                'path': '/pypi/', 'ttl': '1h'}]))
    mirrors = static.parse('ubuntu: /afs/example.org/mirror/ubuntu', configured)
    info = requires.parse_info(json.dumps(contexts.mirror_info(configured, mirrors, True)))
    assert info['ubuntu'] == {'type': 'generic', 'path': '/ubuntu/', 'static': True,
                              'timestamp': '/ubuntu/timestamp.txt', 'scheme': 'https'}
    urls = requires.with_urls(info, '10.0.0.5', 80, 443)
    assert urls['pypi']['url'] == 'https://10.0.0.5/pypi/simple/'
    assert urls['ubuntu']['url'] == 'https://10.0.0.5/ubuntu/'
    assert requires.with_urls(info, '10.0.0.5', 80, 8443)['ubuntu']['url'] == \
        'https://10.0.0.5:8443/ubuntu/'
    plain = requires.parse_info(json.dumps(contexts.mirror_info(configured, mirrors, False)))
    assert 'scheme' not in plain['pypi']
    assert requires.with_urls(plain, '10.0.0.5', 80, None)['ubuntu']['url'] == \
        'http://10.0.0.5/ubuntu/'


@pytest.mark.parametrize('data, port', [
    ({}, None), ({'https-port': '443'}, 443), ({'https-port': ''}, None)])
def test_https_port(data, port):
    assert requires.parse_https_port(data) == port


@pytest.mark.parametrize('entry, reason', [
    ({'type': 'generic', 'path': '/u/', 'scheme': 'ftp'}, 'scheme'),
    ({'type': 'generic', 'path': '/u/', 'static': 'yes'}, 'static'),
    ({'type': 'generic', 'path': '/u/', 'timestamp': '/../x'}, 'timestamp'),
])
def test_bad_optional_keys(entry, reason):
    with pytest.raises(requires.Invalid, match=reason):
        requires.parse_entry('u', entry)
    with pytest.raises(requires.Invalid):
        requires.parse_https_port({'https-port': 'x'})


@pytest.mark.parametrize('text, reason', [
    ('not json', 'not JSON'),
    (None, 'not JSON'),
    ('[]', 'non-empty object'),
    ('{}', 'non-empty object'),
    ('{"Bad Name": {"type": "pypi", "path": "/p/"}}', 'bad mirror name'),
    ('{"p": "x"}', 'not an object'),
    ('{"p": {"type": "gem", "path": "/p/"}}', 'unknown type'),
    ('{"p": {"type": "pypi", "path": "/../etc/"}}', 'bad path'),
    ('{"p": {"type": "pypi", "path": "http://evil/"}}', 'bad path'),
    ('{"d": {"type": "apt", "path": "/d/", "suites": ["a"], "components": ["main"]}}',
     'trusted must be true or false'),
    ('{"d": {"type": "apt", "path": "/d/", "suites": "a", "components": ["main"], '
     '"trusted": true}}', 'suites must be a list of words'),
    ('{"d": {"type": "apt", "path": "/d/", "suites": ["a b"], "components": ["main"], '
     '"trusted": true}}', 'suites must be a list of words'),
])
def test_bad_mirror_info(text, reason):
    with pytest.raises(requires.Invalid, match=reason):
        requires.parse_info(text)


@pytest.mark.parametrize('data, expected', [
    ({'address': '10.0.0.5', 'port': '80'}, ('10.0.0.5', 80)),
    ({'address': ' mirror.local ', 'port': '8080'}, ('mirror.local', 8080)),
    ({'address': '10.0.0.5'}, None),
    ({'address': '10.0.0.5', 'port': 'x'}, None),
    ({'address': '10.0.0.5', 'port': '70000'}, None),
    ({'address': 'a/b', 'port': '80'}, None),
    ({}, None),
])
def test_parse_address(data, expected):
    if expected is None:
        with pytest.raises(requires.Invalid):
            requires.parse_address(data)
    else:
        assert requires.parse_address(data) == expected


def test_bad_data_is_logged_once(monkeypatch):
    logged = []
    monkeypatch.setattr(requires.hookenv, 'log', lambda msg, level=None: logged.append(msg))
    monkeypatch.setattr(requires, '_logged', set())
    requires._log_once('mirror:1 app: mirror-info is not JSON')
    requires._log_once('mirror:1 app: mirror-info is not JSON')
    assert len(logged) == 1 and 'not JSON' in logged[0]


def test_endpoint_docstrings_name_every_key_and_flag():
    for cls, words in ((provides.MirrorProvides, ['{endpoint_name}.connected', 'mirror-info',
                                                  'address', 'port']),
                       (requires.MirrorRequires, ['{endpoint_name}.connected',
                                                  '{endpoint_name}.available',
                                                  '{endpoint_name}.changed', 'mirror-info'])):
        for word in words:
            assert word in cls.__doc__


class FakeRelation:
    def __init__(self):
        self.to_publish_raw, self.to_publish_app_raw = {}, {}


def test_publish_with_and_without_tls(monkeypatch):
    from charmhelpers.core import hookenv
    relation = FakeRelation()
    monkeypatch.setattr(provides.MirrorProvides, 'relations', [relation])
    monkeypatch.setattr(hookenv, 'is_leader', lambda: True)
    endpoint = object.__new__(provides.MirrorProvides)
    endpoint.publish({'npm': {'type': 'npm', 'path': '/npm/', 'scheme': 'https'}}, '10.0.0.5',
                     80, https_port=443)
    assert relation.to_publish_raw == {'address': '10.0.0.5', 'port': '80', 'https-port': '443'}
    assert json.loads(relation.to_publish_app_raw['mirror-info'])['npm']['scheme'] == 'https'
    endpoint.publish({'npm': {'type': 'npm', 'path': '/npm/'}}, '10.0.0.5', 80)
    assert relation.to_publish_raw['https-port'] is None
