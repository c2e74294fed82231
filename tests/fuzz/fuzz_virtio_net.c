// SPDX-License-Identifier: BSD-3-Clause
/*
 * libFuzzer harness for the virtio-net device (nicmodels/virtio_net.c) on
 * the virtio-pci transport (nicmodels/virtio_pci.c).
 *
 * Guest RAM is two regions with a hole between them, each its own
 * exact-size heap block, so ASan catches any access outside them. A header
 * byte picks the queue pairs, the backend (with or without a vnet header),
 * its layout (one netdev for the device, or one per pair like a multiqueue
 * tap) and whether MSI-X is on; the rest is a sequence of operations played
 * as a misbehaving driver and backend would: common-config writes and reads
 * (feature windows, status transitions including reset, queue select, size,
 * enable, addresses, MSI-X vectors), device-config reads, doorbells, raw
 * writes to guest RAM, descriptor chains made available on a queue (TX
 * frames, RX buffers, control commands), frames delivered through a
 * netdev's receive(), netdev_rx_resume(), link changes and bounded
 * event-loop runs.
 *
 * What is checked: no crash, no sanitizer report, no hang, every frame sent
 * to the backend has a sane length (an Ethernet header at least, at most
 * NETDEV_MAX_FRAME) and is readable to its last byte, receive() returns
 * the frame's length, 0 or a -errno, the first queue of a multiqueue
 * backend is never detached and, while the driver runs, exactly the queues
 * of the active pairs are attached; the per-pair counters add up.
 *
 * Single-threaded; the device and the RAM belong to one input.
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
#include "nicmodels/virtio_net.h"
#include "vmm/iobus.h"
#include "vmm/netdev.h"
#include "vmm/pci.h"

#define FZ_R0_GPA 0x0u
#define FZ_R0_SIZE 0x10000u
#define FZ_R1_GPA 0x20000u
#define FZ_R1_SIZE 0x10000u /* both 64 KiB: op_ram_write relies on it */
#define FZ_MAX_PAIRS 3
#define FZ_MAX_Q (2 * FZ_MAX_PAIRS + 1)
#define FZ_QSZ 16
#define FZ_RING(q) (FZ_R0_GPA + (q)*0x1000u) /* desc; avail +0x400, used +0x800 */
#define FZ_MAX_FRAME NETDEV_MAX_FRAME
#define FZ_MAX_RX 20000u
#define FZ_MAX_OPS 1024
#define FZ_LOOP_RUNS 8

#define CHECK(cond)                                                                             \
	do {                                                                                    \
		if (!(cond)) {                                                                  \
			fprintf(stderr, "fuzz_virtio_net: check failed: %s (line %d)\n", #cond, \
				__LINE__);                                                      \
			abort();                                                                \
		}                                                                               \
	} while (0)

/* Common configuration (VIRTIO 1.2, 4.1.4.3), spelled out here. */
enum {
	CC_DFSELECT = 0x00,
	CC_DF = 0x04,
	CC_GFSELECT = 0x08,
	CC_GF = 0x0C,
	CC_MSIX = 0x10,
	CC_NUMQ = 0x12,
	CC_STATUS = 0x14,
	CC_CFGGEN = 0x15,
	CC_Q_SELECT = 0x16,
	CC_Q_SIZE = 0x18,
	CC_Q_MSIX = 0x1A,
	CC_Q_ENABLE = 0x1C,
	CC_Q_NOFF = 0x1E,
	CC_Q_DESC = 0x20,
	CC_Q_DRIVER = 0x28,
	CC_Q_DEVICE = 0x30,
};

