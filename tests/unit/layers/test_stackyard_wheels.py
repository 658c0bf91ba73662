"""wheels: the wheelhouse unpacked into a venv without pip, and its requirements checked."""

import os
import subprocess
import sys
import zipfile

import pytest

from charms.layer.stackyard import wheels


def make_wheel(folder, name, version='1.0', files=None, requires=(), entry_points=''):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, '{}-{}-py3-none-any.whl'.format(name, version))
    info = '{}-{}.dist-info'.format(name, version)
    meta = 'Metadata-Version: 2.1\nName: {}\nVersion: {}\n'.format(name, version)
    meta += ''.join('Requires-Dist: {}\n'.format(r) for r in requires)
    with zipfile.ZipFile(path, 'w') as z:
        for member, body in (files or {name + '.py': 'VALUE = 1\n'}).items():
            z.writestr(member, body)
        z.writestr(info + '/METADATA', meta)
        z.writestr(info + '/WHEEL', 'Wheel-Version: 1.0\nRoot-Is-Purelib: true\n')
        if entry_points:
            z.writestr(info + '/entry_points.txt', entry_points)
        z.writestr(info + '/RECORD', '')
    return path


@pytest.fixture
def venv(tmp_path):
    path = str(tmp_path / 'venv')
    subprocess.check_call([sys.executable, '-m', 'venv', '--without-pip', path])
    return path


def run(venv, *argv):
    return subprocess.run([os.path.join(venv, 'bin', 'python3')] + list(argv),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)


def test_unpacks_modules_data_scripts_and_entry_points(venv, tmp_path):
    wheel = make_wheel(str(tmp_path / 'wh'), 'tool', files={
        'tool/__init__.py': 'def main():\n    print("tool main")\n',
        'tool-1.0.data/scripts/tool-sh': '#!python\nimport tool\ntool.main()\n',
        'tool-1.0.data/purelib/extra_mod.py': 'X = 2\n',
    }, entry_points='[console_scripts]\ntool = tool:main\n[other]\nx = y:z\n')
    assert wheels.install(wheel, venv) == 'tool-1.0.dist-info'
    assert run(venv, '-c', 'import tool, extra_mod; print(extra_mod.X)').stdout == '2\n'
    out = subprocess.check_output([os.path.join(venv, 'bin', 'tool')], universal_newlines=True)
    assert out == 'tool main\n'
    out = subprocess.check_output([os.path.join(venv, 'bin', 'tool-sh')], universal_newlines=True)
    assert out == 'tool main\n'
    assert not os.path.exists(os.path.join(venv, 'bin', 'x'))
    with open(os.path.join(wheels.site_packages(venv), 'tool-1.0.dist-info', 'INSTALLER')) as f:
        assert f.read() == 'stackyard\n'


@pytest.mark.parametrize('member', ['../escape.py', '/etc/evil.py'])
def test_paths_outside_the_venv_are_refused(venv, tmp_path, member):
    wheel = make_wheel(str(tmp_path / 'wh'), 'bad', files={member: 'x = 1\n'})
    with pytest.raises(wheels.WheelError, match='unsafe path'):
        wheels.install(wheel, venv)


def test_not_a_wheel(venv, tmp_path):
    path = tmp_path / 'junk-1.0-py3-none-any.whl'
    path.write_bytes(b'no zip here')
    with pytest.raises(wheels.WheelError, match='junk-1.0-py3-none-any.whl'):
        wheels.install(str(path), venv)


def test_check_passes_when_requirements_are_met(venv, tmp_path):
    infos = [wheels.install(make_wheel(str(tmp_path / 'wh'), 'base', version='2.1'), venv),
             wheels.install(make_wheel(str(tmp_path / 'wh'), 'app', requires=[
                 'base>=2.0', 'missing-extra; extra == "speed"',
                 'never; python_version < "3"']), venv)]
    assert wheels.check(venv, infos) == ''


def test_check_names_what_is_missing_or_too_old(venv, tmp_path):
    infos = [wheels.install(make_wheel(str(tmp_path / 'wh'), 'base', version='1.0'), venv),
             wheels.install(make_wheel(str(tmp_path / 'wh'), 'app', requires=[
                 'base>=2.0', 'gone-pkg']), venv)]
    problem = wheels.check(venv, infos)
    if wheels.pip_wheel() is None:
        pytest.skip('no pip wheel for packaging here: only names are checked')
    assert problem == ('app requires base>=2.0, but 1.0 is installed; '
                       'app requires gone-pkg, which is not installed')
