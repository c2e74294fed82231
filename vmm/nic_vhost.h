/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A virtio-net NIC in vhost mode: the glue between the device model
 * (nicmodels/virtio_net.c, which keeps the control queue and config
 * space), the transport (the queues' layout and interrupts) and the
 * backend that runs the data queues, one of:
 *  - vhost-user (--nic virtio,vhost-user=PATH): the controller of
 *    vmm/vhost_user_nic.c and its socket;
 *  - vhost-net (--nic virtio,tap=NAME,vhost-net=on): the kernel, one
 *    /dev/vhost-net device (vmm/vhost_net.c) per queue pair, its ring 0
 *    the pair's receiveq and ring 1 its transmitq, both bound to the tap
 *    queue of that pair (VHOST_NET_SET_BACKEND). nfv-vmm hands the tap
 *    queues over (netdev_tap_hand_over()) and never reads or writes them.
 *    At DRIVER_OK: per pair SET_FEATURES (the datapath features the guest
 *    took; one the kernel lacks keeps the link down), SET_MEM_TABLE, the
 *    two rings from base 0, SET_BACKEND for the pairs the driver uses;
 *    pairs beyond its count (VQ_PAIRS_SET) are detached from the kernel
 *    and from the tap's steering (TUNSETQUEUE) until it asks for them. A
 *    reset detaches every ring and reads where the kernel stopped.
 *
 *  - kick: one eventfd per data queue. nfv-vmm registers it as the queue's
 *    doorbell ioeventfd, so a guest doorbell reaches the backend without an
 *    exit and without nfv-vmm; a doorbell that still arrives as an MMIO
 *    write (no ioeventfd) is written to it by nic_vhost_kick().
 *  - call: one eventfd per data queue, handed to the backend and watched
 *    on an I/O thread, which raises the queue's interrupt through the
 *    transport (MSI-X through irqfd, masking honoured, or INTx): one wake-up
 *    per interrupt the backend sends, never per frame, and no vCPU exit.
 *  - link: up while a backend runs the rings (the device's STATUS field);
 *    with vhost-net, also only while the tap's link is up.
 */
#ifndef NFV_VMM_NIC_VHOST_H
#define NFV_VMM_NIC_VHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/evloop.h"
#include "common/guestmem.h"
#include "common/util.h"
#include "nicmodels/virtio_net.h"
#include "vmm/netdev.h"
#include "vmm/vhost_net.h"
#include "vmm/vhost_user_nic.h"

struct nic_vhost;

struct nic_vhost_config {
	const char *path;
	bool server;
	uint16_t queue_pairs;
	unsigned int mtu;
};

/*
 * The eventfds and the controller; the socket starts listening or
 * connecting on `loop` (the call eventfds are watched there too). NULL
 * with one line in err.
 */
struct nic_vhost *nic_vhost_new(struct evloop *loop, const struct guest_mem *gm,
				const struct nic_vhost_config *cfg, char *err, size_t err_len);
struct nic_vhost_net_config {
	const char *name; /* for logs: "virtio.0" */
	uint16_t queue_pairs;
	const struct vhost_net_sys *sys; /* NULL: the real system calls */
};

/*
 * vhost-net: opens one /dev/vhost-net per pair (a host without it gets the
 * line that says so and how to load it) and the eventfds (call eventfds
 * watched on `loop`). NULL with one line in err.
 */
struct nic_vhost *nic_vhost_net_new(struct evloop *loop, const struct guest_mem *gm,
				    const struct nic_vhost_net_config *cfg, char *err,
				    size_t err_len);
/*
 * vhost-net: pair i's tap queue, taps[i] (attached to and detached from the
 * tap's steering, given the vnet header, its link followed on taps[0]) and
 * its fd fds[i] (what the kernel reads and writes); n is the pair count.
 * The caller hands the queues over (netdev_tap_hand_over()). Set once,
 * before the guest runs; the netdevs must outlive v. 0, or -EINVAL with
 * one line in err.
 */
int __must_check nic_vhost_net_set_taps(struct nic_vhost *v, struct netdev *const *taps,
					const int *fds, unsigned int n, char *err, size_t err_len);
/*
 * Where a queue's interrupts go. `fn` returns the eventfd bound as KVM's
 * irqfd for MSI-X vector `vector` right now, or -1 (masked, MSI-X off, KVM
 * refused irqfds). At DRIVER_OK a queue whose vector has one hands that
 * eventfd to the backend as its call: the backend's notification goes to
 * KVM without nfv-vmm. While the guest masks the vector nfv-vmm unbinds the
 * irqfd; what the backend signals meanwhile stays counted in the eventfd,
 * and KVM injects it when the vector is unmasked and bound again (it checks
 * the eventfd when an irqfd is assigned): the pending bit's behaviour. A
 * queue without one keeps the watched call eventfd. When the guest moves a
 * queue to another vector after DRIVER_OK, the choice is made again for
 * the new vector (nic_vhost_queue_vector()). Set before the guest runs.
 */
typedef int (*nic_vhost_irqfd_fn)(void *opaque, uint16_t vector);
void nic_vhost_set_irqfd(struct nic_vhost *v, nic_vhost_irqfd_fn fn, void *opaque);
/*
 * The transport's queue_vector hook, for data queue q (< 2N; others are
 * ignored): the guest moved it to MSI-X vector `vector` after DRIVER_OK.
 * If the backend runs the queue, its call eventfd is chosen again as at
 * DRIVER_OK (the new vector's irqfd, else the watched eventfd) and, when
 * that differs, handed over: vhost-net with VHOST_SET_VRING_CALL (on this
 * thread: the kernel does not wait for the guest), vhost-user with
 * SET_VRING_CALL from the controller's loop (recorded for the next start
 * when no backend is connected). Never waits for a backend. Called on a
 * vCPU thread with the transport's mutex held.
 */
void nic_vhost_queue_vector(struct nic_vhost *v, uint16_t q, uint16_t vector);
/* The device this NIC drives (set once, before the guest runs). */
void nic_vhost_attach(struct nic_vhost *v, struct vnet *vn);
/* What vnet_config.vhost takes; opaque is v. */
const struct vnet_vhost_ops *nic_vhost_ops(void);
/* The kick eventfd of data queue q (< 2N), for the doorbell ioeventfd; -1 beyond. */
int nic_vhost_kick_fd(const struct nic_vhost *v, uint16_t q);
bool nic_vhost_link_up(struct nic_vhost *v);
/* vhost-user: the controller's counters; vhost-net: starts and stops only. */
void nic_vhost_get_stats(struct nic_vhost *v, struct vhu_stats *st, uint64_t *calls);
/* Data queues whose call goes straight to an irqfd (as of the last DRIVER_OK and vector moves). */
unsigned int nic_vhost_direct_calls(struct nic_vhost *v);
void nic_vhost_free(struct nic_vhost *v);

#endif /* NFV_VMM_NIC_VHOST_H */
