/* mqtt_load: an MQTT 3.1.1 load generator for scripts/bench (one thread, epoll, non-blocking sockets, libc only).
 *
 * Opens N device connections (CONNECT with a unique client id, clean session, keep-alive), a batch at a time so the
 * server's listen backlog is never overrun, and waits for every CONNACK. Then, in the default mode, each device runs
 * a closed loop for warm-up + duration seconds: PUBLISH QoS 1 on bench/<device> -> wait for its PUBACK -> publish
 * again (--inflight M keeps M publishes outstanding per device). Every publish->PUBACK latency acknowledged after the
 * warm-up goes into a histogram. In --hold mode the devices stay connected and idle (a PINGREQ each keep-alive) for
 * the given time, or until SIGINT/SIGTERM, so that a server's memory per connected device can be read meanwhile.
 *
 * Output: one JSON line on stdout at the end, {"event": "done", ...}. Before it, in --hold mode, {"event":
 * "connected", ...} as soon as the connect phase is over; with --progress also that, {"event": "measuring"} when the
 * warm-up ends and {"event": "measured"} when the measured time ends, so that a caller can sample the servers' CPU
 * over exactly the measured window. Exit status 0 if every device connected and none was lost, 1 otherwise, 2 on bad
 * usage or a setup failure.
 *
 *   gcc -O2 -o mqtt_load scripts/mqtt_load.c
 *   mqtt_load --port 1883 --devices 1000 --duration 5 --warmup 1 [--payload 64] [--inflight 1]
 *   mqtt_load --port 1883 --devices 1000 --hold 30
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------------ latency histogram
 * Log-linear buckets, as in HdrHistogram: exact microseconds below 2,048 us, then 1,024 buckets per power of two
 * (0.1% relative precision) up to HIST_MAX_US; anything longer lands in the last bucket. ~20k buckets, 160 KiB. */
#define SUB_BITS 10
#define SUB (1u << SUB_BITS)
#define HIST_MAX_US (1ull << 27) /* 134 s: longer than any run */
#define HIST_BUCKETS (2 * SUB + (27 - SUB_BITS - 1) * SUB)

static uint64_t hist[HIST_BUCKETS];
static uint64_t hist_count, hist_max_us;

static unsigned hist_index(uint64_t us) {
    if (us >= HIST_MAX_US) us = HIST_MAX_US - 1;
    if (us < 2 * SUB) return (unsigned)us;
    int shift = 63 - __builtin_clzll(us) - SUB_BITS; /* >= 1 */
    return 2 * SUB + (unsigned)(shift - 1) * SUB + (unsigned)((us >> shift) - SUB);
}

static uint64_t hist_value(unsigned idx) { /* the middle of a bucket */
    if (idx < 2 * SUB) return idx;
    unsigned shift = (idx - 2 * SUB) / SUB + 1;
    uint64_t low = ((uint64_t)((idx - 2 * SUB) % SUB) + SUB) << shift;
    return low + ((1ull << shift) >> 1);
}

static void hist_record(uint64_t us) {
    hist[hist_index(us)]++;
    hist_count++;
    if (us > hist_max_us) hist_max_us = us;
}

static uint64_t hist_percentile(double p) {
    if (!hist_count) return 0;
    uint64_t rank = (uint64_t)(p / 100.0 * (double)hist_count + 0.5), seen = 0;
    if (rank < 1) rank = 1;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += hist[i];
        if (seen >= rank) return hist_value(i);
    }
    return hist_max_us;
}

/* ------------------------------------------------------------------------------------------------ options */
static const char *opt_host = "127.0.0.1", *opt_port = "1883", *opt_prefix = "bench";
static long opt_devices = 100, opt_payload = 64, opt_inflight = 1, opt_batch = 100, opt_keepalive = 60;
static double opt_duration = 5, opt_warmup = 1, opt_hold = -1, opt_connect_timeout = 30;
static int opt_progress;

