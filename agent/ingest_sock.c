/* The daemon's ingest socket; see ingest_sock.h and docs/PROTOCOL.md "Ingest
 * socket". */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "codec.h"
#include "ingest_sock.h"
#include "json_event.h"

#define IN_MAX (4 + SL_INGEST_FRAME_MAX)   /* > SL_INGEST_LINE_MAX too */
#define MAX_GROUPS 256

enum { MODE_UNKNOWN = 0, MODE_CBOR = 1, MODE_JSON = 2 };

struct conn {
    int fd;                 /* -1: free slot */
    long pid;
    unsigned uid;
    int refused;            /* answer the first request with "not allowed", then close */
    int mode;
    int eof;                /* the peer closed its side: answer what is buffered, then close */
    int closing;            /* close once the output is flushed */
    size_t in_len;
    uint8_t *in;            /* IN_MAX bytes */
    uint8_t *out;           /* queued replies, at most SL_INGEST_OUT_MAX */
    size_t out_len, out_cap;
};

/* One request of the batch being formed: an event to record, or an
 * error found before the journal (a frame that does not decode). */
struct req {
    int conn;
    int err;                /* SL_OK: evs[ev] goes to the journal */
    sl_problem problem;
    int ev;                 /* index into evs/res, -1 when err */
};

struct sl__ingest {
    int lfd;
    char path[108];
    sl_journal *j;
    unsigned self_uid;
    unsigned uids[SL_INGEST_MAX_IDS], gids[SL_INGEST_MAX_IDS];
    size_t n_uids, n_gids;
    struct conn cl[SL_INGEST_MAX_CLIENTS];
    int slot_of[SL_INGEST_MAX_CLIENTS];
    int lslot;
    /* the batch: pool[i] are reused event buffers (an sl_event is ~23 KiB) */
    sl_event *pool[SL_INGEST_BATCH_MAX];
    const sl_event *evs[SL_INGEST_BATCH_MAX];
    sl_result res[SL_INGEST_BATCH_MAX];
    struct req reqs[SL_INGEST_BATCH_MAX];
    size_t n_reqs, n_evs;
    size_t batch_max;
    sl__ingest_stats st;
};

int sl__ingest_peer_allowed(unsigned uid, unsigned gid, const unsigned *groups, size_t ng,
                            unsigned self_uid, const unsigned *uids, size_t n_uids,
                            const unsigned *gids, size_t n_gids)
{
    if (uid == 0 || uid == self_uid)
        return 1;
    for (size_t i = 0; i < n_uids; i++)
        if (uids[i] == uid)
            return 1;
    for (size_t i = 0; i < n_gids; i++) {
        if (gids[i] == gid)
            return 1;
        for (size_t k = 0; k < ng; k++)
            if (groups[k] == gids[i])
                return 1;
    }
    return 0;
}

static void drop(sl__ingest *g, struct conn *k)
{
    (void)g;
    sl_plat_close(k->fd);
    free(k->in);
    free(k->out);
    memset(k, 0, sizeof *k);
    k->fd = -1;
}

/* Queue bytes; 0 when the connection's output limit is reached. */
static int queue(struct conn *k, const void *s, size_t n)
{
    void *out = k->out;
    int ok = sl__buf_append(&out, &k->out_len, &k->out_cap, s, n, SL_INGEST_OUT_MAX);
    k->out = out;
    return ok;
}

static const char *err_word(int err)
{
    switch (err) {
    case SL_ERR_INVALID: return "invalid";
    case SL_ERR_CONFLICT: return "conflict";
    case SL_ERR_FULL: return "full";
    case SL_ERR_PERM: return "not authorized";
    case SL_ERR_TOO_LARGE: return "too large";
    case SL_ERR_DISK_FULL: return "disk full";
    default: return "error";
    }
}

/* Queue one reply in the connection's framing.  A connection whose
 * output is full (it does not read) is closed: we never hold its replies
 * unboundedly, and parsing stops well before this (see room()). */
