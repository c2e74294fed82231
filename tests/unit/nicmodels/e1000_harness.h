/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared fixture for the e1000 model's unit tests: the model on a PCI bus
 * with a fake vm_irq (records the INTx level), a guest RAM arena with TX and
 * RX ring builders, a fake netdev that records the frames the model sends,
 * an optional event loop and an injected clock. The register offsets and
 * bits are spelled out here again from the manual, independently of the
 * model's own definitions. Include after <cmocka.h>.
 */
#ifndef NFV_TESTS_UNIT_NICMODELS_E1000_HARNESS_H
#define NFV_TESTS_UNIT_NICMODELS_E1000_HARNESS_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/evloop.h"
#include "common/log.h"
#include "nicmodels/e1000.h"
#include "vmm/iobus.h"
#include "vmm/netdev.h"
#include "vmm/pci.h"

#include "../support/testutil.h"

/* Registers. */
#define CTRL 0x0000
#define STATUS 0x0008
#define EECD 0x0010
#define EERD 0x0014
#define CTRL_EXT 0x0018
#define MDIC 0x0020
#define VET 0x0038
#define ICR 0x00C0
#define ITR 0x00C4
#define ICS 0x00C8
#define IMS 0x00D0
#define IMC 0x00D8
#define RCTL 0x0100
#define TCTL 0x0400
#define TIPG 0x0410
#define LEDCTL 0x0E00
#define PBA 0x1000
#define RDBAL 0x2800
#define RDBAH 0x2804
#define RDLEN 0x2808
#define RDH 0x2810
#define RDT 0x2818
#define RDTR 0x2820
#define RADV 0x282C
#define TDBAL 0x3800
#define TDBAH 0x3804
#define TDLEN 0x3808
#define TDH 0x3810
#define TDT 0x3818
#define TIDV 0x3820
#define TADV 0x382C
#define MPC 0x4010
#define GPRC 0x4074
#define BPRC 0x4078
#define MPRC 0x407C
#define GPTC 0x4080
#define GORCL 0x4088
#define GORCH 0x408C
#define GOTCL 0x4090
#define GOTCH 0x4094
#define RNBC 0x40A0
#define ROC 0x40AC
#define TPR 0x40D0
#define TPT 0x40D4
#define TSCTC 0x40F8
#define RXCSUM 0x5000
#define MTA 0x5200
#define RAL(i) (0x5400 + 8 * (i))
#define RAH(i) (0x5404 + 8 * (i))
#define VFTA 0x5600

#define CTRL_SLU (1u << 6)
#define CTRL_RST (1u << 26)
#define CTRL_VME (1u << 30)
#define STATUS_FD (1u << 0)
#define STATUS_LU (1u << 1)
#define STATUS_SPEED_MASK (3u << 6)
#define STATUS_SPEED_1000 (2u << 6)

#define ICR_TXDW (1u << 0)
#define ICR_TXQE (1u << 1)
#define ICR_LSC (1u << 2)
#define ICR_RXDMT0 (1u << 4)
#define ICR_RXO (1u << 6)
#define ICR_RXT0 (1u << 7)
#define ICR_MDAC (1u << 9)

#define RCTL_EN (1u << 1)
#define RCTL_UPE (1u << 3)
#define RCTL_MPE (1u << 4)
#define RCTL_LPE (1u << 5)
#define RCTL_MO(x) ((uint32_t)(x) << 12)
#define RCTL_BAM (1u << 15)
#define RCTL_BSIZE_1024 (1u << 16)
#define RCTL_BSIZE_256 (3u << 16)
#define RCTL_VFE (1u << 18)
#define RCTL_SECRC (1u << 26)
#define TCTL_EN (1u << 1)
#define TCTL_PSP (1u << 3)
#define RAH_AV (1u << 31)

