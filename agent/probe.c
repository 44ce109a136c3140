/* Diagnostic probes: identity files and a step-by-step broker check (see
 * probe.h for why MQTT is spoken here rather than through libmosquitto). */
#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "probe.h"
#include "storelink.h"
#include "timeparse.h"

#define PKT_MAX 4096   /* larger packets from the broker are read and dropped */

static int plat_rng(void *ctx, unsigned char *out, size_t len)
{
    (void)ctx;
    return sl_plat_random(out, len) == SL_OK ? 0 : -1;
}

static int64_t x509_ms(const mbedtls_x509_time *t)
{
    return ((sl__days_from_civil(t->year, t->mon, t->day) * 24 + t->hour) * 60 + t->min) * 60000 +
           (int64_t)t->sec * 1000;
}

static int parse_key(mbedtls_pk_context *pk, const char *path)
{
#if MBEDTLS_VERSION_MAJOR >= 3
    return mbedtls_pk_parse_keyfile(pk, path, NULL, plat_rng, NULL);
#else
    return mbedtls_pk_parse_keyfile(pk, path, NULL);
#endif
}

static int check_pair(mbedtls_pk_context *pub, mbedtls_pk_context *prv)
{
#if MBEDTLS_VERSION_MAJOR >= 3
    return mbedtls_pk_check_pair(pub, prv, plat_rng, NULL);
#else
    return mbedtls_pk_check_pair(pub, prv);
#endif
}

void sl__identity_check(const char *cert_file, const char *key_file, const char *ca_file,
                        sl__identity *id)
{
    mbedtls_x509_crt crt, ca;
    mbedtls_pk_context pk;
    memset(id, 0, sizeof *id);
    mbedtls_x509_crt_init(&crt);
    mbedtls_x509_crt_init(&ca);
    mbedtls_pk_init(&pk);
    if (cert_file[0] == '\0') {
        snprintf(id->why, sizeof id->why, "cert_file is not set");
        goto out;
    }
    if (!sl_plat_exists(cert_file)) {
        snprintf(id->why, sizeof id->why, "certificate %.120s does not exist", cert_file);
        goto out;
    }
    if (mbedtls_x509_crt_parse_file(&crt, cert_file) != 0) {
        snprintf(id->why, sizeof id->why, "certificate %.120s cannot be read or parsed", cert_file);
        goto out;
    }
    id->cert_ok = 1;
    if (mbedtls_x509_dn_gets(id->subject, sizeof id->subject, &crt.subject) < 0)
        id->subject[0] = '\0';
    for (const mbedtls_x509_name *n = &crt.subject; n != NULL; n = n->next)
        if (n->oid.p != NULL && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0 &&
            n->val.len < sizeof id->cn) {
            memcpy(id->cn, n->val.p, n->val.len);
            id->cn[n->val.len] = '\0';
        }
    id->not_before_ms = x509_ms(&crt.valid_from);
    id->not_after_ms = x509_ms(&crt.valid_to);
    /* a certificate without extendedKeyUsage may be used for anything */
    id->client_auth = mbedtls_x509_crt_check_extended_key_usage(
                          &crt, MBEDTLS_OID_CLIENT_AUTH,
                          MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)) == 0;
    if (key_file[0] == '\0')
        snprintf(id->why, sizeof id->why, "key_file is not set");
    else if (!sl_plat_exists(key_file))
        snprintf(id->why, sizeof id->why, "key %.120s does not exist", key_file);
    else if (parse_key(&pk, key_file) != 0)
        snprintf(id->why, sizeof id->why, "key %.120s cannot be read or parsed", key_file);
    else {
        id->key_ok = 1;
        id->key_matches = check_pair(&crt.pk, &pk) == 0;
    }
    if (ca_file[0] != '\0' && mbedtls_x509_crt_parse_file(&ca, ca_file) == 0) {
        uint32_t flags = 0;
        id->ca_checked = 1;
        mbedtls_x509_crt_verify(&crt, &ca, NULL, NULL, &flags, NULL, NULL);
        /* dates are judged on their own (with the clock check) */
        id->ca_ok = (flags & ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED |
                                         MBEDTLS_X509_BADCERT_FUTURE)) == 0;
    }
