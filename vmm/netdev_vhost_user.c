/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user relay backend (see netdev_vhost_user.h): nfv-vmm is the
 * virtio-net driver of one queue pair whose rings and buffers live in a
 * memfd it shares with a vhost-user backend.
 *
 * The shared region (one memfd, MAP_SHARED), at offsets:
 *
 *   0                 queue 0 (receiveq): descriptors, available, used ring
 *   RING_AREA         queue 1 (transmitq): the same
 *   2 * RING_AREA     256 receive buffers, then 256 transmit buffers
 *
 * Each buffer is `stride` bytes (12-byte vnet header, MTU, Ethernet header
 * and a VLAN tag, rounded up to 64); descriptor i of a queue always points
 * at buffer i of that queue, and every chain is that one descriptor. The
 * memory table gives the backend the region with guest_phys_addr ==
 * userspace_addr == our mapping address, so the addresses in descriptors
 * and in SET_VRING_ADDR are plain pointers of ours.
 *
 * Trust. The backend maps the whole region and may write anything into it
 * at any time. We only ever write descriptors and available rings (never
 * read them back), and read the used rings: each used entry is read once
 * into locals and checked (index movement no larger than what is in
 * flight, an id below the ring size that is in flight, a length within
 * the buffer) before anything of it is used; frame contents are data. A
 * violation counts in backend_errors, logs one line and ends the
 * connection; no frame of it reaches the model. Every loop is bounded by
 * the ring size or the receive burst.
 *
 * Each connection gets a fresh region and fresh eventfds: a backend that
 * left (or was thrown out) but still maps the old region, or holds the old
 * eventfds, cannot reach the rings of the next one.
 *
 * Notifications. EVENT_IDX is not negotiated. After publishing available
 * entries we kick the backend (its kick eventfd) unless it set
 * VIRTQ_USED_F_NO_NOTIFY, read after a full fence (DPDK's vhost polls and
 * sets it). The backend calls us through queue 0's call eventfd, watched on
 * the loop. Transmit completions are reclaimed lazily in send() and the
 * transmit ring carries VIRTQ_AVAIL_F_NO_INTERRUPT: transmit buffers are
 * our own copies, nothing waits for them, so an interrupt per completion
 * would only wake the loop for nothing; the ring is harvested when send()
 * needs descriptors (every call: one acquire load of used->idx).
 *
 * Threads and locks:
 *  - the socket, the session (connect, disconnect), the receive ring,
 *    set_rx() and the call eventfd run on the netdev's event loop thread;
 *  - send() runs on model threads, several at once: tx_lock guards the
 *    transmit ring, tx_running, tx_failed, the transmit kick eventfd; the
 *    loop takes it to start and stop the ring. A ring violation found in
 *    send() cannot end the connection there (the socket is the loop's): it
 *    stops the ring under the lock and signals fail_ev, and the loop drops
 *    the connection. Nothing is called under tx_lock (a leaf lock).
 *  - counters are updated with atomics and read from any thread.
 */
#define LOG_COMPONENT "vhost-user"
#include "vmm/netdev_vhost_user.h"
#include "common/guestmem.h"
#include "common/log.h"
#include "nicmodels/virtqueue.h"
#include "vmm/vhost_user.h"
#include "vmm/vhost_user_sock.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#define BIT64(n) (1ull << (n))

#define RING_N NETDEV_VU_RING_SIZE
#define Q_RX 0
#define Q_TX 1
#define VNET_HDR_LEN 12 /* virtio_net_hdr with num_buffers: VERSION_1 */
#define ETH_HLEN 14
#define VLAN_HLEN 4
#define ETH_MIN_MTU 68
#define RX_BURST 64 /* used receive entries handled per wake-up */

#define F_NET_MTU 3    /* VIRTIO_NET_F_MTU */
#define F_VERSION_1 32 /* VIRTIO_F_VERSION_1 */
#define HDR_F_NEEDS_CSUM 1
#define HDR_GSO_NONE 0

/* Split ring (VIRTIO 1.2, 2.7), little-endian as on x86-64. */
struct vud_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vud_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct vud_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vud_used {
	uint16_t flags;
	uint16_t idx;
	struct vud_used_elem ring[];
};

/* Alignments of 2.7: descriptors 16, available 2, used 4; each queue on its own page. */
#define USED_OFF ALIGN_UP(VIRTQ_DESC_BYTES(RING_N) + VIRTQ_AVAIL_BYTES(RING_N), 4ull)
#define RING_AREA ALIGN_UP(USED_OFF + VIRTQ_USED_BYTES(RING_N), 4096ull)

/* The driver's side of one split ring. */
struct dring {
	struct vud_desc *desc;
	struct vud_avail *avail;
	struct vud_used *used;
	uint8_t *bufs; /* buffer i at bufs + i * stride */
	uint32_t stride;
	uint16_t avail_idx; /* next available slot; published by dring_publish() */
	uint16_t last_used; /* next used entry to read */
	uint16_t nfree;
	uint16_t ninflight;
	uint16_t free_ids[RING_N];
	bool inflight[RING_N];
};

struct vu_relay {
	struct vu_sock *sock;
	unsigned int mtu;
	uint32_t buf_len; /* a buffer's useful bytes: header + MTU + Ethernet + VLAN */
	uint32_t stride;

	/* The shared region (loop thread; send() uses it only while tx_running). */
	int memfd;
	uint8_t *mem;
	size_t mem_size;
	bool mem_shared; /* a backend was given it: replaced before the next one */
	struct guest_mem gm;

	/* Session (loop thread). */
	bool session; /* both rings run */
	int kick_fd[2];
	int call_fd[2];
	bool call_watched;

	/* Receive (loop thread). */
	struct dring rx;
	bool rx_enabled;
	bool rx_pending; /* the used entry below was checked but the model had no room */
	uint16_t pend_id;
	uint32_t pend_len;
	struct ev_event *rx_more; /* a burst ended with entries left */

	/* Transmit. */
	pthread_mutex_t tx_lock;
	struct dring tx; /* under tx_lock */
	bool tx_running; /* under tx_lock */
	bool tx_failed;	 /* under tx_lock: send() met a ring violation */
	struct ev_event *fail_ev;

	struct netdev_vu_stats st; /* atomics */
};

static void stat_inc(uint64_t *c, uint64_t v)
{
	__atomic_add_fetch(c, v, __ATOMIC_RELAXED);
}

/* ---- the driver's split ring ---- */

static void dring_place(struct dring *d, uint8_t *base, uint8_t *bufs, uint32_t stride)
{
	d->desc = (struct vud_desc *)base;
	d->avail = (struct vud_avail *)(base + VIRTQ_DESC_BYTES(RING_N));
	d->used = (struct vud_used *)(base + USED_OFF);
	d->bufs = bufs;
	d->stride = stride;
}

/* Empty rings, indices 0, every descriptor free. */
static void dring_reset(struct dring *d)
{
	memset(d->desc, 0, VIRTQ_DESC_BYTES(RING_N));
	memset(d->avail, 0, VIRTQ_AVAIL_BYTES(RING_N));
	memset(d->used, 0, VIRTQ_USED_BYTES(RING_N));
	d->avail_idx = 0;
	d->last_used = 0;
	d->ninflight = 0;
	d->nfree = RING_N;
	for (unsigned int i = 0; i < RING_N; i++) {
		d->free_ids[i] = (uint16_t)(RING_N - 1 - i);
		d->inflight[i] = false;
	}
}

static uint8_t *dring_buf(const struct dring *d, uint16_t id)
{
	return d->bufs + (size_t)id * d->stride;
}

/* Puts descriptor `id` (its buffer, `len` bytes) in the next available slot, unpublished. */
static void dring_post(struct dring *d, uint16_t id, uint32_t len, uint16_t flags)
{
	struct vud_desc *ds = &d->desc[id];

	ds->addr = (uint64_t)(uintptr_t)dring_buf(d, id);
	ds->len = len;
	ds->flags = flags;
	ds->next = 0;
	d->avail->ring[d->avail_idx & (RING_N - 1)] = id;
	d->avail_idx++;
	d->inflight[id] = true;
	d->ninflight++;
}

/* Release: the descriptors and slots before the index the backend reads. */
static void dring_publish(struct dring *d)
{
	__atomic_store_n(&d->avail->idx, d->avail_idx, __ATOMIC_RELEASE);
}

/*
 * After publishing: does the backend want a kick? The full fence orders our
 * avail->idx store before the load of used->flags (2.7.10), or we could
 * miss a backend that just went to sleep.
 */
static bool dring_need_kick(const struct dring *d)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !(__atomic_load_n(&d->used->flags, __ATOMIC_RELAXED) & VIRTQ_USED_F_NO_NOTIFY);
}

