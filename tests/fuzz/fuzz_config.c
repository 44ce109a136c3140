/*
 * The configuration files: the agent's (agent/config.c sl__config_load)
 * and the hub's (hub/hub_config.c hub_config_load), both inih files read
 * from a path: the input is handed over as a file (fuzz_file()).
 * Properties: the error message and every warning are terminated; loaded
 * strings fit their buffers.
 */
#include "fuzz.h"

#include <stddef.h>   /* config.h uses size_t without including it */

#include "config.h"
#include "hub_config.h"
#include "storelink.h"

static sl_config cfg;
static hub_config hcfg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    const char *path = fuzz_file(data, size);
    sl__config_defaults(&cfg);
    err[0] = '\0';
    if (sl__config_load(&cfg, path, 1, err, sizeof err) != SL_OK)
        FUZZ_CHECK(err[0] != '\0' && fuzz_terminated(err, sizeof err), "error without message");
    FUZZ_CHECK(cfg.n_warn <= SL_CONFIG_MAX_WARN && fuzz_terminated(cfg.state_dir, sizeof cfg.state_dir) &&
                   fuzz_terminated(cfg.device_id, sizeof cfg.device_id) &&
                   fuzz_terminated(cfg.broker_host, sizeof cfg.broker_host) &&
                   fuzz_terminated(cfg.control_socket, sizeof cfg.control_socket),
               "agent config out of bounds");
    for (unsigned i = 0; i < cfg.n_warn; i++)
        FUZZ_CHECK(fuzz_terminated(cfg.warn[i], sizeof cfg.warn[i]), "warning not terminated");

    hub_config_defaults(&hcfg);
    err[0] = '\0';
    if (hub_config_load(&hcfg, path, 1, err, sizeof err) != SL_OK)
        FUZZ_CHECK(err[0] != '\0' && fuzz_terminated(err, sizeof err), "error without message");
    FUZZ_CHECK(hcfg.n_warn <= HUB_CONFIG_MAX_WARN && hcfg.n_currencies <= HUB_MAX_CURRENCIES &&
                   fuzz_terminated(hcfg.host, sizeof hcfg.host) &&
                   fuzz_terminated(hcfg.topic_prefix, sizeof hcfg.topic_prefix),
               "hub config out of bounds");
    for (unsigned i = 0; i < hcfg.n_warn; i++)
        FUZZ_CHECK(fuzz_terminated(hcfg.warn[i], sizeof hcfg.warn[i]), "warning not terminated");
    return 0;
}