static void reply(struct conn *k, const sl__ingest_reply *r)
{
    if (k->mode == MODE_JSON) {
        json_t *o;
        if (r->err == SL_OK)
            o = json_pack("{s:I,s:s}", "seq", (json_int_t)r->seq, "status",
                          r->status == SL_STATUS_DUPLICATE ? "duplicate" : "recorded");
        else
            o = json_pack("{s:s,s:i,s:s,s:s}", "error", err_word(r->err), "code", r->err,
                          "field", r->problem.field, "reason", r->problem.reason);
        char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
        const char *line = t ? t : "{\"error\":\"error\",\"code\":5,\"field\":\"\",\"reason\":\"out of memory\"}";
        if (!queue(k, line, strlen(line)) || !queue(k, "\n", 1))
            k->closing = 1;
        free(t);
        json_decref(o);
        return;
    }
    uint8_t buf[4 + SL_INGEST_REPLY_MAX];
    size_t len = 0;
    if (sl__ingest_reply_encode(r, buf + 4, sizeof buf - 4, &len) != SL_OK) {
        k->closing = 1;
        return;
    }
    buf[0] = (uint8_t)(len >> 24);
    buf[1] = (uint8_t)(len >> 16);
    buf[2] = (uint8_t)(len >> 8);
    buf[3] = (uint8_t)len;
    if (!queue(k, buf, len + 4))
        k->closing = 1;
}

static void reply_err(struct conn *k, int err, const char *field, const char *reason)
{
    sl__ingest_reply r;
    memset(&r, 0, sizeof r);
    r.err = err;
    snprintf(r.problem.field, sizeof r.problem.field, "%s", field);
    snprintf(r.problem.reason, sizeof r.problem.reason, "%s", reason);
    reply(k, &r);
}

/* Write what the socket takes now; 0 when the connection is finished. */
static int flush(struct conn *k)
{
    while (k->out_len > 0) {
        size_t put;
        int rc = sl_plat_sock_write(k->fd, k->out, k->out_len, &put);
        if (rc == SL_ERR_BUSY)
            return 1;
        if (rc != SL_OK || put == 0)
            return 0;
        memmove(k->out, k->out + put, k->out_len - put);
        k->out_len -= put;
    }
    return !k->closing;
}

int sl__ingest_open(sl__ingest **out, sl_journal *j, const sl__ingest_cfg *cfg, char *err,
                    size_t errsz)
{
    if (cfg->n_uids > SL_INGEST_MAX_IDS || cfg->n_gids > SL_INGEST_MAX_IDS)
        return SL_ERR_USAGE;
    sl__ingest *g = calloc(1, sizeof *g);
    if (g == NULL)
        return SL_ERR_NOMEM;
    g->lfd = -1;
    g->j = j;
    g->self_uid = sl_plat_getuid();
    for (int i = 0; i < SL_INGEST_MAX_CLIENTS; i++)
        g->cl[i].fd = -1;
    if (cfg->n_uids)
        memcpy(g->uids, cfg->uids, cfg->n_uids * sizeof g->uids[0]);
    if (cfg->n_gids)
        memcpy(g->gids, cfg->gids, cfg->n_gids * sizeof g->gids[0]);
    g->batch_max = cfg->batch_max == 0 || cfg->batch_max > SL_INGEST_BATCH_MAX
                       ? SL_INGEST_BATCH_MAX : cfg->batch_max;
    g->n_uids = cfg->n_uids;
    g->n_gids = cfg->n_gids;
    int rc;
    if (strlen(cfg->path) >= sizeof g->path) {
        snprintf(err, errsz, "ingest socket: path longer than 107 bytes: %.200s", cfg->path);
        rc = SL_ERR_CONFIG;
        goto fail;
    }
    memcpy(g->path, cfg->path, strlen(cfg->path) + 1);
    rc = sl_plat_unix_listen(g->path, 0660, 64, &g->lfd);
    if (rc == SL_ERR_CONFLICT) {
        snprintf(err, errsz, "ingest socket %s: another storelink daemon is running on it",
                 g->path);
        goto fail;
    }
    if (rc != SL_OK) {
        snprintf(err, errsz, "ingest socket %s: %s", g->path, sl_strerror(rc));
        goto fail;
    }
    *out = g;
    return SL_OK;
fail:
    free(g);
    return rc;
}

void sl__ingest_close(sl__ingest *g)
{
    if (g == NULL)
        return;
    for (int i = 0; i < SL_INGEST_MAX_CLIENTS; i++)
        if (g->cl[i].fd >= 0)
            drop(g, &g->cl[i]);
    for (int i = 0; i < SL_INGEST_BATCH_MAX; i++)
        free(g->pool[i]);
    sl_plat_close(g->lfd);
    sl_plat_unlink(g->path);
    free(g);
}

