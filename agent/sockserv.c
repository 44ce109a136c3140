/* The unix-socket server under the control and ingest sockets; see
 * sockserv.h. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sockserv.h"
#include "storelink.h"

struct sl__sockserv_conn {
    int fd;                 /* -1: free slot */
    int slot;               /* this entry's index */
    int pslot;              /* its pollfd index from the last sl__sockserv_pollfds, -1 none */
    sl__sockserv_peer peer;
    int eof;                /* the peer closed its side */
    int closing;            /* close once the output is written */
    uint8_t *in;            /* in_max bytes while connected */
    size_t in_len;
    uint8_t *out;           /* queued output, at most out_max */
    size_t out_len, out_cap;
    size_t in_max, out_max; /* the server's limits (sl__sockserv_send has no server) */
};

struct sl__sockserv {
    int lfd;
    int lslot;              /* the listener's pollfd index, -1 none */
    char path[SL_SOCKSERV_PATH_MAX + 1];
    unsigned self_uid;
    unsigned uids[SL_SOCKSERV_MAX_IDS], gids[SL_SOCKSERV_MAX_IDS];
    sl__sockserv_cfg cfg;   /* path, uids and gids point into this struct */
    sl__sockserv_ops ops;
    sl__sockserv_conn *cl;  /* cfg.max_clients slots */
};

int sl__sockserv_peer_allowed(unsigned uid, unsigned gid, const unsigned *groups, size_t ng,
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

int sl__sockserv_open(sl__sockserv **out, const sl__sockserv_cfg *cfg,
                      const sl__sockserv_ops *ops)
{
    if (strlen(cfg->path) > SL_SOCKSERV_PATH_MAX)
        return SL_ERR_TOO_LARGE;
    if (cfg->max_clients < 1 || cfg->in_max == 0 || cfg->out_max == 0 || ops->admit == NULL ||
        cfg->n_uids > SL_SOCKSERV_MAX_IDS || cfg->n_gids > SL_SOCKSERV_MAX_IDS)
        return SL_ERR_USAGE;
    sl__sockserv *s = calloc(1, sizeof *s);
    if (s == NULL)
        return SL_ERR_NOMEM;
    int rc = SL_ERR_NOMEM;
    s->cl = calloc((size_t)cfg->max_clients, sizeof *s->cl);
    if (s->cl == NULL)
        goto fail;
    s->lfd = -1;
    s->lslot = -1;
    s->self_uid = sl_plat_getuid();
    memcpy(s->path, cfg->path, strlen(cfg->path) + 1);
    if (cfg->n_uids)
        memcpy(s->uids, cfg->uids, cfg->n_uids * sizeof s->uids[0]);
    if (cfg->n_gids)
        memcpy(s->gids, cfg->gids, cfg->n_gids * sizeof s->gids[0]);
    s->cfg = *cfg;
    s->cfg.path = s->path;
    s->cfg.uids = s->uids;
    s->cfg.gids = s->gids;
    s->ops = *ops;
    for (int i = 0; i < cfg->max_clients; i++) {
        s->cl[i].fd = -1;
        s->cl[i].slot = i;
        s->cl[i].pslot = -1;
    }
    rc = sl_plat_unix_listen(s->path, 0660, cfg->backlog, &s->lfd);
    if (rc != SL_OK)
        goto fail;
    *out = s;
    return SL_OK;
fail:
    free(s->cl);
    free(s);
    return rc;
}

void sl__sockserv_drop(sl__sockserv *s, sl__sockserv_conn *c)
{
    (void)s;
    if (c->fd < 0)
        return;     /* already closed (a callback dropped it) */
    int slot = c->slot;
    sl_plat_close(c->fd);
    free(c->in);
    free(c->out);
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->slot = slot;
    c->pslot = -1;
}

void sl__sockserv_close(sl__sockserv *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < s->cfg.max_clients; i++)
        if (s->cl[i].fd >= 0)
            sl__sockserv_drop(s, &s->cl[i]);
    sl_plat_close(s->lfd);
    sl_plat_unlink(s->path);
    free(s->cl);
    free(s);
}

