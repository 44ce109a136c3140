/* The hub's fleet view (hub/fleet.h) over a real hub database: statuses as
 * devices publish them, the order worst first, the backlog capped by what
 * the hub stored, undecodable and old 5-key statuses, the --store filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "fleet.h"
#include "statusmsg.h"
#include "store.h"

#define NOW 1795000000000LL
#define MIN 60000LL
#define DAY 86400000LL

struct fx {
    char dir[64];
    char path[128];
    hub_store *st;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sl-fleet-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/hub.db", f->dir);
    assert_int_equal(hub_store_open(&f->st, f->path, HUB_STORE_CREATE), SL_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char p[200];
    hub_store_close(f->st);
    const char *files[] = {"hub.db", "hub.db-wal", "hub.db-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", f->dir, files[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* a device's status: online, seq/acked on the device, unacked oldest ts,
 * health (-1: leave key 16 out), cert expiry; received by the hub at at_ms */
static void put(struct fx *f, const char *store, const char *dev, int online, uint64_t acked,
                uint64_t last, int64_t oldest, int health, int64_t not_after, int64_t at_ms)
{
    sl__status s;
    uint8_t buf[SL_STATUSMSG_MAX];
    size_t n;
    sl__status_init(&s, online, at_ms, acked, last, NULL);
    sl__status_set_u(&s, SL_ST_UNACKED, last - acked);
    sl__status_set_i(&s, SL_ST_OLDEST_TS, oldest);
    sl__status_set_i(&s, SL_ST_CERT_NOT_AFTER, not_after);
    if (health >= 0)
        sl__status_set_u(&s, SL_ST_HEALTH, (uint64_t)health);
    sl__status_set_i(&s, SL_ST_CONN_SINCE, at_ms - 5 * MIN);
    assert_int_equal(sl__status_encode(&s, buf, sizeof buf, &n), SL_OK);
    assert_int_equal(hub_store_status_put(f->st, dev, store, buf, n, at_ms), SL_OK);
}

static void advance(struct fx *f, const char *dev, const char *store, uint64_t seq)
{
    uint8_t h[32] = {0};
    assert_int_equal(hub_store_device_advance(f->st, dev, store, seq, h, NOW - MIN, 0), SL_OK);
}

static const hub_fleet_dev *find(const hub_fleet *fl, const char *dev)
{
    for (size_t i = 0; i < fl->n; i++)
        if (strcmp(fl->dev[i].device, dev) == 0)
            return &fl->dev[i];
    fail_msg("device %s not listed", dev);
    return NULL;
}

