"""afs-mirror: static mirrors and their freshness, the OpenAFS client, TLS."""

import base64
import pathlib
import subprocess

import jinja2
import pytest
import yaml

from charmhelpers.core import hookenv, unitdata
from charms.layer.afs_mirror import afs, checks, contexts, paths, proxies, services, static, tls

CHARM = pathlib.Path(__file__).resolve().parents[3] / 'charms' / 'afs-mirror'
PYPI = {'name': 'pypi', 'upstream': 'https://index.test/', 'path': '/pypi/', 'ttl': '10m',
        'files-upstream': 'https://files.test/'}


def configured():
    return proxies.parse(yaml.safe_dump([PYPI]))


# static-mirrors and max-staleness

def test_static_mirrors_parse():
    mirrors = static.parse('ubuntu: /afs/example.org/mirror/ubuntu/\nwheel: /srv/w',
                           configured())
    assert mirrors == [
        {'name': 'ubuntu', 'dir': '/afs/example.org/mirror/ubuntu', 'path': '/ubuntu/',
         'timestamp': '/afs/example.org/mirror/ubuntu/timestamp.txt'},
        {'name': 'wheel', 'dir': '/srv/w', 'path': '/wheel/', 'timestamp': '/srv/w/timestamp.txt'}]
    assert static.parse('') == [] and static.parse('{}') == []


@pytest.mark.parametrize('text, reason', [
    ('ubuntu: [broken', 'not valid YAML at line'),
    ('- ubuntu', 'must be a YAML mapping'),
    ('Ubuntu: /srv/u', "name 'Ubuntu'"),
    ('ubuntu: srv/u', "ubuntu: 'srv/u' is not an absolute directory path"),
    ('ubuntu: /srv/../etc', 'not an absolute directory path'),
    ('ubuntu: "/srv/a b"', 'not an absolute directory path'),
    ('ubuntu: 5', 'not an absolute directory path'),
    ('pypi: /srv/p', 'pypi: also the name of a proxy'),
    ('pypi-files: /srv/p', 'overlaps path /pypi-files/ of proxy pypi'),
])
def test_bad_static_mirrors(text, reason, monkeypatch):
    with pytest.raises(proxies.Invalid) as err:
        static.parse(text, configured())
    assert reason in str(err.value)
    monkeypatch.setattr(hookenv, 'config', lambda key=None: {'proxies': yaml.safe_dump([PYPI])})
    assert reason in contexts.static_mirrors_reason(text)


@pytest.mark.parametrize('value', ['0', '-1h', '366d', 'often', ''])
def test_bad_max_staleness(value):
    assert 'max-staleness' in contexts.max_staleness_reason(value)


@pytest.mark.parametrize('text', [
    '1796566200\n', '1796566200.25', '2026-12-06T14:10:00Z', '2026-12-06 14:10:00+00:00',
    '2026-12-06T15:10:00+01:00', 'Sun Dec  6 14:10:00 UTC 2026\n'])
def test_timestamp_formats(text):
    # 2026-12-06 14:10:00 UTC
    assert int(static.parse_timestamp(text)) == 1796566200


@pytest.mark.parametrize('text', ['', 'yesterday', '2026-13-01'])
def test_bad_timestamps(text):
    with pytest.raises(ValueError):
        static.parse_timestamp(text)


@pytest.mark.parametrize('seconds, text', [
    (0, '0s'), (59, '59s'), (61, '1m 1s'), (3600, '1h'), (3 * 3600 + 20 * 60, '3h 20m'),
    (86400, '1d'), (90000, '1d 1h'), (86400 + 59, '1d')])
def test_age_text(seconds, text):
    assert static.age_text(seconds) == text


def test_freshness(tmp_path):
    mirror = static.parse('ubuntu: {}'.format(tmp_path))[0]
    assert static.freshness(mirror, 3600, 1000.0) == \
        'static mirror ubuntu has no {}/timestamp.txt'.format(tmp_path)
    (tmp_path / 'timestamp.txt').write_text('junk\n')
    assert "'junk' is not a unix time" in static.freshness(mirror, 3600, 1000.0)
    (tmp_path / 'timestamp.txt').write_text('1000\n')
    assert static.freshness(mirror, 3600, 1000.0 + 3600) is None
    assert static.freshness(mirror, 3600, 1000.0 + 3 * 3600 + 120) == \
        'static mirror ubuntu is stale: timestamp.txt is 3h 2m old (max-staleness 1h)'


