/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A virtio-net NIC in vhost mode: eventfds, the controller and the device
 * (see nic_vhost.h).
 *
 * Threads: start/set_pairs/stop/kick come from the device (vCPU or I/O
 * threads, see virtio_net.c); the call eventfds are read on the loop given
 * to nic_vhost_new(); the controller's link callback runs on that loop or
 * on the thread that stopped the rings.
 */
#define LOG_COMPONENT "vhost-user"
#include "vmm/nic_vhost.h"
#include "common/log.h"
#include "nicmodels/virtio_pci.h"

#include <errno.h>
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

struct nic_vhost {
	struct vhu *h;
	struct vnet *vn;
	struct evloop *loop;
	uint16_t nq; /* data queues: 2N */
	int kick[VHU_MAX_QUEUES];
	int call[VHU_MAX_QUEUES];
	struct nv_call cw[VHU_MAX_QUEUES];
	uint64_t calls; /* atomic */
};

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

/* ---- the device's vhost ops ---- */

static void nv_start(void *opaque, uint64_t features)
{
	struct nic_vhost *v = opaque;
	struct vhu_queue qs[VHU_MAX_QUEUES];
	struct virtio_pci *vp = vnet_transport(v->vn);

	for (uint16_t q = 0; q < v->nq; q++) {
		struct virtio_pci_queue_info qi;

		if (virtio_pci_queue_info(vp, q, &qi) < 0)
			qi = (struct virtio_pci_queue_info){ 0 };
		qs[q] = (struct vhu_queue){
			.enabled = qi.enabled,
			.size = qi.size,
			.desc = qi.desc,
			.avail = qi.driver,
			.used = qi.device,
			.kick_fd = v->kick[q],
			.call_fd = v->call[q],
		};
	}
	(void)vhu_start(v->h, features, qs, v->nq);
}

static void nv_set_pairs(void *opaque, uint16_t pairs)
{
	vhu_set_pairs(((struct nic_vhost *)opaque)->h, pairs);
}

static void nv_stop(void *opaque)
{
	vhu_stop(((struct nic_vhost *)opaque)->h);
}

static void nv_kick(void *opaque, uint16_t q)
{
	struct nic_vhost *v = opaque;
	uint64_t one = 1;

	if (q < v->nq && write(v->kick[q], &one, sizeof(one)) < 0)
		log_warn_rl("%s: queue %u: cannot forward a doorbell: %s", "vhost-user", q,
			    strerror(errno));
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

/* ---- life cycle ---- */

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
	struct nic_vhost *v;

	if (cfg->queue_pairs == 0 || 2u * cfg->queue_pairs > VHU_MAX_QUEUES) {
		snprintf(err, err_len, "vhost-user: 1 to %d queue pairs", VHU_MAX_QUEUES / 2);
		return NULL;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	v->loop = loop;
	v->nq = (uint16_t)(2 * cfg->queue_pairs);
	for (uint16_t q = 0; q < VHU_MAX_QUEUES; q++)
		v->kick[q] = v->call[q] = -1;
	for (uint16_t q = 0; q < v->nq; q++) {
		v->kick[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		v->call[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		v->cw[q] = (struct nv_call){ .v = v, .q = q };
		if (v->kick[q] < 0 || v->call[q] < 0) {
			snprintf(err, err_len, "vhost-user: eventfd: %s", strerror(errno));
			goto err;
		}
		if (evloop_add_fd(loop, v->call[q], EPOLLIN, on_call, &v->cw[q]) < 0) {
			snprintf(err, err_len, "vhost-user: cannot watch the call eventfds");
			goto err;
		}
	}
	v->h = vhu_new(loop, gm, &hc, &ops, v, err, err_len);
	if (!v->h)
		goto err;
	return v;

err:
	nic_vhost_free(v);
	return NULL;
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
	return vhu_link_up(v->h);
}

void nic_vhost_get_stats(struct nic_vhost *v, struct vhu_stats *st, uint64_t *calls)
{
	vhu_get_stats(v->h, st);
	*calls = __atomic_load_n(&v->calls, __ATOMIC_RELAXED);
}

void nic_vhost_free(struct nic_vhost *v)
{
	if (!v)
		return;
	vhu_free(v->h);
	for (uint16_t q = 0; q < VHU_MAX_QUEUES; q++) {
		if (v->call[q] >= 0) {
			evloop_del_fd(v->loop, v->call[q]);
			close(v->call[q]);
		}
		if (v->kick[q] >= 0)
			close(v->kick[q]);
	}
	free(v);
}
