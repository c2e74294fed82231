// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for the vhost-user relay netdev (vmm/netdev_vhost_user.c)
 * against a fake vhost-user backend over a real Unix socket in a private
 * temporary directory, in both roles (the relay listens and the test dials,
 * or the test listens and the relay dials). The backend answers the
 * control messages in a thread, maps the memory region it is given and
 * then, driven by the test, plays the device on the rings: it takes frames
 * from the transmitq, writes frames into receiveq buffers and writes the
 * call eventfd. The relay runs on an event loop in its own thread; a fake
 * model records what it receives and can refuse frames (flow control).
 * Hostile backends write used entries the relay never posted, lengths
 * beyond the buffers, or a used index that jumps.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/evloop.h"
#include "common/log.h"
#include "nicmodels/virtqueue.h"
#include "vmm/netdev.h"
#include "vmm/netdev_vhost_user.h"
#include "vmm/vhost_user_msg.h"
#include "vmm/vhost_user_sock.h"

#define B(n) (1ull << (n))
#define HDR 12
#define MAXF 512
#define FRAME_CAP 2048
#define WAIT_MS 3000

/* ---- time ---- */

static int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Polls `cond` every millisecond for at most `ms`; its last value. */
#define WAIT_FOR(cond, ms)                                        \
	({                                                        \
		int64_t deadline__ = ms_now() + (ms);             \
		bool ok__;                                        \
		while (!(ok__ = (cond)) && ms_now() < deadline__) \
			sleep_ms(1);                              \
		ok__;                                             \
	})

/* ---- the fake model ---- */

struct model {
	pthread_mutex_t lock;
	bool hold;	       /* receive() says "no room" */
	unsigned int attempts; /* receive() calls */
	unsigned int nframes;
	size_t lens[MAXF];
	uint8_t frames[MAXF][FRAME_CAP];
	bool link;
	unsigned int link_changes;
};

static ssize_t model_receive(void *opaque, const struct iovec *iov, int iovcnt)
{
	struct model *m = opaque;
	size_t len = 0;

	pthread_mutex_lock(&m->lock);
	m->attempts++;
	if (m->hold) {
		pthread_mutex_unlock(&m->lock);
		return 0;
	}
	if (m->nframes < MAXF) {
		for (int i = 0; i < iovcnt; i++) {
			if (len + iov[i].iov_len <= FRAME_CAP)
				memcpy(m->frames[m->nframes] + len, iov[i].iov_base,
				       iov[i].iov_len);
			len += iov[i].iov_len;
		}
		m->lens[m->nframes++] = len;
	}
	pthread_mutex_unlock(&m->lock);
	return (ssize_t)len;
}

static void model_link(void *opaque, bool up)
{
	struct model *m = opaque;

	pthread_mutex_lock(&m->lock);
	m->link = up;
	m->link_changes++;
	pthread_mutex_unlock(&m->lock);
}

static unsigned int model_nframes(struct model *m)
{
	unsigned int n;

	pthread_mutex_lock(&m->lock);
	n = m->nframes;
	pthread_mutex_unlock(&m->lock);
	return n;
}

static unsigned int model_attempts(struct model *m)
{
	unsigned int n;

	pthread_mutex_lock(&m->lock);
	n = m->attempts;
	pthread_mutex_unlock(&m->lock);
	return n;
}

static bool model_link_is(struct model *m, bool up)
{
	bool l;

	pthread_mutex_lock(&m->lock);
	l = m->link;
	pthread_mutex_unlock(&m->lock);
	return l == up;
}

static void model_hold(struct model *m, bool hold)
{
	pthread_mutex_lock(&m->lock);
	m->hold = hold;
	pthread_mutex_unlock(&m->lock);
}

/* ---- the fake backend ---- */

struct be_queue {
	uint16_t num;
	uint64_t desc, avail, used; /* the frontend's addresses */
	int kick, call;
	bool enabled;
	uint16_t last_avail, used_idx; /* device state, test thread */
};

