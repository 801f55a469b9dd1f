/*
 * sendfile(2) for Node sockets, off the JavaScript thread.
 *
 * Node has no sendfile: serving a blob means reading it into buffers and writing them to the
 * socket from the one JavaScript thread, two copies per byte through user space. This addon
 * hands a (socket, file, offset, length) job to a small pool of sender threads that move the
 * bytes page cache → socket inside the kernel, and calls back on the JavaScript thread when
 * the job is done.
 *
 *   JS thread                         sender thread i (one epoll set each)
 *   send(sock, file, off, len, ...)
 *     dup both fds ──── job ────────▶ incoming queue ──eventfd──▶ ready queue
 *                                      step: sendfile ≤ SLICE bytes
 *                                        more to send, socket took it all → back of ready queue
 *                                        socket full (EAGAIN)  → epoll EPOLLOUT|ONESHOT, wait
 *                                        done / error / cancel / stalled → finish
 *   callback(err, sent)  ◀─ threadsafe fn ─┘
 *
 * Races this design closes:
 * - Node may close its socket (client reset, timeout) while a job runs, and the fd number can
 *   be reused at once by a new connection. The job therefore owns dups of both fds: the
 *   numbers it writes to can never name another connection or file, and it closes them itself.
 * - epoll keys registrations by (fd, open file description): a registration made through the
 *   dup would outlive a close of the dup while Node still holds the socket, and fire later for
 *   a freed job. A job deletes its registration before it closes its dup.
 * - Cancellation is a flag in an Int32Array the caller owns (kept alive by a reference until
 *   the callback): the thread reads it before every step and every 100 ms while waiting, so a
 *   cancelled job never sends again after the flag is seen.
 * - Fairness: one step sends at most SLICE bytes, then the job goes behind the others.
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
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/*
 * At most this much per sendfile call: less than a loopback socket's largest send buffer
 * (tcp_wmem's 4 MiB), as nginx's sendfile_max_chunk (2m). A call asking for the whole buffer
 * comes back short, and the job then sleeps until the kernel reports the socket writable again
 * — once the queue has drained well below full — while the reader catches up: with 4 MiB
 * slices one client's warm 256 MiB read ran at 0.85–1.00× nginx's MiB/s (7 alternating pairs),
 * with 2 MiB at 1.06–1.17× (3 pairs; 1 MiB: 0.98–1.17×, 7); 16 clients on a cold fill were no
 * slower.
 */
#define SLICE (2 << 20)
/*
 * The unsent bytes below which a BBR socket reports itself writable (TCP_NOTSENT_LOWAT). Under
 * BBR (these machines' default congestion control) a socket kept holding megabytes it has not
 * sent yet — a send step fills it to its 4 MiB buffer — left the client's receive buffer at its
 * initial 128 KiB (the kernel did not grow it, as it does for the registry's own sends) and
 * the client woke twice as often for the same bytes. With this low-water mark the client's
 * buffer grows to ≈ 1 MiB: one curl's warm 256 MiB read went from a median of 1395 to 2224 MiB/s,
 * and skopeo's cold pull of the bench's image from 1.30× to 1.21× a direct pull (medians of
 * eight alternating rotations). Under cubic the same mark cost ≈ 15 % of curl's rate, so only a
 * socket whose congestion control is bbr gets it (limit_unsent).
 */
#define NOTSENT_LOWAT (64 << 10)
#define MAX_SENDERS 4
#define WAKE_MS 100

typedef struct job {
  struct job *next;
  struct job *wait_prev, *wait_next;
  int sock, file;
  int registered;
  int64_t offset, remaining, sent;
  int64_t stall_ms, last_progress_ms;
  int32_t *cancel;
  int err;
  napi_ref callback, cancel_ref;
  napi_threadsafe_function tsfn;
} job_t;

typedef struct {
  int epfd, evfd;
  pthread_mutex_t lock;
  job_t *incoming_head, *incoming_tail;
} sender_t;

typedef struct {
  napi_threadsafe_function tsfn;
  int64_t active;
} env_state_t;

static sender_t senders[MAX_SENDERS];
static int sender_count;
static unsigned next_sender;
static pthread_once_t start_once = PTHREAD_ONCE_INIT;
static int start_error;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The kernel's TCP_CA_NAME_MAX, with room for the terminating zero. */
#define CC_NAME_MAX 16

/* A TCP socket's congestion control into `name` (zero-terminated); 0, or -1 for anything else. */
static int congestion_name(int sock, char name[CC_NAME_MAX]) {
  socklen_t len = CC_NAME_MAX - 1;
  memset(name, 0, CC_NAME_MAX);
  return getsockopt(sock, IPPROTO_TCP, TCP_CONGESTION, name, &len);
}

/* TCP_NOTSENT_LOWAT for a BBR socket (see NOTSENT_LOWAT); anything else is left as it is. */
static void limit_unsent(int sock) {
  char cc[CC_NAME_MAX];
  if (congestion_name(sock, cc) != 0 || strcmp(cc, "bbr") != 0) return;
  int lowat = NOTSENT_LOWAT;
  if (setsockopt(sock, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof lowat) != 0) { /* sent as before */ }
}

static void finish(sender_t *s, job_t *job, int err) {
  if (job->registered) epoll_ctl(s->epfd, EPOLL_CTL_DEL, job->sock, NULL);
  close(job->sock);
  close(job->file);
  job->err = err;
  if (napi_call_threadsafe_function(job->tsfn, job, napi_tsfn_nonblocking) != napi_ok) {
    /* The environment is gone: nobody is left to call back or to release the references. */
    free(job);
  }
}

