/*
 * storelink sync now / storelink tail: ask the running daemon over its
 * control socket (agent/control.c, docs/PROTOCOL.md "Control socket").
 * Exit codes: 75 when no daemon answers (it may be starting or stopped),
 * 77 when the socket or the daemon refuses us.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "control.h"
#include "platform.h"

#define CTL_TIMEOUT_MS 5000

static int socket_path(sl_cli *c, const char *cmd, char *out, size_t outsz)
{
    if (sl__control_path(c->cfg.control_socket, c->cfg.state_dir, out, outsz) != SL_OK) {
        sl__cli_err("%s: control_socket: the socket path must be at most 107 bytes", cmd);
        return EX_CONFIG_;
    }
    return EX_OK_;
}

/* The message and exit code for a failed request. */
static int ctl_fail(const char *cmd, const char *path, int rc, const char *reply)
{
    switch (rc) {
    case SL_ERR_NOT_FOUND:
        sl__cli_err("%s: no storelink daemon is running (nothing answers on %s); start it with "
                    "'storelink run' or 'systemctl start storelink'", cmd, path);
        return EX_TEMPFAIL_;
    case SL_ERR_PERM:
        sl__cli_err("%s: not authorized on the control socket %s: run as root or as the "
                    "daemon's user, or join the group set as admin_group", cmd, path);
        return EX_NOPERM_;
    case SL_ERR_BUSY:
        sl__cli_err("%s: the daemon did not answer on %s within %d s", cmd, path,
                    CTL_TIMEOUT_MS / 1000);
        return EX_TEMPFAIL_;
    default:
        sl__cli_err("%s: control socket %s: %s%s%s", cmd, path, sl_strerror(rc),
                    reply && reply[0] ? ": " : "", reply ? reply : "");
        return rc == SL_ERR_IO ? EX_TEMPFAIL_ : sl__cli_exit(rc);
    }
}

static json_int_t jint(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

int sl__cmd_sync(sl_cli *c, int argc, char **argv)
{
    int as_json = 0, now = 0;
    char path[108];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "now") == 0 && !now)
            now = 1;
        else if (strcmp(argv[i], "--json") == 0)
            as_json = 1;
        else {
            sl__cli_err("sync: unknown argument '%s' (usage: storelink sync now [--json])", argv[i]);
            return EX_USAGE_;
        }
    }
    if (!now) {
        sl__cli_err("sync: missing 'now' (usage: storelink sync now [--json])");
        return EX_USAGE_;
    }
    int ex = socket_path(c, "sync now", path, sizeof path);
    if (ex != EX_OK_)
        return ex;
    char reply[SL_CONTROL_REPLY_MAX];
    int rc = sl__control_request(path, "{\"cmd\":\"sync_now\"}", CTL_TIMEOUT_MS, reply,
                                 sizeof reply);
    if (rc != SL_OK)
        return ctl_fail("sync now", path, rc, reply);
    json_t *o = json_loads(reply, 0, NULL);
    if (o == NULL || !json_is_true(json_object_get(o, "ok"))) {
        sl__cli_err("sync now: the daemon did not take it: %s",
                    o && json_object_get(o, "error") ? jstr(o, "error") : reply);
        json_decref(o);
        return EX_TEMPFAIL_;
    }
    if (as_json) {
        printf("%s\n", reply);
    } else if (strcmp(jstr(o, "action"), "already_connected") == 0) {
        printf("already connected to %s, %lld record(s) pending, %lld batch(es) in flight\n",
               jstr(o, "broker"), (long long)jint(o, "pending"), (long long)jint(o, "inflight"));
    } else if (json_object_get(o, "skipped_wait_ms") != NULL) {
        printf("connecting to %s (skipped %.1f s of reconnect backoff), %lld record(s) pending\n",
               jstr(o, "broker"), (double)jint(o, "skipped_wait_ms") / 1000.0,
               (long long)jint(o, "pending"));
    } else {
        printf("connecting to %s (a connection attempt is already under way)\n",
               jstr(o, "broker"));
    }
    json_decref(o);
    return EX_OK_;
}

