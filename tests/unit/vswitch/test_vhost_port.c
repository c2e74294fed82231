/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The switch's vhost-user ports (vswitch/vhost_port.c) on DPDK's rte_vhost,
 * with EAL started without hugepages. The guest's side is the VMM's
 * vhost-user frontend (vmm/vhost_user.c) over guest memory in a memfd; the
 * test lays out the split rings in that memory and plays the guest's
 * driver. Covered: settings refused with a message and nothing left
 * behind, the features offered (no offloads, mergeable RX buffers), the
 * link following the device (up only with both rings of pair 0, down when
 * the guest goes, up again on a new connection), a ring the guest disables,
 * one frame each way with its bytes checked in the mbuf and in guest
 * memory, the guest asked not to kick on every ring the port polls (rings
 * started after the device came up at the next periodic call), TX without a device leaving the mbuf to the caller, closing a
 * port with a device connected, and a client port dialling (and redialling)
 * a socket the test listens on. Sockets live in a private temporary
 * directory, removed at the end. The datapath's quiescent-state variable
 * has the test thread as its one reader, online only around a burst.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>

#include "common/guestmem.h"
#include "tests/unit/support/eal_test.h"
#include "vmm/vhost_user.h"
#include "vswitch/sw_config.h"
#include "vswitch/vhost_port.h"

#define POOL_SIZE 511u
#define WAIT_MS 5000   /* every wait for rte_vhost's thread */
#define RAM (4u << 20) /* guest memory */
#define QSZ 256	       /* ring entries */
#define BUF_LEN 2048u  /* a guest RX buffer */
#define HDR_LEN 12u    /* virtio_net_hdr_mrg_rxbuf: VERSION_1 and MRG_RXBUF */
#define RING_GPA(r) (0x10000ull + (uint64_t)(r)*0x10000) /* desc, avail +4K, used +8K */
#define BUF_GPA(r) (0x100000ull + (uint64_t)(r)*0x10000)

static struct rte_mempool *pool;
static struct rte_rcu_qsbr *qsv;
static char dir[64];

/* The guest's side of one connection. */
struct guest {
	int memfd;
	uint8_t *ram;
	struct guest_mem gm;
	int sock;
	struct vu_conn c;
};

static int group_setup(void **state)
{
	size_t sz = rte_rcu_qsbr_get_memsize(1);

	(void)state;
	if (eal_test_init("test_vhost_port") < 0)
		return -1;
	snprintf(dir, sizeof(dir), "/tmp/vhost_port_XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	pool = rte_pktmbuf_pool_create("vhost_test_pool", POOL_SIZE, 0, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	qsv = rte_zmalloc("vhost_test_qsv", sz, RTE_CACHE_LINE_SIZE);
	if (!pool || !qsv || rte_rcu_qsbr_init(qsv, 1) || rte_rcu_qsbr_thread_register(qsv, 0))
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	char path[sizeof(dir) + 256];
	struct dirent *e;
	unsigned left = 0;
	DIR *d;

	(void)state;
	rte_rcu_qsbr_thread_unregister(qsv, 0);
	rte_free(qsv);
	rte_mempool_free(pool);
	/* Every test removes what it made: anything still here (after a test
	 * failed half-way) is removed, and fails the group. */
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fprintf(stderr, "left behind: %s\n", path);
		unlink(path);
		left++;
	}
	if (d)
		closedir(d);
	return rmdir(dir) || left ? -1 : 0;
}

static void sock_path(char *buf, size_t len, const char *file)
{
	snprintf(buf, len, "%s/%s", dir, file);
}

static void port_cfg(struct sw_port_cfg *cfg, const char *name, const char *file, bool server,
		     uint16_t queues)
{
	sw_port_cfg_init(cfg);
	snprintf(cfg->name, sizeof(cfg->name), "%s", name);
	cfg->type = SW_PORT_VHOST_USER;
	sock_path(cfg->path, sizeof(cfg->path), file);
	cfg->server = server;
	cfg->queues = queues;
}

