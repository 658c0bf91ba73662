/*
 * pymark: stands in for /usr/bin/python3.N inside bench-scale's sandbox.
 * Notes its argv[0] (which says whether it is the charm venv's interpreter)
 * in $SCALE_BENCH_MARK, then execs the real interpreter with the same argv,
 * so Python finds its venv from argv[0] as it would have.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *mark = getenv("SCALE_BENCH_MARK");
    const char *real = getenv("SCALE_BENCH_PYTHON");
    (void)argc;
    if (mark) {
        int fd = open(mark, O_WRONLY | O_APPEND | O_CREAT, 0600);
        if (fd >= 0) {
            dprintf(fd, "%s\n", argv[0]);
            close(fd);
        }
    }
    if (!real) {
        fprintf(stderr, "pymark: SCALE_BENCH_PYTHON is not set\n");
        return 127;
    }
    execv(real, argv);
    perror(real);
    return 127;
}
