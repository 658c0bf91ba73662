"""Bootstrap: the venv comes from the wheelhouse alone, once, atomically."""

import os
import subprocess
import sys
import zipfile

import pytest

from charms.layer.stackyard import bootstrap

TEMPLATE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'layers', 'stackyard',
                        'hooks', 'hook.template')


def write_hook(charm, name):
    """``hooks/<name>`` as charm build writes it, with the Python entry it runs."""
    import shutil
    (charm / 'hooks').mkdir()
    hook = charm / 'hooks' / name
    hook.write_text(open(TEMPLATE).read().format(name))
    hook.chmod(0o755)
    shutil.copy(os.path.join(os.path.dirname(TEMPLATE), 'stackyard-hook.py'),
                str(charm / 'hooks'))
    lib = os.path.join(os.path.dirname(bootstrap.__file__), '..', '..', '..')
    os.symlink(os.path.abspath(lib), str(charm / 'lib'))
    return hook


def make_wheel(wheelhouse, name='sypkg', version='1.0', body='VALUE = 1\n'):
    """Write a tiny pure wheel by hand (no network, no build tools)."""
    os.makedirs(wheelhouse, exist_ok=True)
    path = os.path.join(wheelhouse, '{}-{}-py3-none-any.whl'.format(name, version))
    info = '{}-{}.dist-info'.format(name, version)
    with zipfile.ZipFile(path, 'w') as z:
        z.writestr('{}.py'.format(name), body)
        z.writestr(info + '/METADATA',
                   'Metadata-Version: 2.1\nName: {}\nVersion: {}\n'.format(name, version))
        z.writestr(info + '/WHEEL', 'Wheel-Version: 1.0\nGenerator: test\n'
                   'Root-Is-Purelib: true\nTag: py3-none-any\n')
        z.writestr(info + '/RECORD', '')
    return path


@pytest.fixture
def charm(tmp_path, monkeypatch):
    root = tmp_path / 'charm'
    root.mkdir()
    # No system packages: the test host has python3-venv's equivalent already.
    (root / 'layer.yaml').write_text('"options":\n  "stackyard":\n    "system-packages": []\n')
    make_wheel(str(root / 'wheelhouse'))
    # Any attempt to reach an index fails loudly.
    monkeypatch.setenv('PIP_INDEX_URL', 'http://127.0.0.1:9/simple')
    monkeypatch.setenv('PIP_FIND_LINKS', '')
    return root


def venv_python(root):
    return str(root / '.venv' / 'bin' / 'python3')


def test_venv_from_wheelhouse_only(charm):
    python = bootstrap.ensure_venv(str(charm))
    assert python == venv_python(charm)
    out = subprocess.check_output([python, '-c', 'import sypkg; print(sypkg.VALUE)'])
    assert out.strip() == b'1'
    assert not (charm / '.venv.new').exists()


def test_second_call_reuses_the_venv(charm, monkeypatch):
    bootstrap.ensure_venv(str(charm))

    def no_rebuild(*a):
        raise AssertionError('venv rebuilt although the wheelhouse did not change')
    monkeypatch.setattr(bootstrap, 'build_venv', no_rebuild)
    assert bootstrap.ensure_venv(str(charm)) == venv_python(charm)


def test_changed_wheelhouse_rebuilds(charm):
    bootstrap.ensure_venv(str(charm))
    os.remove(str(charm / 'wheelhouse' / 'sypkg-1.0-py3-none-any.whl'))
    make_wheel(str(charm / 'wheelhouse'), version='2.0', body='VALUE = 2\n')
    python = bootstrap.ensure_venv(str(charm))
    out = subprocess.check_output([python, '-c', 'import sypkg; print(sypkg.VALUE)'])
    assert out.strip() == b'2'


def test_failed_install_keeps_the_old_venv(charm):
    bootstrap.ensure_venv(str(charm))
    with open(str(charm / 'wheelhouse' / 'broken-1.0-py3-none-any.whl'), 'wb') as f:
        f.write(b'not a zip')
    with pytest.raises(bootstrap.BootstrapError, match='installing the wheelhouse'):
        bootstrap.ensure_venv(str(charm))
    out = subprocess.check_output([venv_python(charm), '-c', 'import sypkg; print(sypkg.VALUE)'])
    assert out.strip() == b'1'


def test_source_packages_are_refused_with_one_line(charm):
    (charm / 'wheelhouse' / 'thing-1.0.tar.gz').write_bytes(b'')
    with pytest.raises(bootstrap.BootstrapError, match='source packages'):
        bootstrap.ensure_venv(str(charm))


def test_hook_fails_with_one_clear_line(charm, tmp_path):
    """The real hook template: a bootstrap failure is one stderr line and exit 1."""
    hook = write_hook(charm, 'install')
    (charm / 'wheelhouse' / 'thing-1.0.tar.gz').write_bytes(b'')
    env = dict(os.environ, JUJU_CHARM_DIR=str(charm), PATH='/usr/bin:/bin')
    env.pop('JUJU_HOOK_NAME', None)     # the shell part names it after the file
    proc = subprocess.run([str(hook)], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        'stackyard bootstrap: wheelhouse holds source packages (thing-1.0.tar.gz); '
        'build the charm with binary wheels']