/*
 * Reads and checks the next used entry without consuming it. 1 with *id and
 * *len, 0 when there is none, -EPROTO with a reason in why.
 */
static int dring_peek(const struct dring *d, uint32_t max_len, uint16_t *id, uint32_t *len,
		      char *why, size_t why_len)
{
	uint16_t idx = __atomic_load_n(&d->used->idx, __ATOMIC_ACQUIRE);
	uint16_t ready = (uint16_t)(idx - d->last_used);
	const struct vud_used_elem *e;
	uint32_t eid, elen;

	if (ready == 0)
		return 0;
	if (ready > d->ninflight) {
		snprintf(why, why_len, "used index moved by %u with %u buffers in flight", ready,
			 d->ninflight);
		return -EPROTO;
	}
	e = &d->used->ring[d->last_used & (RING_N - 1)];
	eid = __atomic_load_n(&e->id, __ATOMIC_RELAXED);
	elen = __atomic_load_n(&e->len, __ATOMIC_RELAXED);
	if (eid >= RING_N) {
		snprintf(why, why_len, "used id %u beyond the ring of %u", eid, RING_N);
		return -EPROTO;
	}
	if (!d->inflight[eid]) {
		snprintf(why, why_len, "used id %u was not in flight", eid);
		return -EPROTO;
	}
	if (elen > max_len) {
		snprintf(why, why_len, "used length %u beyond the %u-byte buffer", elen, max_len);
		return -EPROTO;
	}
	*id = (uint16_t)eid;
	*len = elen;
	return 1;
}

