/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * epoll event loop. Each watch is a heap object referenced by epoll's data
 * pointer. Deleting a watch while a batch is being dispatched marks it dead
 * and defers the free to the end of the batch, so that a pointer still in
 * the batch is never used after free.
 */
#define LOG_COMPONENT "evloop"
#include "common/evloop.h"
#include "common/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define EVLOOP_BATCH 64

enum watch_kind { WATCH_FD, WATCH_TIMER, WATCH_EVENT, WATCH_STOP };

struct watch {
	enum watch_kind kind;
	int fd;
	bool dead;
	evloop_fd_fn fn;
	void *opaque;
	struct watch *next;      /* list of all watches */
	struct watch *next_dead; /* deferred frees */
};

struct ev_timer {
	struct watch w; /* first: a watch pointer is a timer pointer */
	struct evloop *loop;
	evloop_timer_fn fn;
	void *opaque;
	uint64_t expirations;
};

struct ev_event {
	struct watch w;
	struct evloop *loop;
	evloop_event_fn fn;
	void *opaque;
};

struct evloop {
	int epfd;
	int stop_fd;
	atomic_bool stop;
	bool dispatching;
	struct watch *watches;
	struct watch *dead;
	struct watch stop_watch;
};

static void watch_link(struct evloop *loop, struct watch *w)
{
	w->next = loop->watches;
	loop->watches = w;
}

static void watch_unlink(struct evloop *loop, struct watch *w)
{
	for (struct watch **pp = &loop->watches; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			return;
		}
	}
}

static void watch_release(struct evloop *loop, struct watch *w)
{
	watch_unlink(loop, w);
	w->dead = true;
	if (loop->dispatching) {
		w->next_dead = loop->dead;
		loop->dead = w;
	} else {
		free(w);
	}
}

static void reap_dead(struct evloop *loop)
{
	while (loop->dead) {
		struct watch *w = loop->dead;
		loop->dead = w->next_dead;
		free(w);
	}
}

struct evloop *evloop_new(void)
{
	struct evloop *loop = calloc(1, sizeof(*loop));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->epfd < 0 || loop->stop_fd < 0)
		goto fail;
	loop->stop_watch.kind = WATCH_STOP;
	loop->stop_watch.fd = loop->stop_fd;
	ev.data.ptr = &loop->stop_watch;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->stop_fd, &ev) < 0)
		goto fail;
	return loop;
fail:
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->stop_fd >= 0)
		close(loop->stop_fd);
	free(loop);
	return NULL;
}

void evloop_free(struct evloop *loop)
{
	if (!loop)
		return;
	while (loop->watches) {
		struct watch *w = loop->watches;
		loop->watches = w->next;
		if (w->kind == WATCH_TIMER || w->kind == WATCH_EVENT)
			close(w->fd);
		free(w);
	}
	reap_dead(loop);
	close(loop->epfd);
	close(loop->stop_fd);
	free(loop);
}

static struct watch *find_fd_watch(struct evloop *loop, int fd)
{
	for (struct watch *w = loop->watches; w; w = w->next)
		if (w->kind == WATCH_FD && w->fd == fd)
			return w;
	return NULL;
}

static int add_watch(struct evloop *loop, struct watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0)
		return -errno;
	watch_link(loop, w);
	return 0;
}

int evloop_add_fd(struct evloop *loop, int fd, uint32_t events, evloop_fd_fn fn, void *opaque)
{
	struct watch *w;
	int ret;

	if (fd < 0 || !fn)
		return -EINVAL;
	if (find_fd_watch(loop, fd))
		return -EEXIST;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (struct watch){ .kind = WATCH_FD, .fd = fd, .fn = fn, .opaque = opaque };
	ret = add_watch(loop, w, events);
	if (ret < 0)
		free(w);
	return ret;
}

int evloop_mod_fd(struct evloop *loop, int fd, uint32_t events)
{
	struct watch *w = find_fd_watch(loop, fd);
	struct epoll_event ev = { .events = events };

	if (!w)
		return -ENOENT;
	ev.data.ptr = w;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	return 0;
}

int evloop_del_fd(struct evloop *loop, int fd)
{
	struct watch *w = find_fd_watch(loop, fd);

	if (!w)
		return -ENOENT;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	watch_release(loop, w);
	return 0;
}

struct ev_timer *evloop_timer_new(struct evloop *loop, evloop_timer_fn fn, void *opaque)
{
	struct ev_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->w.kind = WATCH_TIMER;
	t->w.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	t->loop = loop;
	t->fn = fn;
	t->opaque = opaque;
	if (t->w.fd < 0 || add_watch(loop, &t->w, EPOLLIN) < 0) {
		if (t->w.fd >= 0)
			close(t->w.fd);
		free(t);
		return NULL;
	}
	return t;
}