/* A port of `queues` pairs that must open. */
static struct sw_vhost *open_port_q(const char *name, const char *file, bool server,
				    uint16_t queues)
{
	struct sw_port_cfg cfg;
	struct sw_vhost *v = NULL;
	char err[256] = "";

	port_cfg(&cfg, name, file, server, queues);
	if (sw_vhost_open(&cfg, pool, qsv, &v, err, sizeof(err)))
		fail_msg("%s", err);
	assert_non_null(v);
	return v;
}

static struct sw_vhost *open_port(const char *name, const char *file, bool server)
{
	return open_port_q(name, file, server, 1);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Waits (at most ms, in 1 ms steps) for the link to be `up`. */
static bool wait_link(const struct sw_vhost *v, bool up, unsigned ms)
{
	for (unsigned i = 0; i <= ms; i++) {
		if (sw_vhost_link_up(v) == up)
			return true;
		sleep_ms(1);
	}
	return false;
}

/* Waits for the port's flag of `ring` to be `val` (rte_vhost's thread sets it). */
static bool wait_ready(const struct sw_vhost *v, uint16_t ring, uint8_t val, unsigned ms)
{
	for (unsigned i = 0; i <= ms; i++) {
		if (__atomic_load_n(&v->ready[ring], __ATOMIC_RELAXED) == val)
			return true;
		sleep_ms(1);
	}
	return false;
}

/* True when fd has something to read (or EOF) within ms. */
static bool readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* The peer closed fd within WAIT_MS. */
static void assert_eof(int fd)
{
	char c;

	assert_true(readable(fd, WAIT_MS));
	assert_int_equal(recv(fd, &c, 1, MSG_DONTWAIT), 0);
}

static int dial(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static int listen_on(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/* The port's connection on the listening socket, within WAIT_MS. */
static int accept_port(int lfd)
{
	int fd;

	assert_true(readable(lfd, WAIT_MS));
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* Bursts as a polling thread makes them: online (on qsv) only around the call. */
static uint16_t rx_burst_q(struct sw_vhost *v, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t got;

	rte_rcu_qsbr_thread_online(qsv, 0);
	got = sw_vhost_rx(v, q, pkts, n);
	rte_rcu_qsbr_quiescent(qsv, 0);
	rte_rcu_qsbr_thread_offline(qsv, 0);
	return got;
}

static uint16_t tx_burst_q(struct sw_vhost *v, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t sent;

	rte_rcu_qsbr_thread_online(qsv, 0);
	sent = sw_vhost_tx(v, q, pkts, n);
	rte_rcu_qsbr_quiescent(qsv, 0);
	rte_rcu_qsbr_thread_offline(qsv, 0);
	return sent;
}

static uint16_t rx_burst(struct sw_vhost *v, struct rte_mbuf **pkts, uint16_t n)
{
	return rx_burst_q(v, 0, pkts, n);
}

static uint16_t tx_burst(struct sw_vhost *v, struct rte_mbuf **pkts, uint16_t n)
{
	return tx_burst_q(v, 0, pkts, n);
}

static void guest_mem_init(struct guest *g)
{
	memset(g, 0, sizeof(*g));
	g->sock = -1;
	g->memfd = memfd_create("guest_ram", MFD_CLOEXEC);
	assert_true(g->memfd >= 0);
	assert_int_equal(ftruncate(g->memfd, RAM), 0);
	g->ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_SHARED, g->memfd, 0);
	assert_true(g->ram != MAP_FAILED);
	assert_int_equal(gm_add_region(&g->gm, 0, RAM, g->ram, g->memfd, 0), 0);
}

static void guest_mem_free(struct guest *g)
{
	if (g->sock >= 0)
		close(g->sock);
	munmap(g->ram, RAM);
	close(g->memfd);
}

/* Takes the connected socket and does the handshake. */
static void guest_handshake(struct guest *g, int sock)
{
	g->sock = sock;
	vu_conn_init(&g->c, sock, WAIT_MS);
	if (vu_conn_handshake(&g->c,
			      (1ull << VU_PROTOCOL_F_REPLY_ACK) | (1ull << VU_PROTOCOL_F_MQ)))
		fail_msg("handshake: %s", g->c.err);
}

static void guest_close(struct guest *g)
{
	close(g->sock);
	g->sock = -1;
}

static struct vring_desc *ring_desc(struct guest *g, unsigned r)
{
	return (struct vring_desc *)(g->ram + RING_GPA(r));
}

static struct vring_avail *ring_avail(struct guest *g, unsigned r)
{
	return (struct vring_avail *)(g->ram + RING_GPA(r) + 0x1000);
}

static struct vring_used *ring_used(struct guest *g, unsigned r)
{
	return (struct vring_used *)(g->ram + RING_GPA(r) + 0x2000);
}

/* Ring r emptied and started (SET_VRING_ENABLE 1 too when PROTOCOL_FEATURES was agreed). */
static void guest_ring_start(struct guest *g, unsigned r)
{
	struct vu_vring_cfg rc = { .num = QSZ,
				   .base = 0,
				   .desc_gpa = RING_GPA(r),
				   .avail_gpa = RING_GPA(r) + 0x1000,
				   .used_gpa = RING_GPA(r) + 0x2000,
				   .kick_fd = -1,
				   .call_fd = -1 };

	memset(g->ram + RING_GPA(r), 0, 0x3000);
	if (vu_conn_vring_start(&g->c, &g->gm, r, &rc))
		fail_msg("ring %u: %s", r, g->c.err);
}

static void guest_features_mem(struct guest *g)
{
	if (vu_conn_set_features(&g->c,
				 (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_NET_F_MRG_RXBUF)))
		fail_msg("features: %s", g->c.err);
	if (vu_conn_set_mem_table(&g->c, &g->gm))
		fail_msg("mem table: %s", g->c.err);
}

/* Features, memory, both rings of pair 0; the link is up within WAIT_MS. */
static void guest_start(struct guest *g, struct sw_vhost *v)
{
	guest_features_mem(g);
	guest_ring_start(g, 0);
	guest_ring_start(g, 1);
	assert_true(wait_link(v, true, WAIT_MS));
	assert_true(wait_ready(v, SW_VHOST_TX_VRING(0), 1, WAIT_MS));
	assert_true(wait_ready(v, SW_VHOST_RX_VRING(0), 1, WAIT_MS));
}

/* Puts one buffer in ring r: desc `slot` at gpa, len bytes. */
static void guest_post(struct guest *g, unsigned r, uint16_t slot, uint64_t gpa, uint32_t len,
		       bool writable)
{
	struct vring_desc *d = ring_desc(g, r);
	struct vring_avail *a = ring_avail(g, r);
	uint16_t idx = a->idx;

	d[slot].addr = gpa;
	d[slot].len = len;
	d[slot].flags = writable ? VRING_DESC_F_WRITE : 0;
	d[slot].next = 0;
	a->ring[idx % QSZ] = slot;
	__atomic_store_n(&a->idx, (uint16_t)(idx + 1), __ATOMIC_RELEASE);
}

/* A frame of len bytes: two MACs, an experimental EtherType, then `seed` counting up. */
static void frame_bytes(uint8_t *p, unsigned len, uint8_t seed)
{
	static const uint8_t head[14] = {
		0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xb5
	};

	memcpy(p, head, sizeof(head));
	for (unsigned i = sizeof(head); i < len; i++)
		p[i] = (uint8_t)(seed + i);
}

static struct rte_mbuf *frame_mbuf(unsigned len, uint8_t seed)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p;

	assert_non_null(m);
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
	assert_non_null(p);
	frame_bytes(p, len, seed);
	return m;
}

static void assert_pool_full(void)
{
	assert_int_equal(rte_mempool_avail_count(pool), POOL_SIZE);
}

static void test_bad_settings(void **state)
{
	struct sw_port_cfg cfg;
	struct sw_vhost *v = (struct sw_vhost *)&v, *w;
	char err[256], path[SW_PATH_MAX];
	int rc, fd;

	(void)state;
	/* Queue counts out of 1..SW_MAX_QUEUES. */
	port_cfg(&cfg, "badq0", "q.sock", true, 0);
	err[0] = 0;
	assert_int_equal(sw_vhost_open(&cfg, pool, qsv, &v, err, sizeof(err)), -EINVAL);
	assert_null(v);
	assert_non_null(strstr(err, "badq0"));
	assert_non_null(strstr(err, "queues"));
	port_cfg(&cfg, "badq17", "q.sock", true, SW_MAX_QUEUES + 1);
	err[0] = 0;
	v = (struct sw_vhost *)&v;
	assert_int_equal(sw_vhost_open(&cfg, pool, qsv, &v, err, sizeof(err)), -EINVAL);
	assert_null(v);
	assert_non_null(strstr(err, "badq17"));
	sock_path(path, sizeof(path), "q.sock");
	assert_int_equal(access(path, F_OK), -1);

	/* The largest queue count is taken. */
	port_cfg(&cfg, "maxq", "q.sock", true, SW_MAX_QUEUES);
	assert_int_equal(sw_vhost_open(&cfg, pool, qsv, &v, err, sizeof(err)), 0);
	assert_non_null(v);
	assert_int_equal(v->n_queues, SW_MAX_QUEUES);
	assert_false(sw_vhost_link_up(v));
	/* A second port on the same socket is refused, naming both. */
	port_cfg(&cfg, "dup", "q.sock", true, 1);
	err[0] = 0;
	assert_int_equal(sw_vhost_open(&cfg, pool, qsv, &w, err, sizeof(err)), -EEXIST);
	assert_null(w);
	assert_non_null(strstr(err, "dup"));
	assert_non_null(strstr(err, "maxq"));
	sw_vhost_close(v);
	assert_int_equal(access(path, F_OK), -1);

	/* A server socket in a directory that is not there: twice the same
	 * error (nothing of the first attempt is in the way of the second). */
	for (int i = 0; i < 2; i++) {
		port_cfg(&cfg, "nodir", "missing/x.sock", true, 1);
		err[0] = 0;
		v = (struct sw_vhost *)&v;
		rc = sw_vhost_open(&cfg, pool, qsv, &v, err, sizeof(err));
		assert_int_equal(rc, -ENOENT);
		assert_null(v);
		assert_non_null(strstr(err, "nodir"));
		assert_non_null(strstr(err, "missing/x.sock"));
	}
	/* A path another socket listens on is refused, and that socket stays. */
	sock_path(path, sizeof(path), "taken.sock");
	fd = listen_on(path);
	port_cfg(&cfg, "taken", "taken.sock", true, 1);
	err[0] = 0;
	v = (struct sw_vhost *)&v;
	assert_int_equal(sw_vhost_open(&cfg, pool, qsv, &v, err, sizeof(err)), -EADDRINUSE);
	assert_null(v);
	assert_non_null(strstr(err, "taken"));
	assert_non_null(strstr(err, "another process is listening"));
	assert_int_equal(access(path, F_OK), 0);
	/* Once that process is gone its socket file is stale: replaced. */
	close(fd);
	assert_int_equal(access(path, F_OK), 0);
	v = open_port("taken", "taken.sock", true);
	sw_vhost_close(v);
	assert_int_equal(access(path, F_OK), -1);
	/* A file that is not a socket is refused and kept. */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	port_cfg(&cfg, "file", "taken.sock", true, 1);
	err[0] = 0;
	assert_int_equal(sw_vhost_open(&cfg, pool, qsv, &v, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "not a socket"));
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);

	/* After all that a valid port opens, under a name used above. */
	v = open_port("nodir", "ok.sock", true);
	sock_path(path, sizeof(path), "ok.sock");
	assert_int_equal(access(path, F_OK), 0);
	assert_false(sw_vhost_link_up(v));
	sw_vhost_close(v);
	assert_int_equal(access(path, F_OK), -1);
	sw_vhost_close(NULL);
	assert_false(sw_vhost_link_up(NULL));
	assert_pool_full();
}

static void test_features(void **state)
{
	static const unsigned offloads[] = {
		VIRTIO_NET_F_CSUM,	 VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_TSO4,
		VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_GUEST_ECN,  VIRTIO_NET_F_GUEST_UFO,
		VIRTIO_NET_F_HOST_TSO4,	 VIRTIO_NET_F_HOST_TSO6,  VIRTIO_NET_F_HOST_ECN,
		VIRTIO_NET_F_HOST_UFO,
	};
	struct sw_vhost *v = open_port("feat", "feat.sock", true);
	char path[SW_PATH_MAX];
	struct guest g;
	uint64_t f;

	(void)state;
	sock_path(path, sizeof(path), "feat.sock");
	guest_mem_init(&g);
	guest_handshake(&g, dial(path));
	f = g.c.backend_features;
	assert_true(f & (1ull << VIRTIO_F_VERSION_1));
	assert_true(f & (1ull << VIRTIO_NET_F_MRG_RXBUF));
	for (unsigned i = 0; i < sizeof(offloads) / sizeof(offloads[0]); i++)
		if (f & (1ull << offloads[i]))
			fail_msg("offload feature bit %u offered (features 0x%llx)", offloads[i],
				 (unsigned long long)f);
	/* Asking for one anyway is refused on the frontend's side. */
	assert_int_equal(vu_conn_set_features(&g.c, (1ull << VIRTIO_F_VERSION_1) |
							    (1ull << VIRTIO_NET_F_CSUM)),
			 -ENOTSUP);
	assert_false(sw_vhost_link_up(v));
	/* Closed with a connection there but no device: returns all the same. */
	sw_vhost_close(v);
	assert_int_equal(access(path, F_OK), -1);
	guest_close(&g);
	guest_mem_free(&g);
}

static void test_link(void **state)
{
	struct sw_vhost *v = open_port("link", "link.sock", true);
	char path[SW_PATH_MAX];
	struct guest g, g2;
	int vid;

	(void)state;
	sock_path(path, sizeof(path), "link.sock");
	guest_mem_init(&g);
	assert_false(sw_vhost_link_up(v));
	guest_handshake(&g, dial(path));
	assert_false(sw_vhost_link_up(v));
	guest_features_mem(&g);
	guest_ring_start(&g, 0);
	/* One ring of the pair is not a device yet (its enable is already seen). */
	assert_true(wait_ready(v, 0, 1, WAIT_MS));
	sleep_ms(100);
	assert_false(sw_vhost_link_up(v));
	assert_int_equal(v->ready[1], 0);
	guest_ring_start(&g, 1);
	assert_true(wait_link(v, true, WAIT_MS));
	assert_true(wait_ready(v, 0, 1, WAIT_MS));
	assert_true(wait_ready(v, 1, 1, WAIT_MS));
	assert_int_equal(v->connects, 1);

	/* The guest goes: the link goes down and the rings are forgotten. */
	guest_close(&g);
	assert_true(wait_link(v, false, WAIT_MS));
	assert_true(wait_ready(v, 0, 0, WAIT_MS));
	assert_true(wait_ready(v, 1, 0, WAIT_MS));

	/* It comes back on a new connection. */
	guest_handshake(&g, dial(path));
	guest_start(&g, v);
	assert_int_equal(v->connects, 2);
	vid = v->vid;

	/* A second guest on the same socket is refused: the first keeps the
	 * port, its rings included, and keeps it when the second goes. */
	guest_mem_init(&g2);
	guest_handshake(&g2, dial(path));
	guest_features_mem(&g2);
	guest_ring_start(&g2, 0);
	guest_ring_start(&g2, 1);
	assert_true(g2.c.features & (1ull << VU_F_PROTOCOL_FEATURES));
	assert_int_equal(vu_conn_vring_enable(&g2.c, 0, false), 0);
	assert_int_equal(vu_conn_vring_enable(&g2.c, 0, true), 0);
	guest_close(&g2);
	sleep_ms(100);
	assert_int_equal(v->vid, vid);
	assert_int_equal(v->connects, 2);
	assert_int_equal(v->ready[0], 1);
	assert_int_equal(v->ready[1], 1);
	guest_mem_free(&g2);

	/* Closing the port with the device there: the guest sees the socket
	 * close, the socket file is removed. */
	sw_vhost_close(v);
	assert_eof(g.sock);
	assert_int_equal(access(path, F_OK), -1);
	guest_mem_free(&g);
	assert_pool_full();
}

static bool no_notify(struct guest *g, unsigned r)
{
	return __atomic_load_n(&ring_used(g, r)->flags, __ATOMIC_ACQUIRE) & VRING_USED_F_NO_NOTIFY;
}

/*
 * The guest is asked not to kick on every ring the port polls: pair 0's
 * when the device comes up, a pair started later (as the VMM's frontend
 * starts them, one after the other) at the next periodic call. A pair the
 * port does not serve is left alone.
 */
static void test_quiet_rings(void **state)
{
	struct sw_vhost *v = open_port_q("quiet", "quiet.sock", true, 2), *w;
	char path[SW_PATH_MAX];
	struct guest g;

	(void)state;
	sock_path(path, sizeof(path), "quiet.sock");
	guest_mem_init(&g);
	guest_handshake(&g, dial(path));
	guest_start(&g, v);
	assert_true(no_notify(&g, 0));
	assert_true(no_notify(&g, 1));
	guest_ring_start(&g, 2);
	guest_ring_start(&g, 3);
	assert_true(wait_ready(v, 2, 1, WAIT_MS));
	assert_true(wait_ready(v, 3, 1, WAIT_MS));
	assert_false(no_notify(&g, 2));
	assert_false(no_notify(&g, 3));
	sw_vhost_periodic(v);
	assert_true(no_notify(&g, 2));
	assert_true(no_notify(&g, 3));
	assert_false(v->quieting);
	sw_vhost_close(v);
	assert_eof(g.sock);
	guest_mem_free(&g);

	/* A port of one pair: pair 1 of the guest is neither polled nor touched. */
	w = open_port_q("one", "quiet.sock", true, 1);
	guest_mem_init(&g);
	guest_handshake(&g, dial(path));
	guest_start(&g, w);
	guest_ring_start(&g, 2);
	guest_ring_start(&g, 3);
	for (unsigned i = 0; i < WAIT_MS && !w->told_unserved; i++)
		sleep_ms(1);
	assert_true(w->told_unserved);
	sw_vhost_periodic(w);
	assert_false(no_notify(&g, 2));
	assert_int_equal(w->ready[2], 0);
	sw_vhost_close(w);
	assert_eof(g.sock);
	assert_int_equal(access(path, F_OK), -1);
	guest_mem_free(&g);
	assert_pool_full();
}

static void test_frames(void **state)
{
	struct sw_vhost *v = open_port("frames", "frames.sock", true);
	struct rte_mbuf *pkts[4], *m;
	struct virtio_net_hdr_mrg_rxbuf hdr;
	uint8_t want[64];
	char path[SW_PATH_MAX];
	struct vring_used *used;
	struct guest g;
	uint16_t n = 0;

	(void)state;
	sock_path(path, sizeof(path), "frames.sock");
	/* No device: nothing in, nothing out, the mbuf stays the caller's. */
	m = frame_mbuf(64, 1);
	assert_int_equal(tx_burst(v, &m, 1), 0);
	assert_int_equal(rx_burst(v, pkts, 4), 0);
	rte_pktmbuf_free(m);
	assert_pool_full();

	guest_mem_init(&g);
	guest_handshake(&g, dial(path));
	guest_start(&g, v);

	/* Guest to switch: header and a 60-byte frame in one descriptor of ring 1. */
	memset(g.ram + BUF_GPA(1), 0, HDR_LEN);
	frame_bytes(g.ram + BUF_GPA(1) + HDR_LEN, 60, 7);
	frame_bytes(want, 60, 7);
	guest_post(&g, 1, 0, BUF_GPA(1), HDR_LEN + 60, false);
	for (int i = 0; i < 1000 && n == 0; i++) {
		n = rx_burst(v, pkts, 4);
		if (n == 0)
			sleep_ms(1);
	}
	assert_int_equal(n, 1);
	assert_int_equal(rte_pktmbuf_pkt_len(pkts[0]), 60);
	assert_int_equal(pkts[0]->nb_segs, 1);
	assert_memory_equal(rte_pktmbuf_mtod(pkts[0], const uint8_t *), want, 60);
	rte_pktmbuf_free(pkts[0]);
	used = ring_used(&g, 1);
	assert_int_equal(__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE), 1);
	assert_int_equal(used->ring[0].id, 0);
	assert_int_equal(rx_burst(v, pkts, 4), 0);

