/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Intel 82540EM (8086:100E) gigabit Ethernet model, as the Linux e1000
 * driver, DPDK's em driver and nfguest drive it.
 *
 * The model knows nothing of KVM: it registers with the PCI core (BAR0 128
 * KiB MMIO, BAR1 I/O window, INTx), reads and writes guest RAM only through
 * common/guestmem, raises interrupts through the PCI core, moves frames
 * through a struct netdev, and arms its moderation timers on an event loop.
 * Its state struct stays private to e1000.c.
 *
 * Threads: register accesses come from vCPU threads, received frames and
 * timers from the event loop thread; one mutex inside serialises them.
 * Everything the guest writes is hostile: see docs/nics.md for the error
 * handling.
 */
#ifndef NFV_NICMODELS_E1000_H
#define NFV_NICMODELS_E1000_H

#include <stdbool.h>
#include <stdint.h>

#include "common/evloop.h"
#include "common/guestmem.h"
#include "vmm/netdev.h"
#include "vmm/pci.h"

struct e1000;

struct e1000_config {
	uint8_t mac[6];
	const char *name; /* for logs: "e1000.0" */
};

/*
 * Creates the device on `bus` (next free slot), attached to `nd` (which it
 * does not own). Returns NULL with a logged reason on failure.
 */
struct e1000 *e1000_new(struct pci_bus *bus, const struct guest_mem *mem, struct netdev *nd,
			struct evloop *loop, const struct e1000_config *cfg);
void e1000_free(struct e1000 *e);

/* Counters of what the model did and refused, for the VMM's stats. */
struct e1000_stats {
	uint64_t tx_frames;
	uint64_t rx_frames;
	uint64_t tx_tdt_writes;   /* doorbells */
	uint64_t irqs;            /* interrupts raised */
	uint64_t guest_errors;    /* hostile or malformed guest input, counted and refused */
	uint64_t rx_no_buffer;    /* frames dropped for lack of RX descriptors */
	uint64_t rx_filtered;     /* frames the RX filters dropped */
};
void e1000_get_stats(struct e1000 *e, struct e1000_stats *st);

#endif /* NFV_NICMODELS_E1000_H */
