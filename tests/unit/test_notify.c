/* sl_plat_notify / sl_plat_watchdog_usec: the sd_notify protocol against a
 * socket this test binds itself (a path and an abstract name), the no-op
 * without $NOTIFY_SOCKET, and the watchdog variables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform.h"
#include "storelink.h"

struct fx {
    char dir[64];
    char path[128];
    int fd;
};

/* bind a datagram socket at name ("@..." abstract, else a path) */
static int listen_at(const char *name)
{
    struct sockaddr_un sa;
    size_t n = strlen(name);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_true(n < sizeof sa.sun_path);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, name, n);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    if (name[0] == '@')
        sa.sun_path[0] = '\0';
    else
        len++;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
    struct timeval tv = {2, 0};   /* a lost datagram fails, not hangs */
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    return fd;
}

static void expect_datagram(int fd, const char *want)
{
    char buf[512];
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    assert_true(n >= 0);
    buf[n] = '\0';
    assert_string_equal(buf, want);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sl-notify-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/notify", f->dir);
    f->fd = -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->fd >= 0)
        close(f->fd);
    unlink(f->path);
    rmdir(f->dir);
    unsetenv("NOTIFY_SOCKET");
    free(f);
    return 0;
}

static void test_path_socket(void **state)
{
    struct fx *f = *state;
    f->fd = listen_at(f->path);
    assert_int_equal(setenv("NOTIFY_SOCKET", f->path, 1), 0);
    assert_int_equal(sl_plat_notify("READY=1"), SL_OK);
    expect_datagram(f->fd, "READY=1");
    /* several assignments travel in one datagram */
    assert_int_equal(sl_plat_notify("STATUS=offline, backlog 3\nWATCHDOG=1"), SL_OK);
    expect_datagram(f->fd, "STATUS=offline, backlog 3\nWATCHDOG=1");
    assert_int_equal(sl_plat_notify("STOPPING=1"), SL_OK);
    expect_datagram(f->fd, "STOPPING=1");
}

static void test_abstract_socket(void **state)
{
    struct fx *f = *state;
    char name[96];
    uint32_t r = 0;
    assert_int_equal(sl_plat_random(&r, sizeof r), SL_OK);
    snprintf(name, sizeof name, "@storelink-test-%ld-%08x", (long)getpid(), (unsigned)r);
    f->fd = listen_at(name);
    assert_int_equal(setenv("NOTIFY_SOCKET", name, 1), 0);
    assert_int_equal(sl_plat_notify("READY=1"), SL_OK);
    expect_datagram(f->fd, "READY=1");
}

static void test_unset_is_noop(void **state)
{
    (void)state;
    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(sl_plat_notify("READY=1"), SL_OK);
    assert_int_equal(setenv("NOTIFY_SOCKET", "", 1), 0);
    assert_int_equal(sl_plat_notify("READY=1"), SL_OK);
}

static void test_bad_addresses(void **state)
{
    struct fx *f = *state;
    char longname[200];
    /* nobody listening at the path */
    assert_int_equal(setenv("NOTIFY_SOCKET", f->path, 1), 0);
    assert_int_equal(sl_plat_notify("READY=1"), SL_ERR_NOT_FOUND);
    assert_int_equal(setenv("NOTIFY_SOCKET", "relative/notify", 1), 0);
    assert_int_equal(sl_plat_notify("READY=1"), SL_ERR_CONFIG);
    memset(longname, 'x', sizeof longname - 1);
    longname[0] = '/';
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(setenv("NOTIFY_SOCKET", longname, 1), 0);
    assert_int_equal(sl_plat_notify("READY=1"), SL_ERR_CONFIG);
}

static void test_watchdog_usec(void **state)
{
    char pid[32];
    (void)state;
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    assert_int_equal(sl_plat_watchdog_usec(), 0);
    setenv("WATCHDOG_USEC", "400000", 1);
    assert_int_equal(sl_plat_watchdog_usec(), 400000);
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    assert_int_equal(sl_plat_watchdog_usec(), 400000);
    /* meant for another process (our parent, say) */
    snprintf(pid, sizeof pid, "%ld", (long)getpid() + 1);
    setenv("WATCHDOG_PID", pid, 1);
    assert_int_equal(sl_plat_watchdog_usec(), 0);
    unsetenv("WATCHDOG_PID");
    setenv("WATCHDOG_USEC", "30s", 1);
    assert_int_equal(sl_plat_watchdog_usec(), 0);
    setenv("WATCHDOG_USEC", "-5", 1);
    assert_int_equal(sl_plat_watchdog_usec(), 0);
    setenv("WATCHDOG_USEC", "0", 1);
    assert_int_equal(sl_plat_watchdog_usec(), 0);
    unsetenv("WATCHDOG_USEC");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_path_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abstract_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unset_is_noop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_addresses, setup, teardown),
        cmocka_unit_test(test_watchdog_usec),
    };
    return cmocka_run_group_tests_name("notify", tests, NULL, NULL);
}
