/*
 * The JavaScript side of replay.c. Included by replay.c only (one translation unit).
 *
 *   replayStart(generation: Int32Array, loads: Int32Array, index, headersMs, keepAliveMs,
 *               recording: boolean, onMiss(fd, unread: Buffer, learned)) → loop
 *   replayAdopt(loop, fd, unread: Buffer | undefined, learned) → boolean (false: stopped; the fd is still the caller's)
 *   replayLearn(loop, head: Buffer, response: Buffer, dateAt, id, bodyBytes, close, generation, expiresAt) → boolean
 *   replayTake(loop) → undefined | [counts: Float64Array (id, hits, bytes)…, retired: Int32Array, records: Float64Array (id, ms)…]
 *   replayStop(loop)  closes every connection it holds, ends the thread (idempotent); a take
 *                     after it still returns the last counts
 *
 * The loop lives until replayStop, the environment's teardown or the loop object's collection,
 * whichever comes first; its thread is joined there.
 */

static napi_value replay_error(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_REPLAY", message);
  return NULL;
}

static void call_miss(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)context;
  miss_t *miss = data;
  napi_value argv[3], global;
  /* The callback owns the descriptor from here (it never throws); if it cannot be called (teardown), nobody does. */
  if (env != NULL && napi_get_global(env, &global) == napi_ok && napi_create_int32(env, miss->fd, &argv[0]) == napi_ok &&
      napi_create_buffer_copy(env, miss->length, miss->bytes, NULL, &argv[1]) == napi_ok && napi_create_int32(env, miss->learned, &argv[2]) == napi_ok) {
    napi_call_function(env, global, js_cb, 3, argv, NULL);
  } else {
    close(miss->fd);
  }
  free(miss);
}

/* Ends the loop: its thread joined, its connections closed (the table is freed with the loop). Idempotent; JavaScript thread only. */
static void stop_loop(loop_t *loop) {
  if (loop->stopped) return;
  loop->stopped = 1;
  if (loop->started) {
    __atomic_store_n(&loop->stopping, 1, __ATOMIC_RELEASE);
    uint64_t one = 1;
    if (write(loop->wake, &one, sizeof one) < 0) { /* the counter is full: the loop is awake anyway */ }
    pthread_join(loop->thread, NULL);
  }
  for (adopt_t *a = loop->adopts, *next; a != NULL; a = next) {
    next = a->next;
    close(a->fd);
    free(a);
  }
  loop->adopts = NULL;
  if (loop->epoll >= 0) close(loop->epoll);
  if (loop->wake >= 0) close(loop->wake);
  free(loop->buffer);
  loop->buffer = NULL;
  /* The table stays until the loop is collected: the last counts are taken after the stop. */
  if (loop->tsfn != NULL) napi_release_threadsafe_function(loop->tsfn, napi_tsfn_release);
  if (loop->generation_ref != NULL) napi_delete_reference(loop->env, loop->generation_ref);
  if (loop->loads_ref != NULL) napi_delete_reference(loop->env, loop->loads_ref);
  loop->generation_ref = loop->loads_ref = NULL;
}

static void cleanup_hook(void *arg) { stop_loop(arg); }

static void finalize_loop(napi_env env, void *data, void *hint) {
  (void)hint;
  loop_t *loop = data;
  napi_remove_env_cleanup_hook(env, cleanup_hook, loop);
  stop_loop(loop);
  table_free(loop);
  pthread_mutex_destroy(&loop->lock);
  pthread_mutex_destroy(&loop->queue_lock);
  free(loop);
}

static loop_t *loop_of(napi_env env, napi_value value) {
  void *data = NULL;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external || napi_get_value_external(env, value, &data) != napi_ok) return NULL;
  return data;
}

static int32_t *cells_of(napi_env env, napi_value value, size_t at_least) {
  napi_typedarray_type type;
  size_t cells;
  void *data;
  if (napi_get_typedarray_info(env, value, &type, &cells, &data, NULL, NULL) != napi_ok || type != napi_int32_array || cells < at_least) return NULL;
  return data;
}

