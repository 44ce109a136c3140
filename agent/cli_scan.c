/*
 * storelink scan [--scanner NAME]...
 *
 * Runs the configured barcode scanners ([scanner.NAME] sections) in the
 * foreground and records their scans into the journal until SIGINT or
 * SIGTERM: for technicians setting a scanner up, and for the tests.  It
 * drives drivers/scanner.c exactly as the daemon's loop will (poll the
 * scanners' fds, sl__scanner_readable, sl__scanner_tick at the deadline).
 * Progress goes to stdout, problems to stderr (the log); a summary per
 * scanner is printed at the end.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config_scanners.h"
#include "platform.h"
#include "scanner.h"

static void cli_report(void *ctx, int prio, const char *line)
{
    (void)ctx;
    if (prio <= SL_LOG_WARNING) {
        sl_plat_log(prio, "%s", line);
        return;
    }
    if (prio <= SL_LOG_INFO) {
        printf("%s\n", line);
        fflush(stdout);
    }
}

static int wanted(const char *name, char **only, int n_only)
{
    if (n_only == 0)
        return 1;
    for (int i = 0; i < n_only; i++)
        if (strcmp(only[i], name) == 0)
            return 1;
    return 0;
}

int sl__cmd_scan(sl_cli *c, int argc, char **argv)
{
    static const char use[] = "storelink scan [--scanner NAME]...";
    char *only[SL_SCANNERS_MAX];
    int n_only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--scanner") == 0 && i + 1 < argc && n_only < SL_SCANNERS_MAX) {
            only[n_only++] = argv[++i];
        } else {
            sl__cli_err("scan: unexpected '%s' (usage: %s)", argv[i], use);
            return EX_USAGE_;
        }
    }
    if (c->cfg.path[0] == '\0') {
        sl__cli_err("scan: no configuration file (scanners are [scanner.NAME] sections in it; "
                    "see --config)");
        return EX_CONFIG_;
    }
    static sl_scanners conf;   /* 9 KiB per scanner: not on the stack */
    char err[512];
    if (sl__config_scanners(c->cfg.path, &conf, err, sizeof err) != SL_OK) {
        sl__cli_err("%s", err);
        return EX_CONFIG_;
    }
    if (conf.n == 0) {
        sl__cli_err("scan: no [scanner.NAME] section in %s", c->cfg.path);
        return EX_CONFIG_;
    }
    for (int i = 0; i < n_only; i++) {
        int found = 0;
        for (size_t k = 0; k < conf.n; k++)
            found |= strcmp(conf.sc[k].name, only[i]) == 0;
        if (!found) {
            sl__cli_err("scan: --scanner: no [scanner.%.64s] in %s", only[i], c->cfg.path);
            return EX_USAGE_;
        }
    }

    sl_journal *j = NULL;
    int rc = sl__cli_open(c, 0, &j);
    if (rc != SL_OK)
        return sl__cli_exit(rc);
    sl_catalog *cat = NULL;
    rc = sl_catalog_open(&cat, c->cfg.state_dir);
    if (rc != SL_OK) {
        /* lookups answer "unknown", counts carry no expected figure */
        if (rc != SL_ERR_NOT_FOUND)
            sl_plat_log(SL_LOG_WARNING, "scan: cannot open the catalog: %s", sl_strerror(rc));
        cat = NULL;
    }
    int sig = sl_plat_signals_init();
    if (sig < 0) {
        sl__cli_err("scan: cannot set up signal handling");
        sl_catalog_close(cat);
        sl_journal_close(j);
        return EX_SOFTWARE_;
    }

    sl_scanner *sc[SL_SCANNERS_MAX];
    size_t ns = 0;
    sl_scanner_env env = {j, cat, c->cfg.device_id, cli_report, NULL};
    int exit_code = EX_OK_;
    for (size_t k = 0; k < conf.n; k++) {
        if (!wanted(conf.sc[k].name, only, n_only))
            continue;
        rc = sl__scanner_new(&sc[ns], &conf.sc[k], &env, sl_plat_mono_ms());
        if (rc != SL_OK) {
            sl__cli_err("scan: scanner %s: %s", conf.sc[k].name, sl_strerror(rc));
            exit_code = sl__cli_exit(rc);
            goto out;
        }
        ns++;
    }

    for (;;) {
        sl_pollfd pf[1 + SL_SCANNERS_MAX];
        size_t idx[SL_SCANNERS_MAX];
        int n = 0;
        pf[n++] = (sl_pollfd){.fd = sig, .want_read = 1};
        uint64_t now = sl_plat_mono_ms(), due = UINT64_MAX;
        for (size_t k = 0; k < ns; k++) {
            int fd = sl__scanner_fd(sc[k]);
            if (fd >= 0) {
                idx[n - 1] = k;
                pf[n++] = (sl_pollfd){.fd = fd, .want_read = 1};
            }
            uint64_t d = sl__scanner_deadline(sc[k]);
            if (d < due)
                due = d;
        }
        int timeout = due == UINT64_MAX ? -1 : due <= now ? 0
                    : due - now > 60000 ? 60000 : (int)(due - now);
        if (sl_plat_poll(pf, n, timeout) < 0) {
            sl__cli_err("scan: poll failed");
            exit_code = EX_SOFTWARE_;
            break;
        }
        if (pf[0].readable) {
            int s = sl_plat_signal_take(sig);
            if (s == 'T')
                break;
        }
        now = sl_plat_mono_ms();
        int nomem = 0;
        for (int i = 1; i < n; i++)
            if ((pf[i].readable || pf[i].error) &&
                sl__scanner_readable(sc[idx[i - 1]], now) == SL_ERR_NOMEM)
                nomem = 1;
        for (size_t k = 0; k < ns; k++)
            sl__scanner_tick(sc[k], now);
        if (nomem) {
            sl__cli_err("scan: %s", sl_strerror(SL_ERR_NOMEM));
            exit_code = EX_SOFTWARE_;
            break;
        }
    }

out:
    for (size_t k = 0; k < ns; k++) {
        sl_scan_stats st;
        sl__scanner_stats(sc[k], &st);
        printf("scanner %s: %llu scans, %llu recorded, %llu rejected (%llu bad check digit), "
               "%llu lookups, %llu failed\n", sl__scanner_name(sc[k]),
               (unsigned long long)st.scans, (unsigned long long)st.recorded,
               (unsigned long long)st.rejected, (unsigned long long)st.bad_check,
               (unsigned long long)st.lookups, (unsigned long long)st.failed);
        /* a record the journal could not take is lost data: say so in the
         * exit code, not only in the log */
        if (st.failed > 0 && exit_code == EX_OK_)
            exit_code = EX_IOERR_;
        sl__scanner_free(sc[k]);
    }
    fflush(stdout);
    sl_catalog_close(cat);
    sl_journal_close(j);
    return exit_code;
}
