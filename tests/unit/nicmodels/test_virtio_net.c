// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for the virtio-net device type (nicmodels/virtio_net.c) on the
 * virtio-pci transport, driven the way a driver drives it: PCI config space,
 * BAR accesses and split rings built in a guest RAM arena, with a fake
 * netdev that records what the device sends. Constants are spelled out from
 * VIRTIO 1.2 (4.1.4, 5.1) independently of the model's. Single-threaded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/log.h"
#include "nicmodels/virtio_net.h"
#include "vmm/iobus.h"
#include "vmm/netdev.h"
#include "vmm/pci.h"

#include "../support/testutil.h"

#define CAP_PTR 0x34
#define VNDR 0x09
#define T_COMMON 1
#define T_NOTIFY 2
#define T_DEVICE 4

#define DFSELECT 0x00
#define DF 0x04
#define GFSELECT 0x08
#define GF 0x0C
#define STATUS 0x14
#define QSEL 0x16
#define QSIZE 0x18
#define QENABLE 0x1C
#define QNOFF 0x1E
#define QDESC 0x20
#define QDRIVER 0x28
#define QDEVICE 0x30

#define S_ACK 0x01
#define S_DRIVER 0x02
#define S_DRIVER_OK 0x04
#define S_FEATURES_OK 0x08
#define S_NEEDS_RESET 0x40

#define F(n) (1ull << (n))
#define F_CSUM F(0)
#define F_GUEST_CSUM F(1)
#define F_MTU F(3)
#define F_MAC F(5)
#define F_HOST_TSO4 F(11)
#define F_MRG F(15)
#define F_STATUS F(16)
#define F_CTRL_VQ F(17)
#define F_CTRL_RX F(18)
#define F_CTRL_VLAN F(19)
#define F_MQ F(22)
#define F_IND F(28)
#define F_EVT F(29)
#define F_V1 F(32)
#define F_BASE (F_V1 | F_MAC | F_STATUS | F_MTU)
#define F_ALL (F_BASE | F_MRG | F_CTRL_VQ | F_CTRL_RX | F_CTRL_VLAN | F_MQ | F_EVT | F_IND)

#define HDR 12
#define RAM_SIZE (4u << 20)
#define QSZ 16
#define RING_GPA(q) (0x10000u + (q)*0x4000u)
#define BUF_GPA 0x100000u
#define PAIRS 4

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };

/* ---- fake netdev ---- */

struct fnd {
	unsigned int nframes;
	uint8_t frame[2048];
	size_t len;
	unsigned int resumes;
};

