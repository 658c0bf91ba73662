"""ci-worker next to afs-mirror on real machines: mirror config, git cache, disk watchdog.

afs-mirror (upstreams read from this host's package clients, as its own
model test does) and one ci-worker with a small `workspace` volume.  In
order: the worker related to the mirror writes pip, npm and apt config and
the mirror-info for jobs, and a real `pip download` and `apt-get update` go
through the mirror; a bare repository on the worker gets a commit and
`refresh-git-cache` shows it, and a clone with `--reference` uses the cache;
the workspace filled past `min-free-disk` blocks the unit with the figures
and takes the agent offline, `cleanup` brings it back; a bad option blocks
naming it; removing the mirror relation removes the config.
"""

import json

import pytest
import yaml

from conftest import DEPLOY_TIMEOUT, skip_or_fail, until
from test_model_afs_mirror import proxies_value

pytestmark = pytest.mark.model

MIRROR, WORKER, UNIT = "mirror", "worker", "worker/0"
WORKSPACE = "/srv/ci-worker/workspace"
REPO = "/srv/src/demo.git"
CACHED = "/var/cache/ci-worker/git/local/srv/src/demo.git"
MIRROR_FILES = ("/etc/pip.conf", "/etc/npmrc", "/etc/apt/sources.list.d/ci-mirror.list",
                "/etc/ci-mirror-info.yaml", "/etc/ci-mirror-info.sh")
PACKAGE, WHEEL = "six==1.16.0", "six-1.16.0-py2.py3-none-any.whl"


@pytest.fixture(scope="module")
def model(yard, build_dir, tmp_path_factory):
    for charm in ("afs-mirror", "ci-worker"):
        if not (build_dir / charm).is_dir():
            skip_or_fail("build/%s is not built; run `make build`" % charm)
    folder = tmp_path_factory.mktemp("ci")
    configs = {MIRROR: {"proxies": proxies_value(), "restart-health-timeout": 60},
               WORKER: {"min-free-disk": "40M", "restart-health-timeout": 60}}
    for app, values in configs.items():
        (folder / app).write_text(yaml.safe_dump({app: values}))
    yard.run("model-config", "update-status-hook-interval=20s")
    yard.run("deploy", build_dir / "afs-mirror", MIRROR, "--config", folder / MIRROR,
             timeout=DEPLOY_TIMEOUT)
    yard.run("deploy", build_dir / "ci-worker", WORKER, "--storage", "workspace=128M",
             "--config", folder / WORKER, timeout=DEPLOY_TIMEOUT)
    yard.run("relate", WORKER + ":mirror", MIRROR + ":mirror")
    yard.wait(timeout=DEPLOY_TIMEOUT)
    return yard


def status(yard):
    return yard.units(WORKER)[UNIT]["workload-status"]


def mirror_address(yard):
    return yard.units(MIRROR)["mirror/0"]["public-address"]


def test_active_with_the_mirror_config(model):
    st = status(model)
    assert st["current"] == "active" and "mirror configured" in st["message"], st
    address = mirror_address(model)
    pip_conf = model.exec(UNIT, "cat /etc/pip.conf")
    assert "index-url = http://%s/pypi/simple/" % address in pip_conf, pip_conf
    assert "registry=http://%s/npm/" % address in model.exec(UNIT, "cat /etc/npmrc")
    sources = model.exec(UNIT, "cat /etc/apt/sources.list.d/ci-mirror.list")
    assert "deb http://%s/debian/ " % address in sources, sources
    info = yaml.safe_load(model.exec(UNIT, "cat /etc/ci-mirror-info.yaml"))
    assert info["mirrors"]["pypi"]["url"] == "http://%s/pypi/simple/" % address, info
    env = model.exec(UNIT, ". /etc/ci-worker-env.sh; echo $PIP_INDEX_URL $CI_GIT_CACHE")
    assert env.split() == ["http://%s/pypi/simple/" % address,
                           "/var/cache/ci-worker/git"], env


def test_pip_and_apt_go_through_the_mirror(model):
    out = model.exec(UNIT, (
        "set -e; python3 -m venv /tmp/pipvenv; rm -rf /tmp/dl; "
        "/tmp/pipvenv/bin/pip download -q --no-cache-dir --no-deps "
        "--disable-pip-version-check -d /tmp/dl '%s'; ls /tmp/dl") % PACKAGE, timeout=300)
    assert WHEEL in out, out
    log = model.exec("mirror/0", "grep -F -- '%s' /var/log/apache2/afs-mirror-access.log" % WHEEL)
    assert "/pypi-files/" in log, log
    # apt with only the mirror's sources list: its indexes come through the mirror.
    out = model.exec(UNIT, (
        "mkdir -p /tmp/ci-lists/partial; "
        "apt-get -q -o Dir::Etc::SourceList=/etc/apt/sources.list.d/ci-mirror.list "
        "-o Dir::Etc::SourceParts=/nonexistent -o Dir::State::Lists=/tmp/ci-lists "
        "update 2>&1"), timeout=300)
    assert "http://%s/debian" % mirror_address(model) in out, out
    assert "Err:" not in out, out