def test_the_hook_under_the_venv_does_not_try_the_fast_path_again(charm, tmp_path):
    """The fast path runs once per hook: not again after the re-exec into the venv."""
    hook = write_hook(charm, 'update-status')
    # A state whose checks are not a list: the fast path raises, says so, and
    # the hook goes on into the venv (which lacks the charm's packages, so
    # the full hook fails there: only the fast path's lines matter here).
    from charms.layer.stackyard import idle
    (charm / '.stackyard-state').write_text(
        '{0} -\n{{"version": {0}, "eligible": true, "checks": 5}}\n'.format(idle.VERSION))
    env = dict(os.environ, JUJU_CHARM_DIR=str(charm), PATH='/usr/bin:/bin',
               JUJU_HOOK_NAME='update-status')
    proc = subprocess.run([str(hook)], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)
    assert (charm / '.venv').is_dir(), proc.stderr
    assert proc.stderr.count('idle fast path skipped') == 1, proc.stderr


def test_a_compiled_wheel_for_another_python_gives_way_to_the_systems(charm):
    """As python3-yaml stands in for a PyYAML wheel built for another Python."""
    pytest.importorskip('yaml')
    make_wheel(str(charm / 'wheelhouse'), name='PyYAML', version='99.0')
    os.rename(str(charm / 'wheelhouse' / 'PyYAML-99.0-py3-none-any.whl'),
              str(charm / 'wheelhouse' / 'PyYAML-99.0-cp399-cp399-manylinux2014_x86_64.whl'))
    python = bootstrap.ensure_venv(str(charm))
    subprocess.check_call([python, '-c', 'import yaml, sypkg'])


def test_layer_option_reads_what_charm_build_writes(tmp_path):
    (tmp_path / 'layer.yaml').write_text(
        '"options":\n  "stackyard":\n    "system-packages": ["python3-venv", "python3-yaml"]\n'
        '    "packages": []\n  "other": {}\n')
    assert bootstrap.layer_option(str(tmp_path), 'system-packages', ()) == [
        'python3-venv', 'python3-yaml']
    (tmp_path / 'layer.yaml').write_text(
        'options:\n  stackyard:\n    system-packages:\n    - a\n    - b\n')
    assert bootstrap.layer_option(str(tmp_path), 'system-packages', ()) == ['a', 'b']
    assert bootstrap.layer_option(str(tmp_path), 'missing', ('x',)) == ['x']


def test_bootstrap_imports_with_the_standard_library_only(tmp_path):
    """The hook imports the bootstrap before any dependency exists: check with -S -I."""
    lib = os.path.abspath(os.path.join(os.path.dirname(bootstrap.__file__), '..', '..', '..'))
    code = ('import sys; sys.path.insert(0, {!r}); '
            'from charms.layer.stackyard import bootstrap, idle; '
            'print(sorted(m for m in sys.modules if m.split(".")[0] in '
            '("yaml", "charmhelpers", "jinja2")))').format(lib)
    out = subprocess.check_output([sys.executable, '-S', '-I', '-c', code],
                                  universal_newlines=True)
    assert out.strip() == '[]'


def test_the_venv_gets_no_pip_of_its_own(charm):
    """pip ran from ensurepip's wheel (the speed-up): the venv holds the wheelhouse only."""
    bootstrap.ensure_venv(str(charm))
    assert not (charm / '.venv' / 'bin' / 'pip').exists()
    proc = subprocess.run([venv_python(charm), '-c', 'import sys, sypkg; print(sys.prefix)'],
                          stdout=subprocess.PIPE, universal_newlines=True, check=True)
    assert proc.stdout.strip() == str(charm / '.venv')


def test_pip_wheel_is_the_newest_where_ensurepip_looks(tmp_path, monkeypatch):
    import sysconfig
    for name in ('pip-9.0.1-py3-none-any.whl', 'pip-23.0.1-py3-none-any.whl',
                 'pip-23.0-py3-none-any.whl', 'setuptools-99.0-py3-none-any.whl'):
        (tmp_path / name).write_bytes(b'')
    monkeypatch.setattr(sysconfig, 'get_config_var',
                        lambda name: str(tmp_path) if name == 'WHEEL_PKG_DIR' else None)
    assert bootstrap.pip_wheel() == str(tmp_path / 'pip-23.0.1-py3-none-any.whl')


def test_no_pip_wheel_is_one_clear_line(charm, monkeypatch):
    monkeypatch.setattr(bootstrap, 'pip_wheel', lambda: None)
    with pytest.raises(bootstrap.BootstrapError, match='no pip wheel for the venv'):
        bootstrap.ensure_venv(str(charm))
    assert not (charm / '.venv').exists()
