/*
 * replay-js.h's teaching, taking and stopping calls. Included by replay-js.h only.
 */

static int learn_args(napi_env env, napi_value *argv, entry_t *e) {
  void *head, *response;
  size_t head_len, response_len;
  int64_t expires_at;
  double body_bytes;
  bool close_after;
  if (napi_get_buffer_info(env, argv[1], &head, &head_len) != napi_ok || napi_get_buffer_info(env, argv[2], &response, &response_len) != napi_ok ||
      napi_get_value_int32(env, argv[3], &e->date_at) != napi_ok || napi_get_value_int32(env, argv[4], &e->id) != napi_ok ||
      napi_get_value_double(env, argv[5], &body_bytes) != napi_ok || napi_get_value_bool(env, argv[6], &close_after) != napi_ok ||
      napi_get_value_int32(env, argv[7], &e->generation) != napi_ok || napi_get_value_int64(env, argv[8], &expires_at) != napi_ok) {
    return 0;
  }
  /* A whole head (it ends in its empty line) short enough to be looked up; a Date value inside the response. */
  if (head_len < 4 || head_len > MAX_HEAD || memcmp((uint8_t *)head + head_len - 4, "\r\n\r\n", 4) != 0 || response_len == 0 ||
      response_len > MAX_RESPONSE || e->date_at < -1 || (e->date_at >= 0 && (size_t)e->date_at + DATE_LEN > response_len) ||
      body_bytes < 0 || body_bytes > MAX_RESPONSE || expires_at < 0) {
    return 0;
  }
  e->head = malloc(head_len);
  e->response = malloc(response_len);
  if (e->head == NULL || e->response == NULL) return 0;
  memcpy(e->head, head, e->head_len = (uint32_t)head_len);
  memcpy(e->response, response, e->response_len = (uint32_t)response_len);
  e->body_bytes = (uint32_t)body_bytes;
  e->close = close_after;
  e->expires_at = expires_at;
  return 1;
}

static napi_value js_replay_learn(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9], result;
  loop_t *loop;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 9 || (loop = loop_of(env, argv[0])) == NULL) {
    return replay_error(env, "replayLearn() takes 9 arguments, the first a loop");
  }
  entry_t *e = calloc(1, sizeof *e);
  int ok = e != NULL && !loop->stopped && learn_args(env, argv, e);
  if (ok) {
    pthread_mutex_lock(&loop->lock);
    table_learn(loop, e);
    pthread_mutex_unlock(&loop->lock);
  } else if (e != NULL) {
    free_entry(e);
  }
  return napi_get_boolean(env, ok, &result) == napi_ok ? result : NULL;
}

static napi_value float64s(napi_env env, const double *values, size_t count) {
  napi_value buffer, array;
  void *data;
  if (napi_create_arraybuffer(env, count * sizeof(double), &data, &buffer) != napi_ok) return NULL;
  if (count > 0) memcpy(data, values, count * sizeof(double));
  return napi_create_typedarray(env, napi_float64_array, count, buffer, 0, &array) == napi_ok ? array : NULL;
}

/* Counts, retired ids and records since the last take, copied out under the lock and reset. */
static napi_value js_replay_take(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result, undefined, part;
  loop_t *loop;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || (loop = loop_of(env, argv[0])) == NULL) {
    return replay_error(env, "replayTake(loop): bad arguments");
  }
  napi_get_undefined(env, &undefined);
  pthread_mutex_lock(&loop->lock);
  size_t counted = 0, retired = loop->retired_len, records = loop->records_len;
  for (entry_t *e = loop->counted; e != NULL; e = e->next_counted) counted++;
  double *counts = malloc((3 * counted + 2 * records + 1) * sizeof(double));
  int32_t *ids = malloc((retired + 1) * sizeof(int32_t));
  if (counts == NULL || ids == NULL || counted + retired + records == 0) {
    pthread_mutex_unlock(&loop->lock);
    free(counts);
    free(ids);
    return undefined;
  }
  size_t i = 0;
  for (entry_t *e = loop->counted, *next; e != NULL; e = next) {
    next = e->next_counted;
    counts[i++] = e->id, counts[i++] = e->hits, counts[i++] = e->bytes;
    e->hits = e->bytes = 0;
    e->counted = 0;
    if (e->dead) free_entry(e);
  }
  for (size_t r = 0; r < records; r++) counts[i++] = loop->records[r].id, counts[i++] = loop->records[r].duration_ms;
  if (retired > 0) memcpy(ids, loop->retired, retired * sizeof(int32_t));
  loop->counted = NULL;
  loop->retired_len = loop->records_len = 0;
  pthread_mutex_unlock(&loop->lock);
  napi_value buffer, retired_array;
  void *data;
  int ok = napi_create_array_with_length(env, 3, &result) == napi_ok && (part = float64s(env, counts, 3 * counted)) != NULL &&
           napi_set_element(env, result, 0, part) == napi_ok && napi_create_arraybuffer(env, retired * sizeof(int32_t), &data, &buffer) == napi_ok;
  if (ok && retired > 0) memcpy(data, ids, retired * sizeof(int32_t));
  ok = ok && napi_create_typedarray(env, napi_int32_array, retired, buffer, 0, &retired_array) == napi_ok &&
       napi_set_element(env, result, 1, retired_array) == napi_ok && (part = float64s(env, counts + 3 * counted, 2 * records)) != NULL &&
       napi_set_element(env, result, 2, part) == napi_ok;
  free(counts);
  free(ids);
  return ok ? result : replay_error(env, "replayTake(): cannot build the result");
}

static napi_value js_replay_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  loop_t *loop;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || (loop = loop_of(env, argv[0])) == NULL) {
    return replay_error(env, "replayStop(loop): bad arguments");
  }
  stop_loop(loop);
  return NULL;
}
