/* ws_load: a WebSocket echo load generator for scripts/bench (one thread, epoll, non-blocking sockets, libc only).
 *
 * Opens N connections to host:port, each with the WebSocket opening handshake (GET PATH, Upgrade: websocket) and
 * waits for every 101. Then each connection runs a closed loop for warm-up + duration seconds: send --inflight small
 * masked text frames (--payload bytes each), and send one more for every echo that comes back. Echoes received
 * after the warm-up are counted.
 *
 * Output: one JSON line on stdout, {"event": "done", "connections": N, "messages": M, "seconds": S, "rate": M/S,
 * "lost": L}; with --progress also {"event": "measuring"} and {"event": "measured"} around the measured window, so
 * a caller can sample the servers' CPU over exactly that time. Exit status 0 if every connection opened and none
 * was lost, 1 otherwise, 2 on bad usage or a setup failure.
 *
 *   gcc -O2 -o ws_load scripts/ws_load.c
 *   ws_load --port 8000 --connections 50 --duration 5 --warmup 1 [--payload 16] [--inflight 10] [--path /echo]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF 65536

typedef struct {
    int fd;
    int open;                 /* the 101 has come */
    int lost;
    char in[BUF];
    size_t in_len;
    long outstanding;
} Conn;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what) {
    fprintf(stderr, "ws_load: %s: %s\n", what, strerror(errno));
    exit(2);
}

static unsigned char frame[256];
static size_t frame_len;

static void make_frame(int payload) {
    /* One masked text frame, the same every time: a fixed key is fine for load (the server unmasks it anyway). */
    const unsigned char key[4] = {0x12, 0x34, 0x56, 0x78};
    frame[0] = 0x81;
    frame[1] = 0x80 | (unsigned char)payload;
    memcpy(frame + 2, key, 4);
    for (int i = 0; i < payload; i++) frame[6 + i] = (unsigned char)('a' + i % 26) ^ key[i & 3];
    frame_len = 6 + (size_t)payload;
}

static int send_frames(Conn *c, long n) {
    unsigned char buf[BUF];
    size_t len = 0;
    while (n > 0) {
        long k = 0;
        len = 0;
        while (n > 0 && len + frame_len <= sizeof buf) {
            memcpy(buf + len, frame, frame_len);
            len += frame_len;
            n--;
            k++;
        }
        size_t off = 0;
        while (off < len) {
            ssize_t w = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EAGAIN) continue;   /* small frames: the socket buffer empties at once */
                return -1;
            }
            off += (size_t)w;
        }
        c->outstanding += k;
    }
    return 0;
}

int main(int argc, char **argv) {
    int port = 0, nconn = 50, payload = 16, inflight = 10, progress = 0;
    double duration = 5, warmup = 1;
    const char *path = "/";
    static struct option opts[] = {
        {"port", 1, 0, 'p'}, {"connections", 1, 0, 'c'}, {"duration", 1, 0, 'd'}, {"warmup", 1, 0, 'w'},
        {"payload", 1, 0, 'l'}, {"inflight", 1, 0, 'i'}, {"path", 1, 0, 'P'}, {"progress", 0, 0, 'g'}, {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'p': port = atoi(optarg); break;
        case 'c': nconn = atoi(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 'l': payload = atoi(optarg); break;
        case 'i': inflight = atoi(optarg); break;
        case 'P': path = optarg; break;
        case 'g': progress = 1; break;
        default: return 2;
        }
    }
    if (!port || nconn < 1 || payload < 0 || payload > 125 || inflight < 1) {
        fprintf(stderr, "usage: ws_load --port P [--connections N] [--duration S] [--warmup S] [--payload 0..125] "
                        "[--inflight M] [--path /]\n");
        return 2;
    }
    make_frame(payload);
    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    Conn *conns = calloc((size_t)nconn, sizeof(Conn));
    char req[512];
    int reqlen = snprintf(req, sizeof req,
                          "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                          path, port);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    for (int i = 0; i < nconn; i++) {
        Conn *c = &conns[i];
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (c->fd < 0) die("socket");
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect");
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (send(c->fd, req, (size_t)reqlen, MSG_NOSIGNAL) != reqlen) die("send handshake");
        /* the 101, read blocking: the server answers at once */
        size_t got = 0;
        while (!strstr(c->in, "\r\n\r\n")) {
            ssize_t r = recv(c->fd, c->in + got, sizeof c->in - 1 - got, 0);
            if (r <= 0) die("handshake");
            got += (size_t)r;
            c->in[got] = 0;
        }
        if (strncmp(c->in, "HTTP/1.1 101", 12) != 0) {
            fprintf(stderr, "ws_load: no 101: %.60s\n", c->in);
            return 1;
        }
        char *end = strstr(c->in, "\r\n\r\n") + 4;
        c->in_len = got - (size_t)(end - c->in);
        memmove(c->in, end, c->in_len);
        c->open = 1;
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
    }
    for (int i = 0; i < nconn; i++)
        if (send_frames(&conns[i], inflight) < 0) conns[i].lost = 1;

    double start = now_s(), measure_from = start + warmup, stop = measure_from + duration;
    int measuring = 0;
    long counted = 0;
    struct epoll_event events[256];
    for (;;) {
        double t = now_s();
        if (!measuring && t >= measure_from) {
            measuring = 1;
            if (progress) { printf("{\"event\": \"measuring\"}\n"); fflush(stdout); }
        }
        if (t >= stop) break;
        int n = epoll_wait(ep, events, 256, 100);
        for (int k = 0; k < n; k++) {
            Conn *c = events[k].data.ptr;
            if (c->lost) continue;
            ssize_t r = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) continue;
                c->lost = 1;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                continue;
            }
            c->in_len += (size_t)r;
            /* whole unmasked frames from the server; every one is an echo */
            size_t pos = 0;
            long echoes = 0;
            while (c->in_len - pos >= 2) {
                unsigned char *f = (unsigned char *)c->in + pos;
                size_t len = f[1] & 0x7f, hl = 2;
                if (len == 126) { if (c->in_len - pos < 4) break; len = ((size_t)f[2] << 8) | f[3]; hl = 4; }
                else if (len == 127) { c->lost = 1; break; }
                if (c->in_len - pos < hl + len) break;
                if ((f[0] & 0x0f) == 8) { c->lost = 1; break; }     /* the server closed */
                pos += hl + len;
                echoes++;
            }
            memmove(c->in, c->in + pos, c->in_len - pos);
            c->in_len -= pos;
            c->outstanding -= echoes;
            if (measuring) counted += echoes;
            if (!c->lost && echoes && send_frames(c, echoes) < 0) c->lost = 1;
        }
    }
    double seconds = now_s() - measure_from;
    if (progress) { printf("{\"event\": \"measured\"}\n"); fflush(stdout); }
    int lost = 0;
    for (int i = 0; i < nconn; i++) { lost += conns[i].lost; close(conns[i].fd); }
    printf("{\"event\": \"done\", \"connections\": %d, \"messages\": %ld, \"seconds\": %.3f, \"rate\": %.1f, "
           "\"lost\": %d}\n", nconn, counted, seconds, counted / (seconds > 0 ? seconds : 1), lost);
    return lost ? 1 : 0;
}
