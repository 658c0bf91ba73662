/*
 * sandbox: run one hook (or any command yard runs on a "machine" of the local
 * provider) the way `make bench-scale` needs it, then record what it cost.
 *
 *   sandbox <argv...>
 *
 * Environment: YARD_MACHINE_ROOT (the machine's folder, set by yard's local
 * provider), SCALE_BENCH_DIR (the bench's folder: fake-bin/, pymark).
 *
 * 1. A private mount namespace in which /etc, /usr, /var, /run, /srv and /opt
 *    are overlays whose writes land in <machine>/.sandbox/<dir>: each unit
 *    has its own rendered files and its own fake service state, and the host
 *    is not touched.  /run/systemd/system exists, so charmhelpers uses
 *    systemctl, which is the fake on PATH (fake-bin first).
 * 2. /usr/bin/python3.N is covered by pymark, which notes every interpreter
 *    start (its argv[0]) in a per-run file and execs the real interpreter:
 *    that says whether the hook started Python at all, and whether it
 *    entered the charm's venv (a full hook).
 * 3. The command runs as a child; its wall time and the CPU time of it and
 *    every descendant it waited for (hook tools, systemctl) are appended as
 *    one line to <machine>/.sandbox/hooks.log when JUJU_UNIT_NAME is set:
 *
 *    <start> <wall s> <cpu s> <class> <hook> <remote unit or -> <unit> <exit code>
 *
 *    class: "skip" (no Python started), "python" (only the system
 *    interpreter: the layer's standard-library fast path), "full" (the
 *    venv's interpreter, i.e. the full reactive hook).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *OVERLAID[] = {"etc", "usr", "var", "run", "srv", "opt", NULL};

static void die(const char *what) {
    fprintf(stderr, "bench-scale sandbox: %s: %s\n", what, strerror(errno));
    exit(125);
}

static void mkdirs(const char *path) {
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            mkdir(buf, 0755);
            *p = '/';
        }
    }
    if (mkdir(buf, 0755) && errno != EEXIST)
        die(path);
}

static void overlay(const char *box, const char *dir) {
    char up[PATH_MAX], work[PATH_MAX], target[PATH_MAX], opts[3 * PATH_MAX + 64];
    snprintf(up, sizeof up, "%s/%s/up", box, dir);
    snprintf(work, sizeof work, "%s/%s/work", box, dir);
    snprintf(target, sizeof target, "/%s", dir);
    mkdirs(up);
    mkdirs(work);
    snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", target, up, work);
    if (mount("overlay", target, "overlay", 0, opts))
        die(target);
}

static void bind(const char *src, const char *dst) {
    if (mount(src, dst, NULL, MS_BIND, NULL))
        die(dst);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "full" if a venv interpreter started, "python" if another one did, else "skip". */
static const char *classify(const char *mark) {
    FILE *f = fopen(mark, "r");
    const char *cls = "skip";
    char line[PATH_MAX];
    if (!f)
        return cls;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "/.venv/bin/")) {
            cls = "full";
            break;
        }
        cls = "python";
    }
    fclose(f);
    return cls;
}

static void record(const char *box, double start, double wall, const struct rusage *ru,
                   const char *cls, int code) {
    const char *unit = getenv("JUJU_UNIT_NAME");
    const char *hook = getenv("JUJU_HOOK_NAME");
    const char *action = getenv("JUJU_ACTION_NAME");
    const char *remote = getenv("JUJU_REMOTE_UNIT");
    char path[PATH_MAX], name[256];
    if (!unit || !*unit)
        return;
    if (action && *action)
        snprintf(name, sizeof name, "action:%s", action);
    else
        snprintf(name, sizeof name, "%s", hook && *hook ? hook : "exec");
    double cpu = ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 +
                 ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
    snprintf(path, sizeof path, "%s/hooks.log", box);
    FILE *f = fopen(path, "a");
    if (!f)
        die(path);
    fprintf(f, "%.6f %.6f %.6f %s %s %s %s %d\n", start, wall, cpu, cls, name,
            remote && *remote ? remote : "-", unit, code);
    fclose(f);
}

int main(int argc, char **argv) {
    const char *root = getenv("YARD_MACHINE_ROOT");
    const char *bench = getenv("SCALE_BENCH_DIR");
    char box[PATH_MAX], path[PATH_MAX], real[PATH_MAX], mark[PATH_MAX], pymark[PATH_MAX];
    if (argc < 2 || !root || !bench) {
        fprintf(stderr, "usage: YARD_MACHINE_ROOT=... SCALE_BENCH_DIR=... sandbox argv...\n");
        return 125;
    }
    snprintf(box, sizeof box, "%s/.sandbox", root);
    mkdirs(box);
    /* The interpreter /usr/bin/python3 names, resolved before anything covers it. */
    if (!realpath("/usr/bin/python3", real))
        die("/usr/bin/python3");
    if (unshare(CLONE_NEWNS))
        die("unshare");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
        die("making / private");
    snprintf(path, sizeof path, "%s/python-real", box);
    close(open(path, O_WRONLY | O_CREAT, 0755));
    bind(real, path);
    for (const char **d = OVERLAID; *d; d++)
        overlay(box, *d);
    snprintf(pymark, sizeof pymark, "%s/pymark", bench);
    bind(pymark, real);
    mkdirs("/run/systemd/system");
    setenv("SCALE_BENCH_PYTHON", path, 1);
    snprintf(mark, sizeof mark, "%s/mark.%d", box, (int)getpid());
    unlink(mark);
    setenv("SCALE_BENCH_MARK", mark, 1);
    const char *old = getenv("PATH");
    snprintf(path, sizeof path, "%s/fake-bin:%s", bench, old ? old : "/usr/bin:/bin");
    setenv("PATH", path, 1);

    double start = now();
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        fprintf(stderr, "bench-scale sandbox: %s: %s\n", argv[1], strerror(errno));
        _exit(127);
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR)
            die("wait4");
    double wall = now() - start;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    record(box, start, wall, &ru, classify(mark), code);
    unlink(mark);
    return code;
}
