// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for the vhost mode controller (vmm/vhost_user_nic.c): the
 * controller listens on a socket in a private directory, its event loop
 * runs in a thread, the test dials in with the scripted fake backend
 * (tests/unit/support/vu_fake_backend.h) and drives the device's side:
 * DRIVER_OK, the pair count, reset, the backend leaving and coming back,
 * a queue's call eventfd replaced while the rings run or while no backend
 * is there.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/evloop.h"
#include "common/guestmem.h"
#include "common/log.h"
#include "vmm/vhost_user_nic.h"

#include "../support/vu_fake_backend.h"

#define B(n) (1ull << (n))
#define RAM_SIZE (1u << 20)
#define NQ 4 /* two pairs */
/* Guest: VERSION_1, MAC, STATUS, CTRL_VQ, MRG_RXBUF, MQ, EVENT_IDX. */
#define GUEST_F (B(32) | B(5) | B(16) | B(17) | B(15) | B(22) | B(29))
/* What reaches the backend: the datapath bits, plus PROTOCOL_FEATURES. */
#define SENT_F (B(32) | B(15) | B(22) | B(29) | B(30))
#define BACKEND_F (B(32) | B(15) | B(22) | B(29) | B(28) | B(30) | B(17) | B(5))
#define PROTO (B(VU_PROTOCOL_F_MQ) | B(VU_PROTOCOL_F_REPLY_ACK))

struct fx {
	char dir[64], path[96];
	struct evloop *loop;
	pthread_t loop_thr;
	uint8_t *ram;
	struct guest_mem gm;
	int memfd;
	struct vhu *h;
	struct vhu_queue q[NQ];
	struct fb be;
	bool be_on;
	int ups, downs; /* atomics */
};

static void on_link(void *opaque, bool up)
{
	struct fx *f = opaque;

	__atomic_add_fetch(up ? &f->ups : &f->downs, 1, __ATOMIC_SEQ_CST);
}

static void *loop_main(void *arg)
{
	evloop_run(arg);
	return NULL;
}

static int dial(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static bool wait_atomic(int *v, int want, int ms)
{
	for (int i = 0; i < ms / 5; i++) {
		struct timespec ts = { 0, 5000000 };

		if (__atomic_load_n(v, __ATOMIC_SEQ_CST) >= want)
			return true;
		nanosleep(&ts, NULL);
	}
	return __atomic_load_n(v, __ATOMIC_SEQ_CST) >= want;
}

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct vhu_config cfg = { .queue_pairs = NQ / 2, .server = true, .timeout_ms = 1000 };
	struct vhu_ops ops = { .link = on_link };
	char err[256];

	assert_non_null(f);
	log_set_level(LOG_LVL_ERR);
	snprintf(f->dir, sizeof(f->dir), "/tmp/nfv-vhu-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/vm.sock", f->dir);
	f->memfd = memfd_create("ram", MFD_CLOEXEC);
	assert_true(f->memfd >= 0);
	assert_int_equal(ftruncate(f->memfd, RAM_SIZE), 0);
	f->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
	assert_true(f->ram != MAP_FAILED);
	assert_int_equal(gm_add_region(&f->gm, 0, RAM_SIZE, f->ram, f->memfd, 0), 0);
	for (int i = 0; i < NQ; i++)
		f->q[i] = (struct vhu_queue){ .enabled = true, .size = 256,
					      .desc = 0x10000 + i * 0x4000,
					      .avail = 0x11000 + i * 0x4000,
					      .used = 0x12000 + i * 0x4000,
					      .kick_fd = eventfd(0, EFD_CLOEXEC),
					      .call_fd = eventfd(0, EFD_CLOEXEC) };
	f->loop = evloop_new();
	assert_non_null(f->loop);
	cfg.path = f->path;
	f->h = vhu_new(f->loop, &f->gm, &cfg, &ops, f, err, sizeof(err));
	assert_non_null(f->h);
	assert_int_equal(pthread_create(&f->loop_thr, NULL, loop_main, f->loop), 0);
	return f;
}

static void be_connect(struct fx *f, uint64_t features)
{
	fb_start(&f->be, dial(f->path), features, PROTO, FB_FINE);
	f->be_on = true;
}

static void be_leave(struct fx *f)
{
	shutdown(f->be.sock, SHUT_RDWR);
	pthread_join(f->be.thr, NULL);
	f->be_on = false;
}

static void fx_free(struct fx *f)
{
	if (f->be_on)
		be_leave(f);
	evloop_stop(f->loop);
	pthread_join(f->loop_thr, NULL);
	vhu_free(f->h);
	evloop_free(f->loop);
	for (int i = 0; i < NQ; i++) {
		close(f->q[i].kick_fd);
		close(f->q[i].call_fd);
	}
	munmap(f->ram, RAM_SIZE);
	close(f->memfd);
	rmdir(f->dir);
	free(f);
}

