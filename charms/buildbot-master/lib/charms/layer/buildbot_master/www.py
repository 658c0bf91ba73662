"""The web UI: buildbot-www, pinned by hash, in a venv over Debian's buildbot."""

import hashlib
import os
import subprocess

from charmhelpers.core import hookenv, unitdata

from charms.layer.buildbot_master import paths

STAMP = os.path.join(paths.VENV, '.buildbot-master-www')
# unitdata key: why the last install failed (None after a success).
FAILED_KEY = 'buildbot-master.www.failed'
# pip's own network timeout (s) and the whole install's bound: it runs in a hook.
PIP_TIMEOUT = 30
INSTALL_TIMEOUT = 240


def requirements_path():
    return os.path.join(hookenv.charm_dir(), 'files', paths.WWW_REQUIREMENTS)


def _digest():
    with open(requirements_path(), 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def installed():
    """True when the venv holds what ``files/www-requirements.txt`` pins."""
    try:
        with open(STAMP) as f:
            return f.read().strip() == _digest()
    except OSError:
        return False


def install():
    """Make the venv (system site-packages: Debian's buildbot) and pip install the pins.

    From the unit's configured package index, ``--no-deps --require-hashes``.
    On failure the reason is kept for the status (:func:`failure`) and the
    next hook tries again.

    :returns: True on success
    """
    try:
        if not os.path.exists(paths.PYTHON):
            subprocess.run(['python3', '-m', 'venv', '--system-site-packages', paths.VENV],
                           check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, timeout=120)
        subprocess.run([paths.PYTHON, '-m', 'pip', 'install', '-q', '--disable-pip-version-check',
                        '--no-deps', '--require-hashes', '--timeout', str(PIP_TIMEOUT),
                        '-r', requirements_path()],
                       check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=INSTALL_TIMEOUT)
    except subprocess.CalledProcessError as e:
        lines = [line for line in (e.output or '').splitlines() if line.strip()]
        return _failed(lines[-1] if lines else 'exit {}'.format(e.returncode))
    except subprocess.TimeoutExpired:
        return _failed('timed out after {} s'.format(INSTALL_TIMEOUT))
    with open(STAMP, 'w') as f:
        f.write(_digest())
    unitdata.kv().set(FAILED_KEY, None)
    hookenv.log('Installed buildbot-www in {}'.format(paths.VENV), level=hookenv.INFO)
    return True


def _failed(reason):
    hookenv.log('Installing buildbot-www failed: {}'.format(reason), level=hookenv.ERROR)
    unitdata.kv().set(FAILED_KEY, reason[:200])
    return False


def failure():
    """Why the last install failed, or None."""
    return unitdata.kv().get(FAILED_KEY)
