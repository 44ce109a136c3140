/*
 * sys.h - the operating-system calls the hub needs that platform/platform.h
 * does not offer yet (signals, an interruptible sleep).  Implemented in
 * hub/posix_sys.c; both belong in platform/ (sl_plat_signals_*) and are
 * kept here only because the hub may not change platform/.
 */
#ifndef HUB_SYS_H
#define HUB_SYS_H

/* Route SIGTERM and SIGINT to a stop flag and ignore SIGPIPE (a broker
 * that goes away mid-write must not kill the hub).  SL_OK or SL_ERR_IO. */
int hub_sys_signals_install(void);
/* 1 once SIGTERM or SIGINT arrived. */
int hub_sys_stop_requested(void);
/* Sleep ms milliseconds, returning early when a stop is requested. */
void hub_sys_sleep_ms(unsigned ms);

#endif
