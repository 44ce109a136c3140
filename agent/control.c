/* The daemon's control socket; see control.h and docs/PROTOCOL.md
 * "Control socket". */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "sockserv.h"
#include "storelink.h"

struct sl__control {
    sl__sockserv *srv;
    long admin_gid;         /* -1: no admin group */
    sl__control_ops ops;
    int tail[SL_CONTROL_MAX_CLIENTS];   /* per slot: following events */
};

int sl__control_peer_allowed(unsigned uid, unsigned gid, const unsigned *groups, size_t n,
                             unsigned self_uid, long admin_gid)
{
    unsigned g = (unsigned)admin_gid;
    return sl__sockserv_peer_allowed(uid, gid, groups, n, self_uid, NULL, 0, &g, admin_gid >= 0);
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

/* Queue one line (newline added); SL_ERR_FULL when the client's output
 * limit is reached. */
static int queue_line(sl__sockserv_conn *k, const char *json)
{
    int rc = sl__sockserv_send(k, json, strlen(json));
    return rc == SL_OK ? sl__sockserv_send(k, "\n", 1) : rc;
}

static void error_line(sl__sockserv_conn *k, const char *msg)
{
    char line[512];
    json_t *o = json_pack("{s:s}", "error", msg);
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    snprintf(line, sizeof line, "%s", t ? t : "{\"error\":\"out of memory\"}");
    free(t);
    json_decref(o);
    (void)queue_line(k, line);   /* a full queue: the client does not read anyway */
}

static int admit(void *ctx, const sl__sockserv_peer *p, int slot, char *bye, size_t byesz)
{
    sl__control *c = ctx;
    if (!p->allowed) {
        sl_plat_log(SL_LOG_WARNING, "control: refused uid %u (pid %ld): not root, not the "
                    "daemon's user%s", p->uid, p->pid,
                    c->admin_gid >= 0 ? " and not in admin_group" : ", no admin_group set");
        snprintf(bye, byesz, "{\"error\":\"not authorized\",\"uid\":%u,\"hint\":\"run as "
                 "root or the daemon's user, or join admin_group\"}\n", p->uid);
        return SL_ERR_PERM;
    }
    if (slot < 0) {
        snprintf(bye, byesz, "{\"error\":\"busy: too many control clients\"}\n");
        return SL_ERR_BUSY;
    }
    c->tail[slot] = 0;
    return SL_OK;
}

static void handle_line(sl__control *c, sl__sockserv_conn *k, const char *line, size_t len)
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
        c->tail[sl__sockserv_slot(k)] = 1;
    if (queue_line(k, reply[0] ? reply : "{\"ok\":true}") != SL_OK)
        sl__sockserv_finish(k);
    free(reply);
}

/* New bytes from a client: answer every complete request line. */
static int on_data(void *ctx, sl__sockserv_conn *k)
{
    sl__control *c = ctx;
    int slot = sl__sockserv_slot(k);
    for (;;) {
        size_t len;
        const uint8_t *in = sl__sockserv_in(k, &len);
        const uint8_t *nl = sl__sockserv_finishing(k) ? NULL : memchr(in, '\n', len);
        if (nl == NULL)
            break;
        size_t l = (size_t)(nl - in);
        if (l > 0)
            handle_line(c, k, (const char *)in, l);
        /* answering may have sent events to followers, and a follower
         * that does not keep up (this one, after a `tail`) is dropped */
        if (sl__sockserv_conn_at(c->srv, slot) != k)
            return SL_OK;
        sl__sockserv_consume(k, l + 1);
    }
    if (!sl__sockserv_finishing(k) && sl__sockserv_in_full(k)) {
        error_line(k, "request: longer than 4096 bytes");
        sl__sockserv_finish(k);
    }
    /* a client that half-closed after its requests (a script piping one
     * in) gets its answers, then the connection closes (fuzz_ctlsock) */
    if (sl__sockserv_eof(k))
        sl__sockserv_finish(k);
    return SL_OK;
}

int sl__control_open(sl__control **out, const char *path, const char *admin_group,
                     const sl__control_ops *ops, char *err, size_t errsz)
{
    sl__control *c = calloc(1, sizeof *c);
    if (c == NULL)
        return SL_ERR_NOMEM;
    c->ops = *ops;
    c->admin_gid = -1;
    int rc = SL_OK;
    unsigned gid = 0;
    if (admin_group[0]) {
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
    /* the admin group is the one group allowed besides root and our uid */
    sl__sockserv_cfg cfg = {.path = path, .backlog = 16, .max_clients = SL_CONTROL_MAX_CLIENTS,
                            .in_max = SL_CONTROL_LINE_MAX, .out_max = SL_CONTROL_OUT_MAX,
                            .gids = &gid, .n_gids = c->admin_gid >= 0};
    sl__sockserv_ops sops = {.ctx = c, .admit = admit, .data = on_data};
    rc = sl__sockserv_open(&c->srv, &cfg, &sops);
    if (rc == SL_ERR_TOO_LARGE) {
        snprintf(err, errsz, "control_socket: path longer than 107 bytes: %.200s", path);
        rc = SL_ERR_CONFIG;
        goto fail;
    }
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
    sl__sockserv_close(c->srv);
    free(c);
}

int sl__control_pollfds(sl__control *c, sl_pollfd *fds, int max)
{
    return sl__sockserv_pollfds(c->srv, fds, max);
}

void sl__control_service(sl__control *c, const sl_pollfd *fds, int n)
{
    sl__sockserv_service(c->srv, fds, n);
}

/* A follower: a client that asked for `tail` and is not being closed. */
static sl__sockserv_conn *tailer(const sl__control *c, int slot)
{
    sl__sockserv_conn *k = c->tail[slot] ? sl__sockserv_conn_at(c->srv, slot) : NULL;
    return k != NULL && !sl__sockserv_finishing(k) ? k : NULL;
}

int sl__control_tailers(const sl__control *c)
{
    int n = 0;
    for (int i = 0; c != NULL && i < SL_CONTROL_MAX_CLIENTS; i++)
        n += tailer(c, i) != NULL;
    return n;
}

void sl__control_broadcast(sl__control *c, const char *json)
{
    for (int i = 0; c != NULL && i < SL_CONTROL_MAX_CLIENTS; i++) {
        sl__sockserv_conn *k = tailer(c, i);
        if (k == NULL)
            continue;
        if (queue_line(k, json) != SL_OK) {
            const sl__sockserv_peer *p = sl__sockserv_peer_of(k);
            sl_plat_log(SL_LOG_NOTICE, "control: dropped a tail client that does not keep up "
                        "(uid %u, pid %ld, %d KiB queued)", p->uid, p->pid,
                        SL_CONTROL_OUT_MAX / 1024);
            sl__sockserv_drop(c->srv, k);
            continue;
        }
        /* write now: most lines go straight out, and the loop's poll only
         * asks for writability while something is left */
        (void)sl__sockserv_flush(c->srv, k);
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
