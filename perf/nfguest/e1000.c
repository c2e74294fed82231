// SPDX-License-Identifier: BSD-3-Clause
/*
 * nfguest driver for the Intel 82540EM (e1000, 8086:100e) as QEMU and
 * nfv-vmm model it: one RX and one TX queue with legacy descriptors,
 * MAC from the EEPROM through EERD, INTx through the IOAPIC with ITR
 * moderation, or polling.
 *
 * Register and descriptor layouts: Intel PCI/PCI-X Family of Gigabit
 * Ethernet Controllers Software Developer's Manual (8254x), chapters 3
 * (descriptors) and 13 (registers).
 *
 * Every MMIO access is a VM exit (about 10 us on the test machines), so
 * the fast path touches registers once per burst: RDT after a receive
 * burst, TDT after a send burst; completion is seen in the descriptors'
 * DD bits in memory.
 */
#include "netif.h"

#define E1000_CTRL	0x0000
#define E1000_STATUS	0x0008
#define E1000_EERD	0x0014
#define E1000_ICR	0x00c0
#define E1000_ITR	0x00c4
#define E1000_IMS	0x00d0
#define E1000_IMC	0x00d8
#define E1000_RCTL	0x0100
#define E1000_TCTL	0x0400
#define E1000_TIPG	0x0410
#define E1000_RDBAL	0x2800
#define E1000_RDBAH	0x2804
#define E1000_RDLEN	0x2808
#define E1000_RDH	0x2810
#define E1000_RDT	0x2818
#define E1000_RDTR	0x2820
#define E1000_RADV	0x282c
#define E1000_TDBAL	0x3800
#define E1000_TDBAH	0x3804
#define E1000_TDLEN	0x3808
#define E1000_TDH	0x3810
#define E1000_TDT	0x3818
#define E1000_TIDV	0x3820
#define E1000_TADV	0x382c
#define E1000_MPC	0x4010		/* missed packets (no RX descriptor), read-clear */
#define E1000_MTA	0x5200		/* 128 entries */
#define E1000_RAL0	0x5400
#define E1000_RAH0	0x5404

#define CTRL_LRST	(1u << 3)
#define CTRL_ASDE	(1u << 5)
#define CTRL_SLU	(1u << 6)
#define CTRL_ILOS	(1u << 7)
#define CTRL_RST	(1u << 26)
#define CTRL_VME	(1u << 30)
#define CTRL_PHY_RST	(1u << 31)

#define STATUS_LU	(1u << 1)

/* EERD on the 82540EM: start bit 0, done bit 4, word address 15:8, data 31:16. */
#define EERD_START	(1u << 0)
#define EERD_DONE	(1u << 4)
#define EERD_ADDR_SHIFT	8
#define EERD_DATA_SHIFT	16

#define ICR_TXDW	(1u << 0)
#define ICR_LSC		(1u << 2)
#define ICR_RXDMT0	(1u << 4)
#define ICR_RXO		(1u << 6)
#define ICR_RXT0	(1u << 7)
#define IMS_QUEUE	(ICR_RXT0 | ICR_RXO | ICR_RXDMT0 | ICR_TXDW | ICR_LSC)

#define RCTL_EN		(1u << 1)
#define RCTL_UPE	(1u << 3)
#define RCTL_MPE	(1u << 4)
#define RCTL_BAM	(1u << 15)
#define RCTL_BSIZE_2048	(0u << 16)
#define RCTL_SECRC	(1u << 26)

#define TCTL_EN		(1u << 1)
#define TCTL_PSP	(1u << 3)
#define TCTL_CT(x)	((uint32_t)(x) << 4)
#define TCTL_COLD(x)	((uint32_t)(x) << 12)

/* IPGT 10, IPGR1 8, IPGR2 6: the values the manual gives for copper. */
#define TIPG_COPPER	(10u | 8u << 10 | 6u << 20)

#define RAH_AV		(1u << 31)

#define RXD_STAT_DD	(1u << 0)
#define RXD_STAT_EOP	(1u << 1)

#define TXD_CMD_EOP	(1u << 0)
#define TXD_CMD_IFCS	(1u << 1)
#define TXD_CMD_RS	(1u << 3)
#define TXD_STAT_DD	(1u << 0)

#define E1000_BUF	2048u		/* RCTL.BSIZE = 2048 */
#define E1000_MAX_DESC	4096u

/* Bounds for device waits (each register read is an exit, ~10 us here). */
#define RESET_POLLS	10000u
#define EERD_POLLS	10000u
#define LINK_WAIT_NS	1000000000ull
#define MPC_PERIOD_NS	10000000ull	/* read MPC at most every 10 ms */

struct e1000_rx_desc {
	uint64_t addr;
	uint16_t length;
	uint16_t csum;
	uint8_t status;
	uint8_t errors;
	uint16_t special;
} __packed;

