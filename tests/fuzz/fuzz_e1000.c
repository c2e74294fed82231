/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the e1000 model (nicmodels/e1000.c).
 *
 * Each input builds a fresh model (PCI bus, 256 KiB of guest RAM, a fake
 * netdev, an event loop that is never run, an injected clock) and is read
 * as a sequence of operations: an opcode byte, then its arguments. A
 * truncated operation ends the input. The operations are biased toward what
 * reaches deep states: the interesting registers, values that land in RAM,
 * descriptor and TSO builders, frames with real IPv4/TCP headers.
 *
 * What is checked: no crash, no sanitizer report, no hang (libFuzzer's
 * -timeout), every frame handed to the backend between 14 and 16388 bytes
 * and fully readable, the INTx level 0 or 1, every receive() result within
 * what the netdev interface allows.
 *
 * Build (meson does it when clang with libFuzzer is found):
 *   clang -fsanitize=fuzzer,address,undefined -I. tests/fuzz/fuzz_e1000.c \
 *     nicmodels/e1000.c vmm/pci.c vmm/iobus.c vmm/netdev.c common/\*.c -lpthread
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/evloop.h"
#include "common/guestmem.h"
#include "common/log.h"
#include "tests/fuzz/fuzz_input.h"
#include "nicmodels/e1000.h"
#include "vmm/iobus.h"
#include "vmm/netdev.h"
#include "vmm/pci.h"

#define FZ_RAM_SIZE (256u * 1024u)
#define FZ_TX_RING 0x1000u
#define FZ_RX_RING 0x3000u
#define FZ_BUF 0x8000u
#define FZ_MAX_FRAME (16384u + 4u)
#define FZ_MAX_RX 20000u

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "fuzz_e1000: check failed: %s (line %d)\n", #cond, \
				__LINE__);                                                 \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* Registers worth hitting (byte offsets). */
enum {
	R_CTRL = 0x0000,
	R_STATUS = 0x0008,
	R_EECD = 0x0010,
	R_EERD = 0x0014,
	R_CTRL_EXT = 0x0018,
	R_MDIC = 0x0020,
	R_VET = 0x0038,
	R_ICR = 0x00C0,
	R_ITR = 0x00C4,
	R_ICS = 0x00C8,
	R_IMS = 0x00D0,
	R_IMC = 0x00D8,
	R_RCTL = 0x0100,
	R_TCTL = 0x0400,
	R_RDBAL = 0x2800,
	R_RDBAH = 0x2804,
	R_RDLEN = 0x2808,
	R_RDH = 0x2810,
	R_RDT = 0x2818,
	R_RDTR = 0x2820,
	R_RADV = 0x282C,
	R_TDBAL = 0x3800,
	R_TDBAH = 0x3804,
	R_TDLEN = 0x3808,
	R_TDH = 0x3810,
	R_TDT = 0x3818,
	R_TIDV = 0x3820,
	R_TADV = 0x382C,
	R_GORCH = 0x408C,
	R_MPC = 0x4010,
	R_RXCSUM = 0x5000,
	R_MTA = 0x5200,
	R_RAL0 = 0x5400,
	R_RAH0 = 0x5404,
	R_VFTA = 0x5600,
};

static const uint32_t fz_regs[] = {
	R_CTRL, R_STATUS, R_EECD, R_EERD,   R_CTRL_EXT, R_MDIC,	 R_VET,	  R_ICR,   R_ITR,
	R_ICS,	R_IMS,	  R_IMC,  R_RCTL,   R_TCTL,	R_RDBAL, R_RDBAH, R_RDLEN, R_RDH,
	R_RDT,	R_RDTR,	  R_RADV, R_TDBAL,  R_TDBAH,	R_TDLEN, R_TDH,	  R_TDT,   R_TIDV,
	R_TADV, R_GORCH,  R_MPC,  R_RXCSUM, R_MTA,	R_RAL0,	 R_RAH0,  R_VFTA,
};
#define FZ_NREGS (sizeof(fz_regs) / sizeof(fz_regs[0]))

static const uint8_t fz_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

