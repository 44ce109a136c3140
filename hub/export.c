/* JSON lines export of stored records (export.h). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "export.h"
#include "hash.h"
#include "json_event.h"
#include "log.h"

/* The hub's own fields as the opening of a JSON object: "{...", without
 * the closing brace, so the record's fields can follow. */
static char *head_json(const hub_row *row)
{
    json_t *o = json_object();
    char *s = NULL;
    if (o == NULL)
        return NULL;
    int e = json_object_set_new(o, "id", json_integer((json_int_t)row->id));
    e |= json_object_set_new(o, "device", json_string(row->device));
    e |= json_object_set_new(o, "store", json_string(row->store));
    e |= json_object_set_new(o, "status", json_string(row->rejected ? "rejected" : "ok"));
    if (row->rejected) {
        e |= json_object_set_new(o, "reject_code", json_integer((json_int_t)row->reject_code));
        e |= json_object_set_new(o, "reject_reason", json_string(row->reason));
    }
    if (e == 0)
        s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

int hub_export_json(const hub_row *row, char **out)
{
    sl_record *rec = calloc(1, sizeof *rec);
    char *head = NULL, *body = NULL, *line = NULL;
    uint8_t h[32];
    int rc = SL_ERR_NOMEM;
    if (rec == NULL)
        return SL_ERR_NOMEM;
    if (sl__codec_decode(row->body, row->body_len, SL_ENC_STORED, NULL, &rec->ev, &rec->seq,
                         rec->prev_hash) != SL_OK || rec->seq != row->seq) {
        hub_log(SL_LOG_ERR, "record id %lld (%s seq %llu) does not decode", (long long)row->id,
                row->device, (unsigned long long)row->seq);
        rc = SL_ERR_CORRUPT;
        goto out;
    }
    sl__sha256(row->body, row->body_len, h);
    if (memcmp(h, row->hash, 32) != 0) {
        hub_log(SL_LOG_ERR, "record id %lld (%s seq %llu) does not match its hash",
                (long long)row->id, row->device, (unsigned long long)row->seq);
        rc = SL_ERR_CORRUPT;
        goto out;
    }
    memcpy(rec->hash, h, 32);
    rec->stored_len = row->body_len;
    if ((head = head_json(row)) == NULL || (body = sl__json_record(rec)) == NULL)
        goto out;
    /* head is "{...}" and body "{...}": splice into "{head,body}" */
    size_t hl = strlen(head), bl = strlen(body);
    if (hl < 2 || bl < 2 || head[hl - 1] != '}' || body[0] != '{') {
        rc = SL_ERR_CORRUPT;
        goto out;
    }
    line = malloc(hl + bl);
    if (line == NULL)
        goto out;
    memcpy(line, head, hl - 1);
    line[hl - 1] = ',';
    memcpy(line + hl, body + 1, bl);   /* includes the NUL */
    *out = line;
    rc = SL_OK;
out:
    free(body);
    free(head);
    free(rec);
    return rc;
}

struct export_ctx {
    FILE *out;
    uint64_t n;
};

static int export_row(const hub_row *row, void *vctx)
{
    struct export_ctx *c = vctx;
    char *s;
    int rc = hub_export_json(row, &s);
    if (rc != SL_OK)
        return rc;
    int bad = fputs(s, c->out) < 0 || fputc('\n', c->out) == EOF;
    free(s);
    if (bad)
        return SL_ERR_IO;
    c->n++;
    return 0;
}

int hub_export_jsonl(hub_store *st, int64_t since_id, const char *device, FILE *out, uint64_t *n)
{
    struct export_ctx c = {out, 0};
    int rc = hub_store_foreach(st, since_id, device, 0, export_row, &c);
    if (rc == SL_OK && fflush(out) != 0)
        rc = SL_ERR_IO;
    *n = c.n;
    return rc;
}
