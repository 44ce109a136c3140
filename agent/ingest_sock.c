/* The daemon's ingest socket; see ingest_sock.h and docs/PROTOCOL.md "Ingest
 * socket". */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ingest_sock.h"
#include "json_event.h"
#include "sockserv.h"

#define IN_MAX (4 + SL_INGEST_FRAME_MAX)   /* > SL_INGEST_LINE_MAX too */

enum { MODE_UNKNOWN = 0 };   /* not yet known: no byte read */

/* One request of the batch being formed: an event to record, or an
 * error found before the journal (a frame that does not decode). */
struct req {
    int conn;
    int err;                /* SL_OK: evs[ev] goes to the journal */
    sl_problem problem;
    int ev;                 /* index into evs/res, -1 when err */
};

struct sl__ingest {
    sl__sockserv *srv;
    sl_journal *j;
    int mode[SL_INGEST_MAX_CLIENTS];    /* per slot: SL_INGEST_MODE_* or MODE_UNKNOWN */
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
    return sl__sockserv_peer_allowed(uid, gid, groups, ng, self_uid, uids, n_uids, gids, n_gids);
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
static void reply(sl__ingest *g, sl__sockserv_conn *k, const sl__ingest_reply *r)
{
    if (g->mode[sl__sockserv_slot(k)] == SL_INGEST_MODE_JSON) {
        json_t *o;
        if (r->err == SL_OK)
            o = json_pack("{s:I,s:s}", "seq", (json_int_t)r->seq, "status",
                          r->status == SL_STATUS_DUPLICATE ? "duplicate" : "recorded");
        else
            o = json_pack("{s:s,s:i,s:s,s:s}", "error", err_word(r->err), "code", r->err,
                          "field", r->problem.field, "reason", r->problem.reason);
        char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
        const char *line = t ? t : "{\"error\":\"error\",\"code\":5,\"field\":\"\",\"reason\":\"out of memory\"}";
        if (sl__sockserv_send(k, line, strlen(line)) != SL_OK ||
            sl__sockserv_send(k, "\n", 1) != SL_OK)
            sl__sockserv_finish(k);
        free(t);
        json_decref(o);
        return;
    }
    uint8_t buf[4 + SL_INGEST_REPLY_MAX];
    size_t len = 0;
    if (sl__ingest_reply_encode(r, buf + 4, sizeof buf - 4, &len) != SL_OK) {
        sl__sockserv_finish(k);
        return;
    }
    buf[0] = (uint8_t)(len >> 24);
    buf[1] = (uint8_t)(len >> 16);
    buf[2] = (uint8_t)(len >> 8);
    buf[3] = (uint8_t)len;
    if (sl__sockserv_send(k, buf, len + 4) != SL_OK)
        sl__sockserv_finish(k);
}

/* Answer with an error and close: the stream cannot go on after it. */
static void reply_last(sl__ingest *g, sl__sockserv_conn *k, int err, const sl_problem *pb)
{
    sl__ingest_reply r;
    memset(&r, 0, sizeof r);
    r.err = err;
    r.problem = *pb;
    reply(g, k, &r);
    sl__sockserv_finish(k);
}

static void set_problem(sl_problem *pb, const char *field, const char *reason)
{
    snprintf(pb->field, sizeof pb->field, "%s", field);
    snprintf(pb->reason, sizeof pb->reason, "%s", reason);
}

int sl__ingest_frame_next(const uint8_t *in, size_t len, int mode, int eof,
                          const uint8_t **body, size_t *blen, size_t *used, sl_problem *pb)
{
    if (mode == SL_INGEST_MODE_JSON) {
        const uint8_t *nl = memchr(in, '\n', len);
        if (nl == NULL) {
            if (len < SL_INGEST_LINE_MAX && !eof)
                return SL_ERR_BUSY;
            /* no way to find the next line */
            set_problem(pb, "line", eof ? "truncated: the connection closed before the newline"
                                        : "longer than 16384 bytes");
            return SL_ERR_TOO_LARGE;
        }
        *body = in;
        *blen = (size_t)(nl - in);
        *used = *blen + 1;
        if (*blen > 0 && in[*blen - 1] == '\r')
            (*blen)--;
        return SL_OK;
    }
    if (len < 4) {
        if (!eof)
            return SL_ERR_BUSY;
        set_problem(pb, "frame", "truncated length prefix");
        return SL_ERR_INVALID;
    }
    uint32_t n = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
    if (n == 0 || n > SL_INGEST_FRAME_MAX) {
        char why[80];
        snprintf(why, sizeof why, "length %lu is not 1..%d", (unsigned long)n,
                 SL_INGEST_FRAME_MAX);
        set_problem(pb, "frame", why);
        return SL_ERR_TOO_LARGE;
    }
    if (len < 4 + (size_t)n) {
        if (!eof)
            return SL_ERR_BUSY;
        set_problem(pb, "frame", "truncated: the connection closed inside a frame");
        return SL_ERR_INVALID;
    }
    *body = in + 4;
    *blen = n;
    *used = 4 + (size_t)n;
    return SL_OK;
}

/* A peer connected (sockserv's admit): a refused peer gets its slot too,
 * because the answer needs the peer's framing: it goes out on its first
 * request, and nothing it sends is recorded. */
static int admit(void *ctx, const sl__sockserv_peer *p, int slot, char *bye, size_t byesz)
{
    sl__ingest *g = ctx;
    (void)bye;
    (void)byesz;
    if (slot < 0) {
        /* no slot: the peer's first read sees the end of the stream; the
         * client library reports it as SL_ERR_BUSY */
        sl_plat_log(SL_LOG_WARNING, "ingest: refused a connection: %d clients connected",
                    SL_INGEST_MAX_CLIENTS);
        return SL_ERR_BUSY;
    }
    if (!p->allowed) {
        sl_plat_log(SL_LOG_WARNING, "ingest: refused uid %u gid %u (pid %ld): not root, not the "
                    "daemon's user, not in [ingest] allowed_uids/allowed_gids", p->uid, p->gid,
                    p->pid);
        g->st.refused++;
    }
    g->mode[slot] = MODE_UNKNOWN;
    return SL_OK;
}

/* Room in the output for a full share of one batch's replies: a client
 * that does not read its replies stops being read (backpressure). */
static int room(const sl__sockserv_conn *k)
{
    return sl__sockserv_out_len(k) + (size_t)SL_INGEST_CONN_BATCH_MAX * (SL_INGEST_REPLY_MAX + 4) <=
           SL_INGEST_OUT_MAX;
}

/* Take the next complete request of k into the batch.  1 when one was
 * taken (or answered at once), 0 when none is complete. */
static int next_request(sl__ingest *g, sl__sockserv_conn *k)
{
    int ci = sl__sockserv_slot(k);
    size_t len;
    const uint8_t *in = sl__sockserv_in(k, &len);
    if (sl__sockserv_finishing(k) || len == 0)
        return 0;
    if (g->mode[ci] == MODE_UNKNOWN)
        g->mode[ci] = in[0] == '{' ? SL_INGEST_MODE_JSON : SL_INGEST_MODE_CBOR;
    sl_problem pb;
    if (!sl__sockserv_peer_of(k)->allowed) {
        set_problem(&pb, "peer", "not authorized: this uid may not use the ingest socket (see "
                    "[ingest] allowed_uids, allowed_gids)");
        reply_last(g, k, SL_ERR_PERM, &pb);
        return 1;
    }
    const uint8_t *body;
    size_t blen, used;
    int rc = sl__ingest_frame_next(in, len, g->mode[ci], sl__sockserv_eof(k), &body, &blen,
                                   &used, &pb);
    if (rc == SL_ERR_BUSY)
        return 0;
    if (rc != SL_OK) {
        reply_last(g, k, rc, &pb);
        return 1;
    }
    if (blen == 0) {
        sl__sockserv_consume(k, used);
        return 1;   /* blank lines are ignored, like `storelink record` */
    }
    if (g->pool[g->n_evs] == NULL && (g->pool[g->n_evs] = malloc(sizeof(sl_event))) == NULL)
        return 0;   /* retried on the next round */
    sl_event *ev = g->pool[g->n_evs];
    struct req *r = &g->reqs[g->n_reqs++];
    memset(r, 0, sizeof *r);
    r->conn = ci;
    r->ev = -1;
    if (g->mode[ci] == SL_INGEST_MODE_JSON) {
        rc = sl__json_parse_event((const char *)body, blen, ev, &r->problem);
    } else {
        rc = sl__codec_decode(body, blen, SL_ENC_WIRE, NULL, ev, NULL, NULL);
        if (rc != SL_OK) {
            rc = SL_ERR_INVALID;
            set_problem(&r->problem, "frame", "not a deterministic CBOR record in the journal's "
                        "wire form (docs/PROTOCOL.md \"Record\")");
        }
    }
    if (rc == SL_OK) {
        r->ev = (int)g->n_evs;
        g->evs[g->n_evs++] = ev;
    } else {
        r->err = rc;
    }
    sl__sockserv_consume(k, used);
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
            sl__sockserv_conn *k = sl__sockserv_conn_at(g->srv, i);
            if (k == NULL || taken[i] >= SL_INGEST_CONN_BATCH_MAX || !room(k))
                continue;
            if (next_request(g, k)) {
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
        sl__sockserv_conn *k = sl__sockserv_conn_at(g->srv, q->conn);
        sl__ingest_reply r;
        memset(&r, 0, sizeof r);
        if (q->ev < 0) {
            r.err = q->err;
            r.problem = q->problem;
        } else if (rc != SL_OK) {
            r.err = rc;
            set_problem(&r.problem, "journal", sl_strerror(rc));
        } else {
            const sl_result *x = &g->res[q->ev];
            r.err = x->err;
            r.seq = x->seq;
            r.status = x->status;
            r.problem = x->problem;
            if (x->err == SL_ERR_CONFLICT && r.problem.field[0] == '\0')
                set_problem(&r.problem, "txn_id", "already recorded with other content");
        }
        g->st.requests++;
        if (r.err != SL_OK)
            g->st.errors++;
        else if (r.status == SL_STATUS_DUPLICATE)
            g->st.duplicates++;
        else
            g->st.records++;
        if (k != NULL)
            reply(g, k, &r);
    }
    g->n_reqs = 0;
    g->n_evs = 0;
}

/* Everything readable this round is buffered: one group commit.  A full
 * batch leaves the rest for the next round (sl__ingest_busy), so one loop
 * pass stays bounded. */
static void round_commit(void *ctx)
{
    sl__ingest *g = ctx;
    gather(g);
    if (g->n_reqs > 0)
        commit(g);
}

int sl__ingest_open(sl__ingest **out, sl_journal *j, const sl__ingest_cfg *cfg, char *err,
                    size_t errsz)
{
    if (cfg->n_uids > SL_INGEST_MAX_IDS || cfg->n_gids > SL_INGEST_MAX_IDS)
        return SL_ERR_USAGE;
    sl__ingest *g = calloc(1, sizeof *g);
    if (g == NULL)
        return SL_ERR_NOMEM;
    g->j = j;
    g->batch_max = cfg->batch_max == 0 || cfg->batch_max > SL_INGEST_BATCH_MAX
                       ? SL_INGEST_BATCH_MAX : cfg->batch_max;
    sl__sockserv_cfg sc = {.path = cfg->path, .backlog = 64,
                           .max_clients = SL_INGEST_MAX_CLIENTS, .in_max = IN_MAX,
                           .out_max = SL_INGEST_OUT_MAX, .uids = cfg->uids, .gids = cfg->gids,
                           .n_uids = cfg->n_uids, .n_gids = cfg->n_gids};
    sl__sockserv_ops ops = {.ctx = g, .admit = admit, .round = round_commit};
    int rc = sl__sockserv_open(&g->srv, &sc, &ops);
    if (rc == SL_ERR_TOO_LARGE) {
        snprintf(err, errsz, "ingest socket: path longer than 107 bytes: %.200s", cfg->path);
        rc = SL_ERR_CONFIG;
        goto fail;
    }
    if (rc == SL_ERR_CONFLICT) {
        snprintf(err, errsz, "ingest socket %s: another storelink daemon is running on it",
                 cfg->path);
        goto fail;
    }
    if (rc != SL_OK) {
        snprintf(err, errsz, "ingest socket %s: %s", cfg->path, sl_strerror(rc));
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
    sl__sockserv_close(g->srv);
    for (int i = 0; i < SL_INGEST_BATCH_MAX; i++)
        free(g->pool[i]);
    free(g);
}

int sl__ingest_pollfds(sl__ingest *g, sl_pollfd *fds, int max)
{
    return sl__sockserv_pollfds(g->srv, fds, max);
}

void sl__ingest_service(sl__ingest *g, const sl_pollfd *fds, int n)
{
    sl__sockserv_service(g->srv, fds, n);
}

/* Does slot i hold a complete request that gather() would take now? */
static int ready(const sl__ingest *g, int i)
{
    sl__sockserv_conn *k = sl__sockserv_conn_at(g->srv, i);
    size_t len;
    const uint8_t *in = k != NULL ? sl__sockserv_in(k, &len) : NULL;
    if (k == NULL || sl__sockserv_finishing(k) || len == 0 || !room(k))
        return 0;
    if (!sl__sockserv_peer_of(k)->allowed || sl__sockserv_eof(k))
        return 1;
    int mode = g->mode[i] != MODE_UNKNOWN ? g->mode[i]
               : in[0] == '{' ? SL_INGEST_MODE_JSON : SL_INGEST_MODE_CBOR;
    const uint8_t *body;
    size_t blen, used;
    sl_problem pb;
    return sl__ingest_frame_next(in, len, mode, 0, &body, &blen, &used, &pb) != SL_ERR_BUSY;
}

int sl__ingest_busy(const sl__ingest *g)
{
    for (int i = 0; g != NULL && i < SL_INGEST_MAX_CLIENTS; i++)
        if (ready(g, i))
            return 1;
    return 0;
}

void sl__ingest_stats_get(const sl__ingest *g, sl__ingest_stats *st)
{
    memset(st, 0, sizeof *st);
    if (g == NULL)
        return;
    *st = g->st;
    st->clients = sl__sockserv_clients(g->srv);
}
