/*
 * A front's replay loop on a thread of its own: it reads the connections it is given, and
 * answers each request head it has been taught — byte for byte the same head, within the
 * answer's generation and expiry — with the answer's prepared bytes (its Date header set to
 * this second). Anything else goes back to JavaScript: the connection's descriptor and every
 * byte read from that head on. No JavaScript runs for a taught request.
 *
 * Why: under a polling load (kubelets, CI runners: the same HEAD by tag all day) a front
 * thread spent ≈ 21 µs of CPU per request in node's stream layer and V8 entries, about what
 * nginx spends; this loop spends what the kernel's TCP work costs and little more (see
 * bench/NOTES.md, the HEAD row).
 *
 *   JS thread (a front's)                       replay thread (one per loop)
 *   adopt(fd, unread) ─── queue + eventfd ────▶ epoll: take the connection, process `unread`
 *   learn(head, answer bytes, …) ─── table ───▶ read → for each whole head (≤ 4 KiB):
 *                                                 taught, generation and expiry hold → writev
 *                                                 otherwise: flush what it wrote, let go of
 *   onMiss(fd, unread) ◀──── threadsafe fn ────   the descriptor and queue a miss
 *   take() ◀── hits and bytes per answer id, retired ids, request records (for the log)
 *
 * JavaScript decides every miss: it reads the head with its own rules, and either teaches the
 * loop and gives the connection back (adopt), or serves it itself / hands it to node:http.
 *
 * Races this design closes:
 * - A connection has one owner at a time. The loop lets go of a descriptor (epoll DEL) before
 *   it queues the miss, and only touches it again after a new adopt.
 * - A miss is handed over only once everything answered before it has left (pending output
 *   flushed): the next owner's answers come after this loop's.
 * - A taught answer is replayed only while the shared generation counter reads the value it was
 *   taught with: the main thread bumps it before any answer leaves its table, so a removal is
 *   seen here before the removal starts. Entries of an older generation are retired at once.
 * - Counts and records are kept per answer id under the table's lock; a retired id is reported
 *   once, after its last counts, so JavaScript can forget it.
 */
#define NAPI_VERSION 8
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "replay.h"
#include "replay-conn.h"

#define IOV_BATCH 48

/*
 * Whether a partial head can still become one the table knows: every taught head starts with
 * "GET /" or "HEAD /". Anything else (a TLS ClientHello — skopeo tries https first —, another
 * method, garbage) is a miss at once, for node:http to refuse now rather than at headersTimeout.
 */
static int may_be_taught(const uint8_t *bytes, size_t length) {
  size_t get = length < 5 ? length : 5, head = length < 6 ? length : 6;
  return memcmp(bytes, "GET /", get) == 0 || memcmp(bytes, "HEAD /", head) == 0;
}

/*
 * Answers the whole heads in `data` that the table knows, in order. Stops at the first it does
 * not (hand_back, once the answers before it have left), at a head not yet whole (kept for the
 * next read), or when the socket takes no more (the rest kept until it drains). Runs under the
 * table's lock: the iovecs point into its entries.
 */
static void process(loop_t *loop, conn_t *c, const uint8_t *data, size_t length) {
  struct iovec iov[IOV_BATCH];
  int count = 0, missed = 0, partial = 0;
  size_t at = 0;
  int64_t started = mono_us();
  while (at < length && !c->close_after) {
    const uint8_t *end = memmem(data + at, length - at, "\r\n\r\n", 4);
    if (end == NULL && length - at <= MAX_HEAD && may_be_taught(data + at, length - at)) {
      /* Not whole yet: kept, and read on. */
      if (flush(c, iov, count) != 0 || !keep_bytes(&c->in, &c->in_len, data + at, length - at)) return close_conn(loop, c);
      count = 0;
      /* A head that began in this read (after answers) is a new one; one at 0 may be the kept one continuing. */
      if (at > 0) c->partial_since = 0;
      at = length;
      partial = 1;
      break;
    }
    size_t head = end == NULL ? 0 : (size_t)(end + 4 - (data + at));
    entry_t *e = head == 0 || head > MAX_HEAD ? NULL : table_find(loop, data + at, head, c);
    if (e == NULL) {
      missed = 1;
      break;
    }
    table_count(loop, e, started);
    c->close_after = e->close;
    if (e->date_at >= 0) {
      iov[count++] = (struct iovec){e->response, (size_t)e->date_at};
      iov[count++] = (struct iovec){loop->date, DATE_LEN};
      iov[count++] = (struct iovec){e->response + e->date_at + DATE_LEN, e->response_len - (size_t)e->date_at - DATE_LEN};
    } else {
      iov[count++] = (struct iovec){e->response, e->response_len};
    }
    c->answered = 1;
    at += head;
    if (count + 3 > IOV_BATCH) {
      if (flush(c, iov, count) != 0) return close_conn(loop, c);
      count = 0;
      if (c->out != NULL) break; /* the socket is full: the rest waits for it to drain */
    }
  }
  if (flush(c, iov, count) != 0) return close_conn(loop, c);
  /*
   * As node:http: keepAliveTimeout after an answer; a head gets headersTimeout from its first
   * byte, however slowly the rest trickles in.
   */
  int64_t now = clock_ms(CLOCK_MONOTONIC);
  if (!partial) c->partial_since = 0;
  else if (c->partial_since == 0) c->partial_since = now;
  c->deadline = partial ? c->partial_since + loop->headers_ms : now + (c->answered ? loop->keep_alive_ms : loop->headers_ms);
  if (c->close_after) return c->out != NULL ? want(loop, c, EPOLLOUT) : close_conn(loop, c);
  if (at < length) {
    /* A miss, or heads the full socket must wait for: either way these bytes come next. */
    if (!keep_bytes(&c->in, &c->in_len, data + at, length - at)) return close_conn(loop, c);
    if (missed && c->out == NULL) return hand_back(loop, c, c->in, c->in_len);
    c->leaving = missed;
  }
  if (c->out != NULL) want(loop, c, EPOLLOUT);
}