out:
    mbedtls_pk_free(&pk);
    mbedtls_x509_crt_free(&ca);
    mbedtls_x509_crt_free(&crt);
}

struct sl__probe {
    int fd;
    uint64_t deadline;        /* mono ms: the current step's end */
    int timed_out;
    int tls_up, mqtt_up;
    uint16_t next_id;
    uint8_t ip[4];            /* broker_host as an IPv4 literal */
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt ca, own;
    mbedtls_pk_context key;
    uint8_t pkt[PKT_MAX];
};

static int remaining(sl__probe *p)
{
    uint64_t now = sl_plat_mono_ms();
    return now >= p->deadline ? 0 : (int)(p->deadline - now);
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    sl__probe *p = ctx;
    size_t n;
    int rc = sl_plat_sock_send(p->fd, buf, len, remaining(p), &n);
    if (rc == SL_ERR_BUSY) {
        p->timed_out = 1;
        return MBEDTLS_ERR_SSL_TIMEOUT;
    }
    /* a failed send during the handshake is the broker hanging up */
    return rc == SL_OK ? (int)n : MBEDTLS_ERR_NET_CONN_RESET;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    sl__probe *p = ctx;
    size_t n;
    int rc = sl_plat_sock_recv(p->fd, buf, len, remaining(p), &n);
    if (rc == SL_ERR_BUSY) {
        p->timed_out = 1;
        return MBEDTLS_ERR_SSL_TIMEOUT;
    }
    if (rc != SL_OK)
        return MBEDTLS_ERR_NET_CONN_RESET;
    return (int)n;   /* 0: the peer closed */
}

static const char *alert_words(int a)
{
    switch (a) {
    case 40: return "handshake failure";
    case 42: return "bad certificate";
    case 43: return "unsupported certificate";
    case 44: return "certificate revoked";
    case 45: return "certificate expired";
    case 46: return "certificate unknown";
    case 48: return "unknown CA";
    case 70: return "protocol version";
    case 116: return "certificate required";
    }
    return "alert";
}

static void verify_words(uint32_t flags, const char *host, const char *ca_file,
                         const mbedtls_x509_crt *peer, char *why, size_t whysz)
{
    char d[40] = "";
    if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
        snprintf(why, whysz, "the broker's certificate is not issued by the CA in ca_file %.200s "
                 "(wrong CA file, or the broker uses another CA)", ca_file);
    else if (flags & MBEDTLS_X509_BADCERT_EXPIRED) {
        if (peer != NULL)
            sl_plat_format_utc(x509_ms(&peer->valid_to), d, sizeof d);
        snprintf(why, whysz, "the broker's certificate expired%s%.10s (or this device's clock "
                 "is wrong)", d[0] ? " on " : "", d);
    } else if (flags & MBEDTLS_X509_BADCERT_FUTURE) {
        if (peer != NULL)
            sl_plat_format_utc(x509_ms(&peer->valid_from), d, sizeof d);
        snprintf(why, whysz, "the broker's certificate is not valid yet%s%.10s: this device's "
                 "clock is probably behind", d[0] ? " (from " : "", d);
        if (d[0])
            snprintf(why + strlen(why), whysz - strlen(why), ")");
    } else if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
        snprintf(why, whysz, "name mismatch: the broker's certificate is not for '%.100s'", host);
    else
        snprintf(why, whysz, "the broker's certificate was refused (mbedtls flags 0x%x)",
                 (unsigned)flags);
}

/* "a.b.c.d" into 4 bytes; 0 if host is not an IPv4 literal. */
static int ipv4_literal(const char *host, uint8_t ip[4])
{
    const char *s = host;
    for (int i = 0; i < 4; i++) {
        unsigned v = 0, digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 4) {
            v = v * 10 + (unsigned)(*s++ - '0');
            digits++;
        }
        if (digits == 0 || v > 255 || (i < 3 && *s++ != '.'))
            return 0;
        ip[i] = (uint8_t)v;
    }
    return *s == '\0';
}

