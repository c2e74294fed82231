/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nfguest NIC abstraction: packet buffers, the interface every NIC driver
 * implements (struct netif + struct netif_ops), per-queue statistics and
 * the registry of NICs probed from PCI.
 *
 * Life cycle of a NIC:
 *   1. main() enumerates PCI and calls netif_probe_all(cfg). For every PCI
 *      function whose vendor:device is in a driver's id table (drivers are
 *      collected with NETIF_DRIVER(), no central table to edit), the
 *      driver's probe(pci, cfg) runs: it resets the device, reads the MAC,
 *      allocates its rings and buffer pool(s), sets up nif->nr_queues
 *      (MIN(cfg->queues, what the device has)), fills the RX rings, enables
 *      RX and TX, and calls netif_register(). Interrupts stay disarmed. It
 *      returns 0, or a negative value after printing one
 *      "nfguest: <kind> <bdf>: ..." line (the NIC is then skipped).
 *   2. The NF mode moves packets: queue q of a NIC is only ever used by
 *      CPU netif_queue_cpu(nif, q), so a queue needs no locking.
 *   3. There is no stop/remove: the guest ends by exiting.
 *
 * Ownership (as DPDK's rte_eth_rx_burst / rte_eth_tx_burst):
 *   - rx_burst(nif, q, pkts, n) returns k <= n received buffers; the CALLER
 *     owns them and must pass each to tx_burst or pkt_free. The driver
 *     refills its ring from its own pool.
 *   - tx_burst(nif, q, pkts, n) takes ownership of the first k it returns
 *     (k <= n; fewer when the ring is full): it frees them to their pools
 *     once the device is done with them (reclaimed inside later tx_burst
 *     calls). The caller still owns pkts[k..n-1] and must retry or free
 *     them. tx_burst never blocks; n may be 0 (pkts may then be NULL), which
 *     only reclaims finished buffers (gen does so while draining).
 *   - A buffer may be sent on any NIC (fwd mode receives on NIC 0 and sends
 *     on NIC 1): drivers use pkt_phys()/pkt->len and never assume the
 *     buffer came from their own pool.
 *
 * Interrupts (cfg->irq): a driver whose queue raises an interrupt calls
 * netif_queue_notify(nif, q) from its handler and leaves that queue's
 * interrupt DISARMED (NAPI style). The NF loop, finding nothing to do,
 * calls ops->irq_arm(nif, q, true), polls once more (closing the race with
 * a packet that arrived in between), then idles in cpu_idle() until an
 * interrupt or the timer tick. Arming covers received frames (and may
 * cover TX completions). In polling mode (irq=0) irq_arm is never called.
 */
#ifndef NFGUEST_NETIF_H
#define NFGUEST_NETIF_H

#include "nfguest.h"

/* ---- Packet buffers -------------------------------------------------------- */
/*
 * A fixed-size buffer (DPDK mbuf-like): one contiguous, identity-mapped,
 * physically contiguous data area of pool->buf_size bytes starting at
 * pkt->buf. pkt->data points into it (PKT_HEADROOM bytes in on allocation,
 * room for a driver header such as virtio_net_hdr in front of the frame);
 * the frame is pkt->len bytes from pkt->data, len <= pkt_tailroom().
 */
#define PKT_HEADROOM		128u
#define PKT_DEFAULT_DATAROOM	2048u	/* frame bytes after the headroom */

/* Frame lengths without the FCS: a standard and a jumbo (9000-byte MTU) one. */
#define ETH_FRAME_STD		1514u
#define ETH_FRAME_JUMBO		9014u
#define ETH_VLAN_HLEN		4u

struct pktpool;

struct pktbuf {
	uint8_t *data;		/* first byte of the frame */
	uint32_t len;		/* frame length in bytes */
	uint32_t cap;		/* bytes in the buffer from buf (headroom included) */
	uint8_t *buf;		/* start of the buffer */
	struct pktpool *pool;	/* the pool it returns to */
	struct pktbuf *next;	/* free-list link; free for a driver to use while it owns it */
	uint64_t user;		/* free for the owner (e.g. the NF mode) */
	uint16_t queue;		/* queue it was received on (set by rx_burst) */
	uint16_t port;		/* NIC index it was received on (set by rx_burst) */
};

struct pktpool {
	const char *name;
	uint32_t count;		/* buffers in the pool */
	uint32_t buf_size;	/* PKT_HEADROOM + data room */
	spinlock_t lock;
	uint32_t nfree;		/* buffers in the free stack */
	struct pktbuf **stack;	/* free buffers, stack[0 .. nfree - 1] */
	struct pktbuf *hdrs;	/* count headers */
	uint8_t *mem;		/* count * buf_size bytes of buffers */
};

/*
 * A pool of count buffers with dataroom bytes each after PKT_HEADROOM.
 * NULL (after a console line) when memory runs out. Pools are never freed.
 * Allocation and freeing take the pool's spinlock: they may be called from
 * any CPU (not from interrupt handlers).
 */
struct pktpool *pktpool_create(const char *name, uint32_t count, uint32_t dataroom);
/* One buffer (data = buf + PKT_HEADROOM, len = 0), or NULL when empty. */
struct pktbuf *pkt_alloc(struct pktpool *pool);
/* Up to n buffers into pkts; returns how many. */
int pkt_alloc_bulk(struct pktpool *pool, struct pktbuf **pkts, int n);
void pkt_free(struct pktbuf *pkt);
/* Frees n buffers, which may belong to different pools. */
void pkt_free_bulk(struct pktbuf **pkts, int n);
uint32_t pktpool_avail(const struct pktpool *pool);

static inline uint64_t pkt_phys(const struct pktbuf *pkt)
{
	return virt_to_phys(pkt->data);
}

static inline uint32_t pkt_headroom(const struct pktbuf *pkt)
{
	return (uint32_t)(pkt->data - pkt->buf);
}

/* Bytes from data to the end of the buffer. */
static inline uint32_t pkt_tailroom(const struct pktbuf *pkt)
{
	return pkt->cap - pkt_headroom(pkt);
}

/* Reset data to the default headroom and len to 0 (e.g. before an RX refill). */
static inline void pkt_reset(struct pktbuf *pkt)
{
	pkt->data = pkt->buf + PKT_HEADROOM;
	pkt->len = 0;
}

/* ---- NICs ------------------------------------------------------------------------ */
#define NETIF_MAX		8	/* NICs in one guest */
#define NETIF_MAX_QUEUES	8	/* queue pairs per NIC */
#define NETIF_BURST		32	/* the burst size the NF modes use */

enum netif_kind {
	NETIF_E1000,
	NETIF_VIRTIO,
};

/* Settings from the command line (see docs/nfguest.md), read by probe. */
struct netif_config {
	uint16_t queues;	/* queue pairs wanted (queues=, default 1) */
	uint16_t rx_ring;	/* RX descriptors per queue (rxd=; a driver may round) */
	uint16_t tx_ring;	/* TX descriptors per queue (txd=) */
	bool irq;		/* irq=1: interrupts; irq=0: pure polling */
	uint32_t itr_us;	/* interrupt moderation interval (itr=, 0 = off) */
	uint32_t pool_bufs;	/* buffers per RX pool (0: driver chooses) */
	bool promisc;		/* receive frames for any unicast MAC (fwd mode) */
};

/*
 * Per-queue counters, written only by the CPU that owns the queue (the
 * driver counts rx_*, tx_* and drops; the NF mode adds the frames it could
 * not send to drops and counts loss/reorder).
 * Readers on other CPUs may see slightly stale values.
 */
struct netif_qstats {
	uint64_t rx_pkts;
	uint64_t rx_bytes;
	uint64_t tx_pkts;	/* frames accepted by tx_burst */
	uint64_t tx_bytes;
	uint64_t drops;		/* frames the device or driver dropped on this queue
				 * (RX ring empty/missed, bad descriptor) */
	uint64_t loss;		/* sink: frames missing from the sequence */
	uint64_t reorder;	/* sink: frames that arrived out of order */
	uint64_t irqs;		/* netif_queue_notify() calls */
} __aligned(CACHE_LINE);

struct netif;

struct netif_ops {
	/* Receive up to n frames of queue q; see the ownership rules above. */
	int (*rx_burst)(struct netif *nif, int q, struct pktbuf **pkts, int n);
	/* Send up to n frames on queue q; see the ownership rules above. */
	int (*tx_burst)(struct netif *nif, int q, struct pktbuf **pkts, int n);
	/*
	 * Arm (true) or disarm (false) queue q's interrupt. NULL when the
	 * driver only polls. Called only by the queue's CPU.
	 */
	void (*irq_arm)(struct netif *nif, int q, bool on);
	/* Current link state (may read a device register). */
	bool (*link_up)(struct netif *nif);
	/*
	 * Frames handed to queue q that the device has not returned yet (as
	 * of the last tx_burst). NULL when the driver does not know.
	 */
	uint32_t (*tx_inflight)(struct netif *nif, int q);
};

struct netif {
	int index;			/* position in the registry: "nic=N" */
	enum netif_kind kind;
	const char *kind_name;		/* "e1000", "virtio": the "kind" in output lines */
	struct pci_dev *pci;
	uint8_t mac[6];
	uint16_t nr_queues;		/* queue pairs in use (1 for e1000) */
	uint16_t max_queues;		/* queue pairs the device offers */
	uint16_t rx_ring, tx_ring;	/* descriptors per queue actually used */
	uint32_t max_frame;		/* longest frame (no FCS) it sends and receives */
	bool irq;			/* interrupts set up (else polling only) */
	const struct netif_ops *ops;
	void *priv;			/* the driver's state */
	volatile uint32_t irq_pending[NETIF_MAX_QUEUES];	/* set by netif_queue_notify */
	struct netif_qstats stats[NETIF_MAX_QUEUES];
};

/* Add a probed NIC to the registry; returns its index or -1 when full. */
int netif_register(struct netif *nif);
int netif_count(void);
struct netif *netif_get(int index);

/*
 * The CPU that runs queue q of every NIC: q % cpu_count(). Drivers aim the
 * queue's interrupt (MSI-X) at this CPU.
 */
int netif_queue_cpu(const struct netif *nif, int q);

/* For drivers' interrupt handlers: count and flag an interrupt for queue q. */
static inline void netif_queue_notify(struct netif *nif, int q)
{
	nif->stats[q].irqs++;
	WRITE_ONCE(nif->irq_pending[q], 1);
}

/* "bb:dd.f" of the NIC's PCI function into buf (at least 8 bytes). */
void netif_bdf(const struct netif *nif, char *buf, size_t size);

/* ---- Drivers ---------------------------------------------------------------------- */
struct netif_pci_id {
	uint16_t vendor, device;	/* {0, 0} ends a table */
};

struct netif_driver {
	const char *name;		/* "e1000", "virtio" */
	const struct netif_pci_id *ids;
	/* Probe one matching function (see the life cycle above). */
	int (*probe)(struct pci_dev *pci, const struct netif_config *cfg);
};

/*
 * Register a driver: NETIF_DRIVER(e1000_driver) at file scope after the
 * definition of `const struct netif_driver e1000_driver`. It puts a pointer
 * in the .netif_drivers section, which the linker script collects; adding a
 * driver is adding its source file to meson.build, nothing else.
 */
#define NETIF_DRIVER(drv)                                                                      \
	static const struct netif_driver *const __netif_drv_##drv __used                      \
		__attribute__((section(".netif_drivers"))) = &(drv)

/*
 * Probe every PCI function with a matching driver, in PCI order, so NIC
 * indices follow bus/device/function order. Returns the number registered.
 */
int netif_probe_all(const struct netif_config *cfg);

#endif /* NFGUEST_NETIF_H */