/* Consumes the entry dring_peek() returned. */
static void dring_consume(struct dring *d, uint16_t id)
{
	d->inflight[id] = false;
	d->ninflight--;
	d->last_used++;
}

static void kick(struct vu_relay *r, unsigned int q)
{
	uint64_t one = 1;

	if (r->kick_fd[q] >= 0 && write(r->kick_fd[q], &one, sizeof(one)) == sizeof(one))
		stat_inc(&r->st.kicks, 1);
}

/* ---- the shared region ---- */

static void region_free(struct vu_relay *r)
{
	if (r->mem)
		munmap(r->mem, r->mem_size);
	if (r->memfd >= 0)
		close(r->memfd);
	r->mem = NULL;
	r->memfd = -1;
	memset(&r->gm, 0, sizeof(r->gm));
}

static int region_new(struct vu_relay *r, char *err, size_t err_len)
{
	size_t size = ALIGN_UP(2 * RING_AREA + 2ull * RING_N * r->stride, 4096ull);
	uint8_t *bufs;
	int ret;

	r->memfd = memfd_create("nfv-vhost-user", MFD_CLOEXEC);
	if (r->memfd < 0) {
		ret = -errno;
		snprintf(err, err_len, "memfd_create: %s", strerror(errno));
		return ret;
	}
	if (ftruncate(r->memfd, (off_t)size) < 0) {
		ret = -errno;
		snprintf(err, err_len, "sizing the shared region to %zu bytes: %s", size,
			 strerror(errno));
		goto fail;
	}
	r->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, r->memfd, 0);
	if (r->mem == MAP_FAILED) {
		ret = -errno;
		r->mem = NULL;
		snprintf(err, err_len, "mapping the shared region (%zu bytes): %s", size,
			 strerror(errno));
		goto fail;
	}
	r->mem_size = size;
	memset(&r->gm, 0, sizeof(r->gm));
	/* "Guest-physical" == our address: the backend's translations give our pointers. */
	ret = gm_add_region(&r->gm, (uint64_t)(uintptr_t)r->mem, size, r->mem, r->memfd, 0);
	if (ret < 0) {
		snprintf(err, err_len, "the shared region at %p cannot be described", r->mem);
		goto fail;
	}
	bufs = r->mem + 2 * RING_AREA;
	dring_place(&r->rx, r->mem, bufs, r->stride);
	dring_place(&r->tx, r->mem + RING_AREA, bufs + (size_t)RING_N * r->stride, r->stride);
	r->mem_shared = false;
	return 0;
fail:
	region_free(r);
	return ret;
}

/* ---- session ---- */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * Stops using the rings and closes the notification descriptors (loop
 * thread). A frame the model had no room for is dropped: it belongs to the
 * connection that ended.
 */