struct e1000_tx_desc {
	uint64_t addr;
	uint16_t length;
	uint8_t cso;
	uint8_t cmd;
	uint8_t status;
	uint8_t css;
	uint16_t special;
} __packed;

struct e1000 {
	struct netif nif;
	volatile uint8_t *regs;
	struct pktpool *pool;
	volatile struct e1000_rx_desc *rx;
	volatile struct e1000_tx_desc *tx;
	struct pktbuf **rx_bufs;
	struct pktbuf **tx_bufs;
	uint16_t rx_n, tx_n;
	uint16_t rx_next;	/* next RX descriptor the device will complete */
	uint16_t tx_tail;	/* next free TX descriptor (our TDT) */
	uint16_t tx_clean;	/* oldest descriptor still owned by the device */
	uint16_t tx_inflight;
	uint64_t next_mpc;	/* TSC time of the next MPC read */
	int gsi;
};

static inline uint32_t rd(struct e1000 *e, uint32_t reg)
{
	return mmio_read32(e->regs + reg);
}

static inline void wr(struct e1000 *e, uint32_t reg, uint32_t v)
{
	mmio_write32(e->regs + reg, v);
}

static int eeprom_read(struct e1000 *e, uint8_t addr, uint16_t *out)
{
	uint32_t n = EERD_POLLS, v;

	wr(e, E1000_EERD, EERD_START | (uint32_t)addr << EERD_ADDR_SHIFT);
	do {
		v = rd(e, E1000_EERD);
		if (v & EERD_DONE) {
			*out = (uint16_t)(v >> EERD_DATA_SHIFT);
			return 0;
		}
		cpu_relax();
	} while (--n);
	return -1;
}

/* Give back the buffers of TX descriptors the device has finished. */
static void tx_reclaim(struct e1000 *e)
{
	struct pktbuf *done[NETIF_BURST];
	int nd = 0;

	while (e->tx_inflight && (e->tx[e->tx_clean].status & TXD_STAT_DD)) {
		done[nd++] = e->tx_bufs[e->tx_clean];
		e->tx_bufs[e->tx_clean] = NULL;
		e->tx_clean = (uint16_t)((e->tx_clean + 1) % e->tx_n);
		e->tx_inflight--;
		if (nd == NETIF_BURST) {
			pkt_free_bulk(done, nd);
			nd = 0;
		}
	}
	if (nd)
		pkt_free_bulk(done, nd);
}

static int e1000_tx_burst(struct netif *nif, int q, struct pktbuf **pkts, int n)
{
	struct e1000 *e = nif->priv;
	struct netif_qstats *st = &nif->stats[0];
	int i;

	tx_reclaim(e);
	for (i = 0; i < n && e->tx_inflight < e->tx_n - 1; i++) {
		volatile struct e1000_tx_desc *d = &e->tx[e->tx_tail];
		struct pktbuf *p = pkts[i];

		d->addr = pkt_phys(p);
		d->length = (uint16_t)p->len;
		d->cso = 0;
		d->cmd = TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS;
		d->status = 0;
		d->css = 0;
		d->special = 0;
		e->tx_bufs[e->tx_tail] = p;
		e->tx_tail = (uint16_t)((e->tx_tail + 1) % e->tx_n);
		e->tx_inflight++;
		st->tx_pkts++;
		st->tx_bytes += p->len;
	}
	if (i) {
		dma_wmb();	/* descriptors before the doorbell */
		wr(e, E1000_TDT, e->tx_tail);
	}
	return i;
}

static int e1000_rx_burst(struct netif *nif, int q, struct pktbuf **pkts, int n)
{
	struct e1000 *e = nif->priv;
	struct netif_qstats *st = &nif->stats[0];
	uint16_t last = e->rx_n;
	int k = 0;

	while (k < n) {
		volatile struct e1000_rx_desc *d = &e->rx[e->rx_next];
		struct pktbuf *p, *fresh;
		uint8_t status = d->status;

		if (!(status & RXD_STAT_DD))
			break;
		dma_rmb();	/* the rest of the descriptor after DD */
		p = e->rx_bufs[e->rx_next];
		fresh = NULL;
		if ((status & RXD_STAT_EOP) && !d->errors && d->length)
			fresh = pkt_alloc(e->pool);
		if (fresh) {
			p->len = d->length;
			p->queue = 0;
			p->port = (uint16_t)nif->index;
			pkts[k++] = p;
			st->rx_pkts++;
			st->rx_bytes += p->len;
			e->rx_bufs[e->rx_next] = fresh;
			p = fresh;
		} else {
			/* Bad frame, a frame over 2 KiB, or no buffer: reuse it. */
			st->drops++;
		}
		d->addr = pkt_phys(p);
		d->status = 0;
		last = e->rx_next;
		e->rx_next = (uint16_t)((e->rx_next + 1) % e->rx_n);
	}
	if (last != e->rx_n) {
		dma_wmb();	/* refilled descriptors before handing them back */
		wr(e, E1000_RDT, last);
	} else if (rdtsc() > e->next_mpc) {
		/* Idle: now and then, add the frames the device missed. */
		st->drops += rd(e, E1000_MPC);
		e->next_mpc = rdtsc() + ns_to_tsc(MPC_PERIOD_NS);
	}
	return k;
}