	/* Switch to guest: one 2048-byte buffer in ring 0, a 64-byte frame. */
	memset(g.ram + BUF_GPA(0), 0xee, BUF_LEN);
	guest_post(&g, 0, 0, BUF_GPA(0), BUF_LEN, true);
	m = frame_mbuf(64, 40);
	frame_bytes(want, 64, 40);
	assert_int_equal(tx_burst(v, &m, 1), 1);
	used = ring_used(&g, 0);
	assert_int_equal(__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE), 1);
	assert_int_equal(used->ring[0].id, 0);
	assert_int_equal(used->ring[0].len, HDR_LEN + 64);
	memcpy(&hdr, g.ram + BUF_GPA(0), sizeof(hdr));
	assert_int_equal(hdr.num_buffers, 1);
	assert_int_equal(hdr.hdr.flags, 0);
	assert_int_equal(hdr.hdr.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	assert_memory_equal(g.ram + BUF_GPA(0) + HDR_LEN, want, 64);
	assert_int_equal(g.ram[BUF_GPA(0) + HDR_LEN + 64], 0xee);
	/* The port freed the mbuf it sent. */
	assert_pool_full();

	/* No buffer left in ring 0: the frame stays the caller's. */
	m = frame_mbuf(64, 41);
	assert_int_equal(tx_burst(v, &m, 1), 0);
	rte_pktmbuf_free(m);
	assert_pool_full();

	/* The guest disables both rings (SET_VRING_ENABLE 0, as PROTOCOL_FEATURES
	 * is agreed): the device stays, but nothing goes in or out, even with
	 * buffers there. */
	assert_true(g.c.features & (1ull << VU_F_PROTOCOL_FEATURES));
	assert_int_equal(vu_conn_vring_enable(&g.c, 1, false), 0);
	assert_int_equal(vu_conn_vring_enable(&g.c, 0, false), 0);
	assert_true(wait_ready(v, 1, 0, WAIT_MS));
	assert_true(wait_ready(v, 0, 0, WAIT_MS));
	assert_true(sw_vhost_link_up(v));
	guest_post(&g, 1, 1, BUF_GPA(1), HDR_LEN + 60, false);
	guest_post(&g, 0, 1, BUF_GPA(0), BUF_LEN, true);
	assert_int_equal(rx_burst(v, pkts, 4), 0);
	m = frame_mbuf(64, 42);
	assert_int_equal(tx_burst(v, &m, 1), 0);
	rte_pktmbuf_free(m);
	assert_pool_full();
	/* Enabled again, both work. */
	assert_int_equal(vu_conn_vring_enable(&g.c, 1, true), 0);
	assert_int_equal(vu_conn_vring_enable(&g.c, 0, true), 0);
	assert_true(wait_ready(v, 1, 1, WAIT_MS));
	assert_true(wait_ready(v, 0, 1, WAIT_MS));
	assert_int_equal(rx_burst(v, pkts, 4), 1);
	assert_int_equal(rte_pktmbuf_pkt_len(pkts[0]), 60);
	rte_pktmbuf_free(pkts[0]);
	m = frame_mbuf(64, 43);
	assert_int_equal(tx_burst(v, &m, 1), 1);
	assert_int_equal(__atomic_load_n(&ring_used(&g, 0)->idx, __ATOMIC_ACQUIRE), 2);
	assert_int_equal(ring_used(&g, 0)->ring[1].id, 1);
	assert_int_equal(ring_used(&g, 0)->ring[1].len, HDR_LEN + 64);
	assert_pool_full();

	/* Pair 1, which neither the port nor the guest has: nothing to receive,
	 * and what is sent there goes to pair 0. */
	assert_int_equal(rx_burst_q(v, 1, pkts, 4), 0);
	guest_post(&g, 0, 2, BUF_GPA(0) + BUF_LEN, BUF_LEN, true);
	m = frame_mbuf(64, 44);
	frame_bytes(want, 64, 44);
	assert_int_equal(tx_burst_q(v, 1, &m, 1), 1);
	assert_int_equal(__atomic_load_n(&ring_used(&g, 0)->idx, __ATOMIC_ACQUIRE), 3);
	assert_int_equal(ring_used(&g, 0)->ring[2].id, 2);
	assert_memory_equal(g.ram + BUF_GPA(0) + BUF_LEN + HDR_LEN, want, 64);
	assert_pool_full();

	/* The guest goes: a buffer posted before is not reached, TX returns 0. */
	guest_post(&g, 0, 3, BUF_GPA(0), BUF_LEN, true);
	guest_close(&g);
	assert_true(wait_link(v, false, WAIT_MS));
	m = frame_mbuf(64, 45);
	assert_int_equal(tx_burst(v, &m, 1), 0);
	assert_int_equal(rx_burst(v, pkts, 4), 0);
	rte_pktmbuf_free(m);
	assert_pool_full();

	sw_vhost_close(v);
	guest_mem_free(&g);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_client(void **state)
{
	struct sw_vhost *v;
	char path[SW_PATH_MAX];
	struct guest g;
	uint64_t t0;
	int lfd;

	(void)state;
	sock_path(path, sizeof(path), "client.sock");
	lfd = listen_on(path);
	v = open_port("cli", "client.sock", false);
	assert_false(v->server);
	guest_mem_init(&g);
	guest_handshake(&g, accept_port(lfd));
	assert_true(g.c.backend_features & (1ull << VIRTIO_NET_F_MRG_RXBUF));
	assert_false(g.c.backend_features & (1ull << VIRTIO_NET_F_GUEST_TSO4));
	guest_start(&g, v);

	/* The guest drops the connection: link down, and the port dials again. */
	guest_close(&g);
	assert_true(wait_link(v, false, WAIT_MS));
	guest_handshake(&g, accept_port(lfd));
	guest_start(&g, v);
	assert_int_equal(v->connects, 2);

	/* Closing the port while connected returns, and the connection closes. */
	t0 = now_ms();
	sw_vhost_close(v);
	assert_true(now_ms() - t0 < WAIT_MS);
	assert_eof(g.sock);
	/* A closed client port does not dial again (rte_vhost retries each second). */
	assert_false(readable(lfd, 1500));
	/* The listening socket is the test's: still there. */
	assert_int_equal(access(path, F_OK), 0);
	close(lfd);
	unlink(path);
	guest_mem_free(&g);
	assert_pool_full();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_settings),
		cmocka_unit_test(test_features),
		cmocka_unit_test(test_link),
		cmocka_unit_test(test_quiet_rings),
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_client),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