struct fz {
	struct fz_in in; /* the input, read front to back */
	struct guest_mem gm;
	uint8_t *ram;
	struct io_bus pio, mmio;
	struct vm_irq irq;
	int level;
	struct pci_bus *bus;
	struct pci_dev *pdev;
	struct netdev *nd;
	struct evloop *loop;
	struct e1000 *e;
	uint64_t now;
	uint64_t bar0, bar1;
	uint64_t sent, sent_bytes;
};

/* ---- byte helpers ---- */

static void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* ---- fakes ---- */

static int fz_set_level(void *opaque, unsigned int gsi, int level)
{
	struct fz *z = opaque;

	CHECK(level == 0 || level == 1);
	z->level = level;
	return 0;
}

static volatile unsigned int fz_sink;

static int fz_send(struct netdev *nd, const struct iovec *iov, int iovcnt)
{
	struct fz *z = *(struct fz **)nd->priv;
	size_t len = 0;
	unsigned int sum = 0;

	for (int i = 0; i < iovcnt; i++) {
		const uint8_t *b = iov[i].iov_base;

		/* Touch every byte: ASan checks that the model handed out valid memory. */
		for (size_t k = 0; k < iov[i].iov_len; k++)
			sum += b[k];
		len += iov[i].iov_len;
	}
	CHECK(len >= 14 && len <= FZ_MAX_FRAME);
	fz_sink = sum;
	z->sent++;
	z->sent_bytes += len;
	/* Now and then the backend is full. */
	return (z->sent % 97) == 0 ? -EAGAIN : 0;
}

static void fz_set_rx(struct netdev *nd, bool enable)
{
}

static const struct netdev_ops fz_nd_ops = {
	.type = "fuzz",
	.send = fz_send,
	.set_rx = fz_set_rx,
};

static uint64_t fz_clock(void *opaque)
{
	return ((struct fz *)opaque)->now;
}

static void fz_find_dev(struct pci_dev *dev, void *arg)
{
	struct fz *z = arg;

	if (strcmp(pci_dev_name(dev), "e1000.fuzz") == 0)
		z->pdev = dev;
}

/* ---- register access ---- */

static void mmio(struct fz *z, uint32_t off, uint32_t len, uint32_t *val, bool is_write)
{
	uint8_t b[8] = { 0 };

	if (is_write)
		le32(b, *val);
	(void)iobus_dispatch(&z->mmio, z->bar0 + off, b, len, is_write);
	if (!is_write)
		*val = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
		       (uint32_t)b[3] << 24;
}

static void wr(struct fz *z, uint32_t off, uint32_t v)
{
	mmio(z, off & 0x1FFFC, 4, &v, true);
}

static uint32_t rd(struct fz *z, uint32_t off)
{
	uint32_t v = 0;

	mmio(z, off & 0x1FFFC, 4, &v, false);
	return v;
}

/* A register from the interesting list (most of the time) or any offset. */
static bool pick_reg(struct fz *z, uint32_t *off, bool *smart)
{
	uint8_t sel;
	uint16_t raw;

	if (!in_take8(&z->in, &sel))
		return false;
	if (sel < 0xE0) {
		*off = fz_regs[sel % FZ_NREGS];
		*smart = (sel / FZ_NREGS) & 1;
		return true;
	}
	if (!in_take16(&z->in, &raw))
		return false;
	*off = ((uint32_t)raw * 4) & 0x1FFFC;
	*smart = false;
	return true;
}

/* Values that make sense for the register, so that rings land in RAM. */
static uint32_t smart_value(uint32_t off, uint32_t v)
{
	switch (off) {
	case R_RDBAL:
	case R_TDBAL: return v % FZ_RAM_SIZE;
	case R_RDBAH:
	case R_TDBAH: return 0;
	case R_RDLEN:
	case R_TDLEN: return (v % 64) * 128;
	case R_RDH:
	case R_RDT:
	case R_TDH:
	case R_TDT: return v % 64;
	case R_RDTR:
	case R_RADV:
	case R_TIDV:
	case R_TADV:
	case R_ITR: return v % 512;
	case R_MDIC: /* PHY address 1, a read or a write, maybe the interrupt */
		return (v & 0x201FFFFF) | 1u << 21 | ((v >> 26) & 1 ? 1u : 2u) << 26;
	default: return v;
	}
}

