/* The daemon's control socket; see control.h and docs/PROTOCOL.md
 * "Control socket". */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "control.h"
#include "storelink.h"

struct client {
    int fd;                 /* -1: free slot */
    long pid;
    unsigned uid;
    int tail;               /* following events */
    int closing;            /* close once the output is flushed */
    size_t in_len;
    char in[SL_CONTROL_LINE_MAX];
    char *out;              /* queued output, at most SL_CONTROL_OUT_MAX */
    size_t out_len, out_cap;
};

struct sl__control {
    int lfd;
    char path[108];
    long admin_gid;         /* -1: no admin group */
    unsigned self_uid;
    sl__control_ops ops;
    struct client cl[SL_CONTROL_MAX_CLIENTS];
    /* which pollfd slot belongs to what, from the last sl__control_pollfds */
    int slot_of[SL_CONTROL_MAX_CLIENTS];
    int lslot;
};

int sl__control_peer_allowed(unsigned uid, unsigned gid, const unsigned *groups, size_t n,
                             unsigned self_uid, long admin_gid)
{
    if (uid == 0 || uid == self_uid)
        return 1;
    if (admin_gid < 0)
        return 0;
    if (gid == (unsigned)admin_gid)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (groups[i] == (unsigned)admin_gid)
            return 1;
    return 0;
}

int sl__control_parse_line(const char *line, size_t len, int *cmd, char *err, size_t errsz)
{
    static const struct { const char *name; int cmd; } cmds[] = {
        {"status", SL_CTL_STATUS}, {"sync_now", SL_CTL_SYNC_NOW}, {"tail", SL_CTL_TAIL},
    };
    json_error_t je;
    int rc = SL_ERR_INVALID;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (o == NULL) {
        snprintf(err, errsz, "request: not JSON (%s)", je.text);
        /* jansson quotes the offending bytes: a raw newline would split the
         * one-line reply, and bytes that are not UTF-8 make json_pack of the
         * reply fail (found by tests/fuzz/fuzz_control.c) */
        for (char *e = err; *e; e++)
            if ((unsigned char)*e < 0x20 || (unsigned char)*e > 0x7e)
                *e = '?';
        return rc;
    }
    json_t *c = json_is_object(o) ? json_object_get(o, "cmd") : NULL;
    if (!json_is_object(o))
        snprintf(err, errsz, "request: must be a JSON object");
    else if (c == NULL)
        snprintf(err, errsz, "cmd: missing");
    else if (!json_is_string(c))
        snprintf(err, errsz, "cmd: must be a string");
    else {
        snprintf(err, errsz, "cmd: unknown command (use status, sync_now or tail)");
        for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
            if (strcmp(json_string_value(c), cmds[i].name) == 0) {
                *cmd = cmds[i].cmd;
                err[0] = '\0';
                rc = SL_OK;
            }
    }
    json_decref(o);
    return rc;
}

int sl__control_path(const char *control_socket, const char *state_dir, char *out,
                     size_t outsz)
{
    int n = control_socket[0] ? snprintf(out, outsz, "%s", control_socket)
                              : snprintf(out, outsz, "%s/control.sock", state_dir);
    /* sun_path holds 107 bytes and a NUL */
    return n > 0 && (size_t)n < outsz && n <= 107 ? SL_OK : SL_ERR_TOO_LARGE;
}

const char *sl__control_error_class(const char *d)
{
    /* the order matters: the certificate explanations (daemon.c explain())
     * and refusals carry words that the later rules also match */
    static const struct { const char *needle, *cls; } rules[] = {
        /* the broker's TLS layer refusing our certificate, or ours its */
        {"certificate expired", "TLS verify failure"},
        {"certificate not valid before", "TLS verify failure"},
        {"TLS handshake", "TLS verify failure"},
        {"certificate refused", "TLS verify failure"},
        /* MQTT level: CONNACK 0x87/0x86, PUBACK 0x87 (the ACL) */
        {"not authorized", "not authorized"},
        {"Not authorized", "not authorized"},
        {"Bad user name or password", "not authorized"},
        {"broker refused batch", "broker refused a batch"},
        {"hub: ", "hub refused a batch"},
        {"cannot resolve", "DNS failure"},
        {"timed out", "timeout"},
        {"keepalive", "timeout"},
        {"refused", "connection refused"},
        {"connection lost", "broker closed the connection"},
        {"closed", "broker closed the connection"},
        {"disconnected", "broker closed the connection"},
    };
    if (d == NULL || d[0] == '\0')
        return "";
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (strstr(d, rules[i].needle) != NULL)
            return rules[i].cls;
    return "error";
}