static void e1000_irq_arm(struct netif *nif, int q, bool on)
{
	struct e1000 *e = nif->priv;

	if (on)
		wr(e, E1000_IMS, IMS_QUEUE);
	else
		wr(e, E1000_IMC, 0xffffffffu);
}

static bool e1000_link_up(struct netif *nif)
{
	struct e1000 *e = nif->priv;

	return rd(e, E1000_STATUS) & STATUS_LU;
}

/*
 * One handler serves every e1000: it is attached to each INTx line an
 * e1000 uses (lines are shared; QEMU's PIIX has four links for all slots)
 * and asks each e1000 for its causes.
 */
static struct e1000 *all_nics[NETIF_MAX];
static int n_nics;

/*
 * INTx handler (level-triggered): reading a device's ICR returns and
 * clears its causes, which drops its line before the dispatcher's EOI.
 * Every e1000 is asked, as the line may be shared. A queue's interrupt
 * stays disarmed until the NF loop re-arms it.
 */
static void e1000_irq(void *arg)
{
	int i;

	for (i = 0; i < n_nics; i++) {
		struct e1000 *e = all_nics[i];
		uint32_t icr;

		if (!e->nif.irq)
			continue;
		icr = rd(e, E1000_ICR);
		if (!(icr & IMS_QUEUE))
			continue;
		wr(e, E1000_IMC, 0xffffffffu);
		netif_queue_notify(&e->nif, 0);
	}
}

static const struct netif_ops e1000_ops = {
	.rx_burst = e1000_rx_burst,
	.tx_burst = e1000_tx_burst,
	.irq_arm = e1000_irq_arm,
	.link_up = e1000_link_up,
};

static int fail(struct pci_dev *pci, const char *what)
{
	printf("nfguest: e1000 %02x:%02x.%x: %s\n", pci->bus, pci->dev, pci->fn, what);
	return -1;
}

static uint16_t ring_size(uint16_t want)
{
	/* RDLEN/TDLEN must be a multiple of 128 bytes: 8 descriptors. */
	uint32_t n = ALIGN_UP(want, 8);

	return (uint16_t)MIN(n, E1000_MAX_DESC);
}

static int rings_init(struct e1000 *e, const struct netif_config *cfg)
{
	uint32_t bufs, i;

	e->rx_n = ring_size(cfg->rx_ring);
	e->tx_n = ring_size(cfg->tx_ring);
	bufs = cfg->pool_bufs ? cfg->pool_bufs : 2u * e->rx_n + 2u * e->tx_n + 256u;
	if (bufs < e->rx_n + 2u * NETIF_BURST)
		bufs = e->rx_n + 2u * NETIF_BURST;
	e->pool = pktpool_create("e1000", bufs, E1000_BUF);
	e->rx = page_alloc((e->rx_n * sizeof(*e->rx) + PAGE_SIZE - 1) / PAGE_SIZE);
	e->tx = page_alloc((e->tx_n * sizeof(*e->tx) + PAGE_SIZE - 1) / PAGE_SIZE);
	e->rx_bufs = mem_alloc(e->rx_n * sizeof(void *), 8);
	e->tx_bufs = mem_alloc(e->tx_n * sizeof(void *), 8);
	if (!e->pool || !e->rx || !e->tx || !e->rx_bufs || !e->tx_bufs)
		return -1;
	for (i = 0; i < e->rx_n; i++) {
		struct pktbuf *p = pkt_alloc(e->pool);

		if (!p)
			return -1;
		e->rx_bufs[i] = p;
		e->rx[i].addr = pkt_phys(p);
		e->rx[i].status = 0;
	}
	return 0;
}

