/* mdb.h - what every LMDB environment of storelink (journal, catalog)
 * does the same way: error translation, map growth, map adoption. */
#ifndef SL_MDB_H
#define SL_MDB_H

#include <lmdb.h>
#include <stdint.h>

/* MDB_* and errno codes from LMDB to sl_err (the only translation). */
int sl__mdb_err(int rc);
/* Grow the map after MDB_MAP_FULL (no transaction may be open): double it
 * up to max_bytes.  SL_ERR_FULL at the cap.  what names it in the log. */
int sl__mdb_grow(MDB_env *env, uint64_t *map_bytes, uint64_t max_bytes, const char *what);
/* mdb_txn_begin that adopts a map another process has grown. */
int sl__mdb_txn_begin(MDB_env *env, unsigned flags, MDB_txn **txn, uint64_t *map_bytes);

#endif