/* mbedtls 2.28 matches the host name against DNS names only: a broker
 * reached by IPv4 address is the right one when its certificate carries
 * that address as an iPAddress SAN (what OpenSSL, and so the daemon,
 * accepts). */
static int verify_ip_san(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    const uint8_t *ip = ctx;
    if (depth != 0 || !(*flags & MBEDTLS_X509_BADCERT_CN_MISMATCH))
        return 0;
    for (const mbedtls_x509_sequence *n = &crt->subject_alt_names; n != NULL; n = n->next)
        if (n->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && n->buf.len == 4 &&
            memcmp(n->buf.p, ip, 4) == 0)
            *flags &= ~(uint32_t)MBEDTLS_X509_BADCERT_CN_MISMATCH;
    return 0;
}

/* After the broker hung up mid-handshake, its reason may still be in the
 * socket: a plaintext TLS alert record (type 21, then level, description). */
static int pending_alert(sl__probe *p)
{
    uint8_t r[7];
    size_t n = 0, got;
    while (n < sizeof r && sl_plat_sock_recv(p->fd, r + n, sizeof r - n, 300, &got) == SL_OK &&
           got > 0)
        n += got;
    return n == sizeof r && r[0] == 21 ? r[6] : -1;
}

int sl__probe_tls(sl__probe **out, int fd, const char *host, const char *ca_file,
                  const char *cert_file, const char *key_file, int timeout_ms, char *why,
                  size_t whysz, int64_t *peer_nb, int64_t *peer_na)
{
    *out = NULL;
    *peer_nb = *peer_na = 0;
    sl__probe *p = calloc(1, sizeof *p);
    if (p == NULL) {
        sl_plat_close(fd);
        snprintf(why, whysz, "out of memory");
        return SL_ERR_NOMEM;
    }
    p->fd = fd;
    p->next_id = 1;
    mbedtls_ssl_init(&p->ssl);
    mbedtls_ssl_config_init(&p->conf);
    mbedtls_ctr_drbg_init(&p->drbg);
    mbedtls_x509_crt_init(&p->ca);
    mbedtls_x509_crt_init(&p->own);
    mbedtls_pk_init(&p->key);
    *out = p;
    if (mbedtls_x509_crt_parse_file(&p->ca, ca_file) != 0) {
        snprintf(why, whysz, "ca_file %.200s cannot be read or parsed", ca_file);
        return SL_ERR_CONFIG;
    }
    if (mbedtls_x509_crt_parse_file(&p->own, cert_file) != 0 || parse_key(&p->key, key_file) != 0) {
        snprintf(why, whysz, "device certificate or key cannot be read");
        return SL_ERR_CONFIG;
    }
    if (mbedtls_ctr_drbg_seed(&p->drbg, plat_rng, NULL, (const unsigned char *)"sl-doctor", 9) != 0 ||
        mbedtls_ssl_config_defaults(&p->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) != 0) {
        snprintf(why, whysz, "cannot set up TLS");
        return SL_ERR_CRYPTO;
    }
    mbedtls_ssl_conf_authmode(&p->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&p->conf, &p->ca, NULL);
    mbedtls_ssl_conf_rng(&p->conf, mbedtls_ctr_drbg_random, &p->drbg);
    if (ipv4_literal(host, p->ip))
        mbedtls_ssl_conf_verify(&p->conf, verify_ip_san, p->ip);
    mbedtls_ssl_conf_min_version(&p->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    if (mbedtls_ssl_conf_own_cert(&p->conf, &p->own, &p->key) != 0 ||
        mbedtls_ssl_setup(&p->ssl, &p->conf) != 0 || mbedtls_ssl_set_hostname(&p->ssl, host) != 0) {
        snprintf(why, whysz, "cannot set up TLS");
        return SL_ERR_CRYPTO;
    }
    mbedtls_ssl_set_bio(&p->ssl, p, bio_send, bio_recv, NULL);
    p->deadline = sl_plat_mono_ms() + (uint64_t)timeout_ms;
    int r;
    while ((r = mbedtls_ssl_handshake(&p->ssl)) != 0)
        if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE)
            break;
    const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&p->ssl);