static void usage(FILE *f) {
    fprintf(f,
            "usage: mqtt_load [--host H] [--port P] [--devices N] [--duration S] [--warmup S] [--payload BYTES]\n"
            "                 [--inflight M] [--batch B] [--keepalive S] [--client-prefix P] [--connect-timeout S]\n"
            "                 [--hold S] [--progress]\n"
            "  --host, --port        the MQTT server (default 127.0.0.1:1883)\n"
            "  --devices N           device connections (default 100)\n"
            "  --duration, --warmup  seconds measured, and seconds before that not measured (default 5, 1)\n"
            "  --payload BYTES       PUBLISH payload size (default 64)\n"
            "  --inflight M          QoS 1 publishes outstanding per device (default 1: a closed loop)\n"
            "  --batch B             connections being opened at once (default 100)\n"
            "  --keepalive S         the CONNECT keep-alive; a PINGREQ goes out after S idle seconds (default 60)\n"
            "  --client-prefix P     client ids are P-<pid>-<device> (default bench)\n"
            "  --connect-timeout S   the longest the connect phase may take (default 30)\n"
            "  --hold S              connect, then stay connected and idle for S seconds (or until SIGINT/SIGTERM)\n"
            "  --progress            print a JSON line when connected, when measuring starts and when it ends\n");
}

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("mqtt_load: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static long parse_long(const char *name, const char *s, long min, long max) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < min || v > max)
        die("%s: want an integer in [%ld, %ld], not '%s'", name, min, max, s);
    return v;
}

static double parse_seconds(const char *name, const char *s) {
    char *end;
    double v = strtod(s, &end);
    if (*end || end == s || v < 0 || v > 1e6) die("%s: want seconds >= 0, not '%s'", name, s);
    return v;
}

/* ------------------------------------------------------------------------------------------------ time */
static inline uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ------------------------------------------------------------------------------------------------ devices */
enum state { IDLE, CONNECTING, WAIT_CONNACK, READY, CLOSED };
enum rstate { R_TYPE, R_LENGTH, R_BODY };

struct device {
    int fd, id;
    enum state state;
    /* the incoming packet being parsed: bytes may arrive split or coalesced anyhow */
    enum rstate rstate;
    uint8_t type;
    uint32_t remaining, length_multiplier;
    uint8_t length_bytes, body_got, body[4]; /* the first bytes of the body: all CONNACK/PUBACK need */
    /* outgoing bytes not yet written */
    uint8_t *wbuf;
    size_t wlen, woff, wcap;
    int want_out;
    /* QoS 1 in flight: slot i uses packet id i + 1, sent_us[i] == 0 when free */
    uint64_t *sent_us;
    long inflight;
    uint64_t last_send_us, connect_start_us;
    uint16_t next_free;
};

static struct device *devices;
static int epfd;
static uint8_t *payload;
static struct addrinfo *server_addr;
static volatile sig_atomic_t stop_requested;

/* counters */
static long n_connected, n_connect_failed, n_disconnects, n_protocol_errors, n_refused, n_other_packets;
static uint64_t n_acked_measured, n_acked_total, n_published, n_pings, n_pongs;

enum phase { PH_CONNECT, PH_WARMUP, PH_MEASURE, PH_HOLD, PH_DONE };
static enum phase phase = PH_CONNECT;

static void set_events(struct device *d) {
    struct epoll_event ev = {.events = EPOLLIN | (d->want_out ? EPOLLOUT : 0), .data.ptr = d};
    epoll_ctl(epfd, EPOLL_CTL_MOD, d->fd, &ev);
}

static void close_device(struct device *d, int lost) {
    if (d->state == CLOSED || d->state == IDLE) return;
    if (lost) {
        if (d->state == READY) n_disconnects++;
        else n_connect_failed++;
    }
    epoll_ctl(epfd, EPOLL_CTL_DEL, d->fd, NULL);
    close(d->fd);
    d->fd = -1;
    if (d->state == READY) n_connected--;
    d->state = CLOSED;
}

