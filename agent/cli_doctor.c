/*
 * storelink doctor [--full] [--timeout S] [--json]: every check a field
 * technician would make, in the order a problem hides the next one, each
 * with the fix to try.  Doctor never changes anything: no file is created,
 * the journal and catalog are opened read-only, and the broker session of
 * the device is resumed and left as it was (docs/CLI.md "doctor").
 * Exit 0 all ok, 1 a warning, 2 a failure.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "diag.h"
#include "journal_internal.h"
#include "platform.h"
#include "statusmsg.h"
#include "probe.h"
#include "timeparse.h"

#define DAY_MS 86400000LL
#define TAIL_RECORDS 1000
#define DISK_MIN_BYTES (100ULL << 20)
#define DISK_MIN_PCT 5

enum { R_OK, R_WARN, R_FAIL, R_SKIP };
static const char *const rword[] = {"ok", "warn", "fail", "skip"};

struct doc {
    int json, worst;
    json_t *arr;
};

static void report(struct doc *d, int result, const char *check, const char *fix,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void report(struct doc *d, int result, const char *check, const char *fix,
                   const char *fmt, ...)
{
    char detail[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (result != R_SKIP && result > d->worst)
        d->worst = result;
    if (d->json) {
        json_array_append_new(d->arr, json_pack("{s:s,s:s,s:s,s:s}", "check", check, "result",
                                                rword[result], "detail", detail, "fix",
                                                fix && result != R_OK ? fix : ""));
        return;
    }
    printf("%-4s  %s: %s\n", rword[result], check, detail);
    if (fix != NULL && (result == R_WARN || result == R_FAIL))
        printf("      fix: %s\n", fix);
}

/* Build date from __DATE__ ("Nov 23 2026"): gcc and clang take it from
 * SOURCE_DATE_EPOCH when that is set, so a reproducible build gets the
 * source's date.  The binary's mtime is no better: packaging and copying
 * rewrite it.  A clock before this date is certainly wrong. */
static int64_t build_day_ms(void)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const char *s = __DATE__;
    char mon[4] = {s[0], s[1], s[2], 0};
    const char *m = strstr(months, mon);
    long day = strtol(s + 4, NULL, 10), year = strtol(s + 7, NULL, 10);
    if (m == NULL || day < 1 || year < 2000)
        return 0;
    return sl__days_from_civil(year, (m - months) / 3 + 1, day) * DAY_MS;
}

struct tail {
    uint8_t prev[32];
    uint64_t prev_seq, checked, bad_seq;
};

static int tail_link(const sl_record *rec, void *ctx)
{
    struct tail *t = ctx;
    if (t->checked > 0 && (rec->seq != t->prev_seq + 1 || memcmp(rec->prev_hash, t->prev, 32) != 0)) {
        t->bad_seq = rec->seq;
        return 1;
    }
    memcpy(t->prev, rec->hash, 32);
    t->prev_seq = rec->seq;
    t->checked++;
    return 0;
}

static void check_config(struct doc *d, sl_cli *c)
{
    if (c->cfg_err[0]) {
        report(d, R_FAIL, "config", "correct the line named (keys and ranges: "
               "/usr/share/doc/storelink/storelink.conf.sample)", "%s", c->cfg_err);
        return;
    }
    if (c->cfg.path[0] == '\0') {
        report(d, R_FAIL, "config", "install a config file (start from storelink.conf.sample) "
               "or pass --config PATH", "no config file at %s: running on built-in defaults",
               SL_DEFAULT_CONFIG);
        return;
    }
    if (c->cfg.n_warn == 0) {
        report(d, R_OK, "config", NULL, "%s parses, all keys known", c->cfg.path);
        return;
    }
    for (unsigned i = 0; i < c->cfg.n_warn; i++) {
        char fix[300];
        const char *q = strstr(c->cfg.warn[i], "did you mean '");
        if (q != NULL)
            snprintf(fix, sizeof fix, "rename the key to '%.*s' (or delete it)",
                     (int)strcspn(q + 14, "'"), q + 14);
        else
            snprintf(fix, sizeof fix, "delete the key, or upgrade storelink if a newer version "
                     "knows it");
        report(d, R_WARN, "config", fix, "%s: %s", c->cfg.path, c->cfg.warn[i]);
    }
}