#define TXD_EOP 0x01
#define TXD_IFCS 0x02
#define TXD_IC 0x04
#define TXD_TSE 0x04
#define TXD_RS 0x08
#define TXD_DEXT 0x20
#define TXD_VLE 0x40
#define TXD_IDE 0x80
#define TUCMD_TCP 0x01
#define TUCMD_IP 0x02
#define POPTS_IXSM 0x01
#define POPTS_TXSM 0x02

#define RXD_DD 0x01
#define RXD_EOP 0x02
#define RXD_IXSM 0x04
#define RXD_VP 0x08
#define RXD_TCPCS 0x20
#define RXD_IPCS 0x40
#define RXE_TCPE 0x20
#define RXE_IPE 0x40

/* Guest memory layout. */
#define H_RAM_SIZE (4u << 20)
#define H_TX_RING 0x10000u
#define H_RX_RING 0x20000u
#define H_TX_BUF 0x100000u
#define H_RX_BUF 0x200000u
#define H_RX_SLOT 0x4000u /* 16 KiB per RX buffer */

static const uint8_t h_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* ---- fake netdev: records sent frames ---- */

#define H_MAX_FRAMES 256

struct h_nd {
	unsigned int nframes;
	uint8_t *frames[H_MAX_FRAMES];
	size_t lens[H_MAX_FRAMES];
	int send_ret;		 /* what send() returns (0: taken) */
	unsigned int rx_enables; /* set_rx(true) calls: resumes */
};

