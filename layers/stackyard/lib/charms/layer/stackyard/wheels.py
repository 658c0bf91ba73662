"""Install the charm's wheels into its venv, and check they are complete (stdlib only).

The bootstrap used to make the venv with pip in it, then run pip twice
(install, check): about 4 s of CPU per unit, mostly pip starting up, paid by
every unit of a deployment at once.  A wheel is a zip file laid out for
unpacking (PEP 427), and the charm's wheelhouse holds binary wheels only, so
unpacking them here takes a fraction of a second.

The check looks at the wheelhouse's own distributions only: each one's
``Requires-Dist`` must be met by something the venv can import (its own
packages or the system's).  It runs under the venv's python, and evaluates
markers and versions with ``packaging`` where one is at hand (installed, or
inside the pip wheel that python3-venv brings); without it only unmarked
requirements are checked, by name.
"""

import glob
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile


class WheelError(Exception):
    """A wheel could not be installed; the message names it and why."""


def site_packages(venv):
    """The venv's site-packages (the venv was made by this same interpreter)."""
    return os.path.join(venv, 'lib', 'python{}.{}'.format(*sys.version_info[:2]),
                        'site-packages')


def _safe_join(base, name):
    """``base/name``, refusing names that would land outside ``base``."""
    if name.startswith('/') or '..' in name.split('/'):
        raise WheelError('unsafe path in wheel: {}'.format(name))
    return os.path.join(base, *name.split('/'))


def _dist_info(names):
    found = {n.split('/', 1)[0] for n in names if re.match(r'[^/]+\.dist-info/', n)}
    if len(found) != 1:
        raise WheelError('expected one .dist-info folder, found {}'.format(len(found)))
    return found.pop()


def _targets(venv, data_dir):
    """Where each ``<name>.data/<kind>/`` of a wheel goes in the venv."""
    site = site_packages(venv)
    name = data_dir[:-len('.data')].rsplit('-', 1)[0]
    return {'purelib': site, 'platlib': site, 'scripts': os.path.join(venv, 'bin'),
            'data': venv,
            'headers': os.path.join(venv, 'include', 'site',
                                    'python{}.{}'.format(*sys.version_info[:2]), name)}


def _destination(venv, name, data_dir):
    if data_dir and name.startswith(data_dir + '/'):
        parts = name.split('/', 2)
        if len(parts) < 3 or not parts[2]:
            return None
        kind, rest = parts[1], parts[2]
        targets = _targets(venv, data_dir)
        if kind not in targets:
            raise WheelError('unknown .data folder {}'.format(kind))
        return _safe_join(targets[kind], rest), kind == 'scripts'
    return _safe_join(site_packages(venv), name), False


def _write_member(zf, info, path, script, python):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = zf.read(info)
    if script and data.startswith(b'#!python'):
        data = b'#!' + python.encode() + data[len(b'#!python'):]
    with open(path, 'wb') as f:
        f.write(data)
    mode = (info.external_attr >> 16) & 0o777
    if script or mode & stat.S_IXUSR:
        os.chmod(path, 0o755)


def install(wheel, venv):
    """Unpack one wheel into ``venv``.

    :raises WheelError: not a zip, no single .dist-info, or unsafe paths
    """
    python = os.path.join(venv, 'bin', 'python3')
    try:
        zf = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as e:
        raise WheelError('{}: {}'.format(os.path.basename(wheel), e)) from None
    with zf:
        names = [i.filename for i in zf.infolist() if not i.filename.endswith('/')]
        info_dir = _dist_info(names)
        data_dir = info_dir[:-len('.dist-info')] + '.data'
        for info in zf.infolist():
            if info.filename.endswith('/'):
                continue
            dest = _destination(venv, info.filename, data_dir)
            if dest is not None:
                _write_member(zf, info, dest[0], dest[1], python)
    meta = os.path.join(site_packages(venv), info_dir)
    with open(os.path.join(meta, 'INSTALLER'), 'w') as f:
        f.write('stackyard\n')
    _console_scripts(meta, venv)
    return info_dir


def _console_scripts(meta, venv):
    """Write bin/ wrappers for the wheel's console and GUI entry points."""
    try:
        with open(os.path.join(meta, 'entry_points.txt')) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return
    section = None
    for line in lines:
        line = line.strip()
        if line.startswith('['):
            section = line.strip('[]').strip()
        elif '=' in line and section in ('console_scripts', 'gui_scripts'):
            name, target = (x.strip() for x in line.split('=', 1))
            module, _, func = target.split('[')[0].strip().partition(':')
            path = _safe_join(os.path.join(venv, 'bin'), name)
            with open(path, 'w') as f:
                f.write('#!{}\nimport sys\nfrom {} import {}\nsys.exit({}())\n'.format(
                    os.path.join(venv, 'bin', 'python3'), module.strip(),
                    func.split('.')[0].strip(), func.strip()))
            os.chmod(path, 0o755)


def pip_wheel():
    """The pip wheel python3-venv installs (for its ``packaging``), or None."""
    found = sorted(glob.glob('/usr/share/python-wheels/pip-*.whl'))
    return found[-1] if found else None


# Runs under the venv's python: argv = dist-info folder names of the wheelhouse.
CHECK = r'''
import re
import sys
from importlib import metadata
try:
    from packaging.requirements import Requirement
except ImportError:
    try:
        from pip._vendor.packaging.requirements import Requirement
    except ImportError:
        Requirement = None
problems = []
for info in sys.argv[1:]:
    dist = metadata.Distribution.at(info)
    for text in dist.requires or []:
        if Requirement is not None:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({'extra': ''}):
                continue
            name, spec = req.name, req.specifier
        elif ';' in text:
            continue
        else:
            name, spec = re.match(r'[A-Za-z0-9][A-Za-z0-9._-]*', text.strip()).group(0), None
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            problems.append('{} requires {}, which is not installed'.format(
                dist.metadata['Name'], name))
            continue
        if spec is not None and not spec.contains(version, prereleases=True):
            problems.append('{} requires {}, but {} is installed'.format(
                dist.metadata['Name'], text.split(';')[0].strip(), version))
if problems:
    print('; '.join(problems))
    sys.exit(1)
'''


def check(venv, info_dirs):
    """Every wheelhouse distribution's requirements are importable in the venv.

    :returns: '' when complete, else the problems in one line
    """
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)
    wheel = pip_wheel()
    if wheel:
        env['PYTHONPATH'] = wheel  # for pip's packaging only; pip itself is not run
    site = site_packages(venv)
    proc = subprocess.run([os.path.join(venv, 'bin', 'python3'), '-c', CHECK] +
                          [os.path.join(site, d) for d in info_dirs],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, env=env)
    if proc.returncode == 0:
        return ''
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    return lines[-1] if lines else 'exit code {}'.format(proc.returncode)


def remove(venv):
    shutil.rmtree(venv, ignore_errors=True)