static void check_state_dir(struct doc *d, const char *dir)
{
    int rc = sl_plat_access_dir(dir);
    if (rc == SL_ERR_NOT_FOUND) {
        report(d, R_FAIL, "state dir", "create it for the storelink user (the package does: "
               "reinstall), or correct state_dir", "%s does not exist", dir);
        return;
    }
    if (rc == SL_OK)
        rc = sl_plat_access_write(dir);
    if (rc != SL_OK)
        report(d, R_FAIL, "state dir", "run as the storelink user (sudo -u storelink), or fix "
               "the owner: chown -R storelink: <state_dir>", "%s is not writable by this user "
               "(%s)", dir, sl_strerror(rc));
    else
        report(d, R_OK, "state dir", NULL, "%s exists and is writable", dir);
}

static void check_journal(struct doc *d, sl_cli *c, int full, sl_journal **jout,
                          sl_journal_info *info, uint64_t *acked)
{
    sl_journal *j = NULL;
    sl_journal_opts o = {.max_db_mb = c->cfg.max_db_mb, .read_only = 1};
    int rc = sl_journal_open(&j, c->cfg.state_dir, &o);
    if (rc == SL_ERR_NOT_FOUND) {
        report(d, R_WARN, "journal", "start the daemon or record an event: the journal is "
               "created on first use", "no journal in %s/journal yet", c->cfg.state_dir);
        return;
    }
    if (rc != SL_OK) {
        report(d, R_FAIL, "journal", "check permissions and free space of the state dir; "
               "keep a copy of the journal directory before any repair",
               "cannot open %s/journal read-only: %s", c->cfg.state_dir, sl_strerror(rc));
        return;
    }
    *jout = j;
    if ((rc = sl_journal_info_get(j, info)) != SL_OK || (rc = sl__journal_acked(j, acked)) != SL_OK) {
        report(d, R_FAIL, "journal", "keep a copy of the journal directory, then run storelink "
               "journal verify", "cannot read the journal: %s", sl_strerror(rc));
        return;
    }
    sl__epoch ep;
    if (sl__journal_epoch(j, &ep) == SL_OK) {
        char dt[40];
        sl_plat_format_utc(ep.damaged_ms, dt, sizeof dt);
        report(d, R_WARN, "journal epoch", "keep the damaged directory for analysis (never "
               "delete it); check the storage (dmesg, SMART)",
               "journal damaged at %s, moved to %s/%s, new epoch %u from seq %llu", dt,
               c->cfg.state_dir, ep.moved_to, ep.epoch, (unsigned long long)ep.from_seq);
    }
    {
        /* the daemon's background verify reaches damage older than the
         * open-time check (the last 256 records) */
        int brun = 0;
        long bpid = 0;
        json_t *bdj = sl__daemon_view_live(&c->cfg, &brun, &bpid);
        json_t *bgv = brun && bdj ? json_object_get(bdj, "journal_verify") : NULL;
        json_int_t bad = bgv ? json_integer_value(json_object_get(bgv, "first_bad")) : 0;
        const char *bwhy = bgv ? json_string_value(json_object_get(bgv, "why")) : NULL;
        if (bad > 0)
            report(d, R_WARN, "journal background verify", "storelink journal verify shows it; "
                   "check the storage (dmesg, SMART)", "the daemon found the journal damaged at "
                   "seq %lld (%s)", (long long)bad, bwhy ? bwhy : "");
        json_decref(bdj);
    }
    if (full) {
        sl_verify v;
        memset(&v, 0, sizeof v);
        rc = sl_journal_verify(j, &v);
        if (rc == SL_OK)
            report(d, R_OK, "journal", NULL, "opens read-only; whole chain verified (%llu "
                   "records, last seq %llu)", (unsigned long long)v.checked,
                   (unsigned long long)info->last_seq);
        else
            report(d, R_FAIL, "journal", "do not delete anything: keep a copy of the journal "
                   "directory and report the seq to the central team",
                   "hash chain broken at seq %llu: %s", (unsigned long long)v.first_bad_seq,
                   v.reason[0] ? v.reason : sl_strerror(rc));
        return;
    }
    /* the tail: the records most recently written, where a crash or a bad
     * disk shows first; the journal's own verify walks everything */
    struct tail t;
    memset(&t, 0, sizeof t);
    uint64_t from = info->last_seq > TAIL_RECORDS ? info->last_seq - TAIL_RECORDS + 1 : 1;
    if (from < info->first_seq)
        from = info->first_seq;
    rc = info->records ? sl_journal_foreach(j, from, TAIL_RECORDS, tail_link, &t) : SL_OK;
    if (rc == 1 || (rc == SL_OK && info->records && (t.prev_seq != info->last_seq ||
                                                    memcmp(t.prev, info->tail_hash, 32) != 0))) {
        report(d, R_FAIL, "journal", "run storelink journal verify for the full report; keep a "
               "copy of the journal directory", "hash chain broken near seq %llu",
               (unsigned long long)(t.bad_seq ? t.bad_seq : t.prev_seq));
    } else if (rc != SL_OK) {
        report(d, R_FAIL, "journal", "run storelink journal verify for the full report",
               "cannot read the journal tail: %s", sl_strerror(rc));
    } else {
        report(d, R_OK, "journal", NULL, "opens read-only; last %llu record(s) chain correctly "
               "(last seq %llu; --full checks all %llu)", (unsigned long long)t.checked,
               (unsigned long long)info->last_seq, (unsigned long long)info->records);
    }
}

