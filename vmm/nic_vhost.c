/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A virtio-net NIC in vhost mode: eventfds, the controller and the device
 * (see nic_vhost.h).
 *
 * Threads: start/set_pairs/stop/kick come from the device (vCPU or I/O
 * threads, see virtio_net.c), which serialises start, set_pairs and stop;
 * nic_vhost_queue_vector() comes from the transport's queue_vector hook (a
 * vCPU thread, the transport's mutex held, which start and stop hold too);
 * the call eventfds are read on the loop given to nic_vhost_new(); the
 * controller's link callback runs on that loop or on the thread that
 * stopped the rings. vhost-net: the ioctls run on the calling thread (they
 * do not wait for the guest); the tap's link callback comes from tap queue
 * 0's loop with the tap's lock held. vhost-user: the controller's calls
 * only record and post to its loop, except vhu_stop(), which waits for it
 * and is called without vn_lock. One mutex (vn_lock) guards the vhost-net
 * state and each queue's call as handed to the backend (cur_call); lock
 * order: the transport's mutex, the tap's lock, vn_lock, then the
 * controller's lock, the device's, a vector's mutex (the irqfd lookup).
 */
#define LOG_COMPONENT "vhost"
#include "vmm/nic_vhost.h"
#include "common/log.h"
#include "nicmodels/virtio_pci.h"
#include "nicmodels/virtqueue.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct nic_vhost;

struct nv_call {
	struct nic_vhost *v;
	uint16_t q;
};

#define BIT64(n) (1ull << (n))
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VN_HDR_MRG 12 /* struct virtio_net_hdr_mrg_rxbuf: VERSION_1 or MRG_RXBUF */
#define VN_HDR_LEGACY 10

/*
 * The virtio features vhost-net acts on (the rest, MAC, STATUS, MTU, MQ
 * and the control queue's, are the device model's; the kernel refuses bits
 * it does not know). vhost mode offers no offloads, so none is passed: the
 * tap's TUNSETOFFLOAD stays 0 and the kernel hands over complete frames.
 */
#define VN_DATAPATH_FEATURES                                         \
	(BIT64(VIRTIO_F_VERSION_1) | BIT64(VIRTIO_NET_F_MRG_RXBUF) | \
	 BIT64(VIRTIO_F_RING_EVENT_IDX) | BIT64(VIRTIO_F_RING_INDIRECT_DESC))

/* One queue pair on the kernel's vhost-net. */
struct vn_pair {
	struct vhost_net dev; /* ring 0: receiveq 2p, ring 1: transmitq 2p + 1 */
	struct netdev *tap;   /* the tap queue: steering, vnet header */
	int tap_fd;	      /* what VHOST_NET_SET_BACKEND binds */
	bool started;	      /* the rings are the kernel's (DRIVER_OK until reset) */
	bool attached;	      /* SET_BACKEND to tap_fd on both rings */
};

struct nic_vhost {
	struct vhu *h; /* vhost-user; NULL with vhost-net */
	struct vnet *vn;
	struct evloop *loop;
	uint16_t nq; /* data queues: 2N */
	int kick[VHU_MAX_QUEUES];
	int call[VHU_MAX_QUEUES];
	struct nv_call cw[VHU_MAX_QUEUES];
	uint64_t calls; /* atomic */
	nic_vhost_irqfd_fn irqfd;
	void *irqfd_opaque;
	/*
	 * vn_lock: each data queue's call eventfd as the backend has it since
	 * DRIVER_OK (followed when the guest moves the queue's vector); -1 for
	 * a queue not handed over.
	 */
	int cur_call[VHU_MAX_QUEUES];
	unsigned int direct; /* atomic: queues whose call is an irqfd */
	/* vhost-net: */
	bool net;
	char name[32];
	const struct guest_mem *gm;
	pthread_mutex_t vn_lock;
	struct vn_pair pairs[VHU_MAX_QUEUES / 2];
	bool have_taps;
	bool running;	 /* the rings run in the kernel */
	uint16_t active; /* the driver's pair count */
	bool tap_up;	 /* the tap's link */
	bool link;	 /* atomic: what the device was told */
	struct vhu_stats st;
};

