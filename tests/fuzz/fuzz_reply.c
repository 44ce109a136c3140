/*
 * What the client library reads from the daemon (agent/client.c): the
 * input is the byte stream a daemon answers with on the ingest socket.
 *  1. sl__ingest_reply_decode on the whole input as one reply map;
 *  2. sl_client_record, called up to 8 times on one connection, against a
 *     fake daemon: a real unix socket whose server end sends the input and
 *     half-closes (the client's request lands unread in its buffer).  So
 *     the length prefix (zero, over SL_INGEST_REPLY_MAX, cut), several
 *     replies in one read and the end of the stream go through the
 *     library's own socket path.
 * Properties: a decoded reply is one the daemon could have sent (strings
 * terminated within their fields, a known status, an error code in range,
 * and a success carries its seq and status, so a reply that says nothing
 * is never taken for "recorded"), and it encodes and decodes to the same
 * reply; sl_client_record returns exactly what the framing and the decoder
 * say, computed here independently (SL_ERR_IO when the stream ends
 * inside a reply, SL_ERR_CORRUPT for a bad length or map, the daemon's
 * error with its field and reason, or SL_OK with its seq and status), and
 * after anything but a complete reply the connection is never used again.
 */
#include "fuzz.h"

#include <sys/socket.h>

#include "ingest_sock.h"
#include "storelink.h"

static char path[700];
static int lfd = -1;
static sl_event ev;

static void setup(void)
{
    snprintf(path, sizeof path, "%s/reply.sock", fuzz_scratch());
    if (sl_plat_unix_listen(path, 0600, 4, &lfd) != SL_OK) {
        fprintf(stderr, "fuzz_reply: cannot listen on %s\n", path);
        abort();
    }
    sl_event_init(&ev, SL_KIND_SALE, "T-1");
    memcpy(ev.currency, "EUR", 4);
    if (sl_event_add_line(&ev, "SKU-1", 1000, 250, 0, 0) != SL_OK ||
        sl_event_add_tender(&ev, "cash", 250) != SL_OK)
        abort();
}

static int same(const sl__ingest_reply *a, const sl__ingest_reply *b)
{
    if (a->err != b->err)
        return 0;
    if (a->err == SL_OK)
        return a->seq == b->seq && a->status == b->status;
    return strcmp(a->problem.field, b->problem.field) == 0 &&
           strcmp(a->problem.reason, b->problem.reason) == 0;
}

static void decoder(const uint8_t *data, size_t size)
{
    sl__ingest_reply r, r2;
    if (sl__ingest_reply_decode(data, size, &r) != SL_OK)
        return;
    FUZZ_CHECK(fuzz_terminated(r.problem.field, sizeof r.problem.field) &&
                   fuzz_terminated(r.problem.reason, sizeof r.problem.reason),
               "decoded strings out of bounds");
    FUZZ_CHECK(r.err >= 0 && r.err <= 1000, "error code out of range");
    if (r.err == SL_OK)
        FUZZ_CHECK(r.seq >= 1 &&
                       (r.status == SL_STATUS_RECORDED || r.status == SL_STATUS_DUPLICATE),
                   "a success reply without its seq or status");
    uint8_t buf[SL_INGEST_REPLY_MAX];
    size_t len = 0;
    FUZZ_CHECK(sl__ingest_reply_encode(&r, buf, sizeof buf, &len) == SL_OK,
               "a decoded reply does not encode");
    FUZZ_CHECK(sl__ingest_reply_decode(buf, len, &r2) == SL_OK && same(&r, &r2),
               "a reply does not survive encode and decode");
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* What sl_client_record must return for the stream d[0..n), and how many
 * bytes that reply took (0 when the connection is broken after it). */
static int expect(const uint8_t *d, size_t n, sl__ingest_reply *r, size_t *used)
{
    *used = 0;
    memset(r, 0, sizeof *r);
    if (n < 4)
        return SL_ERR_IO;
    uint32_t len = be32(d);
    if (len == 0 || len > SL_INGEST_REPLY_MAX)
        return SL_ERR_CORRUPT;
    if (n - 4 < len)
        return SL_ERR_IO;
    if (sl__ingest_reply_decode(d + 4, len, r) != SL_OK) {
        memset(r, 0, sizeof *r);   /* the client reports no problem then */
        return SL_ERR_CORRUPT;
    }
    if (r->err != SL_ERR_PERM)   /* a refused peer's connection is closed */
        *used = 4 + (size_t)len;
    return r->err;
}

static void client(const uint8_t *data, size_t size)
{
    sl_client *c = NULL;
    int sfd;
    FUZZ_CHECK(sl_client_connect(&c, path, 1000) == SL_OK, "cannot connect");
    FUZZ_CHECK(sl_plat_unix_accept(lfd, &sfd) == SL_OK, "cannot accept");
    /* the whole answer first (it fits the socket buffer), then the end */
    size_t off = 0;
    while (off < size) {
        size_t put = 0;
        FUZZ_CHECK(sl_plat_sock_write(sfd, data + off, size - off, &put) == SL_OK,
                   "the fake daemon cannot write");
        off += put;
    }
    shutdown(sfd, SHUT_WR);

    off = 0;
    int broken = 0;
    for (int i = 0; i < 8; i++) {
        uint64_t seq = 12345;
        sl_status st = SL_STATUS_DUPLICATE;
        sl_problem p;
        sl__ingest_reply r;
        size_t used = 0;
        int want = broken ? SL_ERR_IO : expect(data + off, size - off, &r, &used);
        int rc = sl_client_record(c, &ev, 1000, &seq, &st, &p);
        FUZZ_CHECK(rc == want, "sl_client_record does not return what the daemon said");
        FUZZ_CHECK(sl_strerror(rc) != NULL && fuzz_terminated(p.field, sizeof p.field) &&
                       fuzz_terminated(p.reason, sizeof p.reason),
                   "no error text, or the problem is not terminated");
        if (broken)
            continue;
        if (rc == SL_OK)
            FUZZ_CHECK(seq == r.seq && st == r.status, "seq or status differ from the reply");
        else if (rc == r.err)
            FUZZ_CHECK(strcmp(p.field, r.problem.field) == 0 &&
                           strcmp(p.reason, r.problem.reason) == 0,
                       "the problem differs from the reply");
        if (used == 0)
            broken = 1;
        off += used;
    }
    sl_client_close(c);
    sl_plat_close(sfd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (lfd < 0)
        setup();
    decoder(data, size);
    if (size <= 64 * 1024)   /* the answer must fit the socket buffers */
        client(data, size);
    return 0;
}