/* ---- operations ---- */

static bool op_mmio_write(struct fz *z)
{
	uint32_t off, v;
	bool smart;

	if (!pick_reg(z, &off, &smart) || !in_take32(&z->in, &v))
		return false;
	wr(z, off, smart ? smart_value(off, v) : v);
	return true;
}

static bool op_mmio_read(struct fz *z)
{
	uint32_t off;
	bool smart;

	if (!pick_reg(z, &off, &smart))
		return false;
	(void)rd(z, off);
	return true;
}

static bool op_ram_write(struct fz *z)
{
	uint8_t a[3], len;
	uint32_t addr;

	if (!in_take(&z->in, a, 3) || !in_take8(&z->in, &len))
		return false;
	addr = ((uint32_t)a[0] | (uint32_t)a[1] << 8 | (uint32_t)a[2] << 16) % FZ_RAM_SIZE;
	len = (uint8_t)MIN((size_t)len % 65, z->in.n);
	len = (uint8_t)MIN((uint32_t)len, FZ_RAM_SIZE - addr);
	return in_take(&z->in, z->ram + addr, len);
}

/* A TX descriptor at ring index idx: legacy, context or data, buffer in RAM. */
static bool op_tx_desc(struct fz *z)
{
	uint8_t idx, kind, cmd, b13, b0[8];
	uint16_t len, special, mss;
	uint8_t *d;
	uint32_t addr;

	if (!in_take8(&z->in, &idx) || !in_take8(&z->in, &kind) || !in_take16(&z->in, &len) ||
	    !in_take8(&z->in, &cmd) || !in_take8(&z->in, &b13) || !in_take16(&z->in, &special))
		return false;
	d = z->ram + FZ_TX_RING + 16u * (idx % 64);
	addr = FZ_BUF + (uint32_t)len * 3 % (FZ_RAM_SIZE - FZ_BUF);
	switch (kind % 4) {
	case 0: /* legacy: CSO from special's low byte */
		le32(d, addr);
		le32(d + 4, 0);
		le32(d + 8, (uint32_t)(len % 4096) | (uint32_t)(special & 0xFF) << 16 |
				    (uint32_t)(cmd & ~0x20) << 24);
		le32(d + 12, (uint32_t)b13 << 8 | (uint32_t)special << 16);
		break;
	case 1: /* context */
		if (!in_take(&z->in, b0, 8) || !in_take16(&z->in, &mss))
			return false;
		memcpy(d, b0, 8);
		le32(d + 8, (uint32_t)len * 37 % 70000 | (uint32_t)(cmd | 0x20) << 24);
		le32(d + 12, (uint32_t)b13 << 8 | (uint32_t)mss << 16);
		break;
	case 2: /* data */
		le32(d, addr);
		le32(d + 4, 0);
		le32(d + 8, (uint32_t)(len % 20000) | 1u << 20 | (uint32_t)(cmd | 0x20) << 24);
		le32(d + 12, (uint32_t)b13 << 8 | (uint32_t)special << 16);
		break;
	default: /* raw */
		if (!in_take(&z->in, d, 16))
			return false;
		break;
	}
	return true;
}

static bool op_rx_desc(struct fz *z)
{
	uint8_t idx, mode;
	uint16_t a;
	uint8_t *d;

	if (!in_take8(&z->in, &idx) || !in_take8(&z->in, &mode) || !in_take16(&z->in, &a))
		return false;
	d = z->ram + FZ_RX_RING + 16u * (idx % 64);
	memset(d, 0, 16);
	if (mode & 1) {
		le32(d, (uint32_t)a * 8 % FZ_RAM_SIZE);
	} else {
		le32(d, 0xFFFF0000u | a);
		le32(d + 4, mode);
	}
	return true;
}

