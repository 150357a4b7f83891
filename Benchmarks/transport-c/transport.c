/*
 * transport-c: the plain-C libuv baseline of the Chorus transport benchmark.
 *
 * It speaks the same peer protocol and takes the same command line as the
 * Swift peer `chorus-transport-bench`, so `scripts/bench transport` can run
 * both and compare them.
 *
 * Frame = 8-byte header + payload.
 *   header: 0xC4 0x0F (magic), 0x01 (version), 0x7F (type),
 *           payload length as 4 bytes big-endian.
 *   payload: first 8 bytes = sender's CLOCK_MONOTONIC time in ns
 *            (little-endian uint64), the rest filler.
 *
 *   transport-c receive --listen HOST:PORT --frames N
 *   transport-c send    --connect HOST:PORT --frames N [--size 200] [--rate R]
 *
 * The receiver prints one JSON line when N frames have arrived:
 *   {"impl":"c","frames":N,"bytes":B,"seconds":S,"frames_per_s":F,
 *    "mb_per_s":M,"p50_us":P50,"p99_us":P99}
 *
 * Written for throughput the way a libuv programmer would: the sender packs
 * many frames into 64 KiB buffers (one uv_write each) from a recycled pool and
 * keeps at most a few MiB queued in libuv, refilling from the write callback;
 * the receiver reads into a 256 KiB buffer and parses every whole frame of a
 * read in one pass, carrying a split frame over to the next read.
 *
 * Build: gcc -O2 -o transport-c transport.c $(pkg-config --cflags --libs libuv)
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#define HEADER_SIZE 8
#define MAGIC0 0xC4
#define MAGIC1 0x0F
#define VERSION 0x01
#define FRAME_TYPE 0x7F
#define DEFAULT_FRAME_SIZE 200
#define MAX_PAYLOAD (16u * 1024u * 1024u)

#define READ_BUFFER_SIZE (256u * 1024u)
#define WRITE_BUFFER_SIZE (64u * 1024u)
/* Backpressure: at most this many bytes waiting in libuv's write queue ... */
#define MAX_QUEUED_BYTES (4u * 1024u * 1024u)
/* ... and at most this many write requests in flight (a write that completed
 * synchronously still holds its buffer until its callback runs). */
#define MAX_INFLIGHT_WRITES 64
#define CONNECT_RETRY_MS 20
#define CONNECT_DEADLINE_MS 5000

static int exit_code = 0;

static void die_uv(const char *what, int err) {
    fprintf(stderr, "transport-c: %s: %s\n", what, uv_strerror(err));
    exit(1);
}

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void parse_hostport(const char *s, struct sockaddr_in *addr) {
    const char *colon = strrchr(s, ':');
    if (colon == NULL) {
        fprintf(stderr, "transport-c: expected HOST:PORT, got '%s'\n", s);
        exit(64);
    }
    char host[256];
    size_t n = (size_t)(colon - s);
    if (n == 0 || n >= sizeof host) {
        fprintf(stderr, "transport-c: bad host in '%s'\n", s);
        exit(64);
    }
    memcpy(host, s, n);
    host[n] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port <= 0 || port > 65535) {
        fprintf(stderr, "transport-c: bad port in '%s'\n", s);
        exit(64);
    }
    int err = uv_ip4_addr(host, (int)port, addr);
    if (err) die_uv("address", err);
}

/* ---------------------------------------------------------------------------
 * Latency histogram: log-linear, 128 sub-buckets per power of two (< 0.8%
 * relative error), values in nanoseconds. Recording is a clz and an add.
 */
#define SUB_BITS 7
#define SUB_COUNT (1u << SUB_BITS)
#define BUCKETS (SUB_COUNT + (64 - SUB_BITS) * SUB_COUNT)

static uint64_t histogram[BUCKETS];

static inline unsigned bucket_of(uint64_t v) {
    if (v < SUB_COUNT) return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - SUB_BITS;
    return SUB_COUNT + shift * SUB_COUNT + (unsigned)((v >> shift) - SUB_COUNT);
}

/* Midpoint of a bucket's range. */
static double bucket_value(unsigned idx) {
    if (idx < 2 * SUB_COUNT) return (double)idx;
    unsigned shift = (idx - SUB_COUNT) / SUB_COUNT;
    uint64_t m = SUB_COUNT + (idx - SUB_COUNT) % SUB_COUNT;
    return (double)(m << shift) + (double)(1ull << shift) / 2.0;
}

