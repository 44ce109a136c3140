/* agent/sockserv.c: the peer check, opening (path limit, bad limits, mode
 * 0660, a stale socket replaced, a live one refused, the file removed on
 * close), and a server driven over a real unix socket in a temporary
 * directory: admit and its refusal line, the slot limit, the input and
 * output bounds, finish (answer, then close), a peer that closes its side
 * with the data left for the round callback, and (as root) a peer of
 * another uid seen as not allowed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform.h"
#include "sockserv.h"
#include "storelink.h"

struct fx {
    char dir[64], path[128];
    sl__sockserv *s;
    int rounds;             /* round callback calls */
    int admitted, refused;  /* admit callback verdicts */
    sl__sockserv_peer last; /* the last peer admit saw */
};

static void peer_allowed(void **state)
{
    (void)state;
    unsigned groups[] = {100, 65534, 20}, uids[] = {1001, 1002}, gids[] = {120, 20};
    assert_int_equal(sl__sockserv_peer_allowed(0, 0, NULL, 0, 998, NULL, 0, NULL, 0), 1);
    assert_int_equal(sl__sockserv_peer_allowed(998, 5, NULL, 0, 998, NULL, 0, NULL, 0), 1);
    assert_int_equal(sl__sockserv_peer_allowed(1000, 1000, groups, 3, 998, NULL, 0, NULL, 0), 0);
    assert_int_equal(sl__sockserv_peer_allowed(1002, 1000, NULL, 0, 998, uids, 2, NULL, 0), 1);
    assert_int_equal(sl__sockserv_peer_allowed(1003, 1000, NULL, 0, 998, uids, 2, NULL, 0), 0);
    /* a listed group as primary or supplementary group */
    assert_int_equal(sl__sockserv_peer_allowed(1003, 120, NULL, 0, 998, uids, 2, gids, 2), 1);
    assert_int_equal(sl__sockserv_peer_allowed(1003, 1003, groups, 3, 998, uids, 2, gids, 2), 1);
    assert_int_equal(sl__sockserv_peer_allowed(1003, 1003, groups, 2, 998, uids, 2, gids, 2), 0);
    /* gid 0 listed is a real group */
    unsigned zero = 0;
    assert_int_equal(sl__sockserv_peer_allowed(1003, 0, NULL, 0, 998, NULL, 0, &zero, 1), 1);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sl_srv_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/t.sock", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    sl__sockserv_close(f->s);
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Admit while a slot is free; refuse peers that are not allowed and a
 * full server with a line each. */
static int admit(void *ctx, const sl__sockserv_peer *p, int slot, char *bye, size_t byesz)
{
    struct fx *f = ctx;
    f->last = *p;
    if (!p->allowed) {
        f->refused++;
        snprintf(bye, byesz, "no\n");
        return SL_ERR_PERM;
    }
    if (slot < 0) {
        f->refused++;
        snprintf(bye, byesz, "busy\n");
        return SL_ERR_BUSY;
    }
    f->admitted++;
    return SL_OK;
}

/* Line protocol for the test: "bye" answers and closes, "big" tries to
 * queue more than out_max, "drop" closes at once, anything else is
 * echoed as got:LINE. */
static int echo(void *ctx, sl__sockserv_conn *c)
{
    (void)ctx;
    if (sl__sockserv_eof(c))
        return SL_ERR_IO;
    for (;;) {
        size_t len;
        const uint8_t *in = sl__sockserv_in(c, &len);
        const uint8_t *nl = memchr(in, '\n', len);
        if (nl == NULL)
            break;
        size_t l = (size_t)(nl - in);
        char line[64];
        snprintf(line, sizeof line, "%.*s", (int)l, (const char *)in);
        sl__sockserv_consume(c, l + 1);
        if (strcmp(line, "drop") == 0)
            return SL_ERR_IO;
        if (strcmp(line, "big") == 0) {
            char big[200];
            memset(big, 'b', sizeof big);
            int rc = sl__sockserv_send(c, big, sizeof big);
            assert_int_equal(rc, SL_ERR_FULL);
            assert_int_equal(sl__sockserv_out_len(c), 0);   /* nothing queued */
            rc = sl__sockserv_send(c, "full\n", 5);
            assert_int_equal(rc, SL_OK);
            continue;
        }
        char out[80];
        int n = snprintf(out, sizeof out, "got:%s\n", line);
        assert_int_equal(sl__sockserv_send(c, out, (size_t)n), SL_OK);
        if (strcmp(line, "bye") == 0) {
            sl__sockserv_finish(c);
            assert_true(sl__sockserv_finishing(c));
            break;
        }
    }
    if (!sl__sockserv_finishing(c) && sl__sockserv_in_full(c)) {
        assert_int_equal(sl__sockserv_send(c, "long\n", 5), SL_OK);
        sl__sockserv_finish(c);
    }
    return SL_OK;
}

static void count_round(void *ctx)
{
    struct fx *f = ctx;
    f->rounds++;
}

/* Without a data callback: the round callback answers every complete
 * line of every client (the ingest socket's shape). */
static void round_lines(void *ctx)
{
    struct fx *f = ctx;
    f->rounds++;
    for (int i = 0; i < 4; i++) {
        sl__sockserv_conn *c = sl__sockserv_conn_at(f->s, i);
        if (c == NULL)
            continue;
        assert_int_equal(sl__sockserv_slot(c), i);
        size_t len;
        const uint8_t *in = sl__sockserv_in(c, &len);
        const uint8_t *nl = memchr(in, '\n', len);
        if (nl == NULL)
            continue;
        assert_int_equal(sl__sockserv_send(c, in, (size_t)(nl - in) + 1), SL_OK);
        sl__sockserv_consume(c, (size_t)(nl - in) + 1);
    }
}

static void pump(struct fx *f, int ms)
{
    uint64_t end = sl_plat_mono_ms() + (uint64_t)ms;
    do {
        sl_pollfd fds[SL_POLL_MAX];
        int n = sl__sockserv_pollfds(f->s, fds, SL_POLL_MAX);
        sl_plat_poll(fds, n, 5);
        sl__sockserv_service(f->s, fds, n);
    } while (sl_plat_mono_ms() < end);
}

static int connect_to(struct fx *f)
{
    int fd;
    assert_int_equal(sl_plat_unix_connect(f->path, 1000, &fd), SL_OK);
    pump(f, 20);
    return fd;
}

static void put(struct fx *f, int fd, const char *s)
{
    size_t len = strlen(s), n;
    while (len > 0) {
        if (sl_plat_sock_write(fd, s, len, &n) == SL_OK) {
            s += n;
            len -= n;
        }
        pump(f, 5);
    }
}

/* Read what arrives within about a second, into buf; *eof when the
 * server closed the connection. */
static void get(struct fx *f, int fd, const char *want, char *buf, size_t cap, int *eof)
{
    size_t have = 0, got;
    buf[0] = '\0';
    *eof = 0;
    for (int i = 0; i < 200; i++) {
        pump(f, 5);
        int rc = sl_plat_sock_read(fd, buf + have, cap - 1 - have, &got);
        if (rc == SL_OK && got == 0) {
            *eof = 1;
            break;
        }
        if (rc != SL_OK && rc != SL_ERR_BUSY) {
            *eof = 1;
            break;
        }
        if (rc == SL_OK) {
            have += got;
            buf[have] = '\0';
        }
        if (want != NULL && strstr(buf, want) != NULL)
            break;
    }
}

static void open_errors(void **state)
{
    struct fx *f = *state;
    sl__sockserv_ops ops = {.ctx = f, .admit = admit, .data = echo};
    sl__sockserv_cfg cfg = {.path = f->path, .backlog = 4, .max_clients = 2, .in_max = 64,
                            .out_max = 128};
    char longp[200];
    memset(longp, 'a', sizeof longp);
    longp[0] = '/';
    longp[108] = '\0';   /* 108 bytes: one over */
    sl__sockserv_cfg bad = cfg;
    bad.path = longp;
    assert_int_equal(sl__sockserv_open(&f->s, &bad, &ops), SL_ERR_TOO_LARGE);
    bad = cfg;
    bad.max_clients = 0;
    assert_int_equal(sl__sockserv_open(&f->s, &bad, &ops), SL_ERR_USAGE);
    bad = cfg;
    bad.n_uids = SL_SOCKSERV_MAX_IDS + 1;
    assert_int_equal(sl__sockserv_open(&f->s, &bad, &ops), SL_ERR_USAGE);
    sl__sockserv_ops noadmit = {.ctx = f};
    assert_int_equal(sl__sockserv_open(&f->s, &cfg, &noadmit), SL_ERR_USAGE);

    /* a stale socket file (nobody listening) is replaced */
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, f->path, strlen(f->path) + 1);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    close(s);
    assert_int_equal(sl__sockserv_open(&f->s, &cfg, &ops), SL_OK);
    struct stat st;
    assert_int_equal(lstat(f->path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0660);
    /* a live one is not */
    sl__sockserv *s2 = NULL;
    assert_int_equal(sl__sockserv_open(&s2, &cfg, &ops), SL_ERR_CONFLICT);
    assert_null(s2);
    sl__sockserv_close(f->s);
    f->s = NULL;
    assert_int_equal(sl_plat_exists(f->path), 0);   /* removed on close */
    sl__sockserv_close(NULL);
}

static void serve(void **state)
{
    struct fx *f = *state;
    char buf[512];
    int eof;
    sl__sockserv_ops ops = {.ctx = f, .admit = admit, .data = echo, .round = count_round};
    sl__sockserv_cfg cfg = {.path = f->path, .backlog = 4, .max_clients = 2, .in_max = 64,
                            .out_max = 128};
    assert_int_equal(sl__sockserv_open(&f->s, &cfg, &ops), SL_OK);

    int a = connect_to(f);
    assert_int_equal(f->admitted, 1);
    assert_int_equal(f->last.allowed, 1);
    assert_int_equal(f->last.uid, sl_plat_getuid());
    assert_int_equal(f->last.pid, (long)getpid());
    put(f, a, "hello\nagain\n");
    get(f, a, "got:again\n", buf, sizeof buf, &eof);
    assert_string_equal(buf, "got:hello\ngot:again\n");
    assert_int_equal(eof, 0);
    assert_true(f->rounds > 0);

    /* two slots: the third peer gets the refusal line and the end */
    int b = connect_to(f);
    int c = connect_to(f);
    assert_int_equal(sl__sockserv_clients(f->s), 2);
    get(f, c, NULL, buf, sizeof buf, &eof);
    assert_string_equal(buf, "busy\n");
    assert_int_equal(eof, 1);
    sl_plat_close(c);

    /* output over out_max is refused whole, the client stays */
    put(f, a, "big\n");
    get(f, a, "full\n", buf, sizeof buf, &eof);
    assert_string_equal(buf, "full\n");
    assert_int_equal(eof, 0);

    /* a request longer than in_max cannot complete */
    char longl[100];
    memset(longl, 'x', sizeof longl - 1);
    longl[sizeof longl - 1] = '\0';
    put(f, b, longl);
    get(f, b, NULL, buf, sizeof buf, &eof);
    assert_string_equal(buf, "long\n");
    assert_int_equal(eof, 1);
    sl_plat_close(b);

    /* finish: the answer goes out, then the connection closes; what the
     * peer sent after it is not read */
    put(f, a, "bye\nignored\n");
    get(f, a, NULL, buf, sizeof buf, &eof);
    assert_string_equal(buf, "got:bye\n");
    assert_int_equal(eof, 1);
    sl_plat_close(a);
    pump(f, 20);
    assert_int_equal(sl__sockserv_clients(f->s), 0);

    /* the data callback closes a client at once; its slot is free again */
    int d = connect_to(f);
    put(f, d, "drop\n");
    get(f, d, NULL, buf, sizeof buf, &eof);
    assert_int_equal(eof, 1);
    assert_string_equal(buf, "");
    sl_plat_close(d);
    assert_int_equal(sl__sockserv_clients(f->s), 0);
    assert_null(sl__sockserv_conn_at(f->s, 0));
    assert_null(sl__sockserv_conn_at(f->s, 5));
}

/* A peer that sends and closes its side still gets its answers, then the
 * server closes (the ingest socket's `printf ... | socat` case). */
static void half_close(void **state)
{
    struct fx *f = *state;
    char buf[512];
    int eof;
    sl__sockserv_ops ops = {.ctx = f, .admit = admit, .round = round_lines};
    sl__sockserv_cfg cfg = {.path = f->path, .backlog = 4, .max_clients = 4, .in_max = 64,
                            .out_max = 128};
    assert_int_equal(sl__sockserv_open(&f->s, &cfg, &ops), SL_OK);
    int a = connect_to(f);
    size_t n;
    assert_int_equal(sl_plat_sock_write(a, "one\ntwo\n", 8, &n), SL_OK);
    assert_int_equal(n, 8);
    shutdown(a, SHUT_WR);
    get(f, a, NULL, buf, sizeof buf, &eof);
    assert_string_equal(buf, "one\ntwo\n");
    assert_int_equal(eof, 1);
    sl_plat_close(a);
    assert_int_equal(sl__sockserv_clients(f->s), 0);
}

/* As root: a peer of another uid is seen, and refused with the line. */
static void other_uid(void **state)
{
    struct fx *f = *state;
    if (sl_plat_getuid() != 0)
        skip();
    sl__sockserv_ops ops = {.ctx = f, .admit = admit, .data = echo};
    sl__sockserv_cfg cfg = {.path = f->path, .backlog = 4, .max_clients = 2, .in_max = 64,
                            .out_max = 128};
    assert_int_equal(sl__sockserv_open(&f->s, &cfg, &ops), SL_OK);
    assert_int_equal(chmod(f->dir, 0755), 0);
    assert_int_equal(chmod(f->path, 0666), 0);   /* let uid 65534 reach it */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(3);
        int fd;
        if (sl_plat_unix_connect(f->path, 1000, &fd) != SL_OK)
            _exit(4);
        char line[64] = "";
        size_t have = 0, got;
        for (int i = 0; i < 400; i++) {
            sl_pollfd p = {fd, 1, 0, 0, 0, 0};
            sl_plat_poll(&p, 1, 10);
            int rc = sl_plat_sock_read(fd, line + have, sizeof line - 1 - have, &got);
            if (rc == SL_OK && got == 0)
                break;
            if (rc == SL_OK)
                have += got;
            line[have] = '\0';
        }
        _exit(strcmp(line, "no\n") == 0 ? 0 : 5);
    }
    int status = 0;
    pid_t done = 0;
    for (int i = 0; i < 400 && (done = waitpid(pid, &status, WNOHANG)) == 0; i++)
        pump(f, 10);
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("the uid 65534 client did not finish");
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(f->refused, 1);
    assert_int_equal(f->last.uid, 65534);
    assert_int_equal(f->last.gid, 65534);
    assert_int_equal(f->last.allowed, 0);
    assert_int_equal(sl__sockserv_clients(f->s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(peer_allowed),
        cmocka_unit_test_setup_teardown(open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(serve, setup, teardown),
        cmocka_unit_test_setup_teardown(half_close, setup, teardown),
        cmocka_unit_test_setup_teardown(other_uid, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
