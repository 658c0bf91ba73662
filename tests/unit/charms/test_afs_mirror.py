"""afs-mirror charm logic: proxies parsing, rendering, the config check, cache tools."""

import os
import pathlib
import stat
import textwrap

import jinja2
import pytest
import yaml

from charmhelpers.core import unitdata
from charms.layer.afs_mirror import cache, contexts, paths, proxies, services

CHARM = pathlib.Path(__file__).resolve().parents[3] / 'charms' / 'afs-mirror'


def default_proxies():
    config = yaml.safe_load((CHARM / 'config.yaml').read_text())
    return config['options']['proxies']['default']


def entry(**changes):
    base = {'name': 'pypi', 'upstream': 'https://index.test/', 'path': '/pypi/', 'ttl': '10m',
            'files-upstream': 'https://files.test/'}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def test_the_default_proxies_parse():
    parsed = proxies.parse(default_proxies())
    assert [p['name'] for p in parsed] == ['pypi', 'npm', 'debian']
    assert [p['type'] for p in parsed] == ['pypi', 'npm', 'apt']
    assert parsed[0]['files_path'] == '/pypi-files/'
    assert parsed[0]['ttl'] == 600 and parsed[2]['ttl'] == 3600
    assert parsed[2]['suites'] and parsed[2]['components'] == ['main']
    assert contexts.proxies_reason(default_proxies()) is None


@pytest.mark.parametrize('value, seconds', [
    (60, 60), ('60', 60), ('30m', 1800), ('6h', 21600), ('1d', 86400), ('30d', 2592000)])
def test_parse_ttl(value, seconds):
    assert proxies.parse_ttl(value) == seconds


@pytest.mark.parametrize('value', [0, -5, '31d', '5x', 'soon', True, None, 1.5, '1h30m'])
def test_bad_ttl(value):
    with pytest.raises(proxies.Invalid, match='ttl'):
        proxies.parse_ttl(value)


@pytest.mark.parametrize('text, reason', [
    ('- name: pypi\n  ttl: [broken', 'not valid YAML at line'),
    ('name: pypi', 'must be a YAML list'),
    ('- just-a-string', 'must be a mapping'),
    (yaml.safe_dump([entry(colour='blue')]), "unknown key(s) colour"),
    (yaml.safe_dump([entry(ttl=None)]), 'pypi: missing ttl'),
    (yaml.safe_dump([entry(name='Py Pi')]), "name 'Py Pi'"),
    (yaml.safe_dump([entry(upstream='ftp://index.test/')]), "pypi: upstream 'ftp://"),
    (yaml.safe_dump([entry(upstream='https:///nohost')]), 'is not an http(s) URL'),
    (yaml.safe_dump([entry(upstream='https://a.test:99999/')]), 'bad port'),
    (yaml.safe_dump([entry(upstream='https://a.test/x|y')]), 'is not an http(s) URL'),
    (yaml.safe_dump([entry(ttl='5x')]), "pypi: ttl '5x' is not a duration"),
    (yaml.safe_dump([entry(path='pypi')]), 'must look like /name/'),
    (yaml.safe_dump([entry(path='/a b/')]), 'must look like /name/'),
    (yaml.safe_dump([entry(type='gem')]), "type 'gem'"),
    (yaml.safe_dump([entry(), entry(path='/other/')]), 'name pypi is used twice'),
    (yaml.safe_dump([entry(), entry(name='x', type='pypi', path='/pypi/sub/')]),
     'overlaps path /pypi/'),
    (yaml.safe_dump([entry(), entry(name='x', type='pypi', path='/pypi-files/')]), 'overlaps'),
    (yaml.safe_dump([entry(name='npm')]), 'files-upstream is for type pypi only'),
    (yaml.safe_dump([entry(suites=['a'])]), 'suites is for type apt only'),
    (yaml.safe_dump([entry(name='d', type='apt', **{'files-upstream': None},
                           suites='bookworm')]), 'suites must be a list of words'),
    (yaml.safe_dump([entry(probe='/abs')]), 'probe'),
])
def test_bad_proxies_are_refused_naming_the_problem(text, reason):
    with pytest.raises(proxies.Invalid) as err:
        proxies.parse(text)
    assert reason in str(err.value)
    assert reason in contexts.proxies_reason(text)


def test_path_and_url_are_normalised():
    parsed = proxies.parse(yaml.safe_dump([entry(path='/pypi', upstream='https://index.test')]))
    assert parsed[0]['path'] == '/pypi/' and parsed[0]['upstream'] == 'https://index.test/'
    assert proxies.parse('') == [] and proxies.parse('[]') == []


@pytest.mark.parametrize('value, size', [
    ('512M', 512 * 1024 ** 2), ('20G', 20 * 1024 ** 3), ('1.5G', int(1.5 * 1024 ** 3)),
    ('2GiB', 2 * 1024 ** 3), ('80%', 800), ('100%', 1000)])
