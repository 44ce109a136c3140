/* agent/ingest_sock.c and agent/client.c: the peer check, the reply map
 * (round trip, garbage refused, unknown keys skipped), and the [ingest]
 * config keys (id lists, batch_max). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "ingest_sock.h"
#include "storelink.h"

static void peer_allowed(void **state)
{
    (void)state;
    unsigned uids[] = {1001, 1002}, gids[] = {120}, groups[] = {5, 120};
    assert_int_equal(sl__ingest_peer_allowed(0, 0, NULL, 0, 998, NULL, 0, NULL, 0), 1);
    assert_int_equal(sl__ingest_peer_allowed(998, 998, NULL, 0, 998, NULL, 0, NULL, 0), 1);
    assert_int_equal(sl__ingest_peer_allowed(1001, 1001, NULL, 0, 998, NULL, 0, NULL, 0), 0);
    assert_int_equal(sl__ingest_peer_allowed(1002, 1002, NULL, 0, 998, uids, 2, NULL, 0), 1);
    assert_int_equal(sl__ingest_peer_allowed(1003, 1003, NULL, 0, 998, uids, 2, gids, 1), 0);
    /* a group as primary or supplementary */
    assert_int_equal(sl__ingest_peer_allowed(1003, 120, NULL, 0, 998, uids, 2, gids, 1), 1);
    assert_int_equal(sl__ingest_peer_allowed(1003, 1003, groups, 2, 998, uids, 2, gids, 1), 1);
    assert_int_equal(sl__ingest_peer_allowed(1003, 1003, groups, 1, 998, uids, 2, gids, 1), 0);
}

static void reply_roundtrip(void **state)
{
    (void)state;
    uint8_t buf[SL_INGEST_REPLY_MAX];
    size_t len;
    sl__ingest_reply a, b;
    memset(&a, 0, sizeof a);
    a.seq = 1234567;
    a.status = SL_STATUS_DUPLICATE;
    assert_int_equal(sl__ingest_reply_encode(&a, buf, sizeof buf, &len), SL_OK);
    assert_int_equal(sl__ingest_reply_decode(buf, len, &b), SL_OK);
    assert_int_equal(b.err, SL_OK);
    assert_int_equal(b.seq, 1234567);
    assert_int_equal(b.status, SL_STATUS_DUPLICATE);
    memset(&a, 0, sizeof a);
    a.err = SL_ERR_INVALID;
    snprintf(a.problem.field, sizeof a.problem.field, "lines[0].qty");
    snprintf(a.problem.reason, sizeof a.problem.reason, "must be > 0");
    assert_int_equal(sl__ingest_reply_encode(&a, buf, sizeof buf, &len), SL_OK);
    assert_int_equal(sl__ingest_reply_decode(buf, len, &b), SL_OK);
    assert_int_equal(b.err, SL_ERR_INVALID);
    assert_string_equal(b.problem.field, "lines[0].qty");
    assert_string_equal(b.problem.reason, "must be > 0");
    /* truncated, trailing bytes, not a map */
    assert_int_equal(sl__ingest_reply_decode(buf, len - 1, &b), SL_ERR_CORRUPT);
    buf[len] = 0;
    assert_int_equal(sl__ingest_reply_decode(buf, len + 1, &b), SL_ERR_CORRUPT);
    const uint8_t arr[] = {0x81, 0x01};
    assert_int_equal(sl__ingest_reply_decode(arr, sizeof arr, &b), SL_ERR_CORRUPT);
    /* a newer daemon's extra key (9 => "x") is skipped */
    const uint8_t extra[] = {0xa3, 0x01, 0x05, 0x02, 0x00, 0x09, 0x61, 'x'};
    assert_int_equal(sl__ingest_reply_decode(extra, sizeof extra, &b), SL_OK);
    assert_int_equal(b.seq, 5);
    /* a reply that says neither an error nor a seq and status is never a
     * success (fuzz_reply: it read as "recorded, seq 0") */
    const uint8_t empty[] = {0xa0};
    assert_int_equal(sl__ingest_reply_decode(empty, sizeof empty, &b), SL_ERR_CORRUPT);
    const uint8_t only_new[] = {0xa1, 0x09, 0x61, 'x'};
    assert_int_equal(sl__ingest_reply_decode(only_new, sizeof only_new, &b), SL_ERR_CORRUPT);
    const uint8_t no_status[] = {0xa1, 0x01, 0x05};
    assert_int_equal(sl__ingest_reply_decode(no_status, sizeof no_status, &b), SL_ERR_CORRUPT);
    const uint8_t seq0[] = {0xa2, 0x01, 0x00, 0x02, 0x00};
    assert_int_equal(sl__ingest_reply_decode(seq0, sizeof seq0, &b), SL_ERR_CORRUPT);
    /* too small a buffer */
    assert_int_equal(sl__ingest_reply_encode(&a, buf, 8, &len), SL_ERR_TOO_LARGE);
}

static int load(const char *text, sl_config *cfg, char *err, size_t errsz)
{
    char path[] = "/tmp/test_ingest.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    sl__config_defaults(cfg);
    int rc = sl__config_load(cfg, path, 1, err, errsz);
    unlink(path);
    return rc;
}

static void config_keys(void **state)
{
    (void)state;
    static sl_config cfg;
    char err[300];
    assert_int_equal(load("[ingest]\nsocket = /run/sl/i.sock\nallowed_uids = 1001, 1002\n"
                          "allowed_gids=120\nbatch_max = 1\n", &cfg, err, sizeof err), SL_OK);
    assert_string_equal(cfg.ingest_socket, "/run/sl/i.sock");
    assert_int_equal(cfg.ingest_uids.n, 2);
    assert_int_equal(cfg.ingest_uids.id[1], 1002);
    assert_int_equal(cfg.ingest_gids.n, 1);
    assert_int_equal(cfg.ingest_gids.id[0], 120);
    assert_int_equal(cfg.ingest_batch_max, 1);
    assert_int_equal(load("", &cfg, err, sizeof err), SL_OK);
    assert_int_equal(cfg.ingest_batch_max, 256);
    assert_int_equal(cfg.ingest_uids.n, 0);
    assert_int_equal(load("[ingest]\nallowed_uids = pos\n", &cfg, err, sizeof err), SL_ERR_CONFIG);
    assert_non_null(strstr(err, "allowed_uids: must be a comma list"));
    assert_int_equal(load("[ingest]\nallowed_gids = 1,,2\n", &cfg, err, sizeof err), SL_ERR_CONFIG);
    assert_int_equal(load("[ingest]\nallowed_uids = -1\n", &cfg, err, sizeof err), SL_ERR_CONFIG);
    assert_int_equal(load("[ingest]\nbatch_max = 257\n", &cfg, err, sizeof err), SL_ERR_CONFIG);
    assert_int_equal(load("[ingest]\nallowed_uids = 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17\n",
                          &cfg, err, sizeof err), SL_ERR_CONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(peer_allowed),
        cmocka_unit_test(reply_roundtrip),
        cmocka_unit_test(config_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