static void session_teardown(struct netdev *nd)
{
	struct vu_relay *r = nd->priv;

	pthread_mutex_lock(&r->tx_lock);
	r->tx_running = false;
	r->tx_failed = false;
	close_fd(&r->kick_fd[Q_TX]);
	pthread_mutex_unlock(&r->tx_lock);
	if (r->call_watched)
		evloop_del_fd(nd->loop, r->call_fd[Q_RX]);
	r->call_watched = false;
	close_fd(&r->kick_fd[Q_RX]);
	close_fd(&r->call_fd[Q_RX]);
	close_fd(&r->call_fd[Q_TX]);
	if (r->rx_pending)
		__atomic_add_fetch(&nd->stats.rx_dropped, 1, __ATOMIC_RELAXED);
	r->rx_pending = false;
	r->session = false;
}

static void ring_cfg(struct vu_relay *r, unsigned int q, struct vu_vring_cfg *cfg)
{
	struct dring *d = q == Q_RX ? &r->rx : &r->tx;

	*cfg = (struct vu_vring_cfg){
		.num = RING_N,
		.base = 0,
		.desc_gpa = (uint64_t)(uintptr_t)d->desc,
		.avail_gpa = (uint64_t)(uintptr_t)d->avail,
		.used_gpa = (uint64_t)(uintptr_t)d->used,
		.kick_fd = r->kick_fd[q],
		.call_fd = r->call_fd[q],
	};
}

static void on_call(int fd, uint32_t events, void *opaque);

/* The whole start-up of a connection; -errno with one line in why. Loop thread. */
static int session_start(struct netdev *nd, int fd, char *why, size_t why_len)
{
	struct vu_relay *r = nd->priv;
	struct vu_conn c;
	struct vu_vring_cfg cfg;
	uint64_t features = BIT64(F_VERSION_1);
	int ret;

	if (r->mem_shared || !r->mem) {
		region_free(r);
		ret = region_new(r, why, why_len);
		if (ret < 0)
			return ret;
	}
	vu_conn_init(&c, fd, VU_DEFAULT_TIMEOUT_MS);
	ret = vu_conn_handshake(&c, BIT64(VU_PROTOCOL_F_REPLY_ACK) | BIT64(VU_PROTOCOL_F_NET_MTU));
	if (ret < 0)
		goto conn_err;
	if (c.backend_features & BIT64(F_NET_MTU))
		features |= BIT64(F_NET_MTU);
	ret = vu_conn_set_features(&c, features);
	if (ret < 0)
		goto conn_err;
	if ((features & BIT64(F_NET_MTU)) && vu_conn_has_protocol(&c, VU_PROTOCOL_F_NET_MTU)) {
		ret = vu_conn_set_mtu(&c, r->mtu);
		if (ret < 0)
			goto conn_err;
	}
	r->mem_shared = true;
	ret = vu_conn_set_mem_table(&c, &r->gm);
	if (ret < 0)
		goto conn_err;

	for (unsigned int q = 0; q < 2; q++) {
		r->kick_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		r->call_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (r->kick_fd[q] < 0 || r->call_fd[q] < 0) {
			ret = -errno;
			snprintf(why, why_len, "eventfd: %s", strerror(errno));
			return ret;
		}
	}

	/* Fresh rings: every receive buffer posted, every transmit descriptor free. */
	dring_reset(&r->rx);
	for (uint16_t id = 0; id < RING_N; id++)
		dring_post(&r->rx, id, r->buf_len, VIRTQ_DESC_F_WRITE);
	dring_publish(&r->rx);
	r->rx_pending = false;
	pthread_mutex_lock(&r->tx_lock);
	dring_reset(&r->tx);
	r->tx.avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT; /* completions are reclaimed in send() */
	r->tx_failed = false;
	pthread_mutex_unlock(&r->tx_lock);

	for (unsigned int q = 0; q < 2; q++) {
		ring_cfg(r, q, &cfg);
		ret = vu_conn_vring_start(&c, &r->gm, q, &cfg);
		if (ret < 0)
			goto conn_err;
	}
	ret = evloop_add_fd(nd->loop, r->call_fd[Q_RX], EPOLLIN, on_call, nd);
	if (ret < 0) {
		snprintf(why, why_len, "cannot watch the receive call eventfd: %s", strerror(-ret));
		return ret;
	}
	r->call_watched = true;

	r->session = true;
	pthread_mutex_lock(&r->tx_lock);
	r->tx_running = true;
	pthread_mutex_unlock(&r->tx_lock);
	/* Receive buffers are waiting: a backend that sleeps until kicked learns it now. */
	if (dring_need_kick(&r->rx))
		kick(r, Q_RX);
	log_info("%s: rings running (features 0x%llx, protocol 0x%llx, MTU %u)", nd->name,
		 (unsigned long long)c.features, (unsigned long long)c.protocol_features, r->mtu);
	netdev_set_link(nd, true);
	return 0;

conn_err:
	snprintf(why, why_len, "%s", c.err);
	return ret;
}