def as_ci(model, script):
    """Run ``script`` on the worker as the ci user (who owns the repository)."""
    env = ("export HOME=/tmp/ci-home GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t "
           "GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t; mkdir -p $HOME; set -e; ")
    return model.exec(UNIT, "runuser -u ci -- sh -c '%s'" % (env + script)).strip()


def test_git_cache_refresh_shows_a_new_commit(model):
    model.exec(UNIT, "rm -rf /srv/src /tmp/ci-src; mkdir -p /srv/src; chown ci:ci /srv/src")
    head = as_ci(model, (
        "git init -q --bare -b main %(repo)s; git init -q -b main /tmp/ci-src; "
        "cd /tmp/ci-src; echo one > f; git add f; git commit -qm one; "
        "git push -q %(repo)s main; git rev-parse HEAD") % {"repo": REPO})
    model.run("config", WORKER, "git-cache-repos=- %s" % REPO)
    model.wait()
    _, task = model.run_action(UNIT, "refresh-git-cache")
    assert task.get("status") == "completed", task
    assert json.loads(task["results"]["heads"]) == {REPO: head}, task
    second = as_ci(model, "cd /tmp/ci-src; echo two > f; git commit -qam two; "
                          "git push -q %s main; git rev-parse HEAD" % REPO)
    cached = model.exec(UNIT, "git --git-dir %s rev-parse HEAD" % CACHED).strip()
    assert cached == head != second
    _, task = model.run_action(UNIT, "refresh-git-cache")
    assert json.loads(task["results"]["heads"]) == {REPO: second}, task
    assert model.exec(UNIT, "git --git-dir %s rev-parse HEAD" % CACHED).strip() == second
    # A job clones with --reference: objects come from the cache (alternates).
    out = as_ci(model, (
        ". /etc/ci-worker-env.sh; rm -rf /tmp/ci-clone; "
        "git clone -q --reference $CI_GIT_CACHE/local%s %s /tmp/ci-clone; "
        "cat /tmp/ci-clone/.git/objects/info/alternates") % (REPO, REPO))
    assert CACHED in out, out


def test_full_workspace_blocks_then_cleanup_brings_it_back(model):
    model.exec(UNIT, "mkdir -p %s/buildbot/filler/build && fallocate -l 90M "
                     "%s/buildbot/filler/build/big" % (WORKSPACE, WORKSPACE))
    st = until(lambda: (lambda s: s if s["current"] == "blocked" else None)(status(model)),
               timeout=120, message="blocked on the full workspace")
    assert "Workspace %s:" % WORKSPACE in st["message"], st
    assert "below min-free-disk 40M" in st["message"] and "agent offline" in st["message"], st
    free = st["message"].split(": ", 1)[1].split(" free")[0]
    assert free.endswith(("M", "K")) and float(free[:-1]) < 40, st
    _, task = model.run_action(UNIT, "cleanup", "dry-run=true", "max-age=0")
    assert "%s/buildbot/filler" % WORKSPACE in task["results"]["removed"], task
    assert status(model)["current"] == "blocked"
    _, task = model.run_action(UNIT, "cleanup", "max-age=0")
    assert task["results"]["online"] == "true", task
    assert "%s/buildbot/filler" % WORKSPACE in task["results"]["removed"], task
    assert not model.exec(UNIT, "ls %s/buildbot" % WORKSPACE).strip()
    until(lambda: status(model)["current"] == "active", timeout=60, message="active again")


def test_bad_option_blocks_naming_it_and_keeps_the_config(model):
    before = model.exec(UNIT, "md5sum /etc/ci-worker/git-cache.json /etc/pip.conf")
    try:
        model.run("config", WORKER, "min-free-disk=150%", "git-cache-repos=- ftp://x/y")
        st = until(lambda: (lambda s: s if s["current"] == "blocked" else None)(status(model)),
                   timeout=120, message="blocked on bad options")
        assert "min-free-disk" in st["message"] and "git-cache-repos" in st["message"], st
        assert model.exec(UNIT, "md5sum /etc/ci-worker/git-cache.json /etc/pip.conf") == before
    finally:
        model.run("config", WORKER, "min-free-disk=40M", "git-cache-repos=- %s" % REPO)
    until(lambda: status(model)["current"] == "active", timeout=120, message="active again")


def test_removing_the_mirror_relation_removes_the_config(model):
    model.run("remove-relation", WORKER + ":mirror", MIRROR + ":mirror")
    model.wait()
    out = model.exec(UNIT, "ls %s 2>&1 || true" % " ".join(MIRROR_FILES))
    assert out.count("No such file") == len(MIRROR_FILES), out
    env = model.exec(UNIT, ". /etc/ci-worker-env.sh; echo \"[$PIP_INDEX_URL]\"")
    assert env.strip() == "[]", env
    assert status(model)["current"] == "active", status(model)