struct be {
	int sock;
	pthread_t thr;
	bool thr_running;
	int stop;		     /* atomic */
	uint64_t features, protocol; /* offered */
	uint64_t acked_features, acked_protocol;
	uint64_t mtu;
	/* The memory region. */
	uint8_t *map;
	size_t map_len;
	struct vu_mem_region reg;
	struct be_queue q[2];
	int ready;	   /* atomic: both rings enabled */
	uint32_t nack_req; /* a request answered with a non-zero ack */
};

static void be_reply(struct be *b, uint32_t req, uint64_t v)
{
	struct vu_msg r;

	vu_msg_u64(&r, req, v, false);
	r.flags = VU_VERSION | VU_FLAG_REPLY;
	if (vu_msg_send(b->sock, &r, 1000) < 0)
		__atomic_store_n(&b->stop, 1, __ATOMIC_RELEASE); /* the relay went away */
}

static void be_handle(struct be *b, struct vu_msg *m)
{
	uint32_t qi = m->payload.state.index & 1;
	int fd = m->nfds ? m->fds[0] : -1;

	switch (m->request) {
	case VU_GET_FEATURES: be_reply(b, m->request, b->features); return;
	case VU_GET_PROTOCOL_FEATURES: be_reply(b, m->request, b->protocol); return;
	case VU_SET_PROTOCOL_FEATURES: b->acked_protocol = m->payload.u64; break;
	case VU_SET_FEATURES: b->acked_features = m->payload.u64; break;
	case VU_NET_SET_MTU: b->mtu = m->payload.u64; break;
	case VU_SET_MEM_TABLE:
		/* No cmocka assertions off the test's thread: a bad table leaves map NULL. */
		if (m->payload.mem.nregions != 1 || m->nfds != 1 || b->map)
			break;
		b->reg = m->payload.mem.regions[0];
		b->map_len = b->reg.memory_size + b->reg.mmap_offset;
		b->map = mmap(NULL, b->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (b->map == MAP_FAILED)
			b->map = NULL;
		break;
	case VU_SET_VRING_NUM: b->q[qi].num = (uint16_t)m->payload.state.num; break;
	case VU_SET_VRING_ADDR:
		qi = m->payload.addr.index & 1;
		b->q[qi].desc = m->payload.addr.desc_user_addr;
		b->q[qi].avail = m->payload.addr.avail_user_addr;
		b->q[qi].used = m->payload.addr.used_user_addr;
		break;
	case VU_SET_VRING_KICK:
	case VU_SET_VRING_CALL:
		qi = m->payload.u64 & 1;
		if (m->request == VU_SET_VRING_KICK)
			b->q[qi].kick = fd;
		else
			b->q[qi].call = fd;
		m->nfds = 0; /* kept */
		break;
	case VU_SET_VRING_ENABLE:
		b->q[qi].enabled = m->payload.state.num != 0;
		if (b->q[0].enabled && b->q[1].enabled)
			__atomic_store_n(&b->ready, 1, __ATOMIC_RELEASE);
		break;
	default: break;
	}
	vu_msg_close_fds(m);
	if (m->flags & VU_FLAG_NEED_REPLY)
		be_reply(b, m->request, m->request == b->nack_req);
}

static void *be_main(void *arg)
{
	struct be *b = arg;
	struct vu_msg m;
	char err[160];

	while (!__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE)) {
		int ret = vu_msg_recv(b->sock, &m, false, VU_MAX_FDS, 100, err, sizeof(err));

		if (ret == -ETIMEDOUT)
			continue;
		if (ret < 0)
			break;
		be_handle(b, &m);
	}
	return NULL;
}

static struct be *be_start(int sock, uint32_t nack_req)
{
	struct be *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	b->sock = sock;
	b->nack_req = nack_req;
	b->features = B(32) | B(VU_F_PROTOCOL_FEATURES) | B(3);
	b->protocol = B(VU_PROTOCOL_F_REPLY_ACK) | B(VU_PROTOCOL_F_NET_MTU) | B(VU_PROTOCOL_F_MQ);
	for (int i = 0; i < 2; i++)
		b->q[i].kick = b->q[i].call = -1;
	assert_int_equal(pthread_create(&b->thr, NULL, be_main, b), 0);
	b->thr_running = true;
	return b;
}