static void drop(struct client *k)
{
    sl_plat_close(k->fd);
    free(k->out);
    memset(k, 0, sizeof *k);
    k->fd = -1;
}

/* Queue bytes; 0 when the client's output limit is reached. */
static int queue(struct client *k, const char *s, size_t n)
{
    void *out = k->out;
    int ok = sl__buf_append(&out, &k->out_len, &k->out_cap, s, n, SL_CONTROL_OUT_MAX);
    k->out = out;
    return ok;
}

static int queue_line(struct client *k, const char *json)
{
    return queue(k, json, strlen(json)) && queue(k, "\n", 1);
}

/* Write what the socket takes now; 0 when the client is gone. */
static int flush(struct client *k)
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

static void error_line(struct client *k, const char *msg)
{
    char line[512];
    json_t *o = json_pack("{s:s}", "error", msg);
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    snprintf(line, sizeof line, "%s", t ? t : "{\"error\":\"out of memory\"}");
    free(t);
    json_decref(o);
    queue_line(k, line);
}

int sl__control_open(sl__control **out, const char *path, const char *admin_group,
                     const sl__control_ops *ops, char *err, size_t errsz)
{
    sl__control *c = calloc(1, sizeof *c);
    if (c == NULL)
        return SL_ERR_NOMEM;
    c->lfd = -1;
    c->ops = *ops;
    c->admin_gid = -1;
    c->self_uid = sl_plat_getuid();
    for (int i = 0; i < SL_CONTROL_MAX_CLIENTS; i++)
        c->cl[i].fd = -1;
    int rc = SL_OK;
    if (strlen(path) >= sizeof c->path) {
        snprintf(err, errsz, "control_socket: path longer than 107 bytes: %.200s", path);
        rc = SL_ERR_CONFIG;
        goto fail;
    }
    memcpy(c->path, path, strlen(path) + 1);
    if (admin_group[0]) {
        unsigned gid;
        rc = sl_plat_group_gid(admin_group, &gid);
        if (rc != SL_OK) {
            snprintf(err, errsz, "admin_group: %s '%s'",
                     rc == SL_ERR_NOT_FOUND ? "no such group" : "cannot look up group",
                     admin_group);
            rc = SL_ERR_CONFIG;
            goto fail;
        }
        c->admin_gid = (long)gid;
    }
    rc = sl_plat_unix_listen(path, 0660, 16, &c->lfd);
    if (rc == SL_ERR_CONFLICT) {
        snprintf(err, errsz, "control socket %s: another storelink daemon is running on this "
                 "state directory", path);
        goto fail;
    }
    if (rc != SL_OK) {
        snprintf(err, errsz, "control socket %s: %s", path, sl_strerror(rc));
        goto fail;
    }
    *out = c;
    return SL_OK;
fail:
    free(c);
    return rc;
}

void sl__control_close(sl__control *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < SL_CONTROL_MAX_CLIENTS; i++)
        if (c->cl[i].fd >= 0)
            drop(&c->cl[i]);
    sl_plat_close(c->lfd);
    sl_plat_unlink(c->path);
    free(c);
}

int sl__control_pollfds(sl__control *c, sl_pollfd *fds, int max)
{
    int n = 0;
    c->lslot = -1;
    if (n < max) {
        c->lslot = n;
        fds[n++] = (sl_pollfd){c->lfd, 1, 0, 0, 0, 0};
    }
    for (int i = 0; i < SL_CONTROL_MAX_CLIENTS; i++) {
        c->slot_of[i] = -1;
        if (c->cl[i].fd < 0 || n >= max)
            continue;
        c->slot_of[i] = n;
        fds[n++] = (sl_pollfd){c->cl[i].fd, 1, c->cl[i].out_len > 0, 0, 0, 0};
    }
    return n;
}

