/*
 * unsafe.so - LD_PRELOAD shim for 11-unsafe-flags.t: ORs the LMDB flags in
 * UNSAFE_FLAGS (a number) into every mdb_env_open(), the way a careless
 * patch or a "performance tweak" would.  The journal must refuse to run
 * with MDB_NOSYNC, MDB_MAPASYNC or MDB_WRITEMAP (docs/ARCHITECTURE.md,
 * "Durability").  Test tooling only.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <lmdb.h>
#include <stdlib.h>

int mdb_env_open(MDB_env *env, const char *path, unsigned int flags, mdb_mode_t mode)
{
    int (*real)(MDB_env *, const char *, unsigned int, mdb_mode_t) =
        (int (*)(MDB_env *, const char *, unsigned int, mdb_mode_t))dlsym(RTLD_NEXT, "mdb_env_open");
    const char *f = getenv("UNSAFE_FLAGS");
    if (f != NULL)
        flags |= (unsigned int)strtoul(f, NULL, 0);
    return real(env, path, flags, mode);
}