static bool be_ready(struct be *b)
{
	return __atomic_load_n(&b->ready, __ATOMIC_ACQUIRE) != 0 && b->map;
}

/* The backend goes away: its thread ends, the socket closes, the mapping goes. */
static void be_free(struct be *b)
{
	if (!b)
		return;
	__atomic_store_n(&b->stop, 1, __ATOMIC_RELEASE);
	shutdown(b->sock, SHUT_RDWR);
	if (b->thr_running)
		pthread_join(b->thr, NULL);
	close(b->sock);
	for (int i = 0; i < 2; i++) {
		if (b->q[i].kick >= 0)
			close(b->q[i].kick);
		if (b->q[i].call >= 0)
			close(b->q[i].call);
	}
	if (b->map)
		munmap(b->map, b->map_len);
	free(b);
}

/* A frontend address (rings: userspace_addr; buffers: guest_phys_addr, the same here). */
static void *be_ptr(struct be *b, uint64_t addr, uint64_t len)
{
	assert_true(addr >= b->reg.userspace_addr);
	assert_true(addr + len <= b->reg.userspace_addr + b->reg.memory_size);
	assert_int_equal(b->reg.userspace_addr, b->reg.guest_phys_addr);
	return b->map + b->reg.mmap_offset + (addr - b->reg.userspace_addr);
}

struct ring {
	uint8_t *desc, *avail, *used;
	uint16_t num;
};

static struct ring be_ring(struct be *b, int qi)
{
	struct be_queue *q = &b->q[qi];

	return (struct ring){
		.desc = be_ptr(b, q->desc, VIRTQ_DESC_BYTES(q->num)),
		.avail = be_ptr(b, q->avail, VIRTQ_AVAIL_BYTES(q->num)),
		.used = be_ptr(b, q->used, VIRTQ_USED_BYTES(q->num)),
		.num = q->num,
	};
}

static uint16_t avail_idx(struct ring *r)
{
	return __atomic_load_n((uint16_t *)(r->avail + 2), __ATOMIC_ACQUIRE);
}

/* Waits for the next available head of queue qi; -1 when none comes. */
static int be_next_avail(struct be *b, int qi, struct ring *r)
{
	struct be_queue *q = &b->q[qi];
	uint16_t head;

	if (!WAIT_FOR(avail_idx(r) != q->last_avail, WAIT_MS))
		return -1;
	memcpy(&head, r->avail + 4 + 2 * (q->last_avail % r->num), 2);
	q->last_avail++;
	assert_true(head < r->num);
	return head;
}

