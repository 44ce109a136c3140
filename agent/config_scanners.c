/* [scanner.NAME] sections (config_scanners.h), parsed with inih. */
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_scanners.h"
#include "event.h"
#include "platform.h"

struct pctx {
    sl_scanners *out;
    char msg[256];
    unsigned char seen[SL_SCANNERS_MAX];   /* bit per key given: for checks after parsing */
};

enum { SEEN_TYPE = 1, SEEN_BAUD = 2, SEEN_FORMAT = 4, SEEN_END = 8, SEEN_GRAB = 16,
       SEEN_OUTPUT = 32, SEEN_IDLE = 64 };

static int fail(struct pctx *pc, const char *name, const char *key, const char *reason)
{
    snprintf(pc->msg, sizeof pc->msg, "scanner.%s.%s: %s", name, key, reason);
    return 0;
}

static int name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > SL_SCANNER_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = n[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static int copy(struct pctx *pc, const char *name, const char *key, char *dst, size_t sz,
                const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n >= sz) {
        char r[64];
        snprintf(r, sizeof r, "must be 1-%zu characters", sz - 1);
        return fail(pc, name, key, r);
    }
    memcpy(dst, v, n + 1);
    return 1;
}

static int handler(void *user, const char *section, const char *key, const char *v)
{
    struct pctx *pc = user;
    if (strncmp(section, "scanner.", 8) != 0)
        return 1;
    const char *name = section + 8;
    if (!name_ok(name)) {
        snprintf(pc->msg, sizeof pc->msg, "[%.64s]: the scanner name must be 1-%d letters, digits, "
                 "'-' or '_'", section, SL_SCANNER_NAME_MAX);
        return 0;
    }
    sl_scanners *o = pc->out;
    size_t i;
    for (i = 0; i < o->n; i++)
        if (strcmp(o->sc[i].name, name) == 0)
            break;
    if (i == o->n) {
        if (o->n == SL_SCANNERS_MAX) {
            snprintf(pc->msg, sizeof pc->msg, "[%.64s]: more than %d scanners", section,
                     SL_SCANNERS_MAX);
            return 0;
        }
        sl_scanner_conf *n = &o->sc[o->n++];
        memset(n, 0, sizeof *n);
        memcpy(n->name, name, strlen(name) + 1);
        n->mode = SL_SCAN_RECEIVE;
        n->baud = 9600;
        n->grab = 1;
        n->count_idle_ms = SL_COUNT_IDLE_DEFAULT_S * 1000ull;
        snprintf(n->qty_prefix, sizeof n->qty_prefix, "QTY");
        pc->seen[i] = 0;
    }
    sl_scanner_conf *sc = &o->sc[i];
    if (strcmp(key, "device") == 0)
        return copy(pc, name, key, sc->device, sizeof sc->device, v);
    if (strcmp(key, "type") == 0) {
        pc->seen[i] |= SEEN_TYPE;
        if (strcmp(v, "evdev") == 0) sc->type = SL_SCANNER_EVDEV;
        else if (strcmp(v, "serial") == 0) sc->type = SL_SCANNER_SERIAL;
        else if (strcmp(v, "pipe") == 0) sc->type = SL_SCANNER_PIPE;
        else return fail(pc, name, key, "must be evdev, serial or pipe");
        return 1;
    }
    if (strcmp(key, "mode") == 0) {
        if (strcmp(v, "receive") == 0) sc->mode = SL_SCAN_RECEIVE;
        else if (strcmp(v, "count") == 0) sc->mode = SL_SCAN_COUNT;
        else if (strcmp(v, "damage") == 0) sc->mode = SL_SCAN_DAMAGE;
        else if (strcmp(v, "lookup") == 0) sc->mode = SL_SCAN_LOOKUP;
        else return fail(pc, name, key, "must be receive, count, damage or lookup");
        return 1;
    }
    if (strcmp(key, "baud") == 0) {
        char *end;
        pc->seen[i] |= SEEN_BAUD;
        unsigned long b = (v[0] >= '0' && v[0] <= '9') ? strtoul(v, &end, 10) : 0;
        if (b == 0 || *end != '\0' || b > 4000000 || !sl_plat_tty_baud_ok((unsigned)b))
            return fail(pc, name, key, "must be one of 1200, 2400, 4800, 9600, 19200, 38400, "
                        "57600, 115200, 230400");
        sc->baud = (unsigned)b;
        return 1;
    }
    if (strcmp(key, "format") == 0) {
        pc->seen[i] |= SEEN_FORMAT;
        if (strcmp(v, "lines") == 0) sc->format = SL_PIPE_LINES;
        else if (strcmp(v, "input_event") == 0) sc->format = SL_PIPE_EVENTS;
        else return fail(pc, name, key, "must be lines or input_event");
        return 1;
    }
    if (strcmp(key, "grab") == 0) {
        pc->seen[i] |= SEEN_GRAB;
        if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0) sc->grab = 1;
        else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "0") == 0) sc->grab = 0;
        else return fail(pc, name, key, "must be yes or no");
        return 1;
    }
    if (strcmp(key, "location") == 0) {
        sl_problem p;
        if (v[0] == '\0' || sl__check_text(v, SL_TEXT_MAX, "location", &p) != SL_OK)
            return fail(pc, name, key, v[0] ? p.reason : "must not be empty");
        memcpy(sc->location, v, strlen(v) + 1);
        return 1;
    }
    if (strcmp(key, "qty_prefix") == 0) {
        /* "none" turns quantity codes off: a store whose SKUs start with
         * QTY must be able to scan them */
        if (strcmp(v, "none") == 0) {
            sc->qty_prefix[0] = '\0';
            return 1;
        }
        for (const char *c = v; *c; c++)
            if (*c <= ' ' || *c > '~')
                return fail(pc, name, key, "must be printable ASCII without spaces, or none");
        return copy(pc, name, key, sc->qty_prefix, sizeof sc->qty_prefix, v);
    }
    if (strcmp(key, "end_code") == 0) {
        pc->seen[i] |= SEEN_END;
        for (const char *c = v; *c; c++)
            if (*c <= ' ' || *c > '~')
                return fail(pc, name, key, "must be printable ASCII without spaces");
        return copy(pc, name, key, sc->end_code, sizeof sc->end_code, v);
    }
    if (strcmp(key, "count_idle") == 0) {
        char *end;
        pc->seen[i] |= SEEN_IDLE;
        unsigned long long s = (v[0] >= '0' && v[0] <= '9') ? strtoull(v, &end, 10) : ~0ull;
        if (s == ~0ull || *end != '\0' || s > 86400)
            return fail(pc, name, key, "must be seconds from 0 (never) to 86400");
        sc->count_idle_ms = s * 1000;
        return 1;
    }
    if (strcmp(key, "output") == 0) {
        pc->seen[i] |= SEEN_OUTPUT;
        sc->output_device = 0;
        sc->output[0] = '\0';
        if (strcmp(v, "log") == 0)
            return 1;
        if (strcmp(v, "device") == 0) {
            sc->output_device = 1;
            return 1;
        }
        if (v[0] != '/')
            return fail(pc, name, key, "must be log, device or an absolute file path");
        return copy(pc, name, key, sc->output, sizeof sc->output, v);
    }
    /* like config.c: an older binary must start with a newer config */
    sl_plat_log(SL_LOG_WARNING, "[%s]: unknown key '%.48s'", section, key);
    return 1;
}

