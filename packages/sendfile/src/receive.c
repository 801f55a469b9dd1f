/*
 * A blob fill's receive loop on a thread of its own: read the upstream's body from a socket,
 * hash it (SHA-256, OpenSSL's, which Node exports), append it to the fill's temp file, and
 * report progress — no JavaScript per chunk.
 *
 * Through JavaScript each socket read is a callback, a stream hop, a hash call, a write
 * queued to the libuv pool and a promise: on a 2-core machine that was a third of a cold
 * pull's CPU in regcache's main thread, beside the hash and the kernel's copies that any
 * verified cache pays (see bench/NOTES.md, row 6).
 *
 *   JS thread                                   receive thread (one per job)
 *   receive(sock, file, prefix, length, …)
 *     dup both fds ─────────────────────────▶ hash + pwrite the prefix at 0
 *                                              loop: poll(sock, 100 ms) → read ≤ 1 MiB
 *                                                    hash, pwrite at `written`
 *                                                    written += n (published atomically)
 *   progress(written)  ◀── at most one queued ──┘  (every 1 MiB, or 20 ms after a byte)
 *   callback(errno, side, written, sha256, unwritten) ◀── once, when done or failed
 *
 * Races this design closes:
 * - The job reads and writes through dups of Node's descriptors: Node may close its socket or
 *   file at any time, and the numbers cannot come to name another connection or file.
 * - The caller stopped Node's reads of the socket (paused) before handing it over, and does not
 *   resume them: only this thread reads it, so no byte is read twice or lost.
 * - `written` only grows after a pwrite returned: a follower reading the temp file up to it
 *   never reads a hole. The last progress report comes before the final callback.
 * - The prefix is read in place from the caller's Buffer, held by a reference until the
 *   callback; the caller does not change it meanwhile.
 * - Cancellation is a flag in an Int32Array the caller owns (kept alive by a reference until
 *   the callback): seen before every read and every 100 ms while the socket is quiet.
 * - A write that fails leaves its bytes out of the file: they come back in `unwritten`, so the
 *   caller can hand them to its clients from memory (it re-hashes what is on disk itself).
 */
#define NAPI_VERSION 8
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define READ_MAX (1 << 20)
#define REPORT_EVERY (1 << 20)
#define REPORT_MS 20
#define POLL_MS 100

typedef struct {
  int64_t bytes, ms; /* last report: `written` then, and when */
} progress_t;

enum side { SIDE_NONE = 0, SIDE_UPSTREAM = 1, SIDE_DISK = 2, SIDE_CANCEL = 3 };

typedef struct {
  int sock, file;
  int64_t remaining, idle_ms;
  int32_t *cancel;
  uint8_t *prefix;
  size_t prefix_len;
  int64_t written;       /* bytes in the file (the thread's own count) */
  int64_t published;     /* `written` as progress reports read it (atomic) */
  int report_queued;     /* a progress report is queued and not yet run */
  int err, side;
  uint8_t *unwritten;
  size_t unwritten_len;
  char hex[65];
  napi_ref callback, progress, cancel_ref, prefix_ref;
  napi_threadsafe_function tsfn;
} rjob_t;

