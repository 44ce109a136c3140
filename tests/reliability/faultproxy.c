/*
 * faultproxy - a small fault-injecting TCP proxy for the network tests
 * (tests/reliability/40-network.t): netem and toxiproxy are not available
 * here, so the faults are made in user space between the agent and the
 * broker.  Listens on 127.0.0.1:LISTEN, forwards to 127.0.0.1:TARGET.
 *
 * The fault is read from the file CTL (re-read every 50 ms), one word and an
 * optional number:
 *   pass          forward as is
 *   drop          close every open connection now (RST-free close, both
 *                 sides), then behave as pass
 *   blackhole     keep the connections open but forward nothing in either
 *                 direction and send nothing back: a half-open link (no FIN,
 *                 no RST), as when a Wi-Fi access point dies
 *   refuse        close new connections at once; open ones continue
 *   slice         forward one byte per write
 *   latency MS    hold every chunk MS milliseconds before forwarding it
 *   throttle BPS  forward at most BPS bytes per second in each direction
 * `drop` is done once per change of the file (write it again to drop again).
 *
 * Prints "listening PORT" on stdout once ready (LISTEN 0 picks a free
 * port).  Counters go to stderr on SIGTERM.  Test tooling only; bounded:
 * at most MAXCONN connections, at most BUFMAX bytes queued per direction
 * (a full queue stops reading from that side, which is TCP back-pressure).
 *
 * usage: faultproxy LISTEN TARGET CTL
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXCONN 32
#define BUFMAX (256 * 1024)
#define CHUNKS 4096

struct chunk {
    uint64_t due_ms;
    size_t len, off;
    unsigned char *data;
};

struct dir {              /* one direction: bytes read from `from`, queued for `to` */
    struct chunk q[CHUNKS];
    size_t head, count, bytes;
    uint64_t sent_this_sec, sec;
};

struct conn {
    int a, b;             /* a: client side, b: broker side */
    int closing;          /* one side ended: deliver what is queued, then close */
    struct dir ab, ba;
};

static struct conn conns[MAXCONN];
static int nconn;
static volatile sig_atomic_t stop;
static unsigned long long total_conns, total_drops, total_bytes;

/* wall-clock ms of the last byte written to a client: the moment the agent
 * last heard from the broker, printed when a black hole starts so a test can
 * time the agent's detection from the silence, not from its own command */
static uint64_t last_to_client;

static uint64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

enum mode { M_PASS, M_BLACKHOLE, M_REFUSE, M_SLICE, M_LATENCY, M_THROTTLE };
static enum mode mode = M_PASS;
static long mode_arg;

static void dir_clear(struct dir *d)
{
    while (d->count) {
        free(d->q[d->head].data);
        d->head = (d->head + 1) % CHUNKS;
        d->count--;
    }
    d->bytes = 0;
}

static void conn_close(int i)
{
    close(conns[i].a);
    close(conns[i].b);
    dir_clear(&conns[i].ab);
    dir_clear(&conns[i].ba);
    conns[i] = conns[--nconn];
}

/* returns 1 when the control file asked for a drop */
static int read_ctl(const char *path, char *last, size_t lastsz)
{
    char buf[128] = "";
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        if (fgets(buf, sizeof buf, f) == NULL)
            buf[0] = 0;
        fclose(f);
    }
    buf[strcspn(buf, "\n")] = 0;
    if (strcmp(buf, last) == 0)
        return 0;
    snprintf(last, lastsz, "%s", buf);
    char word[32] = "";
    long arg = 0;
    sscanf(buf, "%31s %ld", word, &arg);
    mode_arg = arg;
    if (strcmp(word, "blackhole") == 0) {
        mode = M_BLACKHOLE;
        printf("silent since %llu\n", (unsigned long long)last_to_client);
        fflush(stdout);
    }
    else if (strcmp(word, "refuse") == 0)
        mode = M_REFUSE;
    else if (strcmp(word, "slice") == 0)
        mode = M_SLICE;
    else if (strcmp(word, "latency") == 0)
        mode = M_LATENCY;
    else if (strcmp(word, "throttle") == 0)
        mode = M_THROTTLE;
    else
        mode = M_PASS;
    return strcmp(word, "drop") == 0;
}