static void on_connected(void *opaque, int fd)
{
	struct netdev *nd = opaque;
	struct vu_relay *r = nd->priv;
	char why[300];
	int ret;

	stat_inc(&r->st.connects, 1);
	why[0] = '\0';
	ret = session_start(nd, fd, why, sizeof(why));
	if (ret < 0) {
		/* A wrong answer or silence is the backend's fault; a lack of memory is ours. */
		if (ret == -EPROTO || ret == -ETIMEDOUT)
			stat_inc(&r->st.backend_errors, 1);
		log_err("%s: backend session failed: %s", nd->name, why[0] ? why : strerror(-ret));
		vu_sock_drop(r->sock); /* on_disconnected() cleans up */
	}
}

static void on_disconnected(void *opaque)
{
	struct netdev *nd = opaque;
	struct vu_relay *r = nd->priv;

	stat_inc(&r->st.disconnects, 1);
	session_teardown(nd);
	netdev_set_link(nd, false);
}

static const struct vu_sock_ops sock_ops = {
	.connected = on_connected,
	.disconnected = on_disconnected,
};

/* A ring violation seen on the loop thread: count, one line, disconnect. */
static void backend_error(struct netdev *nd, const char *why)
{
	struct vu_relay *r = nd->priv;

	stat_inc(&r->st.backend_errors, 1);
	log_err("%s: backend broke the rings (%s): disconnecting", nd->name, why);
	vu_sock_drop(r->sock);
}

/* send() stopped the transmit ring for a violation: end that connection (loop thread). */
static void on_tx_failed(struct ev_event *e, void *opaque)
{
	struct netdev *nd = opaque;
	struct vu_relay *r = nd->priv;
	bool failed;

	(void)e;
	pthread_mutex_lock(&r->tx_lock);
	failed = r->tx_failed;
	r->tx_failed = false;
	pthread_mutex_unlock(&r->tx_lock);
	/* A later connection resets tx_failed: only the offending one is dropped. */
	if (failed && vu_sock_connected(r->sock))
		vu_sock_drop(r->sock);
}

/* ---- receive (loop thread) ---- */

/*
 * Hands the frame in receive buffer `id` (len bytes written, header
 * included) to the model. False when the model has no room (keep it).
 */
static bool rx_deliver(struct netdev *nd, uint16_t id, uint32_t len)
{
	struct vu_relay *r = nd->priv;
	uint8_t *buf = dring_buf(&r->rx, id);
	uint8_t flags, gso;
	struct iovec iov;

	if (len < VNET_HDR_LEN + ETH_HLEN) {
		__atomic_add_fetch(&nd->stats.rx_dropped, 1, __ATOMIC_RELAXED);
		log_warn_rl("%s: dropped a received frame of %u bytes (header included)", nd->name,
			    len);
		return true;
	}
	flags = __atomic_load_n(&buf[0], __ATOMIC_RELAXED);
	gso = __atomic_load_n(&buf[1], __ATOMIC_RELAXED);
	if ((flags & HDR_F_NEEDS_CSUM) || gso != HDR_GSO_NONE) {
		/* No offload was negotiated: the model cannot complete such a frame. */
		__atomic_add_fetch(&nd->stats.rx_dropped, 1, __ATOMIC_RELAXED);
		log_warn_rl("%s: dropped a received frame that needs offloads (flags %#x, gso %#x)",
			    nd->name, flags, gso);
		return true;
	}
	iov = (struct iovec){ .iov_base = buf + VNET_HDR_LEN, .iov_len = len - VNET_HDR_LEN };
	return netdev_deliver(nd, &iov, 1) != 0;
}

/*
 * Delivers at most RX_BURST used receive entries and re-posts their
 * buffers. A frame the model refused (no room) blocks the ring until the
 * model asks for more (`resume`: set_rx(true) through netdev_rx_resume()),
 * as netdev.h says; calls meanwhile only count.
 */