static uint8_t *reserve(struct device *d, size_t n) {
    if (d->woff && d->woff == d->wlen) d->woff = d->wlen = 0;
    if (d->wlen + n > d->wcap) {
        if (d->woff) { /* compact first */
            memmove(d->wbuf, d->wbuf + d->woff, d->wlen - d->woff);
            d->wlen -= d->woff;
            d->woff = 0;
        }
        if (d->wlen + n > d->wcap) {
            size_t cap = d->wcap ? d->wcap : 256;
            while (cap < d->wlen + n) cap *= 2;
            d->wbuf = realloc(d->wbuf, cap);
            if (!d->wbuf) die("out of memory");
            d->wcap = cap;
        }
    }
    uint8_t *p = d->wbuf + d->wlen;
    d->wlen += n;
    return p;
}

static size_t put_length(uint8_t *p, uint32_t n) { /* MQTT's variable-length "remaining length" */
    size_t i = 0;
    do {
        uint8_t b = n % 128;
        n /= 128;
        p[i++] = b | (n ? 0x80 : 0);
    } while (n);
    return i;
}

static void flush(struct device *d) {
    while (d->woff < d->wlen) {
        ssize_t n = send(d->fd, d->wbuf + d->woff, d->wlen - d->woff, MSG_NOSIGNAL);
        if (n > 0) {
            d->woff += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!d->want_out) {
                d->want_out = 1;
                set_events(d);
            }
            return;
        }
        close_device(d, 1);
        return;
    }
    d->woff = d->wlen = 0;
    if (d->want_out) {
        d->want_out = 0;
        set_events(d);
    }
}

static void queue_connect(struct device *d) {
    char client_id[96];
    int idlen = snprintf(client_id, sizeof client_id, "%s-%d-%d", opt_prefix, (int)getpid(), d->id);
    uint32_t remaining = 10 + 2 + (uint32_t)idlen;
    uint8_t *p = reserve(d, 1 + 4 + remaining), *start = p;
    *p++ = 0x10;
    p += put_length(p, remaining);
    memcpy(p, "\x00\x04MQTT\x04\x02", 8); /* protocol name, level 4 (3.1.1), flags: clean session */
    p += 8;
    *p++ = (uint8_t)(opt_keepalive >> 8);
    *p++ = (uint8_t)opt_keepalive;
    *p++ = (uint8_t)(idlen >> 8);
    *p++ = (uint8_t)idlen;
    memcpy(p, client_id, (size_t)idlen);
    p += idlen;
    d->wlen -= (size_t)(1 + 4 + remaining - (size_t)(p - start)); /* give back what the length did not use */
}

static void queue_publish(struct device *d, unsigned slot, uint64_t t) {
    char topic[32];
    int tlen = snprintf(topic, sizeof topic, "bench/%d", d->id);
    uint32_t remaining = 2 + (uint32_t)tlen + 2 + (uint32_t)opt_payload;
    uint8_t *p = reserve(d, 1 + 4 + remaining), *start = p;
    *p++ = 0x32; /* PUBLISH, QoS 1 */
    p += put_length(p, remaining);
    *p++ = 0;
    *p++ = (uint8_t)tlen;
    memcpy(p, topic, (size_t)tlen);
    p += tlen;
    *p++ = (uint8_t)((slot + 1) >> 8);
    *p++ = (uint8_t)(slot + 1);
    memcpy(p, payload, (size_t)opt_payload);
    p += opt_payload;
    d->wlen -= (size_t)(1 + 4 + remaining - (size_t)(p - start));
    d->sent_us[slot] = t;
    d->inflight++;
    d->last_send_us = t;
    n_published++;
}

