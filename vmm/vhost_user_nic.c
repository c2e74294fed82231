/* SPDX-License-Identifier: BSD-3-Clause */
/* vhost mode of a virtio-net NIC: the controller between device and socket (see the header). */
#define LOG_COMPONENT "vhost-user"
#include "vmm/vhost_user_nic.h"
#include "common/log.h"
#include "vmm/vhost_user.h"
#include "vmm/vhost_user_sock.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BIT64(n) (1ull << (n))

/*
 * The virtio features that shape what the backend does with the rings
 * (VIRTIO 1.2, 5.1.3 and 6): offloads, buffer layout, notification
 * suppression, MTU, multiqueue. The rest (MAC, STATUS, the control queue's)
 * is the device model's business and is not passed on.
 */
#define VHU_DATAPATH_FEATURES                                                                   \
	(BIT64(0) | BIT64(1) | BIT64(3) | BIT64(7) | BIT64(8) | BIT64(9) | BIT64(10) |         \
	 BIT64(11) | BIT64(12) | BIT64(13) | BIT64(14) | BIT64(15) | BIT64(22) | BIT64(28) | \
	 BIT64(29) | BIT64(32))
#define VHU_WANT_PROTOCOL                                                                   \
	(BIT64(VU_PROTOCOL_F_MQ) | BIT64(VU_PROTOCOL_F_REPLY_ACK) | BIT64(VU_PROTOCOL_F_NET_MTU))

/* Work the device asks of the loop thread. */
#define W_START 1u
#define W_PAIRS 2u
#define W_STOP 4u
#define W_CALL 8u
_Static_assert(VHU_MAX_QUEUES <= 32, "call_dirty has one bit per queue");
#define VHU_STOP_WAIT_MS 10000 /* a stop that takes longer is given up (logged) */

struct vhu {
	pthread_mutex_t lock;
	pthread_cond_t stopped;	 /* signalled when stop_done reaches stop_seq */
	struct ev_event *work;	 /* the device's requests, run on the loop thread */
	const struct guest_mem *gm;
	struct vu_sock *sock;
	struct vu_conn conn;
	char path[108];
	struct vhu_config cfg;
	struct vhu_ops ops;
	void *opaque;

	/* Under lock. */
	bool connected;	 /* a backend is on the socket */
	bool handshaken; /* ... and answered the handshake */
	bool started;	 /* the device is at DRIVER_OK: queues below are valid */
	bool running;	 /* the rings run on the backend */
	uint64_t features;
	struct vhu_queue q[VHU_MAX_QUEUES];
	unsigned int nq;
	uint16_t pairs;
	uint32_t call_dirty; /* a bit per queue whose call_fd the backend does not have yet */
	struct vhu_stats stats;
	unsigned int pending; /* W_* */
	uint64_t stop_seq, stop_done;
	bool link; /* atomic for readers */
};

static void set_link(struct vhu *h, bool up)
{
	bool old = __atomic_exchange_n(&h->link, up, __ATOMIC_ACQ_REL);

	if (old != up && h->ops.link)
		h->ops.link(h->opaque, up);
}

/*
 * The session failed: one line, the connection goes (the socket reconnects
 * per its role). Loop thread, lock held (dropped around the socket call,
 * whose disconnected callback takes it).
 */
static void fail(struct vhu *h, const char *what)
{
	log_err("%s: %s: %s: disconnecting", h->path, what, h->conn.err);
	h->stats.sessions_failed++;
	h->running = false;
	h->handshaken = false;
	set_link(h, false);
	pthread_mutex_unlock(&h->lock);
	vu_sock_drop(h->sock);
	pthread_mutex_lock(&h->lock);
}

/*
 * Where a ring restarts: on a fresh start 0; after a reconnection, where
 * the guest's used ring says the last backend stopped (used->idx: a net
 * backend completes in order, so every chain before it is done).
 */
static uint16_t ring_base(struct vhu *h, const struct vhu_queue *q, bool fresh)
{
	uint16_t idx = 0;

	if (fresh)
		return 0;
	/* used->idx at offset 2 of the used ring; the ring was checked inside RAM at start. */
	if (gm_read(h->gm, q->used + 2, &idx, sizeof(idx)) < 0)
		return 0;
	return idx;
}

