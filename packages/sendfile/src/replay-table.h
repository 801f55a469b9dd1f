/*
 * replay.c's table: request heads (their exact bytes) → answer bytes, taught by JavaScript
 * (learn), looked up by the loop thread, both under `loop->lock`. What it counts per answer id
 * is taken by JavaScript (take), with the ids it retired, so JavaScript can credit the counts
 * to the cache and forget the ids. Included by replay.c only.
 */

static uint64_t hash_bytes(const uint8_t *bytes, size_t length) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (size_t i = 0; i < length; i++) h = (h ^ bytes[i]) * 1099511628211ULL;
  return h;
}

static void free_entry(entry_t *e) {
  free(e->head);
  free(e->response);
  free(e);
}

/* Takes `e` out of the table: freed now, or at the next take if it has counts to report. */
static void retire(loop_t *loop, entry_t *e) {
  entry_t **at = &loop->buckets[e->hash % TABLE_BUCKETS];
  while (*at != e) at = &(*at)->next;
  *at = e->next;
  loop->entry_count--;
  loop->table_bytes -= e->head_len + e->response_len;
  loop->table_epoch++;
  if (loop->retired_len == loop->retired_cap) {
    size_t cap = loop->retired_cap == 0 ? 64 : loop->retired_cap * 2;
    int32_t *grown = realloc(loop->retired, cap * sizeof *grown);
    if (grown != NULL) loop->retired = grown, loop->retired_cap = cap;
  }
  if (loop->retired_len < loop->retired_cap) loop->retired[loop->retired_len++] = e->id;
  if (e->counted) e->dead = 1;
  else free_entry(e);
}

/* Retires every entry (stale: only those of another generation than `generation`). */
static void retire_all(loop_t *loop, int stale_only, int32_t generation) {
  for (int b = 0; b < TABLE_BUCKETS; b++) {
    for (entry_t *e = loop->buckets[b], *next; e != NULL; e = next) {
      next = e->next;
      if (!stale_only || e->generation != generation) retire(loop, e);
    }
  }
}

/* The entry taught for exactly these head bytes, if it may still be replayed. */
static entry_t *table_find(loop_t *loop, const uint8_t *head, size_t length, conn_t *c) {
  entry_t *e = c->last_epoch == loop->table_epoch ? c->last : NULL;
  if (e == NULL || e->head_len != length || memcmp(e->head, head, length) != 0) {
    uint64_t h = hash_bytes(head, length);
    for (e = loop->buckets[h % TABLE_BUCKETS]; e != NULL; e = e->next) {
      if (e->hash == h && e->head_len == length && memcmp(e->head, head, length) == 0) break;
    }
    c->last = e;
    c->last_epoch = loop->table_epoch;
  }
  if (e == NULL) return NULL;
  int32_t generation = __atomic_load_n(loop->generation, __ATOMIC_ACQUIRE);
  if (e->generation != generation) {
    retire_all(loop, 1, generation);
    return NULL;
  }
  if (e->expires_at != 0 && loop->now_ms >= e->expires_at) {
    retire(loop, e);
    return NULL;
  }
  return e;
}

/* One replay of `e`: its hits and body bytes, and a request record when the log wants one. */
static void table_count(loop_t *loop, entry_t *e, int64_t started_us) {
  e->hits += 1;
  e->bytes += e->body_bytes;
  if (!e->counted) {
    e->counted = 1;
    e->next_counted = loop->counted;
    loop->counted = e;
  }
  if (!loop->recording) return;
  if (loop->records_len == loop->records_cap) {
    if (loop->records_cap >= MAX_RECORDS) return;
    size_t cap = loop->records_cap == 0 ? 256 : loop->records_cap * 2;
    record_t *grown = realloc(loop->records, cap * sizeof *grown);
    if (grown == NULL) return;
    loop->records = grown;
    loop->records_cap = cap;
  }
  loop->records[loop->records_len++] = (record_t){e->id, (float)(mono_us() - started_us) / 1000.0f};
}

/* Teaches `e` (its fields set, its bytes owned): replaces an entry for the same head; starts over when full. */
static void table_learn(loop_t *loop, entry_t *e) {
  e->hash = hash_bytes(e->head, e->head_len);
  for (entry_t *old = loop->buckets[e->hash % TABLE_BUCKETS]; old != NULL; old = old->next) {
    if (old->hash == e->hash && old->head_len == e->head_len && memcmp(old->head, e->head, e->head_len) == 0) {
      retire(loop, old);
      break;
    }
  }
  if (loop->entry_count >= MAX_ENTRIES || loop->table_bytes + e->head_len + e->response_len > MAX_TABLE_BYTES) retire_all(loop, 0, 0);
  e->next = loop->buckets[e->hash % TABLE_BUCKETS];
  loop->buckets[e->hash % TABLE_BUCKETS] = e;
  loop->entry_count++;
  loop->table_bytes += e->head_len + e->response_len;
}

/* Frees the table, the counts and the records (the loop thread has ended). */
static void table_free(loop_t *loop) {
  retire_all(loop, 0, 0);
  for (entry_t *e = loop->counted, *next; e != NULL; e = next) {
    next = e->next_counted;
    if (e->dead) free_entry(e);
    else e->counted = 0;
  }
  loop->counted = NULL;
  free(loop->retired);
  free(loop->records);
  loop->retired = NULL;
  loop->records = NULL;
  loop->retired_len = loop->retired_cap = loop->records_len = loop->records_cap = 0;
}