static double percentile_ns(uint64_t total, double p) {
    if (total == 0) return 0.0;
    uint64_t rank = (uint64_t)(p * (double)total + 0.5);
    if (rank < 1) rank = 1;
    if (rank > total) rank = total;
    uint64_t seen = 0;
    for (unsigned i = 0; i < BUCKETS; i++) {
        seen += histogram[i];
        if (seen >= rank) return bucket_value(i);
    }
    return bucket_value(BUCKETS - 1);
}

/* ---------------------------------------------------------------------------
 * Receiver
 */
static struct {
    uv_tcp_t listener;
    uv_tcp_t conn;
    int accepted;
    uint64_t frames_wanted;
    uint64_t frames;
    uint64_t bytes;
    uint64_t first_ns;
    uint64_t last_ns;
    uint8_t *buf;
    size_t cap;
    size_t len; /* bytes of an unfinished frame kept at the start of buf */
    int done;
} rx;

static void rx_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out) {
    (void)h;
    (void)suggested;
    *out = uv_buf_init((char *)rx.buf + rx.len, (unsigned)(rx.cap - rx.len));
}

static void rx_finish(void) {
    rx.done = 1;
    uv_read_stop((uv_stream_t *)&rx.conn);
    uv_close((uv_handle_t *)&rx.conn, NULL);

    double seconds = (double)(rx.last_ns - rx.first_ns) / 1e9;
    double fps = seconds > 0 ? (double)rx.frames / seconds : 0.0;
    double mbps = seconds > 0 ? (double)rx.bytes / seconds / 1e6 : 0.0;
    double p50 = percentile_ns(rx.frames, 0.50) / 1e3;
    double p99 = percentile_ns(rx.frames, 0.99) / 1e3;
    printf("{\"impl\":\"c\",\"frames\":%" PRIu64 ",\"bytes\":%" PRIu64
           ",\"seconds\":%.6f,\"frames_per_s\":%.1f,\"mb_per_s\":%.2f"
           ",\"p50_us\":%.2f,\"p99_us\":%.2f}\n",
           rx.frames, rx.bytes, seconds, fps, mbps, p50, p99);
    fflush(stdout);
}

static void rx_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b) {
    (void)b;
    if (rx.done) return;
    if (nread < 0) {
        if (nread == UV_EOF)
            fprintf(stderr, "transport-c: peer closed after %" PRIu64 " of %" PRIu64 " frames\n",
                    rx.frames, rx.frames_wanted);
        else
            fprintf(stderr, "transport-c: read: %s\n", uv_strerror((int)nread));
        exit_code = 1;
        uv_close((uv_handle_t *)s, NULL);
        return;
    }
    if (nread == 0) return;

    /* Every frame completed by this read arrived now: one clock read per read. */
    uint64_t now = now_ns();
    size_t avail = rx.len + (size_t)nread;
    const uint8_t *p = rx.buf;
    uint64_t before = rx.frames;

    while (avail >= HEADER_SIZE) {
        if (p[0] != MAGIC0 || p[1] != MAGIC1 || p[2] != VERSION || p[3] != FRAME_TYPE) {
            fprintf(stderr, "transport-c: bad frame header %02x %02x %02x %02x after %" PRIu64 " frames\n",
                    p[0], p[1], p[2], p[3], rx.frames);
            exit(2);
        }
        uint32_t plen = ((uint32_t)p[4] << 24) | ((uint32_t)p[5] << 16) | ((uint32_t)p[6] << 8) | (uint32_t)p[7];
        if (plen < 8 || plen > MAX_PAYLOAD) {
            fprintf(stderr, "transport-c: bad payload length %" PRIu32 " after %" PRIu64 " frames\n",
                    plen, rx.frames);
            exit(2);
        }
        size_t flen = HEADER_SIZE + (size_t)plen;
        if (avail < flen) {
            if (flen > rx.cap) { /* a frame larger than the buffer: grow it */
                size_t cap = rx.cap;
                while (cap < flen) cap *= 2;
                memmove(rx.buf, p, avail);
                uint8_t *nb = realloc(rx.buf, cap);
                if (nb == NULL) { fprintf(stderr, "transport-c: out of memory\n"); exit(1); }
                rx.buf = nb;
                p = nb;
                rx.cap = cap;
            }
            break;
        }
        uint64_t sent;
        memcpy(&sent, p + HEADER_SIZE, sizeof sent);
        sent = le64toh(sent);
        uint64_t latency = now > sent ? now - sent : 0;
        histogram[bucket_of(latency)]++;
        rx.frames++;
        rx.bytes += flen;
        p += flen;
        avail -= flen;
        if (rx.frames == rx.frames_wanted) break;
    }

    if (rx.frames != before) {
        if (before == 0) rx.first_ns = now;
        rx.last_ns = now;
    }
    if (rx.frames == rx.frames_wanted) {
        rx_finish();
        return;
    }
    /* Keep the unfinished frame (< one frame of bytes) at the start. */
    if (p != rx.buf && avail > 0) memmove(rx.buf, p, avail);
    rx.len = avail;
}

