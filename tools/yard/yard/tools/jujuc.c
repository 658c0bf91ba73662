/*
 * yard's jujuc, native: the same hook tool client as client.py, in C.
 *
 * Juju's hook tools are a compiled Go program; client.py starts a Python
 * interpreter for each call, about 10 ms of CPU where this build takes about
 * 0.5 ms (measured in a yard machine).  A hook calls a dozen tools, and on
 * one host a dozen machines run hooks at once, so that start-up cost made
 * yard slower than a real deployment where it matters most.  The controller builds this file once per source version when a C
 * compiler is there (see ``yard.tools.native``) and installs it as jujuc;
 * otherwise client.py is installed.  Both speak the "yard1" protocol of
 * server.py and behave alike, down to the error messages: the client tests
 * run against both.
 *
 * Standard C and POSIX only, statically linked, so the binary runs in any
 * machine image of the host's architecture.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define VERSION "yard1"
#define MAX_MESSAGE (256L * 1024 * 1024)

/* ---- errors ---------------------------------------------------------------- */

static void fail(const char *fmt, ...)
{
    va_list ap;
    fputs("ERROR ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    exit(1);
}

/* strerror() in lower case, as client.py prints Python's strerror. */
static const char *reason(int err)
{
    static char buf[256];
    size_t i;
    snprintf(buf, sizeof buf, "%s", strerror(err));
    for (i = 0; buf[i]; i++)
        buf[i] = (char)tolower((unsigned char)buf[i]);
    return buf;
}

/* ---- growable byte buffers ------------------------------------------------- */

struct buf {
    char *data;
    size_t len, cap;
};

static void reserve(struct buf *b, size_t more)
{
    size_t want = b->len + more;
    if (want <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < want)
        cap *= 2;
    char *data = realloc(b->data, cap);
    if (!data)
        fail("out of memory");
    b->data = data;
    b->cap = cap;
}

static void append(struct buf *b, const void *data, size_t len)
{
    reserve(b, len);
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

/* One netstring: <len>:<data>, */
static void netstring(struct buf *out, const void *data, size_t len)
{
    char head[32];
    int n = snprintf(head, sizeof head, "%zu:", len);
    append(out, head, (size_t)n);
    append(out, data, len);
    append(out, ",", 1);
}

/* ---- messages -------------------------------------------------------------- */

struct field {
    const char *data;
    size_t len;
};

struct message {
    struct buf raw;         /* the payload the fields point into */
    struct field *fields;
    size_t count;
};

static int conn_fd = -1;
static struct buf inbox;    /* bytes read but not yet consumed */

static void lost(const char *why)
{
    fail("lost connection to the controller: %s", why);
}

static void send_all(const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(conn_fd, data, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            lost(strerror(errno));
        }
        data += n;
        len -= (size_t)n;
    }
}

/* Send a message made of ``count`` fields. */
static void send_message(const struct field *fields, size_t count)
{
    struct buf payload = {0}, framed = {0};
    size_t i;
    for (i = 0; i < count; i++)
        netstring(&payload, fields[i].data, fields[i].len);
    netstring(&framed, payload.data ? payload.data : "", payload.len);
    send_all(framed.data, framed.len);
    free(payload.data);
    free(framed.data);
}

static void fill(void)
{
    reserve(&inbox, 262144);
    for (;;) {
        ssize_t n = recv(conn_fd, inbox.data + inbox.len, 262144, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            lost(strerror(errno));
        if (n == 0)
            lost("connection closed");
        inbox.len += (size_t)n;
        return;
    }
}

/* Parse "<digits>:" at data[0..len): the number and where the data starts. */
static int parse_length(const char *data, size_t len, size_t *value, size_t *start)
{
    size_t i = 0, v = 0;
    while (i < len && data[i] >= '0' && data[i] <= '9') {
        v = v * 10 + (size_t)(data[i] - '0');
        if (v > (size_t)MAX_MESSAGE)
            return -1;
        i++;
    }
    if (i == 0 || i >= len || data[i] != ':')
        return -1;
    *value = v;
    *start = i + 1;
    return 0;
}

static void receive(struct message *msg)
{
    size_t size, start, off, count = 0;
    char *colon;
    for (;;) {
        colon = inbox.len ? memchr(inbox.data, ':', inbox.len) : NULL;
        if (colon)
            break;
        if (inbox.len > 20)
            lost("bad frame");
        fill();
    }
    if (parse_length(inbox.data, inbox.len, &size, &start) != 0)
        lost("bad frame");
    while (inbox.len < start + size + 1)
        fill();
    if (inbox.data[start + size] != ',')
        lost("bad frame");
    msg->raw.data = NULL;
    msg->raw.len = msg->raw.cap = 0;
    append(&msg->raw, inbox.data + start, size);
    memmove(inbox.data, inbox.data + start + size + 1, inbox.len - (start + size + 1));
    inbox.len -= start + size + 1;

    msg->fields = NULL;
    msg->count = 0;
    for (off = 0; off < size;) {
        size_t length, begin;
        if (parse_length(msg->raw.data + off, size - off, &length, &begin) != 0 ||
            off + begin + length >= size || msg->raw.data[off + begin + length] != ',')
            lost("bad frame");
        if (count % 16 == 0) {
            struct field *f = realloc(msg->fields, (count + 16) * sizeof *f);
            if (!f)
                fail("out of memory");
            msg->fields = f;
        }
        msg->fields[count].data = msg->raw.data + off + begin;
        msg->fields[count].len = length;
        count++;
        off += begin + length + 1;
    }
    msg->count = count;
}

static void free_message(struct message *msg)
{
    free(msg->raw.data);
    free(msg->fields);
}

static int field_is(const struct field *f, const char *text)
{
    return f->len == strlen(text) && memcmp(f->data, text, f->len) == 0;
}

/* A NUL-terminated copy of a field. */
static char *field_str(const struct field *f)
{
    char *s = malloc(f->len + 1);
    if (!s)
        fail("out of memory");
    memcpy(s, f->data, f->len);
    s[f->len] = '\0';
    return s;
}

/* ---- the controller's requests ---------------------------------------------- */

static int read_fd(int fd, struct buf *out)
{
    for (;;) {
        reserve(out, 65536);
        ssize_t n = read(fd, out->data + out->len, 65536);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        out->len += (size_t)n;
    }
}

/* Answer a request for a file's content ("-" is stdin). */
static void answer_read(const struct field *path)
{
    struct buf content = {0};
    struct field reply[2];
    char *name = field_str(path);
    int fd = strcmp(name, "-") == 0 ? 0 : open(name, O_RDONLY | O_CLOEXEC);
    int err = 0;
    if (fd < 0 || read_fd(fd, &content) != 0)
        err = errno;
    if (fd > 0)
        close(fd);
    if (err) {
        struct buf text = {0};
        const char *why = reason(err);
        append(&text, "open ", 5);
        append(&text, path->data, path->len);
        append(&text, ": ", 2);
        append(&text, why, strlen(why));
        reply[0].data = "error";
        reply[0].len = 5;
        reply[1].data = text.data;
        reply[1].len = text.len;
        send_message(reply, 2);
        free(text.data);
    } else {
        reply[0].data = "data";
        reply[0].len = 4;
        reply[1].data = content.data ? content.data : "";
        reply[1].len = content.len;
        send_message(reply, 2);
    }
    free(content.data);
    free(name);
}

/* ---- connecting -------------------------------------------------------------- */

static void connect_controller(void)
{
    const char *network = getenv("JUJU_AGENT_SOCKET_NETWORK");
    const char *address = getenv("JUJU_AGENT_SOCKET_ADDRESS");
    if (!network || !*network)
        network = "tcp";
    if (!address || !*address)
        fail("JUJU_AGENT_SOCKET_ADDRESS not set");
    if (strcmp(network, "unix") == 0) {
        struct sockaddr_un sun;
        socklen_t len;
        size_t n = strlen(address);
        memset(&sun, 0, sizeof sun);
        sun.sun_family = AF_UNIX;
        if (n >= sizeof sun.sun_path)
            fail("dial %s %s: %s", network, address, reason(ENAMETOOLONG));
        memcpy(sun.sun_path, address, n);
        if (address[0] == '@')   /* an abstract socket, as Juju's agents use */
            sun.sun_path[0] = '\0';
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (address[0] == '@' ? 0 : 1));
        conn_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (conn_fd < 0 || connect(conn_fd, (struct sockaddr *)&sun, len) != 0)
            fail("dial %s %s: %s", network, address, reason(errno));
        return;
    }
    /* host:port, host possibly [v6] */
    const char *colon = strrchr(address, ':');
    char host[256];
    size_t hlen;
    char *end;
    long port;
    if (!colon)
        fail("dial %s %s: missing port in address", network, address);
    hlen = (size_t)(colon - address);
    if (hlen >= sizeof host)
        fail("dial %s %s: bad address", network, address);
    memcpy(host, address, hlen);
    host[hlen] = '\0';
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
        memmove(host, host + 1, hlen - 2);
        host[hlen - 2] = '\0';
    }
    port = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || port < 0 || port > 65535)
        fail("dial %s %s: invalid port", network, address);
    struct sockaddr_storage ss;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    int v6host = strchr(host, ':') != NULL, one = 1;
    socklen_t len = v6host ? sizeof *v6 : sizeof *v4;
    memset(&ss, 0, sizeof ss);
    ss.ss_family = v6host ? AF_INET6 : AF_INET;
    if (v6host) {
        v6->sin6_port = htons((unsigned short)port);
        if (inet_pton(AF_INET6, host, &v6->sin6_addr) != 1)
            fail("dial %s %s: bad address", network, address);
    } else {
        v4->sin_port = htons((unsigned short)port);
        if (inet_pton(AF_INET, host, &v4->sin_addr) != 1)
            fail("dial %s %s: bad address", network, address);
    }
    conn_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (conn_fd >= 0)
        setsockopt(conn_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (conn_fd < 0 || connect(conn_fd, (struct sockaddr *)&ss, len) != 0)
        fail("dial %s %s: %s", network, address, reason(errno));
}

