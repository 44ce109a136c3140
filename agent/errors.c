/* sl_strerror: one message per error code.  No default case, so -Wswitch
 * flags a code without a message. */
#include "storelink.h"

const char *sl_strerror(int err)
{
    switch ((sl_err)err) {
    case SL_OK: return "success";
    case SL_ERR_INVALID: return "invalid event";
    case SL_ERR_CONFLICT: return "txn_id already recorded with different content";
    case SL_ERR_FULL: return "journal full (max_db_mb reached)";
    case SL_ERR_IO: return "storage I/O error";
    case SL_ERR_NOMEM: return "out of memory";
    case SL_ERR_NOT_FOUND: return "not found";
    case SL_ERR_CORRUPT: return "stored data is corrupt";
    case SL_ERR_CONFIG: return "configuration error";
    case SL_ERR_USAGE: return "invalid argument";
    case SL_ERR_TOO_LARGE: return "value too large";
    case SL_ERR_UNSAFE: return "storage opened without durable commits";
    case SL_ERR_BUSY: return "resource busy, try again";
    case SL_ERR_PERM: return "permission denied";
    case SL_ERR_CRYPTO: return "cryptographic operation failed";
    case SL_ERR_DISK_FULL: return "disk full (no space left on the device)";
    }
    return "unknown error";
}
