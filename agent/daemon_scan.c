/*
 * daemon_scan.c - the barcode scanners under `storelink run`: the same
 * drivers/scanner.c objects `storelink scan` drives, fed from the daemon's
 * poll loop.  Scans go through the daemon's journal handle (LMDB must not
 * open one environment twice in a process: closing the second handle would
 * drop the first one's locks) and look up in its catalog handle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_scanners.h"
#include "daemon_scan.h"
#include "scanner.h"

struct sl__dscan {
    sl_scanners conf;                    /* as started: SIGHUP compares */
    sl_scanner_env env;
    size_t n;
    sl_scanner *sc[SL_SCANNERS_MAX];
    int64_t last_scan_ms[SL_SCANNERS_MAX];   /* wall clock, 0 = none yet */
    uint64_t scans[SL_SCANNERS_MAX];     /* to see that a scan arrived */
    int present[SL_SCANNERS_MAX];        /* device open at the last service */
    size_t polled[SL_SCANNERS_MAX];      /* fds[i] of the last pollfds -> scanner */
    int n_polled;
};

/* Under the daemon every scanner line goes to the log: progress at its
 * own priority (debug by default for per-scan lines would hide them from
 * a technician watching journalctl; the driver chooses INFO/NOTICE). */
static void dscan_report(void *ctx, int prio, const char *line)
{
    (void)ctx;
    sl_plat_log(prio, "%s", line);
}

int sl__dscan_check(const char *conf_path, char *err, size_t errsz)
{
    sl_scanners *t = malloc(sizeof *t);
    if (t == NULL)
        return SL_ERR_NOMEM;
    int rc = sl__config_scanners(conf_path, t, err, errsz);
    free(t);
    return rc;
}

int sl__dscan_open(sl__dscan **out, const char *conf_path, sl_journal *j, sl_catalog *cat,
                   const char *device_id, char *err, size_t errsz)
{
    *out = NULL;
    sl__dscan *ds = calloc(1, sizeof *ds);   /* ~10 KiB per configured scanner */
    if (ds == NULL)
        return SL_ERR_NOMEM;
    if (conf_path != NULL && conf_path[0] != '\0') {
        int rc = sl__config_scanners(conf_path, &ds->conf, err, errsz);
        if (rc != SL_OK) {
            free(ds);
            return rc;
        }
    }
    ds->env = (sl_scanner_env){j, cat, device_id, dscan_report, NULL};
    uint64_t now = sl_plat_mono_ms();
    for (size_t k = 0; k < ds->conf.n; k++) {
        int rc = sl__scanner_new(&ds->sc[ds->n], &ds->conf.sc[k], &ds->env, now);
        if (rc != SL_OK) {
            snprintf(err, errsz, "scanner %s: %s", ds->conf.sc[k].name, sl_strerror(rc));
            sl__dscan_free(ds);
            return rc;
        }
        ds->n++;
    }
    *out = ds;
    return SL_OK;
}

int sl__dscan_pollfds(sl__dscan *ds, sl_pollfd *fds, int max)
{
    int n = 0;
    if (ds == NULL)
        return 0;
    for (size_t k = 0; k < ds->n && n < max; k++) {
        int fd = sl__scanner_fd(ds->sc[k]);
        if (fd >= 0) {
            ds->polled[n] = k;
            fds[n++] = (sl_pollfd){.fd = fd, .want_read = 1};
        }
    }
    ds->n_polled = n;
    return n;
}

uint64_t sl__dscan_deadline(const sl__dscan *ds)
{
    uint64_t due = UINT64_MAX;
    for (size_t k = 0; ds != NULL && k < ds->n; k++) {
        uint64_t d = sl__scanner_deadline(ds->sc[k]);
        if (d < due)
            due = d;
    }
    return due;
}

int sl__dscan_service(sl__dscan *ds, const sl_pollfd *fds, int n, uint64_t now_ms, int *changed)
{
    *changed = 0;
    if (ds == NULL || ds->n == 0)
        return 0;
    uint64_t before = 0, after = 0;
    int nomem = 0;
    sl_scan_stats st;
    for (size_t k = 0; k < ds->n; k++) {
        sl__scanner_stats(ds->sc[k], &st);
        before += st.recorded;
    }
    for (int i = 0; i < n && i < ds->n_polled; i++)
        if ((fds[i].readable || fds[i].error) &&
            sl__scanner_readable(ds->sc[ds->polled[i]], now_ms) == SL_ERR_NOMEM)
            nomem = 1;
    ds->n_polled = 0;   /* the fds are stale once a scanner reopened */
    int64_t wall = sl_plat_now_ms();
    for (size_t k = 0; k < ds->n; k++) {
        sl__scanner_tick(ds->sc[k], now_ms);
        sl__scanner_stats(ds->sc[k], &st);
        int present = sl__scanner_fd(ds->sc[k]) >= 0;
        if (present != ds->present[k]) {
            ds->present[k] = present;
            *changed = 1;
        }
        after += st.recorded;
        if (st.scans != ds->scans[k]) {
            ds->scans[k] = st.scans;
            ds->last_scan_ms[k] = wall;
            *changed = 1;
        }
    }
    if (nomem)
        return -1;
    return after > before ? (int)(after - before) : 0;
}