static int pump_in(int from, struct dir *d)
{
    if (d->bytes >= BUFMAX || d->count >= CHUNKS)
        return 0;
    unsigned char buf[16384];
    ssize_t n = read(from, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        return -1;
    if (n < 0)
        return 0;
    struct chunk *c = &d->q[(d->head + d->count) % CHUNKS];
    c->data = malloc((size_t)n);
    if (c->data == NULL)
        return -1;
    memcpy(c->data, buf, (size_t)n);
    c->len = (size_t)n;
    c->off = 0;
    c->due_ms = now_ms() + (mode == M_LATENCY ? (uint64_t)mode_arg : 0);
    d->count++;
    d->bytes += (size_t)n;
    return 0;
}

static int pump_out(int to, struct dir *d)
{
    uint64_t t = now_ms();
    while (d->count) {
        struct chunk *c = &d->q[d->head];
        if (c->due_ms > t)
            return 0;
        size_t want = c->len - c->off;
        if (mode == M_SLICE)
            want = 1;
        if (mode == M_THROTTLE) {
            if (t / 1000 != d->sec) {
                d->sec = t / 1000;
                d->sent_this_sec = 0;
            }
            uint64_t room = (uint64_t)mode_arg > d->sent_this_sec ? (uint64_t)mode_arg - d->sent_this_sec : 0;
            if (room == 0)
                return 0;
            if (want > room)
                want = (size_t)room;
        }
        ssize_t n = write(to, c->data + c->off, want);
        if (n < 0)
            return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
        c->off += (size_t)n;
        d->bytes -= (size_t)n;
        d->sent_this_sec += (uint64_t)n;
        total_bytes += (unsigned long long)n;
        if (c->off == c->len) {
            free(c->data);
            d->head = (d->head + 1) % CHUNKS;
            d->count--;
        }
        if (mode == M_SLICE)
            return 0;   /* one byte per write, one write per loop */
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: faultproxy LISTEN TARGET CTL\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 16) != 0 ||
        getsockname(ls, (struct sockaddr *)&sa, &sl) != 0) {
        perror("faultproxy: listen");
        return 1;
    }
    printf("listening %d\n", ntohs(sa.sin_port));
    fflush(stdout);
    struct sockaddr_in ta = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    ta.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char last[128] = "\x01";
    uint64_t next_ctl = 0;
    while (!stop) {
        if (now_ms() >= next_ctl) {
            if (read_ctl(argv[3], last, sizeof last)) {
                while (nconn)
                    conn_close(0), total_drops++;
            }
            next_ctl = now_ms() + 50;
        }
        struct pollfd p[1 + 2 * MAXCONN];
        p[0] = (struct pollfd){ls, POLLIN, 0};
        for (int i = 0; i < nconn; i++) {
            short ea = 0, eb = 0;
            if (mode != M_BLACKHOLE) {
                if (!conns[i].closing && conns[i].ab.bytes < BUFMAX && conns[i].ab.count < CHUNKS) ea |= POLLIN;
                if (!conns[i].closing && conns[i].ba.bytes < BUFMAX && conns[i].ba.count < CHUNKS) eb |= POLLIN;
                if (conns[i].ba.count) ea |= POLLOUT;
                if (conns[i].ab.count) eb |= POLLOUT;
            }
            p[1 + 2 * i] = (struct pollfd){conns[i].a, ea, 0};
            p[2 + 2 * i] = (struct pollfd){conns[i].b, eb, 0};
        }
        int np = 1 + 2 * nconn;
        poll(p, (nfds_t)np, 10);
        if (p[0].revents & POLLIN) {
            int c = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (c >= 0 && (mode == M_REFUSE || nconn == MAXCONN)) {
                close(c);
            } else if (c >= 0) {
                int b = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (b < 0 || connect(b, (struct sockaddr *)&ta, sizeof ta) != 0) {
                    close(c);
                    if (b >= 0)
                        close(b);
                } else {
                    fcntl(b, F_SETFL, O_NONBLOCK);
                    setsockopt(b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    memset(&conns[nconn], 0, sizeof conns[nconn]);
                    conns[nconn].a = c;
                    conns[nconn].b = b;
                    nconn++;
                    total_conns++;
                }
            }
        }
        if (mode == M_BLACKHOLE)
            continue;
        /* poll results belong to the connection order before any close */
        for (int i = np / 2 - 1; i >= 0; i--) {
            struct pollfd *pa = &p[1 + 2 * i], *pb = &p[2 + 2 * i];
            int bad = 0;
            if (!conns[i].closing && (pa->revents & (POLLIN | POLLHUP | POLLERR)) &&
                pump_in(conns[i].a, &conns[i].ab) != 0)
                conns[i].closing = 1;
            if (!conns[i].closing && (pb->revents & (POLLIN | POLLHUP | POLLERR)) &&
                pump_in(conns[i].b, &conns[i].ba) != 0)
                conns[i].closing = 1;
            bad |= pump_out(conns[i].b, &conns[i].ab);
            size_t before = conns[i].ba.bytes;
            bad |= pump_out(conns[i].a, &conns[i].ba);
            if (conns[i].ba.bytes != before)
                last_to_client = real_ms();
            if (bad || (conns[i].closing && conns[i].ab.count == 0 && conns[i].ba.count == 0))
                conn_close(i);
        }
    }
    fprintf(stderr, "faultproxy: %llu connections, %llu dropped, %llu bytes\n", total_conns,
            total_drops, total_bytes);
    while (nconn)
        conn_close(0);
    close(ls);
    return 0;
}
