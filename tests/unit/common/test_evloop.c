/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/evloop.h"

struct ctx {
	struct evloop *loop;
	int fd_calls;
	int timer_calls;
	int event_calls;
	int other_fd;
	char last;
};

static void on_fd(int fd, uint32_t events, void *opaque)
{
	struct ctx *c = opaque;
	char ch;

	if (read(fd, &ch, 1) == 1)
		c->last = ch;
	c->fd_calls++;
}

static void test_fd_callback(void **state)
{
	struct ctx c = { 0 };
	int p[2];

	assert_int_equal(pipe(p), 0);
	c.loop = evloop_new();
	assert_non_null(c.loop);
	assert_int_equal(evloop_add_fd(c.loop, p[0], EPOLLIN, on_fd, &c), 0);
	assert_int_equal(evloop_add_fd(c.loop, p[0], EPOLLIN, on_fd, &c), -EEXIST);
	assert_int_equal(evloop_run_once(c.loop, 0), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(evloop_run_once(c.loop, 1000), 1);
	assert_int_equal(c.fd_calls, 1);
	assert_int_equal(c.last, 'x');
	assert_int_equal(evloop_del_fd(c.loop, p[0]), 0);
	assert_int_equal(evloop_del_fd(c.loop, p[0]), -ENOENT);
	assert_int_equal(write(p[1], "y", 1), 1);
	assert_int_equal(evloop_run_once(c.loop, 10), 0);
	assert_int_equal(c.fd_calls, 1);
	evloop_free(c.loop);
	close(p[0]);
	close(p[1]);
}

static void on_timer(struct ev_timer *t, void *opaque)
{
	struct ctx *c = opaque;

	c->timer_calls++;
	if (c->timer_calls == 3)
		evloop_stop(c->loop);
}

static void test_timer_periodic_and_stop(void **state)
{
	struct ctx c = { 0 };
	struct ev_timer *t;

	c.loop = evloop_new();
	t = evloop_timer_new(c.loop, on_timer, &c);
	assert_non_null(t);
	assert_int_equal(evloop_timer_arm(t, 1000000, 1000000), 0);
	assert_int_equal(evloop_run(c.loop), 0);
	assert_int_equal(c.timer_calls, 3);
	assert_true(evloop_stopped(c.loop));
	assert_true(evloop_timer_expirations(t) >= 1);
	evloop_timer_disarm(t);
	evloop_timer_free(t);
	evloop_free(c.loop);
}

static void on_event(struct ev_event *e, void *opaque)
{
	struct ctx *c = opaque;

	c->event_calls++;
	evloop_stop(c->loop);
}

static void *signal_thread(void *arg)
{
	usleep(10000);
	evloop_event_signal(arg);
	return NULL;
}

static void test_event_from_other_thread(void **state)
{
	struct ctx c = { 0 };
	struct ev_event *e;
	pthread_t th;

	c.loop = evloop_new();
	e = evloop_event_new(c.loop, on_event, &c);
	assert_non_null(e);
	assert_true(evloop_event_fd(e) >= 0);
	assert_int_equal(pthread_create(&th, NULL, signal_thread, e), 0);
	assert_int_equal(evloop_run(c.loop), 0);
	pthread_join(th, NULL);
	assert_int_equal(c.event_calls, 1);
	evloop_event_free(e);
	evloop_free(c.loop);
}

/* a's callback deletes b's watch while b's event is in the same batch. */
static void on_fd_delete_other(int fd, uint32_t events, void *opaque)
{
	struct ctx *c = opaque;
	char ch;

	if (read(fd, &ch, 1) == 1)
		c->fd_calls++;
	evloop_del_fd(c->loop, c->other_fd);
}

static void on_fd_count(int fd, uint32_t events, void *opaque)
{
	struct ctx *c = opaque;
	char ch;

	if (read(fd, &ch, 1) == 1)
		c->event_calls++;
}

static void test_delete_during_batch(void **state)
{
	struct ctx c = { 0 };
	int a[2], b[2];

	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	c.loop = evloop_new();
	c.other_fd = b[0];
	assert_int_equal(evloop_add_fd(c.loop, a[0], EPOLLIN, on_fd_delete_other, &c), 0);
	assert_int_equal(evloop_add_fd(c.loop, b[0], EPOLLIN, on_fd_count, &c), 0);
	/* a becomes ready first, so epoll reports it first in the batch. */
	assert_int_equal(write(a[1], "1", 1), 1);
	assert_int_equal(write(b[1], "2", 1), 1);
	assert_int_equal(evloop_run_once(c.loop, 1000), 1);
	assert_int_equal(c.fd_calls, 1);
	assert_int_equal(c.event_calls, 0); /* b's deleted watch never ran */
	assert_int_equal(evloop_del_fd(c.loop, b[0]), -ENOENT);
	evloop_free(c.loop);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd_callback),
		cmocka_unit_test(test_timer_periodic_and_stop),
		cmocka_unit_test(test_event_from_other_thread),
		cmocka_unit_test(test_delete_during_batch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