static inline int h_nd_send(struct netdev *nd, const struct iovec *iov, int iovcnt)
{
	struct h_nd *f = nd->priv;
	size_t len = 0, off = 0;
	uint8_t *buf;

	if (f->send_ret)
		return f->send_ret;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (f->nframes >= H_MAX_FRAMES)
		return -ENOBUFS;
	buf = malloc(len ? len : 1);
	assert_non_null(buf);
	for (int i = 0; i < iovcnt; i++) {
		memcpy(buf + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	f->frames[f->nframes] = buf;
	f->lens[f->nframes] = len;
	f->nframes++;
	return 0;
}

static inline void h_nd_set_rx(struct netdev *nd, bool enable)
{
	struct h_nd *f = nd->priv;

	if (enable)
		f->rx_enables++;
}

static const struct netdev_ops h_nd_ops = {
	.type = "fake",
	.send = h_nd_send,
	.set_rx = h_nd_set_rx,
};

/* ---- the fixture ---- */

struct h {
	struct arena *ar;
	struct io_bus pio, mmio;
	struct vm_irq irq;
	int level;
	unsigned int level_calls;
	unsigned int gsi;
	struct pci_bus *bus;
	struct pci_dev *pdev;
	struct netdev *nd;
	struct h_nd *fnd;
	struct evloop *loop;
	struct e1000 *e;
	uint64_t bar0, bar1;
	uint64_t now; /* injected clock */
	bool real_clock;
};

static inline int h_set_level(void *opaque, unsigned int gsi, int level)
{
	struct h *h = opaque;

	h->level = level;
	h->gsi = gsi;
	h->level_calls++;
	return 0;
}

static inline uint64_t h_clock(void *opaque)
{
	return ((struct h *)opaque)->now;
}

static inline void h_find_dev(struct pci_dev *dev, void *arg)
{
	struct h *h = arg;

	if (strcmp(pci_dev_name(dev), "e1000.test") == 0)
		h->pdev = dev;
}

/*
 * New model. `loop`: give it an event loop (moderation timers); `real_clock`:
 * moderation on the monotonic clock instead of h->now.
 */
static inline struct h *h_new_opts(bool loop, bool real_clock)
{
	struct h *h = calloc(1, sizeof(*h));
	struct e1000_config cfg = { .name = "e1000.test" };

	assert_non_null(h);
	log_set_level(LOG_LVL_ERR); /* the hostile tests trigger warnings by design */
	h->ar = arena_new(H_RAM_SIZE, 0);
	iobus_init(&h->pio, "pio");
	iobus_init(&h->mmio, "mmio");
	h->irq = (struct vm_irq){ .set_level = h_set_level, .opaque = h };
	h->bus = pci_bus_new(&h->pio, &h->mmio, &h->irq);
	assert_non_null(h->bus);
	if (loop) {
		h->loop = evloop_new();
		assert_non_null(h->loop);
	}
	/* No loop for the netdev: netdev_rx_resume() calls set_rx() at once. */
	h->nd = netdev_alloc(&h_nd_ops, "fake", NULL, sizeof(struct h_nd));
	assert_non_null(h->nd);
	h->fnd = h->nd->priv;
	memcpy(cfg.mac, h_mac, sizeof(h_mac));
	h->real_clock = real_clock;
	if (!real_clock) {
		h->now = 1000000000ull;
		cfg.clock_ns = h_clock;
		cfg.clock_opaque = h;
	}
	h->e = e1000_new(h->bus, &h->ar->gm, h->nd, h->loop, &cfg);
	assert_non_null(h->e);
	pci_bus_for_each(h->bus, h_find_dev, h);
	assert_non_null(h->pdev);
	/* Memory and I/O decoding, bus master. */
	pci_bus_config_write(h->bus, pci_dev_slot(h->pdev), 0, 0x04, 2, 0x0007);
	h->bar0 = pci_dev_bar_addr(h->pdev, 0);
	h->bar1 = pci_dev_bar_addr(h->pdev, 1);
	assert_true(h->bar0 != 0);
	assert_true(h->bar1 != 0);
	return h;
}

static inline struct h *h_new(void)
{
	return h_new_opts(false, false);
}

static inline void h_free(struct h *h)
{
	e1000_free(h->e);
	for (unsigned int i = 0; i < h->fnd->nframes; i++)
		free(h->fnd->frames[i]);
	netdev_close(h->nd);
	pci_bus_free(h->bus);
	evloop_free(h->loop);
	iobus_destroy(&h->pio);
	iobus_destroy(&h->mmio);
	arena_free(h->ar);
	free(h);
}

static inline void h_forget_frames(struct h *h)
{
	for (unsigned int i = 0; i < h->fnd->nframes; i++)
		free(h->fnd->frames[i]);
	h->fnd->nframes = 0;
}

/* ---- register access through the buses ---- */

static inline void wr(struct h *h, uint32_t off, uint32_t val)
{
	uint8_t b[4];

	wr32(b, 0, val);
	assert_int_equal(iobus_dispatch(&h->mmio, h->bar0 + off, b, 4, true), 0);
}

static inline uint32_t rd(struct h *h, uint32_t off)
{
	uint8_t b[4] = { 0 };

	assert_int_equal(iobus_dispatch(&h->mmio, h->bar0 + off, b, 4, false), 0);
	return rd32(b, 0);
}

static inline void io_wr(struct h *h, uint32_t port_off, uint32_t val)
{
	uint8_t b[4];

	wr32(b, 0, val);
	assert_int_equal(iobus_dispatch(&h->pio, h->bar1 + port_off, b, 4, true), 0);
}

static inline uint32_t io_rd(struct h *h, uint32_t port_off)
{
	uint8_t b[4] = { 0 };

	assert_int_equal(iobus_dispatch(&h->pio, h->bar1 + port_off, b, 4, false), 0);
	return rd32(b, 0);
}

static inline struct e1000_stats h_stats(struct h *h)
{
	struct e1000_stats st;

	e1000_get_stats(h->e, &st);
	return st;
}

/* ---- rings ---- */

static inline uint8_t *h_ram(struct h *h, uint64_t gpa)
{
	assert_true(gpa < H_RAM_SIZE);
	return h->ar->ram + gpa;
}

static inline void h_tx_setup(struct h *h, uint32_t ndesc)
{
	wr(h, TDBAL, H_TX_RING);
	wr(h, TDBAH, 0);
	wr(h, TDLEN, ndesc * 16);
	wr(h, TDH, 0);
	wr(h, TDT, 0);
	wr(h, TCTL, TCTL_EN | TCTL_PSP);
}

static inline uint8_t *h_txd(struct h *h, uint32_t i)
{
	return h_ram(h, H_TX_RING + 16ull * i);
}

static inline void h_tx_legacy(struct h *h, uint32_t i, uint64_t addr, uint16_t len, uint8_t cmd,
			       uint8_t cso, uint8_t css, uint16_t special)
{
	uint8_t *d = h_txd(h, i);

	wr32(d, 0, (uint32_t)addr);
	wr32(d, 4, (uint32_t)(addr >> 32));
	wr32(d, 8, len | (uint32_t)cso << 16 | (uint32_t)cmd << 24);
	wr32(d, 12, (uint32_t)css << 8 | (uint32_t)special << 16);
}

static inline void h_tx_ctx(struct h *h, uint32_t i, uint8_t ipcss, uint8_t ipcso, uint16_t ipcse,
			    uint8_t tucss, uint8_t tucso, uint16_t tucse, uint32_t paylen,
			    uint8_t tucmd, uint8_t hdrlen, uint16_t mss)
{
	uint8_t *d = h_txd(h, i);

	d[0] = ipcss;
	d[1] = ipcso;
	wr16(d, 2, ipcse);
	d[4] = tucss;
	d[5] = tucso;
	wr16(d, 6, tucse);
	wr32(d, 8, (paylen & 0xFFFFF) | 0u << 20 | (uint32_t)(tucmd | TXD_DEXT) << 24);
	wr32(d, 12, (uint32_t)hdrlen << 8 | (uint32_t)mss << 16);
}

static inline void h_tx_data(struct h *h, uint32_t i, uint64_t addr, uint32_t len, uint8_t dcmd,
			     uint8_t popts, uint16_t special)
{
	uint8_t *d = h_txd(h, i);

	wr32(d, 0, (uint32_t)addr);
	wr32(d, 4, (uint32_t)(addr >> 32));
	wr32(d, 8, (len & 0xFFFFF) | 1u << 20 | (uint32_t)(dcmd | TXD_DEXT) << 24);
	wr32(d, 12, (uint32_t)popts << 8 | (uint32_t)special << 16);
}

static inline uint8_t h_txd_status(struct h *h, uint32_t i)
{
	return h_txd(h, i)[12];
}

/* RX ring of `ndesc` descriptors, buffers at H_RX_BUF + i * H_RX_SLOT, RDT = tail. */
static inline void h_rx_setup(struct h *h, uint32_t ndesc, uint32_t tail, uint32_t rctl)
{
	for (uint32_t i = 0; i < ndesc; i++) {
		uint8_t *d = h_ram(h, H_RX_RING + 16ull * i);

		memset(d, 0, 16);
		wr32(d, 0, H_RX_BUF + (i % 64) * H_RX_SLOT);
	}
	wr(h, RDBAL, H_RX_RING);
	wr(h, RDBAH, 0);
	wr(h, RDLEN, ndesc * 16);
	wr(h, RDH, 0);
	wr(h, RDT, tail);
	wr(h, RAL(0), rd32(h_mac, 0));
	wr(h, RAH(0), rd16(h_mac, 4) | RAH_AV);
	wr(h, RCTL, rctl | RCTL_EN);
}

static inline uint8_t *h_rxd(struct h *h, uint32_t i)
{
	return h_ram(h, H_RX_RING + 16ull * i);
}

static inline uint8_t *h_rxbuf(struct h *h, uint32_t i)
{
	return h_ram(h, H_RX_BUF + (i % 64) * H_RX_SLOT);
}

static inline ssize_t h_deliver(struct h *h, const uint8_t *frame, size_t len)
{
	struct iovec iov = { .iov_base = (void *)frame, .iov_len = len };

	return netdev_deliver(h->nd, &iov, 1);
}

/* ---- frames and checksums ---- */

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static inline uint32_t sum16(uint32_t s, const uint8_t *p, size_t len)
{
	for (; len > 1; len -= 2, p += 2)
		s += be16(p);
	if (len)
		s += (uint32_t)p[0] << 8;
	return s;
}

static inline uint16_t fold16(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xFFFF) + (s >> 16);
	return (uint16_t)s;
}

/* Ethernet header: to `dst`, from 02:00:00:00:00:01, with `type`. */
static inline size_t eth_hdr(uint8_t *f, const uint8_t dst[6], uint16_t type)
{
	static const uint8_t src[6] = { 0x02, 0, 0, 0, 0, 0x01 };

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16(f + 12, type);
	return 14;
}

/* IPv4 + TCP frame with `plen` payload bytes (pattern i & 0xff); checksums valid. */
static inline size_t tcp4_frame(uint8_t *f, const uint8_t dst[6], size_t plen)
{
	uint8_t *ip = f + 14, *tcp = ip + 20;
	uint32_t s;

	eth_hdr(f, dst, 0x0800);
	memset(ip, 0, 40);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(40 + plen));
	put16(ip + 4, 0x1234);
	ip[8] = 64;
	ip[9] = 6;
	put32(ip + 12, 0x0A000001);
	put32(ip + 16, 0x0A000002);
	put16(ip + 10, (uint16_t)~fold16(sum16(0, ip, 20)));
	put16(tcp, 1234);
	put16(tcp + 2, 80);
	put32(tcp + 4, 1000);
	tcp[12] = 5 << 4;
	tcp[13] = 0x18; /* PSH ACK */
	put16(tcp + 14, 65535);
	for (size_t i = 0; i < plen; i++)
		tcp[20 + i] = (uint8_t)i;
	s = sum16(0, ip + 12, 8) + 6 + (uint32_t)(20 + plen);
	s = sum16(s, tcp, 20 + plen);
	put16(tcp + 16, (uint16_t)~fold16(s));
	return 14 + 40 + plen;
}