static void test_order_and_derived(void **state)
{
    struct fx *f = *state;
    const int64_t cert = NOW + 300 * DAY;
    /* healthy, online */
    put(f, "s-1", "ok-online", 1, 10, 10, 0, 0, cert, NOW - MIN);
    advance(f, "ok-online", "s-1", 10);
    /* healthy, offline for 3 h and for 1 h */
    put(f, "s-1", "off-3h", 0, 5, 5, 0, 0, cert, NOW - 180 * MIN);
    put(f, "s-2", "off-1h", 0, 5, 5, 0, 0, cert, NOW - 60 * MIN);
    /* degraded with backlogs 2 h and 5 h old */
    put(f, "s-1", "lag-2h", 1, 3, 9, NOW - 120 * MIN, 1, cert, NOW - MIN);
    put(f, "s-2", "lag-5h", 1, 0, 4, NOW - 300 * MIN, 1, cert, NOW - MIN);
    /* the device said healthy, but its certificate has expired since */
    put(f, "s-2", "expired", 0, 1, 1, 0, 0, NOW - DAY, NOW - 2 * DAY);
    /* reported a backlog the hub has meanwhile stored: none left */
    put(f, "s-1", "caught-up", 1, 0, 6, NOW - 400 * MIN, -1, cert, NOW - 2 * MIN);
    advance(f, "caught-up", "s-1", 6);
    /* an old agent: keys 1-5 only */
    {
        sl__status s;
        uint8_t buf[64];
        size_t n;
        sl__status_init(&s, 1, NOW, 2, 2, "0.0.9");
        assert_int_equal(sl__status_encode(&s, buf, sizeof buf, &n), SL_OK);
        assert_int_equal(hub_store_status_put(f->st, "old", "s-1", buf, n, NOW - MIN), SL_OK);
    }
    /* garbage on the status topic */
    assert_int_equal(hub_store_status_put(f->st, "junk", "s-1", "\xa1\x01\x02", 3, NOW - MIN),
                     SL_OK);

    hub_fleet fl;
    assert_int_equal(hub_fleet_load(&fl, f->st, NULL, NOW), SL_OK);
    assert_int_equal(fl.n, 9);
    hub_fleet_sort(&fl);
    const char *want[] = {"expired", "lag-5h", "lag-2h", "junk", "old", "off-3h", "off-1h",
                          "caught-up", "ok-online"};
    for (size_t i = 0; i < 9; i++)
        assert_string_equal(fl.dev[i].device, want[i]);

    const hub_fleet_dev *d = find(&fl, "lag-2h");
    assert_int_equal(d->state, HUB_FLEET_ONLINE);
    assert_int_equal(d->backlog, 6);
    assert_int_equal(d->oldest_age_ms, 120 * MIN);
    assert_int_equal(d->since_ms, NOW - 6 * MIN);
    d = find(&fl, "caught-up");
    assert_int_equal(d->backlog, 0);
    assert_int_equal(d->oldest_age_ms, -1);
    assert_int_equal(d->health, SL_HEALTH_HEALTHY);   /* judged by the hub: no key 16 */
    d = find(&fl, "expired");
    assert_int_equal(d->health, SL_HEALTH_FAILING);
    assert_int_equal(d->state, HUB_FLEET_OFFLINE);
    assert_int_equal(d->since_ms, NOW - 2 * DAY);     /* when the hub got "offline" */
    d = find(&fl, "old");
    assert_int_equal(d->health, -1);
    assert_true(d->has_status);
    d = find(&fl, "junk");
    assert_false(d->has_status);
    assert_int_equal(d->state, HUB_FLEET_UNKNOWN);
    assert_non_null(strstr(d->status_error, "status"));

    /* the text view: one line per device plus the header */
    char *text = NULL;
    size_t tl = 0;
    FILE *mem = open_memstream(&text, &tl);
    assert_non_null(mem);
    hub_fleet_print(&fl, NOW, mem);
    fclose(mem);
    size_t lines = 0;
    for (size_t i = 0; i < tl; i++)
        lines += text[i] == '\n';
    assert_int_equal(lines, 10);
    assert_non_null(strstr(text, "expired"));
    free(text);

    mem = open_memstream(&text, &tl);
    assert_non_null(mem);
    assert_int_equal(hub_fleet_write_json(&fl, NOW, mem), SL_OK);
    fclose(mem);
    json_t *arr = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(arr);
    assert_int_equal(json_array_size(arr), 9);
    json_t *first = json_array_get(arr, 0);
    assert_string_equal(json_string_value(json_object_get(first, "health")), "failing");
    assert_int_equal(json_integer_value(json_object_get(first, "cert_days_left")), -1);
    assert_true(json_is_null(json_object_get(json_array_get(arr, 3), "backlog")));
    json_decref(arr);
    hub_fleet_free(&fl);

    /* --store */
    assert_int_equal(hub_fleet_load(&fl, f->st, "s-2", NOW), SL_OK);
    assert_int_equal(fl.n, 3);
    for (size_t i = 0; i < fl.n; i++)
        assert_string_equal(fl.dev[i].store, "s-2");
    hub_fleet_free(&fl);
    assert_int_equal(hub_fleet_load(&fl, f->st, "none", NOW), SL_OK);
    assert_int_equal(fl.n, 0);
    hub_fleet_free(&fl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_and_derived, setup, teardown),
    };
    return cmocka_run_group_tests_name("fleet", tests, NULL, NULL);
}