/* The socket is readable: read after whatever partial head was kept, and answer. */
static void on_readable(loop_t *loop, conn_t *c) {
  size_t have = c->in_len; /* ≤ MAX_HEAD: heads kept for a drain are answered before reading again */
  if (have > 0) memcpy(loop->buffer, c->in, have);
  ssize_t n;
  do n = read(c->fd, loop->buffer + have, READ_BYTES);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN) return;
  if (n <= 0) return close_conn(loop, c);
  free(c->in);
  c->in = NULL;
  c->in_len = 0;
  process(loop, c, loop->buffer, have + (size_t)n);
}

/* The socket takes bytes again: write what was pending, then carry on with what was kept. */
static void on_writable(loop_t *loop, conn_t *c) {
  ssize_t n;
  do n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN) return;
  if (n <= 0) return close_conn(loop, c);
  c->out_off += (uint32_t)n;
  c->deadline = clock_ms(CLOCK_MONOTONIC) + loop->keep_alive_ms;
  if (c->out_off < c->out_len) return;
  free(c->out);
  c->out = NULL;
  if (c->close_after) return close_conn(loop, c);
  uint8_t *kept = c->in;
  size_t have = c->in_len;
  c->in = NULL;
  c->in_len = 0;
  if (c->leaving) hand_back(loop, c, kept, have);
  else {
    want(loop, c, EPOLLIN);
    if (have > 0) process(loop, c, kept, have);
  }
  free(kept);
}

/* Connections JavaScript gave (adopt): registered, then what was read with them is answered. */
static void take_adopted(loop_t *loop) {
  pthread_mutex_lock(&loop->queue_lock);
  adopt_t *list = loop->adopts;
  loop->adopts = NULL;
  pthread_mutex_unlock(&loop->queue_lock);
  /* The queue is last-in first: reversed, connections are taken in the order given. */
  adopt_t *ordered = NULL;
  while (list != NULL) {
    adopt_t *next = list->next;
    list->next = ordered;
    ordered = list;
    list = next;
  }
  for (adopt_t *a = ordered, *next; a != NULL; a = next) {
    next = a->next;
    conn_t *c = calloc(1, sizeof *c);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (c == NULL || epoll_ctl(loop->epoll, EPOLL_CTL_ADD, a->fd, &ev) != 0) {
      free(c);
      close(a->fd);
      __atomic_sub_fetch(&loop->loads[loop->index], 1, __ATOMIC_ACQ_REL);
      free(a);
      continue;
    }
    c->fd = a->fd;
    c->learned = a->learned;
    c->next = loop->conns;
    if (loop->conns != NULL) loop->conns->prev = c;
    loop->conns = c;
    c->deadline = clock_ms(CLOCK_MONOTONIC) + loop->headers_ms;
    if (a->length > 0) process(loop, c, a->bytes, a->length);
    free(a);
  }
}

/* Closes connections quiet past their deadline (headersTimeout before an answer, keepAliveTimeout after). */
static void expire(loop_t *loop, int64_t now) {
  for (conn_t *c = loop->conns, *next; c != NULL; c = next) {
    next = c->next;
    if (c->deadline <= now) close_conn(loop, c);
  }
}

static void *replay_main(void *arg) {
  loop_t *loop = arg;
  pthread_setname_np(pthread_self(), "regcache-replay");
  struct epoll_event events[64];
  int64_t next_scan = 0;
  while (!__atomic_load_n(&loop->stopping, __ATOMIC_ACQUIRE)) {
    int n = epoll_wait(loop->epoll, events, 64, SCAN_MS);
    int64_t now_ms = clock_ms(CLOCK_REALTIME);
    if (now_ms / 1000 != loop->date_second) {
      loop->date_second = now_ms / 1000;
      format_date(loop->date_second, loop->date);
    }
    loop->now_ms = now_ms;
    pthread_mutex_lock(&loop->lock);
    for (int i = 0; i < n; i++) {
      conn_t *c = events[i].data.ptr;
      if (c == NULL) {
        uint64_t ignored;
        if (read(loop->wake, &ignored, sizeof ignored) < 0) { /* nothing queued: a spurious wake-up */ }
        take_adopted(loop);
      } else if (events[i].events & EPOLLOUT) {
        on_writable(loop, c);
      } else {
        /* Handling one connection never closes another, so every pointer in this batch is live. */
        on_readable(loop, c);
      }
    }
    pthread_mutex_unlock(&loop->lock);
    int64_t mono = clock_ms(CLOCK_MONOTONIC);
    if (mono >= next_scan) {
      expire(loop, mono);
      next_scan = mono + SCAN_MS;
    }
  }
  /* Stopping: every connection held or still queued is closed (between requests all are idle). */
  pthread_mutex_lock(&loop->lock);
  take_adopted(loop);
  while (loop->conns != NULL) close_conn(loop, loop->conns);
  pthread_mutex_unlock(&loop->lock);
  return NULL;
}

#include "replay-table.h"
#include "replay-js.h"
