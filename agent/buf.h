/*
 * buf.h - a bounded, growing byte buffer (curl's dynbuf idea): the output
 * queues of the control and ingest sockets grow on demand up to a hard
 * maximum, so a client that stops reading cannot make the daemon grow.
 */
#ifndef SL_BUF_H
#define SL_BUF_H

#include <stddef.h>

/* Append n bytes of s to *buf (len used, cap allocated, caller frees *buf),
 * growing by doubling from 4 KiB but never past max.  1 on success, 0 when
 * the data would exceed max or memory is short (nothing appended). */
int sl__buf_append(void **buf, size_t *len, size_t *cap, const void *s, size_t n, size_t max);

#endif
