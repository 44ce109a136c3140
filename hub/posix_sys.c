/* POSIX signals and sleeping for the hub (see sys.h). */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <string.h>
#include <time.h>

#include "storelink.h"
#include "sys.h"

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

int hub_sys_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    /* no SA_RESTART: a blocking select() in libmosquitto returns at once */
    sa.sa_handler = on_stop;
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        return SL_ERR_IO;
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) != 0)
        return SL_ERR_IO;
    return SL_OK;
}

int hub_sys_stop_requested(void)
{
    return stop_flag != 0;
}

void hub_sys_sleep_ms(unsigned ms)
{
    /* in slices, so a signal that lands between checks costs at most one */
    while (ms > 0 && !stop_flag) {
        unsigned step = ms > 100 ? 100 : ms;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}