/* Permissions a thief or a curious colleague must not get past: the device
 * key is the device's identity (0600), the state directory holds the
 * journal (0700; 0750 when technicians read it through the service's
 * group), the control socket 0660. */
static void check_permissions(struct doc *d, sl_cli *c)
{
    unsigned mode;
    long uid;
    char sock[4200];
    if (sl_plat_file_mode(c->cfg.key_file, &mode, &uid) == SL_OK) {
        if (mode & 077)
            report(d, R_FAIL, "permissions", "chmod 600 the key file",
                   "%s is mode %04o: group or others can read the device key", c->cfg.key_file,
                   mode);
        else
            report(d, R_OK, "permissions", NULL, "%s is mode %04o", c->cfg.key_file, mode);
    }
    if (sl_plat_file_mode(c->cfg.state_dir, &mode, &uid) == SL_OK) {
        if (mode & 007)
            report(d, R_WARN, "permissions", "chmod 700 the state directory (750 if technicians "
                   "read it through the storelink group)", "%s is mode %04o: others can enter "
                   "it", c->cfg.state_dir, mode);
        else if (mode & 020)
            report(d, R_WARN, "permissions", "chmod g-w the state directory",
                   "%s is mode %04o: its group can write into it", c->cfg.state_dir, mode);
        else
            report(d, R_OK, "permissions", NULL, "%s is mode %04o", c->cfg.state_dir, mode);
    }
    if (c->cfg.control_socket[0])
        snprintf(sock, sizeof sock, "%s", c->cfg.control_socket);
    else
        snprintf(sock, sizeof sock, "%.4000s/control.sock", c->cfg.state_dir);
    if (sl_plat_file_mode(sock, &mode, &uid) == SL_OK && (mode & 007))
        report(d, R_WARN, "permissions", "restart storelink run (it creates the socket 0660)",
               "%s is mode %04o: any local user can talk to the daemon", sock, mode);
}

static void check_identity(struct doc *d, sl_cli *c, int64_t now, sl__identity *id)
{
    char t[40];
    sl__identity_check(c->cfg.cert_file, c->cfg.key_file, c->cfg.ca_file, id);
    if (!id->cert_ok) {
        report(d, R_FAIL, "certificate", "install the device certificate (storelink keygen, "
               "storelink csr, signed by the store CA) and set cert_file", "%s", id->why);
        return;
    }
    if (now > id->not_after_ms) {
        sl_plat_format_utc(id->not_after_ms, t, sizeof t);
        report(d, R_FAIL, "certificate", "renew it: storelink csr --device ID --store S, have "
               "the store CA sign it, install it as cert_file (or check the clock)",
               "%s (%s) expired on %.10s", c->cfg.cert_file, id->subject, t);
    } else if (now < id->not_before_ms) {
        sl_plat_format_utc(id->not_before_ms, t, sizeof t);
        report(d, R_FAIL, "certificate", "check the system clock (timedatectl)",
               "%s is not valid before %.10s", c->cfg.cert_file, t);
    } else {
        int64_t days = (id->not_after_ms - now) / DAY_MS;
        sl_plat_format_utc(id->not_after_ms, t, sizeof t);
        report(d, days < 30 ? R_WARN : R_OK, "certificate", "renew it soon: storelink csr, "
               "signed by the store CA", "%s (%s) valid until %.10s, %lld day(s) left",
               c->cfg.cert_file, id->subject, t, (long long)days);
    }
    if (id->cn[0] && strcmp(id->cn, c->cfg.device_id) != 0)
        report(d, R_FAIL, "certificate", "set device_id to the certificate's CN, or install "
               "this device's own certificate", "CN '%s' is not device_id '%s': the broker's "
               "ACL will refuse the device's topics", id->cn, c->cfg.device_id);
    if (!id->client_auth)
        report(d, R_FAIL, "certificate", "have the store CA issue a client certificate "
               "(extendedKeyUsage clientAuth)", "not a client (clientAuth) certificate");
    if (!id->key_ok)
        report(d, R_FAIL, "key", "install the key the certificate was requested with and set "
               "key_file", "%s", id->why);
    else if (!id->key_matches)
        report(d, R_FAIL, "key", "install the key that belongs to this certificate (or request "
               "a new certificate for this key: storelink csr)", "%s does not match %s",
               c->cfg.key_file, c->cfg.cert_file);
    else
        report(d, R_OK, "key", NULL, "%s matches the certificate", c->cfg.key_file);
    if (c->cfg.ca_file[0] == '\0')
        report(d, R_FAIL, "issuer", "set ca_file to the store CA certificate",
               "ca_file is not set");
    else if (!id->ca_checked)
        report(d, R_FAIL, "issuer", "install the store CA certificate as ca_file",
               "ca_file %s cannot be read or parsed", c->cfg.ca_file);
    else if (!id->ca_ok)
        report(d, R_FAIL, "issuer", "install a certificate issued by the store CA, or the CA "
               "that issued this one as ca_file", "the certificate is not issued by the CA in %s",
               c->cfg.ca_file);
    else
        report(d, R_OK, "issuer", NULL, "issued by the CA in %s", c->cfg.ca_file);
}

