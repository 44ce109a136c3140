/*
 * The daemon's ingest socket as a client drives it (agent/ingest_sock.c):
 * the input is the byte stream one connection sends, through a real unix
 * socket into a real server (sl__ingest_open on a journal in a scratch
 * directory, /dev/shm when there is one), serviced the way the daemon's
 * poll loop does (sl__ingest_pollfds, sl_plat_poll, sl__ingest_service,
 * again while sl__ingest_busy).  So the frame reader is fuzzed as it runs:
 * length prefixes (zero, huge, truncated), several frames in one read, a
 * frame split over many reads, the JSON-lines framing (first byte '{'),
 * and whatever the decoders behind it make of the bodies, and valid
 * records are committed to the journal.
 *
 * The first input byte is not sent: it is the write size (1..255 bytes per
 * write, with the server serviced after each; 0 = everything at once).
 * After the last byte the client half-closes (shutdown SHUT_WR), as a
 * client that is done does, and reads replies until the server closes.
 *
 * Properties: the server closes the connection (no hang); the replies are
 * well framed (CBOR: a 4-byte length 1..SL_INGEST_REPLY_MAX and a reply
 * map that sl__ingest_reply_decode accepts; JSON: one object per line with
 * seq and status, or error, code, field and reason); exactly one reply per
 * request, counted independently here from the same framing rules (a bad
 * length prefix or a truncated frame gets one reply, then the connection
 * closes; blank JSON lines get none); every refusal names a field and a
 * reason; newly recorded seqs only grow and a duplicate names an older seq.
 */
#include "fuzz.h"

#include <ftw.h>
#include <jansson.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "ingest_sock.h"
#include "storelink.h"

static char dir[600], sock[700];
static sl_journal *jr;
static sl__ingest *srv;
static uint64_t last_seq;   /* highest seq answered "recorded" */
static uint8_t *rbuf;       /* the replies read back */
static size_t rlen;
#define RCAP (4u << 20)

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static void teardown(void)
{
    sl__ingest_close(srv);
    srv = NULL;
    sl_journal_close(jr);
    jr = NULL;
    if (dir[0])
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
    if (dir[0] == '\0') {
        /* LMDB syncs every commit: on tmpfs that costs nothing */
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : fuzz_scratch();
        snprintf(dir, sizeof dir, "%s/sl-fuzz-ingest-XXXXXX", base);
        if (mkdtemp(dir) == NULL) {
            perror("fuzz_ingest: mkdtemp");
            abort();
        }
        snprintf(sock, sizeof sock, "%s/ingest.sock", dir);
        atexit(teardown);
    } else if (mkdir(dir, 0700) != 0) {
        perror("fuzz_ingest: mkdir");
        abort();
    }
    sl_journal_opts o = {.max_db_mb = 64, .read_only = 0};
    char err[300];
    sl__ingest_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.path = sock;
    if (sl_journal_open(&jr, dir, &o) != SL_OK ||
        sl__ingest_open(&srv, jr, &cfg, err, sizeof err) != SL_OK) {
        fprintf(stderr, "fuzz_ingest: cannot open the journal or the socket in %s\n", dir);
        abort();
    }
    last_seq = 0;
    rbuf = rbuf ? rbuf : malloc(RCAP);
    if (rbuf == NULL)
        abort();
}

static void service(void)
{
    sl_pollfd fds[SL_POLL_MAX];
    do {
        int n = sl__ingest_pollfds(srv, fds, SL_POLL_MAX);
        sl_plat_poll(fds, n, 0);
        sl__ingest_service(srv, fds, n);
    } while (sl__ingest_busy(srv));
}

/* Read what the server sent; 1 when the connection ended (EOF), 2 on a
 * reset (the server closed with our bytes unread: the replies it sent
 * before are still read first). */
static int drain(int fd)
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
    }
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Requests in a CBOR-framed stream, by the documented framing. */
static size_t cbor_requests(const uint8_t *d, size_t n)
{
    size_t off = 0, k = 0;
    while (off < n) {
        k++;
        if (n - off < 4)
            break;   /* truncated length prefix */
        uint32_t len = be32(d + off);
        if (len == 0 || len > SL_INGEST_FRAME_MAX || n - off - 4 < len)
            break;   /* bad length or truncated frame: answered, then closed */
        off += 4 + (size_t)len;
    }
    return k;
}

/* Requests in a JSON-lines stream, or (size_t)-1 when a line is long
 * enough that the answer depends on how much the server had buffered. */
static size_t json_requests(const uint8_t *d, size_t n)
{
    size_t off = 0, k = 0;
    while (off < n) {
        const uint8_t *nl = memchr(d + off, '\n', n - off);
        size_t l = nl ? (size_t)(nl - (d + off)) : n - off;
        if (l + 1 >= SL_INGEST_LINE_MAX)
            return (size_t)-1;
        if (nl == NULL)
            return k + 1;   /* truncated: answered, then closed */
        size_t b = l;
        if (b > 0 && d[off + b - 1] == '\r')
            b--;
        k += b > 0;
        off += l + 1;
    }
    return k;
}