static int post_check(struct pctx *pc, size_t i)
{
    sl_scanner_conf *sc = &pc->out->sc[i];
    const char *why = NULL;
    unsigned seen = pc->seen[i];
    if (sc->device[0] == '\0')
        why = "device: is required (a path such as /dev/input/by-id/...-event-kbd or /dev/ttyACM0)";
    else if (!(seen & SEEN_TYPE))
        why = "type: is required (evdev, serial or pipe)";
    else if ((seen & SEEN_BAUD) && sc->type != SL_SCANNER_SERIAL)
        why = "baud: only for type serial";
    else if ((seen & SEEN_FORMAT) && sc->type != SL_SCANNER_PIPE)
        why = "format: only for type pipe";
    else if ((seen & SEEN_GRAB) && sc->type != SL_SCANNER_EVDEV)
        why = "grab: only for type evdev";
    else if ((seen & (SEEN_END | SEEN_IDLE)) && sc->mode != SL_SCAN_COUNT)
        why = "end_code and count_idle: only for mode count";
    else if (sc->mode == SL_SCAN_COUNT && sc->end_code[0] == '\0' && sc->count_idle_ms == 0)
        why = "mode count: needs an end_code or a count_idle above 0 (else a count never ends)";
    else if ((seen & SEEN_OUTPUT) && sc->mode != SL_SCAN_LOOKUP)
        why = "output: only for mode lookup";
    else if (sc->output_device && sc->type != SL_SCANNER_SERIAL)
        why = "output = device: only for type serial (a keyboard wedge has no way back)";
    else if (sc->qty_prefix[0] && sc->end_code[0] &&
             strncmp(sc->end_code, sc->qty_prefix, strlen(sc->qty_prefix)) == 0)
        why = "end_code: must not start with qty_prefix";
    if (why == NULL)
        return 1;
    snprintf(pc->msg, sizeof pc->msg, "scanner.%s: %s", sc->name, why);
    return 0;
}

int sl__config_scanners(const char *path, sl_scanners *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof *out);
    if (path == NULL || path[0] == '\0')
        return SL_OK;
    struct pctx *pc = calloc(1, sizeof *pc);
    if (pc == NULL) {
        snprintf(err, errsz, "%s", sl_strerror(SL_ERR_NOMEM));
        return SL_ERR_NOMEM;
    }
    pc->out = out;
    int rc = SL_OK;
    int line = ini_parse(path, handler, pc);
    if (line < 0) {
        snprintf(err, errsz, "%s: cannot read config file", path);
        rc = SL_ERR_CONFIG;
    } else if (line > 0) {
        snprintf(err, errsz, "%s:%d: %s", path, line, pc->msg[0] ? pc->msg : "syntax error");
        rc = SL_ERR_CONFIG;
    } else {
        for (size_t i = 0; i < out->n; i++)
            if (!post_check(pc, i)) {
                snprintf(err, errsz, "%s: %s", path, pc->msg);
                rc = SL_ERR_CONFIG;
                break;
            }
    }
    free(pc);
    if (rc != SL_OK)
        out->n = 0;
    return rc;
}