/* The status the daemon's last will would carry, with what doctor knows
 * from the journal and the certificate, so the hub's fleet view keeps the
 * device's backlog and health (docs/PROTOCOL.md "Status"). */
static size_t offline_status(const struct doc *d, sl_journal *j, const sl_journal_info *info,
                             uint64_t acked, const sl__identity *id, uint8_t *buf, size_t cap)
{
    sl__status st;
    uint64_t dead = 0;
    size_t len = 0;
    sl__status_init(&st, 0, sl_plat_now_ms(), acked, info->last_seq, NULL);
    sl__status_set_u(&st, SL_ST_UNACKED, info->last_seq > acked ? info->last_seq - acked : 0);
    int64_t oldest = 0;
    if (info->last_seq > acked) {
        sl_record *rec = malloc(sizeof *rec);
        if (rec != NULL && sl_journal_get(j, acked + 1, rec) == SL_OK)
            oldest = rec->ev.ts_ms;
        free(rec);
    }
    sl__status_set_i(&st, SL_ST_OLDEST_TS, oldest);
    if (sl__journal_dead_count(j, &dead) == SL_OK)
        sl__status_set_u(&st, SL_ST_DEAD, dead);
    sl__status_set_u(&st, SL_ST_JOURNAL_USED, info->used_bytes);
    sl__status_set_u(&st, SL_ST_JOURNAL_LIMIT, info->max_bytes);
    if (id->cert_ok)
        sl__status_set_i(&st, SL_ST_CERT_NOT_AFTER, id->not_after_ms);
    /* the checks so far: a failing one makes the device failing */
    sl__status_set_u(&st, SL_ST_HEALTH, d->worst >= R_FAIL ? SL_HEALTH_FAILING
                                        : d->worst >= R_WARN ? SL_HEALTH_DEGRADED : SL_HEALTH_HEALTHY);
    return sl__status_encode(&st, buf, cap, &len) == SL_OK ? len : 0;
}