static int fnd_send(struct netdev *nd, const struct iovec *iov, int iovcnt)
{
	struct fnd *f = nd->priv;
	size_t off = 0;

	for (int i = 0; i < iovcnt; i++) {
		assert_true(off + iov[i].iov_len <= sizeof(f->frame));
		memcpy(f->frame + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	f->len = off;
	f->nframes++;
	return 0;
}

static void fnd_set_rx(struct netdev *nd, bool enable)
{
	if (enable)
		((struct fnd *)nd->priv)->resumes++;
}

static int fnd_set_vnet_hdr(struct netdev *nd, size_t hdr_len, unsigned int offloads)
{
	(void)nd;
	(void)offloads;
	return hdr_len == 0 || hdr_len == HDR ? 0 : -ENOTSUP;
}

static const struct netdev_ops fnd_ops = {
	.type = "fake",
	.send = fnd_send,
	.set_rx = fnd_set_rx,
};

/* A backend that takes a vnet header (a tap with IFF_VNET_HDR). */
static const struct netdev_ops fnd_vnet_ops = {
	.type = "fake-vnet",
	.send = fnd_send,
	.set_rx = fnd_set_rx,
	.set_vnet_hdr = fnd_set_vnet_hdr,
};

/* ---- fixture ---- */

struct dq {
	uint16_t q;
	uint16_t avail_idx, next, used_seen;
};

struct fx {
	struct arena *ar;
	struct io_bus pio, mmio;
	struct vm_irq irq;
	struct pci_bus *bus;
	struct pci_dev *pdev;
	struct netdev *nd;
	struct fnd *fnd;
	struct vnet *vn;
	unsigned int slot;
	uint64_t bar;
	uint32_t cap_off[6];
	uint32_t notify_mult;
	struct dq dq[2 * PAIRS + 1];
	uint64_t features;
};

static int fx_set_level(void *opaque, unsigned int gsi, int level)
{
	(void)opaque;
	(void)gsi;
	(void)level;
	return 0;
}

static void fx_find(struct pci_dev *dev, void *arg)
{
	struct fx *f = arg;

	if (strcmp(pci_dev_name(dev), "vnet-test") == 0)
		f->pdev = dev;
}

static uint32_t cfg_rd(struct fx *f, unsigned int off, unsigned int len)
{
	return pci_bus_config_read(f->bus, f->slot, 0, off, len);
}

static uint64_t bar_rd(struct fx *f, uint32_t off, uint32_t len)
{
	uint8_t b[8] = { 0 };
	uint64_t v = 0;

	assert_int_equal(iobus_dispatch(&f->mmio, f->bar + off, b, len, false), 0);
	for (uint32_t i = 0; i < len; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static void bar_wr(struct fx *f, uint32_t off, uint32_t len, uint64_t v)
{
	uint8_t b[8];

	for (uint32_t i = 0; i < len; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	assert_int_equal(iobus_dispatch(&f->mmio, f->bar + off, b, len, true), 0);
}

static uint64_t cc_rd(struct fx *f, uint32_t off, uint32_t len)
{
	return bar_rd(f, f->cap_off[T_COMMON] + off, len);
}

static void cc_wr(struct fx *f, uint32_t off, uint32_t len, uint64_t v)
{
	bar_wr(f, f->cap_off[T_COMMON] + off, len, v);
}

static struct fx *fx_new_opts(bool vnet_hdr)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct vnet_config cfg = { .name = "vnet-test", .queue_pairs = PAIRS, .mtu = 9000 };
	unsigned int c, hops = 0;

	assert_non_null(f);
	log_set_level(LOG_LVL_ERR); /* the malformed-ring tests log by design */
	f->ar = arena_new(RAM_SIZE, 0);
	iobus_init(&f->pio, "pio");
	iobus_init(&f->mmio, "mmio");
	f->irq = (struct vm_irq){ .set_level = fx_set_level, .opaque = f };
	f->bus = pci_bus_new(&f->pio, &f->mmio, &f->irq);
	assert_non_null(f->bus);
	f->nd = netdev_alloc(vnet_hdr ? &fnd_vnet_ops : &fnd_ops, "fake", NULL, sizeof(struct fnd));
	assert_non_null(f->nd);
	f->nd->link_up = true;
	f->fnd = f->nd->priv;
	memcpy(cfg.mac, mac, 6);
	cfg.netdevs[0] = f->nd;
	cfg.nr_netdevs = 1;
	f->vn = vnet_new(f->bus, &f->ar->gm, NULL, &cfg);
	assert_non_null(f->vn);
	pci_bus_for_each(f->bus, fx_find, f);
	assert_non_null(f->pdev);
	f->slot = pci_dev_slot(f->pdev);
	pci_bus_config_write(f->bus, f->slot, 0, 0x04, 2, 0x0006);
	f->bar = pci_dev_bar_addr(f->pdev, 0);
	c = cfg_rd(f, CAP_PTR, 1);
	while (c && hops++ < 48) {
		if (cfg_rd(f, c, 1) == VNDR) {
			unsigned int type = cfg_rd(f, c + 3, 1);

			if (type < 6)
				f->cap_off[type] = cfg_rd(f, c + 8, 4);
			if (type == T_NOTIFY)
				f->notify_mult = cfg_rd(f, c + 16, 4);
		}
		c = cfg_rd(f, c + 1, 1);
	}
	return f;
}

static struct fx *fx_new(void)
{
	return fx_new_opts(false);
}

static void fx_free(struct fx *f)
{
	pci_bus_free(f->bus);
	vnet_free(f->vn);
	netdev_close(f->nd);
	iobus_destroy(&f->pio);
	iobus_destroy(&f->mmio);
	arena_free(f->ar);
	free(f);
}

static uint8_t status(struct fx *f)
{
	return (uint8_t)cc_rd(f, STATUS, 1);
}

static void status_set(struct fx *f, uint8_t bits)
{
	cc_wr(f, STATUS, 1, status(f) | bits);
}

static uint64_t dev_features(struct fx *f)
{
	uint64_t lo;

	cc_wr(f, DFSELECT, 4, 0);
	lo = cc_rd(f, DF, 4);
	cc_wr(f, DFSELECT, 4, 1);
	return lo | cc_rd(f, DF, 4) << 32;
}

static bool negotiate(struct fx *f, uint64_t features)
{
	status_set(f, S_ACK);
	status_set(f, S_DRIVER);
	cc_wr(f, GFSELECT, 4, 0);
	cc_wr(f, GF, 4, (uint32_t)features);
	cc_wr(f, GFSELECT, 4, 1);
	cc_wr(f, GF, 4, features >> 32);
	status_set(f, S_FEATURES_OK);
	f->features = features;
	return status(f) & S_FEATURES_OK;
}

static void queue_setup(struct fx *f, uint16_t q)
{
	uint64_t base = RING_GPA(q);

	cc_wr(f, QSEL, 2, q);
	cc_wr(f, QSIZE, 2, QSZ);
	cc_wr(f, QDESC, 8, base);
	cc_wr(f, QDRIVER, 8, base + 0x1000);
	cc_wr(f, QDEVICE, 8, base + 0x2000);
	cc_wr(f, QENABLE, 2, 1);
	f->dq[q] = (struct dq){ .q = q };
}

/* Negotiates `features`, sets up `nq` queues, DRIVER_OK. */
static void bring_up(struct fx *f, uint64_t features, uint16_t nq)
{
	assert_true(negotiate(f, features));
	for (uint16_t q = 0; q < nq; q++)
		queue_setup(f, q);
	status_set(f, S_DRIVER_OK);
	assert_true(status(f) & S_DRIVER_OK);
}

static uint8_t *ram(struct fx *f, uint64_t gpa)
{
	return f->ar->ram + gpa;
}

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* Makes a chain of `n` segments available on queue q (no doorbell). */
static void add_chain(struct fx *f, uint16_t q, const struct seg *s, unsigned int n)
{
	struct dq *d = &f->dq[q];
	uint8_t *desc = ram(f, RING_GPA(q)), *avail = ram(f, RING_GPA(q) + 0x1000);
	uint16_t head = d->next;

	for (unsigned int i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((d->next + i) % QSZ);
		uint8_t *p = desc + 16 * idx;
		uint16_t flags = (s[i].write ? 2 : 0) | (i + 1 < n ? 1 : 0);

		wr32(p, 0, (uint32_t)s[i].gpa);
		wr32(p, 4, (uint32_t)(s[i].gpa >> 32));
		wr32(p, 8, s[i].len);
		wr16(p, 12, flags);
		wr16(p, 14, (uint16_t)((idx + 1) % QSZ));
	}
	d->next = (uint16_t)((d->next + n) % QSZ);
	wr16(avail, 4 + 2 * (d->avail_idx % QSZ), head);
	d->avail_idx++;
	wr16(avail, 2, d->avail_idx);
}

static void kick(struct fx *f, uint16_t q)
{
	cc_wr(f, QSEL, 2, q);
	bar_wr(f, f->cap_off[T_NOTIFY] + (uint32_t)cc_rd(f, QNOFF, 2) * f->notify_mult, 2, q);
}

static uint16_t used_idx(struct fx *f, uint16_t q)
{
	return rd16(ram(f, RING_GPA(q) + 0x2000), 2);
}

static void used_elem(struct fx *f, uint16_t q, uint16_t pos, uint32_t *id, uint32_t *len)
{
	uint8_t *u = ram(f, RING_GPA(q) + 0x2000 + 4 + 8 * (pos % QSZ));

	*id = rd32(u, 0);
	*len = rd32(u, 4);
}

static ssize_t deliver(struct fx *f, const uint8_t *frame, size_t len)
{
	struct iovec iov = { .iov_base = (void *)frame, .iov_len = len };

	return netdev_deliver(f->nd, &iov, 1);
}

static void make_frame(uint8_t *fr, size_t len, const uint8_t *dst)
{
	for (size_t i = 0; i < len; i++)
		fr[i] = (uint8_t)(i * 7 + 3);
	memcpy(fr, dst, 6);
	fr[12] = 0x08;
	fr[13] = 0x00;
}

static struct vnet_stats stats(struct fx *f)
{
	struct vnet_stats st;

	vnet_get_stats(f->vn, &st);
	return st;
}

/* ---- tests ---- */

static void test_ids_features(void **state)
{
	struct fx *f = fx_new();
	uint64_t df;

	(void)state;
	assert_int_equal(cfg_rd(f, 0x00, 2), 0x1AF4);
	assert_int_equal(cfg_rd(f, 0x02, 2), 0x1041);
	df = dev_features(f);
	assert_int_equal(df & F_ALL, F_ALL);
	/* The fake netdev takes no vnet header: no offloads offered. */
	assert_int_equal(df & (F_CSUM | F_GUEST_CSUM | F_HOST_TSO4), 0);
	/* A driver that takes less is fine. */
	assert_true(negotiate(f, F_V1 | F_MAC));
	fx_free(f);
}

static void test_vnet_backend(void **state)
{
	struct fx *f = fx_new_opts(true);
	uint8_t fr[64], in[HDR + 64] = { 0 };
	struct seg s = { BUF_GPA, HDR + 64, false };
	struct seg r = { BUF_GPA + 0x1000, 2048, true };

	(void)state;
	/* Offloads offered once the backend took a vnet header. */
	assert_int_equal(dev_features(f) & (F_CSUM | F_GUEST_CSUM | F_HOST_TSO4),
			 F_CSUM | F_GUEST_CSUM | F_HOST_TSO4);
	assert_int_equal(f->nd->vnet_hdr_len, HDR);
	bring_up(f, F_BASE | F_CSUM | F_GUEST_CSUM, 3);
	/* TX: the header goes to the backend with the frame. */
	make_frame(fr, sizeof(fr), mac);
	ram(f, BUF_GPA)[0] = 1; /* NEEDS_CSUM */
	memcpy(ram(f, BUF_GPA + HDR), fr, 64);
	add_chain(f, 1, &s, 1);
	kick(f, 1);
	assert_int_equal(f->fnd->len, HDR + 64);
	assert_int_equal(f->fnd->frame[0], 1);
	assert_memory_equal(f->fnd->frame + HDR, fr, 64);
	/* RX: the backend's header reaches the guest, num_buffers set. */
	in[0] = 2; /* DATA_VALID */
	memcpy(in + HDR, fr, 64);
	add_chain(f, 0, &r, 1);
	assert_int_equal(deliver(f, in, sizeof(in)), sizeof(in));
	assert_int_equal(ram(f, BUF_GPA + 0x1000)[0], 2);
	assert_int_equal(rd16(ram(f, BUF_GPA + 0x1000), 10), 1);
	assert_memory_equal(ram(f, BUF_GPA + 0x1000 + HDR), fr, 64);
	fx_free(f);
}

static void test_features_refused(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	/* An unoffered feature (CSUM): FEATURES_OK reads back clear. */
	assert_false(negotiate(f, F_BASE | F_CSUM));
	cc_wr(f, STATUS, 1, 0);
	/* CTRL_RX without CTRL_VQ: the device refuses. */
	assert_false(negotiate(f, F_BASE | F_CTRL_RX));
	cc_wr(f, STATUS, 1, 0);
	assert_true(negotiate(f, F_ALL));
	fx_free(f);
}

static void test_config_space(void **state)
{
	struct fx *f = fx_new();
	uint32_t d;

	(void)state;
	d = f->cap_off[T_DEVICE];
	for (int i = 0; i < 6; i++)
		assert_int_equal(bar_rd(f, d + (uint32_t)i, 1), mac[i]);
	assert_int_equal(bar_rd(f, d + 6, 2), 1); /* LINK_UP */
	assert_int_equal(bar_rd(f, d + 8, 2), PAIRS);
	assert_int_equal(bar_rd(f, d + 10, 2), 9000);
	netdev_set_link(f->nd, false);
	assert_int_equal(bar_rd(f, d + 6, 2), 0);
	fx_free(f);
}

static void test_tx(void **state)
{
	struct fx *f = fx_new();
	uint8_t fr[100];
	struct seg s[3] = {
		{ BUF_GPA, HDR, false },
		{ BUF_GPA + 0x1000, 40, false },
		{ BUF_GPA + 0x2000, 60, false },
	};
	uint32_t id, len;

	(void)state;
	bring_up(f, F_BASE, 3);
	make_frame(fr, sizeof(fr), mac);
	memset(ram(f, BUF_GPA), 0xee, HDR);
	memcpy(ram(f, BUF_GPA + 0x1000), fr, 40);
	memcpy(ram(f, BUF_GPA + 0x2000), fr + 40, 60);
	add_chain(f, 1, s, 3);
	kick(f, 1);
	assert_int_equal(f->fnd->nframes, 1);
	assert_int_equal(f->fnd->len, 100);
	assert_memory_equal(f->fnd->frame, fr, 100);
	assert_int_equal(used_idx(f, 1), 1);
	used_elem(f, 1, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 0);
	assert_int_equal(stats(f).tx_frames, 1);
	/* Header and frame in one segment. */
	s[0].len = HDR + 100;
	memcpy(ram(f, BUF_GPA + HDR), fr, 100);
	add_chain(f, 1, s, 1);
	kick(f, 1);
	assert_int_equal(f->fnd->nframes, 2);
	assert_memory_equal(f->fnd->frame, fr, 100);
	fx_free(f);
}

static void test_rx_single(void **state)
{
	struct fx *f = fx_new();
	uint8_t fr[200];
	struct seg s = { BUF_GPA, 2048, true };
	uint32_t id, len;

	(void)state;
	bring_up(f, F_BASE, 3);
	make_frame(fr, sizeof(fr), mac);
	add_chain(f, 0, &s, 1);
	assert_int_equal(deliver(f, fr, sizeof(fr)), sizeof(fr));
	assert_int_equal(used_idx(f, 0), 1);
	used_elem(f, 0, 0, &id, &len);
	assert_int_equal(len, HDR + sizeof(fr));
	assert_int_equal(rd16(ram(f, BUF_GPA), 10), 1); /* num_buffers */
	assert_memory_equal(ram(f, BUF_GPA + HDR), fr, sizeof(fr));
	/* Without MRG_RXBUF a buffer too small for the frame is not used. */
	s.len = 100;
	add_chain(f, 0, &s, 1);
	assert_true(deliver(f, fr, sizeof(fr)) < 0);
	assert_int_equal(used_idx(f, 0), 1);
	fx_free(f);
}

static void test_rx_mrg(void **state)
{
	struct fx *f = fx_new();
	uint8_t fr[300];
	uint32_t id, len;

	(void)state;
	bring_up(f, F_BASE | F_MRG, 3);
	make_frame(fr, sizeof(fr), mac);
	for (int i = 0; i < 4; i++) {
		struct seg s = { BUF_GPA + 0x1000u * (unsigned)i, 128, true };

		add_chain(f, 0, &s, 1);
	}
	assert_int_equal(deliver(f, fr, sizeof(fr)), sizeof(fr));
	/* 312 bytes over 128-byte buffers: 3 chains. */
	assert_int_equal(used_idx(f, 0), 3);
	assert_int_equal(rd16(ram(f, BUF_GPA), 10), 3);
	used_elem(f, 0, 0, &id, &len);
	assert_int_equal(len, 128);
	used_elem(f, 0, 2, &id, &len);
	assert_int_equal(len, HDR + 300 - 256);
	assert_memory_equal(ram(f, BUF_GPA + HDR), fr, 128 - HDR);
	assert_memory_equal(ram(f, BUF_GPA + 0x1000), fr + 128 - HDR, 128);
	assert_memory_equal(ram(f, BUF_GPA + 0x2000), fr + 256 - HDR, 300 - 256 + HDR);
	fx_free(f);
}

static void test_rx_no_room_resume(void **state)
{
	struct fx *f = fx_new();
	uint8_t fr[300];
	struct seg s = { BUF_GPA, 128, true };
	unsigned int resumes;

	(void)state;
	bring_up(f, F_BASE | F_MRG, 3);
	make_frame(fr, sizeof(fr), mac);
	assert_int_equal(deliver(f, fr, sizeof(fr)), 0);
	/* One buffer is not enough: nothing used, the chain is given back. */
	add_chain(f, 0, &s, 1);
	assert_int_equal(deliver(f, fr, sizeof(fr)), 0);
	assert_int_equal(used_idx(f, 0), 0);
	assert_int_equal(stats(f).rx_no_buffer, 2);
	resumes = f->fnd->resumes;
	s.gpa = BUF_GPA + 0x1000;
	add_chain(f, 0, &s, 1);
	s.gpa = BUF_GPA + 0x2000;
	add_chain(f, 0, &s, 1);
	kick(f, 0);
	assert_int_equal(f->fnd->resumes, resumes + 1);
	assert_int_equal(deliver(f, fr, sizeof(fr)), sizeof(fr));
	assert_int_equal(used_idx(f, 0), 3);
	fx_free(f);
}

static void test_event_idx(void **state)
{
	struct fx *f = fx_new();
	uint8_t fr[64];
	uint8_t *avail = ram(f, RING_GPA(0) + 0x1000);
	struct seg s = { BUF_GPA, 2048, true };

	(void)state;
	bring_up(f, F_BASE | F_EVT, 3);
	make_frame(fr, sizeof(fr), mac);
	/*
	 * used_event = 2. The first decision after setup notifies (the core's
	 * safe start); the second frame (used 1 -> 2) does not cross it; the
	 * third (2 -> 3) does.
	 */
	wr16(avail, 4 + 2 * QSZ, 2);
	for (int i = 0; i < 3; i++) {
		s.gpa = BUF_GPA + 0x1000u * (unsigned)i;
		add_chain(f, 0, &s, 1);
	}
	assert_int_equal(deliver(f, fr, sizeof(fr)), sizeof(fr));
	assert_int_equal(stats(f).irqs, 1);
	assert_int_equal(deliver(f, fr, sizeof(fr)), sizeof(fr));
	assert_int_equal(stats(f).irqs, 1);
	assert_int_equal(deliver(f, fr, sizeof(fr)), sizeof(fr));
	assert_int_equal(stats(f).irqs, 2);
	assert_int_equal(used_idx(f, 0), 3);
	/* Out of buffers: avail_event asks for a doorbell on the next one. */
	assert_int_equal(deliver(f, fr, sizeof(fr)), 0);
	assert_int_equal(rd16(ram(f, RING_GPA(0) + 0x2000), 4 + 8 * QSZ), 3);
	/* TX drained: the same for the transmit queue. */
	{
		struct seg t = { BUF_GPA + 0x8000, HDR + 64, false };

		memcpy(ram(f, BUF_GPA + 0x8000 + HDR), fr, 64);
		add_chain(f, 1, &t, 1);
		add_chain(f, 1, &t, 1);
		kick(f, 1);
		assert_int_equal(f->fnd->nframes, 2);
		assert_int_equal(rd16(ram(f, RING_GPA(1) + 0x2000), 4 + 8 * QSZ), 2);
	}
	fx_free(f);
}

/* Sends a control command; returns the ack byte (0xAA if none written). */
static uint8_t ctrl(struct fx *f, uint16_t cq, const uint8_t *cmd, uint32_t len)
{
	struct seg s[2] = { { BUF_GPA + 0x8000, len, false }, { BUF_GPA + 0x9000, 1, true } };
	uint16_t before = used_idx(f, cq);

	memcpy(ram(f, BUF_GPA + 0x8000), cmd, len);
	ram(f, BUF_GPA + 0x9000)[0] = 0xAA;
	add_chain(f, cq, s, 2);
	kick(f, cq);
	assert_int_equal(used_idx(f, cq), (uint16_t)(before + 1));
	return ram(f, BUF_GPA + 0x9000)[0];
}

static void test_ctrl(void **state)
{
	struct fx *f = fx_new();
	const uint16_t cq = 2 * PAIRS;
	uint8_t other[6] = { 0x52, 0x54, 0x00, 0x11, 0x22, 0x33 };
	uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	uint8_t fr[64], tagged[64];
	struct seg s = { BUF_GPA, 2048, true };

	(void)state;
	bring_up(f, F_ALL, 2 * PAIRS + 1);
	/* MQ: 1..max pairs. */
	assert_int_equal(ctrl(f, cq, (const uint8_t[]){ 4, 0, 4, 0 }, 4), 0);
	assert_int_equal(ctrl(f, cq, (const uint8_t[]){ 4, 0, PAIRS + 1, 0 }, 4), 1);
	assert_int_equal(ctrl(f, cq, (const uint8_t[]){ 4, 0, 0, 0 }, 4), 1);
	assert_int_equal(ctrl(f, cq, (const uint8_t[]){ 4, 0, 2 }, 3), 1); /* short */
	/* Unknown class and command. */
	assert_int_equal(ctrl(f, cq, (const uint8_t[]){ 99, 0 }, 2), 1);
	assert_int_equal(ctrl(f, cq, (const uint8_t[]){ 0, 77, 1 }, 3), 1);
	assert_int_equal(ctrl(f, cq, (const uint8_t[]){ 3, 0 }, 2), 0); /* announce ack */
	/* Promiscuous off: a frame for another MAC is filtered. */
	assert_int_equal(ctrl(f, cq, (const uint8_t[]){ 0, 0, 0 }, 3), 0);
	assert_int_equal(ctrl(f, cq, (const uint8_t[]){ 0, 1, 0 }, 3), 0); /* allmulti off */
	add_chain(f, 0, &s, 1);
	make_frame(fr, sizeof(fr), other);
	assert_int_equal(deliver(f, fr, sizeof(fr)), sizeof(fr));
	assert_int_equal(used_idx(f, 0), 0);
	assert_int_equal(stats(f).rx_filtered, 1);
	/* MAC table: one unicast (other), one multicast. */
	{
		uint8_t cmd[2 + 4 + 6 + 4 + 6] = { 1, 0, 1, 0, 0, 0 };

		memcpy(cmd + 6, other, 6);
		cmd[12] = 1;
		memcpy(cmd + 16, mcast, 6);
		assert_int_equal(ctrl(f, cq, cmd, sizeof(cmd)), 0);
		/* Malformed: the multicast count says 2 entries, one is there. */
		cmd[12] = 2;
		assert_int_equal(ctrl(f, cq, cmd, sizeof(cmd)), 1);
		/* Malformed: cut short inside the unicast table. */
		assert_int_equal(ctrl(f, cq, cmd, 9), 1);
	}
	assert_int_equal(deliver(f, fr, sizeof(fr)), sizeof(fr));
	assert_int_equal(used_idx(f, 0), 1);
	/* VLAN: a tagged frame passes once its VID is added. */
	make_frame(tagged, sizeof(tagged), mac);
	tagged[12] = 0x81;
	tagged[13] = 0x00;
	tagged[14] = 0x00;
	tagged[15] = 100;
	s.gpa = BUF_GPA + 0x1000;
	add_chain(f, 0, &s, 1);
	assert_int_equal(deliver(f, tagged, sizeof(tagged)), sizeof(tagged));
	assert_int_equal(used_idx(f, 0), 1);
	assert_int_equal(ctrl(f, cq, (const uint8_t[]){ 2, 0, 100, 0 }, 4), 0);
	assert_int_equal(ctrl(f, cq, (const uint8_t[]){ 2, 0, 0x00, 0x10 }, 4), 1); /* 4096 */
	assert_int_equal(deliver(f, tagged, sizeof(tagged)), sizeof(tagged));
	assert_int_equal(used_idx(f, 0), 2);
	/* No writable byte for the ack: returned with length 0. */
	{
		struct seg c = { BUF_GPA + 0x8000, 3, false };
		uint32_t id, len;

		add_chain(f, cq, &c, 1);
		kick(f, cq);
		used_elem(f, cq, (uint16_t)(used_idx(f, cq) - 1), &id, &len);
		assert_int_equal(len, 0);
	}
	assert_false(status(f) & S_NEEDS_RESET);
	fx_free(f);
}

static void test_ctrl_no_mq(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	/* Without MQ the control queue is queue 2, and MQ commands fail. */
	bring_up(f, F_BASE | F_CTRL_VQ | F_CTRL_RX, 3);
	assert_int_equal(ctrl(f, 2, (const uint8_t[]){ 0, 0, 1 }, 3), 0);
	assert_int_equal(ctrl(f, 2, (const uint8_t[]){ 4, 0, 1, 0 }, 4), 1);
	fx_free(f);
}

static void test_malformed_tx(void **state)
{
	struct fx *f = fx_new();
	uint8_t *desc = ram(f, RING_GPA(1));
	struct seg s = { BUF_GPA, 100, false };
	uint8_t fr[64];

	(void)state;
	bring_up(f, F_BASE, 3);
	/* A chain that loops onto itself. */
	add_chain(f, 1, &s, 1);
	wr16(desc, 12, 1);
	wr16(desc, 14, 0);
	kick(f, 1);
	assert_true(status(f) & S_NEEDS_RESET);
	assert_int_equal(f->fnd->nframes, 0);
	assert_true(stats(f).guest_errors >= 1);
	/* The datapath stopped: RX is refused, no crash. */
	make_frame(fr, sizeof(fr), mac);
	assert_true(deliver(f, fr, sizeof(fr)) < 0);
	kick(f, 1);
	/* A reset brings it back. */
	cc_wr(f, STATUS, 1, 0);
	bring_up(f, F_BASE, 3);
	s.len = HDR + 64;
	memcpy(ram(f, BUF_GPA + HDR), fr, 64);
	add_chain(f, 1, &s, 1);
	kick(f, 1);
	assert_int_equal(f->fnd->nframes, 1);
	fx_free(f);
}

static void test_malformed_rx(void **state)
{
	struct fx *f = fx_new();
	uint8_t *avail = ram(f, RING_GPA(0) + 0x1000);
	struct seg s = { 0x7fffffff00ull, 2048, true }; /* outside RAM */
	uint8_t fr[64];

	(void)state;
	bring_up(f, F_BASE, 3);
	make_frame(fr, sizeof(fr), mac);
	add_chain(f, 0, &s, 1);
	assert_true(deliver(f, fr, sizeof(fr)) < 0);
	assert_true(status(f) & S_NEEDS_RESET);
	cc_wr(f, STATUS, 1, 0);
	/* A head index beyond the queue size. */
	bring_up(f, F_BASE, 3);
	wr16(avail, 4, QSZ + 3);
	wr16(avail, 2, 1);
	assert_true(deliver(f, fr, sizeof(fr)) < 0);
	assert_true(status(f) & S_NEEDS_RESET);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids_features),
		cmocka_unit_test(test_vnet_backend),
		cmocka_unit_test(test_features_refused),
		cmocka_unit_test(test_config_space),
		cmocka_unit_test(test_tx),
		cmocka_unit_test(test_rx_single),
		cmocka_unit_test(test_rx_mrg),
		cmocka_unit_test(test_rx_no_room_resume),
		cmocka_unit_test(test_event_idx),
		cmocka_unit_test(test_ctrl),
		cmocka_unit_test(test_ctrl_no_mq),
		cmocka_unit_test(test_malformed_tx),
		cmocka_unit_test(test_malformed_rx),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