/* Fill the device's window of publishes; they go out with the next flush(). */
static void top_up(struct device *d, uint64_t t) {
    while (d->inflight < opt_inflight) {
        unsigned slot = d->next_free;
        if (d->sent_us[slot]) { /* acks came out of order: look for a free slot */
            for (slot = 0; slot < (unsigned)opt_inflight && d->sent_us[slot]; slot++) ;
        }
        queue_publish(d, slot, t);
        d->next_free = (uint16_t)((slot + 1) % (unsigned)opt_inflight);
    }
}

static void start_connect(struct device *d) {
    int fd = socket(server_addr->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "mqtt_load: socket: %s\n", strerror(errno));
        d->state = CLOSED;
        n_connect_failed++;
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    d->fd = fd;
    d->connect_start_us = now_us();
    d->rstate = R_TYPE;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = d};
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    d->want_out = 1;
    d->state = CONNECTING;
    if (connect(fd, server_addr->ai_addr, server_addr->ai_addrlen) < 0 && errno != EINPROGRESS) {
        static int reported;
        if (!reported++) fprintf(stderr, "mqtt_load: connect: %s\n", strerror(errno));
        close_device(d, 1);
        return;
    }
    queue_connect(d); /* goes out as soon as the socket is writable */
}

static void on_packet(struct device *d, uint64_t t) {
    switch (d->type >> 4) {
    case 2: /* CONNACK: flags, return code */
        if (d->state != WAIT_CONNACK || d->remaining != 0 || d->body_got < 2) goto bad;
        if (d->body[1] != 0) {
            n_refused++;
            close_device(d, 1);
            return;
        }
        d->state = READY;
        n_connected++;
        d->last_send_us = t;
        return;
    case 4: { /* PUBACK: packet id */
        if (d->state != READY || d->body_got < 2) goto bad;
        unsigned pid = ((unsigned)d->body[0] << 8) | d->body[1];
        if (pid < 1 || pid > (unsigned)opt_inflight || !d->sent_us[pid - 1]) goto bad;
        uint64_t sent = d->sent_us[pid - 1];
        d->sent_us[pid - 1] = 0;
        d->inflight--;
        n_acked_total++;
        if (phase == PH_MEASURE) {
            n_acked_measured++;
            hist_record(t - sent);
        }
        if (phase == PH_WARMUP || phase == PH_MEASURE) top_up(d, t);
        return;
    }
    case 13: /* PINGRESP */
        n_pongs++;
        return;
    default: /* anything else the server may send (a PUBLISH we did not ask for, ...) is skipped */
        n_other_packets++;
        return;
    }
bad:
    n_protocol_errors++;
    close_device(d, 1);
}

/* Feed received bytes through the packet parser. Returns 0 if the device was closed. */
static int on_bytes(struct device *d, const uint8_t *p, size_t n, uint64_t t) {
    while (n) {
        switch (d->rstate) {
        case R_TYPE:
            d->type = *p++;
            n--;
            d->remaining = 0;
            d->length_multiplier = 1;
            d->length_bytes = 0;
            d->rstate = R_LENGTH;
            break;
        case R_LENGTH: {
            uint8_t b = *p++;
            n--;
            d->remaining += (uint32_t)(b & 0x7f) * d->length_multiplier;
            d->length_multiplier *= 128;
            if (++d->length_bytes > 4) {
                n_protocol_errors++;
                close_device(d, 1);
                return 0;
            }
            if (!(b & 0x80)) {
                d->body_got = 0;
                d->rstate = R_BODY;
                if (d->remaining == 0) goto complete;
            }
            break;
        }
        case R_BODY: {
            size_t take = n < d->remaining ? n : d->remaining;
            for (size_t i = 0; i < take && d->body_got < sizeof d->body; i++) d->body[d->body_got++] = p[i];
            p += take;
            n -= take;
            d->remaining -= (uint32_t)take;
            if (d->remaining) break;
        complete:
            d->rstate = R_TYPE;
            on_packet(d, t);
            if (d->state == CLOSED) return 0;
            break;
        }
        }
    }
    return 1;
}

