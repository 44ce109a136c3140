/* agent/control.c: the peer check, the request line parser, the error
 * classification, and a server and client talking over a real unix socket
 * in a temporary directory (stale socket replaced, live one refused, a
 * request answered, a long line refused, a follower fed), plus the
 * Prometheus text of agent/metrics.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "control.h"
#include "metrics.h"
#include "platform.h"
#include "storelink.h"

static void peer_allowed(void **state)
{
    (void)state;
    unsigned groups[] = {100, 65534, 20};
    /* root and the daemon's own user, with or without an admin group */
    assert_int_equal(sl__control_peer_allowed(0, 0, NULL, 0, 998, -1), 1);
    assert_int_equal(sl__control_peer_allowed(998, 998, NULL, 0, 998, -1), 1);
    assert_int_equal(sl__control_peer_allowed(0, 5, NULL, 0, 998, 4000), 1);
    /* anyone else without an admin group: no, whatever groups they have */
    assert_int_equal(sl__control_peer_allowed(1000, 1000, groups, 3, 998, -1), 0);
    assert_int_equal(sl__control_peer_allowed(1000, 65534, groups, 3, 998, -1), 0);
    /* admin group as primary or supplementary group */
    assert_int_equal(sl__control_peer_allowed(1000, 4000, NULL, 0, 998, 4000), 1);
    assert_int_equal(sl__control_peer_allowed(1000, 1000, groups, 3, 998, 65534), 1);
    assert_int_equal(sl__control_peer_allowed(1000, 1000, groups, 3, 998, 20), 1);
    /* not a member */
    assert_int_equal(sl__control_peer_allowed(1000, 1000, groups, 3, 998, 4000), 0);
    assert_int_equal(sl__control_peer_allowed(1000, 1000, groups, 2, 998, 20), 0);
    /* gid 0 as admin group is a real group, not "none" */
    assert_int_equal(sl__control_peer_allowed(1000, 0, NULL, 0, 998, 0), 1);
}

static void parse_line(void **state)
{
    (void)state;
    char err[200];
    int cmd = 0;
    const char *ok[][2] = {
        {"{\"cmd\":\"status\"}", "1"}, {"{\"cmd\":\"sync_now\"}", "2"},
        {" {\"cmd\" : \"tail\", \"extra\": 1} ", "3"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(sl__control_parse_line(ok[i][0], strlen(ok[i][0]), &cmd, err, sizeof err),
                         SL_OK);
        assert_int_equal(cmd, atoi(ok[i][1]));
    }
    const char *bad[][2] = {
        {"", "request: not JSON"}, {"{\"cmd\":", "request: not JSON"},
        {"[1,2]", "request: must be a JSON object"}, {"{}", "cmd: missing"},
        {"{\"cmd\":5}", "cmd: must be a string"}, {"{\"cmd\":\"reboot\"}", "cmd: unknown command"},
        {"{\"cmd\":\"status\",\"cmd\":\"tail\"}", "request: not JSON"},
        {"\"status\"", "request: not JSON"},
        /* jansson quotes the bad bytes: a raw newline there split the reason */
        {"{ \"cm\\\n", "request: not JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(sl__control_parse_line(bad[i][0], strlen(bad[i][0]), &cmd, err,
                                                sizeof err), SL_ERR_INVALID);
        if (strstr(err, bad[i][1]) == NULL)
            fail_msg("%s: got \"%s\"", bad[i][0], err);
        assert_null(strchr(err, '\n'));
    }
    /* the length given counts, not a NUL: "{"cmd":"status"}garbage" cut */
    const char *cut = "{\"cmd\":\"status\"}garbage";
    assert_int_equal(sl__control_parse_line(cut, 16, &cmd, err, sizeof err), SL_OK);
}

