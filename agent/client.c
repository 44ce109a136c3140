/* The client side of the ingest socket (include/storelink.h "Client"),
 * and the reply map both sides share (ingest_sock.h).  docs/PROTOCOL.md
 * "Ingest socket". */
#include <stdlib.h>
#include <string.h>

#include "cborio.h"
#include "codec.h"
#include "ingest_sock.h"
#include "platform.h"
#include "storelink.h"

int sl__ingest_reply_encode(const sl__ingest_reply *r, uint8_t *buf, size_t cap, size_t *len)
{
    sl__cw w;
    sl__cw_init(&w, buf, cap);
    /* keys in ascending order: the map is deterministic like the records */
    if (r->err == SL_OK) {
        sl__cw_map(&w, 2);
        sl__cw_uint(&w, SL_KR_SEQ);
        sl__cw_uint(&w, r->seq);
        sl__cw_uint(&w, SL_KR_STATUS);
        sl__cw_uint(&w, (uint64_t)r->status);
    } else {
        sl__cw_map(&w, 3);
        sl__cw_uint(&w, SL_KR_ERROR);
        sl__cw_uint(&w, (uint64_t)r->err);
        sl__cw_uint(&w, SL_KR_FIELD);
        sl__cw_cstr(&w, r->problem.field);
        sl__cw_uint(&w, SL_KR_REASON);
        sl__cw_cstr(&w, r->problem.reason);
    }
    if (w.overflow)
        return SL_ERR_TOO_LARGE;
    *len = w.len;
    return SL_OK;
}

int sl__ingest_reply_decode(const uint8_t *buf, size_t len, sl__ingest_reply *r)
{
    sl__cr rd;
    size_t n;
    unsigned have = 0;   /* bit k: key k was present */
    memset(r, 0, sizeof *r);
    sl__cr_init(&rd, buf, len);
    if (sl__cr_map(&rd, &n) != 0 || n > 5)
        return SL_ERR_CORRUPT;
    for (size_t i = 0; i < n; i++) {
        uint64_t key, v;
        if (sl__cr_uint(&rd, &key) != 0)
            return SL_ERR_CORRUPT;
        if (key <= SL_KR_REASON)
            have |= 1u << key;
        switch (key) {
        case SL_KR_SEQ:
            if (sl__cr_uint(&rd, &r->seq) != 0)
                return SL_ERR_CORRUPT;
            break;
        case SL_KR_STATUS:
            if (sl__cr_uint(&rd, &v) != 0 || v > SL_STATUS_DUPLICATE)
                return SL_ERR_CORRUPT;
            r->status = (sl_status)v;
            break;
        case SL_KR_ERROR:
            if (sl__cr_uint(&rd, &v) != 0 || v == 0 || v > 1000)
                return SL_ERR_CORRUPT;
            r->err = (int)v;
            break;
        case SL_KR_FIELD:
            if (sl__cr_tstr_copy(&rd, r->problem.field, sizeof r->problem.field) != 0)
                return SL_ERR_CORRUPT;
            break;
        case SL_KR_REASON:
            if (sl__cr_tstr_copy(&rd, r->problem.reason, sizeof r->problem.reason) != 0)
                return SL_ERR_CORRUPT;
            break;
        default:
            /* a newer daemon may add keys: skip them */
            if (sl__cr_skip(&rd) != 0)
                return SL_ERR_CORRUPT;
        }
    }
    if (rd.err || rd.off != len)
        return SL_ERR_CORRUPT;
    /* a reply must say what happened: an error, or the record's seq (from
     * 1) and status.  A map without them (say, only keys of a newer
     * daemon) would otherwise read as "recorded, seq 0": a request that
     * may have failed reported as durable. */
    if (!(have & 1u << SL_KR_ERROR) &&
        (!(have & 1u << SL_KR_SEQ) || !(have & 1u << SL_KR_STATUS) || r->seq == 0))
        return SL_ERR_CORRUPT;
    return SL_OK;
}

struct sl_client {
    int fd;
    int broken;     /* a timeout or I/O error left the stream in an unknown state */
    uint8_t buf[4 + SL_RECORD_MAX];
};

