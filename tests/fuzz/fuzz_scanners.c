/*
 * The [scanner.NAME] sections of the agent's configuration file
 * (agent/config_scanners.c sl__config_scanners, through inih, as the
 * daemon and `storelink scan` read them), the input handed over as a file
 * (fuzz_file()); the same file also goes through the main loader
 * (sl__config_load), which skips these sections.
 * Properties: a refusal has a message; at most SL_SCANNERS_MAX scanners;
 * every loaded scanner has a valid name, a device, a known type and mode,
 * and strings that end within their buffers.
 */
#include "fuzz.h"

#include <stddef.h>   /* config.h uses size_t without including it */

#include "config.h"
#include "config_scanners.h"
#include "storelink.h"

static sl_scanners sc;
static sl_config cfg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    const char *path = fuzz_file(data, size);
    memset(&sc, 0xa5, sizeof sc);   /* what the loader does not fill shows */
    err[0] = '\0';
    if (sl__config_scanners(path, &sc, err, sizeof err) != SL_OK) {
        FUZZ_CHECK(err[0] != '\0' && fuzz_terminated(err, sizeof err), "error without message");
    } else {
        FUZZ_CHECK(sc.n <= SL_SCANNERS_MAX, "too many scanners");
        for (size_t i = 0; i < sc.n; i++) {
            const sl_scanner_conf *c = &sc.sc[i];
            FUZZ_CHECK(fuzz_terminated(c->name, sizeof c->name) && c->name[0] != '\0' &&
                           fuzz_terminated(c->device, sizeof c->device) && c->device[0] != '\0' &&
                           fuzz_terminated(c->location, sizeof c->location) &&
                           fuzz_terminated(c->qty_prefix, sizeof c->qty_prefix) &&
                           fuzz_terminated(c->end_code, sizeof c->end_code) &&
                           fuzz_terminated(c->output, sizeof c->output),
                       "scanner strings out of bounds");
            FUZZ_CHECK(c->type >= SL_SCANNER_EVDEV && c->type <= SL_SCANNER_PIPE &&
                           c->mode >= SL_SCAN_RECEIVE && c->mode <= SL_SCAN_LOOKUP &&
                           (c->format == SL_PIPE_LINES || c->format == SL_PIPE_EVENTS),
                       "scanner type, mode or format unknown");
            for (size_t j = 0; j < i; j++)
                FUZZ_CHECK(strcmp(sc.sc[j].name, c->name) != 0, "two scanners with one name");
        }
    }
    sl__config_defaults(&cfg);
    err[0] = '\0';
    if (sl__config_load(&cfg, path, 1, err, sizeof err) != SL_OK)
        FUZZ_CHECK(err[0] != '\0' && fuzz_terminated(err, sizeof err), "error without message");
    return 0;
}