static void error_class(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"TLS handshake with localhost:8883 failed (server certificate not trusted by ca_file, "
         "hostname mismatch, or our certificate refused)", "TLS verify failure"},
        {"broker closed the connection before accepting it: device certificate refused "
         "(expired, not yet valid or from another CA?)", "TLS verify failure"},
        {"device certificate expired on 2026-01-01: renew it [TLS handshake ...]",
         "TLS verify failure"},
        {"broker refused the connection: Not authorized (0x87)", "not authorized"},
        {"connection to localhost:1 refused", "connection refused"},
        {"cannot resolve nowhere.invalid: Name or service not known", "DNS failure"},
        {"connection to 10.0.0.1:8883 timed out after 3000 ms", "timeout"},
        {"connection lost: no answer within keepalive", "timeout"},
        {"connection lost: The connection was lost.", "broker closed the connection"},
        {"broker refused batch 1..5 (reason 0x87, not authorized)", "not authorized"},
        {"broker refused batch 1..5 (reason 0x95, packet too large)", "broker refused a batch"},
        {"hub: chain broken at seq 4", "hub refused a batch"},
        {"something new", "error"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(sl__control_error_class(cases[i][0]), cases[i][1]);
}

/* ---- a real socket ------------------------------------------------------- */

struct fx {
    char dir[64], path[128];
    sl__control *c;
    int requests;
};

static void fake_request(void *ctx, int cmd, char *out, size_t outsz)
{
    struct fx *f = ctx;
    f->requests++;
    snprintf(out, outsz, "{\"answer\":%d}", cmd);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sl_ctl_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/control.sock", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    sl__control_close(f->c);
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Run the server's side of poll for up to ms. */
static void pump(struct fx *f, int ms)
{
    uint64_t end = sl_plat_mono_ms() + (uint64_t)ms;
    while (sl_plat_mono_ms() < end) {
        sl_pollfd fds[SL_POLL_MAX];
        int n = sl__control_pollfds(f->c, fds, SL_POLL_MAX);
        sl_plat_poll(fds, n, 10);
        sl__control_service(f->c, fds, n);
    }
}

/* A client that writes raw bytes and reads one line while the server is
 * pumped in between (one thread: the server never blocks). */
static int raw_exchange(struct fx *f, const char *send, size_t len, char *line, size_t linesz)
{
    int fd;
    size_t put, got, have = 0;
    assert_int_equal(sl_plat_unix_connect(f->path, 1000, &fd), SL_OK);
    pump(f, 20);
    while (len > 0) {
        if (sl_plat_sock_write(fd, send, len, &put) == SL_OK) {
            send += put;
            len -= put;
        }
        pump(f, 5);
    }
    line[0] = '\0';
    for (int i = 0; i < 200 && !strchr(line, '\n'); i++) {
        pump(f, 5);
        if (sl_plat_sock_read(fd, line + have, linesz - 1 - have, &got) == SL_OK) {
            if (got == 0)
                break;
            have += got;
            line[have] = '\0';
        }
    }
    return fd;
}

static void server_client(void **state)
{
    struct fx *f = *state;
    char err[300], line[8192];
    sl__control_ops ops = {f, fake_request};
    /* a stale socket file (nobody listening) is replaced */
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, f->path, strlen(f->path) + 1);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    close(s);
    assert_int_equal(sl__control_open(&f->c, f->path, "", &ops, err, sizeof err), SL_OK);
    /* a second daemon on the same path is refused, and names why */
    sl__control *c2 = NULL;
    assert_int_equal(sl__control_open(&c2, f->path, "", &ops, err, sizeof err), SL_ERR_CONFLICT);
    assert_non_null(strstr(err, "another storelink daemon"));
    /* an admin group that does not exist is a configuration error */
    assert_int_equal(sl__control_open(&c2, "/tmp/sl_ctl_none.sock", "no-such-group-xyz", &ops,
                                      err, sizeof err), SL_ERR_CONFIG);
    assert_non_null(strstr(err, "admin_group"));

    /* a request and its answer (we are root or the same uid: allowed) */
    int fd = raw_exchange(f, "{\"cmd\":\"status\"}\n", 17, line, sizeof line);
    assert_string_equal(line, "{\"answer\":1}\n");
    sl_plat_close(fd);
    /* a bad request gets one error line naming the field */
    fd = raw_exchange(f, "{\"cmd\":\"reboot\"}\n", 17, line, sizeof line);
    assert_non_null(strstr(line, "{\"error\":\"cmd: unknown command"));
    sl_plat_close(fd);
    /* a line over 4 KiB is refused and the connection closed */
    char *big = malloc(6000);
    memset(big, ' ', 6000);
    big[5999] = '\n';
    fd = raw_exchange(f, big, 6000, line, sizeof line);
    free(big);
    assert_non_null(strstr(line, "longer than 4096"));
    sl_plat_close(fd);
    pump(f, 20);

    /* tail: the follower gets broadcasts; a client that never reads is
     * dropped once its buffer is full, without blocking the server */
    int reader = raw_exchange(f, "{\"cmd\":\"tail\"}\n", 15, line, sizeof line);
    assert_string_equal(line, "{\"answer\":3}\n");
    int sleeper = raw_exchange(f, "{\"cmd\":\"tail\"}\n", 15, line, sizeof line);
    assert_int_equal(sl__control_tailers(f->c), 2);
    char ev[1024];
    memset(ev, 'x', sizeof ev);
    memcpy(ev, "{\"event\":\"", 10);
    memcpy(ev + sizeof ev - 3, "\"}", 3);
    uint64_t t0 = sl_plat_mono_ms();
    for (int i = 0; i < 2000 && sl__control_tailers(f->c) == 2; i++) {
        sl__control_broadcast(f->c, ev);
        pump(f, 0);
        size_t got;
        char sink[65536];
        while (sl_plat_sock_read(reader, sink, sizeof sink, &got) == SL_OK && got > 0) {
        }
    }
    assert_int_equal(sl__control_tailers(f->c), 1);
    assert_true(sl_plat_mono_ms() - t0 < 5000);
    sl_plat_close(reader);
    sl_plat_close(sleeper);

    /* the client helper */
    char reply[256];
    assert_int_equal(sl__control_request(f->path, "{\"cmd\":\"sync_now\"}", 1000, reply,
                                         sizeof reply), SL_ERR_BUSY);   /* nobody pumps */
    sl__control_close(f->c);
    f->c = NULL;
    assert_int_equal(sl_plat_exists(f->path), 0);   /* removed on close */
    assert_int_equal(sl__control_request(f->path, "{\"cmd\":\"status\"}", 1000, reply,
                                         sizeof reply), SL_ERR_NOT_FOUND);
}

