/*
 * replay.c's clocks, and the connection helpers its event handlers share: closing, giving a
 * connection back to JavaScript, keeping bytes, and writing answers (what the socket does not
 * take is kept for EPOLLOUT). Included by replay.c only (one translation unit).
 */

static int64_t clock_ms(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* An IMF-fixdate (what JavaScript's toUTCString writes), for the second `sec`. */
static void format_date(int64_t sec, char out[DATE_LEN]) {
  static const char days[] = "SunMonTueWedThuFriSat", months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  time_t t = (time_t)sec;
  struct tm tm;
  gmtime_r(&t, &tm);
  char text[64];
  snprintf(text, sizeof text, "%.3s, %02d %.3s %04d %02d:%02d:%02d GMT", days + 3 * tm.tm_wday, tm.tm_mday, months + 3 * tm.tm_mon,
           (tm.tm_year + 1900) % 10000, tm.tm_hour, tm.tm_min, tm.tm_sec);
  memcpy(out, text, DATE_LEN);
}

/* ---- connections ---------------------------------------------------------------------- */

static void unlink_conn(loop_t *loop, conn_t *c) {
  if (c->prev != NULL) c->prev->next = c->next;
  else loop->conns = c->next;
  if (c->next != NULL) c->next->prev = c->prev;
}

/* Drops a connection from the loop's list and frees it (its descriptor is someone's: closed, or given back). */
static void forget_conn(loop_t *loop, conn_t *c) {
  unlink_conn(loop, c);
  free(c->in);
  free(c->out);
  free(c);
}

/* Closes a connection this loop owns; its thread's count in `loads` goes down (balance.ts). */
static void close_conn(loop_t *loop, conn_t *c) {
  epoll_ctl(loop->epoll, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  __atomic_sub_fetch(&loop->loads[loop->index], 1, __ATOMIC_ACQ_REL);
  forget_conn(loop, c);
}

/* Lets go of a connection: its descriptor and `bytes` (from the head it could not answer on) go to JavaScript. */
static void hand_back(loop_t *loop, conn_t *c, const uint8_t *bytes, size_t length) {
  miss_t *miss = malloc(sizeof *miss + length);
  if (miss == NULL) return close_conn(loop, c);
  epoll_ctl(loop->epoll, EPOLL_CTL_DEL, c->fd, NULL);
  miss->fd = c->fd;
  miss->learned = c->learned;
  miss->length = length;
  if (length > 0) memcpy(miss->bytes, bytes, length);
  forget_conn(loop, c);
  if (napi_call_threadsafe_function(loop->tsfn, miss, napi_tsfn_nonblocking) != napi_ok) {
    /* The JavaScript side is gone (stopping): nobody can serve it. */
    close(miss->fd);
    __atomic_sub_fetch(&loop->loads[loop->index], 1, __ATOMIC_ACQ_REL);
    free(miss);
  }
}

static int keep_bytes(uint8_t **to, uint32_t *to_len, const uint8_t *bytes, size_t length) {
  uint8_t *copy = length > 0 ? malloc(length) : NULL;
  if (length > 0 && copy == NULL) return 0;
  if (length > 0) memcpy(copy, bytes, length);
  free(*to);
  *to = copy;
  *to_len = (uint32_t)length;
  return 1;
}

static void want(loop_t *loop, conn_t *c, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  epoll_ctl(loop->epoll, EPOLL_CTL_MOD, c->fd, &ev);
}

/*
 * Writes the iovecs; what the socket does not take is copied to the connection's pending
 * output. 0 on success (all written or kept), else the connection is to be closed.
 */
static int flush(conn_t *c, struct iovec *iov, int count) {
  size_t total = 0;
  for (int i = 0; i < count; i++) total += iov[i].iov_len;
  if (total == 0) return 0;
  ssize_t n;
  do n = writev(c->fd, iov, count);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno != EAGAIN) return -1;
  size_t sent = n < 0 ? 0 : (size_t)n;
  if (sent == total) return 0;
  c->out = malloc(total - sent);
  if (c->out == NULL) return -1;
  c->out_len = 0;
  for (int i = 0; i < count; i++) {
    size_t skip = sent < iov[i].iov_len ? sent : iov[i].iov_len;
    sent -= skip;
    memcpy(c->out + c->out_len, (const uint8_t *)iov[i].iov_base + skip, iov[i].iov_len - skip);
    c->out_len += (uint32_t)(iov[i].iov_len - skip);
  }
  c->out_off = 0;
  return 0;
}
