"""Hook bootstrap: enter the charm's venv, building it from the wheelhouse first.

Standard library only: it runs before any dependency is importable.  The
venv (``$CHARM_DIR/.venv``, kept by Juju across upgrades) is rebuilt only when
the wheelhouse changes.  pip installs the charm's wheels with no index; the
layer option ``system-packages`` provides what a compiled wheel for another
Python cannot (the venv sees system site-packages).

The venv gets no pip of its own: pip runs once, from the wheel ensurepip
would have installed it from (:func:`pip_wheel`), with the venv's Python.
Measured in a yard machine (Debian 12, the probe's 12 wheels, host load
about 12, two runs): ``venv`` with ensurepip then pip 38-43 s wall, 8.4 s
CPU; without ensurepip 9-11 s, 4.5-5.1 s CPU; and ``--no-compile`` 4.8-5.6 s,
3.1 s CPU (the first hook compiles what it imports: 0.4 s more, once).
Every unit of a bundle builds one venv per charm at the same time, and a
subordinate's (hacluster) waits behind its principal's install.
"""

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig

VENV_DIR = '.venv'
MARKER = '.stackyard-wheelhouse'
DEFAULT_SYSTEM_PACKAGES = ('python3-venv', 'python3-yaml', 'python3-markupsafe')


class BootstrapError(Exception):
    """The venv could not be made; the message is the one line the operator sees."""


def charm_dir():
    """The charm's root: ``JUJU_CHARM_DIR``, else the parent of this file's ``lib``."""
    env = os.environ.get('JUJU_CHARM_DIR') or os.environ.get('CHARM_DIR')
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(here))))


def wheelhouse_signature(root):
    """A digest of the wheelhouse's file names and sizes (cheap enough for every hook).

    :param root: the charm directory
    :returns: hex digest, or '' when the charm has no wheelhouse
    """
    wheelhouse = os.path.join(root, 'wheelhouse')
    try:
        names = sorted(os.listdir(wheelhouse))
    except FileNotFoundError:
        return ''
    digest = hashlib.sha256()
    for name in names:
        if name.startswith('.'):
            continue
        size = os.stat(os.path.join(wheelhouse, name)).st_size
        digest.update('{}:{}\n'.format(name, size).encode())
    return digest.hexdigest()


def layer_option(root, name, default):
    """Read one option of this layer from the built charm's layer.yaml.

    The bootstrap cannot import yaml yet, so this reads the small subset of
    YAML that charm build writes for list options (``- item`` lines).
    """
    path = os.path.join(root, 'layer.yaml')
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return list(default)
    return _list_option(lines, name, default)


def _list_option(lines, name, default):
    in_layer = in_option = False
    items = None
    for line in lines:
        stripped = line.strip().replace('"', '').replace("'", '')
        indent = len(line) - len(line.lstrip())
        if indent <= 2 and stripped.startswith('stackyard:'):
            in_layer, in_option = True, False
            continue
        if in_layer and indent <= 2 and stripped and not stripped.startswith('-'):
            in_layer = False
        if in_layer and stripped.startswith(name + ':'):
            in_option = True
            rest = stripped[len(name) + 1:].strip()
            if rest.startswith('['):
                return [i.strip().strip('\'"') for i in rest.strip('[]').split(',') if i.strip()]
            items = []
            continue
        if in_option:
            if stripped.startswith('- '):
                items.append(stripped[2:].strip().strip('\'"'))
            elif stripped:
                in_option = False
    return items if items is not None else list(default)


def missing_packages(packages):
    """Those of ``packages`` dpkg does not report as installed."""
    if not packages:
        return []
    proc = subprocess.run(
        ['dpkg-query', '-W', '-f=${Package} ${db:Status-Status}\n'] + list(packages),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True)
    installed = {line.split()[0] for line in proc.stdout.splitlines()
                 if line.endswith(' installed')}
    return [p for p in packages if p not in installed]


