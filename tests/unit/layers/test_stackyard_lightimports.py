"""lightimports: distutils and pkg_resources for charmhelpers/charms.reactive, minus setuptools.

Each case runs in a fresh interpreter: the point is what gets imported.
"""

import os
import subprocess
import sys
import textwrap

import pytest

LIB = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'layers', 'stackyard', 'lib')


def run(code, tmp_path, extra_path=()):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.abspath(LIB)] + list(extra_path)))
    proc = subprocess.run([sys.executable, '-c', textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


@pytest.fixture(autouse=True)
def need_setuptools():
    import importlib.machinery
    if importlib.machinery.PathFinder.find_spec('setuptools') is None:
        pytest.skip('setuptools is not installed here')


def test_hookenv_imports_without_setuptools(tmp_path):
    out = run('''
        import sys
        from charms.layer.stackyard import lightimports
        lightimports.install()
        from charmhelpers.core import hookenv
        from distutils.version import LooseVersion
        print('setuptools' in sys.modules, LooseVersion('1.2') < LooseVersion('1.10'))
        print('_distutils' in sys.modules['distutils.version'].__file__)
    ''', tmp_path)
    assert out == ['False', 'True', 'True']


def test_without_it_setuptools_is_imported(tmp_path):
    # The cost lightimports avoids is real: the same import pulls setuptools in.
    out = run('''
        import sys
        from charmhelpers.core import hookenv
        print('setuptools' in sys.modules)
    ''', tmp_path)
    assert out == ['True']


def test_entry_points_found_without_pkg_resources(tmp_path):
    site = tmp_path / 'site'
    info = site / 'demo_plugin-1.0.dist-info'
    info.mkdir(parents=True)
    (info / 'METADATA').write_text('Metadata-Version: 2.1\nName: demo-plugin\nVersion: 1.0\n')
    (info / 'entry_points.txt').write_text('[demo.group]\nhello = demo_plugin:VALUE\n')
    (site / 'demo_plugin.py').write_text('VALUE = 42\n')
    out = run('''
        import sys
        from charms.layer.stackyard import lightimports
        lightimports.install()
        from pkg_resources import iter_entry_points
        print([(e.name, e.load()) for e in iter_entry_points('demo.group')])
        print(list(iter_entry_points('demo.group', 'other')), list(iter_entry_points('none')))
        print('setuptools' in sys.modules)
    ''', tmp_path, [str(site)])
    assert out == ["[('hello',", '42)]', '[]', '[]', 'False']


def test_anything_else_brings_the_real_pkg_resources(tmp_path):
    out = run('''
        import sys
        from charms.layer.stackyard import lightimports
        lightimports.install()
        import pkg_resources
        stand_in = pkg_resources
        print(callable(pkg_resources.parse_version))
        print(sys.modules['pkg_resources'] is not stand_in, hasattr(sys.modules['pkg_resources'],
                                                                      'working_set'))
    ''', tmp_path)
    assert out == ['True', 'True', 'True']


def test_nothing_replaced_once_imported(tmp_path):
    out = run('''
        import sys
        import distutils.version, pkg_resources
        from charms.layer.stackyard import lightimports
        print(lightimports.distutils_without_setuptools(),
              lightimports.entry_points_without_pkg_resources())
    ''', tmp_path)
    assert out == ['False', 'False']