def test_parse_size(value, size):
    assert proxies.parse_size(value, 1000) == size


@pytest.mark.parametrize('value', ['-1G', '0%', '101%', 'big', '', '10', 'x%'])
def test_bad_sizes(value):
    with pytest.raises(proxies.Invalid):
        proxies.parse_size(value, 1000)
    assert contexts.cache_size_reason(value)


def render(name, **context):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(CHARM / 'templates')),
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return env.get_template(name).render(context)


def site_context(configured):
    return dict(proxies=configured, port=80, address='10.0.0.5', cache_root='/srv/c/apache',
                cache_lock=paths.CACHE_LOCK, access_log=paths.ACCESS_LOG,
                error_log=paths.ERROR_LOG, ssl_proxy=True, static_mirrors=[], tls_port=None,
                tls_cert=paths.TLS_CERT, tls_key=paths.TLS_KEY)


def test_site_template():
    site = render('afs-mirror.conf.j2', **site_context(proxies.parse(default_proxies())))
    assert 'CacheRoot /srv/c/apache\n' in site
    assert 'CacheIgnoreCacheControl On' in site and 'CacheLock on' in site
    assert '%{cache-status}e' in site and 'CustomLog {} afsmirror'.format(paths.ACCESS_LOG) \
        in site
    assert 'ProxyPass /pypi-files/ https://files.pypi.example.invalid/ ' in site
    assert 'Substitute "s|https://files.pypi.example.invalid/|/pypi-files/|n"' in site
    assert 'Substitute "s|https://npm.example.invalid/|http://10.0.0.5/npm/|n"' in site
    assert 'ProxyPass /debian/ http://debian.example.invalid/debian/ ' in site
    assert site.count('CacheEnable disk') == 4
    assert 'CacheMaxExpire 3600' in site and 'CacheMaxExpire 600' in site
    # The files proxy comes before the index proxy, whose path it does not overlap.
    assert site.index('ProxyPass /pypi-files/') < site.index('ProxyPass /pypi/')


def test_cleaner_unit_template():
    unit = render('afs-mirror-htcacheclean.service.j2', htcacheclean='/usr/bin/htcacheclean',
                  interval=30, cache_root='/srv/c/apache', limit_k=2048, pidfile='/run/p.pid')
    assert 'ExecStart=/usr/bin/htcacheclean -d 30 -P /run/p.pid -n -t -p /srv/c/apache ' \
           '-l 2048K\n' in unit
    assert 'Type=forking' in unit


def test_mirror_info_shape():
    info = contexts.mirror_info(proxies.parse(default_proxies()), [], False)
    assert info['pypi'] == {'type': 'pypi', 'path': '/pypi/simple/'}
    assert info['npm'] == {'type': 'npm', 'path': '/npm/'}
    assert info['debian']['type'] == 'apt' and info['debian']['trusted'] is False
    assert info['debian']['components'] == ['main']


def test_health_checks_probe_each_proxy():
    apache = {'port': 80, 'proxies': proxies.parse(default_proxies()), 'tls_port': None,
              'static_mirrors': []}
    names = [c.name for c in services.health_checks(apache)]
    assert names == ['tcp 127.0.0.1:80', 'http http://127.0.0.1:80/pypi/simple/pip/',
                     'http http://127.0.0.1:80/npm/-/ping', 'http http://127.0.0.1:80/debian/']
    assert services.health_checks({}) == []


@pytest.fixture
def kv(tmp_path, monkeypatch):
    monkeypatch.setenv('UNIT_STATE_DB', str(tmp_path / 'state.db'))
    monkeypatch.setattr(unitdata, '_KV', None)
    yield unitdata.kv()
    unitdata._KV = None


@pytest.fixture
def fake_apache2ctl(tmp_path, monkeypatch):
    """An ``apache2ctl`` that refuses any config containing ``BAD``."""
    target = tmp_path / 'site.conf'
    script = tmp_path / 'apache2ctl'
    script.write_text(textwrap.dedent('''\
        #!/bin/sh
        if grep -q BAD {0}; then echo "AH00526: Syntax error on line 3 of {0}:"; \
echo "Invalid command 'BAD'"; exit 1; fi
        echo "Syntax OK"
        ''').format(target))
    script.chmod(0o755)
    monkeypatch.setattr(paths, 'APACHE2CTL', str(script))
    return target


class FakeTemplate(services.CheckedTemplate):
    text = ''

    def render(self, context):
        return self.text

    def context(self, manager, service_name):
        return {}