static int e1000_probe(struct pci_dev *pci, const struct netif_config *cfg)
{
	struct e1000 *e = mem_alloc(sizeof(*e), CACHE_LINE);
	struct netif *nif;
	uint32_t n, ctrl, i, rctl;
	uint64_t deadline;
	uint16_t w[3];

	if (!e)
		return fail(pci, "out of memory");
	nif = &e->nif;
	e->regs = pci_bar_map(pci, 0);
	if (!e->regs)
		return fail(pci, "BAR0 not assigned");
	pci_enable(pci, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);

	/* Reset: mask interrupts, set CTRL.RST, wait for it to clear. */
	wr(e, E1000_IMC, 0xffffffffu);
	wr(e, E1000_CTRL, rd(e, E1000_CTRL) | CTRL_RST);
	delay_ns(1000);
	for (n = RESET_POLLS; n && (rd(e, E1000_CTRL) & CTRL_RST); n--)
		cpu_relax();
	if (!n)
		return fail(pci, "reset did not complete");
	wr(e, E1000_IMC, 0xffffffffu);
	(void)rd(e, E1000_ICR);

	/* MAC address: EEPROM words 0-2, low byte first. */
	for (i = 0; i < 3; i++)
		if (eeprom_read(e, (uint8_t)i, &w[i]))
			return fail(pci, "EEPROM read (EERD) timed out");
	for (i = 0; i < 3; i++) {
		nif->mac[2 * i] = w[i] & 0xff;
		nif->mac[2 * i + 1] = w[i] >> 8;
	}
	wr(e, E1000_RAL0, w[0] | (uint32_t)w[1] << 16);
	wr(e, E1000_RAH0, w[2] | RAH_AV);
	for (i = 0; i < 128; i++)
		wr(e, E1000_MTA + 4 * i, 0);

	/* Link up: set link up, auto speed detection, no reset or inversion. */
	ctrl = rd(e, E1000_CTRL);
	ctrl &= ~(CTRL_LRST | CTRL_PHY_RST | CTRL_ILOS | CTRL_VME);
	wr(e, E1000_CTRL, ctrl | CTRL_SLU | CTRL_ASDE);

	if (rings_init(e, cfg))
		return fail(pci, "out of memory for rings and buffers");

	wr(e, E1000_RDBAL, (uint32_t)virt_to_phys(e->rx));
	wr(e, E1000_RDBAH, (uint32_t)(virt_to_phys(e->rx) >> 32));
	wr(e, E1000_RDLEN, e->rx_n * (uint32_t)sizeof(*e->rx));
	wr(e, E1000_RDH, 0);
	wr(e, E1000_RDT, e->rx_n - 1u);	/* all but one descriptor to the device */
	wr(e, E1000_RDTR, 0);
	wr(e, E1000_RADV, 0);
	rctl = RCTL_EN | RCTL_BAM | RCTL_BSIZE_2048 | RCTL_SECRC;
	if (cfg->promisc)
		rctl |= RCTL_UPE | RCTL_MPE;
	wr(e, E1000_RCTL, rctl);

	wr(e, E1000_TDBAL, (uint32_t)virt_to_phys(e->tx));
	wr(e, E1000_TDBAH, (uint32_t)(virt_to_phys(e->tx) >> 32));
	wr(e, E1000_TDLEN, e->tx_n * (uint32_t)sizeof(*e->tx));
	wr(e, E1000_TDH, 0);
	wr(e, E1000_TDT, 0);
	wr(e, E1000_TIDV, 0);
	wr(e, E1000_TADV, 0);
	wr(e, E1000_TIPG, TIPG_COPPER);
	wr(e, E1000_TCTL, TCTL_EN | TCTL_PSP | TCTL_CT(0x0f) | TCTL_COLD(0x40));

	/* ITR counts in 256 ns units. */
	wr(e, E1000_ITR, (uint32_t)MIN((uint64_t)cfg->itr_us * 1000 / 256, 0xffffu));

	nif->kind = NETIF_E1000;
	nif->kind_name = "e1000";
	nif->pci = pci;
	nif->nr_queues = 1;
	nif->max_queues = 1;
	nif->rx_ring = e->rx_n;
	nif->tx_ring = e->tx_n;
	nif->max_frame = ETH_FRAME_STD;	/* RCTL.LPE stays off */
	nif->ops = &e1000_ops;
	nif->priv = e;

	if (cfg->irq && n_nics < NETIF_MAX) {
		e->gsi = intx_attach(pci, e1000_irq, NULL, netif_queue_cpu(nif, 0));
		if (e->gsi < 0)
			printf("nfguest: e1000 %02x:%02x.%x: no INTx line, polling\n", pci->bus,
			       pci->dev, pci->fn);
		else
			nif->irq = true;
		all_nics[n_nics++] = e;
	}

	/* Wait (bounded) for the link, so the ready line reports it. */
	deadline = time_ns() + LINK_WAIT_NS;
	while (!e1000_link_up(nif) && time_ns() < deadline)
		delay_ns(1000000);
	if (netif_register(nif) < 0)
		return fail(pci, "too many NICs");
	return 0;
}

static const struct netif_pci_id e1000_ids[] = {
	{ 0x8086, 0x100e },	/* 82540EM */
	{ 0, 0 },
};

const struct netif_driver e1000_driver = {
	.name = "e1000",
	.ids = e1000_ids,
	.probe = e1000_probe,
};
NETIF_DRIVER(e1000_driver);
