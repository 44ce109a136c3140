/*
 * storelink-hub - the central consumer: stores device batches exactly once
 * and acknowledges them (docs/PROTOCOL.md "Hub"), and the source of the
 * devices' signed price and stock catalog (catalog_pub.h).  `--config PATH` may appear anywhere
 * on the command line.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"        /* the agent's sysexits codes and sl__cli_exit */
#include "catalog_pub.h"
#include "export.h"
#include "fleet.h"
#include "hub_config.h"
#include "log.h"
#include "mqtt.h"
#include "platform.h"
#include "reconcile.h"
#include "store.h"

/* sysexits(3) */

/* --expires-in at most ten years */
#define EXPIRES_IN_MAX_S (10LL * 366 * 86400)

static void usage(FILE *f)
{
    fprintf(f,
        "usage: storelink-hub [--config PATH] COMMAND [ARGS]\n"
        "\n"
        "commands:\n"
        "  run                                 connect to the broker and store batches\n"
        "  export --format jsonl [--since ID] [--device D]\n"
        "                                      stored records as JSON lines, in id order\n"
        "  devices [--json] [--store S]        the fleet, worst first: online/offline,\n"
        "                                      backlog and its age, dead letters, health,\n"
        "                                      certificate, catalog versions\n"
        "  count [--device D]                  number of stored records\n"
        "  publish prices FILE.csv --store S|all [--delta] [--expires-in SECONDS]\n"
        "  publish stock FILE.csv --store S [--delta] [--expires-in SECONDS]\n"
        "                                      sign a price or stock update with the\n"
        "                                      catalog key and publish it to the devices\n"
        "                                      (CSV header: sku,price,currency[,effective_from]\n"
        "                                      or sku,on_hand)\n"
        "  reconcile --date YYYY-MM-DD [--store S] [--json]\n"
        "                                      each device's day_close against the\n"
        "                                      records stored here (exit 1: discrepancies)\n"
        "  report day --date YYYY-MM-DD [--store S] [--json]\n"
        "                                      a store's consolidated business day\n"
        "                                      (both: [--timezone TZ] [--day-end HH:MM]\n"
        "                                      date devices that never sent a close)\n"
        "  catalog-keygen [--out KEY] [--pub PUB]\n"
        "                                      create the catalog key (default: [hub]\n"
        "                                      catalog_key) and its public half for the\n"
        "                                      devices' catalog_pubkey (default KEY.pub)\n"
        "  version                             print the version\n"
        "  help                                this text\n"
        "\n"
        "options:\n"
        "  --config PATH   configuration file (default " HUB_DEFAULT_CONFIG ")\n"
        "\n"
        "exit codes: 0 ok, 1 reconcile found discrepancies, 64 usage, 65 invalid CSV,\n"
        "66 no database or file, 69 broker unreachable or refused us, 73 key exists,\n"
        "74 I/O or database, 78 configuration\n");
}

static void err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void err(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "storelink-hub: %s\n", msg);
}

static int parse_i64(const char *opt, const char *s, int64_t *out)
{
    char *end;
    if (s == NULL || s[0] < '0' || s[0] > '9') {
        err("%s: expects a whole number", opt);
        return SL_ERR_USAGE;
    }
    long long v = strtoll(s, &end, 10);
    if (*end != '\0' || v < 0) {
        err("%s: expects a whole number", opt);
        return SL_ERR_USAGE;
    }
    *out = v;
    return SL_OK;
}

static int device_arg(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > HUB_ID_MAX) {
        err("--device: 1-%d characters", HUB_ID_MAX);
        return SL_ERR_USAGE;
    }
    return SL_OK;
}

static int cmd_export(const hub_config *cfg, int argc, char **argv)
{
    int64_t since = 0;
    const char *device = NULL, *format = "jsonl";
    hub_store *st;
    uint64_t n = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            format = argv[++i];
        } else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc) {
            if (parse_i64("--since", argv[++i], &since) != SL_OK)
                return EX_USAGE_;
        } else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            device = argv[++i];
            if (device_arg(device) != SL_OK)
                return EX_USAGE_;
        } else {
            err("export: unknown option '%s' (usage: storelink-hub export --format jsonl "
                "[--since ID] [--device D])", argv[i]);
            return EX_USAGE_;
        }
    }
    if (strcmp(format, "jsonl") != 0) {
        err("export: --format must be jsonl");
        return EX_USAGE_;
    }
    int rc = hub_cli_open_db(cfg, &st);
    if (rc != SL_OK)
        return sl__cli_exit(rc);
    rc = hub_export_jsonl(st, since, device, stdout, &n);
    hub_store_close(st);
    if (rc != SL_OK) {
        err("export stopped after %llu records: %s", (unsigned long long)n, sl_strerror(rc));
        return sl__cli_exit(rc);
    }
    return EX_OK_;
}