/* Index of the first record of `req` at or after `from`, or -1. */
static int find(struct fb *b, uint32_t req, unsigned int from)
{
	for (unsigned int i = from; i < fb_count(b, 0); i++)
		if (fb_get(b, i).request == req)
			return (int)i;
	return -1;
}

static void test_start_stop(void **state)
{
	struct fx *f = fx_new();
	struct fb_rec r;
	int i;

	(void)state;
	be_connect(f, BACKEND_F);
	/* The handshake comes with the connection, before any DRIVER_OK. */
	assert_true(fb_wait(&f->be, VU_SET_OWNER, 1, 2000));
	assert_int_equal(fb_count(&f->be, VU_SET_FEATURES), 0);
	assert_false(vhu_link_up(f->h));
	assert_int_equal(vhu_start(f->h, GUEST_F, f->q, NQ), 0);
	assert_true(wait_atomic(&f->ups, 1, 2000));
	assert_true(vhu_link_up(f->h));
	i = find(&f->be, VU_SET_FEATURES, 0);
	assert_true(i >= 0);
	r = fb_get(&f->be, (unsigned int)i);
	assert_int_equal(r.u64, SENT_F);
	assert_true(find(&f->be, VU_SET_MEM_TABLE, 0) > i);
	assert_int_equal(fb_count(&f->be, VU_SET_VRING_KICK), NQ);
	assert_int_equal(fb_count(&f->be, VU_SET_VRING_CALL), NQ);
	/* Every ring enabled, then pair 1's two disabled (one pair until VQ_PAIRS_SET). */
	assert_int_equal(fb_count(&f->be, VU_SET_VRING_ENABLE), NQ + 2);
	i = find(&f->be, VU_SET_VRING_BASE, 0);
	assert_int_equal(fb_get(&f->be, (unsigned int)i).state.num, 0); /* a fresh start */
	/* VQ_PAIRS_SET 2: the four rings enabled. */
	vhu_set_pairs(f->h, 2);
	assert_true(fb_wait(&f->be, VU_SET_VRING_ENABLE, 2 * NQ + 2, 2000));
	r = fb_get(&f->be, fb_count(&f->be, 0) - 1);
	assert_int_equal(r.request, VU_SET_VRING_ENABLE);
	assert_int_equal(r.state.index, 3);
	assert_int_equal(r.state.num, 1);
	/* Reset: every ring stopped before vhu_stop returns. */
	vhu_stop(f->h);
	assert_int_equal(fb_count(&f->be, VU_GET_VRING_BASE), NQ);
	assert_false(vhu_link_up(f->h));
	assert_true(wait_atomic(&f->downs, 1, 100));
	/* And again after a reset, with fewer queues. */
	assert_int_equal(vhu_start(f->h, GUEST_F & ~B(22), f->q, 2), 0);
	assert_true(wait_atomic(&f->ups, 2, 2000));
	assert_int_equal(fb_count(&f->be, VU_SET_VRING_KICK), NQ + 2);
	fx_free(f);
}

/* DRIVER_OK first, the backend later; then it leaves and comes back. */
static void test_reconnect(void **state)
{
	struct fx *f = fx_new();
	uint16_t used_idx = 5;
	struct vhu_stats st;
	int i;

	(void)state;
	assert_int_equal(vhu_start(f->h, GUEST_F, f->q, NQ), 0);
	assert_false(vhu_link_up(f->h));
	be_connect(f, BACKEND_F);
	assert_true(wait_atomic(&f->ups, 1, 2000));
	/* The backend goes: link down. */
	be_leave(f);
	assert_true(wait_atomic(&f->downs, 1, 2000));
	assert_false(vhu_link_up(f->h));
	/* Meanwhile the guest's used ring of queue 1 says 5 chains were done. */
	memcpy(f->ram + f->q[1].used + 2, &used_idx, 2);
	be_connect(f, BACKEND_F);
	assert_true(wait_atomic(&f->ups, 2, 2000));
	i = -1;
	for (;;) {
		i = find(&f->be, VU_SET_VRING_BASE, (unsigned int)(i + 1));
		assert_true(i >= 0);
		if (fb_get(&f->be, (unsigned int)i).state.index == 1)
			break;
	}
	assert_int_equal(fb_get(&f->be, (unsigned int)i).state.num, 5);
	vhu_get_stats(f->h, &st);
	assert_int_equal(st.connects, 2);
	assert_int_equal(st.disconnects, 1);
	assert_int_equal(st.starts, 2);
	fx_free(f);
}