/* One event as a line for people: local time, event, the facts. */
static void print_human(json_t *o, const char *raw)
{
    char t[16];
    const char *ev = jstr(o, "event");
    sl_plat_format_local_time(jint(o, "ts"), t, sizeof t);
    if (strcmp(ev, "recorded") == 0)
        printf("%s  recorded      seq %lld  %s  txn %s\n", t, (long long)jint(o, "seq"),
               jstr(o, "kind"), jstr(o, "txn_id"));
    else if (strcmp(ev, "sent") == 0)
        printf("%s  sent          seq %lld..%lld  %lld record(s), %lld bytes\n", t,
               (long long)jint(o, "first"), (long long)jint(o, "last"),
               (long long)jint(o, "records"), (long long)jint(o, "bytes"));
    else if (strcmp(ev, "acked") == 0)
        printf("%s  acked         through seq %lld%s\n", t, (long long)jint(o, "acked_through"),
               jint(o, "rejected") > 0 ? "  (with rejections, see below)" : "");
    else if (strcmp(ev, "rejected") == 0)
        printf("%s  rejected      seq %lld  code %lld: %s\n", t, (long long)jint(o, "seq"),
               (long long)jint(o, "code"), jstr(o, "reason"));
    else if (strcmp(ev, "connected") == 0)
        printf("%s  connected     to %s (%s session)\n", t, jstr(o, "broker"), jstr(o, "session"));
    else if (strcmp(ev, "disconnected") == 0)
        printf("%s  disconnected  %s: %s; next attempt in %lld s\n", t, jstr(o, "reason"),
               jstr(o, "detail"), (long long)((jint(o, "reconnect_in_ms") + 999) / 1000));
    else if (strcmp(ev, "following") == 0)
        printf("%s  following     journal at seq %lld, acked through %lld, %s (Ctrl-C to stop)\n",
               t, (long long)jint(o, "last_seq"), (long long)jint(o, "acked_through"),
               jstr(o, "connection"));
    else
        printf("%s  %s\n", t, raw);
}

int sl__cmd_tail(sl_cli *c, int argc, char **argv)
{
    int as_json = 0;
    char path[108];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            as_json = 1;
        else {
            sl__cli_err("tail: unknown option '%s' (usage: storelink tail [--json])", argv[i]);
            return EX_USAGE_;
        }
    }
    int ex = socket_path(c, "tail", path, sizeof path);
    if (ex != EX_OK_)
        return ex;
    int sigfd = sl_plat_signals_init();
    if (sigfd < 0) {
        sl__cli_err("tail: cannot install signal handlers");
        return EX_SOFTWARE_;
    }
    int fd;
    int rc = sl__control_open_stream(path, "{\"cmd\":\"tail\"}", CTL_TIMEOUT_MS, &fd);
    if (rc != SL_OK)
        return ctl_fail("tail", path, rc, NULL);
    /* one event line is small; a longer one is cut off and skipped */
    static char buf[SL_CONTROL_REPLY_MAX];
    size_t len = 0, lines = 0;
    int skipping = 0;
    ex = EX_OK_;
    for (;;) {
        sl_pollfd p[2] = {{sigfd, 1, 0, 0, 0, 0}, {fd, 1, 0, 0, 0, 0}};
        sl_plat_poll(p, 2, -1);
        if (p[0].readable && sl_plat_signal_take(sigfd) == 'T')
            break;   /* Ctrl-C or SIGTERM: a normal end */
        if (!p[1].readable && !p[1].error)
            continue;
        size_t got;
        rc = sl_plat_sock_read(fd, buf + len, sizeof buf - 1 - len, &got);
        if (rc == SL_ERR_BUSY)
            continue;
        if (rc != SL_OK || got == 0) {
            sl__cli_err("tail: the daemon closed the connection%s",
                        lines ? " (stopped or restarted)" : "");
            ex = EX_TEMPFAIL_;
            break;
        }
        len += got;
        buf[len] = '\0';
        char *start = buf, *nl;
        while ((nl = strchr(start, '\n')) != NULL) {
            *nl = '\0';
            if (skipping) {
                skipping = 0;
            } else {
                json_t *o = json_loads(start, 0, NULL);
                if (o != NULL && lines == 0 && json_object_get(o, "error") != NULL) {
                    int perm = strcmp(jstr(o, "error"), "not authorized") == 0;
                    json_decref(o);
                    sl_plat_close(fd);
                    return perm ? ctl_fail("tail", path, SL_ERR_PERM, NULL)
                                : ctl_fail("tail", path, SL_ERR_IO, start);
                }
                if (as_json || o == NULL)
                    printf("%s\n", start);
                else
                    print_human(o, start);
                json_decref(o);
                lines++;
            }
            start = nl + 1;
        }
        len = (size_t)(buf + len - start);
        memmove(buf, start, len);
        if (len == sizeof buf - 1) {
            len = 0;
            skipping = 1;
        }
        fflush(stdout);
    }
    sl_plat_close(fd);
    fflush(stdout);
    return ex;
}