/* Writes a used element and publishes it (release), then the call unless suppressed. */
static void be_used(struct be *b, int qi, struct ring *r, uint32_t id, uint32_t len,
		    uint16_t advance)
{
	struct be_queue *q = &b->q[qi];
	uint8_t *e = r->used + 4 + 8 * (q->used_idx % r->num);
	uint16_t flags;
	uint64_t one = 1;

	memcpy(e, &id, 4);
	memcpy(e + 4, &len, 4);
	q->used_idx = (uint16_t)(q->used_idx + advance);
	__atomic_store_n((uint16_t *)(r->used + 2), q->used_idx, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	memcpy(&flags, r->avail, 2);
	if (!(flags & VIRTQ_AVAIL_F_NO_INTERRUPT))
		assert_int_equal(write(q->call, &one, 8), 8);
}

/* Takes the next frame from the transmitq: its length (header stripped), or -1. */
static int be_tx_pop(struct be *b, uint8_t *out, size_t cap)
{
	struct ring r = be_ring(b, 1);
	int head = be_next_avail(b, 1, &r);
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint8_t *p;

	if (head < 0)
		return -1;
	memcpy(&addr, r.desc + 16 * head, 8);
	memcpy(&len, r.desc + 16 * head + 8, 4);
	memcpy(&flags, r.desc + 16 * head + 12, 2);
	assert_int_equal(flags, 0); /* one device-readable descriptor */
	assert_true(len >= HDR);
	p = be_ptr(b, addr, len);
	for (int i = 0; i < HDR; i++)
		assert_int_equal(p[i], 0);
	assert_true(len - HDR <= cap);
	memcpy(out, p + HDR, len - HDR);
	be_used(b, 1, &r, (uint32_t)head, 0, 1);
	return (int)(len - HDR);
}

/* Writes a frame into the next receive buffer and calls. 0, or -1 without a buffer. */
static int be_rx_push(struct be *b, const uint8_t *frame, size_t len)
{
	struct ring r = be_ring(b, 0);
	int head = be_next_avail(b, 0, &r);
	uint64_t addr;
	uint32_t dlen;
	uint16_t flags;
	uint8_t *p;

	if (head < 0)
		return -1;
	memcpy(&addr, r.desc + 16 * head, 8);
	memcpy(&dlen, r.desc + 16 * head + 8, 4);
	memcpy(&flags, r.desc + 16 * head + 12, 2);
	assert_int_equal(flags, VIRTQ_DESC_F_WRITE);
	assert_true(dlen >= HDR + len);
	p = be_ptr(b, addr, dlen);
	memset(p, 0, HDR);
	p[10] = 1; /* num_buffers */
	memcpy(p + HDR, frame, len);
	be_used(b, 0, &r, (uint32_t)head, (uint32_t)(HDR + len), 1);
	return 0;
}

/* ---- fixture ---- */

struct fx {
	char dir[64];
	char path[100];
	bool server;
	struct evloop *loop;
	pthread_t loop_thr;
	struct netdev *nd;
	struct model *m;
	struct be *be;
	int listen_fd;	   /* server=off: the test's listening socket */
	uint32_t nack_req; /* given to the next backend */
};

static void *loop_main(void *arg)
{
	evloop_run(arg);
	return NULL;
}

static int unix_socket(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	return fd;
}

static struct sockaddr_un addr_of(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	return sa;
}

/* A backend arrives: dials the relay (server=on) or is dialled by it (server=off). */
static void fx_backend(struct fx *f)
{
	struct sockaddr_un sa = addr_of(f->path);
	int fd;

	if (f->server) {
		fd = unix_socket();
		assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	} else {
		struct pollfd p = { .fd = f->listen_fd, .events = POLLIN };

		/* The relay retries every second after a failure. */
		assert_int_equal(poll(&p, 1, 2 * VU_SOCK_RETRY_MS), 1);
		fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		assert_true(fd >= 0);
	}
	f->be = be_start(fd, f->nack_req);
}

static struct fx *fx_new(bool server, bool connect)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct netdev_vu_config cfg = { 0 };
	struct netdev_peer peer;
	char err[256];

	assert_non_null(f);
	log_set_level(getenv("NFV_TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	f->m = calloc(1, sizeof(*f->m));
	assert_non_null(f->m);
	pthread_mutex_init(&f->m->lock, NULL);
	snprintf(f->dir, sizeof(f->dir), "/tmp/nfv-vurelay-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/vu.sock", f->dir);
	f->server = server;
	f->listen_fd = -1;
	if (!server) {
		struct sockaddr_un sa = addr_of(f->path);

		f->listen_fd = unix_socket();
		assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		assert_int_equal(listen(f->listen_fd, 4), 0);
	}
	f->loop = evloop_new();
	assert_non_null(f->loop);
	cfg.path = f->path;
	cfg.server = server;
	assert_int_equal(netdev_vhost_user_open(f->loop, &cfg, &f->nd, err, sizeof(err)), 0);
	assert_false(f->nd->link_up);
	assert_null(f->nd->ops->set_vnet_hdr);
	peer = (struct netdev_peer){ .receive = model_receive,
				     .link_changed = model_link,
				     .opaque = f->m };
	netdev_attach(f->nd, &peer);
	assert_int_equal(pthread_create(&f->loop_thr, NULL, loop_main, f->loop), 0);
	if (connect) {
		fx_backend(f);
		assert_true(WAIT_FOR(be_ready(f->be) && model_link_is(f->m, true), WAIT_MS));
	}
	return f;
}

static void fx_free(struct fx *f)
{
	evloop_stop(f->loop);
	pthread_join(f->loop_thr, NULL);
	netdev_close(f->nd);
	be_free(f->be);
	evloop_free(f->loop);
	if (f->listen_fd >= 0)
		close(f->listen_fd);
	unlink(f->path);
	rmdir(f->dir);
	pthread_mutex_destroy(&f->m->lock);
	free(f->m);
	free(f);
}

static struct netdev_vu_stats vstats(struct fx *f)
{
	struct netdev_vu_stats st;

	assert_int_equal(netdev_vhost_user_stats(f->nd, &st), 0);
	return st;
}

static uint64_t nd_stat(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* A recognisable frame: length 60..1514 by n, bytes from n. */
static size_t make_frame(uint8_t *buf, unsigned int n)
{
	size_t len = 60 + (n * 97) % (1514 - 60 + 1);

	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(n * 31 + i * 7 + (i >> 8));
	return len;
}

static int send_frame(struct fx *f, const uint8_t *buf, size_t len)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)buf, .iov_len = 6 }, /* split: iovecs are gathered */
		{ .iov_base = (void *)(buf + 6), .iov_len = len - 6 },
	};

	return netdev_send(f->nd, iov, 2);
}

