// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for the vhost-user socket roles (vmm/vhost_user_sock.c): real
 * Unix sockets in a private temporary directory, driven through the event
 * loop; the "backend" is a plain socket in the test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/evloop.h"
#include "common/log.h"
#include "vmm/vhost_user_sock.h"

struct fx {
	char dir[64];
	char path[128];
	struct evloop *loop;
	struct vu_sock *s;
	unsigned int ups, downs;
	int fd; /* as given to connected() */
};

static void on_up(void *opaque, int fd)
{
	struct fx *f = opaque;

	f->ups++;
	f->fd = fd;
}

static void on_down(void *opaque)
{
	struct fx *f = opaque;

	f->downs++;
	f->fd = -1;
}

static const struct vu_sock_ops ops = { .connected = on_up, .disconnected = on_down };

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	log_set_level(LOG_LVL_ERR);
	snprintf(f->dir, sizeof(f->dir), "/tmp/nfv-vu-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/vu.sock", f->dir);
	f->loop = evloop_new();
	assert_non_null(f->loop);
	f->fd = -1;
	return f;
}

static void fx_free(struct fx *f)
{
	vu_sock_free(f->s);
	evloop_free(f->loop);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
}

static int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs the loop until *ctr reaches want or `ms` pass. */
static void run_until(struct fx *f, unsigned int *ctr, unsigned int want, int ms)
{
	int64_t end = ms_now() + ms;

	while (*ctr < want && ms_now() < end)
		assert_true(evloop_run_once(f->loop, 50) >= 0);
}

static int dial(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/*
 * Whether the peer of fd closed it (within 1 s): end of stream, or a reset
 * when it closed with our bytes unread.
 */
static bool closed_by_peer(int fd)
{
	struct timeval tv = { .tv_sec = 1 };
	char b;
	ssize_t r;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	r = recv(fd, &b, 1, 0);
	return r == 0 || (r < 0 && errno == ECONNRESET);
}

static void test_server(void **state)
{
	struct fx *f = fx_new();
	char err[256];
	int a, b;

	(void)state;
	f->s = vu_sock_new(f->loop, f->path, true, &ops, f, err, sizeof(err));
	assert_non_null(f->s);
	assert_false(vu_sock_connected(f->s));
	a = dial(f->path);
	run_until(f, &f->ups, 1, 2000);
	assert_int_equal(f->ups, 1);
	assert_true(vu_sock_connected(f->s));
	assert_true(f->fd >= 0);
	/* A second backend is refused while the first is connected. */
	b = dial(f->path);
	for (int i = 0; i < 5; i++)
		evloop_run_once(f->loop, 20);
	assert_true(closed_by_peer(b));
	close(b);
	assert_int_equal(f->ups, 1);
	/* The backend leaves, comes back. */
	close(a);
	run_until(f, &f->downs, 1, 2000);
	assert_int_equal(f->downs, 1);
	assert_false(vu_sock_connected(f->s));
	a = dial(f->path);
	run_until(f, &f->ups, 2, 2000);
	assert_int_equal(f->ups, 2);
	/* A message nobody asked for ends the connection. */
	assert_int_equal(write(a, "x", 1), 1);
	run_until(f, &f->downs, 2, 2000);
	assert_int_equal(f->downs, 2);
	assert_true(closed_by_peer(a));
	close(a);
	/* vu_sock_drop: the session failed. */
	a = dial(f->path);
	run_until(f, &f->ups, 3, 2000);
	vu_sock_drop(f->s);
	assert_int_equal(f->downs, 3);
	assert_true(closed_by_peer(a));
	close(a);
	vu_sock_free(f->s);
	f->s = NULL;
	assert_int_not_equal(access(f->path, F_OK), 0); /* the socket file is gone */
	fx_free(f);
}

static void test_server_path(void **state)
{
	struct fx *f = fx_new();
	char err[256], longp[200];
	int l;
	FILE *fp;

	(void)state;
	/* A stale socket file (nobody listens) is replaced. */
	l = listen_on(f->path);
	close(l);
	f->s = vu_sock_new(f->loop, f->path, true, &ops, f, err, sizeof(err));
	assert_non_null(f->s);
	vu_sock_free(f->s);
	f->s = NULL;
	/* A live listener is not. */
	l = listen_on(f->path);
	assert_null(vu_sock_new(f->loop, f->path, true, &ops, f, err, sizeof(err)));
	assert_non_null(strstr(err, "another process is listening"));
	close(l);
	unlink(f->path);
	/* Nor a file that is not a socket. */
	fp = fopen(f->path, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_null(vu_sock_new(f->loop, f->path, true, &ops, f, err, sizeof(err)));
	assert_non_null(strstr(err, "not a socket"));
	unlink(f->path);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_null(vu_sock_new(f->loop, longp, false, &ops, f, err, sizeof(err)));
	assert_non_null(strstr(err, "longer than"));
	fx_free(f);
}

static void test_client(void **state)
{
	struct fx *f = fx_new();
	char err[256];
	int l, c;

	(void)state;
	/* No backend yet: no connection, retries. */
	f->s = vu_sock_new(f->loop, f->path, false, &ops, f, err, sizeof(err));
	assert_non_null(f->s);
	for (int i = 0; i < 3; i++)
		evloop_run_once(f->loop, 20);
	assert_int_equal(f->ups, 0);
	/* The backend appears: connected within a retry period. */
	l = listen_on(f->path);
	run_until(f, &f->ups, 1, 3000);
	assert_int_equal(f->ups, 1);
	c = accept(l, NULL, NULL);
	assert_true(c >= 0);
	/* It restarts: down, then up again on its new socket. */
	close(c);
	close(l);
	unlink(f->path);
	run_until(f, &f->downs, 1, 2000);
	assert_int_equal(f->downs, 1);
	l = listen_on(f->path);
	run_until(f, &f->ups, 2, 3000);
	assert_int_equal(f->ups, 2);
	close(l);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server),
		cmocka_unit_test(test_server_path),
		cmocka_unit_test(test_client),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