/*
 * The call eventfd of queue q on vector `msix` (at DRIVER_OK, or when the
 * guest moves it): the vector's irqfd when it has one, else the eventfd
 * nfv-vmm watches (see nic_vhost.h).
 */
static int nv_call_fd(struct nic_vhost *v, uint16_t q, uint16_t msix)
{
	int fd = -1;

	if (v->irqfd && msix != VIRTIO_MSI_NO_VECTOR)
		fd = v->irqfd(v->irqfd_opaque, msix);
	return fd < 0 ? v->call[q] : fd;
}

/* The queues handed over whose call is an irqfd, counted again. vn_lock held. */
static void nv_count_direct(struct nic_vhost *v)
{
	unsigned int n = 0;

	for (uint16_t q = 0; q < v->nq; q++)
		n += v->cur_call[q] >= 0 && v->cur_call[q] != v->call[q];
	__atomic_store_n(&v->direct, n, __ATOMIC_RELAXED);
}

/* No queue is the backend's (before DRIVER_OK, after a reset). vn_lock held. */
static void nv_forget_calls(struct nic_vhost *v)
{
	for (uint16_t q = 0; q < VHU_MAX_QUEUES; q++)
		v->cur_call[q] = -1;
}

/* The backend used buffers of queue q and asks for an interrupt. */
static void on_call(int fd, uint32_t events, void *opaque)
{
	struct nv_call *c = opaque;
	uint64_t n;

	(void)events;
	if (read(fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return;
	__atomic_add_fetch(&c->v->calls, 1, __ATOMIC_RELAXED);
	if (c->v->vn)
		(void)virtio_pci_notify(vnet_transport(c->v->vn), c->q);
}

static void on_link(void *opaque, bool up)
{
	struct nic_vhost *v = opaque;

	if (v->vn)
		vnet_set_link(v->vn, up);
}

/* ---- vhost-net ---- */

/* The device's link: up while the kernel runs the rings and the tap is up. vn_lock held. */
static void vn_update_link(struct nic_vhost *v)
{
	bool up = v->running && v->tap_up;

	if (up == v->link)
		return;
	__atomic_store_n(&v->link, up, __ATOMIC_RELAXED);
	if (v->vn)
		vnet_set_link(v->vn, up);
}

/* The tap's link (tap queue 0's loop, the tap's lock held). */
static void vn_tap_link(void *opaque, bool up)
{
	struct nic_vhost *v = opaque;

	pthread_mutex_lock(&v->vn_lock);
	v->tap_up = up;
	vn_update_link(v);
	pthread_mutex_unlock(&v->vn_lock);
}

/* Never called: the tap queues are handed over, nfv-vmm reads none of them. */
static ssize_t vn_tap_receive(void *opaque, const struct iovec *iov, int iovcnt)
{
	(void)opaque;
	(void)iov;
	(void)iovcnt;
	return -ENOTCONN;
}

/*
 * Pair p's rings bound to its tap queue (on) or to nothing (off), and the
 * queue in or out of the tap's steering: attached before the kernel takes
 * it, detached after the kernel let go, so that no frame is steered to a
 * queue nobody reads. A single-queue tap has no steering to leave
 * (-ENOTSUP); the tap logs its own refusals. vn_lock held. 0 or -errno.
 */
static int vn_pair_attach(struct nic_vhost *v, uint16_t p, bool on)
{
	struct vn_pair *pr = &v->pairs[p];
	int ret = 0;

	if (on) {
		(void)netdev_set_queue_enabled(pr->tap, true);
		ret = vhost_net_set_backend(&pr->dev, 0, pr->tap_fd);
		if (ret == 0)
			ret = vhost_net_set_backend(&pr->dev, 1, pr->tap_fd);
		if (ret < 0) {
			log_err("%s: pair %u: %s", v->name, p, pr->dev.err);
			/* Ring 0 may have taken the tap: never leave half a pair bound. */
			if (vhost_net_set_backend(&pr->dev, 0, -1) < 0)
				log_err("%s: pair %u: %s", v->name, p, pr->dev.err);
			return ret;
		}
		pr->attached = true;
		return 0;
	}
	for (unsigned int r = 0; r < 2; r++) {
		int e = vhost_net_set_backend(&pr->dev, r, -1);

		if (e < 0 && ret == 0) {
			ret = e;
			log_err("%s: pair %u: %s", v->name, p, pr->dev.err);
		}
	}
	pr->attached = false;
	(void)netdev_set_queue_enabled(pr->tap, false);
	return ret;
}

/* Every started ring detached, where the kernel stopped read, back to idle. vn_lock held. */
static void vn_stop_rings(struct nic_vhost *v)
{
	for (uint16_t p = 0; p < v->nq / 2; p++) {
		struct vn_pair *pr = &v->pairs[p];

		if (!pr->started)
			continue;
		for (unsigned int r = 0; r < 2; r++) {
			uint16_t base = 0;

			if (vhost_net_set_backend(&pr->dev, r, -1) < 0 ||
			    vhost_net_vring_base(&pr->dev, r, &base) < 0)
				log_warn("%s: pair %u ring %u: %s", v->name, p, r, pr->dev.err);
			else
				log_debug("%s: queue %u stopped at %u", v->name, 2 * p + r, base);
			v->cur_call[2 * p + r] = -1;
		}
		pr->attached = false;
		pr->started = false;
	}
}

/* The pair's two rings as the driver set them up; false when either is not enabled. */
static bool vn_pair_rings(struct nic_vhost *v, uint16_t p, struct vhost_net_vring r[2])
{
	struct virtio_pci *vp = vnet_transport(v->vn);

	for (unsigned int i = 0; i < 2; i++) {
		uint16_t q = (uint16_t)(2 * p + i);
		struct virtio_pci_queue_info qi;

		if (virtio_pci_queue_info(vp, q, &qi) < 0 || !qi.enabled)
			return false;
		r[i] = (struct vhost_net_vring){
			.num = qi.size,
			.base = 0, /* a fresh start: the driver's rings are new after a reset */
			.desc_gpa = qi.desc,
			.avail_gpa = qi.driver,
			.used_gpa = qi.device,
			.kick_fd = v->kick[q],
			.call_fd = nv_call_fd(v, q, qi.msix),
		};
	}
	return true;
}

static void vn_start(struct nic_vhost *v, uint64_t features)
{
	uint64_t send = features & VN_DATAPATH_FEATURES;
	size_t hdr = send & (BIT64(VIRTIO_F_VERSION_1) | BIT64(VIRTIO_NET_F_MRG_RXBUF))
			     ? VN_HDR_MRG
			     : VN_HDR_LEGACY;
	uint16_t np = v->nq / 2, started = 0;
	int ret = 0;

	pthread_mutex_lock(&v->vn_lock);
	if (v->running) /* no reset in between: start afresh */
		vn_stop_rings(v);
	nv_forget_calls(v);
	v->running = false;
	v->active = 1; /* one pair until the driver asks for more (5.1.6.5.5) */
	if (!v->have_taps) {
		log_err("%s: no tap queues for vhost-net: the link stays down", v->name);
		goto out;
	}
	for (uint16_t p = 0; p < np; p++) {
		uint64_t lack = send & ~v->pairs[p].dev.features;

		if (lack) {
			log_err("%s: the kernel's vhost-net lacks features 0x%llx the guest "
				"negotiated: the link stays down",
				v->name, (unsigned long long)lack);
			goto out;
		}
	}
	/* The kernel and the tap agree on the header: the tap adds and strips it. */
	for (uint16_t p = 0; p < np; p++) {
		ret = netdev_set_vnet_hdr(v->pairs[p].tap, hdr, 0);
		if (ret < 0) {
			log_err("%s: the tap refuses a %zu-byte vnet header: the link stays down",
				v->name, hdr);
			goto out;
		}
	}
	for (uint16_t p = 0; p < np; p++) {
		struct vn_pair *pr = &v->pairs[p];
		struct vhost_net_vring r[2];

		if (!vn_pair_rings(v, p, r)) {
			log_debug("%s: pair %u: not set up by the driver", v->name, p);
			continue;
		}
		ret = vhost_net_set_features(&pr->dev, send);
		if (ret == 0)
			ret = vhost_net_set_mem_table(&pr->dev, v->gm);
		if (ret == 0)
			ret = vhost_net_vring_start(&pr->dev, v->gm, 0, &r[0]);
		if (ret == 0)
			ret = vhost_net_vring_start(&pr->dev, v->gm, 1, &r[1]);
		if (ret < 0) {
			log_err("%s: pair %u: %s: the link stays down", v->name, p, pr->dev.err);
			goto undo;
		}
		pr->started = true;
		v->cur_call[2 * p] = r[0].call_fd;
		v->cur_call[2 * p + 1] = r[1].call_fd;
		started++;
	}
	/* The pairs the driver uses now; the others' tap queues leave the steering. */
	for (uint16_t p = 0; p < np; p++) {
		if (v->pairs[p].started && p < v->active) {
			if (vn_pair_attach(v, p, true) < 0)
				goto undo;
		} else {
			(void)netdev_set_queue_enabled(v->pairs[p].tap, false);
		}
	}
	if (!started) {
		log_err("%s: the driver set up no queue pair: the link stays down", v->name);
		goto out;
	}
	v->running = true;
	v->st.starts++;
	log_info("%s: %u queue pair%s run in the kernel's vhost-net (features 0x%llx)", v->name,
		 started, started > 1 ? "s" : "", (unsigned long long)send);
	goto out;
undo:
	vn_stop_rings(v);
out:
	nv_count_direct(v);
	vn_update_link(v);
	pthread_mutex_unlock(&v->vn_lock);
}

static void vn_set_pairs(struct nic_vhost *v, uint16_t pairs)
{
	pthread_mutex_lock(&v->vn_lock);
	v->active = pairs;
	if (v->running)
		for (uint16_t p = 0; p < v->nq / 2; p++) {
			struct vn_pair *pr = &v->pairs[p];
			bool on = pr->started && p < pairs;

			if (on != pr->attached)
				(void)vn_pair_attach(v, p, on);
		}
	pthread_mutex_unlock(&v->vn_lock);
}

static void vn_stop(struct nic_vhost *v)
{
	pthread_mutex_lock(&v->vn_lock);
	if (v->running) {
		vn_stop_rings(v);
		v->running = false;
		v->st.stops++;
		log_info("%s: the kernel's vhost-net let go of the rings", v->name);
	}
	vn_update_link(v);
	pthread_mutex_unlock(&v->vn_lock);
}

/* ---- the device's vhost ops ---- */

static void nv_start(void *opaque, uint64_t features)
{
	struct nic_vhost *v = opaque;
	struct vhu_queue qs[VHU_MAX_QUEUES];
	struct virtio_pci *vp = vnet_transport(v->vn);

	if (v->net) {
		vn_start(v, features);
		return;
	}

	pthread_mutex_lock(&v->vn_lock);
	nv_forget_calls(v);
	for (uint16_t q = 0; q < v->nq; q++) {
		struct virtio_pci_queue_info qi;

		if (virtio_pci_queue_info(vp, q, &qi) < 0)
			qi = (struct virtio_pci_queue_info){ .msix = VIRTIO_MSI_NO_VECTOR };
		qs[q] = (struct vhu_queue){
			.enabled = qi.enabled,
			.size = qi.size,
			.desc = qi.desc,
			.avail = qi.driver,
			.used = qi.device,
			.kick_fd = v->kick[q],
			.call_fd = qi.enabled ? nv_call_fd(v, q, qi.msix) : v->call[q],
		};
		if (qi.enabled)
			v->cur_call[q] = qs[q].call_fd;
	}
	nv_count_direct(v);
	/* Under vn_lock: a vector move cannot reach the controller before the start. */
	(void)vhu_start(v->h, features, qs, v->nq);
	pthread_mutex_unlock(&v->vn_lock);
}

static void nv_set_pairs(void *opaque, uint16_t pairs)
{
	struct nic_vhost *v = opaque;

	if (v->net)
		vn_set_pairs(v, pairs);
	else
		vhu_set_pairs(v->h, pairs);
}

static void nv_stop(void *opaque)
{
	struct nic_vhost *v = opaque;

	if (v->net) {
		vn_stop(v);
		return;
	}
	vhu_stop(v->h); /* waits for the controller's loop: without vn_lock */
	pthread_mutex_lock(&v->vn_lock);
	nv_forget_calls(v);
	pthread_mutex_unlock(&v->vn_lock);
}

static void nv_kick(void *opaque, uint16_t q)
{
	struct nic_vhost *v = opaque;
	uint64_t one = 1;

	if (q < v->nq && write(v->kick[q], &one, sizeof(one)) < 0)
		log_warn_rl("%s: queue %u: cannot forward a doorbell: %s",
			    v->net ? v->name : "vhost-user", q, strerror(errno));
}

static const struct vnet_vhost_ops nv_ops = {
	.start = nv_start,
	.set_pairs = nv_set_pairs,
	.stop = nv_stop,
	.kick = nv_kick,
};

const struct vnet_vhost_ops *nic_vhost_ops(void)
{
	return &nv_ops;
}

void nic_vhost_queue_vector(struct nic_vhost *v, uint16_t q, uint16_t vector)
{
	int fd, ret = 0;

	if (q >= v->nq)
		return;
	pthread_mutex_lock(&v->vn_lock);
	if (v->cur_call[q] < 0) /* not the backend's: the next DRIVER_OK reads the vector */
		goto out;
	fd = nv_call_fd(v, q, vector);
	if (fd == v->cur_call[q])
		goto out;
	if (v->net) {
		struct vn_pair *pr = &v->pairs[q / 2];

		ret = vhost_net_vring_call(&pr->dev, q % 2, fd);
		if (ret < 0) {
			log_warn_rl("%s: queue %u: %s: its interrupts keep their previous way",
				    v->name, q, pr->dev.err);
			goto out;
		}
	} else {
		vhu_set_call(v->h, q, fd);
	}
	v->cur_call[q] = fd;
	nv_count_direct(v);
	log_debug("%s: queue %u: vector %u, interrupts %s", v->net ? v->name : "vhost-user", q,
		  vector, fd == v->call[q] ? "relayed by nfv-vmm" : "through its irqfd");
out:
	pthread_mutex_unlock(&v->vn_lock);
}

/* ---- life cycle ---- */

/* The state with its kick and call eventfds, the calls watched on `loop`. */
static struct nic_vhost *nv_alloc(struct evloop *loop, uint16_t pairs, const char *what, char *err,
				  size_t err_len)
{
	struct nic_vhost *v;

	if (pairs == 0 || 2u * pairs > VHU_MAX_QUEUES) {
		snprintf(err, err_len, "%s: 1 to %d queue pairs", what, VHU_MAX_QUEUES / 2);
		return NULL;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&v->vn_lock, NULL);
	nv_forget_calls(v);
	v->loop = loop;
	v->nq = (uint16_t)(2 * pairs);
	for (uint16_t q = 0; q < VHU_MAX_QUEUES; q++)
		v->kick[q] = v->call[q] = -1;
	for (uint16_t p = 0; p < VHU_MAX_QUEUES / 2; p++) {
		v->pairs[p].dev.fd = -1;
		v->pairs[p].tap_fd = -1;
	}
	for (uint16_t q = 0; q < v->nq; q++) {
		v->kick[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		v->call[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		v->cw[q] = (struct nv_call){ .v = v, .q = q };
		if (v->kick[q] < 0 || v->call[q] < 0) {
			snprintf(err, err_len, "%s: eventfd: %s", what, strerror(errno));
			goto err;
		}
		if (evloop_add_fd(loop, v->call[q], EPOLLIN, on_call, &v->cw[q]) < 0) {
			snprintf(err, err_len, "%s: cannot watch the call eventfds", what);
			goto err;
		}
	}
	return v;

err:
	nic_vhost_free(v);
	return NULL;
}

struct nic_vhost *nic_vhost_new(struct evloop *loop, const struct guest_mem *gm,
				const struct nic_vhost_config *cfg, char *err, size_t err_len)
{
	struct vhu_config hc = {
		.path = cfg->path,
		.server = cfg->server,
		.queue_pairs = cfg->queue_pairs,
		.mtu = cfg->mtu,
	};
	struct vhu_ops ops = { .link = on_link };
	struct nic_vhost *v = nv_alloc(loop, cfg->queue_pairs, "vhost-user", err, err_len);

	if (!v)
		return NULL;
	v->h = vhu_new(loop, gm, &hc, &ops, v, err, err_len);
	if (!v->h)
		goto err;
	return v;

err:
	nic_vhost_free(v);
	return NULL;
}

struct nic_vhost *nic_vhost_net_new(struct evloop *loop, const struct guest_mem *gm,
				    const struct nic_vhost_net_config *cfg, char *err,
				    size_t err_len)
{
	struct nic_vhost *v = nv_alloc(loop, cfg->queue_pairs, "vhost-net", err, err_len);

	if (!v)
		return NULL;
	v->net = true;
	v->gm = gm;
	snprintf(v->name, sizeof(v->name), "%s", cfg->name ? cfg->name : "vhost-net");
	/* One kernel device per pair: the kernel runs each on a thread of its own. */
	for (uint16_t p = 0; p < v->nq / 2; p++) {
		struct vn_pair *pr = &v->pairs[p];

		if (vhost_net_open(&pr->dev, cfg->sys) < 0) {
			snprintf(err, err_len, "%s", pr->dev.err);
			pr->dev.fd = -1;
			nic_vhost_free(v);
			return NULL;
		}
	}
	return v;
}

int nic_vhost_net_set_taps(struct nic_vhost *v, struct netdev *const *taps, const int *fds,
			   unsigned int n, char *err, size_t err_len)
{
	struct netdev_peer peer = { .receive = vn_tap_receive,
				    .link_changed = vn_tap_link,
				    .opaque = v };

	if (!v->net || v->have_taps || n != v->nq / 2u) {
		snprintf(err, err_len, "vhost-net: %u tap queues for %u queue pairs", n,
			 v->nq / 2u);
		return -EINVAL;
	}
	for (unsigned int p = 0; p < n; p++) {
		if (!taps[p] || fds[p] < 0) {
			snprintf(err, err_len, "vhost-net: pair %u has no tap queue", p);
			return -EINVAL;
		}
	}
	for (unsigned int p = 0; p < n; p++) {
		v->pairs[p].tap = taps[p];
		v->pairs[p].tap_fd = fds[p];
	}
	/* The tap reports its link on every queue: queue 0 is enough. */
	netdev_attach(taps[0], &peer);
	v->tap_up = taps[0]->link_up;
	v->have_taps = true;
	return 0;
}

void nic_vhost_set_irqfd(struct nic_vhost *v, nic_vhost_irqfd_fn fn, void *opaque)
{
	v->irqfd = fn;
	v->irqfd_opaque = opaque;
}

unsigned int nic_vhost_direct_calls(struct nic_vhost *v)
{
	return __atomic_load_n(&v->direct, __ATOMIC_RELAXED);
}

void nic_vhost_attach(struct nic_vhost *v, struct vnet *vn)
{
	v->vn = vn;
}

int nic_vhost_kick_fd(const struct nic_vhost *v, uint16_t q)
{
	return q < v->nq ? v->kick[q] : -1;
}

bool nic_vhost_link_up(struct nic_vhost *v)
{
	if (v->net)
		return __atomic_load_n(&v->link, __ATOMIC_RELAXED);
	return vhu_link_up(v->h);
}

void nic_vhost_get_stats(struct nic_vhost *v, struct vhu_stats *st, uint64_t *calls)
{
	if (v->net) {
		pthread_mutex_lock(&v->vn_lock);
		*st = v->st;
		pthread_mutex_unlock(&v->vn_lock);
	} else {
		vhu_get_stats(v->h, st);
	}
	*calls = __atomic_load_n(&v->calls, __ATOMIC_RELAXED);
}

void nic_vhost_free(struct nic_vhost *v)
{
	if (!v)
		return;
	vhu_free(v->h);
	if (v->have_taps)
		netdev_attach(v->pairs[0].tap, &(struct netdev_peer){ 0 });
	/* Closing a vhost-net device detaches its rings: before the taps go. */
	for (uint16_t p = 0; p < VHU_MAX_QUEUES / 2; p++)
		vhost_net_close(&v->pairs[p].dev);
	for (uint16_t q = 0; q < VHU_MAX_QUEUES; q++) {
		if (v->call[q] >= 0) {
			evloop_del_fd(v->loop, v->call[q]);
			close(v->call[q]);
		}
		if (v->kick[q] >= 0)
			close(v->kick[q]);
	}
	pthread_mutex_destroy(&v->vn_lock);
	free(v);
}