/* Builds a frame: addressed to the MAC, broadcast or anything; raw, IPv4/TCP or tagged. */
static size_t build_frame(struct fz *z, uint8_t *f, uint16_t want, uint8_t flags)
{
	size_t len = want % 2048, body;

	if (flags & 0x80)
		len = 16000 + want % 2000; /* long and oversize ones */
	if (flags & 0x20)
		len = want % 16; /* runts */
	else if (len < 14)
		len = 14;
	body = in_take_some(&z->in, f, len);
	for (size_t i = body; i < len; i++)
		f[i] = (uint8_t)(i * 31);
	if (flags & 1)
		memcpy(f, fz_mac, 6);
	else if (flags & 2)
		memset(f, 0xFF, 6);
	if ((flags & 4) && len >= 54) {
		uint8_t *ip = f + 14;

		be16(f + 12, 0x0800);
		ip[0] = 0x45;
		be16(ip + 2, (uint16_t)(len - 14));
		be16(ip + 6, 0);
		ip[9] = (flags & 8) ? 17 : 6;
	}
	if (flags & 0x10) {
		be16(f + 12, 0x8100);
		be16(f + 14, (uint16_t)(want & 0xFFF));
	}
	return len;
}

static bool op_deliver(struct fz *z, bool split)
{
	static uint8_t f[FZ_MAX_RX];
	struct iovec iov[8];
	uint16_t want;
	uint8_t flags;
	size_t len;
	ssize_t r;
	int n = 1;

	if (!in_take16(&z->in, &want) || !in_take8(&z->in, &flags))
		return false;
	len = build_frame(z, f, want, flags);
	iov[0] = (struct iovec){ .iov_base = f, .iov_len = len };
	if (split && len >= 8) {
		size_t step = len / 8;

		for (n = 0; n < 8; n++)
			iov[n] = (struct iovec){ .iov_base = f + n * step,
						 .iov_len = n == 7 ? len - 7 * step : step };
	}
	r = netdev_deliver(z->nd, iov, n);
	CHECK(r <= 0 || (size_t)r == len);
	return true;
}

static bool op_time(struct fz *z)
{
	uint16_t t;

	if (!in_take16(&z->in, &t))
		return false;
	z->now += (uint64_t)t * 64;
	e1000_timer_expire(z->e);
	return true;
}

static bool op_link(struct fz *z)
{
	uint8_t up;

	if (!in_take8(&z->in, &up))
		return false;
	netdev_set_link(z->nd, up & 1);
	return true;
}

static bool op_pio(struct fz *z)
{
	uint8_t sel, b[4] = { 0 };
	uint32_t v;

	if (!in_take8(&z->in, &sel) || !in_take32(&z->in, &v))
		return false;
	le32(b, (sel & 0x40) ? (v % 0x20000) : v);
	/* Mostly IOADDR/IODATA, sometimes the rest of the 64-byte window. */
	(void)iobus_dispatch(&z->pio, z->bar1 + ((sel & 0x20) ? (sel & 0x3Cu) : (sel & 1) * 4u), b,
			     (sel & 0x10) ? 2 : 4, sel & 0x80);
	return true;
}

/* A sane setup in one step: rings in RAM, RX and TX on, interrupts enabled. */
static bool op_preset(struct fz *z)
{
	uint8_t cfg;

	if (!in_take8(&z->in, &cfg))
		return false;
	for (uint32_t i = 0; i < 64; i++) {
		uint8_t *d = z->ram + FZ_RX_RING + 16 * i;

		memset(d, 0, 16);
		le32(d, FZ_BUF + (i % 16) * 2048);
	}
	wr(z, R_CTRL, 0x40 | (cfg & 0x40 ? 1u << 30 : 0));
	wr(z, R_RDBAL, FZ_RX_RING);
	wr(z, R_RDBAH, 0);
	wr(z, R_RDLEN, (cfg & 1 ? 8 : 64) * 16);
	wr(z, R_RDH, 0);
	wr(z, R_RDT, cfg & 1 ? 7 : 63);
	wr(z, R_TDBAL, FZ_TX_RING);
	wr(z, R_TDBAH, 0);
	wr(z, R_TDLEN, (cfg & 2 ? 8 : 64) * 16);
	wr(z, R_TDH, 0);
	wr(z, R_TDT, 0);
	wr(z, R_RAL0, 0x12005452);
	wr(z, R_RAH0, 0x80005634);
	wr(z, R_IMS, 0x1FFFF);
	wr(z, R_RCTL,
	   0x2 | (cfg & 4 ? 0x8 : 0) | (cfg & 8 ? 0x20 : 0) | 0x8000 |
		   (uint32_t)(cfg >> 4 & 3) << 16 | (cfg & 0x80 ? 1u << 26 : 0));
	wr(z, R_TCTL, 0x2 | 0x8);
	return true;
}

