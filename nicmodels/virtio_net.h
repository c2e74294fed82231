/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-net device type (VIRTIO 1.2, 5.1) on the generic virtio-pci
 * transport: PCI 1AF4:1041, N queue pairs (receiveq i = 2i, transmitq i =
 * 2i + 1) and a control queue (2N with VIRTIO_NET_F_MQ, else 2).
 *
 * The device moves frames through struct netdev: one netdev for the whole
 * device (every pair sends to it), or one per pair (a multiqueue backend:
 * netdevs[i] serves pair i, on its own thread). Its state struct stays
 * private to virtio_net.c. nfv-vmm creates it for --nic virtio (vmm/nic.c).
 *
 * Receive steering. A frame from netdevs[i] goes to pair i while pair i is
 * active (i < the pair count the driver set with VQ_PAIRS_SET); the host
 * (a multiqueue tap) already spread flows over the queues, and inactive
 * queues are detached from it (netdev_set_queue_enabled()). A frame that
 * still arrives on an inactive pair, and every frame of a single netdev,
 * goes to pair vnet_flow_hash() % active pairs, so one flow keeps one queue.
 *
 * Offloads. CSUM/TSO are offered only when every backend takes a 12-byte
 * vnet header. At DRIVER_OK the backends are told which offloads the guest
 * can receive (GUEST_CSUM, GUEST_TSO4/6: the tap's TUNSETOFFLOAD), so the
 * host never hands the guest a frame it did not agree to; a TX header that
 * asks for an offload the driver did not negotiate (or a checksum position
 * outside the frame) is dropped and counted as a guest error, and so is a
 * received frame whose header needs an offload the guest lacks.
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

/*
 * vhost mode: between DRIVER_OK and reset the data queues (0 .. 2N - 1)
 * belong to a backend outside the model (a vhost-user switch port); the
 * model keeps the control queue, config space and link status. Called
 * without the model's locks (under the transport's mutex for start and
 * stop).
 */
struct vnet_vhost_ops {
	/* DRIVER_OK with the negotiated features; the queues' layout is in the transport. */
	void (*start)(void *opaque, uint64_t features);
	/* VQ_PAIRS_SET: the pairs the driver uses now. */
	void (*set_pairs)(void *opaque, uint16_t pairs);
	/* Reset: return once the backend let go of the rings. */
	void (*stop)(void *opaque);
	/* A data queue's doorbell that arrived as a BAR write (no ioeventfd). */
	void (*kick)(void *opaque, uint16_t queue);
};

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
	/*
	 * The loop that serves pair i (its TX re-kick event): the loop its
	 * netdev and doorbells are on. NULL entries use vnet_new()'s `loop`.
	 */
	struct evloop *loops[VNET_MAX_PAIRS];
	const struct virtio_pci_hooks *hooks; /* transport hooks (ioeventfd, irqfd); NULL: none */
	/* No MSI-X capability: INTx and the ISR only (QEMU's vectors=0). */
	bool no_msix;
	/* VIRTIO_F_RING_EVENT_IDX not offered: the rings' flags suppress notifications. */
	bool no_event_idx;
	unsigned int pci_slot; /* 0: the next free slot */
	/*
	 * vhost mode (see struct vnet_vhost_ops): no netdevs (nr_netdevs 0),
	 * no offloads offered, the link down until set with vnet_set_link().
	 */
	const struct vnet_vhost_ops *vhost;
	void *vhost_opaque;
};

/*
 * Creates the device on `bus` over guest memory `mem`. `loop` (or
 * cfg->loops[i] for pair i) runs the TX re-kick event (a burst budget spent
 * with work left); NULL: left-over TX work waits for the next doorbell.
 * NULL with a logged reason on failure.
 *
 * Threads: each pair's RX and TX may run on its own thread at the same
 * time as the other pairs'; a pair's queues are serialised by a lock of
 * their own, the device state (features, filters, the active pair count)
 * by a reader-writer lock that the datapath takes for reading and the
 * control queue, DRIVER_OK and reset take for writing.
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
/* The link (STATUS LINK_UP) of a device without netdevs; a change raises a config interrupt. */
void vnet_set_link(struct vnet *vn, bool up);

/* Totals over every queue. */
void vnet_get_stats(struct vnet *vn, struct vnet_stats *st);

/* One queue pair's counters (receiveq 2i, transmitq 2i + 1). */
struct vnet_queue_stats {
	uint64_t rx_frames, rx_bytes;
	uint64_t rx_no_buffer;
	uint64_t tx_frames, tx_bytes;
	uint64_t rx_kicks, tx_kicks; /* doorbells of each queue */
	uint64_t rx_irqs, tx_irqs;   /* interrupts sent for each queue */
};
/* 0, or -ENOENT for a pair beyond the device's. */
int vnet_get_queue_stats(struct vnet *vn, uint16_t pair, struct vnet_queue_stats *st);
/* The device's queue pairs, and how many the driver uses now (1 before DRIVER_OK). */
uint16_t vnet_max_pairs(const struct vnet *vn);
uint16_t vnet_active_pairs(struct vnet *vn);

/*
 * The receive-steering hash of an Ethernet frame: over the IPv4/IPv6
 * addresses and, for TCP/UDP/SCTP that is not a fragment, the ports
 * (802.1Q/802.1ad tags skipped); over the MAC addresses for anything else.
 * Symmetric (a flow's two directions hash alike). Reads at most `len` bytes.
 */
uint32_t vnet_flow_hash(const uint8_t *frame, size_t len);

#endif /* NFV_NICMODELS_VIRTIO_NET_H */