int sl__sockserv_pollfds(sl__sockserv *s, sl_pollfd *fds, int max)
{
    int n = 0;
    s->lslot = -1;
    if (n < max) {
        s->lslot = n;
        fds[n++] = (sl_pollfd){s->lfd, 1, 0, 0, 0, 0};
    }
    for (int i = 0; i < s->cfg.max_clients; i++) {
        sl__sockserv_conn *c = &s->cl[i];
        c->pslot = -1;
        if (c->fd < 0 || n >= max)
            continue;
        c->pslot = n;
        /* a full input buffer is not read until the user takes from it:
         * no read interest then, or poll would return at once every time */
        int rd = !c->eof && !c->closing && c->in_len < c->in_max;
        fds[n++] = (sl_pollfd){c->fd, rd, c->out_len > 0, 0, 0, 0};
    }
    return n;
}

/* Read what is there, handing each chunk to the data callback; 0 when the
 * client is to be closed now. */
static int read_conn(sl__sockserv *s, sl__sockserv_conn *c)
{
    while (!c->eof && !c->closing && c->in_len < c->in_max) {
        size_t got;
        int rc = sl_plat_sock_read(c->fd, c->in + c->in_len, c->in_max - c->in_len, &got);
        if (rc == SL_ERR_BUSY)
            return 1;
        if (rc != SL_OK)
            return 0;
        if (got == 0)
            c->eof = 1;
        c->in_len += got;
        if (s->ops.data != NULL && s->ops.data(s->ops.ctx, c) != SL_OK)
            return 0;
        if (c->fd < 0)
            return 1;   /* the callback dropped it (sl__sockserv_drop) */
    }
    return 1;
}

/* Write what the socket takes now; 0 when the client is finished. */
static int write_out(sl__sockserv_conn *c)
{
    while (c->out_len > 0) {
        size_t put;
        int rc = sl_plat_sock_write(c->fd, c->out, c->out_len, &put);
        if (rc == SL_ERR_BUSY)
            return 1;
        if (rc != SL_OK || put == 0)
            return 0;
        memmove(c->out, c->out + put, c->out_len - put);
        c->out_len -= put;
    }
    return !c->closing;
}

int sl__sockserv_flush(sl__sockserv *s, sl__sockserv_conn *c)
{
    if (write_out(c))
        return SL_OK;
    sl__sockserv_drop(s, c);
    return SL_ERR_IO;
}

/* Accept one peer; 0 when nobody is waiting. */
static int accept_one(sl__sockserv *s)
{
    int fd;
    if (sl_plat_unix_accept(s->lfd, &fd) != SL_OK)
        return 0;
    sl__sockserv_peer p;
    memset(&p, 0, sizeof p);
    unsigned gid = 0, groups[SL_SOCKSERV_MAX_GROUPS];
    size_t ng = 0;
    if (sl_plat_peer_cred(fd, &p.pid, &p.uid, &gid) == SL_OK) {
        /* groups only matter when groups are allowed; an unreadable list
         * simply counts as no supplementary groups (it can only refuse) */
        if (s->cfg.n_gids > 0 &&
            sl_plat_pid_groups(p.pid, groups, SL_SOCKSERV_MAX_GROUPS, &ng) != SL_OK)
            ng = 0;
        p.gid = gid;
        p.allowed = sl__sockserv_peer_allowed(p.uid, gid, groups, ng, s->self_uid, s->uids,
                                              s->cfg.n_uids, s->gids, s->cfg.n_gids);
    }
    sl__sockserv_conn *c = NULL;
    for (int i = 0; i < s->cfg.max_clients && c == NULL; i++)
        if (s->cl[i].fd < 0)
            c = &s->cl[i];
    uint8_t *in = NULL;
    if (c != NULL && (in = malloc(s->cfg.in_max)) == NULL) {
        sl_plat_close(fd);
        return 1;
    }
    char bye[SL_SOCKSERV_BYE_MAX] = "";
    if (s->ops.admit(s->ops.ctx, &p, c ? c->slot : -1, bye, sizeof bye) != SL_OK || c == NULL) {
        size_t put;
        /* best effort: a short line fits the empty socket buffer */
        if (bye[0])
            (void)sl_plat_sock_write(fd, bye, strlen(bye), &put);
        sl_plat_close(fd);
        free(in);
        return 1;
    }
    c->fd = fd;
    c->peer = p;
    c->in = in;
    c->in_max = s->cfg.in_max;
    c->out_max = s->cfg.out_max;
    return 1;
}