int sl__ingest_pollfds(sl__ingest *g, sl_pollfd *fds, int max)
{
    int n = 0;
    g->lslot = -1;
    if (n < max) {
        g->lslot = n;
        fds[n++] = (sl_pollfd){g->lfd, 1, 0, 0, 0, 0};
    }
    for (int i = 0; i < SL_INGEST_MAX_CLIENTS; i++) {
        struct conn *k = &g->cl[i];
        g->slot_of[i] = -1;
        if (k->fd < 0 || n >= max)
            continue;
        g->slot_of[i] = n;
        fds[n++] = (sl_pollfd){k->fd, !k->eof && k->in_len < IN_MAX, k->out_len > 0, 0, 0, 0};
    }
    return n;
}

static void accept_one(sl__ingest *g)
{
    int fd;
    if (sl_plat_unix_accept(g->lfd, &fd) != SL_OK)
        return;
    struct conn *k = NULL;
    for (int i = 0; i < SL_INGEST_MAX_CLIENTS && k == NULL; i++)
        if (g->cl[i].fd < 0)
            k = &g->cl[i];
    if (k == NULL) {
        /* no slot: the peer's first read sees the end of the stream; the
         * client library reports it as SL_ERR_BUSY */
        sl_plat_log(SL_LOG_WARNING, "ingest: refused a connection: %d clients connected",
                    SL_INGEST_MAX_CLIENTS);
        sl_plat_close(fd);
        return;
    }
    memset(k, 0, sizeof *k);
    k->fd = fd;
    k->in = malloc(IN_MAX);
    if (k->in == NULL) {
        drop(g, k);
        return;
    }
    unsigned gid = 0, groups[MAX_GROUPS];
    size_t ng = 0;
    int allowed = 0;
    if (sl_plat_peer_cred(fd, &k->pid, &k->uid, &gid) == SL_OK) {
        if (g->n_gids > 0 && sl_plat_pid_groups(k->pid, groups, MAX_GROUPS, &ng) != SL_OK)
            ng = 0;
        allowed = sl__ingest_peer_allowed(k->uid, gid, groups, ng, g->self_uid, g->uids,
                                          g->n_uids, g->gids, g->n_gids);
    }
    if (!allowed) {
        sl_plat_log(SL_LOG_WARNING, "ingest: refused uid %u gid %u (pid %ld): not root, not the "
                    "daemon's user, not in [ingest] allowed_uids/allowed_gids", k->uid, gid,
                    k->pid);
        g->st.refused++;
        /* the answer needs the peer's framing: it goes out on its first
         * request, and nothing it sends is recorded */
        k->refused = 1;
    }
}

/* Room in the output for a full share of one batch's replies: a client
 * that does not read its replies stops being read (backpressure). */
static int room(const struct conn *k)
{
    return k->out_len + (size_t)SL_INGEST_CONN_BATCH_MAX * (SL_INGEST_REPLY_MAX + 4) <=
           SL_INGEST_OUT_MAX;
}

/* Read what is there; 0 when the connection failed. */
static int read_conn(struct conn *k)
{
    while (!k->eof && k->in_len < IN_MAX) {
        size_t got;
        int rc = sl_plat_sock_read(k->fd, k->in + k->in_len, IN_MAX - k->in_len, &got);
        if (rc == SL_ERR_BUSY)
            return 1;
        if (rc != SL_OK)
            return 0;
        if (got == 0)
            k->eof = 1;
        k->in_len += got;
    }
    return 1;
}

static void consume(struct conn *k, size_t n)
{
    memmove(k->in, k->in + n, k->in_len - n);
    k->in_len -= n;
}

/* Take the next complete request of k into the batch.  1 when one was
 * taken (or answered at once), 0 when none is complete. */