/* True when the IPv4 header at `ip` has a valid checksum. */
static inline bool ip4_csum_ok(const uint8_t *ip)
{
	return fold16(sum16(0, ip, (ip[0] & 0xF) * 4u)) == 0xFFFF;
}

/* True when the TCP/UDP checksum of the IPv4 packet at `ip` is valid. */
static inline bool l4_csum4_ok(const uint8_t *ip)
{
	uint32_t ihl = (ip[0] & 0xF) * 4u, l4len = be16(ip + 2) - ihl;
	uint32_t s = sum16(0, ip + 12, 8) + ip[9] + l4len;

	return fold16(sum16(s, ip + ihl, l4len)) == 0xFFFF;
}

/* True when the TCP/UDP checksum of the IPv6 packet at `ip6` (no extension headers) is valid. */
static inline bool l4_csum6_ok(const uint8_t *ip6)
{
	uint32_t l4len = be16(ip6 + 4);
	uint32_t s = sum16(0, ip6 + 8, 32) + ip6[6] + l4len;

	return fold16(sum16(s, ip6 + 40, l4len)) == 0xFFFF;
}

/* ---- time ---- */

static inline void h_advance(struct h *h, uint64_t ns)
{
	h->now += ns;
	e1000_timer_expire(h->e);
}

/* Runs the event loop until `cond` holds or `ms` pass. */
#define H_RUN_LOOP_UNTIL(h, cond, ms)                                    \
	do {                                                             \
		for (int _i = 0; _i < (ms) && !(cond); _i++)             \
			assert_true(evloop_run_once((h)->loop, 1) >= 0); \
	} while (0)

#endif /* NFV_TESTS_UNIT_NICMODELS_E1000_HARNESS_H */