static const struct {
	uint8_t off, len;
} fz_cc[] = {
	{ CC_DFSELECT, 4 }, { CC_DF, 4 },     { CC_GFSELECT, 4 }, { CC_GF, 4 },
	{ CC_MSIX, 2 },	    { CC_NUMQ, 2 },   { CC_STATUS, 1 },	  { CC_CFGGEN, 1 },
	{ CC_Q_SELECT, 2 }, { CC_Q_SIZE, 2 }, { CC_Q_MSIX, 2 },	  { CC_Q_ENABLE, 2 },
	{ CC_Q_NOFF, 2 },   { CC_Q_DESC, 8 }, { CC_Q_DRIVER, 8 }, { CC_Q_DEVICE, 8 },
};
#define FZ_NCC (sizeof(fz_cc) / sizeof(fz_cc[0]))

static const uint8_t fz_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* A fake netdev's state (nd->priv). */
struct fz_nd {
	struct fz *z;
	uint16_t idx;
	bool enabled; /* set_queue_enabled(); a tap queue starts attached */
};

struct fz_q {
	uint16_t avail_idx; /* the driver's next avail->idx */
	uint16_t next_desc;
};

struct fz {
	struct fz_in in; /* the input, read front to back */
	uint8_t *r0, *r1;
	struct guest_mem gm;
	struct io_bus pio, mmio;
	struct vm_irq irq;
	struct pci_bus *bus;
	struct pci_dev *pdev;
	struct netdev *nds[FZ_MAX_PAIRS];
	uint16_t nr_nds;
	struct evloop *loop;
	struct vnet *vn;
	uint16_t pairs, nq;
	uint64_t bar;
	uint32_t cap_off[6];
	uint32_t notify_mult;
	unsigned int msix_cap;
	struct fz_q q[FZ_MAX_Q];
	uint64_t sent;
	/* A driver that keeps adding: while the device sends, re-offer heads of this queue. */
	uint16_t refill_q;
	unsigned int refill_n;
};

/* ---- byte helpers ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* Guest RAM by address; NULL outside both regions (or across an end). */
static uint8_t *ram(struct fz *z, uint64_t gpa, uint64_t len)
{
	return gm_translate(&z->gm, gpa, len);
}

/* ---- fakes ---- */

static int fz_set_level(void *opaque, unsigned int gsi, int level)
{
	CHECK(level == 0 || level == 1);
	return 0;
}

static int fz_send_msi(void *opaque, uint64_t addr, uint32_t data)
{
	return 0;
}

static volatile unsigned int fz_sink;

static int fz_send(struct netdev *nd, const struct iovec *iov, int iovcnt)
{
	struct fz *z = ((struct fz_nd *)nd->priv)->z;
	size_t len = 0;
	unsigned int sum = 0;

	CHECK(iovcnt >= 0);
	for (int i = 0; i < iovcnt; i++) {
		const uint8_t *b = iov[i].iov_base;

		CHECK(iov[i].iov_len == 0 || b != NULL);
		/* Touch every byte: ASan checks that the model handed out valid memory. */
		for (size_t k = 0; k < iov[i].iov_len; k++)
			sum += b[k];
		len += iov[i].iov_len;
	}
	/* An Ethernet header at least (after the vnet header when one was agreed). */
	CHECK(len >= 14 + nd->vnet_hdr_len && len <= FZ_MAX_FRAME);
	fz_sink = sum;
	z->sent++;
	if (z->refill_n) {
		/* The next avail slot still holds the head written FZ_QSZ chains ago: offer it. */
		uint8_t *avail = ram(z, FZ_RING(z->refill_q) + 0x400, 0x400);

		CHECK(avail);
		z->refill_n--;
		put16(avail + 2, ++z->q[z->refill_q].avail_idx);
	}
	/* Now and then the backend is full or refuses. */
	if (z->sent % 61 == 0)
		return -EAGAIN;
	return z->sent % 89 == 0 ? -ENOBUFS : 0;
}

static void fz_set_rx(struct netdev *nd, bool enable)
{
}

static int fz_set_vnet_hdr(struct netdev *nd, size_t hdr_len, unsigned int offloads)
{
	return hdr_len == 0 || hdr_len == 12 ? 0 : -ENOTSUP;
}

