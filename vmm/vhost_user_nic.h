/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost mode of a virtio-net NIC: the guest's own data queues are handed
 * to a vhost-user backend (a switch port), which then reads and writes
 * them in guest memory directly. The guest's doorbell ioeventfd of each
 * queue is the backend's kick, the queue's irqfd (or an eventfd nfv-vmm
 * turns into INTx) its call: frames and notifications pass between guest
 * and backend without nfv-vmm. The control queue stays with the device
 * model; a VQ_PAIRS_SET becomes SET_VRING_ENABLE.
 *
 * This file is the controller between the device and the socket:
 *
 *   vhu_new()        the socket in its role (vmm/vhost_user_sock.c)
 *   vhu_start()      DRIVER_OK: the negotiated features and each data
 *                    queue's layout and eventfds; the rings start now if
 *                    a backend is connected, else when one connects
 *   vhu_set_pairs()  the driver's active pair count (rings enabled)
 *   vhu_set_call()   a queue's call eventfd replaced after DRIVER_OK (the
 *                    guest moved its MSI-X vector): SET_VRING_CALL
 *   vhu_stop()       reset: each running ring is stopped (GET_VRING_BASE)
 *                    before the call returns, so the device may reuse the
 *                    memory
 *
 * Reconnection: when the backend goes away the link goes down (ops->link);
 * when one comes back (either role) the session is run again from the
 * handshake, the rings restart where the guest's used rings say the old
 * backend stopped (VIRTIO 1.2 2.7.8: used->idx), with each queue's call
 * eventfd as last set (vhu_start(), then vhu_set_call()), and the link
 * comes up; the guest is not restarted. A backend that misbehaves is
 * disconnected with one line; guest memory is never written by this file.
 *
 * Threads: vhu_start/vhu_set_pairs/vhu_set_call/vhu_stop come from vCPU or
 * I/O threads (the transport's status callbacks and queue_vector hook, the
 * control queue); they record what is asked and the event loop's thread,
 * which also watches the socket, runs every request (vhu_stop waits for
 * it, at most 10 s). One mutex guards the state.
 */
#ifndef NFV_VMM_VHOST_USER_NIC_H
#define NFV_VMM_VHOST_USER_NIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/evloop.h"
#include "common/guestmem.h"
#include "common/util.h"

#define VHU_MAX_QUEUES 32 /* 16 pairs */

struct vhu;

struct vhu_ops {
	/* The backend runs the rings (true) or stopped (false). Any thread, no lock of ours. */
	void (*link)(void *opaque, bool up);
};

struct vhu_config {
	const char *path;
	bool server;
	uint16_t queue_pairs; /* the device's */
	unsigned int mtu;     /* 0: not told (NET_SET_MTU when agreed) */
	int timeout_ms;	      /* per request; 0: the default */
};

/* One data queue as the driver set it up (queue index = ring index). */
struct vhu_queue {
	bool enabled;
	uint16_t size;
	uint64_t desc, avail, used; /* guest-physical */
	int kick_fd;		    /* the doorbell eventfd (KVM ioeventfd) */
	int call_fd;		    /* the interrupt eventfd */
};

/*
 * NULL with one line in err. The features the device may offer the guest
 * are intersected with what a backend has (vhu_backend_features()) only
 * once one connected: see vhu_start().
 */
struct vhu *vhu_new(struct evloop *loop, const struct guest_mem *gm, const struct vhu_config *cfg,
		    const struct vhu_ops *ops, void *opaque, char *err, size_t err_len);
void vhu_free(struct vhu *h);

/*
 * DRIVER_OK with `features` (the virtio features the guest negotiated:
 * those the backend needs are passed on) and `nq` data queues. The rings
 * start on the event loop, at once when a backend is connected, else when
 * one connects; a backend that lacks a feature the guest took keeps the
 * link down (logged). 0, or -EINVAL for too many queues.
 */
int vhu_start(struct vhu *h, uint64_t features, const struct vhu_queue *queues, unsigned int nq);
/* The driver's active pair count: rings of pairs below it enabled, others disabled. */
void vhu_set_pairs(struct vhu *h, uint16_t pairs);
/*
 * Data queue q's call eventfd is `call_fd` from now on (the guest moved the
 * queue's MSI-X vector after DRIVER_OK). Between vhu_start() and vhu_stop(),
 * for a queue vhu_start() had enabled; ignored otherwise. Never waits: the
 * fd is recorded (the next start or restart of the rings uses it) and, if
 * the rings run, SET_VRING_CALL goes to the backend from the event loop,
 * once for any number of changes made before it ran. The fd must stay open
 * until the next vhu_start() or vhu_free().
 */
void vhu_set_call(struct vhu *h, unsigned int q, int call_fd);
/* Reset: stops the rings (synchronously) and forgets them. */
void vhu_stop(struct vhu *h);

bool vhu_link_up(struct vhu *h);
/* The last backend's virtio features (0 before one connected). */
uint64_t vhu_backend_features(struct vhu *h);

struct vhu_stats {
	uint64_t connects, disconnects, sessions_failed;
	uint64_t starts, stops;
};
void vhu_get_stats(struct vhu *h, struct vhu_stats *st);

#endif /* NFV_VMM_VHOST_USER_NIC_H */