static struct timespec ns_to_ts(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000ull),
				  .tv_nsec = (long)(ns % 1000000000ull) };
}

int evloop_timer_arm(struct ev_timer *t, uint64_t first_ns, uint64_t interval_ns)
{
	struct itimerspec its = { .it_value = ns_to_ts(first_ns),
				  .it_interval = ns_to_ts(interval_ns) };

	if (timerfd_settime(t->w.fd, 0, &its, NULL) < 0)
		return -errno;
	return 0;
}

void evloop_timer_disarm(struct ev_timer *t)
{
	struct itimerspec its = { 0 };
	uint64_t v;

	timerfd_settime(t->w.fd, 0, &its, NULL);
	/* Drop an expiration that is already counted but not yet dispatched. */
	ssize_t r = read(t->w.fd, &v, sizeof(v));
	(void)r;
}

uint64_t evloop_timer_expirations(const struct ev_timer *t)
{
	return t->expirations;
}

void evloop_timer_free(struct ev_timer *t)
{
	if (!t)
		return;
	epoll_ctl(t->loop->epfd, EPOLL_CTL_DEL, t->w.fd, NULL);
	close(t->w.fd);
	watch_release(t->loop, &t->w);
}

struct ev_event *evloop_event_new(struct evloop *loop, evloop_event_fn fn, void *opaque)
{
	struct ev_event *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->w.kind = WATCH_EVENT;
	e->w.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	e->loop = loop;
	e->fn = fn;
	e->opaque = opaque;
	if (e->w.fd < 0 || add_watch(loop, &e->w, EPOLLIN) < 0) {
		if (e->w.fd >= 0)
			close(e->w.fd);
		free(e);
		return NULL;
	}
	return e;
}

void evloop_event_signal(struct ev_event *e)
{
	uint64_t one = 1;
	ssize_t r = write(e->w.fd, &one, sizeof(one));
	(void)r; /* EAGAIN only when the counter is saturated: already signalled */
}

int evloop_event_fd(const struct ev_event *e)
{
	return e->w.fd;
}

void evloop_event_free(struct ev_event *e)
{
	if (!e)
		return;
	epoll_ctl(e->loop->epfd, EPOLL_CTL_DEL, e->w.fd, NULL);
	close(e->w.fd);
	watch_release(e->loop, &e->w);
}

void evloop_stop(struct evloop *loop)
{
	uint64_t one = 1;

	atomic_store(&loop->stop, true);
	ssize_t r = write(loop->stop_fd, &one, sizeof(one));
	(void)r;
}

bool evloop_stopped(const struct evloop *loop)
{
	return atomic_load(&loop->stop);
}

static void dispatch(struct evloop *loop, struct watch *w, uint32_t events)
{
	uint64_t v;
	ssize_t r;

	switch (w->kind) {
	case WATCH_FD:
		w->fn(w->fd, events, w->opaque);
		break;
	case WATCH_TIMER: {
		struct ev_timer *t = (struct ev_timer *)w;
		r = read(w->fd, &v, sizeof(v));
		if (r != (ssize_t)sizeof(v))
			break; /* disarmed meanwhile */
		t->expirations = v;
		t->fn(t, t->opaque);
		break;
	}
	case WATCH_EVENT: {
		struct ev_event *e = (struct ev_event *)w;
		r = read(w->fd, &v, sizeof(v));
		if (r != (ssize_t)sizeof(v))
			break;
		e->fn(e, e->opaque);
		break;
	}
	case WATCH_STOP:
		r = read(w->fd, &v, sizeof(v));
		(void)r;
		break;
	}
}

int evloop_run_once(struct evloop *loop, int timeout_ms)
{
	struct epoll_event evs[EVLOOP_BATCH];
	int n, ran = 0;

	n = epoll_wait(loop->epfd, evs, EVLOOP_BATCH, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	loop->dispatching = true;
	for (int i = 0; i < n; i++) {
		struct watch *w = evs[i].data.ptr;
		if (w->dead)
			continue;
		dispatch(loop, w, evs[i].events);
		ran++;
	}
	loop->dispatching = false;
	reap_dead(loop);
	return ran;
}

int evloop_run(struct evloop *loop)
{
	while (!atomic_load(&loop->stop)) {
		int ret = evloop_run_once(loop, -1);
		if (ret < 0) {
			log_err("epoll_wait: %s", strerror(-ret));
			return ret;
		}
	}
	return 0;
}