static int fz_set_queue_enabled(struct netdev *nd, bool enable)
{
	struct fz_nd *n = nd->priv;

	/* Pair 0 is always in use: its queue never leaves. */
	CHECK(enable || n->idx != 0);
	n->enabled = enable;
	return 0;
}

static const struct netdev_ops fz_nd_ops = {
	.type = "fuzz",
	.send = fz_send,
	.set_rx = fz_set_rx,
	.set_queue_enabled = fz_set_queue_enabled,
};

static const struct netdev_ops fz_nd_vnet_ops = {
	.type = "fuzz-vnet",
	.send = fz_send,
	.set_rx = fz_set_rx,
	.set_vnet_hdr = fz_set_vnet_hdr,
	.set_queue_enabled = fz_set_queue_enabled,
};

static void fz_find_dev(struct pci_dev *dev, void *arg)
{
	struct fz *z = arg;

	if (strcmp(pci_dev_name(dev), "vnet-fuzz") == 0)
		z->pdev = dev;
}

/* ---- BAR access ---- */

static uint64_t bar_rw(struct fz *z, uint32_t off, uint32_t len, uint64_t v, bool is_write)
{
	uint8_t b[8] = { 0 };

	for (uint32_t i = 0; i < len; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	(void)iobus_dispatch(&z->mmio, z->bar + off, b, len, is_write);
	v = 0;
	for (uint32_t i = 0; i < len; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static uint64_t cc_rd(struct fz *z, uint32_t off, uint32_t len)
{
	return bar_rw(z, z->cap_off[1] + off, len, 0, false);
}

static void cc_wr(struct fz *z, uint32_t off, uint32_t len, uint64_t v)
{
	(void)bar_rw(z, z->cap_off[1] + off, len, v, true);
}

static void doorbell(struct fz *z, uint16_t q)
{
	(void)bar_rw(z, z->cap_off[2] + q * z->notify_mult, 2, q, true);
}

/* ---- operations ---- */

/* A value that makes sense for the register, most of the time. */
static uint64_t smart_value(struct fz *z, uint8_t off, uint32_t v)
{
	switch (off) {
	case CC_DFSELECT:
	case CC_GFSELECT: return v % 3;
	case CC_Q_SELECT: return v % (z->nq + 1u);
	case CC_Q_SIZE: return 1u << (v % 9);
	case CC_Q_ENABLE: return v & 1;
	case CC_MSIX:
	case CC_Q_MSIX: return (v & 0x10) ? 0xFFFF : v % 10;
	case CC_Q_DESC:
	case CC_Q_DRIVER:
	case CC_Q_DEVICE: return (v & 1 ? FZ_R1_GPA : FZ_R0_GPA) + ((v >> 1) % FZ_R0_SIZE & ~15u);
	default: return v;
	}
}

static bool op_cc_write(struct fz *z)
{
	uint8_t sel;
	uint32_t v, hi;

	if (!in_take8(&z->in, &sel) || !in_take32(&z->in, &v))
		return false;
	if (sel & 0x80) {
		/* Anywhere in the common window, any size. */
		static const uint8_t lens[] = { 1, 2, 4, 8 };

		if (!in_take32(&z->in, &hi))
			return false;
		cc_wr(z, sel & 0x3F, lens[(sel >> 6) & 1 ? 3 : v & 3], (uint64_t)hi << 32 | v);
		return true;
	}
	cc_wr(z, fz_cc[sel % FZ_NCC].off, fz_cc[sel % FZ_NCC].len,
	      (sel / FZ_NCC) & 1 ? (uint64_t)v : smart_value(z, fz_cc[sel % FZ_NCC].off, v));
	return true;
}

static bool op_cc_read(struct fz *z)
{
	uint8_t sel;

	if (!in_take8(&z->in, &sel))
		return false;
	if (sel & 0x80)
		(void)cc_rd(z, sel & 0x3F, 1u << (sel >> 5 & 3));
	else
		(void)cc_rd(z, fz_cc[sel % FZ_NCC].off, fz_cc[sel % FZ_NCC].len);
	return true;
}

/* Status transitions: the next bit of the handshake, a reset or anything. */
static bool op_status(struct fz *z)
{
	static const uint8_t steps[] = { 0x01, 0x02, 0x08, 0x04, 0x80 };
	uint8_t sel;
	uint8_t st;

	if (!in_take8(&z->in, &sel))
		return false;
	st = (uint8_t)cc_rd(z, CC_STATUS, 1);
	if (sel < 0xA0)
		cc_wr(z, CC_STATUS, 1, st | steps[sel % 5]);
	else if (sel < 0xC0)
		cc_wr(z, CC_STATUS, 1, 0);
	else
		cc_wr(z, CC_STATUS, 1, sel);
	return true;
}

static bool op_features(struct fz *z)
{
	uint32_t lo, hi;

	if (!in_take32(&z->in, &lo) || !in_take32(&z->in, &hi))
		return false;
	cc_wr(z, CC_DFSELECT, 4, 0);
	lo &= (uint32_t)cc_rd(z, CC_DF, 4) | (lo & 0x80000000u ? 0xFFFFFFFFu : 0);
	cc_wr(z, CC_DFSELECT, 4, 1);
	hi = (hi & (uint32_t)cc_rd(z, CC_DF, 4)) | 1u; /* VERSION_1 */
	cc_wr(z, CC_GFSELECT, 4, 0);
	cc_wr(z, CC_GF, 4, lo);
	cc_wr(z, CC_GFSELECT, 4, 1);
	cc_wr(z, CC_GF, 4, hi);
	return true;
}

/* Queue q at its place in region 0, FZ_QSZ entries (or other sizes), enabled. */
static void queue_setup(struct fz *z, uint16_t q, uint16_t size, uint16_t vec)
{
	cc_wr(z, CC_Q_SELECT, 2, q);
	cc_wr(z, CC_Q_SIZE, 2, size);
	cc_wr(z, CC_Q_DESC, 8, FZ_RING(q));
	cc_wr(z, CC_Q_DRIVER, 8, FZ_RING(q) + 0x400);
	cc_wr(z, CC_Q_DEVICE, 8, FZ_RING(q) + 0x800);
	cc_wr(z, CC_Q_MSIX, 2, vec);
	cc_wr(z, CC_Q_ENABLE, 2, 1);
	z->q[q] = (struct fz_q){ 0 };
}

static bool op_queue_setup(struct fz *z)
{
	uint8_t sel;

	if (!in_take8(&z->in, &sel))
		return false;
	queue_setup(z, sel % z->nq, (sel & 0x80) ? (uint16_t)(1u << (sel >> 4 & 7)) : FZ_QSZ,
		    sel & 0x08 ? 0xFFFF : sel & 7);
	return true;
}

/* The whole handshake in one step: features, every queue, DRIVER_OK. */
static bool op_bring_up(struct fz *z)
{
	uint8_t sel;

	if (!in_take8(&z->in, &sel))
		return false;
	cc_wr(z, CC_STATUS, 1, 0);
	cc_wr(z, CC_STATUS, 1, 0x01);
	cc_wr(z, CC_STATUS, 1, 0x03);
	if (!op_features(z))
		return false;
	cc_wr(z, CC_STATUS, 1, 0x0B);
	cc_wr(z, CC_MSIX, 2, sel & 0x40 ? 0xFFFF : 0);
	for (uint16_t q = 0; q < z->nq; q++)
		if (!(sel & 0x80) || (sel >> (q % 4)) & 1)
			queue_setup(z, q, FZ_QSZ, sel & 0x40 ? 0xFFFF : (uint16_t)(q + 1));
	cc_wr(z, CC_STATUS, 1, 0x0F);
	return true;
}

static bool op_dev_cfg(struct fz *z)
{
	uint8_t sel;
	uint32_t v;

	if (!in_take8(&z->in, &sel) || !in_take32(&z->in, &v))
		return false;
	if (sel & 0x80)
		(void)bar_rw(z, z->cap_off[4] + (sel & 0x1F), 1u << (sel >> 5 & 3), v, sel & 0x10);
	else
		(void)bar_rw(z, z->cap_off[4] + (sel & 0x0F), 1u << (sel >> 4 & 1), 0, false);
	return true;
}

static bool op_doorbell(struct fz *z)
{
	uint8_t sel;

	if (!in_take8(&z->in, &sel))
		return false;
	/* Sometimes a queue that does not exist. */
	doorbell(z, sel & 0x80 ? sel & 0x7F : sel % z->nq);
	return true;
}

static bool op_ram_write(struct fz *z)
{
	uint8_t sel, len;
	uint16_t off;
	uint8_t *p;

	if (!in_take8(&z->in, &sel) || !in_take16(&z->in, &off) || !in_take8(&z->in, &len))
		return false;
	/* Inside one region (each 64 KiB: any 16-bit offset is in it). */
	p = (sel & 1 ? z->r1 : z->r0) + off;
	len = (uint8_t)MIN((size_t)len % 65, z->in.n);
	len = (uint8_t)MIN((uint32_t)len, FZ_R0_SIZE - off);
	return in_take(&z->in, p, len);
}

/* A buffer address: mostly in region 1, sometimes across an end or in the hole. */
static uint64_t buf_gpa(uint8_t sel, uint16_t v, uint32_t len)
{
	switch (sel & 7) {
	case 0: return FZ_R1_SIZE - MIN(len, 8u) + FZ_R1_GPA + v % 16;
	case 1: return FZ_R0_SIZE - v % 64;
	case 2: return (uint64_t)v << 16;
	default: return FZ_R1_GPA + v % FZ_R1_SIZE;
	}
}

/*
 * A chain made available on queue q: up to 8 descriptors (readable ones
 * first, filled from input: a frame or a control command; then writable
 * ones), maybe through an indirect table, then avail->idx moves. Flag 0x08:
 * from now on the driver re-offers a head of q for each frame sent, 256 to
 * 704 times, so that one doorbell finds more than a TX burst (256 chains).
 */
static bool op_chain(struct fz *z)
{
	uint8_t sel, nseg, nread, flags;
	uint16_t q, head, size;
	uint8_t *ring, *avail;
	uint64_t ind_gpa = FZ_R1_GPA + FZ_R1_SIZE - 0x100;
	uint8_t *ind = ram(z, ind_gpa, 0x100);

	if (!in_take8(&z->in, &sel) || !in_take8(&z->in, &nseg) || !in_take8(&z->in, &flags))
		return false;
	q = sel % z->nq;
	nread = nseg >> 4 & 7;
	nseg = (uint8_t)(nseg % 8 + 1);
	ring = ram(z, FZ_RING(q), 0x400);
	avail = ram(z, FZ_RING(q) + 0x400, 0x400);
	CHECK(ring && avail && ind);
	size = FZ_QSZ;
	head = z->q[q].next_desc % size;
	for (uint8_t i = 0; i < nseg; i++) {
		bool indirect = flags & 0x80;
		uint16_t idx = indirect ? i : (uint16_t)((head + i) % size);
		uint8_t *d = (indirect ? ind : ring) + 16u * idx;
		uint8_t bsel = 3, blen8;
		uint16_t v = 0, dflags = 0;
		uint32_t blen;
		uint64_t gpa;

		if (!in_take8(&z->in, &blen8))
			return false;
		blen = (flags & 0x40) ? (uint32_t)blen8 * 64 + 12 : blen8 + 1u;
		if (flags & 0x20) {
			if (!in_take8(&z->in, &bsel) || !in_take16(&z->in, &v))
				return false;
		} else {
			v = (uint16_t)(i * 0x1800 + q * 0x100);
		}
		gpa = buf_gpa(bsel, v, blen);
		if (i >= nread)
			dflags |= 2; /* WRITE */
		if (i + 1 < nseg)
			dflags |= 1; /* NEXT */
		for (int k = 0; k < 8; k++)
			d[k] = (uint8_t)(gpa >> (8 * k));
		d[8] = (uint8_t)blen;
		d[9] = (uint8_t)(blen >> 8);
		d[10] = (uint8_t)(blen >> 16);
		d[11] = (uint8_t)(blen >> 24);
		put16(d + 12, dflags);
		put16(d + 14, indirect ? (uint16_t)(i + 1) : (uint16_t)((idx + 1) % size));
		if (!(dflags & 2)) {
			/* Readable: contents from input (frame, vnet header, control command). */
			uint8_t *b = ram(z, gpa, blen);
			size_t have = b ? MIN((size_t)blen, z->in.n) : 0;

			if (have)
				CHECK(in_take(&z->in, b, have));
		}
	}
	if (flags & 0x80) {
		uint8_t *d = ring + 16u * head;

		for (int k = 0; k < 8; k++)
			d[k] = (uint8_t)(ind_gpa >> (8 * k));
		put16(d + 8, (uint16_t)(16u * nseg));
		d[10] = d[11] = 0;
		put16(d + 12, 4); /* INDIRECT */
		put16(d + 14, 0);
		z->q[q].next_desc = (uint16_t)(head + 1);
	} else {
		z->q[q].next_desc = (uint16_t)(head + nseg);
	}
	put16(avail + 4 + 2u * (z->q[q].avail_idx % size), head);
	z->q[q].avail_idx++;
	put16(avail + 2, z->q[q].avail_idx);
	if (flags & 0x08) {
		z->refill_q = q;
		z->refill_n = 256u + 64u * (flags & 7);
	}
	if (flags & 0x10)
		doorbell(z, q);
	return true;
}

/* Builds a frame: to the MAC, broadcast, multicast or anything; maybe tagged. */
static size_t build_frame(struct fz *z, uint8_t *f, uint16_t want, uint8_t flags)
{
	size_t len = want % 2048, body;

	if (flags & 0x80)
		len = 9000 + want % (FZ_MAX_RX - 9000); /* long and oversize ones */
	if (flags & 0x20)
		len = want % 16; /* runts */
	body = in_take_some(&z->in, f, len);
	for (size_t i = body; i < len; i++)
		f[i] = (uint8_t)(i * 31);
	if (len >= 6) {
		if (flags & 1)
			memcpy(f, fz_mac, 6);
		else if (flags & 2)
			memset(f, 0xFF, 6);
		else if (flags & 4)
			f[0] |= 1;
	}
	if ((flags & 0x10) && len >= 16) {
		f[12] = 0x81;
		f[13] = 0x00;
		f[14] = (uint8_t)(want >> 8 & 0x0F);
		f[15] = (uint8_t)want;
	}
	return len;
}

static bool op_deliver(struct fz *z)
{
	static uint8_t f[FZ_MAX_RX];
	struct netdev *nd;
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
	if ((flags & 0x40) && len >= 8) {
		size_t step = len / 8;

		for (n = 0; n < 8; n++)
			iov[n] = (struct iovec){ .iov_base = f + n * step,
						 .iov_len = n == 7 ? len - 7 * step : step };
	}
	/* From one of the netdevs (one per pair or one in all); seeds: the first. */
	nd = z->nds[(want >> 11) % z->nr_nds];
	if (!nd->peer.receive)
		return true;
	r = nd->peer.receive(nd->peer.opaque, iov, n);
	CHECK(r == 0 || (r > 0 && (size_t)r == len) || (r < 0 && r >= -4095));
	return true;
}

static bool op_misc(struct fz *z)
{
	uint8_t sel;

	if (!in_take8(&z->in, &sel))
		return false;
	switch (sel % 4) {
	case 0: netdev_rx_resume(z->nds[(sel >> 5) % z->nr_nds]); break;
	case 1: netdev_set_link(z->nds[(sel >> 5) % z->nr_nds], sel & 0x10); break;
	case 2:
		/* MSI-X on or off. */
		if (z->msix_cap)
			pci_bus_config_write(z->bus, pci_dev_slot(z->pdev), 0, z->msix_cap + 2, 2,
					     sel & 0x10 ? 0x8000 : 0);
		break;
	default: (void)cc_rd(z, CC_CFGGEN, 1); break;
	}
	return true;
}

static bool op_loop(struct fz *z)
{
	uint8_t sel;

	if (!in_take8(&z->in, &sel))
		return false;
	for (unsigned int i = 0; i < (sel % FZ_LOOP_RUNS) + 1u; i++)
		CHECK(evloop_run_once(z->loop, 0) >= 0);
	return true;
}

/* ---- the harness ---- */

static void fz_setup(struct fz *z, uint8_t hdr)
{
	struct vnet_config cfg = { .name = "vnet-fuzz", .mtu = hdr & 0x40 ? 9000 : 0 };
	unsigned int c, hops = 0, found = 0;

	z->r0 = calloc(1, FZ_R0_SIZE);
	z->r1 = calloc(1, FZ_R1_SIZE);
	CHECK(z->r0 && z->r1);
	CHECK(gm_add_region(&z->gm, FZ_R0_GPA, FZ_R0_SIZE, z->r0, -1, 0) == 0);
	CHECK(gm_add_region(&z->gm, FZ_R1_GPA, FZ_R1_SIZE, z->r1, -1, 0) == 0);
	iobus_init(&z->pio, "pio");
	iobus_init(&z->mmio, "mmio");
	z->irq = (struct vm_irq){ .set_level = fz_set_level, .send_msi = fz_send_msi, .opaque = z };
	z->bus = pci_bus_new(&z->pio, &z->mmio, &z->irq);
	CHECK(z->bus);
	z->loop = evloop_new();
	CHECK(z->loop);
	z->pairs = (uint16_t)(hdr % FZ_MAX_PAIRS + 1);
	z->nq = (uint16_t)(2 * z->pairs + 1);
	/* Bit 0 with more than one pair: one netdev per pair, each with its loop. */
	z->nr_nds = z->pairs > 1 && (hdr & 0x01) ? z->pairs : 1;
	for (uint16_t i = 0; i < z->nr_nds; i++) {
		struct fz_nd *n;

		z->nds[i] = netdev_alloc(hdr & 0x10 ? &fz_nd_vnet_ops : &fz_nd_ops, "fuzz",
					 hdr & 0x20 ? z->loop : NULL, sizeof(struct fz_nd));
		CHECK(z->nds[i]);
		n = z->nds[i]->priv;
		*n = (struct fz_nd){ .z = z, .idx = i, .enabled = true };
		z->nds[i]->link_up = !(hdr & 0x80);
		cfg.netdevs[i] = z->nds[i];
		if (z->nr_nds > 1 && !(hdr & 0x08))
			cfg.loops[i] = z->loop;
	}
	memcpy(cfg.mac, fz_mac, 6);
	cfg.queue_pairs = z->pairs;
	cfg.nr_netdevs = z->nr_nds;
	z->vn = vnet_new(z->bus, &z->gm, hdr & 0x08 || z->nr_nds > 1 ? NULL : z->loop, &cfg);
	CHECK(z->vn);
	pci_bus_for_each(z->bus, fz_find_dev, z);
	CHECK(z->pdev);
	pci_bus_config_write(z->bus, pci_dev_slot(z->pdev), 0, 0x04, 2, 0x0006);
	z->bar = pci_dev_bar_addr(z->pdev, 0);
	c = pci_bus_config_read(z->bus, pci_dev_slot(z->pdev), 0, 0x34, 1);
	while (c && hops++ < 48) {
		unsigned int id = pci_bus_config_read(z->bus, pci_dev_slot(z->pdev), 0, c, 1);

		if (id == 0x09) {
			unsigned int type =
				pci_bus_config_read(z->bus, pci_dev_slot(z->pdev), 0, c + 3, 1);

			if (type < 6) {
				found |= 1u << type;
				z->cap_off[type] = pci_bus_config_read(
					z->bus, pci_dev_slot(z->pdev), 0, c + 8, 4);
			}
			if (type == 2)
				z->notify_mult = pci_bus_config_read(z->bus, pci_dev_slot(z->pdev),
								     0, c + 16, 4);
		} else if (id == 0x11) {
			z->msix_cap = c;
		}
		c = pci_bus_config_read(z->bus, pci_dev_slot(z->pdev), 0, c + 1, 1);
	}
	CHECK((found & 0x16) == 0x16); /* common, notify, device */
	if ((hdr & 0x04) && z->msix_cap)
		pci_bus_config_write(z->bus, pci_dev_slot(z->pdev), 0, z->msix_cap + 2, 2, 0x8000);
}

static void fz_teardown(struct fz *z)
{
	struct vnet_stats st;
	struct vnet_queue_stats qs;
	uint64_t tx = 0, rx = 0;

	vnet_get_stats(z->vn, &st);
	CHECK(st.tx_frames <= z->sent);
	/* The per-queue counters add up to the totals. */
	CHECK(vnet_max_pairs(z->vn) == z->pairs);
	CHECK(vnet_active_pairs(z->vn) >= 1 && vnet_active_pairs(z->vn) <= z->pairs);
	for (uint16_t i = 0; i < z->pairs; i++) {
		CHECK(vnet_get_queue_stats(z->vn, i, &qs) == 0);
		tx += qs.tx_frames;
		rx += qs.rx_frames;
	}
	CHECK(vnet_get_queue_stats(z->vn, z->pairs, &qs) == -ENOENT);
	CHECK(tx == st.tx_frames && rx == st.rx_frames);
	/* A running device: the host steers over the active pairs' queues only. */
	if (z->nr_nds > 1 && ((uint8_t)cc_rd(z, CC_STATUS, 1) & 0x04))
		for (uint16_t i = 0; i < z->nr_nds; i++)
			CHECK(((struct fz_nd *)z->nds[i]->priv)->enabled ==
			      (i < vnet_active_pairs(z->vn)));
	pci_bus_free(z->bus);
	vnet_free(z->vn);
	for (uint16_t i = 0; i < z->nr_nds; i++)
		netdev_close(z->nds[i]);
	evloop_free(z->loop);
	iobus_destroy(&z->pio);
	iobus_destroy(&z->mmio);
	free(z->r0);
	free(z->r1);
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
	uint8_t hdr = 0;

	(void)in_take8(&z.in, &hdr);
	fz_setup(&z, hdr);
	for (int i = 0; more && z.in.n && i < FZ_MAX_OPS; i++) {
		uint8_t op = 0;

		(void)in_take8(&z.in, &op);
		switch (op % 16) {
		case 0:
		case 1: more = op_cc_write(&z); break;
		case 2: more = op_cc_read(&z); break;
		case 3: more = op_status(&z); break;
		case 4: more = op_features(&z); break;
		case 5: more = op_queue_setup(&z); break;
		case 6: more = op_bring_up(&z); break;
		case 7: more = op_dev_cfg(&z); break;
		case 8: more = op_doorbell(&z); break;
		case 9: more = op_ram_write(&z); break;
		case 10:
		case 11: more = op_chain(&z); break;
		case 12:
		case 13: more = op_deliver(&z); break;
		case 14: more = op_misc(&z); break;
		default: more = op_loop(&z); break;
		}
	}
	fz_teardown(&z);
	return 0;
}
