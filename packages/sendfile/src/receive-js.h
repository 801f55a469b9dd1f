/*
 * The JavaScript side of receive.c: argument checks, the job's references, and the calls back
 * on the JavaScript thread. Included by receive.c only (one translation unit).
 *
 *   receive(socketFd, fileFd, prefix: Buffer, length, idleMs, cancel: Int32Array,
 *           progress(written), callback(errno, side, written, sha256Hex, unwritten?))
 *
 * `length` counts the body bytes still in the socket (after `prefix`, which was read already).
 */

static void call_js(napi_env env, napi_value unused_js_cb, void *context, void *data) {
  (void)unused_js_cb;
  rjob_t *job = context;
  if (env == NULL) return;
  napi_value fn, global, argv[5];
  if (napi_get_global(env, &global) != napi_ok) return;
  if (data == MSG_PROGRESS) {
    __atomic_store_n(&job->report_queued, 0, __ATOMIC_RELEASE);
    if (napi_get_reference_value(env, job->progress, &fn) == napi_ok &&
        napi_create_int64(env, __atomic_load_n(&job->published, __ATOMIC_ACQUIRE), &argv[0]) == napi_ok) {
      napi_call_function(env, global, fn, 1, argv, NULL);
    }
    return;
  }
  if (napi_get_reference_value(env, job->callback, &fn) != napi_ok || napi_create_int32(env, job->err, &argv[0]) != napi_ok ||
      napi_create_int32(env, job->side, &argv[1]) != napi_ok || napi_create_int64(env, job->written, &argv[2]) != napi_ok ||
      napi_create_string_utf8(env, job->hex, job->err == 0 ? 64 : 0, &argv[3]) != napi_ok) {
    return;
  }
  if (job->unwritten == NULL) napi_get_undefined(env, &argv[4]);
  else if (napi_create_buffer_copy(env, job->unwritten_len, job->unwritten, NULL, &argv[4]) != napi_ok) return;
  napi_call_function(env, global, fn, 5, argv, NULL);
}

static void finalize_job(napi_env env, void *data, void *hint) {
  (void)hint;
  rjob_t *job = data;
  if (env != NULL) {
    napi_delete_reference(env, job->callback);
    napi_delete_reference(env, job->progress);
    napi_delete_reference(env, job->cancel_ref);
    napi_delete_reference(env, job->prefix_ref);
  }
  free(job->unwritten);
  free(job);
}

static napi_value receive_error(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_RECEIVE", message);
  return NULL;
}

static int take_args(napi_env env, napi_value *argv, rjob_t *job) {
  int32_t sock, file;
  void *prefix;
  size_t cells;
  napi_typedarray_type type;
  if (napi_get_value_int32(env, argv[0], &sock) != napi_ok || napi_get_value_int32(env, argv[1], &file) != napi_ok ||
      napi_get_buffer_info(env, argv[2], &prefix, &job->prefix_len) != napi_ok || napi_get_value_int64(env, argv[3], &job->remaining) != napi_ok ||
      napi_get_value_int64(env, argv[4], &job->idle_ms) != napi_ok || sock < 0 || file < 0 || job->remaining < 0 || job->idle_ms < 0) {
    return 0;
  }
  if (napi_get_typedarray_info(env, argv[5], &type, &cells, (void **)&job->cancel, NULL, NULL) != napi_ok || type != napi_int32_array || cells < 1) return 0;
  job->prefix = prefix;
  job->sock = fcntl(sock, F_DUPFD_CLOEXEC, 0);
  job->file = fcntl(file, F_DUPFD_CLOEXEC, 0);
  return job->sock >= 0 && job->file >= 0;
}

static napi_value js_receive(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8], name;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 8) return receive_error(env, "receive() takes 8 arguments");
  rjob_t *job = calloc(1, sizeof *job);
  if (job == NULL) return receive_error(env, "receive(): out of memory");
  job->sock = job->file = -1;
  pthread_t thread;
  pthread_attr_t attr;
  if (!take_args(env, argv, job) || napi_create_reference(env, argv[2], 1, &job->prefix_ref) != napi_ok ||
      napi_create_reference(env, argv[5], 1, &job->cancel_ref) != napi_ok ||
      napi_create_reference(env, argv[6], 1, &job->progress) != napi_ok || napi_create_reference(env, argv[7], 1, &job->callback) != napi_ok ||
      napi_create_string_utf8(env, "regcache-receive", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, job, finalize_job, job, call_js, &job->tsfn) != napi_ok) {
    if (job->sock >= 0) close(job->sock);
    if (job->file >= 0) close(job->file);
    if (job->prefix_ref != NULL) napi_delete_reference(env, job->prefix_ref);
    if (job->cancel_ref != NULL) napi_delete_reference(env, job->cancel_ref);
    if (job->progress != NULL) napi_delete_reference(env, job->progress);
    if (job->callback != NULL) napi_delete_reference(env, job->callback);
    free(job);
    return receive_error(env, "receive(): bad arguments or descriptors");
  }
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int started = pthread_create(&thread, &attr, receive_main, job);
  pthread_attr_destroy(&attr);
  if (started != 0) {
    close(job->sock);
    close(job->file);
    /* Releasing the only thread's claim runs finalize_job, which frees the job. */
    napi_release_threadsafe_function(job->tsfn, napi_tsfn_abort);
    return receive_error(env, "receive(): cannot start a thread");
  }
  return NULL;
}

int receive_init(napi_env env, napi_value exports) {
  napi_value fn;
  return napi_create_function(env, "receive", NAPI_AUTO_LENGTH, js_receive, NULL, &fn) == napi_ok &&
         napi_set_named_property(env, exports, "receive", fn) == napi_ok;
}