int sl_client_connect(sl_client **out, const char *path, int timeout_ms)
{
    if (out == NULL || timeout_ms < 0)
        return SL_ERR_USAGE;
    if (path == NULL || path[0] == '\0')
        path = SL_CLIENT_DEFAULT_SOCKET;
    sl_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return SL_ERR_NOMEM;
    int rc = sl_plat_unix_connect(path, timeout_ms, &c->fd);
    if (rc != SL_OK) {
        free(c);
        return rc;
    }
    *out = c;
    return SL_OK;
}

void sl_client_close(sl_client *c)
{
    if (c == NULL)
        return;
    sl_plat_close(c->fd);
    free(c);
}

/* Wait until fd is ready (read or write) or the deadline passes. */
static int wait_fd(int fd, int want_write, uint64_t deadline)
{
    uint64_t now = sl_plat_mono_ms();
    if (now >= deadline)
        return SL_ERR_BUSY;
    sl_pollfd p = {fd, !want_write, want_write, 0, 0, 0};
    sl_plat_poll(&p, 1, (int)(deadline - now > 600000 ? 600000 : deadline - now));
    return SL_OK;
}

static int send_all(sl_client *c, const uint8_t *s, size_t n, uint64_t deadline)
{
    while (n > 0) {
        size_t put;
        int rc = sl_plat_sock_write(c->fd, s, n, &put);
        if (rc == SL_OK) {
            s += put;
            n -= put;
        } else if (rc != SL_ERR_BUSY || wait_fd(c->fd, 1, deadline) != SL_OK) {
            return rc == SL_ERR_BUSY ? SL_ERR_BUSY : SL_ERR_IO;
        }
    }
    return SL_OK;
}

static int recv_all(sl_client *c, uint8_t *d, size_t n, uint64_t deadline)
{
    while (n > 0) {
        size_t got;
        int rc = sl_plat_sock_read(c->fd, d, n, &got);
        if (rc == SL_OK && got == 0)
            return SL_ERR_IO;   /* the daemon closed the connection */
        if (rc == SL_OK) {
            d += got;
            n -= got;
        } else if (rc != SL_ERR_BUSY || wait_fd(c->fd, 0, deadline) != SL_OK) {
            return rc == SL_ERR_BUSY ? SL_ERR_BUSY : SL_ERR_IO;
        }
    }
    return SL_OK;
}

int sl_client_record(sl_client *c, const sl_event *ev, int timeout_ms, uint64_t *seq,
                     sl_status *status, sl_problem *problem)
{
    if (c == NULL || ev == NULL || timeout_ms < 0)
        return SL_ERR_USAGE;
    if (problem != NULL)
        memset(problem, 0, sizeof *problem);
    if (c->broken)
        return SL_ERR_IO;
    uint64_t deadline = sl_plat_mono_ms() + (uint64_t)timeout_ms;
    size_t len;
    int rc = sl__codec_encode(ev, SL_ENC_WIRE, 0, NULL, NULL, c->buf + 4, sizeof c->buf - 4, &len);
    if (rc != SL_OK)
        return rc;
    c->buf[0] = (uint8_t)(len >> 24);
    c->buf[1] = (uint8_t)(len >> 16);
    c->buf[2] = (uint8_t)(len >> 8);
    c->buf[3] = (uint8_t)len;
    /* from here a failure leaves a half-sent request or an unread reply:
     * the connection cannot be reused */
    c->broken = 1;
    if ((rc = send_all(c, c->buf, len + 4, deadline)) != SL_OK)
        return rc;
    uint8_t hdr[4];
    if ((rc = recv_all(c, hdr, 4, deadline)) != SL_OK)
        return rc;
    size_t rlen = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
    if (rlen == 0 || rlen > SL_INGEST_REPLY_MAX)
        return SL_ERR_CORRUPT;
    if ((rc = recv_all(c, c->buf, rlen, deadline)) != SL_OK)
        return rc;
    sl__ingest_reply r;
    if (sl__ingest_reply_decode(c->buf, rlen, &r) != SL_OK)
        return SL_ERR_CORRUPT;
    c->broken = 0;
    if (r.err != SL_OK) {
        if (problem != NULL)
            *problem = r.problem;
        /* a refused peer is closed by the daemon */
        if (r.err == SL_ERR_PERM)
            c->broken = 1;
        return r.err;
    }
    if (seq != NULL)
        *seq = r.seq;
    if (status != NULL)
        *status = r.status;
    return SL_OK;
}