json_t *sl__dscan_json(const sl__dscan *ds)
{
    if (ds == NULL || ds->n == 0)
        return NULL;
    json_t *a = json_array();
    for (size_t k = 0; a != NULL && k < ds->n; k++) {
        const sl_scanner_conf *c = &ds->conf.sc[k];
        sl_scan_stats st;
        sl__scanner_stats(ds->sc[k], &st);
        json_array_append_new(a, json_pack(
            "{s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "name", c->name, "device", c->device,
            "mode", sl__scan_mode_name(c->mode), "present", sl__scanner_fd(ds->sc[k]) >= 0,
            "scans", (json_int_t)st.scans, "recorded", (json_int_t)st.recorded,
            "rejected", (json_int_t)st.rejected, "bad_check", (json_int_t)st.bad_check,
            "lookups", (json_int_t)st.lookups, "failed", (json_int_t)st.failed,
            "last_scan_ms", (json_int_t)ds->last_scan_ms[k]));
    }
    return a;
}

/* SIGHUP: scanners whose section is unchanged keep running (an open
 * count goes on); removed or changed ones are closed (an open count is
 * discarded with a warning, as at a stop) and new or changed ones started.
 * Any error keeps the running set as it is. */
void sl__dscan_reload(sl__dscan *ds, const char *conf_path)
{
    sl__dscan *nx;
    char err[512];
    if (ds == NULL)
        return;
    if ((nx = calloc(1, sizeof *nx)) == NULL) {
        sl_plat_log(SL_LOG_WARNING, "reload: scanners: %s (the running scanners are kept)",
                    sl_strerror(SL_ERR_NOMEM));
        return;
    }
    if (conf_path != NULL && conf_path[0] != '\0' &&
        sl__config_scanners(conf_path, &nx->conf, err, sizeof err) != SL_OK) {
        sl_plat_log(SL_LOG_WARNING, "reload: scanners: %s (the running scanners are kept)", err);
        free(nx);
        return;
    }
    nx->env = ds->env;
    /* both tables come from sl__config_scanners, which zeroes them first,
     * so equal settings are equal bytes */
    int kept[SL_SCANNERS_MAX] = {0}, from[SL_SCANNERS_MAX];
    size_t started = 0, stopped = 0, unchanged = 0;
    for (size_t k = 0; k < nx->conf.n; k++) {
        size_t o = 0;
        while (o < ds->n &&
               (kept[o] || memcmp(&ds->conf.sc[o], &nx->conf.sc[k], sizeof nx->conf.sc[k]) != 0))
            o++;
        from[k] = o < ds->n ? (int)o : -1;
        if (o < ds->n)
            kept[o] = 1;
    }
    /* close before opening: a changed scanner on the same evdev device
     * could not grab it while the old one holds it */
    for (size_t o = 0; o < ds->n; o++)
        if (!kept[o]) {
            sl__scanner_free(ds->sc[o]);
            stopped++;
        }
    uint64_t now = sl_plat_mono_ms();
    for (size_t k = 0; k < nx->conf.n; k++) {
        int o = from[k];
        if (nx->n != k)
            nx->conf.sc[nx->n] = nx->conf.sc[k];
        if (o >= 0) {
            nx->sc[nx->n] = ds->sc[o];
            nx->last_scan_ms[nx->n] = ds->last_scan_ms[o];
            nx->scans[nx->n] = ds->scans[o];
            nx->present[nx->n] = ds->present[o];
            unchanged++;
        } else {
            int rc = sl__scanner_new(&nx->sc[nx->n], &nx->conf.sc[nx->n], &nx->env, now);
            if (rc != SL_OK) {
                sl_plat_log(SL_LOG_ERR, "reload: scanner %s not started: %s",
                            nx->conf.sc[k].name, sl_strerror(rc));
                continue;
            }
            started++;
        }
        nx->n++;
    }
    nx->conf.n = nx->n;
    memcpy(ds, nx, sizeof *ds);
    free(nx);
    if (started || stopped)
        sl_plat_log(SL_LOG_NOTICE, "reload: scanners: %zu started, %zu stopped, %zu unchanged",
                    started, stopped, unchanged);
}

void sl__dscan_free(sl__dscan *ds)
{
    if (ds == NULL)
        return;
    for (size_t k = 0; k < ds->n; k++)
        sl__scanner_free(ds->sc[k]);
    free(ds);
}
