/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A virtio-net NIC in vhost mode (--nic virtio,vhost-user=PATH): the glue
 * between the device model (nicmodels/virtio_net.c, which keeps the
 * control queue and config space), the transport (the queues' layout and
 * interrupts) and the vhost-user controller (vmm/vhost_user_nic.c).
 *
 *  - kick: one eventfd per data queue. nfv-vmm registers it as the queue's
 *    doorbell ioeventfd, so a guest doorbell reaches the backend without an
 *    exit and without nfv-vmm; a doorbell that still arrives as an MMIO
 *    write (no ioeventfd) is written to it by nic_vhost_kick().
 *  - call: one eventfd per data queue, handed to the backend and watched
 *    on an I/O thread, which raises the queue's interrupt through the
 *    transport (MSI-X through irqfd, masking honoured, or INTx): one wake-up
 *    per interrupt the backend sends, never per frame, and no vCPU exit.
 *  - link: up while a backend runs the rings (the device's STATUS field).
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
/* The device this NIC drives (set once, before the guest runs). */
void nic_vhost_attach(struct nic_vhost *v, struct vnet *vn);
/* What vnet_config.vhost takes; opaque is v. */
const struct vnet_vhost_ops *nic_vhost_ops(void);
/* The kick eventfd of data queue q (< 2N), for the doorbell ioeventfd; -1 beyond. */
int nic_vhost_kick_fd(const struct nic_vhost *v, uint16_t q);
bool nic_vhost_link_up(struct nic_vhost *v);
void nic_vhost_get_stats(struct nic_vhost *v, struct vhu_stats *st, uint64_t *calls);
void nic_vhost_free(struct nic_vhost *v);

#endif /* NFV_VMM_NIC_VHOST_H */