#if MBEDTLS_VERSION_MAJOR < 3
    /* on a failed handshake the broker's certificate is still in the
     * session being negotiated: its dates make the message concrete */
    if (peer == NULL && p->ssl.session_negotiate != NULL)
        peer = p->ssl.session_negotiate->peer_cert;
#endif
    if (peer != NULL) {
        *peer_nb = x509_ms(&peer->valid_from);
        *peer_na = x509_ms(&peer->valid_to);
    }
    if (r == 0) {
        p->tls_up = 1;
        snprintf(why, whysz, "%s, broker certificate verified for '%.100s'",
                 mbedtls_ssl_get_version(&p->ssl), host);
        return SL_OK;
    }
    if (p->timed_out) {
        snprintf(why, whysz, "no TLS answer within %d ms (is this port a TLS listener?)",
                 timeout_ms);
        return SL_ERR_BUSY;
    }
    if (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        verify_words(mbedtls_ssl_get_verify_result(&p->ssl), host, ca_file, peer, why, whysz);
        return SL_ERR_CRYPTO;
    }
#if MBEDTLS_VERSION_MAJOR < 3
    if (r == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE && p->ssl.in_msg != NULL) {
        int a = p->ssl.in_msg[1];
        snprintf(why, whysz, "the broker ended the handshake with alert '%s' (%d)%s", alert_words(a),
                 a, a == 42 || a == 45 || a == 46 || a == 48 || a == 116 || a == 44
                        ? ": it refused this device's certificate" : "");
        return SL_ERR_CRYPTO;
    }
#endif
    if (r == MBEDTLS_ERR_SSL_CONN_EOF || r == MBEDTLS_ERR_NET_CONN_RESET) {
        int a = pending_alert(p);
        if (a >= 0) {
            snprintf(why, whysz, "the broker ended the handshake with alert '%s' (%d): it "
                     "refused this device's certificate", alert_words(a), a);
            return SL_ERR_CRYPTO;
        }
        snprintf(why, whysz, "the broker closed the connection during the handshake (it refused "
                 "this device's certificate, or the port is not a TLS listener)");
        return SL_ERR_CRYPTO;
    }
    char e[100];
    mbedtls_strerror(r, e, sizeof e);
    snprintf(why, whysz, "TLS handshake failed: %s", e);
    return SL_ERR_CRYPTO;
}

static int tls_write(sl__probe *p, const uint8_t *b, size_t n)
{
    while (n > 0) {
        int w = mbedtls_ssl_write(&p->ssl, b, n);
        if (w == MBEDTLS_ERR_SSL_WANT_READ || w == MBEDTLS_ERR_SSL_WANT_WRITE)
            continue;
        if (w <= 0)
            return p->timed_out ? SL_ERR_BUSY : SL_ERR_IO;
        b += w;
        n -= (size_t)w;
    }
    return SL_OK;
}

static int tls_read(sl__probe *p, uint8_t *b, size_t n)
{
    while (n > 0) {
        int r = mbedtls_ssl_read(&p->ssl, b, n);
        if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
            continue;
        if (r <= 0)
            return p->timed_out ? SL_ERR_BUSY : SL_ERR_IO;
        b += r;
        n -= (size_t)r;
    }
    return SL_OK;
}

/* One MQTT control packet: *type the first byte, the body (up to PKT_MAX
 * bytes kept) in p->pkt, *len its full length. */
static int read_packet(sl__probe *p, uint8_t *type, size_t *len)
{
    uint8_t b;
    size_t rl = 0;
    int rc = tls_read(p, type, 1);
    for (int shift = 0; rc == SL_OK; shift += 7) {
        if (shift > 21 || (rc = tls_read(p, &b, 1)) != SL_OK)
            return rc == SL_OK ? SL_ERR_CORRUPT : rc;
        rl |= (size_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
    }
    if (rc != SL_OK)
        return rc;
    *len = rl;
    size_t keep = rl < PKT_MAX ? rl : PKT_MAX;
    if ((rc = tls_read(p, p->pkt, keep)) != SL_OK)
        return rc;
    for (size_t left = rl - keep; left > 0;) {
        uint8_t sink[256];
        size_t k = left < sizeof sink ? left : sizeof sink;
        if ((rc = tls_read(p, sink, k)) != SL_OK)
            return rc;
        left -= k;
    }
    return SL_OK;
}

static size_t put_varint(uint8_t *o, size_t v)
{
    size_t n = 0;
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        o[n++] = (uint8_t)(b | (v ? 0x80 : 0));
    } while (v);
    return n;
}