/* n frames each way, byte-exact; RX goes past the ring size when n allows. */
static void traffic(struct fx *f, unsigned int n, unsigned int seed)
{
	uint8_t buf[FRAME_CAP], out[FRAME_CAP];
	unsigned int base = model_nframes(f->m);

	for (unsigned int i = 0; i < n; i++) {
		size_t len = make_frame(buf, seed + i);

		assert_int_equal(send_frame(f, buf, len), 0);
		assert_int_equal(be_tx_pop(f->be, out, sizeof(out)), (int)len);
		assert_memory_equal(out, buf, len);
	}
	for (unsigned int i = 0; i < n; i++) {
		size_t len = make_frame(buf, seed + 1000 + i);

		assert_int_equal(be_rx_push(f->be, buf, len), 0);
	}
	assert_true(WAIT_FOR(model_nframes(f->m) == base + n, WAIT_MS));
	for (unsigned int i = 0; i < n; i++) {
		size_t len = make_frame(buf, seed + 1000 + i);

		assert_int_equal(f->m->lens[base + i], len);
		assert_memory_equal(f->m->frames[base + i], buf, len);
	}
}

/* ---- tests ---- */

static void test_open_bad_config(void **state)
{
	struct evloop *loop = evloop_new();
	struct netdev_vu_config cfg = { .path = "/tmp/x.sock", .server = true, .mtu = 20 };
	struct netdev *nd = NULL;
	char err[256];

	(void)state;
	log_set_level(LOG_LVL_ERR);
	assert_int_equal(netdev_vhost_user_open(loop, &cfg, &nd, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "MTU"));
	cfg.mtu = NETDEV_VU_MAX_MTU + 1;
	assert_int_equal(netdev_vhost_user_open(loop, &cfg, &nd, err, sizeof(err)), -EINVAL);
	cfg.mtu = 0;
	cfg.path = "";
	assert_int_equal(netdev_vhost_user_open(loop, &cfg, &nd, err, sizeof(err)), -EINVAL);
	cfg.path = "/nonexistent-dir/sub/vu.sock";
	assert_true(netdev_vhost_user_open(loop, &cfg, &nd, err, sizeof(err)) < 0);
	assert_null(nd);
	evloop_free(loop);
}

static void test_stats_wrong_type(void **state)
{
	struct netdev_vu_stats st;

	(void)state;
	assert_int_equal(netdev_vhost_user_stats(NULL, &st), -EINVAL);
}

