/*
 * storelink-hub report day: a store's consolidated business day across
 * its devices, from the records the hub stored (what finance reads), with
 * each device's close state beside it.  The figures are the hub's own
 * recomputation (reconcile.c), so a device that never closed still counts.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "day_json.h"
#include "dayclose.h"
#include "reconcile.h"

int hub_cmd_report(const hub_config *cfg, int argc, char **argv)
{
    hub_day_args a;
    hub_store *st = NULL;
    hub_dev_list l;
    char date[11];
    if (argc < 2 || strcmp(argv[1], "day") != 0) {
        fprintf(stderr, "storelink-hub: report: usage: storelink-hub report day --date "
                "YYYY-MM-DD [--store S] [--json]\n");
        return EX_USAGE_;
    }
    int ex = hub_day_args_parse("report day", 2, argc, argv, &a);
    if (ex != 0)
        return ex;
    int rc = hub_cli_open_db(cfg, &st);
    if (rc != SL_OK)
        return sl__cli_exit(rc);
    memset(&l, 0, sizeof l);
    hub_day_dev *dv = malloc(sizeof *dv);
    sl_day_close *sum = malloc(sizeof *sum);
    hub_zone_cache *zc = calloc(1, sizeof *zc);
    json_t *devs = a.json ? json_array() : NULL;
    int ndev = 0, nclosed = 0, nrecon = 0;
    sl__date_format(a.day, date);
    rc = dv && sum && zc ? hub_day_devices(st, a.store, &l) : SL_ERR_NOMEM;
    if (rc == SL_OK)
        sl__day_init(sum, a.day, a.o.tz, a.o.day_end_min);
    if (rc == SL_OK && !a.json) {
        printf("business day  %s, store %s\n", date, a.store ? a.store : "(all stores)");
        printf("%-24s %-16s %-8s %8s  %s\n", "DEVICE", "STORE", "CLOSED", "RECORDS", "RECONCILES");
    }
    for (size_t i = 0; rc == SL_OK && i < l.n; i++) {
        hub_day_opts zo;
        rc = hub_day_zone(st, &l, i, &a.o, zc, &zo);
        if (rc == SL_OK)
            rc = hub_day_device(st, l.dev[i][0], l.dev[i][1], a.day, &zo, dv);
        if (rc != SL_OK || (!dv->closed && dv->hub.records == 0))
            continue;
        int n = hub_day_discrepancies(dv, NULL, NULL);
        ndev++;
        nclosed += dv->closed;
        nrecon += n == 0;
        if ((rc = sl__day_merge(sum, &dv->hub)) != SL_OK)
            break;
        if (a.json) {
            json_t *o = json_object();
            json_object_set_new(o, "device", json_string(dv->device));
            json_object_set_new(o, "store", json_string(dv->store));
            json_object_set_new(o, "closed", json_boolean(dv->closed));
            json_object_set_new(o, "reconciled", json_boolean(n == 0));
            json_object_set_new(o, "day", sl__day_json(&dv->hub));
            json_array_append_new(devs, o);
        } else {
            printf("%-24s %-16s %-8s %8llu  %s\n", dv->device, dv->store,
                   dv->closed ? "yes" : "no", (unsigned long long)dv->hub.records,
                   n == 0 ? "yes" : "no (see reconcile)");
        }
    }
    if (rc == SL_OK && a.json) {
        json_t *o = json_object();
        json_t *t = sl__day_json(sum);
        /* seq range, hash and zone mean nothing across devices */
        json_object_del(t, "first_seq");
        json_object_del(t, "last_seq");
        json_object_del(t, "last_hash");
        json_object_del(t, "through_seq");
        json_object_del(t, "prev");
        json_object_del(t, "timezone");
        json_object_del(t, "day_end");
        json_object_set_new(o, "date", json_string(date));
        json_object_set_new(o, "store", a.store ? json_string(a.store) : json_null());
        json_object_set_new(o, "devices_count", json_integer(ndev));
        json_object_set_new(o, "devices_closed", json_integer(nclosed));
        json_object_set_new(o, "devices_reconciled", json_integer(nrecon));
        json_object_set_new(o, "total", t);
        json_object_set_new(o, "devices", devs);
        devs = NULL;
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        if (s)
            puts(s);
        free(s);
        json_decref(o);
    } else if (rc == SL_OK) {
        printf("devices       %d (%d closed, %d reconcile)\n", ndev, nclosed, nrecon);
        sl__day_print(stdout, sum);
    }
    json_decref(devs);
    free(l.dev);
    free(dv);
    free(sum);
    free(zc);
    hub_store_close(st);
    if (rc != SL_OK) {
        fprintf(stderr, "storelink-hub: report day %s: %s\n", date, sl_strerror(rc));
        return sl__cli_exit(rc);
    }
    return EX_OK_;
}