static void accept_one(sl__control *c)
{
    int fd;
    if (sl_plat_unix_accept(c->lfd, &fd) != SL_OK)
        return;
    struct client tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.fd = fd;
    unsigned gid = 0;
    unsigned groups[SL_CONTROL_MAX_GROUPS];
    size_t ng = 0;
    int allowed = 0;
    if (sl_plat_peer_cred(fd, &tmp.pid, &tmp.uid, &gid) == SL_OK) {
        /* groups only matter when an admin group is configured; an
         * unreadable list simply counts as no supplementary groups */
        if (c->admin_gid >= 0 &&
            sl_plat_pid_groups(tmp.pid, groups, SL_CONTROL_MAX_GROUPS, &ng) != SL_OK)
            ng = 0;
        allowed = sl__control_peer_allowed(tmp.uid, gid, groups, ng, c->self_uid, c->admin_gid);
    }
    if (!allowed) {
        sl_plat_log(SL_LOG_WARNING, "control: refused uid %u (pid %ld): not root, not the "
                    "daemon's user%s", tmp.uid, tmp.pid,
                    c->admin_gid >= 0 ? " and not in admin_group" : ", no admin_group set");
        char line[200];
        size_t put;
        snprintf(line, sizeof line, "{\"error\":\"not authorized\",\"uid\":%u,\"hint\":\"run as "
                 "root or the daemon's user, or join admin_group\"}\n", tmp.uid);
        /* best effort: a short line fits the empty socket buffer */
        sl_plat_sock_write(fd, line, strlen(line), &put);
        sl_plat_close(fd);
        return;
    }
    for (int i = 0; i < SL_CONTROL_MAX_CLIENTS; i++)
        if (c->cl[i].fd < 0) {
            c->cl[i] = tmp;
            return;
        }
    static const char busy[] = "{\"error\":\"busy: too many control clients\"}\n";
    size_t put;
    sl_plat_sock_write(fd, busy, sizeof busy - 1, &put);
    sl_plat_close(fd);
}

static void handle_line(sl__control *c, struct client *k, const char *line, size_t len)
{
    int cmd = 0;
    char err[200];
    if (sl__control_parse_line(line, len, &cmd, err, sizeof err) != SL_OK) {
        error_line(k, err);
        return;
    }
    char *reply = malloc(SL_CONTROL_REPLY_MAX);
    if (reply == NULL) {
        error_line(k, "out of memory");
        return;
    }
    reply[0] = '\0';
    c->ops.request(c->ops.ctx, cmd, reply, SL_CONTROL_REPLY_MAX);
    if (cmd == SL_CTL_TAIL)
        k->tail = 1;
    if (!queue_line(k, reply[0] ? reply : "{\"ok\":true}"))
        k->closing = 1;
    free(reply);
}

/* Read what is there; 0 when the client is gone. */
static int read_client(sl__control *c, struct client *k)
{
    for (;;) {
        size_t got;
        if (k->in_len == sizeof k->in) {
            error_line(k, "request: longer than 4096 bytes");
            k->closing = 1;
            return 1;
        }
        int rc = sl_plat_sock_read(k->fd, k->in + k->in_len, sizeof k->in - k->in_len, &got);
        if (rc == SL_ERR_BUSY)
            return 1;
        if (rc == SL_OK && got == 0 && k->out_len > 0) {
            /* the peer half-closed after its requests (a script piping one
             * in): answer them, then close (fuzz_ctlsock) */
            k->closing = 1;
            return 1;
        }
        if (rc != SL_OK || got == 0)
            return 0;
        k->in_len += got;
        char *nl;
        while (!k->closing && (nl = memchr(k->in, '\n', k->in_len)) != NULL) {
            size_t l = (size_t)(nl - k->in);
            if (l > 0)
                handle_line(c, k, k->in, l);
            memmove(k->in, nl + 1, k->in_len - l - 1);
            k->in_len -= l + 1;
        }
        if (k->closing)
            return 1;
    }
}

void sl__control_service(sl__control *c, const sl_pollfd *fds, int n)
{
    for (int i = 0; i < SL_CONTROL_MAX_CLIENTS; i++) {
        struct client *k = &c->cl[i];
        int s = c->slot_of[i];
        if (k->fd < 0 || s < 0 || s >= n || fds[s].fd != k->fd)
            continue;
        int alive = 1;
        if (fds[s].readable || fds[s].error)
            alive = read_client(c, k);
        if (alive && k->out_len > 0)
            alive = flush(k);
        else if (alive && k->closing)
            alive = 0;
        if (!alive)
            drop(k);
    }
    if (c->lslot >= 0 && c->lslot < n && fds[c->lslot].readable)
        for (int i = 0; i < SL_CONTROL_MAX_CLIENTS + 1; i++)
            accept_one(c);
}