/* The fleet view, worst first (fleet.h, docs/CLI.md "storelink-hub devices"). */
static int cmd_devices(const hub_config *cfg, int argc, char **argv)
{
    static const char use[] = "storelink-hub devices [--json] [--store S]";
    int json = 0;
    const char *store = NULL;
    hub_store *st;
    hub_fleet f;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc) {
            store = argv[++i];
            if (!sl__cat_id_ok(store, strlen(store), 0)) {
                err("devices: --store: 1-%d letters, digits, '-', '_' or '.'", SL_CAT_ID_MAX);
                return EX_USAGE_;
            }
        } else {
            err("devices: unknown option '%s' (usage: %s)", argv[i], use);
            return EX_USAGE_;
        }
    }
    int rc = hub_cli_open_db(cfg, &st);
    if (rc != SL_OK)
        return sl__cli_exit(rc);
    int64_t now = sl_plat_now_ms();
    rc = hub_fleet_load(&f, st, store, now);
    hub_store_close(st);
    if (rc == SL_ERR_TOO_LARGE) {
        err("devices: more than %u devices: list one store at a time with --store",
            HUB_FLEET_MAX);
        return sl__cli_exit(rc);
    }
    if (rc == SL_OK) {
        hub_fleet_sort(&f);
        if (json) {
            rc = hub_fleet_write_json(&f, now, stdout);
        } else {
            hub_fleet_print(&f, now, stdout);
        }
        hub_fleet_free(&f);
    }
    if (rc == SL_OK && fflush(stdout) != 0)
        rc = SL_ERR_IO;
    if (rc != SL_OK)
        err("devices: %s", sl_strerror(rc));
    return sl__cli_exit(rc);
}

static int cmd_count(const hub_config *cfg, int argc, char **argv)
{
    const char *device = NULL;
    hub_store *st;
    uint64_t n = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            device = argv[++i];
            if (device_arg(device) != SL_OK)
                return EX_USAGE_;
        } else {
            err("count: unknown option '%s' (usage: storelink-hub count [--device D])", argv[i]);
            return EX_USAGE_;
        }
    }
    int rc = hub_cli_open_db(cfg, &st);
    if (rc != SL_OK)
        return sl__cli_exit(rc);
    rc = hub_store_count(st, device, &n);
    hub_store_close(st);
    if (rc != SL_OK) {
        err("count: %s", sl_strerror(rc));
        return sl__cli_exit(rc);
    }
    printf("%llu\n", (unsigned long long)n);
    return EX_OK_;
}

/* mkdir -p of the directory holding path */
static int make_parent(const char *path, unsigned mode)
{
    char dir[HUB_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return SL_OK;
    *slash = '\0';
    int rc = sl_plat_mkdir_p(dir, mode);
    if (rc != SL_OK)
        err("cannot create %s: %s", dir, sl_strerror(rc));
    return rc;
}

static int cmd_catalog_keygen(const hub_config *cfg, int argc, char **argv)
{
    const char *out = cfg->catalog_key[0] ? cfg->catalog_key : NULL, *pub = NULL;
    char pubdef[HUB_PATH_MAX + 8];
    sl__key *k = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(argv[i], "--pub") == 0 && i + 1 < argc) {
            pub = argv[++i];
        } else {
            err("catalog-keygen: unknown option '%s' (usage: storelink-hub catalog-keygen "
                "[--out KEY] [--pub PUB])", argv[i]);
            return EX_USAGE_;
        }
    }
    if (out == NULL || out[0] == '\0') {
        err("catalog-keygen: no --out KEY and no [hub] catalog_key in the configuration");
        return EX_USAGE_;
    }
    if (pub == NULL) {
        snprintf(pubdef, sizeof pubdef, "%s.pub", out);
        pub = pubdef;
    }
    if (make_parent(out, 0700) != SL_OK || make_parent(pub, 0755) != SL_OK)
        return EX_CANTCREAT_;
    int rc = sl__key_generate(out);
    if (rc == SL_ERR_CONFLICT) {
        err("catalog-keygen: %s already exists; a catalog key is never overwritten", out);
        return EX_CANTCREAT_;
    }
    if (rc == SL_OK)
        rc = sl__key_load(&k, out);
    if (rc == SL_OK)
        rc = sl__key_write_pub(k, pub);
    sl__key_free(k);
    if (rc != SL_OK) {
        err("catalog-keygen: cannot write %s / %s: %s", out, pub, sl_strerror(rc));
        return sl__cli_exit(rc);
    }
    printf("catalog key written to %s (mode 0600): set [hub] catalog_key to it\n"
           "public key written to %s: install it on the devices as catalog_pubkey\n", out, pub);
    return EX_OK_;
}

