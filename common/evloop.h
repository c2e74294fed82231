/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An epoll event loop for the VMM's and the lab's own threads: file
 * descriptor callbacks, timers (timerfd) and events (eventfd).
 *
 * Threads: one thread runs evloop_run(); every callback runs on it.
 * evloop_add_fd/del_fd and the timer and event calls may be made from that
 * thread (including from callbacks) or before the loop runs. evloop_stop()
 * and evloop_event_signal() may be called from any thread.
 *
 * A callback may delete its own or any other watch; a deleted watch is never
 * called again, even when its event is already in the current batch.
 */
#ifndef NFV_COMMON_EVLOOP_H
#define NFV_COMMON_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/util.h"

struct evloop;
struct ev_timer;
struct ev_event;

/* `events` is the epoll mask that fired (EPOLLIN, EPOLLOUT, EPOLLHUP, EPOLLERR). */
typedef void (*evloop_fd_fn)(int fd, uint32_t events, void *opaque);
typedef void (*evloop_timer_fn)(struct ev_timer *t, void *opaque);
typedef void (*evloop_event_fn)(struct ev_event *e, void *opaque);

struct evloop *evloop_new(void);
/* Frees the loop; watches still registered are dropped (their fds are not closed). */
void evloop_free(struct evloop *loop);

/* Watches fd for `events` (EPOLLIN/EPOLLOUT...). 0, -EEXIST, or -errno. */
int __must_check evloop_add_fd(struct evloop *loop, int fd, uint32_t events, evloop_fd_fn fn,
			       void *opaque);
int __must_check evloop_mod_fd(struct evloop *loop, int fd, uint32_t events);
/* Stops watching fd (does not close it). 0 or -ENOENT. */
int evloop_del_fd(struct evloop *loop, int fd);

/* Timers: created disarmed. */
struct ev_timer *evloop_timer_new(struct evloop *loop, evloop_timer_fn fn, void *opaque);
/* Fires after `first_ns`, then every `interval_ns` (0: once). first_ns 0 disarms. */
int evloop_timer_arm(struct ev_timer *t, uint64_t first_ns, uint64_t interval_ns);
void evloop_timer_disarm(struct ev_timer *t);
/* Expirations counted by the last firing (>= 1 inside the callback). */
uint64_t evloop_timer_expirations(const struct ev_timer *t);
void evloop_timer_free(struct ev_timer *t);

/* Events: an eventfd that any thread may signal; the callback runs on the loop thread. */
struct ev_event *evloop_event_new(struct evloop *loop, evloop_event_fn fn, void *opaque);
void evloop_event_signal(struct ev_event *e);
int evloop_event_fd(const struct ev_event *e);
void evloop_event_free(struct ev_event *e);

/*
 * Runs until evloop_stop(). Returns 0, or -errno when epoll_wait fails for
 * another reason than EINTR.
 */
int evloop_run(struct evloop *loop);
/* Runs one batch of ready events, waiting at most timeout_ms (-1: forever). Returns
 * the number of callbacks run or -errno. */
int evloop_run_once(struct evloop *loop, int timeout_ms);
/* Makes evloop_run() return after the current batch; thread-safe. */
void evloop_stop(struct evloop *loop);
bool evloop_stopped(const struct evloop *loop);

#endif /* NFV_COMMON_EVLOOP_H */