static void check_broker(struct doc *d, sl_cli *c, int timeout_ms, const sl__identity *id,
                         sl_journal *j, const sl_journal_info *info, uint64_t acked,
                         int64_t *peer_nb, int64_t *peer_na)
{
    char why[400], addr[64];
    const char *host = c->cfg.broker_host;
    int port = (int)c->cfg.broker_port;
    int rc = sl_plat_resolve(host, timeout_ms, addr, sizeof addr, why, sizeof why);
    if (rc != SL_OK) {
        report(d, R_FAIL, "dns", "check broker_host for typos, the DNS server "
               "(/etc/resolv.conf) and the uplink", "%s", why);
        report(d, R_SKIP, "tcp", NULL, "not tried: no address");
        return;
    }
    report(d, R_OK, "dns", NULL, "%s", why);
    int fd = -1;
    rc = sl_plat_tcp_connect(addr, port, timeout_ms, &fd, why, sizeof why);
    if (rc != SL_OK) {
        report(d, R_FAIL, "tcp", rc == SL_ERR_BUSY
               ? "check the uplink and firewall (outgoing TCP to the broker port must be allowed)"
               : "check broker_port and that the broker is running", "%s:%d: %s", host, port, why);
        report(d, R_SKIP, "tls", NULL, "not tried: no connection");
        return;
    }
    report(d, R_OK, "tcp", NULL, "%s", why);
    if (!id->cert_ok || !id->key_ok || c->cfg.ca_file[0] == '\0') {
        sl_plat_close(fd);
        report(d, R_SKIP, "tls", NULL, "not tried: the device identity is incomplete (above)");
        return;
    }
    sl__probe *p = NULL;
    rc = sl__probe_tls(&p, fd, host, c->cfg.ca_file, c->cfg.cert_file, c->cfg.key_file,
                       timeout_ms, why, sizeof why, peer_nb, peer_na);
    if (rc != SL_OK) {
        const char *fix = strstr(why, "not issued by the CA")
            ? "set ca_file to the CA that issued the broker's certificate (the store CA bundle)"
            : strstr(why, "name mismatch")
            ? "set broker_host to a name the broker's certificate carries (its CN or SAN)"
            : strstr(why, "clock") ? "check the system clock (timedatectl), then the broker's "
                                     "certificate dates"
            : strstr(why, "refused this device") ? "renew or replace the device certificate "
                                                   "(see the certificate check above)"
            : "check that broker_port is the broker's TLS listener";
        report(d, R_FAIL, "tls", fix, "%s:%d: %s", host, port, why);
        report(d, R_SKIP, "mqtt connect", NULL, "not tried: no TLS session");
        sl__probe_close(p);
        return;
    }
    report(d, R_OK, "tls", NULL, "%s", why);
    /* a second connection with the device's client id would take over the
     * running daemon's session: ask the daemon what it sees instead */
    int running = 0;
    long pid = 0;
    json_t *dj = sl__daemon_view_live(&c->cfg, &running, &pid);
    if (running) {
        const char *conn = json_string_value(json_object_get(dj, "connection"));
        const char *err = json_string_value(json_object_get(dj, "last_error"));
        int connected = conn != NULL && strcmp(conn, "connected") == 0;
        report(d, connected ? R_OK : R_FAIL, "mqtt connect", "read the daemon's last error "
               "(storelink status, journalctl -u storelink)", "the daemon (pid %ld) is %s%s%s; "
               "not opening a second session", pid, conn ? conn : "in an unknown state",
               !connected && err && err[0] ? ": " : "", !connected && err ? err : "");
        report(d, R_SKIP, "mqtt publish", NULL, "the daemon publishes: not probed while it "
               "runs");
        json_decref(dj);
        sl__probe_close(p);
        return;
    }
    json_decref(dj);
    int reason;
    rc = sl__probe_connect(p, c->cfg.device_id, (unsigned)c->cfg.keepalive,
                           (uint32_t)c->cfg.session_expiry, timeout_ms, &reason, why, sizeof why);
    if (rc != SL_OK) {
        report(d, R_FAIL, "mqtt connect", reason == 0x87 || reason == 0x86
               ? "the broker's ACL or authentication refuses this certificate: ask the "
                 "central team to register the device" : reason == 0x84
               ? "the broker must support MQTT v5" : "check the broker's log for this client id",
               "%s", why);
        report(d, R_SKIP, "mqtt publish", NULL, "not tried: not connected");
        sl__probe_close(p);
        return;
    }
    report(d, R_OK, "mqtt connect", NULL, "%s", why);
    /* Publish what the hub would get from the daemon's last will anyway:
     * an "offline" status with the journal's own figures, not retained
     * (the broker's retained status stays as the daemon left it).  The hub
     * only stores the latest status per device, and "offline" is true
     * while the daemon is down.  The journal and catalog topics would make
     * the hub store records or send a snapshot: never those. */
    if (j == NULL) {
        report(d, R_SKIP, "mqtt publish", NULL, "not tried: without the journal there is "
               "no true status to publish");
        sl__probe_close(p);
        return;
    }
    char topic[400];
    uint8_t st[SL_STATUSMSG_MAX];
    snprintf(topic, sizeof topic, "%s/%s/%s/status", c->cfg.topic_prefix, c->cfg.store_id,
             c->cfg.device_id);
    size_t n = offline_status(d, j, info, acked, id, st, sizeof st);
    rc = sl__probe_publish(p, topic, st, n, timeout_ms, &reason, why, sizeof why);
    report(d, rc == SL_OK ? R_OK : R_FAIL, "mqtt publish", reason == 0x87
           ? "the broker's ACL does not let this certificate's CN publish under its store: "
             "check store_id and device_id against the certificate, or ask the central team"
           : "check the broker's log", "%s", why);
    sl__probe_close(p);
}

