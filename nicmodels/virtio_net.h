/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-net device type (VIRTIO 1.2, 5.1) on the generic virtio-pci
 * transport: PCI 1AF4:1041, N queue pairs (receiveq i = 2i, transmitq i =
 * 2i + 1) and a control queue (2N with VIRTIO_NET_F_MQ, else 2).
 *
 * The device moves frames through struct netdev: one netdev for the whole
 * device (every pair sends to it, pair 0 receives from it), or one per pair
 * (a multiqueue backend). Its state struct stays private to virtio_net.c.
 * nfv-vmm creates it for --nic virtio (vmm/nic.c), one queue pair so far.
 */
#ifndef NFV_NICMODELS_VIRTIO_NET_H
#define NFV_NICMODELS_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "common/evloop.h"
#include "common/guestmem.h"
#include "nicmodels/virtio_pci.h"
#include "vmm/netdev.h"
#include "vmm/pci.h"

#define VNET_MAX_PAIRS 16

struct vnet;

struct vnet_config {
	const char *name; /* PCI device name and logs: "virtio-net0" */
	uint8_t mac[6];
	uint16_t queue_pairs; /* 1 .. VNET_MAX_PAIRS (0 means 1) */
	uint16_t mtu;	      /* reported with VIRTIO_NET_F_MTU; 0 means 1500 */
	/*
	 * Backends: nr_netdevs is 1 (one backend for every pair; pair 0
	 * receives) or queue_pairs (netdevs[i] serves pair i). Not owned.
	 */
	struct netdev *netdevs[VNET_MAX_PAIRS];
	uint16_t nr_netdevs;
	const struct virtio_pci_hooks *hooks; /* transport hooks (ioeventfd, irqfd); NULL: none */
};

/*
 * Creates the device on `bus` over guest memory `mem`. `loop` runs the TX
 * re-kick event (a burst budget spent with work left); NULL: left-over TX
 * work waits for the next doorbell. NULL with a logged reason on failure.
 */
struct vnet *vnet_new(struct pci_bus *bus, const struct guest_mem *mem, struct evloop *loop,
		      const struct vnet_config *cfg);
/*
 * Detaches from the netdevs and frees the device. Call once the vCPUs and
 * the event loop stopped, after pci_bus_free() (the transport's rule).
 */
void vnet_free(struct vnet *vn);
struct virtio_pci *vnet_transport(const struct vnet *vn);

struct vnet_stats {
	uint64_t tx_frames, tx_bytes;
	uint64_t tx_dropped; /* bad chains, oversize, backend refusal */
	uint64_t rx_frames, rx_bytes;
	uint64_t rx_dropped;   /* device not ready, buffer too small, frame too long */
	uint64_t rx_filtered;  /* MAC / VLAN filter */
	uint64_t rx_no_buffer; /* receive() returned 0: no room now */
	uint64_t ctrl_cmds, ctrl_errors;
	uint64_t kicks;	       /* doorbells */
	uint64_t irqs;	       /* queue interrupts sent */
	uint64_t guest_errors; /* malformed chains and rings */
};
void vnet_get_stats(struct vnet *vn, struct vnet_stats *st);

#endif /* NFV_NICMODELS_VIRTIO_NET_H */