void sl__sockserv_service(sl__sockserv *s, const sl_pollfd *fds, int n)
{
    for (int i = 0; i < s->cfg.max_clients; i++) {
        sl__sockserv_conn *c = &s->cl[i];
        int ps = c->pslot;
        if (c->fd < 0 || ps < 0 || ps >= n || fds[ps].fd != c->fd)
            continue;
        int alive = 1;
        if (fds[ps].readable || fds[ps].error)
            alive = read_conn(s, c);
        /* before the round: room in the output lets a backed-up client's
         * requests be taken in this round */
        if (alive && c->fd >= 0 && c->out_len > 0)
            alive = write_out(c);
        if (!alive)
            sl__sockserv_drop(s, c);
    }
    if (s->lslot >= 0 && s->lslot < n && fds[s->lslot].readable)
        for (int i = 0; i < s->cfg.max_clients + 1 && accept_one(s); i++)
            ;
    if (s->ops.round != NULL)
        s->ops.round(s->ops.ctx);
    for (int i = 0; i < s->cfg.max_clients; i++) {
        sl__sockserv_conn *c = &s->cl[i];
        if (c->fd < 0)
            continue;
        int alive = write_out(c);
        /* a peer that closed its side is done once its requests are
         * answered; a refused peer's leftover input is never taken */
        if (alive && c->eof && c->out_len == 0 && (c->in_len == 0 || !c->peer.allowed))
            alive = 0;
        if (!alive)
            sl__sockserv_drop(s, c);
    }
}

unsigned sl__sockserv_clients(const sl__sockserv *s)
{
    unsigned n = 0;
    for (int i = 0; s != NULL && i < s->cfg.max_clients; i++)
        n += s->cl[i].fd >= 0;
    return n;
}

sl__sockserv_conn *sl__sockserv_conn_at(sl__sockserv *s, int slot)
{
    if (s == NULL || slot < 0 || slot >= s->cfg.max_clients || s->cl[slot].fd < 0)
        return NULL;
    return &s->cl[slot];
}

int sl__sockserv_slot(const sl__sockserv_conn *c)
{
    return c->slot;
}

const sl__sockserv_peer *sl__sockserv_peer_of(const sl__sockserv_conn *c)
{
    return &c->peer;
}

const uint8_t *sl__sockserv_in(const sl__sockserv_conn *c, size_t *len)
{
    *len = c->in_len;
    return c->in;
}

void sl__sockserv_consume(sl__sockserv_conn *c, size_t n)
{
    if (n > c->in_len)
        n = c->in_len;
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
}

int sl__sockserv_in_full(const sl__sockserv_conn *c)
{
    return c->in_len >= c->in_max;
}

int sl__sockserv_eof(const sl__sockserv_conn *c)
{
    return c->eof;
}

int sl__sockserv_send(sl__sockserv_conn *c, const void *data, size_t n)
{
    void *out = c->out;
    int ok = sl__buf_append(&out, &c->out_len, &c->out_cap, data, n, c->out_max);
    c->out = out;
    return ok ? SL_OK : SL_ERR_FULL;
}

size_t sl__sockserv_out_len(const sl__sockserv_conn *c)
{
    return c->out_len;
}

void sl__sockserv_finish(sl__sockserv_conn *c)
{
    c->closing = 1;
    c->in_len = 0;
}

int sl__sockserv_finishing(const sl__sockserv_conn *c)
{
    return c->closing;
}