static void socket_path(void **state)
{
    (void)state;
    char out[108];
    assert_int_equal(sl__control_path("", "/var/lib/storelink", out, sizeof out), SL_OK);
    assert_string_equal(out, "/var/lib/storelink/control.sock");
    assert_int_equal(sl__control_path("/run/sl.sock", "/x", out, sizeof out), SL_OK);
    assert_string_equal(out, "/run/sl.sock");
    char longdir[200];
    memset(longdir, 'd', sizeof longdir - 1);
    longdir[0] = '/';
    longdir[sizeof longdir - 1] = '\0';
    assert_int_equal(sl__control_path("", longdir, out, sizeof out), SL_ERR_TOO_LARGE);
}

static void metrics_text(void **state)
{
    (void)state;
    char buf[4096];
    size_t len;
    sl__metrics m = {.device = "dev-1", .store = "s-1", .up = 1, .connected = 1,
                     .backlog_records = 12, .oldest_unacked_age_s = 3.25,
                     .acked_records_total = 100, .resent_records_total = 5,
                     .rejected_records_total = 1, .dead_letters = 1, .have_prices = 1,
                     .prices_age_s = 60};
    assert_int_equal(sl__metrics_format(&m, buf, sizeof buf, &len), SL_OK);
    assert_int_equal(strlen(buf), len);
    assert_non_null(strstr(buf, "# TYPE storelink_backlog_records gauge\n"
                                "storelink_backlog_records{device=\"dev-1\",store=\"s-1\"} 12\n"));
    assert_non_null(strstr(buf, "storelink_oldest_unacked_age_seconds{device=\"dev-1\","
                                "store=\"s-1\"} 3.25\n"));
    assert_non_null(strstr(buf, "# TYPE storelink_acked_records_total counter\n"));
    assert_non_null(strstr(buf, "storelink_catalog_age_seconds{device=\"dev-1\",store=\"s-1\","
                                "type=\"prices\"} 60\n"));
    assert_null(strstr(buf, "type=\"stock\""));
    assert_int_equal(sl__metrics_format(&m, buf, 100, &len), SL_ERR_TOO_LARGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(peer_allowed),
        cmocka_unit_test(parse_line),
        cmocka_unit_test(error_class),
        cmocka_unit_test(socket_path),
        cmocka_unit_test(metrics_text),
        cmocka_unit_test_setup_teardown(server_client, setup, teardown),
    };
    return cmocka_run_group_tests_name("control", tests, NULL, NULL);
}