static int cmd_publish(const hub_config *cfg, int argc, char **argv)
{
    static const char use[] = "storelink-hub publish prices|stock FILE.csv --store S "
                              "[--delta] [--expires-in SECONDS]";
    const char *file = NULL, *store = NULL;
    int type = 0, delta = 0, ex;
    int64_t expires_s = 0;
    hub_cat_items items = {0, 0, NULL, NULL};
    hub_cat_msg msg = {0};
    hub_store *st = NULL;
    hub_pub *pb = NULL;
    sl__key *key = NULL;
    char msgbuf[512];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--store") == 0 && i + 1 < argc) {
            store = argv[++i];
        } else if (strcmp(argv[i], "--delta") == 0) {
            delta = 1;
        } else if (strcmp(argv[i], "--expires-in") == 0 && i + 1 < argc) {
            if (parse_i64("--expires-in", argv[++i], &expires_s) != SL_OK)
                return EX_USAGE_;
            if (expires_s < 1 || expires_s > EXPIRES_IN_MAX_S) {
                err("--expires-in: 1 to %lld seconds", (long long)EXPIRES_IN_MAX_S);
                return EX_USAGE_;
            }
        } else if (argv[i][0] != '-' && type == 0) {
            if (strcmp(argv[i], "prices") == 0) {
                type = SL_CAT_PRICES;
            } else if (strcmp(argv[i], "stock") == 0) {
                type = SL_CAT_STOCK;
            } else {
                err("publish: '%s' is not prices or stock (usage: %s)", argv[i], use);
                return EX_USAGE_;
            }
        } else if (argv[i][0] != '-' && file == NULL) {
            file = argv[i];
        } else {
            err("publish: unexpected '%s' (usage: %s)", argv[i], use);
            return EX_USAGE_;
        }
    }
    if (type == 0 || file == NULL || store == NULL) {
        err("publish: %s missing (usage: %s)",
            type == 0 ? "prices or stock" : file == NULL ? "FILE.csv" : "--store", use);
        return EX_USAGE_;
    }
    if (!sl__cat_id_ok(store, strlen(store), type == SL_CAT_PRICES)) {
        err("publish: --store: 1-%d letters, digits, '-', '_' or '.'%s", SL_CAT_ID_MAX,
            type == SL_CAT_STOCK && strcmp(store, SL_CAT_SCOPE_ALL) == 0
                ? " ('all' is for chain-wide prices only; stock is per store)" : "");
        return EX_USAGE_;
    }
    if (cfg->catalog_key[0] == '\0') {
        err("publish: no [hub] catalog_key in %s (create one with 'storelink-hub "
            "catalog-keygen')", cfg->path[0] ? cfg->path : "the configuration");
        return EX_CONFIG_;
    }
    /* everything that can be checked offline first: a bad line publishes nothing */
    int rc = hub_cat_csv_load(&items, type, file, cfg->n_currencies,
                              (const char (*)[4])cfg->currencies, msgbuf, sizeof msgbuf);
    if (rc != SL_OK) {
        err("%s", msgbuf);
        return sl__cli_exit(rc);
    }
    if ((rc = sl__key_load(&key, cfg->catalog_key)) != SL_OK) {
        err("catalog_key %s: %s", cfg->catalog_key,
            rc == SL_ERR_NOT_FOUND ? "not found" : "not a PEM P-256 private key");
        ex = EX_CONFIG_;
        goto out;
    }
    if ((rc = make_parent(cfg->db_path, 0750)) != SL_OK) {
        ex = sl__cli_exit(rc);
        goto out;
    }
    if ((rc = hub_store_open(&st, cfg->db_path, HUB_STORE_CREATE)) != SL_OK) {
        err("cannot open database %s: %s", cfg->db_path, sl_strerror(rc));
        ex = sl__cli_exit(rc);
        goto out;
    }
    /* the broker before the version: a broker that is down costs nothing */
    if ((ex = hub_pub_open(&pb, cfg, msgbuf, sizeof msgbuf)) != EX_OK_) {
        err("publish: nothing published: %s", msgbuf);
        goto out;
    }
    hub_cat_update u = {cfg->topic_prefix, type, store, delta, expires_s * 1000,
                        sl_plat_now_ms()};
    if ((rc = hub_cat_publish(st, key, &u, &items, &msg, msgbuf, sizeof msgbuf)) != SL_OK) {
        err("publish: %s", msgbuf);   /* rolled back: nothing recorded, nothing sent */
        ex = sl__cli_exit(rc);
        goto out;
    }
    ex = hub_pub_send(pb, msg.topic, msg.data, msg.len, msg.kind == SL_CAT_SNAPSHOT, msgbuf,
                      sizeof msgbuf);
    if (ex != EX_OK_) {
        /* the version is recorded: devices that miss it notice at the next
         * delta and ask for a snapshot; publishing again also heals it */
        err("publish: %s v%llu is recorded at the hub but was not delivered: %s",
            sl__cat_type_name(type), (unsigned long long)msg.version, msgbuf);
        goto out;
    }
    printf("published %s v%llu (%s, %zu item%s) for %s%s\n", sl__cat_type_name(type),
           (unsigned long long)msg.version, delta ? "delta" : "snapshot", msg.n_items,
           msg.n_items == 1 ? "" : "s", strcmp(store, SL_CAT_SCOPE_ALL) == 0 ? "all stores" : "store ",
           strcmp(store, SL_CAT_SCOPE_ALL) == 0 ? "" : store);
    if (fflush(stdout) != 0)
        ex = EX_IOERR_;