static int next_request(sl__ingest *g, int ci)
{
    struct conn *k = &g->cl[ci];
    if (k->closing || k->in_len == 0)
        return 0;
    if (k->mode == MODE_UNKNOWN)
        k->mode = k->in[0] == '{' ? MODE_JSON : MODE_CBOR;
    if (k->refused) {
        reply_err(k, SL_ERR_PERM, "peer", "not authorized: this uid may not use the ingest "
                  "socket (see [ingest] allowed_uids, allowed_gids)");
        k->closing = 1;
        k->in_len = 0;
        return 1;
    }
    const uint8_t *body;
    size_t blen, used;
    if (k->mode == MODE_JSON) {
        uint8_t *nl = memchr(k->in, '\n', k->in_len);
        if (nl == NULL) {
            if (k->in_len >= SL_INGEST_LINE_MAX || k->eof) {
                /* no way to find the next line: answer and close */
                reply_err(k, SL_ERR_TOO_LARGE, "line", k->eof ? "truncated: the connection "
                          "closed before the newline" : "longer than 16384 bytes");
                k->closing = 1;
                k->in_len = 0;
                return 1;
            }
            return 0;
        }
        body = k->in;
        blen = (size_t)(nl - k->in);
        used = blen + 1;
        if (blen > 0 && body[blen - 1] == '\r')
            blen--;
        if (blen == 0) {
            consume(k, used);
            return 1;   /* blank lines are ignored, like `storelink record` */
        }
    } else {
        if (k->in_len < 4) {
            if (k->eof) {
                reply_err(k, SL_ERR_INVALID, "frame", "truncated length prefix");
                k->closing = 1;
                k->in_len = 0;
                return 1;
            }
            return 0;
        }
        uint32_t len = (uint32_t)k->in[0] << 24 | (uint32_t)k->in[1] << 16 |
                       (uint32_t)k->in[2] << 8 | k->in[3];
        if (len == 0 || len > SL_INGEST_FRAME_MAX) {
            char why[80];
            snprintf(why, sizeof why, "length %lu is not 1..%d", (unsigned long)len,
                     SL_INGEST_FRAME_MAX);
            reply_err(k, SL_ERR_TOO_LARGE, "frame", why);
            k->closing = 1;   /* the stream cannot be resynchronised */
            k->in_len = 0;
            return 1;
        }
        if (k->in_len < 4 + (size_t)len) {
            if (k->eof) {
                reply_err(k, SL_ERR_INVALID, "frame", "truncated: the connection closed "
                          "inside a frame");
                k->closing = 1;
                k->in_len = 0;
                return 1;
            }
            return 0;
        }
        body = k->in + 4;
        blen = len;
        used = 4 + (size_t)len;
    }
    if (g->pool[g->n_evs] == NULL && (g->pool[g->n_evs] = malloc(sizeof(sl_event))) == NULL)
        return 0;   /* retried on the next round */
    sl_event *ev = g->pool[g->n_evs];
    struct req *r = &g->reqs[g->n_reqs++];
    memset(r, 0, sizeof *r);
    r->conn = ci;
    r->ev = -1;
    int rc;
    if (k->mode == MODE_JSON) {
        rc = sl__json_parse_event((const char *)body, blen, ev, &r->problem);
    } else {
        rc = sl__codec_decode(body, blen, SL_ENC_WIRE, NULL, ev, NULL, NULL);
        if (rc != SL_OK) {
            rc = SL_ERR_INVALID;
            snprintf(r->problem.field, sizeof r->problem.field, "frame");
            snprintf(r->problem.reason, sizeof r->problem.reason, "not a deterministic CBOR "
                     "record in the journal's wire form (docs/PROTOCOL.md \"Record\")");
        }
    }
    if (rc == SL_OK) {
        r->ev = (int)g->n_evs;
        g->evs[g->n_evs++] = ev;
    } else {
        r->err = rc;
    }
    consume(k, used);
    return 1;
}

/* Gather requests from every connection, round robin, into one batch. */
static void gather(sl__ingest *g)
{
    int taken[SL_INGEST_MAX_CLIENTS] = {0};
    int more = 1;
    while (more && g->n_evs < g->batch_max && g->n_reqs < SL_INGEST_BATCH_MAX) {
        more = 0;
        for (int i = 0; i < SL_INGEST_MAX_CLIENTS && g->n_evs < g->batch_max &&
                        g->n_reqs < SL_INGEST_BATCH_MAX; i++) {
            struct conn *k = &g->cl[i];
            if (k->fd < 0 || taken[i] >= SL_INGEST_CONN_BATCH_MAX || !room(k))
                continue;
            if (next_request(g, i)) {
                taken[i]++;
                more = 1;
            }
        }
    }
}

/* Record the batch in one commit and answer every request of it in
 * order.  Invalid events are skipped by sl_journal_record_many, so they
 * never reach the journal. */