def test_refused_config_is_put_back(kv, fake_apache2ctl, monkeypatch):
    from charms.layer.stackyard import services as sy
    monkeypatch.setattr(sy, '_changed', {})
    import grp
    import pwd
    owner = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    tmpl = FakeTemplate('x.j2', str(fake_apache2ctl), owner=owner, group=group, perms=0o644)
    tmpl.text = 'good\n'
    tmpl(None, 'apache2', 'data_ready')
    assert fake_apache2ctl.read_text() == 'good\n'
    assert sy.changed_files('apache2') == [str(fake_apache2ctl)]
    assert services.rejected() is None
    assert stat.S_IMODE(fake_apache2ctl.stat().st_mode) == 0o644

    sy._changed.clear()
    tmpl.text = 'BAD\n'
    tmpl(None, 'apache2', 'data_ready')
    assert fake_apache2ctl.read_text() == 'good\n'
    assert sy.changed_files('apache2') == []
    assert services.rejected() == 'AH00526: Syntax error on line 3 of {}:'.format(
        fake_apache2ctl)
    from charms.layer.afs_mirror import checks
    state, message = checks.apache_config_check()
    assert state == 'blocked' and message.startswith(
        'Apache refused the new config (previous one kept): AH00526')

    tmpl.text = 'good\n'
    tmpl(None, 'apache2', 'data_ready')
    assert services.rejected() is None and checks.apache_config_check() is None
    assert sy.changed_files('apache2') == []


def test_refused_new_config_is_removed(kv, fake_apache2ctl):
    import grp
    import pwd
    tmpl = FakeTemplate('x.j2', str(fake_apache2ctl), owner=pwd.getpwuid(os.getuid()).pw_name,
                        group=grp.getgrgid(os.getgid()).gr_name, perms=0o644)
    tmpl.text = 'BAD\n'
    tmpl(None, 'apache2', 'data_ready')
    assert not fake_apache2ctl.exists()
    assert services.rejected()


LOG = [
    '10.0.0.9 - - [06/Dec/2026:14:00:00 +0000] "GET /pypi/simple/six/ HTTP/1.1" 200 900 5 '
    '"pip/23" "cache miss: attempting entity save"',
    '10.0.0.9 - - [06/Dec/2026:14:00:01 +0000] "GET /pypi-files/p/six.whl HTTP/1.1" 200 9000 '
    '5 "pip/23" "cache miss: attempting entity save"',
    '10.0.0.9 - - [06/Dec/2026:14:00:02 +0000] "GET /pypi/simple/six/ HTTP/1.1" 200 900 5 '
    '"pip/23" "cache hit"',
    '10.0.0.9 - - [06/Dec/2026:14:00:03 +0000] "GET /pypi-files/p/six.whl HTTP/1.1" 200 9000 '
    '5 "pip/23" "cache hit"',
    '10.0.0.9 - - [06/Dec/2026:14:00:04 +0000] "GET /npm/left-pad HTTP/1.1" 200 9 5 '
    '"npm/9" "conditional cache hit: entity refreshed"',
    '10.0.0.9 - - [06/Dec/2026:14:00:05 +0000] "GET /other HTTP/1.1" 404 9 5 "curl" "-"',
    'garbage',
]


def test_log_stats():
    configured = proxies.parse(default_proxies())
    stats = cache.log_stats(LOG, configured)
    assert stats['total'] == {'hit': 2, 'miss': 2, 'revalidated': 1}
    assert stats['pypi'] == {'hit': 2, 'miss': 2, 'revalidated': 0}
    assert stats['npm'] == {'hit': 0, 'miss': 0, 'revalidated': 1}
    assert cache.hit_ratio(stats['total']) == pytest.approx(0.6)
    assert cache.hit_ratio(stats['debian']) is None


def test_disk_usage_and_purge_all(tmp_path):
    (tmp_path / 'ab' / 'cd').mkdir(parents=True)
    (tmp_path / 'ab' / 'cd' / 'x.header').write_bytes(b'h' * 10)
    (tmp_path / 'ab' / 'cd' / 'x.data').write_bytes(b'd' * 100)
    (tmp_path / 'y.header').write_bytes(b'h' * 5)
    assert cache.disk_usage(str(tmp_path)) == (115, 2)
    assert cache.purge(str(tmp_path)) == 2
    assert list(tmp_path.iterdir()) == []


def test_purge_one_proxy_deletes_its_urls(tmp_path, monkeypatch):
    calls = tmp_path / 'calls'
    script = tmp_path / 'htcacheclean'
    script.write_text('#!/bin/sh\necho "$@" >> {}\n'
                      'if [ "$1" = -a ]; then echo http://10.0.0.5:80/pypi/simple/six/?; '
                      'echo http://10.0.0.5:80/npm/left-pad?; fi\n'.format(calls))
    script.chmod(0o755)
    monkeypatch.setattr(paths, 'HTCACHECLEAN', str(script))
    pypi = proxies.parse(default_proxies())[0]
    assert cache.purge('/srv/c', pypi) == 1
    assert calls.read_text().splitlines() == [
        '-a -p /srv/c', '-p /srv/c http://10.0.0.5:80/pypi/simple/six/?']
