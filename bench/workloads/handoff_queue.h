/* Bounded multi-producer multi-consumer queue of pointer batches for
 * cross_thread and soak, built on one mutex and two condition variables.  Batches of
 * BATCH pointers are copied in and out of a fixed ring, so the queue itself
 * never calls malloc and its locking is paid once per BATCH frees. */
#ifndef BENCH_HANDOFF_QUEUE_H
#define BENCH_HANDOFF_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#define BATCH 64
#define QUEUE_BATCHES 64

typedef struct batch_s {
  void* ptrs[BATCH];
  size_t count;
} batch_t;

typedef struct queue_s {
  pthread_mutex_t lock;
  pthread_cond_t not_empty;
  pthread_cond_t not_full;
  batch_t ring[QUEUE_BATCHES];
  size_t head, len;
  bool closed; /* no more batches will be pushed */
} queue_t;

static inline void queue_init(queue_t* q) {
  memset(q, 0, sizeof(*q));
  pthread_mutex_init(&q->lock, NULL);
  pthread_cond_init(&q->not_empty, NULL);
  pthread_cond_init(&q->not_full, NULL);
}

/* Both with the lock held: append to a queue with room, take from a
 * non-empty one. */
static inline void queue_append_locked(queue_t* q, const batch_t* b) {
  q->ring[(q->head + q->len) % QUEUE_BATCHES] = *b;
  q->len++;
  pthread_cond_signal(&q->not_empty);
}

static inline void queue_take_locked(queue_t* q, batch_t* out) {
  *out = q->ring[q->head];
  q->head = (q->head + 1) % QUEUE_BATCHES;
  q->len--;
  pthread_cond_signal(&q->not_full);
}

static inline void queue_push(queue_t* q, const batch_t* b) {
  pthread_mutex_lock(&q->lock);
  while (q->len == QUEUE_BATCHES) pthread_cond_wait(&q->not_full, &q->lock);
  queue_append_locked(q, b);
  pthread_mutex_unlock(&q->lock);
}

/* False once the queue is closed and drained. */
static inline bool queue_pop(queue_t* q, batch_t* out) {
  pthread_mutex_lock(&q->lock);
  while (q->len == 0 && !q->closed) pthread_cond_wait(&q->not_empty, &q->lock);
  bool got = q->len > 0;
  if (got) queue_take_locked(q, out);
  pthread_mutex_unlock(&q->lock);
  return got;
}

/* Non-blocking variants, for threads that both send and receive: two of
 * them pushing to each other's full queue would otherwise wait forever. */
static inline bool queue_try_push(queue_t* q, const batch_t* b) {
  pthread_mutex_lock(&q->lock);
  bool room = q->len < QUEUE_BATCHES;
  if (room) queue_append_locked(q, b);
  pthread_mutex_unlock(&q->lock);
  return room;
}

static inline bool queue_try_pop(queue_t* q, batch_t* out) {
  pthread_mutex_lock(&q->lock);
  bool got = q->len > 0;
  if (got) queue_take_locked(q, out);
  pthread_mutex_unlock(&q->lock);
  return got;
}

static inline void queue_close(queue_t* q) {
  pthread_mutex_lock(&q->lock);
  q->closed = true;
  pthread_cond_broadcast(&q->not_empty);
  pthread_mutex_unlock(&q->lock);
}

#endif