static void rx_connection(uv_stream_t *server, int status) {
    if (status < 0) die_uv("listen", status);
    if (rx.accepted) return; /* one connection only; others wait in the backlog */
    int err = uv_tcp_init(server->loop, &rx.conn);
    if (err) die_uv("tcp init", err);
    err = uv_accept(server, (uv_stream_t *)&rx.conn);
    if (err) die_uv("accept", err);
    rx.accepted = 1;
    uv_close((uv_handle_t *)&rx.listener, NULL);
    err = uv_read_start((uv_stream_t *)&rx.conn, rx_alloc, rx_read);
    if (err) die_uv("read start", err);
}

static int run_receive(const char *listen, uint64_t frames) {
    uv_loop_t *loop = uv_default_loop();
    struct sockaddr_in addr;
    parse_hostport(listen, &addr);
    rx.frames_wanted = frames;
    rx.cap = READ_BUFFER_SIZE;
    rx.buf = malloc(rx.cap);
    if (rx.buf == NULL) { fprintf(stderr, "transport-c: out of memory\n"); return 1; }

    int err = uv_tcp_init(loop, &rx.listener);
    if (err) die_uv("tcp init", err);
    err = uv_tcp_bind(&rx.listener, (const struct sockaddr *)&addr, 0);
    if (err) die_uv("bind", err);
    err = uv_listen((uv_stream_t *)&rx.listener, 16, rx_connection);
    if (err) die_uv("listen", err);

    uv_run(loop, UV_RUN_DEFAULT);
    if (!rx.done && exit_code == 0) exit_code = 1;
    uv_loop_close(loop);
    free(rx.buf);
    return exit_code;
}

/* ---------------------------------------------------------------------------
 * Sender
 */
typedef struct out_buffer {
    uv_write_t req;
    struct out_buffer *next;
    uint8_t data[WRITE_BUFFER_SIZE];
} out_buffer;

static struct {
    uv_loop_t *loop;
    uv_tcp_t *conn;
    uv_timer_t retry_timer;
    uv_timer_t rate_timer;
    uv_connect_t connect_req;
    uv_shutdown_t shutdown_req;
    struct sockaddr_in addr;
    uint64_t connect_deadline_ns;
    uint64_t frames_wanted;
    uint64_t frames_queued;
    size_t frame_size;
    size_t frames_per_buffer;
    double rate; /* frames per second; 0 = as fast as possible */
    uint64_t start_ns;
    out_buffer *free_list;
    int inflight;
    int rate_timer_running;
    int shutting_down;
} tx;

static out_buffer *tx_take_buffer(void) {
    out_buffer *b = tx.free_list;
    if (b != NULL) {
        tx.free_list = b->next;
        return b;
    }
    b = malloc(sizeof *b);
    if (b == NULL) { fprintf(stderr, "transport-c: out of memory\n"); exit(1); }
    /* Filler once per buffer: headers and timestamps are written per frame. */
    memset(b->data, 0xA5, sizeof b->data);
    return b;
}

/* Writes `count` frames into `dst`, each stamped with `stamp`. */
static size_t tx_fill(uint8_t *dst, size_t count, uint64_t stamp) {
    uint32_t plen = (uint32_t)(tx.frame_size - HEADER_SIZE);
    uint8_t header[HEADER_SIZE] = {MAGIC0, MAGIC1, VERSION, FRAME_TYPE,
                                   (uint8_t)(plen >> 24), (uint8_t)(plen >> 16),
                                   (uint8_t)(plen >> 8), (uint8_t)plen};
    uint64_t le = htole64(stamp);
    uint8_t *p = dst;
    for (size_t i = 0; i < count; i++) {
        memcpy(p, header, HEADER_SIZE);
        memcpy(p + HEADER_SIZE, &le, sizeof le);
        p += tx.frame_size;
    }
    return (size_t)(p - dst);
}