static void check_negotiated(struct fx *f)
{
	struct netdev_vu_stats st = vstats(f);

	assert_true(f->be->acked_features & B(32));
	assert_true(f->be->acked_features & B(3)); /* MTU: offered, taken */
	assert_true(f->be->acked_protocol & B(VU_PROTOCOL_F_REPLY_ACK));
	assert_false(f->be->acked_protocol & B(VU_PROTOCOL_F_MQ));
	assert_int_equal(f->be->mtu, NETDEV_VU_DEFAULT_MTU);
	assert_int_equal(f->be->q[0].num, NETDEV_VU_RING_SIZE);
	assert_int_equal(f->be->q[1].num, NETDEV_VU_RING_SIZE);
	assert_true(f->be->q[0].kick >= 0 && f->be->q[0].call >= 0);
	assert_true(f->be->q[1].kick >= 0 && f->be->q[1].call >= 0);
	assert_int_equal(st.connects, 1);
	assert_int_equal(st.backend_errors, 0);
}

static void test_server_traffic(void **state)
{
	struct fx *f = fx_new(true, true);

	(void)state;
	check_negotiated(f);
	traffic(f, 100, 1);
	/* More than a ring's worth of receive buffers: they are re-posted. */
	traffic(f, 300, 5000);
	assert_int_equal(nd_stat(&f->nd->stats.tx_packets), 400);
	assert_int_equal(nd_stat(&f->nd->stats.rx_packets), 400);
	assert_true(vstats(f).calls >= 1);
	fx_free(f);
}

static void test_client_traffic(void **state)
{
	struct fx *f = fx_new(false, true);

	(void)state;
	check_negotiated(f);
	traffic(f, 100, 7);
	fx_free(f);
}

static void test_flow_control(void **state)
{
	struct fx *f = fx_new(true, true);
	uint8_t a[FRAME_CAP], b[FRAME_CAP];
	size_t la = make_frame(a, 11), lb = make_frame(b, 12);

	(void)state;
	model_hold(f->m, true);
	assert_int_equal(be_rx_push(f->be, a, la), 0);
	assert_true(WAIT_FOR(model_attempts(f->m) == 1, WAIT_MS));
	/* Another frame and its call: the refused one blocks the ring, nothing is retried. */
	assert_int_equal(be_rx_push(f->be, b, lb), 0);
	assert_true(WAIT_FOR(vstats(f).calls >= 2, WAIT_MS));
	sleep_ms(50);
	assert_int_equal(model_attempts(f->m), 1);
	assert_int_equal(model_nframes(f->m), 0);
	assert_int_equal(nd_stat(&f->nd->stats.rx_dropped), 0);
	/* Room again: the kept frame first, then the next. */
	model_hold(f->m, false);
	netdev_rx_resume(f->nd);
	assert_true(WAIT_FOR(model_nframes(f->m) == 2, WAIT_MS));
	assert_int_equal(f->m->lens[0], la);
	assert_memory_equal(f->m->frames[0], a, la);
	assert_int_equal(f->m->lens[1], lb);
	assert_memory_equal(f->m->frames[1], b, lb);
	fx_free(f);
}

static void disconnect_reconnect(bool server)
{
	struct fx *f = fx_new(server, true);
	uint8_t buf[FRAME_CAP];
	size_t len = make_frame(buf, 3);
	struct netdev_vu_stats st;

	traffic(f, 5, 100);
	be_free(f->be);
	f->be = NULL;
	assert_true(WAIT_FOR(model_link_is(f->m, false), WAIT_MS));
	assert_false(f->nd->link_up);
	assert_int_equal(send_frame(f, buf, len), -ENETDOWN);
	assert_int_equal(send_frame(f, buf, len), -ENETDOWN);
	st = vstats(f);
	assert_int_equal(st.tx_no_link, 2);
	assert_int_equal(st.disconnects, 1);
	assert_int_equal(nd_stat(&f->nd->stats.tx_dropped), 2);

	fx_backend(f);
	assert_true(WAIT_FOR(be_ready(f->be) && model_link_is(f->m, true), WAIT_MS));
	traffic(f, 100, 200);
	st = vstats(f);
	assert_int_equal(st.connects, 2);
	assert_int_equal(st.backend_errors, 0);
	fx_free(f);
}

static void test_reconnect_server(void **state)
{
	(void)state;
	disconnect_reconnect(true);
}

static void test_reconnect_client(void **state)
{
	(void)state;
	disconnect_reconnect(false);
}