/* Send type + body (body has room for a 4-byte length in front). */
static int send_packet(sl__probe *p, uint8_t type, const uint8_t *body, size_t len)
{
    uint8_t h[5];
    h[0] = type;
    size_t hn = 1 + put_varint(h + 1, len);
    int rc = tls_write(p, h, hn);
    return rc == SL_OK && len ? tls_write(p, body, len) : rc;
}

const char *sl__mqtt_reason_words(int rc)
{
    switch (rc) {
    case 0x00: return "success";
    case 0x10: return "accepted, no subscribers";
    case 0x80: return "unspecified error";
    case 0x81: return "malformed packet";
    case 0x82: return "protocol error";
    case 0x83: return "implementation specific error";
    case 0x84: return "unsupported protocol version (the broker must support MQTT v5)";
    case 0x85: return "client identifier not valid";
    case 0x86: return "bad user name or password";
    case 0x87: return "not authorized";
    case 0x88: return "server unavailable";
    case 0x89: return "server busy";
    case 0x8A: return "banned";
    case 0x8B: return "server shutting down";
    case 0x8C: return "bad authentication method";
    case 0x8D: return "keep alive timeout";
    case 0x8E: return "session taken over";
    case 0x90: return "topic name invalid";
    case 0x95: return "packet too large";
    case 0x97: return "quota exceeded";
    case 0x99: return "payload format invalid";
    case 0x9C: return "use another server";
    case 0x9D: return "server moved";
    case 0x9F: return "connection rate exceeded";
    }
    return "unknown reason code";
}

int sl__probe_connect(sl__probe *p, const char *client_id, unsigned keepalive,
                      uint32_t session_expiry, int timeout_ms, int *reason, char *why,
                      size_t whysz)
{
    uint8_t b[300];
    size_t n = 0, idl = strlen(client_id);
    *reason = -1;
    if (!p->tls_up || idl > 200) {
        snprintf(why, whysz, "not connected");
        return SL_ERR_USAGE;
    }
    p->deadline = sl_plat_mono_ms() + (uint64_t)timeout_ms;
    p->timed_out = 0;
    memcpy(b, "\0\4MQTT\5", 7);
    n = 7;
    /* flags 0: clean start OFF (keep the stored session), no will, no
     * user name (the broker takes it from the certificate) */
    b[n++] = 0x00;
    b[n++] = (uint8_t)(keepalive >> 8);
    b[n++] = (uint8_t)keepalive;
    b[n++] = 5;       /* properties: session expiry interval only */
    b[n++] = 0x11;
    b[n++] = (uint8_t)(session_expiry >> 24);
    b[n++] = (uint8_t)(session_expiry >> 16);
    b[n++] = (uint8_t)(session_expiry >> 8);
    b[n++] = (uint8_t)session_expiry;
    b[n++] = (uint8_t)(idl >> 8);
    b[n++] = (uint8_t)idl;
    memcpy(b + n, client_id, idl);
    n += idl;
    int rc = send_packet(p, 0x10, b, n);
    uint8_t type = 0;
    size_t len = 0;
    if (rc == SL_OK)
        rc = read_packet(p, &type, &len);
    if (rc != SL_OK) {
        if (rc == SL_ERR_BUSY)
            snprintf(why, whysz, "no CONNACK within %d ms", timeout_ms);
        else
            snprintf(why, whysz, "the broker closed the connection without answering CONNECT "
                     "(it may have refused this device's certificate)");
        return rc;
    }
    if ((type & 0xf0) != 0x20 || len < 2) {
        snprintf(why, whysz, "unexpected answer to CONNECT (packet type 0x%02x)", type);
        return SL_ERR_CORRUPT;
    }
    *reason = p->pkt[1];
    if (*reason != 0) {
        snprintf(why, whysz, "CONNECT refused: %s (0x%02x)", sl__mqtt_reason_words(*reason),
                 *reason);
        return SL_ERR_PERM;
    }
    p->mqtt_up = 1;
    snprintf(why, whysz, "CONNECT accepted as '%.64s' (stored session %s)", client_id,
             p->pkt[0] & 1 ? "resumed" : "new");
    return SL_OK;
}