static void tx_maybe_shutdown(void);
static void tx_pump(void);

static int tx_has_room(void) {
    return tx.inflight < MAX_INFLIGHT_WRITES &&
           uv_stream_get_write_queue_size((uv_stream_t *)tx.conn) < MAX_QUEUED_BYTES;
}

static void tx_written(uv_write_t *req, int status) {
    out_buffer *b = (out_buffer *)req;
    tx.inflight--;
    b->next = tx.free_list;
    tx.free_list = b;
    if (status < 0) {
        fprintf(stderr, "transport-c: write: %s\n", uv_strerror(status));
        exit(1);
    }
    if (tx.rate == 0) tx_pump();
    tx_maybe_shutdown();
}

/* Queues up to `count` frames (fewer if backpressure stops it); returns how many. */
static uint64_t tx_send(uint64_t count) {
    uint64_t sent = 0;
    while (sent < count && tx_has_room()) {
        uint64_t n = count - sent;
        if (n > tx.frames_per_buffer) n = tx.frames_per_buffer;
        out_buffer *b = tx_take_buffer();
        size_t len = tx_fill(b->data, (size_t)n, now_ns());
        uv_buf_t buf = uv_buf_init((char *)b->data, (unsigned)len);
        int err = uv_write(&b->req, (uv_stream_t *)tx.conn, &buf, 1, tx_written);
        if (err) die_uv("write", err);
        tx.inflight++;
        sent += n;
    }
    tx.frames_queued += sent;
    return sent;
}

/* As fast as possible: fill until backpressure, resume from the write callback. */
static void tx_pump(void) {
    if (tx.frames_queued < tx.frames_wanted) tx_send(tx.frames_wanted - tx.frames_queued);
}

static void tx_closed(uv_handle_t *h) { (void)h; }

static void tx_shutdown_done(uv_shutdown_t *req, int status) {
    if (status < 0) {
        fprintf(stderr, "transport-c: shutdown: %s\n", uv_strerror(status));
        exit_code = 1;
    }
    uv_close((uv_handle_t *)req->handle, tx_closed);
}

static void tx_maybe_shutdown(void) {
    if (tx.shutting_down || tx.frames_queued < tx.frames_wanted || tx.inflight > 0) return;
    tx.shutting_down = 1;
    if (tx.rate_timer_running) uv_close((uv_handle_t *)&tx.rate_timer, NULL);
    int err = uv_shutdown(&tx.shutdown_req, (uv_stream_t *)tx.conn, tx_shutdown_done);
    if (err) die_uv("shutdown", err);
}

/* Fixed rate: every 1 ms send the frames due since the start (the remainder
 * carries over, and a late tick catches up). */
static void tx_tick(uv_timer_t *t) {
    (void)t;
    if (tx.frames_queued >= tx.frames_wanted) return;
    uint64_t elapsed = now_ns() - tx.start_ns;
    uint64_t due = (uint64_t)(tx.rate * ((double)elapsed / 1e9));
    if (due > tx.frames_wanted) due = tx.frames_wanted;
    if (due > tx.frames_queued) tx_send(due - tx.frames_queued);
    tx_maybe_shutdown();
}

static void tx_start(void) {
    int err = uv_tcp_nodelay(tx.conn, 1);
    if (err) die_uv("nodelay", err);
    tx.start_ns = now_ns();
    if (tx.frames_wanted == 0) {
        tx_maybe_shutdown();
        return;
    }
    if (tx.rate > 0) {
        err = uv_timer_init(tx.loop, &tx.rate_timer);
        if (err) die_uv("timer init", err);
        err = uv_timer_start(&tx.rate_timer, tx_tick, 1, 1);
        if (err) die_uv("timer start", err);
        tx.rate_timer_running = 1;
    } else {
        tx_pump();
    }
}

static void tx_connect(void);

static void tx_retry(uv_timer_t *t) {
    (void)t;
    tx_connect();
}

static void tx_free_handle(uv_handle_t *h) { free(h); }