/* After a violation: one error, link down, nothing delivered. */
static void expect_thrown_out(struct fx *f)
{
	assert_true(WAIT_FOR(model_link_is(f->m, false), WAIT_MS));
	assert_int_equal(vstats(f).backend_errors, 1);
	assert_int_equal(vstats(f).disconnects, 1);
	sleep_ms(20);
	assert_int_equal(model_attempts(f->m), 0);
	assert_int_equal(nd_stat(&f->nd->stats.rx_packets), 0);
}

static void test_hostile_rx_id_beyond_ring(void **state)
{
	struct fx *f = fx_new(true, true);
	struct ring r = be_ring(f->be, 0);

	(void)state;
	be_used(f->be, 0, &r, NETDEV_VU_RING_SIZE + 44, HDR + 60, 1);
	expect_thrown_out(f);
	fx_free(f);
}

static void test_hostile_rx_len(void **state)
{
	struct fx *f = fx_new(true, true);
	struct ring r = be_ring(f->be, 0);
	int head = be_next_avail(f->be, 0, &r);

	(void)state;
	assert_true(head >= 0);
	be_used(f->be, 0, &r, (uint32_t)head, 100000, 1);
	expect_thrown_out(f);
	fx_free(f);
}

static void test_hostile_rx_used_jump(void **state)
{
	struct fx *f = fx_new(false, true);
	struct ring r = be_ring(f->be, 0);

	(void)state;
	be_used(f->be, 0, &r, 0, HDR + 60, NETDEV_VU_RING_SIZE + 1);
	expect_thrown_out(f);
	fx_free(f);
}

static void test_hostile_tx_id_not_in_flight(void **state)
{
	struct fx *f = fx_new(true, true);
	uint8_t buf[FRAME_CAP];
	size_t len = make_frame(buf, 4);
	struct ring r = be_ring(f->be, 1);
	uint16_t head;

	(void)state;
	assert_int_equal(send_frame(f, buf, len), 0);
	memcpy(&head, r.avail + 4, 2);
	/* A used entry for a descriptor the relay never made available. */
	be_used(f->be, 1, &r, (uint32_t)(head + 7) % NETDEV_VU_RING_SIZE, 0, 1);
	assert_int_equal(send_frame(f, buf, len), -ENETDOWN);
	assert_int_equal(vstats(f).backend_errors, 1);
	assert_true(WAIT_FOR(model_link_is(f->m, false), WAIT_MS));
	assert_int_equal(vstats(f).disconnects, 1);
	assert_int_equal(send_frame(f, buf, len), -ENETDOWN);
	assert_int_equal(vstats(f).tx_no_link, 1);
	assert_int_equal(model_attempts(f->m), 0);
	fx_free(f);
}

/* A backend that refuses the memory table: no link, one error, disconnected. */
static void test_hostile_handshake_nack(void **state)
{
	struct fx *f = fx_new(true, false);

	(void)state;
	f->nack_req = VU_SET_MEM_TABLE;
	fx_backend(f);
	assert_true(WAIT_FOR(vstats(f).disconnects == 1, WAIT_MS));
	assert_int_equal(vstats(f).backend_errors, 1);
	assert_int_equal(vstats(f).connects, 1);
	assert_false(f->nd->link_up);
	assert_int_equal(f->m->link_changes, 0);
	assert_false(be_ready(f->be));
	fx_free(f);
}