static void check_clock(struct doc *d, int64_t now, int64_t peer_nb, int64_t peer_na)
{
    char t[40], b[40];
    int64_t built = build_day_ms();
    sl_plat_format_utc(now, t, sizeof t);
    /* a day of slack: __DATE__ is the build machine's local date */
    if (built && now < built - DAY_MS) {
        sl_plat_format_utc(built, b, sizeof b);
        report(d, R_FAIL, "clock", "set the clock (timedatectl set-ntp true; check the RTC "
               "battery)", "%.19sZ is before this program was built (%.10s)", t, b);
        return;
    }
    if (peer_nb && (now < peer_nb || now > peer_na)) {
        sl_plat_format_utc(now < peer_nb ? peer_nb : peer_na, b, sizeof b);
        report(d, R_FAIL, "clock", "check the clock (timedatectl); if it is right, the broker's "
               "certificate needs renewing", "%.19sZ is outside the broker certificate's "
               "validity (%s %.10s)", t, now < peer_nb ? "starts" : "ended", b);
        return;
    }
    report(d, R_OK, "clock", NULL, "%.19sZ%s", t, peer_nb ? ", within the broker certificate's "
           "validity" : "");
}

static void check_disk(struct doc *d, const char *dir)
{
    uint64_t avail = 0, total = 0;
    char a[32], tt[32];
    int rc = sl_plat_fs_stat(dir, &avail, &total);
    if (rc != SL_OK) {
        report(d, R_SKIP, "disk", NULL, "cannot stat %s: %s", dir, sl_strerror(rc));
        return;
    }
    sl__human_bytes(avail, a, sizeof a);
    sl__human_bytes(total, tt, sizeof tt);
    int pct = total ? (int)(avail * 100 / total) : 100;
    int low = avail < DISK_MIN_BYTES || pct < DISK_MIN_PCT;
    report(d, low ? R_WARN : R_OK, "disk", "free space on that filesystem (old logs, "
           "core dumps); the journal stops recording when the disk is full",
           "%s free of %s (%d%%) in %s", a, tt, pct, dir);
}

int sl__cmd_doctor(sl_cli *c, int argc, char **argv)
{
    struct doc d = {0, 0, NULL};
    sl__config_resolve_identity(&c->cfg);   /* the same defaults as run */
    int full = 0;
    uint64_t timeout_s = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            d.json = 1;
        else if (strcmp(argv[i], "--full") == 0)
            full = 1;
        else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            if (sl__cli_u64("--timeout", argv[++i], &timeout_s) != SL_OK)
                return EX_USAGE_;
            if (timeout_s < 1 || timeout_s > 120) {
                sl__cli_err("--timeout: must be 1 to 120 seconds");
                return EX_USAGE_;
            }
        } else {
            sl__cli_err("doctor: unknown option '%s' (usage: storelink doctor [--full] "
                        "[--timeout S] [--json])", argv[i]);
            return EX_USAGE_;
        }
    }
    if (d.json && (d.arr = json_array()) == NULL)
        return EX_SOFTWARE_;
    int64_t now = sl_plat_now_ms(), peer_nb = 0, peer_na = 0;
    sl_journal *j = NULL;
    sl_journal_info info;
    uint64_t acked = 0;
    sl__identity id;
    memset(&info, 0, sizeof info);
    check_config(&d, c);
    check_state_dir(&d, c->cfg.state_dir);
    check_journal(&d, c, full, &j, &info, &acked);
    check_identity(&d, c, now, &id);
    check_permissions(&d, c);
    check_broker(&d, c, (int)timeout_s * 1000, &id, j, &info, acked, &peer_nb, &peer_na);
    check_clock(&d, sl_plat_now_ms(), peer_nb, peer_na);
    check_disk(&d, c->cfg.state_dir);
    sl_journal_close(j);
    if (d.json) {
        char *s = json_dumps(d.arr, JSON_COMPACT);
        puts(s ? s : "[]");
        free(s);
        json_decref(d.arr);
    }
    return d.worst;
}
