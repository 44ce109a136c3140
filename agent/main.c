/*
 * storelink - one binary, many subcommands (docs/CLI.md).
 * Global options may appear anywhere on the command line.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "platform.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: storelink [--config PATH] [--state-dir DIR] COMMAND [ARGS]\n"
        "\n"
        "commands:\n"
        "  record [--file PATH] [--json]      record JSON events (stdin or file)\n"
        "  journal list [--from SEQ] [--limit N] [--kind K] [--json]\n"
        "  journal show SEQ [--json]\n"
        "  journal verify [--json]            recompute the hash chain\n"
        "  export --format jsonl [--from SEQ] [--to SEQ]\n"
        "  status [--json]                    sync health: backlog, acks, connection\n"
        "  doctor [--full] [--timeout S] [--json]  check config, journal, identity, broker\n"
        "  dlq list [--json]                  records the hub rejected (dead letters)\n"
        "  dlq retry SEQ|--all                send dead letters again for the hub to re-judge\n"
        "  dlq drop SEQ --reason TEXT         give a dead letter up (journaled as dlq_drop)\n"
        "  trace TXN_ID [--json]              one record's life: sent, acked, rejected, waiting\n"
        "  price SKU [--at TIME] [--json]     price from the offline catalog (TIME: Unix ms\n"
        "                                     or ISO 8601, e.g. 2026-11-24T00:00:00Z)\n"
        "  stock SKU [--json]                 on-hand: catalog figure + this device's records\n"
        "  close-day [--date YYYY-MM-DD] [--json]  close a business day (Z-report record)\n"
        "  report day [--date YYYY-MM-DD] [--json] the day's Z-report from the journal\n"
        "  run                                the daemon: sync with the hub over MQTT/TLS\n"
        "  scan [--scanner NAME]...           run the [scanner.NAME] barcode scanners in the\n"
        "                                     foreground, recording into the journal\n"
        "  sync now [--json]                  ask the running daemon to try the broker now\n"
        "  tail [--json]                      follow records and sync events live\n"
        "  keygen [--out PATH]                create the device key (P-256, mode 0600)\n"
        "  csr --device ID --store S [--out PATH]  certificate request for the store CA\n"
        "  version                            print the version\n"
        "  help                               this text\n"
        "\n"
        "global options:\n"
        "  --config PATH     configuration file (default " SL_DEFAULT_CONFIG ")\n"
        "  --state-dir DIR   state directory (default " SL_DEFAULT_STATE_DIR ")\n"
        "  --version         print the version\n"
        "\n"
        "exit codes: 0 ok, 1 check failed, 64 usage, 65 bad data, 66 not found,\n"
        "74 I/O, 75 temporary (journal full), 78 configuration (see docs/CLI.md)\n");
}

int main(int argc, char **argv)
{
    sl_cli c;
    const char *config = NULL, *state_dir = NULL;
    char *args[256];
    int n = 0;
    memset(&c, 0, sizeof c);
    c.prog = argv[0];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "--state-dir") == 0) {
            if (i + 1 >= argc) {
                sl__cli_err("%s needs a value", argv[i]);
                return EX_USAGE_;
            }
            if (argv[i][2] == 'c')
                config = argv[++i];
            else
                state_dir = argv[++i];
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("storelink %s\n", SL_VERSION);
            return EX_OK_;
        } else if (n < (int)(sizeof args / sizeof args[0]) - 1) {
            args[n++] = argv[i];
        } else {
            sl__cli_err("too many arguments");
            return EX_USAGE_;
        }
    }
    args[n] = NULL;
    if (n == 0) {
        usage(stderr);
        return EX_USAGE_;
    }
    const char *cmd = args[0];
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return EX_OK_;
    }
    if (strcmp(cmd, "version") == 0) {
        printf("storelink %s\n", SL_VERSION);
        return EX_OK_;
    }

    char err[512];
    sl__config_defaults(&c.cfg);
    if (config == NULL) {
        config = sl_plat_getenv("STORELINK_CONFIG");
        if (config != NULL && config[0] == '\0')
            config = NULL;
    }
    int rc = sl__config_load(&c.cfg, config ? config : SL_DEFAULT_CONFIG, config != NULL, err,
                             sizeof err);
    if (rc != SL_OK && (strcmp(cmd, "status") == 0 || strcmp(cmd, "doctor") == 0)) {
        /* the diagnostic commands report a bad config themselves (exit 2)
         * and go on with what could be parsed */
        snprintf(c.cfg_err, sizeof c.cfg_err, "%s", err);
    } else if (rc != SL_OK) {
        sl__cli_err("%s", err);
        return EX_CONFIG_;
    }
    for (unsigned i = 0; i < c.cfg.n_warn; i++)
        sl_plat_log(SL_LOG_WARNING, "%s: %s", c.cfg.path, c.cfg.warn[i]);
    if (state_dir != NULL) {
        if (strlen(state_dir) == 0 || strlen(state_dir) >= sizeof c.cfg.state_dir) {
            sl__cli_err("--state-dir: invalid path");
            return EX_USAGE_;
        }
        snprintf(c.cfg.state_dir, sizeof c.cfg.state_dir, "%s", state_dir);
    }
    sl_plat_log_set_level(c.cfg.log_level);

    if (strcmp(cmd, "record") == 0)
        return sl__cmd_record(&c, n, args);
    if (strcmp(cmd, "journal") == 0)
        return sl__cmd_journal(&c, n, args);
    if (strcmp(cmd, "export") == 0)
        return sl__cmd_export(&c, n, args);
    if (strcmp(cmd, "status") == 0)
        return sl__cmd_status(&c, n, args);
    if (strcmp(cmd, "price") == 0)
        return sl__cmd_price(&c, n, args);
    if (strcmp(cmd, "stock") == 0)
        return sl__cmd_stock(&c, n, args);
    if (strcmp(cmd, "run") == 0)
        return sl__cmd_run(&c, n, args);
    if (strcmp(cmd, "close-day") == 0)
        return sl__cmd_close_day(&c, n, args);
    if (strcmp(cmd, "report") == 0)
        return sl__cmd_report(&c, n, args);
    if (strcmp(cmd, "keygen") == 0)
        return sl__cmd_keygen(&c, n, args);
    if (strcmp(cmd, "csr") == 0)
        return sl__cmd_csr(&c, n, args);
    if (strcmp(cmd, "doctor") == 0)
        return sl__cmd_doctor(&c, n, args);
    if (strcmp(cmd, "dlq") == 0)
        return sl__cmd_dlq(&c, n, args);
    if (strcmp(cmd, "trace") == 0)
        return sl__cmd_trace(&c, n, args);
    if (strcmp(cmd, "scan") == 0)
        return sl__cmd_scan(&c, n, args);
    if (strcmp(cmd, "sync") == 0)
        return sl__cmd_sync(&c, n, args);
    if (strcmp(cmd, "tail") == 0)
        return sl__cmd_tail(&c, n, args);
    sl__cli_err("unknown command '%s' (try 'storelink help')", cmd);
    return EX_USAGE_;
}
