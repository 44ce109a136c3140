/*
 * The daemon's control socket as a client drives it (agent/control.c): the
 * input is the byte stream one connection sends, through a real unix
 * socket into a real server (sl__control_open, serviced as the daemon's
 * poll loop does), with a stub for the daemon's answers.  fuzz_control
 * fuzzes the parser of one line; this fuzzes the line reader in front of
 * it: lines split over reads, several in one read, blank lines, the 4096
 * byte limit, a last line without its newline.
 *
 * The first input byte is not sent: bits 0-6 are the write size (1..127
 * bytes per write, at least 1/64 of the input, the server serviced after
 * each; 0 = all at once), bit 7
 * says how the client ends: 1 half-closes (shutdown SHUT_WR, as `nc -N`
 * or a script piping one request does) and reads until the server closes;
 * 0 keeps the connection open, reads until the server has nothing more,
 * and closes.
 *
 * Properties: the server answers every complete non-empty request line
 * with exactly one reply line, in order, whichever way the client ends (a
 * half-closed client gets its answers before the server closes); the
 * reply is what sl__control_parse_line says about that line (the stub's
 * answer for the command, or {"error": reason} with the parser's reason);
 * a line over the limit gets one error and the connection is closed; an
 * unterminated last line gets no answer; no hang.
 */
#include "fuzz.h"

#include <jansson.h>
#include <sys/socket.h>

#include "control.h"
#include "storelink.h"

static char path[700];
static sl__control *srv;
static char *rbuf;
static size_t rlen;
#define RCAP (1u << 20)

static void answer(void *ctx, int cmd, char *out, size_t outsz)
{
    (void)ctx;
    snprintf(out, outsz, "{\"ok\":true,\"cmd\":%d}", cmd);
}

static void setup(void)
{
    static const sl__control_ops ops = {NULL, answer};
    char err[300];
    snprintf(path, sizeof path, "%s/control.sock", fuzz_scratch());
    if (sl__control_open(&srv, path, "", &ops, err, sizeof err) != SL_OK) {
        fprintf(stderr, "fuzz_ctlsock: %s\n", err);
        abort();
    }
    rbuf = malloc(RCAP);
    if (rbuf == NULL)
        abort();
}

static void service(void)
{
    sl_pollfd fds[SL_POLL_MAX];
    int n = sl__control_pollfds(srv, fds, SL_POLL_MAX);
    sl_plat_poll(fds, n, 0);
    sl__control_service(srv, fds, n);
}

/* Read what the server sent: 0 nothing more now, 1 end of stream, 2 reset. */
static int drain(int fd, int *got_any)
{
    for (;;) {
        size_t got;
        FUZZ_CHECK(rlen < RCAP, "more reply bytes than requests can explain");
        int rc = sl_plat_sock_read(fd, rbuf + rlen, RCAP - rlen, &got);
        if (rc == SL_ERR_BUSY)
            return 0;
        if (rc != SL_OK)
            return 2;
        if (got == 0)
            return 1;
        rlen += got;
        *got_any = 1;
    }
}

/* The next reply line, checked against what the parser says of line. */
static size_t check_reply(size_t off, const char *line, size_t len, int too_long)
{
    char *nl = memchr(rbuf + off, '\n', rlen - off);
    FUZZ_CHECK(nl != NULL, "a request line without its reply line");
    size_t l = (size_t)(nl - (rbuf + off));
    json_error_t je;
    json_t *o = json_loadb(rbuf + off, l, 0, &je);
    FUZZ_CHECK(json_is_object(o), "a reply that is not one JSON object");
    json_t *e = json_object_get(o, "error");
    if (too_long) {
        FUZZ_CHECK(json_is_string(e) && strstr(json_string_value(e), "longer than") != NULL,
                   "an over-long line without its error");
    } else {
        int cmd = 0;
        char err[200];
        if (sl__control_parse_line(line, len, &cmd, err, sizeof err) == SL_OK)
            FUZZ_CHECK(e == NULL && json_integer_value(json_object_get(o, "cmd")) == cmd,
                       "a request answered as something else");
        else
            FUZZ_CHECK(json_is_string(e) && strcmp(json_string_value(e), err) == 0,
                       "a bad request answered without the parser's reason");
    }
    json_decref(o);
    return off + l + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (srv == NULL)
        setup();
    size_t step = data[0] & 0x7f ? data[0] & 0x7f : size;
    int halfclose = data[0] >> 7;
    const char *d = (const char *)data + 1;
    size_t n = size - 1;
    /* at most 64 writes: a long input split byte by byte costs a poll
     * round per byte and gains nothing over a short one */
    if (step < n / 64)
        step = n / 64;

    int fd;
    FUZZ_CHECK(sl_plat_unix_connect(path, 1000, &fd) == SL_OK, "cannot connect");
    rlen = 0;
    size_t pos = 0;
    int end = 0, shut = 0, quiet = 0;
    for (size_t round = 0; !end; round++) {
        FUZZ_CHECK(round < 4 * n + 1000, "the server neither answers nor closes");
        if (pos < n) {
            size_t put = 0;
            size_t k = step < n - pos ? step : n - pos;
            int rc = sl_plat_sock_write(fd, d + pos, k, &put);
            if (rc == SL_OK)
                pos += put;
            else if (rc != SL_ERR_BUSY)
                pos = n;   /* closed after an over-long line */
        } else if (halfclose && !shut) {
            shutdown(fd, SHUT_WR);
            shut = 1;
        }
        service();
        int any = 0;
        end = drain(fd, &any);
        /* kept open: done once everything is sent and two rounds are quiet */
        quiet = any ? 0 : quiet + 1;
        if (!halfclose && pos == n && quiet >= 2)
            break;
    }
    sl_plat_close(fd);
    service();   /* the server notices the close */

    /* what the server must have answered, line by line; after a reset
     * (the server closed with our bytes unread) the last replies may be
     * lost with the connection, so the check ends where they end */
    size_t off = 0, roff = 0;
    while (off < n && (end != 2 || roff < rlen)) {
        const char *nl = memchr(d + off, '\n', n - off);
        size_t l = nl ? (size_t)(nl - (d + off)) : n - off;
        if (l + 1 > SL_CONTROL_LINE_MAX) {
            /* the server's buffer filled without a newline */
            roff = check_reply(roff, NULL, 0, 1);
            break;
        }
        if (nl == NULL)
            break;   /* unterminated: no request */
        if (l > 0)
            roff = check_reply(roff, d + off, l, 0);
        off += l + 1;
    }
    FUZZ_CHECK(roff == rlen, "replies nobody asked for");
    return 0;
}