static void rx_run(struct netdev *nd, bool resume)
{
	struct vu_relay *r = nd->priv;
	unsigned int n, posted = 0;
	char why[128];

	if (r->rx_pending && !resume)
		return;
	for (n = 0; n < RX_BURST && r->session && r->rx_enabled; n++) {
		uint16_t id;
		uint32_t len;

		if (r->rx_pending) {
			id = r->pend_id;
			len = r->pend_len;
		} else {
			int ret = dring_peek(&r->rx, r->buf_len, &id, &len, why, sizeof(why));

			if (ret == 0)
				break;
			if (ret < 0) {
				backend_error(nd, why);
				return;
			}
		}
		if (!rx_deliver(nd, id, len)) {
			r->rx_pending = true;
			r->pend_id = id;
			r->pend_len = len;
			break;
		}
		r->rx_pending = false;
		/* receive() cannot end the session, but be sure before touching the ring. */
		if (!r->session)
			return;
		dring_consume(&r->rx, id);
		dring_post(&r->rx, id, r->buf_len, VIRTQ_DESC_F_WRITE);
		posted++;
	}
	if (posted) {
		dring_publish(&r->rx);
		if (dring_need_kick(&r->rx))
			kick(r, Q_RX);
	}
	/* The call for what is left was already read: come back for it. */
	if (n == RX_BURST && r->session && r->rx_enabled)
		evloop_event_signal(r->rx_more);
}

static void on_call(int fd, uint32_t events, void *opaque)
{
	struct netdev *nd = opaque;
	struct vu_relay *r = nd->priv;
	uint64_t v;

	(void)events;
	if (read(fd, &v, sizeof(v)) == sizeof(v))
		stat_inc(&r->st.calls, v);
	rx_run(nd, false);
}

static void on_rx_more(struct ev_event *e, void *opaque)
{
	(void)e;
	rx_run(opaque, false);
}

static void vu_set_rx(struct netdev *nd, bool enable)
{
	struct vu_relay *r = nd->priv;

	r->rx_enabled = enable;
	if (enable)
		rx_run(nd, true);
}

/* ---- transmit (any thread) ---- */

/* Takes back the transmit descriptors the backend used. Under tx_lock. */
static int tx_reclaim(struct vu_relay *r, char *why, size_t why_len)
{
	for (unsigned int i = 0; i < RING_N; i++) {
		uint16_t id;
		uint32_t len;
		int ret = dring_peek(&r->tx, r->buf_len, &id, &len, why, why_len);

		if (ret <= 0)
			return ret;
		dring_consume(&r->tx, id);
		r->tx.free_ids[r->tx.nfree++] = id;
	}
	return 0;
}

static int vu_send(struct netdev *nd, const struct iovec *iov, int iovcnt)
{
	struct vu_relay *r = nd->priv;
	size_t len = 0, max = (size_t)r->mtu + ETH_HLEN + VLAN_HLEN, off;
	char why[128];
	uint8_t *buf;
	uint16_t id;
	int ret;

	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > max || (len += iov[i].iov_len) > max)
			return -EMSGSIZE;
	}
	if (len < ETH_HLEN)
		return -EINVAL;
	pthread_mutex_lock(&r->tx_lock);
	if (!r->tx_running) {
		pthread_mutex_unlock(&r->tx_lock);
		stat_inc(&r->st.tx_no_link, 1);
		return -ENETDOWN;
	}
	ret = tx_reclaim(r, why, sizeof(why));
	if (ret < 0) {
		r->tx_running = false;
		r->tx_failed = true;
		pthread_mutex_unlock(&r->tx_lock);
		stat_inc(&r->st.backend_errors, 1);
		log_err("%s: backend broke the rings (%s): disconnecting", nd->name, why);
		evloop_event_signal(r->fail_ev);
		return -ENETDOWN;
	}
	if (r->tx.nfree == 0) {
		pthread_mutex_unlock(&r->tx_lock);
		stat_inc(&r->st.tx_ring_full, 1);
		return -EAGAIN;
	}
	id = r->tx.free_ids[--r->tx.nfree];
	/* A copy: the model's iovec is free on return, whenever the backend reads. */
	buf = dring_buf(&r->tx, id);
	memset(buf, 0, VNET_HDR_LEN);
	off = VNET_HDR_LEN;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(buf + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	dring_post(&r->tx, id, (uint32_t)off, 0);
	dring_publish(&r->tx);
	if (dring_need_kick(&r->tx))
		kick(r, Q_TX);
	pthread_mutex_unlock(&r->tx_lock);
	return 0;
}

