"""Fixtures for model tests: built test charms and a ``yard`` CLI runner per module.

Model tests deploy the built charms under ``build/`` with yard into LXD
machines and assert on what an operator sees: ``yard status``, ``show-unit``,
action results, and the hook logs the test charms write in their machines.

Each test module gets its own model (``t-<module>-<tag of YARD_HOME>``),
deployed once and shared by the module's tests (every container and hook
costs seconds), and destroyed at the end (kept when ``YARD_KEEP_MODELS`` is
set).  ``YARD_HOME`` comes from the environment or defaults to the
repo's ``.yard``; ``YARD_CLI`` may name the command to run (default: ``yard``
on PATH, else ``python3 -m yard`` from ``tools/yard``).
"""

import hashlib
import json
import os
import pathlib
import shlex
import shutil
import subprocess
import sys
import time

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = REPO / "build"
BUNDLES = pathlib.Path(__file__).resolve().parent / "bundles"
# Helpers shared with the unit tests (tests/headless.py: Chromium).
if str(REPO / "tests") not in sys.path:
    sys.path.append(str(REPO / "tests"))
TEST_CHARMS = ("yard-classic", "yard-ops", "yard-sub", "yard-secret-owner",
               "yard-secret-consumer", "yard-storage", "yard-resource")
WAIT_TIMEOUT = 600
# The first deploy on a fresh machine also sets LXD up and builds the image.
DEPLOY_TIMEOUT = int(os.environ.get("YARD_TEST_DEPLOY_TIMEOUT", "1500"))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "model: deploys built charms with yard into LXD machines (slow)")


def skip_or_fail(reason):
    """Skip, saying why; under ``CI=true`` fail instead: CI never passes by skipping."""
    print(("FAIL: " if _ci() else "SKIP: ") + reason, file=sys.stderr)
    if _ci():
        pytest.fail(reason + " (CI=true: model tests may not skip)", pytrace=False)
    pytest.skip(reason)