static void on_readable(struct device *d) {
    static uint8_t buf[65536];
    for (;;) {
        ssize_t n = recv(d->fd, buf, sizeof buf, 0);
        if (n > 0) {
            if (!on_bytes(d, buf, (size_t)n, now_us())) return;
            if ((size_t)n < sizeof buf) break;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        close_device(d, 1); /* EOF or error */
        return;
    }
    if (d->wlen > d->woff) flush(d);
}

static void on_writable(struct device *d) {
    if (d->state == CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            static int reported;
            if (!reported++) fprintf(stderr, "mqtt_load: connect: %s\n", strerror(err));
            close_device(d, 1);
            return;
        }
        d->state = WAIT_CONNACK;
    }
    flush(d);
}

static void progress(const char *event) {
    if (!opt_progress) return;
    printf("{\"event\": \"%s\"}\n", event);
    fflush(stdout);
}

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static void raise_fd_limit(long need) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= (rlim_t)need) return;
    rl.rlim_cur = (rlim_t)need;
    if (rl.rlim_max < (rlim_t)need) rl.rlim_max = (rlim_t)need; /* allowed when privileged */
    if (setrlimit(RLIMIT_NOFILE, &rl)) {
        getrlimit(RLIMIT_NOFILE, &rl);
        die("need %ld open files for %ld devices, but the limit is %llu (raise it with ulimit -n)",
            need, opt_devices, (unsigned long long)rl.rlim_max);
    }
}

static void send_pings(uint64_t t) {
    uint64_t idle = (uint64_t)opt_keepalive * 1000000u;
    if (!idle) return;
    for (long i = 0; i < opt_devices; i++) {
        struct device *d = &devices[i];
        if (d->state == READY && t - d->last_send_us >= idle) {
            uint8_t *p = reserve(d, 2);
            p[0] = 0xc0; /* PINGREQ */
            p[1] = 0;
            d->last_send_us = t;
            n_pings++;
            flush(d);
        }
    }
}