/* Starts every enabled data queue on the backend. Lock held, connected and handshaken. */
static int run_rings(struct vhu *h, bool fresh)
{
	uint64_t send = h->features & VHU_DATAPATH_FEATURES;
	uint64_t lack = send & ~h->conn.backend_features;
	int ret;

	if (lack) {
		snprintf(h->conn.err, sizeof(h->conn.err),
			 "the backend lacks features 0x%llx the guest negotiated",
			 (unsigned long long)lack);
		log_err("%s: %s: the link stays down", h->path, h->conn.err);
		return -ENOTSUP;
	}
	if (h->conn.queue_num && h->conn.queue_num < h->nq / 2)
		log_warn("%s: the backend serves %u queue pairs, the guest may use %u", h->path,
			 h->conn.queue_num, h->nq / 2);
	ret = vu_conn_set_features(&h->conn, send);
	if (ret == 0)
		ret = vu_conn_set_mem_table(&h->conn, h->gm);
	if (ret == 0 && h->cfg.mtu && (send & BIT64(3)) &&
	    vu_conn_has_protocol(&h->conn, VU_PROTOCOL_F_NET_MTU))
		ret = vu_conn_set_mtu(&h->conn, h->cfg.mtu);
	for (unsigned int i = 0; ret == 0 && i < h->nq; i++) {
		const struct vhu_queue *q = &h->q[i];
		struct vu_vring_cfg rc;

		if (!q->enabled)
			continue;
		rc = (struct vu_vring_cfg){
			.num = q->size,
			.base = ring_base(h, q, fresh),
			.desc_gpa = q->desc,
			.avail_gpa = q->avail,
			.used_gpa = q->used,
			.kick_fd = q->kick_fd,
			.call_fd = q->call_fd,
		};
		ret = vu_conn_vring_start(&h->conn, h->gm, i, &rc);
		/* Pairs beyond the driver's count wait disabled. */
		if (ret == 0 && i / 2 >= h->pairs)
			ret = vu_conn_vring_enable(&h->conn, i, false);
	}
	if (ret < 0)
		return ret;
	h->call_dirty = 0; /* every ring got its current call */
	h->running = true;
	h->stats.starts++;
	log_info("%s: %u rings run on the backend (features 0x%llx)", h->path, h->nq,
		 (unsigned long long)send);
	set_link(h, true);
	return 0;
}

/* Handshake on a new connection, then the rings if the device waits for them. Lock held. */
static void session(struct vhu *h, bool fresh)
{
	int ret;

	if (!h->connected)
		return;
	if (!h->handshaken) {
		ret = vu_conn_handshake(&h->conn, VHU_WANT_PROTOCOL);
		if (ret < 0) {
			fail(h, "handshake");
			return;
		}
		h->handshaken = true;
	}
	if (!h->started || h->running)
		return;
	ret = run_rings(h, fresh);
	if (ret < 0 && ret != -ENOTSUP)
		fail(h, "starting the rings");
}

/* ---- socket callbacks (event loop) ---- */

static void on_connected(void *opaque, int fd)
{
	struct vhu *h = opaque;

	pthread_mutex_lock(&h->lock);
	h->stats.connects++;
	vu_conn_init(&h->conn, fd, h->cfg.timeout_ms);
	h->connected = true;
	h->handshaken = false;
	/* A device already running: the rings continue where the guest's used rings are. */
	session(h, false);
	pthread_mutex_unlock(&h->lock);
}

static void on_disconnected(void *opaque)
{
	struct vhu *h = opaque;

	pthread_mutex_lock(&h->lock);
	h->stats.disconnects++;
	h->connected = false;
	h->handshaken = false;
	h->running = false;
	vu_conn_init(&h->conn, -1, h->cfg.timeout_ms);
	pthread_mutex_unlock(&h->lock);
	set_link(h, false);
}

/* ---- the device's calls: recorded, then run on the loop thread ---- */

/* Stops every running ring. Loop thread, lock held. */
static void stop_rings(struct vhu *h)
{
	for (unsigned int i = 0; h->running && i < h->nq; i++) {
		uint16_t base;

		if (!h->q[i].enabled)
			continue;
		/* The backend lets go of the ring before the device reuses its memory. */
		if (vu_conn_vring_stop(&h->conn, i, &base) < 0) {
			fail(h, "stopping the rings");
			break;
		}
	}
	if (h->running)
		h->stats.stops++;
	h->running = false;
}

static void enable_rings(struct vhu *h)
{
	for (unsigned int i = 0; h->running && i < h->nq; i++) {
		if (!h->q[i].enabled)
			continue;
		if (vu_conn_vring_enable(&h->conn, i, i / 2 < h->pairs) < 0) {
			fail(h, "enabling rings");
			break;
		}
	}
}

/* The calls changed since the rings started, to the running backend. Loop thread, lock held. */
static void send_calls(struct vhu *h)
{
	uint32_t dirty = h->call_dirty;

	h->call_dirty = 0;
	for (unsigned int i = 0; h->running && i < h->nq; i++) {
		if (!(dirty & (1u << i)) || !h->q[i].enabled)
			continue;
		if (vu_conn_vring_call(&h->conn, i, h->q[i].call_fd) < 0) {
			fail(h, "moving a ring's interrupt");
			break;
		}
	}
}

/*
 * The loop thread runs the session: the socket's watch and the session's
 * requests and replies never interleave (a reply read by the watch would
 * look like a message nobody asked for).
 */