static void test_ring_full(void **state)
{
	struct fx *f = fx_new(true, true);
	uint8_t buf[FRAME_CAP], out[FRAME_CAP];
	size_t len = make_frame(buf, 8);

	(void)state;
	for (unsigned int i = 0; i < NETDEV_VU_RING_SIZE; i++)
		assert_int_equal(send_frame(f, buf, len), 0);
	assert_int_equal(send_frame(f, buf, len), -EAGAIN);
	assert_int_equal(send_frame(f, buf, len), -EAGAIN);
	assert_int_equal(vstats(f).tx_ring_full, 2);
	assert_int_equal(nd_stat(&f->nd->stats.tx_dropped), 0); /* -EAGAIN: not taken */
	/* The backend consumes one: a descriptor comes back on the next send. */
	assert_int_equal(be_tx_pop(f->be, out, sizeof(out)), (int)len);
	assert_int_equal(send_frame(f, buf, len), 0);
	assert_int_equal(send_frame(f, buf, len), -EAGAIN);
	for (unsigned int i = 0; i < NETDEV_VU_RING_SIZE; i++)
		assert_int_equal(be_tx_pop(f->be, out, sizeof(out)), (int)len);
	assert_true(f->nd->link_up);
	assert_int_equal(vstats(f).backend_errors, 0);
	fx_free(f);
}

static void test_send_limits(void **state)
{
	struct fx *f = fx_new(true, true);
	static uint8_t big[NETDEV_VU_DEFAULT_MTU + 14 + 4 + 1];
	uint8_t out[FRAME_CAP];

	(void)state;
	/* MTU + Ethernet + a VLAN tag fits; one more byte does not. */
	assert_int_equal(send_frame(f, big, sizeof(big)), -EMSGSIZE);
	assert_int_equal(send_frame(f, big, sizeof(big) - 1), 0);
	assert_int_equal(be_tx_pop(f->be, out, sizeof(out)), (int)sizeof(big) - 1);
	assert_int_equal(send_frame(f, big, 10), -EINVAL);
	assert_int_equal(netdev_set_vnet_hdr(f->nd, 12, 0), -ENOTSUP);
	fx_free(f);
}

/* Transmit completions are not interrupts: the transmit ring says so. */
static void test_tx_no_interrupt(void **state)
{
	struct fx *f = fx_new(true, true);
	struct ring t = be_ring(f->be, 1), r = be_ring(f->be, 0);
	uint16_t tflags, rflags;

	(void)state;
	memcpy(&tflags, t.avail, 2);
	memcpy(&rflags, r.avail, 2);
	assert_int_equal(tflags & VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_AVAIL_F_NO_INTERRUPT);
	assert_int_equal(rflags & VIRTQ_AVAIL_F_NO_INTERRUPT, 0);
	fx_free(f);
}

/* A backend that sets NO_NOTIFY gets no kicks; one that does not, gets them. */
static void test_kick_suppression(void **state)
{
	struct fx *f = fx_new(true, true);
	uint8_t buf[FRAME_CAP], out[FRAME_CAP];
	size_t len = make_frame(buf, 21);
	struct ring t = be_ring(f->be, 1);
	uint64_t kicks, v;
	uint16_t no_notify = VIRTQ_USED_F_NO_NOTIFY;

	(void)state;
	kicks = vstats(f).kicks;
	assert_int_equal(send_frame(f, buf, len), 0);
	assert_int_equal(vstats(f).kicks, kicks + 1);
	assert_int_equal(read(f->be->q[1].kick, &v, 8), 8);
	assert_int_equal(be_tx_pop(f->be, out, sizeof(out)), (int)len);
	__atomic_store_n((uint16_t *)t.used, no_notify, __ATOMIC_RELEASE);
	assert_int_equal(send_frame(f, buf, len), 0);
	assert_int_equal(vstats(f).kicks, kicks + 1);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_bad_config),
		cmocka_unit_test(test_stats_wrong_type),
		cmocka_unit_test(test_server_traffic),
		cmocka_unit_test(test_client_traffic),
		cmocka_unit_test(test_flow_control),
		cmocka_unit_test(test_reconnect_server),
		cmocka_unit_test(test_reconnect_client),
		cmocka_unit_test(test_hostile_rx_id_beyond_ring),
		cmocka_unit_test(test_hostile_rx_len),
		cmocka_unit_test(test_hostile_rx_used_jump),
		cmocka_unit_test(test_hostile_tx_id_not_in_flight),
		cmocka_unit_test(test_hostile_handshake_nack),
		cmocka_unit_test(test_ring_full),
		cmocka_unit_test(test_send_limits),
		cmocka_unit_test(test_tx_no_interrupt),
		cmocka_unit_test(test_kick_suppression),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