static int start_args(napi_env env, napi_value *argv, loop_t *loop) {
  bool recording;
  napi_valuetype fn_type;
  if (napi_get_value_int32(env, argv[2], &loop->index) != napi_ok || loop->index < 0 || napi_get_value_int64(env, argv[3], &loop->headers_ms) != napi_ok ||
      napi_get_value_int64(env, argv[4], &loop->keep_alive_ms) != napi_ok || napi_get_value_bool(env, argv[5], &recording) != napi_ok ||
      napi_typeof(env, argv[6], &fn_type) != napi_ok || fn_type != napi_function || loop->headers_ms <= 0 || loop->keep_alive_ms <= 0) {
    return 0;
  }
  loop->recording = recording;
  loop->generation = cells_of(env, argv[0], 1);
  loop->loads = cells_of(env, argv[1], (size_t)loop->index + 1);
  return loop->generation != NULL && loop->loads != NULL && napi_create_reference(env, argv[0], 1, &loop->generation_ref) == napi_ok &&
         napi_create_reference(env, argv[1], 1, &loop->loads_ref) == napi_ok;
}

static napi_value js_replay_start(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7], name, external;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 7) return replay_error(env, "replayStart() takes 7 arguments");
  loop_t *loop = calloc(1, sizeof *loop);
  if (loop == NULL) return replay_error(env, "replayStart(): out of memory");
  loop->env = env;
  loop->epoll = loop->wake = -1;
  pthread_mutex_init(&loop->lock, NULL);
  pthread_mutex_init(&loop->queue_lock, NULL);
  if (napi_create_external(env, loop, finalize_loop, NULL, &external) != napi_ok) {
    free(loop);
    return replay_error(env, "replayStart(): cannot wrap the loop");
  }
  loop->buffer = malloc(BUFFER_BYTES);
  loop->epoll = epoll_create1(EPOLL_CLOEXEC);
  loop->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (!start_args(env, argv, loop) || loop->buffer == NULL || loop->epoll < 0 || loop->wake < 0 ||
      epoll_ctl(loop->epoll, EPOLL_CTL_ADD, loop->wake, &ev) != 0 || napi_create_string_utf8(env, "regcache-replay", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, argv[6], NULL, name, 0, 1, NULL, NULL, NULL, call_miss, &loop->tsfn) != napi_ok ||
      napi_unref_threadsafe_function(env, loop->tsfn) != napi_ok) {
    stop_loop(loop);
    return replay_error(env, "replayStart(): bad arguments, or no epoll, eventfd or memory");
  }
  /*
   * Added after the threadsafe function: cleanup hooks run last-added first, so at the
   * environment's teardown this one joins the loop's thread before Node closes that function
   * (the thread must not call it after).
   */
  napi_add_env_cleanup_hook(env, cleanup_hook, loop);
  if (pthread_create(&loop->thread, NULL, replay_main, loop) != 0) {
    stop_loop(loop);
    return replay_error(env, "replayStart(): cannot start a thread");
  }
  loop->started = 1;
  return external;
}

static napi_value js_replay_adopt(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], result;
  loop_t *loop;
  int32_t fd, learned;
  void *bytes = NULL;
  size_t length = 0;
  napi_valuetype type;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4 || (loop = loop_of(env, argv[0])) == NULL ||
      napi_get_value_int32(env, argv[1], &fd) != napi_ok || fd < 0 || napi_get_value_int32(env, argv[3], &learned) != napi_ok ||
      napi_typeof(env, argv[2], &type) != napi_ok || (type != napi_undefined && napi_get_buffer_info(env, argv[2], &bytes, &length) != napi_ok)) {
    return replay_error(env, "replayAdopt(loop, fd, unread, learned): bad arguments");
  }
  if (loop->stopped) return napi_get_boolean(env, false, &result) == napi_ok ? result : NULL;
  adopt_t *a = malloc(sizeof *a + length);
  if (a == NULL) return replay_error(env, "replayAdopt(): out of memory");
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  a->fd = fd;
  a->learned = learned;
  a->length = length;
  if (length > 0) memcpy(a->bytes, bytes, length);
  pthread_mutex_lock(&loop->queue_lock);
  a->next = loop->adopts;
  loop->adopts = a;
  pthread_mutex_unlock(&loop->queue_lock);
  uint64_t one = 1;
  if (write(loop->wake, &one, sizeof one) < 0) { /* the counter is full: the loop is awake anyway */ }
  return napi_get_boolean(env, true, &result) == napi_ok ? result : NULL;
}

#include "replay-learn.h"

int replay_init(napi_env env, napi_value exports) {
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"replayStart", js_replay_start}, {"replayAdopt", js_replay_adopt}, {"replayLearn", js_replay_learn},
             {"replayTake", js_replay_take},   {"replayStop", js_replay_stop}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &fn) != napi_ok || napi_set_named_property(env, exports, fns[i].name, fn) != napi_ok) return 0;
  }
  return 1;
}