def test_static_status_check(tmp_path, monkeypatch):
    fresh, stale = tmp_path / 'fresh', tmp_path / 'stale'
    for folder, stamp in ((fresh, 10000), (stale, 100)):
        folder.mkdir()
        (folder / 'timestamp.txt').write_text(str(stamp))
    monkeypatch.setattr(contexts, 'configured_static', lambda: static.parse(
        'a: {}\nb: {}'.format(fresh, stale)))
    monkeypatch.setattr(contexts, 'max_staleness', lambda: 3600)
    assert checks.static_mirrors_check(now=10060) == [
        ('blocked', 'Static mirror b is stale: timestamp.txt is 2h 46m old '
                    '(max-staleness 1h)')]
    (stale / 'timestamp.txt').write_text('10000')
    assert checks.static_mirrors_check(now=10060) == []


# OpenAFS

def test_afs_options():
    assert afs.parse_cell('') is None and afs.parse_cell(' example.org ') == 'example.org'
    assert afs.parse_db_servers('10.0.0.1, 10.0.0.2 10.0.0.3') == [
        '10.0.0.1', '10.0.0.2', '10.0.0.3']
    assert afs.parse_cache_size('500M') == 512000
    assert contexts.afs_cell_reason('example.org') is None


@pytest.mark.parametrize('check, value, reason', [
    (contexts.afs_cell_reason, 'Example.org', 'is not a cell name'),
    (contexts.afs_cell_reason, 'nodots', 'is not a cell name'),
    (contexts.afs_cell_reason, 'a..b', 'is not a cell name'),
    (contexts.afs_db_servers_reason, '10.0.0.300', "'10.0.0.300' is not an IPv4 address"),
    (contexts.afs_db_servers_reason, 'fd00::1', 'is not an IPv4 address'),
    (contexts.afs_db_servers_reason, 'db1.example.org', 'is not an IPv4 address'),
    (contexts.afs_db_servers_reason, '10.0.0.1 10.0.0.1', 'listed twice'),
    (contexts.afs_cache_size_reason, '5M', 'less than 10M'),
    (contexts.afs_cache_size_reason, '50%', 'not a percentage'),
    (contexts.afs_cache_size_reason, '-1G', 'is not a size'),
])
def test_bad_afs_options(check, value, reason):
    assert reason in check(value)


SHIPPED = '''>grand.central.org      #GCO Public CellServDB 01 Jan 2016
18.9.48.14                      #grand.mit.edu
>example.org            #Example
192.0.2.1                       #db1.example.org
'''


def test_cellservdb():
    assert afs.cellservdb(SHIPPED, 'example.org', []) == SHIPPED
    text = afs.cellservdb(SHIPPED, 'example.org', ['10.0.0.1', '10.0.0.2'])
    blocks = afs.cell_blocks(text)
    assert list(blocks) == ['example.org', 'grand.central.org']
    assert blocks['example.org'][1:] == ['10.0.0.1\t\t\t# 10.0.0.1', '10.0.0.2\t\t\t# 10.0.0.2']
    assert '192.0.2.1' not in text


def test_module_loaded(tmp_path):
    modules = tmp_path / 'modules'
    modules.write_text('overlay 151552 0 - Live 0x0\n')
    assert not afs.module_loaded(str(modules))
    modules.write_text('openafs 3000000 1 - Live 0x0\n')
    assert afs.module_loaded(str(modules))


@pytest.fixture
def kv(tmp_path, monkeypatch):
    monkeypatch.setenv('UNIT_STATE_DB', str(tmp_path / 'state.db'))
    monkeypatch.setattr(unitdata, '_KV', None)
    yield unitdata.kv()
    unitdata._KV = None