static bool op_pci(struct fz *z)
{
	uint8_t sel;
	uint32_t v;

	if (!in_take8(&z->in, &sel) || !in_take32(&z->in, &v))
		return false;
	if (sel & 1) {
		pci_bus_config_write(z->bus, pci_dev_slot(z->pdev), 0, 0x04, 2, v & 0x7);
	} else {
		/* Move BAR0 or BAR1, then follow it. */
		pci_bus_config_write(z->bus, pci_dev_slot(z->pdev), 0, sel & 2 ? 0x14 : 0x10, 4, v);
		z->bar0 = pci_dev_bar_addr(z->pdev, 0);
		z->bar1 = pci_dev_bar_addr(z->pdev, 1);
	}
	return true;
}

static bool op_odd_access(struct fz *z)
{
	static const uint32_t lens[] = { 1, 2, 8, 4 };
	uint8_t sel, b[8] = { 0 };
	uint16_t off;

	if (!in_take8(&z->in, &sel) || !in_take16(&z->in, &off) || !in_take(&z->in, b, 8))
		return false;
	(void)iobus_dispatch(&z->mmio, z->bar0 + (off % 0x5A00), b, lens[sel & 3], sel & 4);
	return true;
}

/*
 * A whole offloaded send: a context descriptor (TSO when tucmd has TSE, else
 * checksum only), then the frame over data descriptors, then the doorbell.
 */
static bool op_tso(struct fz *z)
{
	uint8_t hdrlen, ipcss, tucss, tucmd, popts, ndata;
	uint16_t mss, paylen;
	uint32_t tdt, n, len, off = 0;
	uint8_t *buf = z->ram + FZ_BUF;

	if (!in_take8(&z->in, &hdrlen) || !in_take8(&z->in, &ipcss) || !in_take8(&z->in, &tucss) ||
	    !in_take8(&z->in, &tucmd) || !in_take8(&z->in, &popts) || !in_take8(&z->in, &ndata) ||
	    !in_take16(&z->in, &mss) || !in_take16(&z->in, &paylen))
		return false;
	n = rd(z, R_TDLEN) / 16;
	if (n == 0 || n > 64)
		return true;
	tdt = rd(z, R_TDT) % n;
	len = MIN((uint32_t)hdrlen + paylen, FZ_RAM_SIZE - FZ_BUF);
	/* An IPv4/TCP-looking header at the start of the buffer. */
	memset(buf, 0, 64);
	be16(buf + 12, 0x0800);
	buf[14] = 0x45;
	buf[23] = 6;
	for (uint32_t i = 64; i < len; i++)
		buf[i] = (uint8_t)i;
	{
		uint8_t *d = z->ram + FZ_TX_RING + 16 * tdt;

		d[0] = ipcss;
		d[1] = (uint8_t)(ipcss + 10);
		d[2] = (uint8_t)(tucss - 1);
		d[3] = 0;
		d[4] = tucss;
		d[5] = (uint8_t)(tucss + (tucmd & 1 ? 16 : 6));
		d[6] = d[7] = 0;
		le32(d + 8, paylen | (uint32_t)(tucmd | 0x20) << 24);
		le32(d + 12, (uint32_t)hdrlen << 8 | (uint32_t)mss << 16);
		tdt = (tdt + 1) % n;
	}
	ndata = (uint8_t)(ndata % 4 + 1);
	for (uint32_t i = 0; i < ndata; i++) {
		uint8_t *d = z->ram + FZ_TX_RING + 16 * tdt;
		uint32_t piece = i + 1 == ndata ? len - off : len / ndata;
		bool last = i + 1 == ndata;

		le32(d, FZ_BUF + off);
		le32(d + 4, 0);
		le32(d + 8, piece | 1u << 20 |
				    (uint32_t)(0x20 | (tucmd & 0x04) | 0x02 | (last ? 0x09 : 0) |
					       (popts & 0x40))
					    << 24);
		le32(d + 12, (uint32_t)(popts & 3) << 8 | (uint32_t)mss << 16);
		off += piece;
		tdt = (tdt + 1) % n;
	}
	wr(z, R_TDT, tdt);
	return true;
}

