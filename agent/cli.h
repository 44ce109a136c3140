/* cli.h - shared pieces of the `storelink` command line (docs/CLI.md). */
#ifndef SL_CLI_H
#define SL_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "storelink.h"

/* sysexits(3) codes used by every command (docs/CLI.md "Exit codes") */
enum {
    EX_OK_ = 0, EX_FAIL_ = 1, EX_USAGE_ = 64, EX_DATAERR_ = 65, EX_NOINPUT_ = 66, EX_UNAVAILABLE_ = 69,
    EX_SOFTWARE_ = 70, EX_CANTCREAT_ = 73, EX_IOERR_ = 74, EX_TEMPFAIL_ = 75, EX_NOPERM_ = 77, EX_CONFIG_ = 78,
};

typedef struct sl_cli {
    sl_config cfg;
    const char *prog;
    /* status and doctor run on what could be parsed when the config file
     * is unreadable or invalid: the error, else "" */
    char cfg_err[512];
} sl_cli;

/* Exit code for an sl_err. */
int sl__cli_exit(int err);
/* One-line error to stderr: "storelink: <message>". */
void sl__cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Open the journal of the configured state dir; prints the error itself. */
int sl__cli_open(sl_cli *c, int read_only, sl_journal **j);
/* Parse an unsigned number argument; prints a usage error. */
int sl__cli_u64(const char *opt, const char *s, uint64_t *out);
/* "4.36 EUR" with the currency's minor-unit exponent. */
void sl__cli_money(int64_t minor, const char *currency, char *out, size_t outsz);

int sl__cmd_record(sl_cli *c, int argc, char **argv);
int sl__cmd_journal(sl_cli *c, int argc, char **argv);
int sl__cmd_export(sl_cli *c, int argc, char **argv);
int sl__cmd_run(sl_cli *c, int argc, char **argv);
int sl__cmd_status(sl_cli *c, int argc, char **argv);
int sl__cmd_price(sl_cli *c, int argc, char **argv);
int sl__cmd_stock(sl_cli *c, int argc, char **argv);
int sl__cmd_keygen(sl_cli *c, int argc, char **argv);
int sl__cmd_csr(sl_cli *c, int argc, char **argv);
int sl__cmd_doctor(sl_cli *c, int argc, char **argv);
int sl__cmd_dlq(sl_cli *c, int argc, char **argv);
int sl__cmd_trace(sl_cli *c, int argc, char **argv);
/* "currency" for SL_REJ_CURRENCY ...: the hub's reject codes by name */
const char *sl__dlq_code_name(uint32_t code);
int sl__cmd_scan(sl_cli *c, int argc, char **argv);
int sl__cmd_close_day(sl_cli *c, int argc, char **argv);
int sl__cmd_report(sl_cli *c, int argc, char **argv);
/* The daemon's close at day_end (cli_day.c): closes, in date order, every
 * ended business day with records no close counted yet (nothing when
 * [day] auto_close is off); *wait_ms says when to look again. */
int sl__day_auto_close(sl_journal *j, const sl_config *cfg, int64_t now_ms, uint64_t *wait_ms);
/* Retention never removes a record of a business day no close has
 * counted (cli_day.c): eligible are records at or below the newest close's
 * through_seq and dated before the end of its day.  *max_seq and *before_ms
 * receive that bound (UINT64_MAX / INT64_MAX: none).  A device that never
 * closed a day gets max_seq 0 (nothing) while [day] auto_close is on, no
 * bound when it is off.  r caches the newest close between calls (zero it
 * once).  SL_OK or a journal or time zone error. */
typedef struct sl__day_retention {
    int scanned;            /* journal scanned for closes older than the meta key */
    uint64_t scan_seq;      /* newest close that scan found, 0 none */
    uint64_t close_seq;     /* the close the bound below is for, 0 none yet */
    uint64_t through;
    int64_t end_ms;
} sl__day_retention;
int sl__day_retention_bound(sl_journal *j, const sl_config *cfg, sl__day_retention *r,
                            uint64_t *max_seq, int64_t *before_ms);
int sl__cmd_sync(sl_cli *c, int argc, char **argv);
int sl__cmd_tail(sl_cli *c, int argc, char **argv);

#endif
