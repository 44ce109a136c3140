/*
 * One request line on the daemon's control socket (agent/control.c
 * sl__control_parse_line, called by the daemon on each line a local client
 * sends, newline removed, at most SL_CONTROL_LINE_MAX bytes).  Also the
 * classifier that turns a connection error's detail into plain words
 * (sl__control_error_class; the detail comes from the broker and TLS).
 * Properties: a request is accepted only as one of the three commands; a
 * refusal has a one-line reason naming the field, which the daemon's
 * reply ({"error": reason}, built as control.c error_line does) carries
 * whole on one line; the classifier always answers with one of its classes.
 */
#include "fuzz.h"

#include <jansson.h>

#include "control.h"
#include "storelink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[200];   /* as control.c handle_line */
    int cmd = 0;
    if (size >= SL_CONTROL_LINE_MAX)
        size = SL_CONTROL_LINE_MAX - 1;   /* the daemon refuses longer lines first */
    memset(err, 'x', sizeof err);
    if (sl__control_parse_line((const char *)data, size, &cmd, err, sizeof err) == SL_OK)
        FUZZ_CHECK((cmd == SL_CTL_STATUS || cmd == SL_CTL_SYNC_NOW || cmd == SL_CTL_TAIL) &&
                       err[0] == '\0',
                   "accepted an unknown command");
    else {
        FUZZ_CHECK(fuzz_terminated(err, sizeof err) && err[0] != '\0' &&
                       strchr(err, '\n') == NULL && strchr(err, ':') != NULL,
                   "refusal without a one-line reason");
        json_t *o = json_pack("{s:s}", "error", err);
        char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
        FUZZ_CHECK(t != NULL && strlen(t) < 512 && strchr(t, '\n') == NULL,
                   "the error reply cannot be built or does not fit its line");
        free(t);
        json_decref(o);
    }

    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    const char *cls = sl__control_error_class(s);
    FUZZ_CHECK(cls != NULL && strlen(cls) < 64, "no error class");
    if (s[0] == '\0')
        FUZZ_CHECK(cls[0] == '\0', "a class for an empty detail");
    free(s);
    return 0;
}
