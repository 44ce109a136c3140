/*
 * MQTT topic names as the hub receives them from the broker
 * (hub/ingest.c hub_topic_parse, on every message's topic).  The first
 * input byte picks the leaf buffer size (the hub passes 32; smaller sizes
 * probe the bound).  Properties: the parts it hands out are valid ids that
 * end within their buffers, and joined with the prefix they give back the
 * topic.
 */
#include "fuzz.h"

#include "ingest.h"
#include "storelink.h"

#define PREFIX "storelink/v1"

static int id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char store[HUB_ID_MAX + 1], device[HUB_ID_MAX + 1], leaf[64];
    if (size < 1)
        return 0;
    size_t leafsz = 1 + data[0] % sizeof leaf;
    char *topic = malloc(size);
    if (topic == NULL)
        return 0;
    memcpy(topic, data + 1, size - 1);
    topic[size - 1] = '\0';
    if (hub_topic_parse(PREFIX, topic, store, device, leaf, leafsz) == SL_OK) {
        FUZZ_CHECK(id_ok(store) && id_ok(device) && fuzz_terminated(leaf, leafsz),
                   "parsed topic parts invalid");
        char back[1024];
        int k = snprintf(back, sizeof back, "%s/%s/%s/%s", PREFIX, store, device, leaf);
        FUZZ_CHECK(k > 0 && (size_t)k < sizeof back && strcmp(back, topic) == 0,
                   "parsed parts do not give the topic back");
    }
    free(topic);
    return 0;
}
