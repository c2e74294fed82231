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
	/*
	 * Monotonic clock in ns for interrupt moderation; NULL means now_ns().
	 * Tests and fuzzers inject their own time here.
	 */
	uint64_t (*clock_ns)(void *opaque);
	void *clock_opaque;
	unsigned int pci_slot; /* 0: the next free slot */
};

/*
 * Creates the device on `bus` (in cfg->pci_slot, or the next free slot),
 * attached to `nd` (which it does not own). `loop` runs the moderation
 * timer; NULL disables interrupt moderation (every cause is raised at
 * once). Returns NULL with a logged reason on failure.
 */
struct e1000 *e1000_new(struct pci_bus *bus, const struct guest_mem *mem, struct netdev *nd,
			struct evloop *loop, const struct e1000_config *cfg);
/*
 * Detaches from the netdev and frees the model. Call it once the vCPUs and
 * the event loop have stopped: the PCI device keeps its slot (the PCI core
 * frees devices with the bus) and must see no more accesses.
 */
void e1000_free(struct e1000 *e);

/* Counters of what the model did and refused, for the VMM's stats. */
struct e1000_stats {
	uint64_t tx_frames;
	uint64_t rx_frames;
	uint64_t tx_tdt_writes; /* doorbells */
	uint64_t irqs;		/* interrupts raised */
	uint64_t guest_errors;	/* hostile or malformed guest input, counted and refused */
	uint64_t rx_no_buffer;	/* frames dropped for lack of RX descriptors */
	uint64_t rx_filtered;	/* frames the RX filters dropped (also oversize ones) */
	uint64_t tx_dropped;	/* frames (or TSO segments) the backend did not take */
};
void e1000_get_stats(struct e1000 *e, struct e1000_stats *st);

/*
 * Interrupt moderation, as one pure function of the state below (no clock,
 * no threads), so that tests drive it with injected time.
 *
 * A cause waits in `pending` before it reaches ICR. RXT0 from a frame
 * received with RDTR set waits for the packet timer (RDTR after the latest
 * frame) or the absolute timer (RADV after the first frame), whichever
 * comes first; TXDW from descriptors with IDE set waits likewise for TIDV /
 * TADV. Any other cause enabled in IMS is due at once. ITR then spaces
 * interrupts: nothing enabled is raised less than ITR * 256 ns after the
 * previous interrupt. A non-zero delay is floored at E1000_MIT_MIN_NS.
 */
#define E1000_MIT_MIN_NS 10000ull /* about one VM exit on the test machines */

struct e1000_mit_input {
	uint64_t now_ns;
	uint32_t pending; /* causes not yet in ICR (E1000 ICR bits) */
	uint32_t ims;
	bool rx_timed; /* the pending RXT0 waits for RDTR/RADV */
	uint64_t rx_first_ns, rx_last_ns;
	bool tx_timed; /* the pending TXDW waits for TIDV/TADV */
	uint64_t tx_first_ns, tx_last_ns;
	uint32_t rdtr, radv, tidv, tadv; /* register values, 1.024 us units */
	uint32_t itr;			 /* register value, 256 ns units */
	bool irq_seen;			 /* an interrupt was raised before */
	uint64_t last_irq_ns;
};
/* Nanoseconds until the pending causes may be posted to ICR; 0: now. */
uint64_t e1000_mit_delay_ns(const struct e1000_mit_input *in);

/*
 * Does now what the moderation timer does when it fires (posts the causes
 * that are due). The event loop calls it through the timer; tests and
 * fuzzers that inject time call it directly.
 */
void e1000_timer_expire(struct e1000 *e);

#endif /* NFV_NICMODELS_E1000_H */