static void on_work(struct ev_event *e, void *opaque)
{
	struct vhu *h = opaque;
	unsigned int w;

	(void)e;
	pthread_mutex_lock(&h->lock);
	w = h->pending;
	h->pending = 0;
	if (w & W_STOP) {
		stop_rings(h);
		h->stop_done = h->stop_seq;
		pthread_cond_broadcast(&h->stopped);
	}
	if ((w & W_START) && h->started)
		session(h, true);
	if ((w & W_PAIRS) && h->started)
		enable_rings(h);
	/* Not running: the next start of the rings sends the recorded calls. */
	if ((w & W_CALL) && h->started && h->running)
		send_calls(h);
	pthread_mutex_unlock(&h->lock);
}

static void post(struct vhu *h, unsigned int w)
{
	h->pending |= w;
	evloop_event_signal(h->work);
}

int vhu_start(struct vhu *h, uint64_t features, const struct vhu_queue *queues, unsigned int nq)
{
	if (nq > VHU_MAX_QUEUES)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	h->features = features;
	h->nq = nq;
	memcpy(h->q, queues, nq * sizeof(*queues));
	h->pairs = 1;
	h->call_dirty = 0;
	h->started = true;
	h->running = false;
	post(h, W_START);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

void vhu_set_pairs(struct vhu *h, uint16_t pairs)
{
	pthread_mutex_lock(&h->lock);
	h->pairs = pairs;
	post(h, W_PAIRS);
	pthread_mutex_unlock(&h->lock);
}

void vhu_set_call(struct vhu *h, unsigned int q, int call_fd)
{
	pthread_mutex_lock(&h->lock);
	if (h->started && q < h->nq && h->q[q].enabled && h->q[q].call_fd != call_fd) {
		h->q[q].call_fd = call_fd;
		h->call_dirty |= 1u << q;
		post(h, W_CALL);
	}
	pthread_mutex_unlock(&h->lock);
}

void vhu_stop(struct vhu *h)
{
	struct timespec deadline;
	uint64_t seq;
	int ret = 0;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += VHU_STOP_WAIT_MS / 1000;
	pthread_mutex_lock(&h->lock);
	h->started = false;
	seq = ++h->stop_seq;
	post(h, W_STOP);
	/* Synchronous: the device resets its queues once this returns. */
	while (h->stop_done < seq && ret == 0)
		ret = pthread_cond_timedwait(&h->stopped, &h->lock, &deadline);
	if (h->stop_done < seq)
		log_err("%s: the rings did not stop within %d ms", h->path, VHU_STOP_WAIT_MS);
	pthread_mutex_unlock(&h->lock);
	set_link(h, false);
}

/* ---- life cycle ---- */

struct vhu *vhu_new(struct evloop *loop, const struct guest_mem *gm, const struct vhu_config *cfg,
		    const struct vhu_ops *ops, void *opaque, char *err, size_t err_len)
{
	static const struct vu_sock_ops sock_ops = {
		.connected = on_connected,
		.disconnected = on_disconnected,
	};
	struct vhu *h;

	if (!cfg->path || cfg->queue_pairs == 0 || 2u * cfg->queue_pairs > VHU_MAX_QUEUES) {
		snprintf(err, err_len, "vhost-user: a socket path and 1 to %d queue pairs",
			 VHU_MAX_QUEUES / 2);
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&h->stopped, &ca);
		pthread_condattr_destroy(&ca);
	}
	h->gm = gm;
	h->cfg = *cfg;
	snprintf(h->path, sizeof(h->path), "%s", cfg->path);
	h->cfg.path = h->path;
	if (ops)
		h->ops = *ops;
	h->opaque = opaque;
	vu_conn_init(&h->conn, -1, cfg->timeout_ms);
	h->work = evloop_event_new(loop, on_work, h);
	if (!h->work) {
		snprintf(err, err_len, "cannot create the vhost-user work event");
		goto err;
	}
	h->sock = vu_sock_new(loop, h->path, cfg->server, &sock_ops, h, err, err_len);
	if (!h->sock)
		goto err;
	return h;

err:
	evloop_event_free(h->work);
	pthread_cond_destroy(&h->stopped);
	pthread_mutex_destroy(&h->lock);
	free(h);
	return NULL;
}

void vhu_free(struct vhu *h)
{
	if (!h)
		return;
	vu_sock_free(h->sock);
	evloop_event_free(h->work);
	pthread_cond_destroy(&h->stopped);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

bool vhu_link_up(struct vhu *h)
{
	return __atomic_load_n(&h->link, __ATOMIC_ACQUIRE);
}

uint64_t vhu_backend_features(struct vhu *h)
{
	uint64_t f;

	pthread_mutex_lock(&h->lock);
	f = h->handshaken ? h->conn.backend_features : 0;
	pthread_mutex_unlock(&h->lock);
	return f;
}

void vhu_get_stats(struct vhu *h, struct vhu_stats *st)
{
	pthread_mutex_lock(&h->lock);
	*st = h->stats;
	pthread_mutex_unlock(&h->lock);
}
