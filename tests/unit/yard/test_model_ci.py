"""Under CI=true model tests never pass by skipping (model conftest, run-pytest-allow-empty)."""

import os
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "../../.."))
WRAPPER = os.path.join(REPO, "tools", "run-pytest-allow-empty")


def _run(args, ci):
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return subprocess.run(["bash", WRAPPER, "-q", "-p", "no:cacheprovider"] + args,
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_no_model_test_ran_fails_under_ci_only():
    args = ["-m", "model", "tests/model", "-k", "no_test_is_called_this"]
    assert _run(args, ci=False).returncode == 0
    proc = _run(args, ci=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "CI=true and no model test ran and passed" in proc.stderr


def test_an_empty_collection_fails_under_ci_only(tmp_path):
    (tmp_path / "conftest.py").write_text("")
    assert _run([str(tmp_path)], ci=False).returncode == 0
    proc = _run([str(tmp_path)], ci=True)
    assert proc.returncode == 1 and "CI=true: failing" in proc.stderr, proc.stderr