/* ---- life cycle ---- */

static void vu_close(struct netdev *nd)
{
	struct vu_relay *r = nd->priv;

	/* No disconnected() callback from here: tear the session down ourselves. */
	vu_sock_free(r->sock);
	r->sock = NULL;
	session_teardown(nd);
	evloop_event_free(r->rx_more);
	evloop_event_free(r->fail_ev);
	region_free(r);
	pthread_mutex_destroy(&r->tx_lock);
}

static const struct netdev_ops vu_ops = {
	.type = "vhost-user",
	.send = vu_send,
	.set_rx = vu_set_rx,
	.set_vnet_hdr = NULL, /* no offloads: models will not offer them */
	.close = vu_close,
};

int netdev_vhost_user_open(struct evloop *loop, const struct netdev_vu_config *cfg,
			   struct netdev **ndp, char *err, size_t err_len)
{
	unsigned int mtu = cfg->mtu ? cfg->mtu : NETDEV_VU_DEFAULT_MTU;
	const char *base;
	char name[64];
	struct netdev *nd;
	struct vu_relay *r;
	int ret;

	if (!cfg->path || !cfg->path[0]) {
		snprintf(err, err_len, "vhost-user: no socket path");
		return -EINVAL;
	}
	if (mtu < ETH_MIN_MTU || mtu > NETDEV_VU_MAX_MTU) {
		snprintf(err, err_len, "vhost-user: MTU %u out of range (%d to %d)", mtu,
			 ETH_MIN_MTU, NETDEV_VU_MAX_MTU);
		return -EINVAL;
	}
	base = strrchr(cfg->path, '/');
	base = base && base[1] ? base + 1 : cfg->path;
	snprintf(name, sizeof(name), "vhost-user:%.40s", base);
	nd = netdev_alloc(&vu_ops, name, loop, sizeof(*r));
	if (!nd) {
		snprintf(err, err_len, "vhost-user: out of memory");
		return -ENOMEM;
	}
	nd->link_up = false; /* up once a backend runs the rings */
	r = nd->priv;
	r->mtu = mtu;
	r->buf_len = VNET_HDR_LEN + mtu + ETH_HLEN + VLAN_HLEN;
	r->stride = ALIGN_UP(r->buf_len, 64u);
	r->memfd = -1;
	r->kick_fd[0] = r->kick_fd[1] = r->call_fd[0] = r->call_fd[1] = -1;
	r->rx_enabled = true;
	pthread_mutex_init(&r->tx_lock, NULL);

	ret = region_new(r, err, err_len);
	if (ret < 0)
		goto fail;
	r->rx_more = evloop_event_new(loop, on_rx_more, nd);
	r->fail_ev = evloop_event_new(loop, on_tx_failed, nd);
	if (!r->rx_more || !r->fail_ev) {
		snprintf(err, err_len, "vhost-user: cannot create loop events");
		ret = -ENOMEM;
		goto fail;
	}
	r->sock = vu_sock_new(loop, cfg->path, cfg->server, &sock_ops, nd, err, err_len);
	if (!r->sock) {
		ret = -EIO;
		goto fail;
	}
	*ndp = nd;
	return 0;
fail:
	netdev_close(nd);
	return ret;
}

int netdev_vhost_user_stats(struct netdev *nd, struct netdev_vu_stats *st)
{
	struct vu_relay *r;

	if (!nd || nd->ops != &vu_ops)
		return -EINVAL;
	r = nd->priv;
	st->connects = __atomic_load_n(&r->st.connects, __ATOMIC_RELAXED);
	st->disconnects = __atomic_load_n(&r->st.disconnects, __ATOMIC_RELAXED);
	st->tx_no_link = __atomic_load_n(&r->st.tx_no_link, __ATOMIC_RELAXED);
	st->tx_ring_full = __atomic_load_n(&r->st.tx_ring_full, __ATOMIC_RELAXED);
	st->kicks = __atomic_load_n(&r->st.kicks, __ATOMIC_RELAXED);
	st->calls = __atomic_load_n(&r->st.calls, __ATOMIC_RELAXED);
	st->backend_errors = __atomic_load_n(&r->st.backend_errors, __ATOMIC_RELAXED);
	return 0;
}
