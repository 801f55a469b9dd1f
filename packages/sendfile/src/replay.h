/*
 * replay.c's types and limits (one translation unit: replay.c includes replay-table.h and
 * replay-js.h after its own code).
 */
#ifndef REGCACHE_REPLAY_H
#define REGCACHE_REPLAY_H

#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

/* A head longer than this is not looked up (raw-head.ts remembers heads up to 4096 bytes). */
#define MAX_HEAD (4096 + 4)
/* One read's size; the buffer also holds a kept partial head in front of it. */
#define READ_BYTES (64 * 1024)
#define BUFFER_BYTES (READ_BYTES + MAX_HEAD + 8)
/* "Sat, 28 Nov 2026 03:54:37 GMT" */
#define DATE_LEN 29
/* How often quiet connections are looked for (their deadlines are checked this coarsely). */
#define SCAN_MS 100
#define TABLE_BUCKETS 512
/* Entries and response bytes taught at most; past either the table starts over. */
#define MAX_ENTRIES 512
#define MAX_TABLE_BYTES (16 * 1024 * 1024)
#define MAX_RESPONSE (1024 * 1024)
/* Request records (for the log at info) kept between two takes; past it they are dropped. */
#define MAX_RECORDS (1 << 16)

/* A taught head and what it is answered with. */
typedef struct entry {
  struct entry *next;         /* its bucket's chain */
  struct entry *next_counted; /* the counted list (hits since the last take) */
  uint64_t hash;
  uint8_t *head;
  uint32_t head_len;
  uint8_t *response;
  uint32_t response_len;
  int32_t date_at;   /* where the Date value's DATE_LEN bytes are in `response`, or -1 */
  int32_t id;        /* JavaScript's name for the answer and request it was taught with */
  uint32_t body_bytes;
  int32_t generation;
  int close;         /* end the connection after answering */
  int counted, dead; /* in the counted list; retired from the table (freed at the next take) */
  int64_t expires_at; /* Date.now() after which it is not replayed; 0: never */
  double hits, bytes;
} entry_t;

typedef struct conn {
  struct conn *prev, *next;
  int fd;
  int answered, close_after, leaving;
  int32_t learned; /* how many times JavaScript taught the loop for this connection */
  uint8_t *in;     /* bytes read and not yet answered (a partial head, or heads waiting for a drain) */
  uint32_t in_len;
  uint8_t *out;    /* answer bytes the socket has not taken yet */
  uint32_t out_len, out_off;
  int64_t deadline;      /* CLOCK_MONOTONIC ms */
  int64_t partial_since; /* when the partial head in `in` began arriving, or 0 */
  entry_t *last;    /* the entry its last head matched, valid while the table's epoch is `last_epoch` */
  uint64_t last_epoch;
} conn_t;

/* A connection JavaScript gives the loop, with bytes it read from it and has not answered. */
typedef struct adopt {
  struct adopt *next;
  int fd;
  int32_t learned;
  size_t length;
  uint8_t bytes[];
} adopt_t;

/* A connection the loop gives back: its first unanswered head and what followed. */
typedef struct {
  int fd;
  int32_t learned;
  size_t length;
  uint8_t bytes[];
} miss_t;

typedef struct {
  int32_t id;
  float duration_ms;
} record_t;

typedef struct {
  int epoll, wake;
  pthread_t thread;
  int started, stopping, stopped;
  napi_threadsafe_function tsfn;
  napi_env env;
  napi_ref generation_ref, loads_ref;
  int32_t *generation, *loads;
  int32_t index;
  int64_t headers_ms, keep_alive_ms;
  int recording;
  /* The loop thread's own. */
  conn_t *conns;
  uint8_t *buffer;
  char date[DATE_LEN];
  int64_t date_second, now_ms;
  /* Under `queue_lock`: connections given and not yet taken. */
  pthread_mutex_t queue_lock;
  adopt_t *adopts;
  /* Under `lock` (the loop holds it while it answers a batch of events). */
  pthread_mutex_t lock;
  entry_t *buckets[TABLE_BUCKETS];
  int entry_count;
  size_t table_bytes;
  uint64_t table_epoch;
  entry_t *counted;
  int32_t *retired;
  size_t retired_len, retired_cap;
  record_t *records;
  size_t records_len, records_cap;
} loop_t;

static entry_t *table_find(loop_t *loop, const uint8_t *head, size_t length, conn_t *c);
static void table_count(loop_t *loop, entry_t *e, int64_t started_us);
static void table_free(loop_t *loop);

#endif