def test_afs_status(kv, tmp_path, monkeypatch):
    shipped, db = tmp_path / 'shipped', tmp_path / 'CellServDB'
    shipped.write_text(SHIPPED)
    db.write_text(SHIPPED)
    monkeypatch.setattr(paths, 'AFS_SHIPPED_CELLSERVDB', str(shipped))
    monkeypatch.setattr(paths, 'AFS_CELLSERVDB', str(db))
    config = {'afs-cell': 'other.org', 'afs-db-servers': '', 'afs-cache-size': '500M'}
    from charms.layer.stackyard import options
    monkeypatch.setattr(options, 'config', lambda: config)
    assert checks.afs_check() == ('blocked', 'afs-cell other.org is not in {}: set '
                                             'afs-db-servers to its database servers'.format(db))
    config['afs-cell'] = 'example.org'
    assert checks.afs_check() is None
    kv.set(services.AFS_MODULE_KEY, 'modprobe: FATAL: Module openafs not found in directory '
                                    '/lib/modules/6.1.0-28-amd64')
    assert checks.afs_check() == (
        'blocked', 'AFS client for example.org not started: kernel module openafs cannot '
                   'load (modprobe: FATAL: Module openafs not found in directory '
                   '/lib/modules/6.1.0-28-amd64); the proxies keep serving')
    config['afs-cell'] = ''
    assert checks.afs_check() is None


# TLS

@pytest.fixture(scope='module')
def certs(tmp_path_factory):
    """Two self-signed certificates with their keys, made by openssl."""
    folder = tmp_path_factory.mktemp('certs')
    made = []
    for name in ('a', 'b'):
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days',
                        '2', '-subj', '/CN=mirror-{}'.format(name), '-keyout',
                        str(folder / (name + '.key')), '-out', str(folder / (name + '.crt'))],
                       check=True, capture_output=True)
        made.append(((folder / (name + '.crt')).read_text(),
                     (folder / (name + '.key')).read_text()))
    return made


def test_tls_pair_pem_and_base64(certs):
    cert, key = certs[0]
    assert tls.pair(cert, key) == (cert.strip() + '\n', key.strip() + '\n')
    encoded = [base64.b64encode(x.encode()).decode() for x in (cert, key)]
    assert tls.pair(*encoded) == (cert.strip() + '\n', key.strip() + '\n')
    assert tls.pair('', '') == ('', '')


def test_bad_tls(certs, monkeypatch):
    (cert_a, key_a), (cert_b, key_b) = certs
    config = {}
    monkeypatch.setattr(hookenv, 'config', lambda key=None: config)
    config['ssl-cert'] = cert_a
    assert contexts.ssl_key_reason(key_b) == 'ssl-key does not match the certificate in ssl-cert'
    assert contexts.ssl_key_reason('') == 'ssl-cert and ssl-key must be set together'
    assert contexts.ssl_key_reason(cert_b) == 'ssl-key holds no PEM private key'
    assert contexts.ssl_key_reason(key_a) is None
    assert contexts.ssl_cert_reason('not pem!') == \
        'the certificate is neither PEM nor base64-encoded PEM'
    assert contexts.ssl_cert_reason(base64.b64encode(b'hello').decode()) == \
        'the certificate decodes from base64 but holds no PEM block'
    config['ssl-cert'] = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'
    assert 'not valid PEM' in contexts.ssl_key_reason(key_a)
    config['ssl-cert'] = ''
    assert contexts.ssl_key_reason(key_a) == 'ssl-cert and ssl-key must be set together'
    assert key_a.splitlines()[1] not in ' '.join(
        filter(None, [contexts.ssl_key_reason(key_b), contexts.ssl_cert_reason(key_a)]))


# Rendering

def render(name, **context):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(CHARM / 'templates')),
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return env.get_template(name).render(context)


def site(tls_port, mirrors):
    return render('afs-mirror.conf.j2', proxies=proxies.parse(yaml.safe_dump([
        PYPI, {'name': 'npm', 'upstream': 'https://npm.test/', 'path': '/npm/', 'ttl': '1h'}])),
        port=80, address='10.0.0.5', cache_root='/c', cache_lock=paths.CACHE_LOCK,
        access_log=paths.ACCESS_LOG, error_log=paths.ERROR_LOG, ssl_proxy=True,
        static_mirrors=mirrors, tls_port=tls_port, tls_cert=paths.TLS_CERT,
        tls_key=paths.TLS_KEY)


def test_site_with_static_mirrors_and_tls():
    mirrors = static.parse('ubuntu: /afs/example.org/mirror/ubuntu')
    text = site(443, mirrors)
    assert '<Directory /afs/example.org/mirror/ubuntu/>' in text
    assert text.count('Alias /ubuntu/ /afs/example.org/mirror/ubuntu/') == 2
    assert '<VirtualHost *:443>' in text and 'SSLEngine on' in text
    assert 'SSLCertificateKeyFile {}'.format(paths.TLS_KEY) in text
    assert 'Substitute "s|https://npm.test/|http://10.0.0.5/npm/|n"' in text
    assert 'Substitute "s|https://npm.test/|https://10.0.0.5/npm/|n"' in text
    assert text.count('CacheEnable disk') == 6
    plain = site(None, [])
    assert '<VirtualHost *:443>' not in plain and 'SSLEngine' not in plain
    assert 'Alias' not in plain