out:
    hub_pub_close(pb);
    hub_cat_msg_free(&msg);
    hub_store_close(st);
    sl__key_free(key);
    hub_cat_items_free(&items);
    return ex;
}

int main(int argc, char **argv)
{
    const char *config = NULL;
    char *args[64];
    int n = 0;
    char msg[512];
    hub_config *cfg = NULL;
    int ex;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                err("--config needs a value");
                return EX_USAGE_;
            }
            config = argv[++i];
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("storelink-hub %s\n", SL_VERSION);
            return EX_OK_;
        } else if (n < (int)(sizeof args / sizeof args[0]) - 1) {
            args[n++] = argv[i];
        } else {
            err("too many arguments");
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
        printf("storelink-hub %s\n", SL_VERSION);
        return EX_OK_;
    }
    if (strcmp(cmd, "run") != 0 && strcmp(cmd, "export") != 0 && strcmp(cmd, "devices") != 0 &&
        strcmp(cmd, "count") != 0 && strcmp(cmd, "publish") != 0 &&
        strcmp(cmd, "catalog-keygen") != 0 && strcmp(cmd, "reconcile") != 0 &&
        strcmp(cmd, "report") != 0) {
        err("unknown command '%s' (try 'storelink-hub help')", cmd);
        return EX_USAGE_;
    }
    /* hub_config is about 40 KiB of paths: not on the stack */
    if ((cfg = malloc(sizeof *cfg)) == NULL) {
        err("out of memory");
        return EX_SOFTWARE_;
    }
    hub_config_defaults(cfg);
    if (hub_config_load(cfg, config ? config : HUB_DEFAULT_CONFIG, config != NULL, msg,
                        sizeof msg) != SL_OK) {
        err("%s", msg);
        ex = EX_CONFIG_;
        goto out;
    }
    hub_log_set_level(cfg->log_level);
    for (unsigned i = 0; i < cfg->n_warn; i++)
        hub_log(SL_LOG_WARNING, "%s: %s", cfg->path, cfg->warn[i]);

    if (strcmp(cmd, "run") == 0) {
        if (n != 1) {
            err("run takes no arguments");
            ex = EX_USAGE_;
        } else {
            ex = hub_run(cfg);
        }
    } else if (strcmp(cmd, "export") == 0) {
        ex = cmd_export(cfg, n, args);
    } else if (strcmp(cmd, "devices") == 0) {
        ex = cmd_devices(cfg, n, args);
    } else if (strcmp(cmd, "publish") == 0) {
        ex = cmd_publish(cfg, n, args);
    } else if (strcmp(cmd, "catalog-keygen") == 0) {
        ex = cmd_catalog_keygen(cfg, n, args);
    } else if (strcmp(cmd, "reconcile") == 0) {
        ex = hub_cmd_reconcile(cfg, n, args);
    } else if (strcmp(cmd, "report") == 0) {
        ex = hub_cmd_report(cfg, n, args);
    } else {
        ex = cmd_count(cfg, n, args);
    }
out:
    free(cfg);
    return ex;
}