/* ---- the harness ---- */

static void fz_setup(struct fz *z)
{
	struct e1000_config cfg = { .name = "e1000.fuzz" };

	z->ram = calloc(1, FZ_RAM_SIZE);
	CHECK(z->ram);
	CHECK(gm_add_region(&z->gm, 0, FZ_RAM_SIZE, z->ram, -1, 0) == 0);
	iobus_init(&z->pio, "pio");
	iobus_init(&z->mmio, "mmio");
	z->irq = (struct vm_irq){ .set_level = fz_set_level, .opaque = z };
	z->bus = pci_bus_new(&z->pio, &z->mmio, &z->irq);
	CHECK(z->bus);
	z->loop = evloop_new();
	CHECK(z->loop);
	z->nd = netdev_alloc(&fz_nd_ops, "fuzz", NULL, sizeof(struct fz *));
	CHECK(z->nd);
	*(struct fz **)z->nd->priv = z;
	memcpy(cfg.mac, fz_mac, 6);
	z->now = 1000000000ull;
	cfg.clock_ns = fz_clock;
	cfg.clock_opaque = z;
	z->e = e1000_new(z->bus, &z->gm, z->nd, z->loop, &cfg);
	CHECK(z->e);
	pci_bus_for_each(z->bus, fz_find_dev, z);
	CHECK(z->pdev);
	pci_bus_config_write(z->bus, pci_dev_slot(z->pdev), 0, 0x04, 2, 0x0007);
	z->bar0 = pci_dev_bar_addr(z->pdev, 0);
	z->bar1 = pci_dev_bar_addr(z->pdev, 1);
}

static void fz_teardown(struct fz *z)
{
	struct e1000_stats st;

	e1000_get_stats(z->e, &st);
	CHECK(st.tx_frames + st.tx_dropped == z->sent);
	e1000_free(z->e);
	netdev_close(z->nd);
	pci_bus_free(z->bus);
	evloop_free(z->loop);
	iobus_destroy(&z->pio);
	iobus_destroy(&z->mmio);
	free(z->ram);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LOG_LVL_ERR); /* guest errors are expected by the thousand */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz z = { .in = { .p = data, .n = size } };
	bool more = true;

	fz_setup(&z);
	while (more && z.in.n) {
		uint8_t op = 0;

		(void)in_take8(&z.in, &op);
		switch (op % 16) {
		case 0:
		case 1:
		case 2: more = op_mmio_write(&z); break;
		case 3: more = op_mmio_read(&z); break;
		case 4: more = op_ram_write(&z); break;
		case 5: more = op_tx_desc(&z); break;
		case 6: more = op_rx_desc(&z); break;
		case 7: more = op_deliver(&z, false); break;
		case 8: more = op_time(&z); break;
		case 9: more = op_link(&z); break;
		case 10: more = op_pio(&z); break;
		case 11: more = op_preset(&z); break;
		case 12: more = op_pci(&z); break;
		case 13: more = op_odd_access(&z); break;
		case 14: more = op_tso(&z); break;
		default: more = op_deliver(&z, true); break;
		}
		CHECK(z.level == 0 || z.level == 1);
	}
	fz_teardown(&z);
	return 0;
}