int main(int argc, char **argv) {
    static const struct option longopts[] = {
        {"host", 1, 0, 'h'}, {"port", 1, 0, 'p'}, {"devices", 1, 0, 'n'}, {"duration", 1, 0, 'd'},
        {"warmup", 1, 0, 'w'}, {"payload", 1, 0, 's'}, {"inflight", 1, 0, 'i'}, {"batch", 1, 0, 'b'},
        {"keepalive", 1, 0, 'k'}, {"client-prefix", 1, 0, 'c'}, {"connect-timeout", 1, 0, 't'},
        {"hold", 1, 0, 'H'}, {"progress", 0, 0, 'P'}, {"help", 0, 0, '?'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': opt_host = optarg; break;
        case 'p': opt_port = optarg; break;
        case 'n': opt_devices = parse_long("--devices", optarg, 1, 1000000); break;
        case 'd': opt_duration = parse_seconds("--duration", optarg); break;
        case 'w': opt_warmup = parse_seconds("--warmup", optarg); break;
        case 's': opt_payload = parse_long("--payload", optarg, 0, 256 * 1024 * 1024 - 64); break;
        case 'i': opt_inflight = parse_long("--inflight", optarg, 1, 65535); break;
        case 'b': opt_batch = parse_long("--batch", optarg, 1, 1000000); break;
        case 'k': opt_keepalive = parse_long("--keepalive", optarg, 0, 65535); break;
        case 'c': opt_prefix = optarg; break;
        case 't': opt_connect_timeout = parse_seconds("--connect-timeout", optarg); break;
        case 'H': opt_hold = parse_seconds("--hold", optarg); break;
        case 'P': opt_progress = 1; break;
        default: usage(c == '?' && optind > 0 && !strcmp(argv[optind - 1], "--help") ? stdout : stderr); exit(2);
        }
    }
    if (optind < argc) {
        usage(stderr);
        exit(2);
    }
    if (strlen(opt_prefix) > 60) die("--client-prefix: at most 60 characters");

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int gai = getaddrinfo(opt_host, opt_port, &hints, &server_addr);
    if (gai) die("%s:%s: %s", opt_host, opt_port, gai_strerror(gai));
    raise_fd_limit(opt_devices + 32);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    payload = malloc((size_t)opt_payload + 1);
    devices = calloc((size_t)opt_devices, sizeof *devices);
    if (!payload || !devices) die("out of memory");
    for (long i = 0; i < opt_payload; i++) payload[i] = (uint8_t)('a' + i % 26);
    for (long i = 0; i < opt_devices; i++) {
        devices[i].id = (int)i;
        devices[i].fd = -1;
        devices[i].sent_us = calloc((size_t)opt_inflight, sizeof(uint64_t));
        if (!devices[i].sent_us) die("out of memory");
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) die("epoll_create1: %s", strerror(errno));

    enum { MAX_EVENTS = 512 };
    struct epoll_event events[MAX_EVENTS];
    uint64_t t_start = now_us(), t_connected = 0, t_measure = 0, t_end = 0, t_phase_end = 0;
    uint64_t connect_deadline = t_start + (uint64_t)(opt_connect_timeout * 1e6), next_ping_check = 0;
    long next_to_open = 0, opening = 0; /* devices started, and how many of those still await their CONNACK */

    while (phase != PH_DONE) {
        uint64_t t = now_us();
        if (stop_requested && phase != PH_CONNECT) {
            if (phase == PH_MEASURE) {
                t_end = t;
                progress("measured");
            }
            phase = PH_DONE;
            break;
        }
        if (phase == PH_CONNECT) {
            /* recount what is still opening: CONNACKs and failures both free a batch slot */
            opening = 0;
            for (long i = 0; i < next_to_open; i++)
                if (devices[i].state == CONNECTING || devices[i].state == WAIT_CONNACK) opening++;
            while (next_to_open < opt_devices && opening < opt_batch) {
                start_connect(&devices[next_to_open++]);
                opening++;
            }
            int all_started = next_to_open == opt_devices;
            if ((all_started && opening == 0) || t >= connect_deadline || stop_requested) {
                for (long i = 0; i < opt_devices; i++) { /* whatever has not made it by now counts as failed */
                    struct device *d = &devices[i];
                    if (d->state == IDLE) { d->state = CLOSED; n_connect_failed++; }
                    else if (d->state == CONNECTING || d->state == WAIT_CONNACK) close_device(d, 1);
                }
                t_connected = t = now_us();
                if (stop_requested || n_connected == 0) { phase = PH_DONE; break; }
                if (opt_hold >= 0 || opt_progress) {
                    printf("{\"event\": \"connected\", \"devices\": %ld, \"connected\": %ld, \"connect_s\": %.3f}\n",
                           opt_devices, n_connected, (t_connected - t_start) / 1e6);
                    fflush(stdout);
                }
                if (opt_hold >= 0) {
                    phase = PH_HOLD;
                    t_phase_end = t + (uint64_t)(opt_hold * 1e6);
                } else {
                    phase = opt_warmup > 0 ? PH_WARMUP : PH_MEASURE;
                    t_measure = t;
                    t_phase_end = t + (uint64_t)(opt_warmup * 1e6);
                    if (phase == PH_MEASURE) {
                        t_phase_end = t + (uint64_t)(opt_duration * 1e6);
                        progress("measuring");
                    }
                    for (long i = 0; i < opt_devices; i++)
                        if (devices[i].state == READY) { top_up(&devices[i], t); flush(&devices[i]); }
                }
                continue;
            }
        } else if (t >= t_phase_end) {
            if (phase == PH_WARMUP) {
                phase = PH_MEASURE;
                t_measure = t;
                t_phase_end = t + (uint64_t)(opt_duration * 1e6);
                progress("measuring");
            } else {
                if (phase == PH_MEASURE) {
                    t_end = t;
                    progress("measured");
                }
                phase = PH_DONE;
                break;
            }
        }
        if (t >= next_ping_check) { /* keep-alive: in every phase, though a busy device never needs one */
            if (phase != PH_CONNECT) send_pings(t);
            next_ping_check = t + 100000;
        }

        uint64_t wake = phase == PH_CONNECT ? connect_deadline : t_phase_end;
        if (wake > next_ping_check) wake = next_ping_check;
        int timeout_ms = wake > t ? (int)((wake - t + 999) / 1000) : 0;
        int n = epoll_wait(epfd, events, MAX_EVENTS, timeout_ms);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait: %s", strerror(errno));
        }
        for (int i = 0; i < n; i++) {
            struct device *d = events[i].data.ptr;
            if (d->state == CLOSED) continue;
            if (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
                if (d->state == CONNECTING || (events[i].events & EPOLLOUT)) on_writable(d);
                if (d->state == CLOSED) continue;
            }
            if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(d);
        }
    }

    /* Leave politely: a DISCONNECT on every connection still up, then close. */
    long still_connected = n_connected;
    for (long i = 0; i < opt_devices; i++) {
        struct device *d = &devices[i];
        if (d->state == READY) {
            static const uint8_t disconnect[2] = {0xe0, 0};
            send(d->fd, disconnect, 2, MSG_NOSIGNAL | MSG_DONTWAIT);
            close(d->fd);
        } else if (d->fd >= 0) {
            close(d->fd);
        }
    }

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    long errors = n_connect_failed + n_disconnects + n_protocol_errors;
    if (opt_hold >= 0) {
        printf("{\"event\": \"done\", \"mode\": \"hold\", \"devices\": %ld, \"connected\": %ld, \"connect_s\": %.3f, "
               "\"held_s\": %.3f, \"pings\": %llu, \"pongs\": %llu, \"connect_failures\": %ld, \"refused\": %ld, "
               "\"disconnects\": %ld, \"protocol_errors\": %ld, \"errors\": %ld, \"cpu_s\": %.3f}\n",
               opt_devices, still_connected, (t_connected - t_start) / 1e6, (now_us() - t_connected) / 1e6,
               (unsigned long long)n_pings, (unsigned long long)n_pongs, n_connect_failed, n_refused, n_disconnects,
               n_protocol_errors, errors, cpu_s);
    } else {
        double secs = t_end > t_measure && phase == PH_DONE && t_end ? (t_end - t_measure) / 1e6 : 0;
        printf("{\"event\": \"done\", \"mode\": \"load\", \"devices\": %ld, \"connected\": %ld, \"connect_s\": %.3f, "
               "\"payload\": %ld, \"inflight\": %ld, \"acked\": %llu, \"published\": %llu, \"duration_s\": %.3f, "
               "\"msg_per_s\": %.1f, \"p50_us\": %llu, \"p99_us\": %llu, \"p999_us\": %llu, \"max_us\": %llu, "
               "\"connect_failures\": %ld, \"refused\": %ld, \"disconnects\": %ld, \"protocol_errors\": %ld, "
               "\"other_packets\": %ld, \"errors\": %ld, \"cpu_s\": %.3f}\n",
               opt_devices, still_connected, (t_connected - t_start) / 1e6, opt_payload, opt_inflight,
               (unsigned long long)n_acked_measured, (unsigned long long)n_published, secs,
               secs > 0 ? n_acked_measured / secs : 0.0, (unsigned long long)hist_percentile(50),
               (unsigned long long)hist_percentile(99), (unsigned long long)hist_percentile(99.9),
               (unsigned long long)hist_max_us, n_connect_failed, n_refused, n_disconnects, n_protocol_errors,
               n_other_packets, errors, cpu_s);
    }
    return errors ? 1 : 0;
}
