/*
 * The JavaScript side of sendfile.c: argument checks, the job's references, and the call back
 * on the JavaScript thread. Included by sendfile.c only (one translation unit).
 *
 *   send(socketFd, fileFd, offset, length, stallMs, cancel: Int32Array, callback(errno, sent))
 */

static void call_back(napi_env env, napi_value unused_js_cb, void *context, void *data) {
  (void)unused_js_cb;
  env_state_t *state = context;
  job_t *job = data;
  if (env != NULL) {
    napi_value callback, global, argv[2];
    if (napi_get_reference_value(env, job->callback, &callback) == napi_ok && napi_get_global(env, &global) == napi_ok &&
        napi_create_int32(env, job->err, &argv[0]) == napi_ok && napi_create_int64(env, job->sent, &argv[1]) == napi_ok) {
      napi_call_function(env, global, callback, 2, argv, NULL);
    }
    napi_delete_reference(env, job->callback);
    napi_delete_reference(env, job->cancel_ref);
    if (--state->active == 0) napi_unref_threadsafe_function(env, state->tsfn);
  }
  free(job);
}

static napi_value throw_error(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_SENDFILE", message);
  return NULL;
}

static int dup_fd(int fd) { return fcntl(fd, F_DUPFD_CLOEXEC, 0); }

static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  env_state_t *state;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&state) != napi_ok || argc != 7) return throw_error(env, "send() takes 7 arguments");
  int32_t sock, file;
  int64_t offset, length, stall_ms;
  if (napi_get_value_int32(env, argv[0], &sock) != napi_ok || napi_get_value_int32(env, argv[1], &file) != napi_ok ||
      napi_get_value_int64(env, argv[2], &offset) != napi_ok || napi_get_value_int64(env, argv[3], &length) != napi_ok ||
      napi_get_value_int64(env, argv[4], &stall_ms) != napi_ok || sock < 0 || file < 0 || offset < 0 || length <= 0) {
    return throw_error(env, "send(): bad descriptor, offset or length");
  }
  napi_typedarray_type type;
  size_t cells;
  void *cancel;
  if (napi_get_typedarray_info(env, argv[5], &type, &cells, &cancel, NULL, NULL) != napi_ok || type != napi_int32_array || cells < 1) {
    return throw_error(env, "send(): cancel must be an Int32Array");
  }
  pthread_once(&start_once, start_senders);
  if (start_error != 0) return throw_error(env, "send(): sender threads could not start");
  job_t *job = calloc(1, sizeof *job);
  if (job == NULL) return throw_error(env, "send(): out of memory");
  job->sock = dup_fd(sock);
  job->file = dup_fd(file);
  if (job->sock < 0 || job->file < 0 || napi_create_reference(env, argv[6], 1, &job->callback) != napi_ok ||
      napi_create_reference(env, argv[5], 1, &job->cancel_ref) != napi_ok) {
    if (job->sock >= 0) close(job->sock);
    if (job->file >= 0) close(job->file);
    free(job);
    return throw_error(env, "send(): cannot take the descriptors");
  }
  job->offset = offset;
  job->remaining = length;
  job->stall_ms = stall_ms;
  job->last_progress_ms = now_ms();
  job->cancel = cancel;
  job->tsfn = state->tsfn;
  if (state->active++ == 0) napi_ref_threadsafe_function(env, state->tsfn);
  submit(job);
  return NULL;
}

/* dup(fd): a second descriptor of the same open socket or file (close-on-exec), or -errno. */
static napi_value js_dup(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    return throw_error(env, "dup(): bad descriptor");
  }
  int copy = dup_fd(fd);
  napi_create_int32(env, copy < 0 ? -errno : copy, &result);
  return result;
}

/* tcpTuning(fd): [congestion control name, TCP_NOTSENT_LOWAT] of a TCP socket, or undefined. */
static napi_value js_tcp_tuning(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result, name, lowat_value;
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    return throw_error(env, "tcpTuning(): bad descriptor");
  }
  char cc[CC_NAME_MAX];
  int lowat = 0;
  socklen_t lowat_len = sizeof lowat;
  if (congestion_name(fd, cc) != 0 || getsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, &lowat_len) != 0) {
    napi_get_undefined(env, &result);
    return result;
  }
  if (napi_create_array_with_length(env, 2, &result) != napi_ok || napi_create_string_utf8(env, cc, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_uint32(env, (uint32_t)lowat, &lowat_value) != napi_ok || napi_set_element(env, result, 0, name) != napi_ok ||
      napi_set_element(env, result, 1, lowat_value) != napi_ok) {
    return throw_error(env, "tcpTuning(): cannot build the result");
  }
  return result;
}

static void free_state(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  /* The threadsafe function is left to Node's own teardown; jobs still running find it closing. */
  free(data);
}

/* receive.c: the fill receive loop, exported as `receive`. */
int receive_init(napi_env env, napi_value exports);
/* replay.c: a front's replay loop, exported as `replayStart` and friends. */
int replay_init(napi_env env, napi_value exports);

static napi_value init(napi_env env, napi_value exports) {
  env_state_t *state = calloc(1, sizeof *state);
  napi_value name, fn;
  if (state == NULL || napi_create_string_utf8(env, "regcache-sendfile", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, state, call_back, &state->tsfn) != napi_ok ||
      napi_unref_threadsafe_function(env, state->tsfn) != napi_ok || napi_set_instance_data(env, state, free_state, NULL) != napi_ok ||
      napi_create_function(env, "send", NAPI_AUTO_LENGTH, js_send, state, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "send", fn) != napi_ok ||
      napi_create_function(env, "dup", NAPI_AUTO_LENGTH, js_dup, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "dup", fn) != napi_ok ||
      napi_create_function(env, "tcpTuning", NAPI_AUTO_LENGTH, js_tcp_tuning, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "tcpTuning", fn) != napi_ok || !receive_init(env, exports) || !replay_init(env, exports)) {
    napi_throw_error(env, "ERR_SENDFILE", "sendfile addon could not initialise");
    return NULL;
  }
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