/* ---- main ------------------------------------------------------------------------ */

static void write_out(int fd, const struct field *f)
{
    const char *data = f->data;
    size_t len = f->len;
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        data += n;
        len -= (size_t)n;
    }
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int main(int argc, char **argv)
{
    const char *tool = argc > 0 ? base_name(argv[0]) : "jujuc";
    int first = 1, i;
    if (strcmp(tool, "jujuc") == 0 && argc > 1) {
        tool = base_name(argv[1]);
        first = 2;
    }
    const char *context_id = getenv("JUJU_CONTEXT_ID");
    if (!context_id || !*context_id)
        fail("JUJU_CONTEXT_ID not set");
    char *cwd = getcwd(NULL, 0);

    size_t count = 4 + (size_t)(argc > first ? argc - first : 0);
    struct field *request = calloc(count, sizeof *request);
    if (!request)
        fail("out of memory");
    request[0].data = VERSION;
    request[1].data = context_id;
    request[2].data = tool;
    request[3].data = cwd ? cwd : "/";
    for (i = first; i < argc; i++)
        request[4 + i - first].data = argv[i];
    for (i = 0; (size_t)i < count; i++)
        request[i].len = strlen(request[i].data);

    connect_controller();
    send_message(request, count);

    struct message msg;
    receive(&msg);
    while (msg.count == 2 && field_is(&msg.fields[0], "read")) {
        answer_read(&msg.fields[1]);
        free_message(&msg);
        receive(&msg);
    }
    if (msg.count < 4 || !field_is(&msg.fields[0], "exit"))
        fail("bad response from the controller");

    /* -o/--output writes the controller asked for: (path, data) pairs. */
    for (i = 4; (size_t)i + 1 < msg.count; i += 2) {
        char *path = field_str(&msg.fields[i]);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fd < 0)
            fail("open %s: %s", path, reason(errno));
        write_out(fd, &msg.fields[i + 1]);
        close(fd);
        free(path);
    }
    write_out(1, &msg.fields[2]);
    write_out(2, &msg.fields[3]);
    char *code = field_str(&msg.fields[1]);
    return atoi(code);
}