int sl__probe_publish(sl__probe *p, const char *topic, const void *payload, size_t len,
                      int timeout_ms, int *reason, char *why, size_t whysz)
{
    uint8_t b[600];
    size_t tl = strlen(topic), n = 0;
    *reason = -1;
    if (!p->mqtt_up || tl > 256 || len > 256) {
        snprintf(why, whysz, "not connected");
        return SL_ERR_USAGE;
    }
    p->deadline = sl_plat_mono_ms() + (uint64_t)timeout_ms;
    p->timed_out = 0;
    uint16_t id = p->next_id++;
    b[n++] = (uint8_t)(tl >> 8);
    b[n++] = (uint8_t)tl;
    memcpy(b + n, topic, tl);
    n += tl;
    b[n++] = (uint8_t)(id >> 8);
    b[n++] = (uint8_t)id;
    b[n++] = 0;   /* no properties */
    memcpy(b + n, payload, len);
    n += len;
    int rc = send_packet(p, 0x32 /* PUBLISH, QoS 1, not retained */, b, n);
    while (rc == SL_OK) {
        uint8_t type;
        size_t plen;
        if ((rc = read_packet(p, &type, &plen)) != SL_OK)
            break;
        /* a message from the stored session: deliberately not
         * acknowledged, so the broker keeps it for the daemon */
        if ((type & 0xf0) == 0x30)
            continue;
        if ((type & 0xf0) == 0xE0) {
            int dr = plen >= 1 ? p->pkt[0] : 0;
            snprintf(why, whysz, "the broker disconnected us: %s (0x%02x)",
                     sl__mqtt_reason_words(dr), dr);
            p->mqtt_up = 0;
            return SL_ERR_IO;
        }
        if ((type & 0xf0) != 0x40 || plen < 2 ||
            ((uint16_t)(p->pkt[0] << 8 | p->pkt[1])) != id)
            continue;
        *reason = plen >= 3 ? p->pkt[2] : 0;
        if (*reason >= 0x80) {
            snprintf(why, whysz, "PUBACK %s (0x%02x) on %.200s", sl__mqtt_reason_words(*reason),
                     *reason, topic);
            return SL_ERR_PERM;
        }
        snprintf(why, whysz, "QoS 1 publish to %.200s acknowledged (%s)", topic,
                 sl__mqtt_reason_words(*reason));
        return SL_OK;
    }
    if (rc == SL_ERR_BUSY)
        snprintf(why, whysz, "no PUBACK within %d ms", timeout_ms);
    else
        snprintf(why, whysz, "the broker closed the connection after the publish to %.200s "
                 "(an MQTT v3 broker drops refused publishes this way)", topic);
    return rc;
}

void sl__probe_close(sl__probe *p)
{
    if (p == NULL)
        return;
    p->deadline = sl_plat_mono_ms() + 1000;
    if (p->mqtt_up) {
        /* reason 0 "normal disconnection": the broker publishes no will
         * and keeps the session for the expiry given at CONNECT */
        uint8_t body[1] = {0};
        send_packet(p, 0xE0, body, 1);
    }
    if (p->tls_up)
        mbedtls_ssl_close_notify(&p->ssl);
    sl_plat_close(p->fd);
    mbedtls_pk_free(&p->key);
    mbedtls_x509_crt_free(&p->own);
    mbedtls_x509_crt_free(&p->ca);
    mbedtls_ctr_drbg_free(&p->drbg);
    mbedtls_ssl_config_free(&p->conf);
    mbedtls_ssl_free(&p->ssl);
    free(p);
}