def apt_install(packages):
    """Install Debian/Ubuntu packages, refreshing the package lists once on failure."""
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    cmd = ['apt-get', 'install', '-y', '-q', '--no-install-recommends'] + list(packages)
    if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode == 0:
        return
    subprocess.run(['apt-get', 'update', '-q'], env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    if proc.returncode != 0:
        raise BootstrapError('apt-get install {} failed: {}'.format(
            ' '.join(packages), _last_line(proc.stdout)))


def _last_line(text):
    lines = [line for line in (text or '').splitlines() if line.strip()]
    return lines[-1].strip() if lines else 'no output'


def _run(cmd, what):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    if proc.returncode != 0:
        raise BootstrapError('{} failed: {}'.format(what, _last_line(proc.stdout)))
    return proc.stdout


def pip_wheel():
    """The pip wheel ensurepip installs from, or None.

    Where ensurepip finds it: the distribution's wheel directory (Debian and
    Ubuntu: ``/usr/share/python-wheels``, from python3-venv; Python 3.11+
    names it in ``WHEEL_PKG_DIR``), else ensurepip's own ``_bundled``.
    """
    import ensurepip
    dirs = [sysconfig.get_config_var('WHEEL_PKG_DIR') or '', '/usr/share/python-wheels',
            os.path.join(os.path.dirname(ensurepip.__file__), '_bundled')]
    for folder in dirs:
        found = glob.glob(os.path.join(folder, 'pip-*.whl')) if folder else []
        if found:
            return max(found, key=_wheel_version)
    return None


def _wheel_version(path):
    version = os.path.basename(path).split('-')[1]
    return [int(p) if p.isdigit() else 0 for p in version.split('.')]


def build_venv(root, signature):
    """Make ``root/.venv`` from the wheelhouse alone, atomically.

    The venv is built in ``.venv.new`` and renamed into place only once pip
    installed every wheel, so a failure leaves the previous venv (or none)
    rather than a half-made one.
    """
    missing = missing_packages(layer_option(root, 'system-packages', DEFAULT_SYSTEM_PACKAGES))
    if missing:
        apt_install(missing)
    wheelhouse = os.path.join(root, 'wheelhouse')
    files = sorted(n for n in os.listdir(wheelhouse)
                   if not n.startswith('.')) if os.path.isdir(wheelhouse) else []
    sdists = [n for n in files if not n.endswith('.whl')]
    if sdists:
        raise BootstrapError('wheelhouse holds source packages ({}); build the charm '
                             'with binary wheels'.format(', '.join(sdists)))
    venv = os.path.join(root, VENV_DIR)
    staging = venv + '.new'
    shutil.rmtree(staging, ignore_errors=True)
    _run([sys.executable, '-m', 'venv', '--without-pip', '--system-site-packages', staging],
         'creating the venv')
    # --upgrade: the wheelhouse's version wins over an older system package;
    # a compiled wheel for another Python is passed over for the system's.
    names = sorted({n.split('-')[0] for n in files})
    if names:
        wheel = pip_wheel()
        if not wheel:
            raise BootstrapError('no pip wheel for the venv (python3-venv provides one)')
        # pip runs from its wheel (pip's __main__ supports it), as the venv's python.
        _run([os.path.join(staging, 'bin', 'python3'), os.path.join(wheel, 'pip'), 'install',
              '-q', '--no-compile', '--disable-pip-version-check', '--no-index',
              '--only-binary', ':all:', '--upgrade', '--find-links', wheelhouse] + names,
             'installing the wheelhouse (a system package may be missing)')
    with open(os.path.join(staging, MARKER), 'w') as f:
        json.dump({'signature': signature, 'wheels': files}, f)
    old = venv + '.old'
    shutil.rmtree(old, ignore_errors=True)
    if os.path.exists(venv):
        os.rename(venv, old)
    os.rename(staging, venv)
    shutil.rmtree(old, ignore_errors=True)


def venv_signature(venv):
    """The wheelhouse signature the venv was built from, or None."""
    try:
        with open(os.path.join(venv, MARKER)) as f:
            return json.load(f).get('signature')
    except (OSError, ValueError):
        return None


def ensure_venv(root):
    """Build the venv if it is missing or stale; return its python's path.

    :raises BootstrapError: with the one line to show the operator
    """
    venv = os.path.join(root, VENV_DIR)
    signature = wheelhouse_signature(root)
    if venv_signature(venv) != signature:
        build_venv(root, signature)
    return os.path.join(venv, 'bin', 'python3')


def enter_venv():
    """Re-exec the running hook under the venv's python (no-op once inside it)."""
    root = charm_dir()
    venv = os.path.realpath(os.path.join(root, VENV_DIR))
    if os.path.realpath(sys.prefix) == venv:
        return
    try:
        python = ensure_venv(root)
    except BootstrapError as e:
        fail(str(e))
    except OSError as e:
        fail('building the venv failed: {}'.format(e))
    os.execv(python, [python] + sys.argv)


def fail(message):
    """Report a bootstrap failure in one line (stderr and juju-log) and exit 1."""
    line = 'stackyard bootstrap: {}'.format(message)
    sys.stderr.write(line + '\n')
    try:
        subprocess.run(['juju-log', '-l', 'ERROR', line], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=10)
    except (OSError, subprocess.SubprocessError):
        pass
    sys.exit(1)
