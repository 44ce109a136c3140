/* Helpers shared by the CLI commands. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int sl__cli_exit(int err)
{
    switch ((sl_err)err) {
    case SL_OK: return EX_OK_;
    case SL_ERR_INVALID:
    case SL_ERR_CONFLICT:
    case SL_ERR_TOO_LARGE: return EX_DATAERR_;
    case SL_ERR_FULL:
    case SL_ERR_DISK_FULL:
    case SL_ERR_BUSY: return EX_TEMPFAIL_;
    case SL_ERR_NOT_FOUND: return EX_NOINPUT_;
    case SL_ERR_CONFIG: return EX_CONFIG_;
    case SL_ERR_USAGE: return EX_USAGE_;
    case SL_ERR_PERM: return EX_NOPERM_;
    case SL_ERR_IO:
    case SL_ERR_CORRUPT:
    case SL_ERR_UNSAFE: return EX_IOERR_;
    case SL_ERR_NOMEM:
    case SL_ERR_CRYPTO: return EX_SOFTWARE_;
    }
    return EX_SOFTWARE_;
}

void sl__cli_err(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "storelink: %s\n", msg);
}

int sl__cli_open(sl_cli *c, int read_only, sl_journal **j)
{
    sl_journal_opts o = {.max_db_mb = c->cfg.max_db_mb, .read_only = read_only};
    int rc = sl_journal_open(j, c->cfg.state_dir, &o);
    if (rc == SL_ERR_NOT_FOUND && read_only)
        sl__cli_err("no journal in %s (nothing recorded yet?)", c->cfg.state_dir);
    else if (rc != SL_OK)
        sl__cli_err("cannot open journal in %s: %s", c->cfg.state_dir, sl_strerror(rc));
    return rc;
}

int sl__cli_u64(const char *opt, const char *s, uint64_t *out)
{
    char *end;
    if (s == NULL || s[0] < '0' || s[0] > '9') {
        sl__cli_err("%s: expects a whole number", opt);
        return SL_ERR_USAGE;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0') {
        sl__cli_err("%s: expects a whole number", opt);
        return SL_ERR_USAGE;
    }
    *out = v;
    return SL_OK;
}

static int exponent(const char *cur)
{
    static const char zero[] = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF";
    static const char three[] = "BHD IQD JOD KWD LYD OMR TND";
    if (strlen(cur) != 3)
        return 2;
    if (strstr(zero, cur)) return 0;
    if (strstr(three, cur)) return 3;
    return 2;
}

void sl__cli_money(int64_t minor, const char *currency, char *out, size_t outsz)
{
    int e = exponent(currency);
    int64_t div = e == 0 ? 1 : e == 3 ? 1000 : 100;
    const char *sign = minor < 0 ? "-" : "";
    uint64_t m = minor < 0 ? (uint64_t)(-(minor + 1)) + 1 : (uint64_t)minor;
    if (e == 0)
        snprintf(out, outsz, "%s%llu %s", sign, (unsigned long long)m, currency);
    else
        snprintf(out, outsz, "%s%llu.%0*llu %s", sign, (unsigned long long)(m / (uint64_t)div), e,
                 (unsigned long long)(m % (uint64_t)div), currency);
}