static void check_ok(int err, uint64_t seq, int status)
{
    if (err != SL_OK)
        return;
    if (status == SL_STATUS_RECORDED) {
        FUZZ_CHECK(seq > last_seq, "a new record got a seq that is not new");
        last_seq = seq;
    } else {
        FUZZ_CHECK(status == SL_STATUS_DUPLICATE && seq >= 1 && seq <= last_seq,
                   "a duplicate names a seq never recorded");
    }
}

/* Check the replies; returns how many, and 1 in *full when the journal
 * reported it is full (the next input starts a fresh one). */
static size_t cbor_replies(int *full)
{
    size_t off = 0, k = 0;
    while (off < rlen) {
        FUZZ_CHECK(rlen - off >= 4, "a reply's length prefix is cut");
        uint32_t len = be32(rbuf + off);
        FUZZ_CHECK(len >= 1 && len <= SL_INGEST_REPLY_MAX && rlen - off - 4 >= len,
                   "a reply's length is out of range or cut");
        sl__ingest_reply r;
        FUZZ_CHECK(sl__ingest_reply_decode(rbuf + off + 4, len, &r) == SL_OK,
                   "a reply does not decode");
        if (r.err != SL_OK)
            FUZZ_CHECK(r.problem.field[0] != '\0' && r.problem.reason[0] != '\0',
                       "a refusal without field or reason");
        check_ok(r.err, r.seq, (int)r.status);
        *full |= r.err == SL_ERR_FULL;
        off += 4 + (size_t)len;
        k++;
    }
    return k;
}

static size_t json_replies(int *full)
{
    size_t off = 0, k = 0;
    while (off < rlen) {
        uint8_t *nl = memchr(rbuf + off, '\n', rlen - off);
        FUZZ_CHECK(nl != NULL, "a JSON reply without its newline");
        size_t l = (size_t)(nl - (rbuf + off));
        json_error_t je;
        json_t *o = json_loadb((const char *)rbuf + off, l, 0, &je);
        FUZZ_CHECK(json_is_object(o), "a JSON reply that is not one object");
        json_t *seq = json_object_get(o, "seq"), *st = json_object_get(o, "status");
        if (json_is_integer(seq)) {
            FUZZ_CHECK(json_is_string(st), "a JSON reply with seq but no status");
            int dup = strcmp(json_string_value(st), "duplicate") == 0;
            FUZZ_CHECK(dup || strcmp(json_string_value(st), "recorded") == 0,
                       "an unknown status");
            check_ok(SL_OK, (uint64_t)json_integer_value(seq),
                     dup ? SL_STATUS_DUPLICATE : SL_STATUS_RECORDED);
        } else {
            json_t *c = json_object_get(o, "code"), *f = json_object_get(o, "field"),
                   *why = json_object_get(o, "reason");
            FUZZ_CHECK(json_is_string(json_object_get(o, "error")) && json_is_integer(c) &&
                           json_is_string(f) && json_is_string(why) &&
                           json_string_value(f)[0] != '\0' && json_string_value(why)[0] != '\0',
                       "a JSON refusal without error, code, field and reason");
            *full |= json_integer_value(c) == SL_ERR_FULL;
        }
        json_decref(o);
        off += l + 1;
        k++;
    }
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (srv == NULL)
        setup();
    size_t step = data[0] ? data[0] : size;
    const uint8_t *d = data + 1;
    size_t n = size - 1;

    int fd;
    FUZZ_CHECK(sl_plat_unix_connect(sock, 1000, &fd) == SL_OK, "cannot connect");
    rlen = 0;
    size_t pos = 0;
    int end = 0, shut = 0;
    /* each round moves at least one byte in or out, or ends; the bound
     * catches a server that stops answering */
    for (size_t round = 0; !end; round++) {
        FUZZ_CHECK(round < 4 * n + 1000, "the server neither answers nor closes");
        if (pos < n) {
            size_t put = 0;
            size_t k = step < n - pos ? step : n - pos;
            int rc = sl_plat_sock_write(fd, d + pos, k, &put);
            if (rc == SL_OK)
                pos += put;
            else if (rc != SL_ERR_BUSY)
                pos = n;   /* the server closed early: a bad prefix ends the stream */
        } else if (!shut) {
            shutdown(fd, SHUT_WR);
            shut = 1;
        }
        service();
        end = drain(fd);
    }
    sl_plat_close(fd);
    service();   /* the server notices the close and frees the slot */
    sl__ingest_stats st;
    sl__ingest_stats_get(srv, &st);
    FUZZ_CHECK(st.clients == 0, "the server kept a closed connection");

    int full = 0;
    int json = n > 0 && d[0] == '{';
    size_t got = json ? json_replies(&full) : cbor_replies(&full);
    size_t want = n == 0 ? 0 : json ? json_requests(d, n) : cbor_requests(d, n);
    /* on a reset the last replies may be lost with the connection */
    if (want != (size_t)-1 && end == 1)
        FUZZ_CHECK(got == want, "not one reply per request");
    else if (want != (size_t)-1)
        FUZZ_CHECK(got <= want, "more replies than requests");
    if (full) {
        teardown();
        setup();
    }
    return 0;
}