static void commit(sl__ingest *g)
{
    int rc = SL_OK;
    if (g->n_evs > 0) {
        rc = sl_journal_record_many(g->j, g->evs, g->n_evs, g->res);
        if (rc == SL_OK)
            g->st.commits++;
        else
            sl_plat_log(SL_LOG_ERR, "ingest: commit of %zu events failed: %s", g->n_evs,
                        sl_strerror(rc));
    }
    for (size_t i = 0; i < g->n_reqs; i++) {
        struct req *q = &g->reqs[i];
        struct conn *k = &g->cl[q->conn];
        sl__ingest_reply r;
        memset(&r, 0, sizeof r);
        if (q->ev < 0) {
            r.err = q->err;
            r.problem = q->problem;
        } else if (rc != SL_OK) {
            r.err = rc;
            snprintf(r.problem.field, sizeof r.problem.field, "journal");
            snprintf(r.problem.reason, sizeof r.problem.reason, "%s", sl_strerror(rc));
        } else {
            const sl_result *x = &g->res[q->ev];
            r.err = x->err;
            r.seq = x->seq;
            r.status = x->status;
            r.problem = x->problem;
            if (x->err == SL_ERR_CONFLICT && r.problem.field[0] == '\0') {
                snprintf(r.problem.field, sizeof r.problem.field, "txn_id");
                snprintf(r.problem.reason, sizeof r.problem.reason, "already recorded with "
                         "other content");
            }
        }
        g->st.requests++;
        if (r.err != SL_OK)
            g->st.errors++;
        else if (r.status == SL_STATUS_DUPLICATE)
            g->st.duplicates++;
        else
            g->st.records++;
        if (k->fd >= 0)
            reply(k, &r);
    }
    g->n_reqs = 0;
    g->n_evs = 0;
}

void sl__ingest_service(sl__ingest *g, const sl_pollfd *fds, int n)
{
    for (int i = 0; i < SL_INGEST_MAX_CLIENTS; i++) {
        struct conn *k = &g->cl[i];
        int s = g->slot_of[i];
        if (k->fd < 0 || s < 0 || s >= n || fds[s].fd != k->fd)
            continue;
        if ((fds[s].readable || fds[s].error) && !read_conn(k))
            drop(g, k);
        else if (k->out_len > 0 && !flush(k))
            drop(g, k);
    }
    if (g->lslot >= 0 && g->lslot < n && fds[g->lslot].readable)
        for (int i = 0; i < SL_INGEST_MAX_CLIENTS; i++)
            accept_one(g);
    /* one group commit per round; a full batch leaves the rest for the
     * next round (sl__ingest_busy), so one loop pass stays bounded */
    gather(g);
    if (g->n_reqs > 0)
        commit(g);
    for (int i = 0; i < SL_INGEST_MAX_CLIENTS; i++) {
        struct conn *k = &g->cl[i];
        if (k->fd < 0)
            continue;
        int alive = flush(k);
        /* a peer that closed its side is done once its requests are answered */
        if (alive && k->eof && k->out_len == 0 && (k->in_len == 0 || k->refused))
            alive = 0;
        if (!alive)
            drop(g, k);
    }
}

/* Does k hold a complete request that gather() would take now? */
static int ready(const struct conn *k)
{
    if (k->fd < 0 || k->closing || k->in_len == 0 || !room(k))
        return 0;
    if (k->refused || k->eof)
        return 1;
    if (k->mode == MODE_JSON || (k->mode == MODE_UNKNOWN && k->in[0] == '{'))
        return memchr(k->in, '\n', k->in_len) != NULL || k->in_len >= SL_INGEST_LINE_MAX;
    if (k->in_len < 4)
        return 0;
    uint32_t len = (uint32_t)k->in[0] << 24 | (uint32_t)k->in[1] << 16 |
                   (uint32_t)k->in[2] << 8 | k->in[3];
    return len == 0 || len > SL_INGEST_FRAME_MAX || k->in_len >= 4 + (size_t)len;
}

int sl__ingest_busy(const sl__ingest *g)
{
    for (int i = 0; g != NULL && i < SL_INGEST_MAX_CLIENTS; i++)
        if (ready(&g->cl[i]))
            return 1;
    return 0;
}

void sl__ingest_stats_get(const sl__ingest *g, sl__ingest_stats *st)
{
    memset(st, 0, sizeof *st);
    if (g == NULL)
        return;
    *st = g->st;
    for (int i = 0; i < SL_INGEST_MAX_CLIENTS; i++)
        st->clients += g->cl[i].fd >= 0;
}