/* What the thread queues for the JavaScript thread: a progress report, or the end. */
static void *const MSG_PROGRESS = (void *)1;
static void *const MSG_DONE = (void *)2;

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int pwrite_all(int fd, const uint8_t *bytes, size_t length, int64_t offset) {
  while (length > 0) {
    ssize_t n = pwrite(fd, bytes, length, (off_t)offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    bytes += n;
    length -= (size_t)n;
    offset += n;
  }
  return 0;
}

/*
 * Tells the JavaScript thread how far the file has grown: after every REPORT_EVERY bytes, and
 * for fewer once they have waited REPORT_MS (a slow upstream's followers still see each byte
 * soon). At most one report is queued at a time; it reads `written` when it runs.
 */
static void report(rjob_t *job, progress_t *p) {
  __atomic_store_n(&job->published, job->written, __ATOMIC_RELEASE);
  int64_t unreported = job->written - p->bytes;
  if (unreported <= 0 || (unreported < REPORT_EVERY && mono_ms() - p->ms < REPORT_MS)) return;
  p->bytes = job->written;
  p->ms = mono_ms();
  if (__atomic_exchange_n(&job->report_queued, 1, __ATOMIC_ACQ_REL) == 0) {
    napi_call_threadsafe_function(job->tsfn, MSG_PROGRESS, napi_tsfn_nonblocking);
  }
}

/*
 * A piece the hash or the disk refused: a copy goes back to the caller, which serves it from
 * memory and reads the rest of the body itself. Without memory for the copy nobody can carry
 * the body on, and the job fails as a whole (side "upstream": the fill fails).
 */
static int refuse(rjob_t *job, const uint8_t *bytes, size_t length, int err) {
  if (length > 0) {
    job->unwritten = malloc(length);
    if (job->unwritten == NULL) return (job->side = SIDE_UPSTREAM, ENOMEM);
    memcpy(job->unwritten, bytes, job->unwritten_len = length);
  }
  job->side = SIDE_DISK;
  return err;
}

/* Hash and append one piece. */
static int append(rjob_t *job, EVP_MD_CTX *md, const uint8_t *bytes, size_t length) {
  if (EVP_DigestUpdate(md, bytes, length) != 1) return refuse(job, bytes, length, EINVAL);
  int err = pwrite_all(job->file, bytes, length, job->written);
  if (err != 0) return refuse(job, bytes, length, err);
  job->written += (int64_t)length;
  return 0;
}

/* Waits until the socket has bytes: 0, or an errno (ECANCELED, ETIMEDOUT, a poll error). */
static int await_bytes(rjob_t *job, progress_t *p, int64_t last_byte_ms) {
  for (;;) {
    if (__atomic_load_n(job->cancel, __ATOMIC_ACQUIRE) != 0) return (job->side = SIDE_CANCEL, ECANCELED);
    struct pollfd fd = {.fd = job->sock, .events = POLLIN};
    /* Bytes not yet reported: wake in time to report them. */
    int r = poll(&fd, 1, job->written > p->bytes ? REPORT_MS : POLL_MS);
    if (r > 0) return 0;
    if (r < 0 && errno != EINTR) return (job->side = SIDE_UPSTREAM, errno);
    report(job, p);
    if (job->idle_ms > 0 && mono_ms() - last_byte_ms >= job->idle_ms) return (job->side = SIDE_UPSTREAM, ETIMEDOUT);
  }
}

static int receive_body(rjob_t *job, EVP_MD_CTX *md, uint8_t *buffer) {
  progress_t progress = {.bytes = 0, .ms = mono_ms()};
  int64_t last_byte_ms = mono_ms();
  int err = job->prefix_len > 0 ? append(job, md, job->prefix, job->prefix_len) : 0;
  while (err == 0 && job->remaining > 0) {
    report(job, &progress);
    if ((err = await_bytes(job, &progress, last_byte_ms)) != 0) break;
    size_t want = job->remaining < READ_MAX ? (size_t)job->remaining : READ_MAX;
    ssize_t n = read(job->sock, buffer, want);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) {
      /* 0: the upstream closed the connection before the body's announced length. */
      job->side = SIDE_UPSTREAM;
      err = n < 0 ? errno : EPIPE;
      break;
    }
    last_byte_ms = mono_ms();
    job->remaining -= n;
    err = append(job, md, buffer, (size_t)n);
  }
  __atomic_store_n(&job->published, job->written, __ATOMIC_RELEASE);
  return err;
}

static void *receive_main(void *arg) {
  rjob_t *job = arg;
  pthread_setname_np(pthread_self(), "regcache-fill");
  uint8_t *buffer = malloc(READ_MAX);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  int err = (buffer == NULL || md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) ? ENOMEM : 0;
  if (err == 0) err = receive_body(job, md, buffer);
  else err = refuse(job, job->prefix, job->prefix_len, err);
  if (err == 0) {
    unsigned char digest[32];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(md, digest, &length) == 1 && length == 32) {
      for (int i = 0; i < 32; i++) {
        job->hex[2 * i] = "0123456789abcdef"[digest[i] >> 4];
        job->hex[2 * i + 1] = "0123456789abcdef"[digest[i] & 15];
      }
    } else {
      job->side = SIDE_DISK;
      err = EINVAL;
    }
  }
  job->err = err;
  EVP_MD_CTX_free(md);
  free(buffer);
  close(job->sock);
  close(job->file);
  /* The finaliser (receive-js.h) frees the job once this last call has run, or the environment is gone. */
  napi_call_threadsafe_function(job->tsfn, MSG_DONE, napi_tsfn_blocking);
  napi_release_threadsafe_function(job->tsfn, napi_tsfn_release);
  return NULL;
}

#include "receive-js.h"
