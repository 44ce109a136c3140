/*
 * sockserv.h - the unix-socket server the daemon's control socket
 * (agent/control.c) and ingest socket (agent/ingest_sock.c) share: the
 * listening socket (mode 0660, a stale file left by a killed daemon
 * replaced, a live one refused), accept with the peer check (SO_PEERCRED:
 * root, the daemon's own uid, listed uids, listed groups as primary or
 * supplementary group), a fixed table of client slots, bounded input and
 * output buffers per client, and the poll-set registration.  It never
 * blocks and knows no protocol: the user reads requests out of a client's
 * input buffer and queues replies through the callbacks below.
 *
 * Ownership: sl__sockserv_conn pointers are borrowed; they stay valid until
 * that client is closed (sl__sockserv_drop, a failed sl__sockserv_flush, a
 * non-zero return from the data callback, or inside sl__sockserv_service).
 * A slot number (0..max_clients) is reused by a later client.
 */
#ifndef SL_SOCKSERV_H
#define SL_SOCKSERV_H

#include <stddef.h>
#include <stdint.h>

#include "platform.h"

#define SL_SOCKSERV_PATH_MAX 107    /* sun_path holds 107 bytes and a NUL */
#define SL_SOCKSERV_MAX_IDS 16      /* allowed uids, allowed gids */
#define SL_SOCKSERV_MAX_GROUPS 256  /* a peer's supplementary groups looked at */
#define SL_SOCKSERV_BYE_MAX 256     /* the line written to a peer refused at accept */

typedef struct sl__sockserv sl__sockserv;
typedef struct sl__sockserv_conn sl__sockserv_conn;

/* Who connected.  All zero when SO_PEERCRED failed (then never allowed). */
typedef struct sl__sockserv_peer {
    long pid;
    unsigned uid, gid;
    int allowed;            /* the peer check's verdict: 1 yes, 0 no */
} sl__sockserv_peer;

typedef struct sl__sockserv_ops {
    void *ctx;
    /* A peer connected; slot is the free slot it would get, -1 when every
     * slot is taken.  Return SL_OK to admit it (only with slot >= 0; a
     * peer that is not allowed may be admitted too, for a protocol that
     * answers it first), anything else to close it at once after writing
     * the line left in bye (best effort, "" = nothing).  Required. */
    int (*admit)(void *ctx, const sl__sockserv_peer *p, int slot, char *bye, size_t byesz);
    /* Bytes were added to c's input, or the peer closed its side
     * (sl__sockserv_eof).  Take complete requests with sl__sockserv_in /
     * sl__sockserv_consume.  Return SL_OK to keep c, anything else to close
     * it now (queued output is dropped).  NULL: input just accumulates
     * until the round callback takes it. */
    int (*data)(void *ctx, sl__sockserv_conn *c);
    /* Once per sl__sockserv_service, after every readable client was read
     * and new peers accepted, before the output is flushed: the place for
     * work over all clients at once (the ingest socket's group commit).
     * May be NULL. */
    void (*round)(void *ctx);
} sl__sockserv_ops;

typedef struct sl__sockserv_cfg {
    const char *path;           /* socket file, at most SL_SOCKSERV_PATH_MAX bytes */
    int backlog;                /* listen(2) backlog */
    int max_clients;            /* slots, >= 1 */
    size_t in_max;              /* input buffered per client: the longest request */
    size_t out_max;             /* output queued per client */
    /* the peer check: root and the daemon's own uid always; besides them
     * these uids, and peers whose primary or supplementary group is one of
     * these gids (at most SL_SOCKSERV_MAX_IDS each) */
    const unsigned *uids, *gids;
    size_t n_uids, n_gids;
} sl__sockserv_cfg;

/* The peer check on its own: uid 0, self_uid, a uid in uids, or a gid in
 * gids equal to gid or one of groups[0..ng).  1 allowed, 0 not. */
int sl__sockserv_peer_allowed(unsigned uid, unsigned gid, const unsigned *groups, size_t ng,
                              unsigned self_uid, const unsigned *uids, size_t n_uids,
                              const unsigned *gids, size_t n_gids);

/* Listen on cfg->path with mode 0660 (cfg and ops are copied).  SL_OK;
 * SL_ERR_TOO_LARGE path over SL_SOCKSERV_PATH_MAX bytes; SL_ERR_USAGE
 * bad cfg; SL_ERR_CONFLICT another process answers on the path; SL_ERR_NOMEM;
 * the error of sl_plat_unix_listen.  The caller words the message.  *out
 * is freed with sl__sockserv_close. */
int sl__sockserv_open(sl__sockserv **out, const sl__sockserv_cfg *cfg,
                      const sl__sockserv_ops *ops) __attribute__((warn_unused_result));
/* Close every client and the listener, remove the socket file.  NULL ok. */
void sl__sockserv_close(sl__sockserv *s);
/* Add the listener and the clients to fds[0..max); returns how many. */
int sl__sockserv_pollfds(sl__sockserv *s, sl_pollfd *fds, int max);
/* After sl_plat_poll over what sl__sockserv_pollfds added (fds, n): read
 * the readable clients (data callback), accept new peers (admit), run the
 * round callback, write queued output, and close the clients that are
 * finished. */
void sl__sockserv_service(sl__sockserv *s, const sl_pollfd *fds, int n);
/* Clients connected now. */
unsigned sl__sockserv_clients(const sl__sockserv *s);

/* The client in slot (0 .. max_clients), NULL when the slot is free. */
sl__sockserv_conn *sl__sockserv_conn_at(sl__sockserv *s, int slot);
int sl__sockserv_slot(const sl__sockserv_conn *c);
const sl__sockserv_peer *sl__sockserv_peer_of(const sl__sockserv_conn *c);
/* The buffered input (borrowed until the next consume or read). */
const uint8_t *sl__sockserv_in(const sl__sockserv_conn *c, size_t *len);
/* Drop the first n bytes of the input (at most what is there). */
void sl__sockserv_consume(sl__sockserv_conn *c, size_t n);
/* 1 when the input buffer is full (in_max bytes): a request longer than
 * that cannot complete. */
int sl__sockserv_in_full(const sl__sockserv_conn *c);
/* 1 once the peer closed its side: nothing more will be read.  A client at
 * the end of its stream is closed when its output is written and its input
 * is used up (or it was not allowed: its leftover input is never taken). */
int sl__sockserv_eof(const sl__sockserv_conn *c);
/* Queue n bytes of output.  SL_OK, or SL_ERR_FULL when they would pass
 * out_max (nothing queued: the client does not read, or memory is short). */
int sl__sockserv_send(sl__sockserv_conn *c, const void *data, size_t n)
    __attribute__((warn_unused_result));
size_t sl__sockserv_out_len(const sl__sockserv_conn *c);
/* Stop reading c, discard its input, and close it once its queued output
 * is written (the last answer before closing). */
void sl__sockserv_finish(sl__sockserv_conn *c);
int sl__sockserv_finishing(const sl__sockserv_conn *c);
/* Write what the socket takes now.  SL_OK while c stays open; SL_ERR_IO
 * after c was closed (a write failed, or a finishing client is done). */
int sl__sockserv_flush(sl__sockserv *s, sl__sockserv_conn *c);
/* Close c now; queued output is dropped. */
void sl__sockserv_drop(sl__sockserv *s, sl__sockserv_conn *c);

#endif
