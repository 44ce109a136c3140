/* Shared LMDB handling for the journal and the catalog (mdb.h). */
#include <errno.h>

#include "mdb.h"
#include "platform.h"
#include "storelink.h"

int sl__mdb_err(int rc)
{
    switch (rc) {
    case MDB_SUCCESS: return SL_OK;
    case MDB_NOTFOUND: return SL_ERR_NOT_FOUND;
    case MDB_MAP_FULL: return SL_ERR_FULL;
    case MDB_CORRUPTED:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_PAGE_NOTFOUND: return SL_ERR_CORRUPT;
    case MDB_READERS_FULL:
    case MDB_MAP_RESIZED: return SL_ERR_BUSY;
    case ENOMEM: return SL_ERR_NOMEM;
    case EACCES:
    case EPERM:
    case EROFS: return SL_ERR_PERM;
    case ENOSPC: return SL_ERR_DISK_FULL;
    case ENOENT: return SL_ERR_NOT_FOUND;
    default: return SL_ERR_IO;
    }
}

int sl__mdb_grow(MDB_env *env, uint64_t *map_bytes, uint64_t max_bytes, const char *what)
{
    if (*map_bytes >= max_bytes)
        return SL_ERR_FULL;
    uint64_t m = *map_bytes * 2;
    if (m > max_bytes)
        m = max_bytes;
    int rc = mdb_env_set_mapsize(env, (size_t)m);
    if (rc != 0)
        return sl__mdb_err(rc);
    *map_bytes = m;
    sl_plat_log(SL_LOG_INFO, "%s map grown to %llu KiB", what, (unsigned long long)(m >> 10));
    return SL_OK;
}

int sl__mdb_txn_begin(MDB_env *env, unsigned flags, MDB_txn **txn, uint64_t *map_bytes)
{
    int rc = mdb_txn_begin(env, NULL, flags, txn);
    if (rc == MDB_MAP_RESIZED) {
        mdb_env_set_mapsize(env, 0);
        MDB_envinfo ei;
        mdb_env_info(env, &ei);
        *map_bytes = ei.me_mapsize;
        rc = mdb_txn_begin(env, NULL, flags, txn);
    }
    return sl__mdb_err(rc);
}