def _ci():
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def pytest_sessionfinish(session, exitstatus):
    """Under ``CI=true`` a run where no model test passed fails (none collected, all skipped)."""
    if not _ci() or exitstatus not in (0, 5):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    passed = len(reporter.stats.get("passed", [])) if reporter else 0
    if passed == 0:
        print("\nERROR: CI=true and no model test ran and passed", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_report_header(config):
    missing = [name for name in TEST_CHARMS if not (BUILD / name).is_dir()]
    if missing:
        return "model tests: not built: %s (run `make build`)" % ", ".join(
            "build/" + name for name in missing)
    return None


def yard_command():
    """The argv prefix that runs the yard CLI, and extra environment for it."""
    if os.environ.get("YARD_CLI"):
        return shlex.split(os.environ["YARD_CLI"]), {}
    found = shutil.which("yard")
    if found:
        return [found], {}
    pythonpath = os.pathsep.join(
        p for p in (str(REPO / "tools" / "yard"), os.environ.get("PYTHONPATH", "")) if p)
    return [sys.executable, "-m", "yard"], {"PYTHONPATH": pythonpath}


class Result:
    """What one CLI call returned."""

    def __init__(self, argv, proc):
        self.argv = argv
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    @property
    def output(self):
        return self.stdout + self.stderr

    def json(self):
        try:
            return json.loads(self.stdout)
        except ValueError as err:
            raise AssertionError("%s: stdout is not JSON (%s):\n%s"
                                 % (self.describe(), err, self.stdout)) from None

    def describe(self):
        return "`%s` exited %d" % (" ".join(self.argv), self.returncode)

    def report(self):
        return "%s\n--- stdout\n%s\n--- stderr\n%s" % (self.describe(), self.stdout, self.stderr)


def parse_record(line):
    """One hook-log line (``key=value`` tokens) as a dict."""
    record = {}
    for token in line.split():
        key, _, value = token.partition("=")
        record[key] = value
    return record


def until(predicate, timeout=180, interval=2, message="condition"):
    """Poll ``predicate`` until it returns a truthy value, which is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, message))
        time.sleep(interval)


class Yard:
    """Runs the yard CLI against one model and checks what comes back."""

    def __init__(self, model, home):
        self.model = model
        self.home = home
        self.prefix, extra_env = yard_command()
        self.env = dict(os.environ, YARD_HOME=str(home), **extra_env)

    def run(self, *args, check=True, timeout=300, stdin=None):
        """Run ``yard -m MODEL ARGS``; with ``check``, fail the test on a non-zero exit."""
        argv = self.prefix + ["-m", self.model] + [str(a) for a in args]
        try:
            proc = subprocess.run(argv, env=self.env, cwd=str(REPO), input=stdin, text=True,
                                  capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired as err:
            raise AssertionError("`%s` did not finish in %ss" % (" ".join(argv), timeout)) from err
        result = Result(argv, proc)
        if check and result.returncode != 0:
            raise AssertionError(result.report())
        return result

    __call__ = run

    until = staticmethod(until)

    def fails(self, *args, timeout=300):
        """Run a command that must be refused the way juju refuses: non-zero, ``ERROR ...``."""
        result = self.run(*args, check=False, timeout=timeout)
        assert result.returncode != 0, result.report()
        assert "ERROR " in result.stderr, result.report()
        assert "Traceback" not in result.output, result.report()
        return result

    def json(self, *args, timeout=300):
        return self.run(*args, "--format", "json", timeout=timeout).json()

    # model-level helpers

    def deploy_bundle(self, name, *extra):
        """Deploy ``bundles/<name>.yaml`` (skipping when a charm it needs is not built).

        Returns once the model has settled (``yard wait``), allowing for the
        provider's first-time set-up.
        """
        path = BUNDLES / (name + ".yaml")
        require_built(path)
        self.run("deploy", path, *extra, timeout=DEPLOY_TIMEOUT)
        self.wait(timeout=DEPLOY_TIMEOUT)

    def wait(self, timeout=WAIT_TIMEOUT, check=True):
        return self.run("wait", "--timeout", timeout, check=check, timeout=timeout + 120)

    def status(self):
        return self.json("status")

    def units(self, app):
        return self.status()["applications"][app].get("units") or {}

    def leader(self, app):
        leaders = [name for name, unit in self.units(app).items() if unit.get("leader")]
        assert len(leaders) == 1, "expected one leader of %s, got %s" % (app, leaders)
        return leaders[0]

    def exec(self, unit, script, timeout=120):
        """Run a shell script on the unit's machine (in a hook context); its stdout.

        As with ``juju exec --unit U -- "commands"``, the script is one
        argument that the unit's shell runs.
        """
        return self.run("exec", "--unit", unit, "--", script, timeout=timeout).stdout

    def hook_tool(self, unit, command):
        """Run hook tools via ``yard exec``; ``(exit code, output)`` of ``command``.

        The script always exits 0 so the code of the hook tool itself is what
        gets reported, whatever ``yard exec`` does with non-zero exits.
        """
        out = self.exec(unit, "%s 2>&1; echo \"rc=$?\"" % command)
        lines = out.rstrip("\n").split("\n")
        last = lines[-1]
        assert last.startswith("rc="), "unexpected exec output: %r" % out
        return int(last[3:]), "\n".join(lines[:-1])

    def hook_log(self, unit, charm, on=None):
        """The hook records ``charm`` wrote for ``unit`` on its machine, in order.

        :param on: read the log through this unit (same machine) instead, for
            a unit that is gone.
        """
        out = self.exec(on or unit, "cat /var/log/%s-hooks.log 2>/dev/null || true" % charm)
        records = [parse_record(line) for line in out.splitlines() if line.strip()]
        return [r for r in records if r.get("unit") == unit]

    def show_unit(self, unit):
        data = self.json("show-unit", unit)
        assert unit in data, "show-unit %s: %s" % (unit, data)
        return data[unit]

    def relation_info(self, unit, endpoint):
        """The ``relation-info`` entry of ``unit`` for ``endpoint`` (exactly one)."""
        infos = [r for r in self.show_unit(unit).get("relation-info", [])
                 if r.get("endpoint") == endpoint]
        assert len(infos) == 1, "relation-info of %s for %s: %s" % (unit, endpoint, infos)
        return infos[0]

    def run_action(self, target, action, *params, check=True):
        """``yard run TARGET ACTION k=v ... --format json``: (Result, task of the unit)."""
        result = self.run("run", target, action, *params, "--format", "json", check=check)
        try:
            parsed = json.loads(result.stdout) if result.stdout.strip() else {}
        except ValueError:
            parsed = {}
        tasks = list(parsed.values()) if isinstance(parsed, dict) else []
        return result, (tasks[0] if len(tasks) == 1 else parsed)

    def destroy(self):
        """``destroy-model`` (juju 3 spells it with ``--no-prompt``); the last Result."""
        result = None
        for args in (("destroy-model", "--no-prompt"), ("destroy-model",)):
            result = self.run(*args, check=False, timeout=600)
            if result.returncode == 0:
                break
        return result


def free_vip(model):
    """An address of the model's vip-range that nothing answers (yard's ``free_vip``)."""
    # Imported here: the unit suite collects this conftest without yard installed.
    from yard.provider import addresses
    return addresses.free_vip(model.run("model-config", "vip-range").stdout, model.model)


def secrets_shown(yard, owners, outputs, shortest=8):
    """Check no content of the secrets ``owners`` own (values of ``shortest`` characters or
    more) is in ``yard debug-log --replay``, ``status`` or any of ``outputs`` (action outputs).

    :returns: ``(values checked, debug-log lines)``, for the test to print
    """
    values = []
    for secret_id, meta in yard.json("secrets").items():
        if meta.get("owner") in owners:
            content = yard.json("show-secret", secret_id, "--reveal")[secret_id]["content"]
            values.extend(v for v in content.values() if len(v) >= shortest)
    log = yard.run("debug-log", "--replay", "--no-tail", timeout=600).stdout
    status = yard.run("status", "--format", "yaml").stdout
    for name, text in [("debug-log", log), ("status", status)] + [
            ("action output %d" % i, out) for i, out in enumerate(outputs)]:
        for value in values:
            assert value not in text, "a secret value of %s is in the %s" % (
                "/".join(owners), name)
    return values, len(log.splitlines())


def require_built(bundle_path):
    """Skip the test, saying why, when a charm the bundle deploys is not built."""
    bundle = yaml.safe_load(bundle_path.read_text())
    for app, spec in (bundle.get("applications") or {}).items():
        charm = (bundle_path.parent / spec["charm"]).resolve()
        if not charm.is_dir():
            skip_or_fail("%s is not built (needed by %s for %s); run `make build`" % (
                os.path.relpath(charm, REPO), bundle_path.name, app))


def _yard_available():
    prefix, extra_env = yard_command()
    try:
        proc = subprocess.run(prefix + ["--help"], env=dict(os.environ, **extra_env),
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        return False, str(err)
    return proc.returncode == 0, (proc.stderr or proc.stdout).strip()[-300:]


@pytest.fixture(scope="session")
def yard_home():
    return pathlib.Path(os.environ.get("YARD_HOME") or REPO / ".yard")


@pytest.fixture(scope="session")
def build_dir():
    """The folder of built charms; tests deploying one skip when it is missing."""
    return BUILD


@pytest.fixture(scope="session")
def yard_cli():
    ok, why = _yard_available()
    if not ok:
        skip_or_fail("the yard CLI does not run (`%s --help`): %s" % (
            " ".join(yard_command()[0]), why))
    return yard_command()[0]


@pytest.fixture(scope="module")
def yard(request, yard_cli, yard_home):
    """A :class:`Yard` on a fresh model named after the test module; destroyed after it."""
    stem = request.module.__name__.rpartition(".")[2]
    # LXD instance names are host-wide: a tag of YARD_HOME keeps two homes apart.
    tag = hashlib.sha1(str(yard_home).encode()).hexdigest()[:4]
    name = stem.replace("test_model_", "", 1).replace("test_", "", 1).replace("_", "-")
    model = "t-%s-%s" % (name, tag)
    runner = Yard(model, yard_home)
    runner.destroy()  # a model left over by an interrupted run
    yield runner
    if os.environ.get("YARD_KEEP_MODELS"):
        print("keeping model %s (YARD_KEEP_MODELS is set)" % model, file=sys.stderr)
        return
    result = runner.destroy()
    if result.returncode != 0:
        print("destroy-model %s failed:\n%s" % (model, result.report()), file=sys.stderr)