int sl__control_tailers(const sl__control *c)
{
    int n = 0;
    for (int i = 0; c != NULL && i < SL_CONTROL_MAX_CLIENTS; i++)
        n += c->cl[i].fd >= 0 && c->cl[i].tail && !c->cl[i].closing;
    return n;
}

void sl__control_broadcast(sl__control *c, const char *json)
{
    for (int i = 0; c != NULL && i < SL_CONTROL_MAX_CLIENTS; i++) {
        struct client *k = &c->cl[i];
        if (k->fd < 0 || !k->tail || k->closing)
            continue;
        if (!queue_line(k, json)) {
            sl_plat_log(SL_LOG_NOTICE, "control: dropped a tail client that does not keep up "
                        "(uid %u, pid %ld, %d KiB queued)", k->uid, k->pid,
                        SL_CONTROL_OUT_MAX / 1024);
            drop(k);
            continue;
        }
        /* write now: most lines go straight out, and the loop's poll only
         * asks for writability while something is left */
        if (!flush(k))
            drop(k);
    }
}

/* ---- client side -------------------------------------------------------- */

static int write_all(int fd, const char *s, size_t n, uint64_t deadline)
{
    while (n > 0) {
        size_t put;
        int rc = sl_plat_sock_write(fd, s, n, &put);
        if (rc == SL_OK) {
            s += put;
            n -= put;
            continue;
        }
        if (rc != SL_ERR_BUSY)
            return rc;
        uint64_t now = sl_plat_mono_ms();
        if (now >= deadline)
            return SL_ERR_BUSY;
        sl_pollfd p = {fd, 0, 1, 0, 0, 0};
        sl_plat_poll(&p, 1, (int)(deadline - now));
    }
    return SL_OK;
}

int sl__control_open_stream(const char *sock_path, const char *request_json, int timeout_ms,
                            int *fd)
{
    uint64_t deadline = sl_plat_mono_ms() + (uint64_t)timeout_ms;
    int s;
    int rc = sl_plat_unix_connect(sock_path, timeout_ms, &s);
    if (rc != SL_OK)
        return rc;
    rc = write_all(s, request_json, strlen(request_json), deadline);
    if (rc == SL_OK)
        rc = write_all(s, "\n", 1, deadline);
    /* a refused peer may find the socket closed under its request: the
     * daemon's "not authorized" line is still there to read */
    if (rc != SL_OK && rc != SL_ERR_IO) {
        sl_plat_close(s);
        return rc;
    }
    *fd = s;
    return SL_OK;
}

int sl__control_request(const char *sock_path, const char *request_json, int timeout_ms,
                        char *reply, size_t replysz)
{
    uint64_t deadline = sl_plat_mono_ms() + (uint64_t)timeout_ms;
    int fd;
    if (replysz == 0)
        return SL_ERR_USAGE;
    reply[0] = '\0';
    int rc = sl__control_open_stream(sock_path, request_json, timeout_ms, &fd);
    if (rc != SL_OK)
        return rc;
    size_t len = 0;
    for (;;) {
        size_t got;
        if (len + 1 >= replysz) {
            rc = SL_ERR_TOO_LARGE;
            break;
        }
        rc = sl_plat_sock_read(fd, reply + len, replysz - 1 - len, &got);
        if (rc == SL_OK && got == 0) {
            rc = SL_ERR_IO;   /* closed before a full line */
            break;
        }
        if (rc == SL_OK) {
            len += got;
            reply[len] = '\0';
            char *nl = strchr(reply, '\n');
            if (nl != NULL) {
                *nl = '\0';
                break;
            }
            continue;
        }
        if (rc != SL_ERR_BUSY)
            break;
        uint64_t now = sl_plat_mono_ms();
        if (now >= deadline)
            break;
        sl_pollfd p = {fd, 1, 0, 0, 0, 0};
        sl_plat_poll(&p, 1, (int)(deadline - now));
    }
    sl_plat_close(fd);
    if (rc == SL_OK && strncmp(reply, "{\"error\":\"not authorized\"", 25) == 0)
        rc = SL_ERR_PERM;
    return rc;
}
