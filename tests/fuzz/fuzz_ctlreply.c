/*
 * What the control socket's client helper reads from a daemon
 * (agent/control.c sl__control_request, behind `storelink sync now`,
 * `tail` and the live `status`): the input is the daemon's answer.  A fake
 * daemon (a thread on a real unix socket) accepts the connection, reads
 * the request line, sends the input and closes; the helper reads one
 * reply line into a buffer whose size the first input byte picks
 * (8..4088 bytes), so the limit, lines cut by the end of the stream,
 * several lines, and NUL bytes are all reached.
 *
 * Properties: the result is exactly what the documented contract gives,
 * computed here independently: SL_OK with the reply's first line (newline
 * removed, NUL-terminated within the buffer) when a newline comes before
 * any NUL and within the buffer, SL_ERR_PERM instead when that line is
 * the daemon's "not authorized" answer, SL_ERR_TOO_LARGE when the buffer
 * fills first, SL_ERR_IO when the stream ends first.
 */
#include "fuzz.h"

#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "control.h"
#include "storelink.h"

static char path[700];
static int lfd = -1;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static const uint8_t *cur;
static size_t cur_n;
static int served;   /* rounds the fake daemon finished */

static void *daemon_thread(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            continue;
        char b[256];
        ssize_t r;
        while ((r = read(c, b, sizeof b)) > 0 && memchr(b, '\n', (size_t)r) == NULL)
            ;
        pthread_mutex_lock(&mu);
        size_t off = 0;
        while (off < cur_n) {
            ssize_t w = send(c, cur + off, cur_n - off, MSG_NOSIGNAL);
            if (w <= 0)
                break;   /* the client stopped reading (buffer full) */
            off += (size_t)w;
        }
        close(c);
        served++;
        pthread_cond_signal(&cv);
        pthread_mutex_unlock(&mu);
    }
    return NULL;
}

static void setup(void)
{
    snprintf(path, sizeof path, "%s/control.sock", fuzz_scratch());
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    pthread_t t;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 4) != 0 ||
        pthread_create(&t, NULL, daemon_thread, NULL) != 0) {
        perror("fuzz_ctlreply: fake daemon");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (lfd < 0)
        setup();
    size_t replysz = 8 + (size_t)data[0] * 16;
    const uint8_t *d = data + 1;
    size_t n = size - 1;

    pthread_mutex_lock(&mu);
    cur = d;
    cur_n = n;
    int before = served;
    pthread_mutex_unlock(&mu);

    char *reply = malloc(replysz);
    if (reply == NULL)
        return 0;
    int rc = sl__control_request(path, "{\"cmd\":\"status\"}", 2000, reply, replysz);

    /* the fake daemon must be done with the input before it is freed */
    pthread_mutex_lock(&mu);
    while (served == before)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);

    const uint8_t *nl = memchr(d, '\n', n);
    const uint8_t *z = memchr(d, '\0', n);
    size_t l = nl ? (size_t)(nl - d) : 0;
    int want;
    if (nl != NULL && (z == NULL || z > nl) && l + 1 <= replysz - 1)
        want = l >= 25 && memcmp(d, "{\"error\":\"not authorized\"", 25) == 0 ? SL_ERR_PERM
                                                                              : SL_OK;
    else
        want = n >= replysz - 1 ? SL_ERR_TOO_LARGE : SL_ERR_IO;
    FUZZ_CHECK(rc == want, "sl__control_request does not return what the daemon sent");
    FUZZ_CHECK(fuzz_terminated(reply, replysz), "the reply is not terminated in its buffer");
    if (rc == SL_OK || rc == SL_ERR_PERM)
        FUZZ_CHECK(strlen(reply) == l && memcmp(reply, d, l) == 0,
                   "the reply is not the daemon's first line");
    free(reply);
    return 0;
}