static void wait_writable(sender_t *s, job_t *job, job_t **waiting) {
  struct epoll_event ev = {.events = EPOLLOUT | EPOLLONESHOT, .data.ptr = job};
  int op = job->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (epoll_ctl(s->epfd, op, job->sock, &ev) != 0) {
    finish(s, job, errno);
    return;
  }
  job->registered = 1;
  job->wait_prev = NULL;
  job->wait_next = *waiting;
  if (*waiting) (*waiting)->wait_prev = job;
  *waiting = job;
}

static void unwait(job_t *job, job_t **waiting) {
  if (job->wait_prev) job->wait_prev->wait_next = job->wait_next;
  else *waiting = job->wait_next;
  if (job->wait_next) job->wait_next->wait_prev = job->wait_prev;
  job->wait_prev = job->wait_next = NULL;
}

static int cancelled(job_t *job) { return __atomic_load_n(job->cancel, __ATOMIC_ACQUIRE) != 0; }

/* One step of a job: returns 1 when the job should go to the back of the ready queue. */
static int step(sender_t *s, job_t *job, job_t **waiting) {
  if (cancelled(job)) {
    finish(s, job, ECANCELED);
    return 0;
  }
  size_t want = job->remaining < SLICE ? (size_t)job->remaining : SLICE;
  off_t off = (off_t)job->offset;
  ssize_t n = sendfile(job->sock, job->file, &off, want);
  if (n > 0) {
    job->offset += n;
    job->sent += n;
    job->remaining -= n;
    job->last_progress_ms = now_ms();
    if (job->remaining == 0) finish(s, job, 0);
    else if ((size_t)n < want) wait_writable(s, job, waiting);
    else return 1;
    return 0;
  }
  if (n == 0) finish(s, job, 0); /* end of file: the caller sees sent < length */
  else if (errno == EAGAIN) wait_writable(s, job, waiting);
  else if (errno == EINTR) return 1;
  else finish(s, job, errno);
  return 0;
}

static void check_waiting(sender_t *s, job_t **waiting) {
  int64_t now = now_ms();
  job_t *job = *waiting;
  while (job) {
    job_t *next = job->wait_next;
    int stalled = job->stall_ms > 0 && now - job->last_progress_ms >= job->stall_ms;
    if (cancelled(job) || stalled) {
      unwait(job, waiting);
      finish(s, job, cancelled(job) ? ECANCELED : ETIMEDOUT);
    }
    job = next;
  }
}

static void *sender_main(void *arg) {
  sender_t *s = arg;
  // Named, so per-thread views (top -H, ps -L, /proc/<pid>/task/*/comm, perf) tell the bytes
  // this pool sends apart from Node's own threads, which are all "node".
  pthread_setname_np(pthread_self(), "regcache-send");
  job_t *ready_head = NULL, *ready_tail = NULL, *waiting = NULL;
  struct epoll_event events[64];
  int64_t last_check = now_ms();
  for (;;) {
    int timeout = ready_head ? 0 : (waiting ? WAKE_MS : -1);
    int n = epoll_wait(s->epfd, events, 64, timeout);
    for (int i = 0; i < n; i++) {
      job_t *job = events[i].data.ptr;
      if (job == NULL) {
        uint64_t count;
        if (read(s->evfd, &count, sizeof count) < 0) { /* spurious wake-up */ }
        pthread_mutex_lock(&s->lock);
        job_t *taken = s->incoming_head;
        s->incoming_head = s->incoming_tail = NULL;
        pthread_mutex_unlock(&s->lock);
        for (; taken; taken = job) {
          job = taken->next;
          taken->next = NULL;
          limit_unsent(taken->sock);
          if (ready_tail) ready_tail->next = taken;
          else ready_head = taken;
          ready_tail = taken;
        }
        continue;
      }
      unwait(job, &waiting);
      job->next = NULL;
      if (ready_tail) ready_tail->next = job;
      else ready_head = job;
      ready_tail = job;
    }
    if (waiting && now_ms() - last_check >= WAKE_MS) {
      check_waiting(s, &waiting);
      last_check = now_ms();
    }
    /* One round over the jobs ready now; the ones that want more go behind this round. */
    job_t *round = ready_head;
    ready_head = ready_tail = NULL;
    while (round) {
      job_t *job = round;
      round = job->next;
      job->next = NULL;
      if (step(s, job, &waiting)) {
        if (ready_tail) ready_tail->next = job;
        else ready_head = job;
        ready_tail = job;
      }
    }
  }
  return NULL;
}

static void start_senders(void) {
  /* One per core by default (at most MAX_SENDERS); REGCACHE_SENDFILE_THREADS overrides. */
  const char *wanted = getenv("REGCACHE_SENDFILE_THREADS");
  long cpus = wanted != NULL ? strtol(wanted, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
  sender_count = cpus < 1 ? 1 : (cpus > MAX_SENDERS ? MAX_SENDERS : (int)cpus);
  for (int i = 0; i < sender_count; i++) {
    sender_t *s = &senders[i];
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    s->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pthread_mutex_init(&s->lock, NULL);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (s->epfd < 0 || s->evfd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->evfd, &ev) != 0 ||
        pthread_create(&thread, &attr, sender_main, s) != 0) {
      start_error = errno ? errno : EAGAIN;
    }
    pthread_attr_destroy(&attr);
  }
}

static void submit(job_t *job) {
  sender_t *s = &senders[__atomic_fetch_add(&next_sender, 1, __ATOMIC_RELAXED) % (unsigned)sender_count];
  pthread_mutex_lock(&s->lock);
  if (s->incoming_tail) s->incoming_tail->next = job;
  else s->incoming_head = job;
  s->incoming_tail = job;
  pthread_mutex_unlock(&s->lock);
  uint64_t one = 1;
  if (write(s->evfd, &one, sizeof one) < 0) { /* the counter is already non-zero: the thread will wake */ }
}

#include "sendfile-js.h"
