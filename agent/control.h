/*
 * control.h - the daemon's control socket (docs/PROTOCOL.md "Control
 * socket"): a unix stream socket in the state directory, mode 0660, that
 * speaks newline-delimited JSON.  Requests {"cmd":"status"},
 * {"cmd":"sync_now"}, {"cmd":"tail"}; every reply and event is one JSON
 * object on one line.  The peer's uid/gid (SO_PEERCRED) decide who may
 * talk: root, the daemon's own uid and members of admin_group.
 *
 * The server side runs inside the daemon's poll loop: it never blocks, a
 * request line is bounded, the number of clients is bounded, and a client
 * that does not read its output (a slow `tail`) is dropped when its
 * bounded output buffer is full.
 */
#ifndef SL_CONTROL_H
#define SL_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "platform.h"

#define SL_CONTROL_MAX_CLIENTS 16
#define SL_CONTROL_LINE_MAX 4096          /* one request line, newline included */
#define SL_CONTROL_OUT_MAX (256 * 1024)   /* queued output per client */
#define SL_CONTROL_MAX_GROUPS 256         /* supplementary groups looked at */
#define SL_CONTROL_REPLY_MAX 8192         /* one reply to status / sync_now */

enum { SL_CTL_STATUS = 1, SL_CTL_SYNC_NOW = 2, SL_CTL_TAIL = 3 };

/* May a peer with uid/gid and supplementary groups[0..n) use the socket of
 * a daemon running as self_uid?  admin_gid < 0 means no admin_group is
 * configured.  Allowed: uid 0, self_uid, and (with an admin group) a peer
 * whose primary or supplementary group is admin_gid.  1 yes, 0 no. */
int sl__control_peer_allowed(unsigned uid, unsigned gid, const unsigned *groups, size_t n,
                             unsigned self_uid, long admin_gid);

/* Parse one request line (without its newline) into *cmd.  SL_OK, or
 * SL_ERR_INVALID with a one-line reason naming the field in err. */
int sl__control_parse_line(const char *line, size_t len, int *cmd, char *err, size_t errsz);

/* Plain words for a connection or sync error's detail (as logged):
 * "TLS verify failure", "not authorized", "connection refused", "DNS
 * failure", "timeout", "broker closed the connection", "broker refused a
 * batch", "hub refused a batch", or "error".  "" for an empty detail. */
const char *sl__control_error_class(const char *detail);

typedef struct sl__control sl__control;

typedef struct sl__control_ops {
    void *ctx;
    /* Answer cmd (SL_CTL_*) with one JSON object, no newline, into out.
     * For SL_CTL_TAIL this is the first line the follower gets. */
    void (*request)(void *ctx, int cmd, char *out, size_t outsz);
} sl__control_ops;

/* Listen on path (mode 0660).  admin_group "" = none; a group that does
 * not exist is SL_ERR_CONFIG.  SL_ERR_CONFLICT when another daemon answers
 * on path.  err gets one line.  *out is freed with sl__control_close. */
int sl__control_open(sl__control **out, const char *path, const char *admin_group,
                     const sl__control_ops *ops, char *err, size_t errsz);
/* Close all clients and the listener and remove the socket file.  NULL ok. */
void sl__control_close(sl__control *c);
/* Add the fds to poll to fds[0..max); returns how many were added. */
int sl__control_pollfds(sl__control *c, sl_pollfd *fds, int max);
/* After poll: accept, read requests, answer, flush.  fds/n as filled by
 * sl__control_pollfds (after sl_plat_poll). */
void sl__control_service(sl__control *c, const sl_pollfd *fds, int n);
/* Number of clients following events (`tail`). */
int sl__control_tailers(const sl__control *c);
/* Queue one event line (a JSON object, newline added here) to every
 * follower; one whose buffer is full is dropped. */
void sl__control_broadcast(sl__control *c, const char *json);

/* ---- client side (storelink sync now / tail / status) ---------------- */

/* Send request_json (one JSON object, no newline) to the daemon at
 * sock_path and read one reply line into reply (NUL-terminated, newline
 * removed) within timeout_ms.  SL_OK; SL_ERR_NOT_FOUND no daemon is
 * listening; SL_ERR_PERM the socket or the daemon refused us ("not
 * authorized", reply holds the daemon's line when it sent one);
 * SL_ERR_BUSY timeout; SL_ERR_TOO_LARGE reply longer than replysz;
 * SL_ERR_IO. */
int sl__control_request(const char *sock_path, const char *request_json, int timeout_ms,
                        char *reply, size_t replysz);
/* Connect and send request_json; the caller reads lines from *fd
 * (non-blocking) and closes it with sl_plat_close.  Errors as above. */
int sl__control_open_stream(const char *sock_path, const char *request_json, int timeout_ms,
                            int *fd);
/* The socket path for a configuration: control_socket or
 * <state_dir>/control.sock.  SL_ERR_TOO_LARGE when over 107 bytes. */
int sl__control_path(const char *control_socket, const char *state_dir, char *out,
                     size_t outsz);

#endif