def test_afs_templates():
    assert render('ThisCell.j2', cell='example.org') == 'example.org\n'
    assert render('cacheinfo.j2', mount='/afs', cache_dir='/var/cache/openafs',
                  cache_k=512000) == '/afs:/var/cache/openafs:512000\n'


def test_health_checks_with_static_and_tls():
    apache = {'port': 80, 'tls_port': 443, 'proxies': configured(),
              'static_mirrors': static.parse('ubuntu: /srv/u')}
    assert [c.name for c in services.health_checks(apache)] == [
        'tcp 127.0.0.1:80', 'tcp 127.0.0.1:443', 'http http://127.0.0.1:80/pypi/simple/pip/',
        'http http://127.0.0.1:80/ubuntu/timestamp.txt']


def test_cellservdb_keeps_latin1(tmp_path, monkeypatch):
    # Debian's shipped CellServDB is Latin-1 (accented names in comments).
    shipped, written = tmp_path / 'shipped', tmp_path / 'CellServDB'
    shipped.write_bytes(b'>uni.example.de   #Universit\xe4t\n192.0.2.7   #afs.uni.example.de\n')
    monkeypatch.setattr(paths, 'AFS_SHIPPED_CELLSERVDB', str(shipped))
    monkeypatch.setattr(paths, 'AFS_CELLSERVDB', str(written))
    monkeypatch.setattr(contexts, 'AfsContext', lambda: {'cell': 'example.org',
                                                         'db_servers': ['10.0.0.1']})
    import grp
    import os
    import pwd
    from charmhelpers.core import host
    real = host.write_file
    monkeypatch.setattr(host, 'write_file', lambda path, content, owner, group, perms: real(
        path, content, owner=pwd.getpwuid(os.getuid()).pw_name,
        group=grp.getgrgid(os.getgid()).gr_name, perms=perms))
    from charms.layer.stackyard import services as sy
    monkeypatch.setattr(sy, '_changed', {})
    services.write_cellservdb('openafs-client')
    assert written.read_bytes() == (b'>example.org\t\t# set by the afs-mirror charm '
                                    b'(afs-db-servers)\n10.0.0.1\t\t\t# 10.0.0.1\n'
                                    b'>uni.example.de   #Universit\xe4t\n'
                                    b'192.0.2.7   #afs.uni.example.de\n')
    assert sy.changed_files('openafs-client') == [str(written)]


NEW_OPTIONS = ('static-mirrors', 'max-staleness', 'afs-cell', 'afs-db-servers', 'afs-cache-size',
               'ssl-cert', 'ssl-key')


@pytest.mark.parametrize('option, value, reason', [
    ('static-mirrors', 'x: [', "static-mirrors: not valid YAML at line 1"),
    ('max-staleness', '-5', "max-staleness: max-staleness '-5' is not a duration"),
    ('afs-cell', 'EXAMPLE', "afs-cell: 'EXAMPLE' is not a cell name"),
    ('afs-db-servers', '10.1.2', "afs-db-servers: '10.1.2' is not an IPv4 address"),
    ('afs-cache-size', '5M', "afs-cache-size: '5M' is less than 10M"),
    ('ssl-cert', '%%%', 'ssl-cert: the certificate is neither PEM nor base64-encoded PEM'),
])
def test_every_new_option_is_named_when_bad(option, value, reason, monkeypatch):
    from charms.layer.stackyard import options
    values = {'static-mirrors': '', 'max-staleness': '1d', 'afs-cell': '',
              'afs-db-servers': '', 'afs-cache-size': '500M', 'ssl-cert': '', 'ssl-key': '',
              'proxies': ''}
    monkeypatch.setattr(hookenv, 'config', lambda key=None: values)
    rules = {o: options._rules[o] for o in NEW_OPTIONS}
    assert options.check_values(values, rules) == []
    values[option] = value
    problems = options.check_values(values, rules)
    assert len(problems) == 1 and problems[0].startswith(reason), problems