/* The inode of fd: a memfd's is its own (eventfds share one), so it tells fds apart. */
static ino_t ino(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

/* The last SET_VRING_CALL for ring `ring` at or after record `from`, or -1. */
static int last_call(struct fb *b, unsigned int ring, unsigned int from)
{
	int found = -1;

	for (int i = find(b, VU_SET_VRING_CALL, from); i >= 0;
	     i = find(b, VU_SET_VRING_CALL, (unsigned int)i + 1))
		if ((fb_get(b, (unsigned int)i).u64 & VU_VRING_IDX_MASK) == ring)
			found = i;
	return found;
}

/* Record i is SET_VRING_CALL for `ring` carrying the fd whose inode is `want`. */
static void expect_call(struct fb *b, int i, unsigned int ring, ino_t want)
{
	struct fb_rec r;

	assert_true(i >= 0);
	r = fb_get(b, (unsigned int)i);
	assert_int_equal(r.request, VU_SET_VRING_CALL);
	assert_int_equal(r.u64, ring); /* the index, and no NOFD bit */
	assert_int_equal(r.nfds, 1);
	assert_int_equal(r.fd_st[0].st_ino, want);
}

/*
 * The guest moves a queue's vector after DRIVER_OK: exactly one
 * SET_VRING_CALL for that ring with the new fd while the rings run;
 * nothing before DRIVER_OK, for the same fd again or for a queue beyond
 * the device's; with no backend connected the new fd is remembered and the
 * rings restart with it when one comes back.
 */
static void test_set_call(void **state)
{
	struct fx *f = fx_new();
	int a = memfd_create("call-a", MFD_CLOEXEC), b = memfd_create("call-b", MFD_CLOEXEC);
	unsigned int from;

	(void)state;
	assert_true(a >= 0 && b >= 0);
	/* Before DRIVER_OK: not recorded, the start hands over the queues' own. */
	vhu_set_call(f->h, 1, a);
	be_connect(f, BACKEND_F);
	assert_int_equal(vhu_start(f->h, GUEST_F, f->q, NQ), 0);
	assert_true(wait_atomic(&f->ups, 1, 2000));
	assert_int_equal(fb_count(&f->be, VU_SET_VRING_CALL), NQ);
	assert_int_not_equal(fb_get(&f->be, (unsigned int)last_call(&f->be, 1, 0)).fd_st[0].st_ino,
			     ino(a));
	/* Queue 1 moves: one SET_VRING_CALL, ring 1, fd a. */
	from = fb_count(&f->be, 0);
	vhu_set_call(f->h, 1, a);
	assert_true(fb_wait(&f->be, VU_SET_VRING_CALL, NQ + 1, 2000));
	/* The same fd again, a queue beyond the device's: nothing. */
	vhu_set_call(f->h, 1, a);
	vhu_set_call(f->h, NQ, b);
	usleep(100000);
	assert_int_equal(fb_count(&f->be, VU_SET_VRING_CALL), NQ + 1);
	assert_int_equal(fb_count(&f->be, 0), from + 1);
	expect_call(&f->be, (int)from, 1, ino(a));
	assert_true(vhu_link_up(f->h));
	/* The backend leaves; queue 2 moves meanwhile: nothing to send it to. */
	be_leave(f);
	assert_true(wait_atomic(&f->downs, 1, 2000));
	vhu_set_call(f->h, 2, b);
	usleep(50000);
	/* A backend comes back: the rings restart with the calls as they are now. */
	be_connect(f, BACKEND_F);
	assert_true(wait_atomic(&f->ups, 2, 2000));
	assert_int_equal(fb_count(&f->be, VU_SET_VRING_CALL), NQ);
	expect_call(&f->be, last_call(&f->be, 1, 0), 1, ino(a));
	expect_call(&f->be, last_call(&f->be, 2, 0), 2, ino(b));
	expect_call(&f->be, last_call(&f->be, 0, 0), 0, ino(f->q[0].call_fd));
	/* After a reset the device's queues are forgotten: a move is not sent. */
	vhu_stop(f->h);
	from = fb_count(&f->be, 0);
	vhu_set_call(f->h, 0, a);
	usleep(50000);
	assert_int_equal(fb_count(&f->be, 0), from);
	fx_free(f);
	close(a);
	close(b);
}

/* A backend without EVENT_IDX, which the guest took: no rings, link down. */
static void test_backend_lacks(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	be_connect(f, BACKEND_F & ~B(29));
	assert_true(fb_wait(&f->be, VU_SET_OWNER, 1, 2000));
	assert_int_equal(vhu_start(f->h, GUEST_F, f->q, NQ), 0);
	/* Give the loop time to run the request. */
	usleep(200000);
	assert_int_equal(fb_count(&f->be, VU_SET_FEATURES), 0);
	assert_int_equal(fb_count(&f->be, VU_SET_VRING_KICK), 0);
	assert_false(vhu_link_up(f->h));
	assert_int_equal(vhu_backend_features(f->h), BACKEND_F & ~B(29));
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_stop),
		cmocka_unit_test(test_reconnect),
		cmocka_unit_test(test_backend_lacks),
		cmocka_unit_test(test_set_call),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