static void tx_connected(uv_connect_t *req, int status) {
    (void)req;
    if (status == 0) {
        uv_close((uv_handle_t *)&tx.retry_timer, NULL);
        tx_start();
        return;
    }
    uv_close((uv_handle_t *)tx.conn, tx_free_handle);
    tx.conn = NULL;
    if ((status == UV_ECONNREFUSED || status == UV_ECONNRESET || status == UV_ETIMEDOUT) &&
        now_ns() < tx.connect_deadline_ns) {
        int err = uv_timer_start(&tx.retry_timer, tx_retry, CONNECT_RETRY_MS, 0);
        if (err) die_uv("timer start", err);
        return;
    }
    uv_close((uv_handle_t *)&tx.retry_timer, NULL);
    fprintf(stderr, "transport-c: connect: %s\n", uv_strerror(status));
    exit_code = 1;
}

static void tx_connect(void) {
    tx.conn = malloc(sizeof *tx.conn);
    if (tx.conn == NULL) { fprintf(stderr, "transport-c: out of memory\n"); exit(1); }
    int err = uv_tcp_init(tx.loop, tx.conn);
    if (err) die_uv("tcp init", err);
    err = uv_tcp_connect(&tx.connect_req, tx.conn, (const struct sockaddr *)&tx.addr, tx_connected);
    if (err) die_uv("connect", err);
}

static int run_send(const char *connect, uint64_t frames, size_t size, double rate) {
    tx.loop = uv_default_loop();
    parse_hostport(connect, &tx.addr);
    tx.frames_wanted = frames;
    tx.frame_size = size;
    tx.frames_per_buffer = WRITE_BUFFER_SIZE / size;
    if (tx.frames_per_buffer == 0) {
        fprintf(stderr, "transport-c: --size must be at most %u\n", WRITE_BUFFER_SIZE);
        return 64;
    }
    tx.rate = rate;
    tx.connect_deadline_ns = now_ns() + (uint64_t)CONNECT_DEADLINE_MS * 1000000ull;
    int err = uv_timer_init(tx.loop, &tx.retry_timer);
    if (err) die_uv("timer init", err);
    tx_connect();
    uv_run(tx.loop, UV_RUN_DEFAULT);
    if (exit_code == 0 && !tx.shutting_down) exit_code = 1;
    uv_loop_close(tx.loop);
    while (tx.free_list != NULL) {
        out_buffer *b = tx.free_list;
        tx.free_list = b->next;
        free(b);
    }
    free(tx.conn);
    return exit_code;
}

/* ---------------------------------------------------------------------------
 * Command line
 */
static void usage(void) {
    fprintf(stderr,
            "usage: transport-c receive --listen HOST:PORT --frames N\n"
            "       transport-c send --connect HOST:PORT --frames N [--size 200] [--rate R]\n");
    exit(64);
}

static uint64_t parse_u64(const char *name, const char *s) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || s[0] == '-' || s[0] == '\0') {
        fprintf(stderr, "transport-c: %s: not a number: '%s'\n", name, s);
        exit(64);
    }
    return (uint64_t)v;
}

int main(int argc, char **argv) {
    if (argc < 2) usage();
    const char *mode = argv[1];
    const char *listen = NULL, *connect = NULL;
    uint64_t frames = 0, size = DEFAULT_FRAME_SIZE, rate = 0;
    int have_frames = 0;
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i];
        if (i + 1 >= argc) usage();
        const char *val = argv[++i];
        if (strcmp(opt, "--listen") == 0) listen = val;
        else if (strcmp(opt, "--connect") == 0) connect = val;
        else if (strcmp(opt, "--frames") == 0) { frames = parse_u64(opt, val); have_frames = 1; }
        else if (strcmp(opt, "--size") == 0) size = parse_u64(opt, val);
        else if (strcmp(opt, "--rate") == 0) rate = parse_u64(opt, val);
        else usage();
    }
    if (!have_frames) usage();
    if (strcmp(mode, "receive") == 0) {
        if (listen == NULL || frames == 0) usage();
        return run_receive(listen, frames);
    }
    if (strcmp(mode, "send") == 0) {
        if (connect == NULL) usage();
        if (size < HEADER_SIZE + 8 || size - HEADER_SIZE > MAX_PAYLOAD) {
            fprintf(stderr, "transport-c: --size must be at least %d (header + timestamp)\n", HEADER_SIZE + 8);
            return 64;
        }
        return run_send(connect, frames, (size_t)size, (double)rate);
    }
    usage();
    return 64;
}
