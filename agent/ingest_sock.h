/*
 * ingest_sock.h - the daemon's local ingest socket (docs/PROTOCOL.md "Ingest
 * socket"): a unix stream socket, mode 0660, default
 * <state_dir>/ingest.sock, where POS programs and scripts record events
 * without shelling out to the CLI.
 *
 * A connection speaks one of two framings, chosen by its first byte:
 *   '{'        newline-delimited JSON events as `storelink record` reads
 *              them; each answered by one JSON line;
 *   otherwise  frames of a 4-byte big-endian length and that many bytes of
 *              deterministic CBOR in the journal's record schema, wire form
 *              (SL_ENC_WIRE: no seq, no prev; ts 0 = "now"); each answered
 *              by one length-prefixed CBOR reply map (ingest reply below).
 * A request is answered only after its record is durable.
 *
 * Group commit: every request readable in one poll round (everything that
 * arrived while the previous commit was being fsync'd) is recorded with one
 * sl_journal_record_many call, at most SL_INGEST_BATCH_MAX events, one
 * LMDB commit; replies go out after it, in each connection's order.
 */
#ifndef SL_INGEST_SOCK_H
#define SL_INGEST_SOCK_H

#include <stddef.h>
#include <stdint.h>

#include "platform.h"
#include "storelink.h"

#define SL_INGEST_MAX_CLIENTS 32
#define SL_INGEST_FRAME_MAX 32768         /* one CBOR frame's payload (SL_RECORD_MAX) */
#define SL_INGEST_LINE_MAX (SL_EVENT_JSON_MAX + 1)  /* one JSON line, newline included */
#define SL_INGEST_BATCH_MAX 256           /* events in one group commit */
#define SL_INGEST_CONN_BATCH_MAX 64       /* of those, from one connection */
#define SL_INGEST_OUT_MAX (64 * 1024)     /* queued replies per connection */
#define SL_INGEST_MAX_IDS 16              /* allowed_uids / allowed_gids entries */
#define SL_INGEST_REPLY_MAX 512           /* one encoded reply (CBOR or JSON) */

/* Reply map keys (CBOR), never renumbered. */
enum {
    SL_KR_SEQ = 1, SL_KR_STATUS = 2, SL_KR_ERROR = 3, SL_KR_FIELD = 4, SL_KR_REASON = 5,
};

/* One reply: err == SL_OK with seq/status, or the error with the problem. */
typedef struct sl__ingest_reply {
    int err;
    uint64_t seq;
    sl_status status;
    sl_problem problem;
} sl__ingest_reply;

/* Encode a reply as CBOR (the map, without the length prefix) into buf.
 * SL_OK or SL_ERR_TOO_LARGE.  (agent/client.c: shared by both sides.) */
int sl__ingest_reply_encode(const sl__ingest_reply *r, uint8_t *buf, size_t cap, size_t *len);
/* Decode a CBOR reply map.  SL_OK or SL_ERR_CORRUPT. */
int sl__ingest_reply_decode(const uint8_t *buf, size_t len, sl__ingest_reply *r);

/* A connection's framing, fixed by its first byte ('{': JSON). */
enum { SL_INGEST_MODE_CBOR = 1, SL_INGEST_MODE_JSON = 2 };

/* The frame reader: find the next request at the start of a connection's
 * input in[0..len) in framing mode (SL_INGEST_MODE_*); eof: the peer
 * closed its side, no more bytes will come.  Pure (no I/O, no allocation).
 *   SL_OK             the request is (*body)[0..*blen), *used bytes of the
 *                     input with its prefix or newline (a JSON line loses a
 *                     trailing CR; *blen 0 is a blank line: skip it);
 *   SL_ERR_BUSY       not complete yet: read more;
 *   SL_ERR_TOO_LARGE, SL_ERR_INVALID  the stream is broken here (length
 *                     out of 1..SL_INGEST_FRAME_MAX, line over
 *                     SL_INGEST_LINE_MAX, truncated at eof): *problem says
 *                     why; answer it and close, the stream cannot be
 *                     resynchronised.
 * *body points into in (borrowed). */
int sl__ingest_frame_next(const uint8_t *in, size_t len, int mode, int eof,
                          const uint8_t **body, size_t *blen, size_t *used, sl_problem *problem);

typedef struct sl__ingest sl__ingest;

typedef struct sl__ingest_cfg {
    const char *path;                       /* socket file */
    const unsigned *uids, *gids;            /* allowed, besides root and our uid */
    size_t n_uids, n_gids;
    unsigned batch_max;                     /* 1..SL_INGEST_BATCH_MAX; 0 = the maximum */
} sl__ingest_cfg;

typedef struct sl__ingest_stats {
    uint64_t requests;      /* requests answered */
    uint64_t records;       /* events newly recorded */
    uint64_t duplicates;
    uint64_t errors;        /* requests answered with an error */
    uint64_t commits;       /* journal commits (group commits) made */
    uint64_t refused;       /* connections refused by the peer check */
    unsigned clients;       /* connected now */
} sl__ingest_stats;

/* Listen on cfg->path (mode 0660) and record into j (borrowed: it must
 * outlive the server).  SL_ERR_CONFLICT when another daemon answers there.
 * err gets one line.  *out is freed with sl__ingest_close. */
int sl__ingest_open(sl__ingest **out, sl_journal *j, const sl__ingest_cfg *cfg, char *err,
                    size_t errsz);
/* Close every connection and the listener, remove the socket file.  NULL ok. */
void sl__ingest_close(sl__ingest *g);
/* Add the fds to poll to fds[0..max); returns how many were added. */
int sl__ingest_pollfds(sl__ingest *g, sl_pollfd *fds, int max);
/* After poll: accept, read, record (group commit), reply. */
void sl__ingest_service(sl__ingest *g, const sl_pollfd *fds, int n);
/* 1 when complete requests wait in a buffer (the batch was full): poll
 * with timeout 0 and service again. */
int sl__ingest_busy(const sl__ingest *g);
void sl__ingest_stats_get(const sl__ingest *g, sl__ingest_stats *st);
/* Is a peer with uid, primary gid and supplementary groups[0..ng)
 * allowed: root, self_uid, a uid in uids, or a group in gids.  1 yes, 0 no. */
int sl__ingest_peer_allowed(unsigned uid, unsigned gid, const unsigned *groups, size_t ng,
                            unsigned self_uid, const unsigned *uids, size_t n_uids,
                            const unsigned *gids, size_t n_gids);

#endif
