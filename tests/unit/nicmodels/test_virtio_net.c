// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for the virtio-net device type (nicmodels/virtio_net.c) on the
 * virtio-pci transport, driven the way a driver drives it: PCI config space,
 * BAR accesses and split rings built in a guest RAM arena, with fake
 * netdevs that record what the device sends and asks of them. The device
 * has one netdev for every pair, or one per pair (a multiqueue tap), and
 * optionally an event loop for its TX re-kick. Constants are spelled out
 * from VIRTIO 1.2 (4.1.4, 5.1) independently of the model's.
 * Single-threaded: the loop runs only when a test calls evloop_run_once().
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "common/evloop.h"
#include "common/log.h"
#include "nicmodels/virtio_net.h"
#include "vmm/iobus.h"
#include "vmm/netdev.h"
#include "vmm/pci.h"

#include "../support/testutil.h"
#include "../support/virtio_drv.h"

#define F(n) (1ull << (n))
#define F_CSUM F(0)
#define F_GUEST_CSUM F(1)
#define F_MTU F(3)
#define F_MAC F(5)
#define F_GUEST_TSO4 F(7)
#define F_GUEST_TSO6 F(8)
#define F_HOST_TSO4 F(11)
#define F_HOST_TSO6 F(12)
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

/* struct virtio_net_hdr (5.1.6): flags, gso_type, hdr_len, gso_size, csum_start, csum_offset. */
#define HDR 12
#define H_NEEDS_CSUM 1
#define H_DATA_VALID 2
#define GSO_NONE 0
#define GSO_TCPV4 1
#define GSO_UDP 3
#define GSO_TCPV6 4
#define GSO_ECN 0x80

/* Control queue (5.1.6.5): class MQ, VQ_PAIRS_SET; acks. */
#define CTRL_MQ 4
#define CTRL_MQ_VQ_PAIRS_SET 0
#define ACK_OK 0
#define ACK_ERR 1

#define RAM_SIZE (4u << 20)
#define QSZ 16	    /* the queue size the driver sets up, unless a test asks for more */
#define QSZ_MAX 256 /* the device's maximum: the rings below are laid out for it */
#define RING_GPA(q) (0x10000u + (q)*0x4000u) /* desc; avail +0x1000; used +0x2000 */
#define BUF_GPA 0x100000u
#define TXBUF_GPA(q) (BUF_GPA + 0x80000u + (q)*0x1000u)	  /* one TX frame per queue */
#define RXBUF_GPA(q) (BUF_GPA + 0x100000u + (q)*0x10000u) /* a queue's RX buffers */
#define PAIRS 4
#define CQ_MQ (2 * PAIRS) /* the control queue with MQ */
#define TX_BURST 256	  /* chains the device sends per doorbell (virtio_net.c) */

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };

struct fx;

/* ---- fake netdev ---- */

struct fnd {
	struct fx *fx;
	unsigned int nframes;
	uint8_t frame[2048];
	size_t len;
	unsigned int resumes;
	/* set_queue_enabled(): calls and the state they left (a tap queue starts attached) */
	unsigned int qe_calls;
	bool enabled;
	/* set_vnet_hdr(): calls that succeeded and their last arguments */
	unsigned int vh_calls;
	size_t vh_len;
	unsigned int vh_offloads;
	/* Runs in send() once the frame is recorded: the driver acting meanwhile. */
	void (*on_send)(struct fx *f, struct fnd *fnd);
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
	if (f->on_send)
		f->on_send(f->fx, f);
	return 0;
}

static void fnd_set_rx(struct netdev *nd, bool enable)
{
	if (enable)
		((struct fnd *)nd->priv)->resumes++;
}

static int fnd_set_vnet_hdr(struct netdev *nd, size_t hdr_len, unsigned int offloads)
{
	struct fnd *f = nd->priv;

	if (hdr_len != 0 && hdr_len != HDR)
		return -ENOTSUP;
	f->vh_calls++;
	f->vh_len = hdr_len;
	f->vh_offloads = offloads;
	return 0;
}

static int fnd_set_queue_enabled(struct netdev *nd, bool enable)
{
	struct fnd *f = nd->priv;

	f->qe_calls++;
	f->enabled = enable;
	return 0;
}

/* [one queue per netdev][a vnet header]: a plain backend, a tap with IFF_VNET_HDR, ... */
static const struct netdev_ops fnd_ops[2][2] = {
	{
		{ .type = "fake", .send = fnd_send, .set_rx = fnd_set_rx },
		{ .type = "fake-vnet",
		  .send = fnd_send,
		  .set_rx = fnd_set_rx,
		  .set_vnet_hdr = fnd_set_vnet_hdr },
	},
	{
		{ .type = "fake-mq",
		  .send = fnd_send,
		  .set_rx = fnd_set_rx,
		  .set_queue_enabled = fnd_set_queue_enabled },
		{ .type = "fake-mq-vnet",
		  .send = fnd_send,
		  .set_rx = fnd_set_rx,
		  .set_vnet_hdr = fnd_set_vnet_hdr,
		  .set_queue_enabled = fnd_set_queue_enabled },
	},
};

/* ---- fixture ---- */

struct dq {
	uint16_t q;
	uint16_t avail_idx, next, used_seen;
};

struct fx_opts {
	bool vnet_hdr; /* the backends take a vnet header */
	bool per_pair; /* PAIRS netdevs, one per pair (else one for the device) */
	bool loop;     /* an event loop for the TX re-kick */
	uint16_t qsz;  /* the driver's queue size; 0: QSZ */
};

struct fx {
	struct arena *ar;
	struct io_bus pio, mmio;
	struct vm_irq irq;
	struct pci_bus *bus;
	struct pci_dev *pdev;
	struct netdev *nds[PAIRS];
	struct fnd *fnds[PAIRS];
	uint16_t nr_nds;
	struct netdev *nd; /* nds[0] */
	struct fnd *fnd;   /* fnds[0] */
	struct evloop *loop;
	struct vnet *vn;
	struct vdrv drv;
	uint16_t qsz;
	struct dq dq[2 * PAIRS + 1];
	unsigned int readd; /* chains the driver makes available again while the device sends */
};

static int fx_set_level(void *opaque, unsigned int gsi, int level)
{
	(void)opaque;
	(void)gsi;
	(void)level;
	return 0;
}

static struct fx *fx_create(const struct fx_opts *o)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct vnet_config cfg = { .name = "vnet-test", .queue_pairs = PAIRS, .mtu = 9000 };

	assert_non_null(f);
	log_set_level(LOG_LVL_ERR); /* the malformed-ring tests log by design */
	f->qsz = o->qsz ? o->qsz : QSZ;
	assert_true(f->qsz <= QSZ_MAX);
	f->ar = arena_new(RAM_SIZE, 0);
	iobus_init(&f->pio, "pio");
	iobus_init(&f->mmio, "mmio");
	f->irq = (struct vm_irq){ .set_level = fx_set_level, .opaque = f };
	f->bus = pci_bus_new(&f->pio, &f->mmio, &f->irq);
	assert_non_null(f->bus);
	if (o->loop) {
		f->loop = evloop_new();
		assert_non_null(f->loop);
	}
	f->nr_nds = o->per_pair ? PAIRS : 1;
	for (uint16_t i = 0; i < f->nr_nds; i++) {
		char name[16];

		snprintf(name, sizeof(name), "fake%u", i);
		f->nds[i] = netdev_alloc(&fnd_ops[o->per_pair][o->vnet_hdr], name, NULL,
					 sizeof(struct fnd));
		assert_non_null(f->nds[i]);
		f->nds[i]->link_up = true;
		f->fnds[i] = f->nds[i]->priv;
		f->fnds[i]->fx = f;
		f->fnds[i]->enabled = true;
		cfg.netdevs[i] = f->nds[i];
	}
	f->nd = f->nds[0];
	f->fnd = f->fnds[0];
	memcpy(cfg.mac, mac, 6);
	cfg.nr_netdevs = f->nr_nds;
	f->vn = vnet_new(f->bus, &f->ar->gm, f->loop, &cfg);
	assert_non_null(f->vn);
	f->pdev = vdrv_init(&f->drv, f->bus, &f->mmio, "vnet-test");
	vdrv_find_caps(&f->drv, NULL);
	return f;
}

static struct fx *fx_new_opts(bool vnet_hdr)
{
	const struct fx_opts o = { .vnet_hdr = vnet_hdr };

	return fx_create(&o);
}

static struct fx *fx_new(void)
{
	return fx_new_opts(false);
}

/* One netdev per pair (a multiqueue tap). */
static struct fx *fx_new_mq(bool vnet_hdr)
{
	const struct fx_opts o = { .vnet_hdr = vnet_hdr, .per_pair = true };

	return fx_create(&o);
}

static void fx_free(struct fx *f)
{
	pci_bus_free(f->bus);
	vnet_free(f->vn);
	for (uint16_t i = 0; i < f->nr_nds; i++)
		netdev_close(f->nds[i]);
	evloop_free(f->loop);
	iobus_destroy(&f->pio);
	iobus_destroy(&f->mmio);
	arena_free(f->ar);
	free(f);
}

static uint8_t *ram(struct fx *f, uint64_t gpa)
{
	return f->ar->ram + gpa;
}

/* Fresh rings, as a driver allocates them after a reset. */
static void queue_setup(struct fx *f, uint16_t q)
{
	uint64_t base = RING_GPA(q);

	memset(ram(f, base), 0, 0x3000);
	vdrv_queue_setup(&f->drv, q, f->qsz, base);
	f->dq[q] = (struct dq){ .q = q };
}

/* Negotiates `features`, sets up `nq` queues, DRIVER_OK. */
static void bring_up(struct fx *f, uint64_t features, uint16_t nq)
{
	assert_true(vdrv_negotiate(&f->drv, features));
	for (uint16_t q = 0; q < nq; q++)
		queue_setup(f, q);
	vdrv_status_set(&f->drv, S_DRIVER_OK);
	assert_true(vdrv_status(&f->drv) & S_DRIVER_OK);
}

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* Puts chain `head` in queue q's available ring (no doorbell). */
static void avail_push(struct fx *f, uint16_t q, uint16_t head)
{
	struct dq *d = &f->dq[q];
	uint8_t *avail = ram(f, RING_GPA(q) + 0x1000);

	wr16(avail, 4 + 2 * (d->avail_idx % f->qsz), head);
	d->avail_idx++;
	wr16(avail, 2, d->avail_idx);
}

/* Makes a chain of `n` segments available on queue q (no doorbell). */
static void add_chain(struct fx *f, uint16_t q, const struct seg *s, unsigned int n)
{
	struct dq *d = &f->dq[q];
	uint8_t *desc = ram(f, RING_GPA(q));
	uint16_t head = d->next;

	for (unsigned int i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((d->next + i) % f->qsz);
		uint8_t *p = desc + 16 * idx;
		uint16_t flags = (s[i].write ? 2 : 0) | (i + 1 < n ? 1 : 0);

		wr32(p, 0, (uint32_t)s[i].gpa);
		wr32(p, 4, (uint32_t)(s[i].gpa >> 32));
		wr32(p, 8, s[i].len);
		wr16(p, 12, flags);
		wr16(p, 14, (uint16_t)((idx + 1) % f->qsz));
	}
	d->next = (uint16_t)((d->next + n) % f->qsz);
	avail_push(f, q, head);
}

/* `n` one-segment writable buffers of `len` bytes at gpa, gpa + stride, ... on queue q. */
static void post_rx(struct fx *f, uint16_t q, uint64_t gpa, uint32_t stride, uint32_t len,
		    unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct seg s = { gpa + (uint64_t)stride * i, len, true };

		add_chain(f, q, &s, 1);
	}
}

static uint16_t used_idx(struct fx *f, uint16_t q)
{
	return rd16(ram(f, RING_GPA(q) + 0x2000), 2);
}

static void used_elem(struct fx *f, uint16_t q, uint16_t pos, uint32_t *id, uint32_t *len)
{
	uint8_t *u = ram(f, RING_GPA(q) + 0x2000 + 4 + 8 * (pos % f->qsz));

	*id = rd32(u, 0);
	*len = rd32(u, 4);
}

/* Netdev i hands the device a frame, after a vnet header when hdr is not NULL. */
static ssize_t deliver_on(struct fx *f, unsigned int i, const uint8_t *hdr, const uint8_t *frame,
			  size_t len)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)hdr, .iov_len = HDR },
		{ .iov_base = (void *)frame, .iov_len = len },
	};

	assert_true(i < f->nr_nds);
	return hdr ? netdev_deliver(f->nds[i], iov, 2) : netdev_deliver(f->nds[i], iov + 1, 1);
}

static ssize_t deliver(struct fx *f, const uint8_t *frame, size_t len)
{
	return deliver_on(f, 0, NULL, frame, len);
}

/*
 * Makes a vnet header plus `len` bytes of frame available on transmitq q
 * (one segment) and rings its doorbell. The chain must come back used
 * whatever happens to the frame; returns the frames the netdev of the
 * queue's pair got.
 */
static unsigned int tx_one(struct fx *f, uint16_t q, const uint8_t *hdr, const uint8_t *fr,
			   uint32_t len)
{
	struct fnd *nd = f->fnds[f->nr_nds > 1 ? q / 2 : 0];
	struct seg s = { TXBUF_GPA(q), HDR + len, false };
	unsigned int before = nd->nframes;
	uint16_t used = used_idx(f, q);

	if (hdr)
		memcpy(ram(f, s.gpa), hdr, HDR);
	else
		memset(ram(f, s.gpa), 0, HDR);
	memcpy(ram(f, s.gpa + HDR), fr, len);
	add_chain(f, q, &s, 1);
	vdrv_kick(&f->drv, q);
	assert_int_equal(used_idx(f, q), (uint16_t)(used + 1));
	return nd->nframes - before;
}

static void make_frame(uint8_t *fr, size_t len, const uint8_t *dst)
{
	for (size_t i = 0; i < len; i++)
		fr[i] = (uint8_t)(i * 7 + 3);
	memcpy(fr, dst, 6);
	fr[12] = 0x08;
	fr[13] = 0x00;
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

#define IP4_FRAME_LEN 64 /* Ethernet 14 + IPv4 20 + ports 4 + the rest */

/*
 * A 64-byte IPv4 frame to the device's MAC: protocol `proto` (17 UDP, 6
 * TCP), ports at the start of the L4 header, and the flags/fragment offset
 * field (0x2000 MF, low 13 bits the offset).
 */
static size_t ip4_frame(uint8_t *fr, uint8_t proto, uint32_t saddr, uint32_t daddr, uint16_t sport,
			uint16_t dport, uint16_t frag)
{
	uint8_t *ip = fr + 14;

	make_frame(fr, IP4_FRAME_LEN, mac);
	memset(ip, 0, IP4_FRAME_LEN - 14);
	ip[0] = 0x45;
	put_be16(ip + 2, IP4_FRAME_LEN - 14);
	put_be16(ip + 6, frag);
	ip[8] = 64;
	ip[9] = proto;
	put_be32(ip + 12, saddr);
	put_be32(ip + 16, daddr);
	put_be16(ip + 20, sport);
	put_be16(ip + 22, dport);
	return IP4_FRAME_LEN;
}

static size_t udp4_frame(uint8_t *fr, uint32_t saddr, uint32_t daddr, uint16_t sport,
			 uint16_t dport)
{
	return ip4_frame(fr, 17, saddr, daddr, sport, dport, 0);
}

#define IP6_FRAME_LEN 70 /* Ethernet 14 + IPv6 40 + UDP 8 + 8 bytes */

static size_t udp6_frame(uint8_t *fr, uint8_t saddr_last, uint8_t daddr_last, uint16_t sport,
			 uint16_t dport)
{
	uint8_t *ip = fr + 14;

	make_frame(fr, IP6_FRAME_LEN, mac);
	fr[12] = 0x86;
	fr[13] = 0xdd;
	memset(ip, 0, IP6_FRAME_LEN - 14);
	ip[0] = 0x60;
	put_be16(ip + 4, IP6_FRAME_LEN - 54);
	ip[6] = 17;
	ip[7] = 64;
	ip[8] = 0xfd; /* fd00::1:<last> */
	ip[21] = 1;
	ip[23] = saddr_last;
	ip[24] = 0xfd;
	ip[37] = 1;
	ip[39] = daddr_last;
	put_be16(ip + 40, sport);
	put_be16(ip + 42, dport);
	return IP6_FRAME_LEN;
}

/* Swaps a frame's MAC addresses (the other direction of the flow). */
static void swap_macs(uint8_t *fr)
{
	uint8_t t[6];

	memcpy(t, fr, 6);
	memcpy(fr, fr + 6, 6);
	memcpy(fr + 6, t, 6);
}

/* Inserts a tag (TPID, VID) after the MAC addresses; returns the new length. */
static size_t add_tag(uint8_t *fr, size_t len, uint16_t tpid, uint16_t vid)
{
	memmove(fr + 16, fr + 12, len - 12);
	put_be16(fr + 12, tpid);
	put_be16(fr + 14, vid);
	return len + 4;
}

/* A vnet header (5.1.6); hdr_len left 0. */
static void vhdr(uint8_t *h, uint8_t flags, uint8_t gso, uint16_t gso_size, uint16_t csum_start,
		 uint16_t csum_offset)
{
	memset(h, 0, HDR);
	h[0] = flags;
	h[1] = gso;
	wr16(h, 4, gso_size);
	wr16(h, 6, csum_start);
	wr16(h, 8, csum_offset);
}

static struct vnet_stats stats(struct fx *f)
{
	struct vnet_stats st;

	vnet_get_stats(f->vn, &st);
	return st;
}

static struct vnet_queue_stats qstats(struct fx *f, uint16_t pair)
{
	struct vnet_queue_stats st;

	assert_int_equal(vnet_get_queue_stats(f->vn, pair, &st), 0);
	return st;
}

/* Sends a control command; returns the ack byte (0xAA if none written). */
static uint8_t ctrl(struct fx *f, uint16_t cq, const uint8_t *cmd, uint32_t len)
{
	struct seg s[2] = { { BUF_GPA + 0x8000, len, false }, { BUF_GPA + 0x9000, 1, true } };
	uint16_t before = used_idx(f, cq);

	memcpy(ram(f, BUF_GPA + 0x8000), cmd, len);
	ram(f, BUF_GPA + 0x9000)[0] = 0xAA;
	add_chain(f, cq, s, 2);
	vdrv_kick(&f->drv, cq);
	assert_int_equal(used_idx(f, cq), (uint16_t)(before + 1));
	return ram(f, BUF_GPA + 0x9000)[0];
}

/* VQ_PAIRS_SET n on the MQ control queue; the ack. */
static uint8_t set_pairs(struct fx *f, uint16_t n)
{
	uint8_t cmd[4] = { CTRL_MQ, CTRL_MQ_VQ_PAIRS_SET };

	wr16(cmd, 2, n);
	return ctrl(f, CQ_MQ, cmd, sizeof(cmd));
}

/* ---- tests ---- */

static void test_ids_features(void **state)
{
	struct fx *f = fx_new();
	uint64_t df;

	(void)state;
	assert_int_equal(vdrv_cfg_rd(&f->drv, 0x00, 2), 0x1AF4);
	assert_int_equal(vdrv_cfg_rd(&f->drv, 0x02, 2), 0x1041);
	df = vdrv_dev_features(&f->drv);
	assert_int_equal(df & F_ALL, F_ALL);
	/* The fake netdev takes no vnet header: no offloads offered. */
	assert_int_equal(df & (F_CSUM | F_GUEST_CSUM | F_HOST_TSO4), 0);
	/* A driver that takes less is fine. */
	assert_true(vdrv_negotiate(&f->drv, F_V1 | F_MAC));
	fx_free(f);
}

static void test_vnet_backend(void **state)
{
	struct fx *f = fx_new_opts(true);
	uint8_t fr[64], h[HDR];

	(void)state;
	/* Offloads offered once the backend took a vnet header. */
	assert_int_equal(vdrv_dev_features(&f->drv) & (F_CSUM | F_GUEST_CSUM | F_HOST_TSO4),
			 F_CSUM | F_GUEST_CSUM | F_HOST_TSO4);
	assert_int_equal(f->nd->vnet_hdr_len, HDR);
	bring_up(f, F_BASE | F_CSUM | F_GUEST_CSUM, 3);
	/* TX: the header goes to the backend with the frame. */
	make_frame(fr, sizeof(fr), mac);
	vhdr(h, H_NEEDS_CSUM, GSO_NONE, 0, 34, 6);
	assert_int_equal(tx_one(f, 1, h, fr, 64), 1);
	assert_int_equal(f->fnd->len, HDR + 64);
	assert_int_equal(f->fnd->frame[0], 1);
	assert_memory_equal(f->fnd->frame + HDR, fr, 64);
	/* RX: the backend's header reaches the guest, num_buffers set. */
	vhdr(h, H_DATA_VALID, GSO_NONE, 0, 0, 0);
	post_rx(f, 0, BUF_GPA + 0x1000, 0, 2048, 1);
	assert_int_equal(deliver_on(f, 0, h, fr, 64), HDR + 64);
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
	assert_false(vdrv_negotiate(&f->drv, F_BASE | F_CSUM));
	vdrv_reset(&f->drv);
	/* CTRL_RX without CTRL_VQ: the device refuses. */
	assert_false(vdrv_negotiate(&f->drv, F_BASE | F_CTRL_RX));
	vdrv_reset(&f->drv);
	assert_true(vdrv_negotiate(&f->drv, F_ALL));
	fx_free(f);
}

static void test_config_space(void **state)
{
	struct fx *f = fx_new();
	uint32_t d;

	(void)state;
	d = f->drv.cap_off[T_DEVICE];
	for (int i = 0; i < 6; i++)
		assert_int_equal(vdrv_bar_rd(&f->drv, d + (uint32_t)i, 1), mac[i]);
	assert_int_equal(vdrv_bar_rd(&f->drv, d + 6, 2), 1); /* LINK_UP */
	assert_int_equal(vdrv_bar_rd(&f->drv, d + 8, 2), PAIRS);
	assert_int_equal(vdrv_bar_rd(&f->drv, d + 10, 2), 9000);
	netdev_set_link(f->nd, false);
	assert_int_equal(vdrv_bar_rd(&f->drv, d + 6, 2), 0);
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
	memset(ram(f, BUF_GPA), 0, HDR); /* no offload asked */
	memcpy(ram(f, BUF_GPA + 0x1000), fr, 40);
	memcpy(ram(f, BUF_GPA + 0x2000), fr + 40, 60);
	add_chain(f, 1, s, 3);
	vdrv_kick(&f->drv, 1);
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
	vdrv_kick(&f->drv, 1);
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
	post_rx(f, 0, BUF_GPA, 0x1000, 128, 4);
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
	vdrv_kick(&f->drv, 0);
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

	(void)state;
	bring_up(f, F_BASE | F_EVT, 3);
	make_frame(fr, sizeof(fr), mac);
	/*
	 * used_event = 2. The first decision after setup notifies (the core's
	 * safe start); the second frame (used 1 -> 2) does not cross it; the
	 * third (2 -> 3) does.
	 */
	wr16(avail, 4 + 2 * QSZ, 2);
	post_rx(f, 0, BUF_GPA, 0x1000, 2048, 3);
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
		struct seg t = { TXBUF_GPA(1), HDR + 64, false };

		memset(ram(f, t.gpa), 0, HDR);
		memcpy(ram(f, t.gpa + HDR), fr, 64);
		add_chain(f, 1, &t, 1);
		add_chain(f, 1, &t, 1);
		vdrv_kick(&f->drv, 1);
		assert_int_equal(f->fnd->nframes, 2);
		assert_int_equal(rd16(ram(f, RING_GPA(1) + 0x2000), 4 + 8 * QSZ), 2);
	}
	fx_free(f);
}

/*
 * MRG_RXBUF with EVENT_IDX, a jumbo-like frame that needs more buffers than
 * are available: avail_event must name the first buffer the driver has yet
 * to add (the ones there are already available), so that adding it rings.
 */
static void test_event_idx_mrg_short(void **state)
{
	struct fx *f = fx_new();
	uint8_t fr[300];
	uint16_t *ev;
	unsigned int resumes;

	(void)state;
	bring_up(f, F_BASE | F_MRG | F_EVT, 3);
	ev = (uint16_t *)ram(f, RING_GPA(0) + 0x2000 + 4 + 8 * QSZ);
	make_frame(fr, sizeof(fr), mac);
	/* 312 bytes over 128-byte buffers need 3; 2 are there. */
	post_rx(f, 0, BUF_GPA, 0x1000, 128, 2);
	assert_int_equal(deliver(f, fr, sizeof(fr)), 0);
	assert_int_equal(used_idx(f, 0), 0);
	assert_int_equal(rd16((uint8_t *)ev, 0), 2);
	/* A third buffer: avail idx 2 -> 3 crosses avail_event, the driver rings. */
	resumes = f->fnd->resumes;
	assert_true(vring_need_event(rd16((uint8_t *)ev, 0), 3, 2));
	post_rx(f, 0, BUF_GPA + 0x2000, 0x1000, 128, 1);
	vdrv_kick(&f->drv, 0);
	assert_int_equal(f->fnd->resumes, resumes + 1);
	assert_int_equal(deliver(f, fr, sizeof(fr)), sizeof(fr));
	assert_int_equal(used_idx(f, 0), 3);
	assert_int_equal(rd16(ram(f, BUF_GPA), 10), 3);
	fx_free(f);
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
	/* Back to one pair: the single backend's frames all go to receiveq 0. */
	assert_int_equal(ctrl(f, cq, (const uint8_t[]){ 4, 0, 1, 0 }, 4), 0);
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
		vdrv_kick(&f->drv, cq);
		used_elem(f, cq, (uint16_t)(used_idx(f, cq) - 1), &id, &len);
		assert_int_equal(len, 0);
	}
	assert_false(vdrv_status(&f->drv) & S_NEEDS_RESET);
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
	vdrv_kick(&f->drv, 1);
	assert_true(vdrv_status(&f->drv) & S_NEEDS_RESET);
	assert_int_equal(f->fnd->nframes, 0);
	assert_true(stats(f).guest_errors >= 1);
	/* The datapath stopped: RX is refused, no crash. */
	make_frame(fr, sizeof(fr), mac);
	assert_true(deliver(f, fr, sizeof(fr)) < 0);
	vdrv_kick(&f->drv, 1);
	/* A reset brings it back. */
	vdrv_reset(&f->drv);
	bring_up(f, F_BASE, 3);
	s.len = HDR + 64;
	memcpy(ram(f, BUF_GPA + HDR), fr, 64);
	add_chain(f, 1, &s, 1);
	vdrv_kick(&f->drv, 1);
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
	assert_true(vdrv_status(&f->drv) & S_NEEDS_RESET);
	vdrv_reset(&f->drv);
	/* A head index beyond the queue size. */
	bring_up(f, F_BASE, 3);
	wr16(avail, 4, QSZ + 3);
	wr16(avail, 2, 1);
	assert_true(deliver(f, fr, sizeof(fr)) < 0);
	assert_true(vdrv_status(&f->drv) & S_NEEDS_RESET);
	fx_free(f);
}

/* ---- multiqueue: steering, queue enabling ---- */

/* Pair i's receiveq and transmitq (5.1.2). */
static uint16_t rxq(uint16_t pair)
{
	return (uint16_t)(2 * pair);
}

static uint16_t txq(uint16_t pair)
{
	return (uint16_t)(2 * pair + 1);
}

/* A UDP flow from port `sport` whose hash picks pair `want` of `pairs`. */
static uint16_t sport_for(uint16_t pairs, uint16_t want)
{
	uint8_t fr[IP4_FRAME_LEN];

	for (uint16_t sport = 1000; sport < 2000; sport++) {
		udp4_frame(fr, 0x0a000001, 0x0a000002, sport, 53);
		if (vnet_flow_hash(fr, sizeof(fr)) % pairs == want)
			return sport;
	}
	fail_msg("no flow for pair %u of %u", want, pairs);
	return 0;
}

static void test_mq_steer_per_pair(void **state)
{
	struct fx *f = fx_new_mq(false);
	uint8_t fr[IP4_FRAME_LEN];
	uint16_t sport;

	(void)state;
	bring_up(f, F_ALL, 2 * PAIRS + 1);
	assert_int_equal(set_pairs(f, PAIRS), ACK_OK);
	for (uint16_t i = 0; i < PAIRS; i++)
		post_rx(f, rxq(i), RXBUF_GPA(rxq(i)), 256, 256, 1);
	/* Every pair active: netdev i's frame goes to receiveq 2i, not to its hash's. */
	for (uint16_t i = 0; i < PAIRS; i++) {
		udp4_frame(fr, 0x0a000001, 0x0a000002, sport_for(PAIRS, (i + 1) % PAIRS), 53);
		assert_int_equal(deliver_on(f, i, NULL, fr, sizeof(fr)), sizeof(fr));
		for (uint16_t j = 0; j < PAIRS; j++) {
			assert_int_equal(used_idx(f, rxq(j)), j <= i ? 1 : 0);
			assert_int_equal(qstats(f, j).rx_frames, j <= i ? 1 : 0);
		}
		assert_memory_equal(ram(f, RXBUF_GPA(rxq(i)) + HDR), fr, sizeof(fr));
	}
	/* A held frame: pair 0 active, its own queue empty: the backend keeps it. */
	assert_int_equal(deliver_on(f, 0, NULL, fr, sizeof(fr)), 0);
	/* A receiveq's doorbell wakes its own pair's netdev, no other. */
	{
		unsigned int resumes[PAIRS];

		for (uint16_t i = 0; i < PAIRS; i++)
			resumes[i] = f->fnds[i]->resumes;
		vdrv_kick(&f->drv, rxq(2));
		for (uint16_t i = 0; i < PAIRS; i++)
			assert_int_equal(f->fnds[i]->resumes, resumes[i] + (i == 2));
	}

	/* Two pairs: netdev 3's frames (a queue that should have left) go by hash. */
	assert_int_equal(set_pairs(f, 2), ACK_OK);
	post_rx(f, rxq(3), RXBUF_GPA(rxq(3)) + 0x1000, 256, 256, 1);
	for (uint16_t want = 0; want < 2; want++) {
		sport = sport_for(2, want);
		udp4_frame(fr, 0x0a000001, 0x0a000002, sport, 53);
		post_rx(f, rxq(want), RXBUF_GPA(rxq(want)) + 0x1000, 256, 256, 1);
		assert_int_equal(deliver_on(f, 3, NULL, fr, sizeof(fr)), sizeof(fr));
		assert_int_equal(used_idx(f, rxq(want)), 2);
		assert_int_equal(qstats(f, want).rx_frames, 2);
		assert_memory_equal(ram(f, RXBUF_GPA(rxq(want)) + 0x1000 + HDR), fr, sizeof(fr));
	}
	assert_int_equal(used_idx(f, rxq(3)), 1);
	assert_int_equal(qstats(f, 3).rx_frames, 1);
	/*
	 * The target queue has no buffer now: dropped, not held (netdev 3's
	 * queue is not woken by pair 1's doorbells). Its own buffer stays.
	 */
	{
		uint64_t dropped = stats(f).rx_dropped;

		assert_true(deliver_on(f, 3, NULL, fr, sizeof(fr)) < 0);
		assert_int_equal(stats(f).rx_dropped, dropped + 1);
		assert_int_equal(used_idx(f, rxq(1)), 2);
		assert_int_equal(used_idx(f, rxq(3)), 1);
	}
	assert_false(vdrv_status(&f->drv) & S_NEEDS_RESET);
	fx_free(f);
}

static void assert_enabled(struct fx *f, uint16_t active)
{
	for (uint16_t i = 0; i < f->nr_nds; i++)
		assert_int_equal(f->fnds[i]->enabled, i < active);
	assert_int_equal(vnet_active_pairs(f->vn), active);
}

static void test_mq_queue_enabled(void **state)
{
	struct fx *f = fx_new_mq(false);
	unsigned int resumes[PAIRS], calls[PAIRS];
	uint8_t fr[64];

	(void)state;
	assert_int_equal(vnet_max_pairs(f->vn), PAIRS);
	assert_int_equal(vnet_active_pairs(f->vn), 1);
	bring_up(f, F_ALL, 2 * PAIRS + 1);
	/* DRIVER_OK: one pair until the driver asks for more; the others detached. */
	assert_enabled(f, 1);
	for (uint16_t i = 1; i < PAIRS; i++) {
		assert_true(f->fnds[i]->qe_calls >= 1);
		resumes[i] = f->fnds[i]->resumes;
	}
	assert_int_equal(set_pairs(f, PAIRS), ACK_OK);
	assert_enabled(f, PAIRS);
	/* Queues that joined are read again. */
	for (uint16_t i = 1; i < PAIRS; i++)
		assert_true(f->fnds[i]->resumes > resumes[i]);
	/* Refused counts change nothing. */
	for (uint16_t i = 0; i < PAIRS; i++)
		calls[i] = f->fnds[i]->qe_calls;
	assert_int_equal(set_pairs(f, 0), ACK_ERR);
	assert_int_equal(set_pairs(f, PAIRS + 1), ACK_ERR);
	assert_enabled(f, PAIRS);
	for (uint16_t i = 0; i < PAIRS; i++)
		assert_int_equal(f->fnds[i]->qe_calls, calls[i]);
	assert_int_equal(set_pairs(f, 1), ACK_OK);
	assert_enabled(f, 1);
	/* A queue that left still sends (a transmitq the driver drains). */
	make_frame(fr, sizeof(fr), mac);
	assert_int_equal(tx_one(f, txq(3), NULL, fr, sizeof(fr)), 1);
	assert_int_equal(f->fnds[0]->nframes, 0);
	assert_int_equal(set_pairs(f, PAIRS + 1), ACK_ERR);
	assert_enabled(f, 1);
	assert_int_equal(set_pairs(f, 2), ACK_OK);
	assert_enabled(f, 2);
	assert_int_equal(set_pairs(f, 3), ACK_OK);
	assert_enabled(f, 3);
	fx_free(f);
}

#define FLOWS 64

static void test_mq_steer_single_netdev(void **state)
{
	const struct fx_opts o = { .qsz = 2 * FLOWS };
	struct fx *f = fx_create(&o);
	uint8_t fr[IP4_FRAME_LEN];
	int queue_of[FLOWS], seen[FLOWS] = { 0 };
	uint16_t used[PAIRS];
	unsigned int queues_used = 0, total = 0;

	(void)state;
	bring_up(f, F_ALL, 2 * PAIRS + 1);
	assert_int_equal(set_pairs(f, PAIRS), ACK_OK);
	/* Room for every frame in every queue: where a frame goes is the device's choice. */
	for (uint16_t i = 0; i < PAIRS; i++)
		post_rx(f, rxq(i), RXBUF_GPA(rxq(i)), 256, 256, 2 * FLOWS);
	/* Two rounds of the same 64 flows (one source port each). */
	for (int round = 0; round < 2; round++) {
		for (uint16_t k = 0; k < FLOWS; k++) {
			udp4_frame(fr, 0x0a000001, 0x0a000002, (uint16_t)(20000 + k), 53);
			fr[IP4_FRAME_LEN - 1] = (uint8_t)round;
			assert_int_equal(deliver(f, fr, sizeof(fr)), sizeof(fr));
		}
	}
	for (uint16_t i = 0; i < PAIRS; i++) {
		used[i] = used_idx(f, rxq(i));
		assert_int_equal(qstats(f, i).rx_frames, used[i]);
		queues_used += used[i] != 0;
		total += used[i];
		for (uint16_t pos = 0; pos < used[i]; pos++) {
			uint32_t id, len;
			uint8_t *b;
			uint16_t k;

			used_elem(f, rxq(i), pos, &id, &len);
			assert_int_equal(len, HDR + IP4_FRAME_LEN);
			b = ram(f, RXBUF_GPA(rxq(i)) + 256u * id) + HDR;
			k = (uint16_t)(rd16((const uint8_t[]){ b[35], b[34] }, 0) - 20000);
			assert_true(k < FLOWS);
			/* The frames of one flow stay in one queue, the hash's. */
			if (seen[k] == 0)
				queue_of[k] = i;
			assert_int_equal(queue_of[k], i);
			assert_int_equal(b[IP4_FRAME_LEN - 1], seen[k]);
			seen[k]++;
			assert_int_equal(vnet_flow_hash(b, IP4_FRAME_LEN) % PAIRS, i);
		}
	}
	/* Every frame delivered exactly once, over more than one queue. */
	assert_int_equal(total, 2 * FLOWS);
	for (uint16_t k = 0; k < FLOWS; k++)
		assert_int_equal(seen[k], 2);
	assert_true(queues_used > 1);
	fx_free(f);
}

/*
 * Frames whose ports sit past the first 64 bytes (QinQ-tagged IPv6, IPv4
 * with options) are steered by their whole flow hash, ports included.
 */
static void test_mq_steer_deep_headers(void **state)
{
	struct fx *f = fx_new();
	uint8_t fr[128];
	uint16_t used[PAIRS] = { 0 };

	(void)state;
	bring_up(f, F_ALL, 2 * PAIRS + 1);
	assert_int_equal(set_pairs(f, PAIRS), ACK_OK);
	for (uint16_t i = 0; i < PAIRS; i++)
		post_rx(f, rxq(i), RXBUF_GPA(rxq(i)), 256, 256, QSZ);
	for (int kind = 0; kind < 2; kind++) {
		for (uint16_t k = 0; k < 8; k++) {
			uint16_t sport = (uint16_t)(40000 + 7 * k), want;
			size_t len;

			if (kind == 0) {
				/* 802.1ad + 802.1Q + IPv6 + UDP: ports at 62. */
				len = udp6_frame(fr, 1, 2, sport, 53);
				len = add_tag(fr, len, 0x8100, 10);
				len = add_tag(fr, len, 0x88a8, 20);
			} else {
				/* IPv4 with 40 bytes of options + UDP: ports at 74. */
				uint8_t *ip = fr + 14;

				udp4_frame(fr, 0x0a000001, 0x0a000002, 0, 0);
				memset(ip + 20, 1, 40); /* NOPs */
				ip[0] = 0x4f;
				put_be16(ip + 2, 60 + 8 + 8);
				put_be16(ip + 60, sport);
				put_be16(ip + 62, 53);
				len = 14 + 60 + 16;
			}
			want = (uint16_t)(vnet_flow_hash(fr, len) % PAIRS);
			assert_int_equal(deliver(f, fr, len), len);
			used[want]++;
			for (uint16_t i = 0; i < PAIRS; i++)
				assert_int_equal(used_idx(f, rxq(i)), used[i]);
		}
	}
	fx_free(f);
}

/*
 * One backend for every pair holds a frame steered to a pair whose queue is
 * empty; the driver then shrinks to one pair and never rings that queue
 * again. The backend must be told to read again (the frame goes to pair 0
 * now), or receiving stops for good.
 */
static void test_mq_single_netdev_shrink_resumes(void **state)
{
	struct fx *f = fx_new();
	uint8_t fr[IP4_FRAME_LEN];
	unsigned int resumes;

	(void)state;
	bring_up(f, F_ALL, 2 * PAIRS + 1);
	assert_int_equal(set_pairs(f, PAIRS), ACK_OK);
	post_rx(f, rxq(0), RXBUF_GPA(rxq(0)), 256, 256, 4);
	udp4_frame(fr, 0x0a000001, 0x0a000002, sport_for(PAIRS, PAIRS - 1), 53);
	/* Pair 3's queue is empty: held. */
	assert_int_equal(deliver(f, fr, sizeof(fr)), 0);
	assert_int_equal(qstats(f, PAIRS - 1).rx_no_buffer, 1);
	resumes = f->fnd->resumes;
	assert_int_equal(set_pairs(f, 1), ACK_OK);
	assert_true(f->fnd->resumes > resumes);
	/* What the backend does when told: the frame again, to pair 0 now. */
	assert_int_equal(deliver(f, fr, sizeof(fr)), sizeof(fr));
	assert_int_equal(used_idx(f, rxq(0)), 1);
	fx_free(f);
}

/* ---- the flow hash ---- */

static uint32_t hash(const uint8_t *fr, size_t len)
{
	return vnet_flow_hash(fr, len);
}

/* Hashes every prefix of a frame from an exact-size copy: no read beyond len. */
static void hash_prefixes(const uint8_t *fr, size_t full)
{
	for (size_t len = 0; len <= full; len++) {
		uint8_t *copy = malloc(len ? len : 1);

		assert_non_null(copy);
		memcpy(copy, fr, len);
		/* A value, the same every time (nothing uninitialised read). */
		assert_int_equal(vnet_flow_hash(copy, len), vnet_flow_hash(copy, len));
		free(copy);
	}
}

static void test_flow_hash(void **state)
{
	uint8_t a[IP6_FRAME_LEN + 8], b[IP6_FRAME_LEN + 8];
	uint32_t h[FLOWS];
	unsigned int distinct = 0;
	size_t len, tlen;

	(void)state;
	/* Symmetric: the reply (addresses, ports and MACs swapped) hashes alike. */
	udp4_frame(a, 0x0a000001, 0xc0a80102, 1234, 80);
	udp4_frame(b, 0xc0a80102, 0x0a000001, 80, 1234);
	swap_macs(b);
	assert_int_equal(hash(a, IP4_FRAME_LEN), hash(b, IP4_FRAME_LEN));
	/* Ports count: most of 64 flows that differ only by source port differ. */
	for (unsigned int k = 0; k < FLOWS; k++) {
		udp4_frame(a, 0x0a000001, 0x0a000002, (uint16_t)(30000 + k), 53);
		h[k] = hash(a, IP4_FRAME_LEN);
		distinct++;
		for (unsigned int j = 0; j < k; j++) {
			if (h[j] == h[k]) {
				distinct--;
				break;
			}
		}
	}
	assert_true(distinct >= FLOWS - 2);
	/* TCP too; and the protocol's ports, not the payload after them. */
	ip4_frame(a, 6, 0x0a000001, 0x0a000002, 5000, 22, 0);
	ip4_frame(b, 6, 0x0a000001, 0x0a000002, 5001, 22, 0);
	assert_int_not_equal(hash(a, IP4_FRAME_LEN), hash(b, IP4_FRAME_LEN));
	b[14 + 20 + 1] = 0x88; /* port 5000 again */
	b[14 + 20 + 0] = 0x13;
	b[50] ^= 0xff;
	assert_int_equal(hash(a, IP4_FRAME_LEN), hash(b, IP4_FRAME_LEN));

	/* Fragments (MF set, or an offset): the "ports" are payload and ignored. */
	ip4_frame(a, 17, 0x0a000001, 0x0a000002, 1111, 53, 0x2000);
	ip4_frame(b, 17, 0x0a000001, 0x0a000002, 2222, 99, 0x2000);
	assert_int_equal(hash(a, IP4_FRAME_LEN), hash(b, IP4_FRAME_LEN));
	ip4_frame(b, 17, 0x0a000001, 0x0a000002, 3333, 7, 0x00b9); /* offset 185, last */
	assert_int_equal(hash(a, IP4_FRAME_LEN), hash(b, IP4_FRAME_LEN));
	ip4_frame(b, 17, 0x0a000001, 0x0a000002, 3333, 7, 0x20b9); /* middle */
	assert_int_equal(hash(a, IP4_FRAME_LEN), hash(b, IP4_FRAME_LEN));
	/* ... while the same two unfragmented do differ. */
	ip4_frame(a, 17, 0x0a000001, 0x0a000002, 1111, 53, 0);
	ip4_frame(b, 17, 0x0a000001, 0x0a000002, 2222, 99, 0);
	assert_int_not_equal(hash(a, IP4_FRAME_LEN), hash(b, IP4_FRAME_LEN));
	/* DF (0x4000) is not a fragment: ports still count. */
	ip4_frame(b, 17, 0x0a000001, 0x0a000002, 1111, 53, 0x4000);
	assert_int_equal(hash(a, IP4_FRAME_LEN), hash(b, IP4_FRAME_LEN));

	/* 802.1Q and QinQ (802.1ad outer, 802.1Q inner): tags skipped. */
	udp4_frame(a, 0x0a000001, 0x0a000002, 1234, 80);
	memcpy(b, a, IP4_FRAME_LEN);
	tlen = add_tag(b, IP4_FRAME_LEN, 0x8100, 100);
	assert_int_equal(tlen, IP4_FRAME_LEN + 4);
	assert_int_equal(hash(a, IP4_FRAME_LEN), hash(b, tlen));
	tlen = add_tag(b, tlen, 0x88a8, 200);
	assert_int_equal(hash(a, IP4_FRAME_LEN), hash(b, tlen));
	hash_prefixes(b, tlen);
	/* A tagged flow's ports still count. */
	udp4_frame(a, 0x0a000001, 0x0a000002, 1235, 80);
	tlen = add_tag(a, IP4_FRAME_LEN, 0x8100, 100);
	assert_int_not_equal(hash(a, tlen), hash(b, IP4_FRAME_LEN + 8));

	/* IPv6 with UDP: symmetric, ports count. */
	len = udp6_frame(a, 1, 2, 5353, 443);
	udp6_frame(b, 2, 1, 443, 5353);
	assert_int_equal(hash(a, len), hash(b, len));
	udp6_frame(b, 1, 2, 5354, 443);
	assert_int_not_equal(hash(a, len), hash(b, len));
	udp6_frame(b, 1, 3, 5353, 443);
	assert_int_not_equal(hash(a, len), hash(b, len));
	hash_prefixes(a, len);

	/* Not IP (ARP): by the MAC pair, symmetric. */
	make_frame(a, 60, mac);
	a[12] = 0x08;
	a[13] = 0x06;
	memcpy(b, a, 60);
	swap_macs(b);
	assert_int_equal(hash(a, 60), hash(b, 60));
	b[5] ^= 1; /* another MAC */
	assert_int_not_equal(hash(a, 60), hash(b, 60));
	/* The MAC hash ignores what follows the EtherType. */
	memcpy(b, a, 60);
	b[30] ^= 0xff;
	assert_int_equal(hash(a, 60), hash(b, 60));

	/* Truncated frames: every length 0 .. 60 of a valid frame. */
	udp4_frame(a, 0x0a000001, 0x0a000002, 1234, 80);
	hash_prefixes(a, 60);
	/* An IPv4 header with options that would reach past the frame. */
	a[14] = 0x4f;
	hash_prefixes(a, 60);
	assert_int_equal(vnet_flow_hash(NULL, 0), vnet_flow_hash(NULL, 0));
}

/* ---- offload headers ---- */

/* Sends a header plus frame on transmitq 1; checks what happened to it. */
static void tx_expect(struct fx *f, const uint8_t *hdr, const uint8_t *fr, uint32_t len, bool sent)
{
	struct vnet_stats before = stats(f), after;

	assert_int_equal(tx_one(f, 1, hdr, fr, len), sent ? 1 : 0);
	after = stats(f);
	assert_int_equal(after.guest_errors, before.guest_errors + !sent);
	assert_int_equal(after.tx_dropped, before.tx_dropped + !sent);
	assert_int_equal(after.tx_frames, before.tx_frames + sent);
	if (sent) {
		/* With the header intact: the backend completes the offload. */
		assert_int_equal(f->fnd->len, HDR + len);
		assert_memory_equal(f->fnd->frame, hdr, HDR);
		assert_memory_equal(f->fnd->frame + HDR, fr, len);
	}
	assert_false(vdrv_status(&f->drv) & S_NEEDS_RESET);
}

static void test_tx_offload_hdr(void **state)
{
	struct fx *f = fx_new_opts(true);
	uint8_t fr[IP4_FRAME_LEN], h[HDR];

	(void)state;
	ip4_frame(fr, 6, 0x0a000001, 0x0a000002, 5000, 22, 0);
	/* No CSUM negotiated: a checksum request is a guest error. */
	bring_up(f, F_BASE, 3);
	vhdr(h, 0, GSO_NONE, 0, 0, 0);
	tx_expect(f, h, fr, sizeof(fr), true);
	vhdr(h, H_NEEDS_CSUM, GSO_NONE, 0, 34, 16);
	tx_expect(f, h, fr, sizeof(fr), false);
	vdrv_reset(&f->drv);

	/* CSUM: checksum requests inside the frame pass. */
	bring_up(f, F_BASE | F_CSUM, 3);
	tx_expect(f, h, fr, sizeof(fr), true);
	/* The checksum field's last byte is the frame's last byte: fine; one more: not. */
	vhdr(h, H_NEEDS_CSUM, GSO_NONE, 0, 34, IP4_FRAME_LEN - 34 - 2);
	tx_expect(f, h, fr, sizeof(fr), true);
	vhdr(h, H_NEEDS_CSUM, GSO_NONE, 0, 34, IP4_FRAME_LEN - 34 - 1);
	tx_expect(f, h, fr, sizeof(fr), false);
	vhdr(h, H_NEEDS_CSUM, GSO_NONE, 0, 0xffff, 0xffff);
	tx_expect(f, h, fr, sizeof(fr), false);
	/* TSO not negotiated. */
	vhdr(h, H_NEEDS_CSUM, GSO_TCPV4, 1448, 34, 16);
	tx_expect(f, h, fr, sizeof(fr), false);
	/* DATA_VALID is for the receive side only (5.1.6.2). */
	vhdr(h, H_DATA_VALID, GSO_NONE, 0, 0, 0);
	tx_expect(f, h, fr, sizeof(fr), false);
	/* Flag bits the spec does not define for the driver. */
	vhdr(h, 0x04, GSO_NONE, 0, 0, 0);
	tx_expect(f, h, fr, sizeof(fr), false);
	vhdr(h, H_NEEDS_CSUM | 0x80, GSO_NONE, 0, 34, 16);
	tx_expect(f, h, fr, sizeof(fr), false);
	vdrv_reset(&f->drv);

	/* HOST_TSO4 (with CSUM). */
	bring_up(f, F_BASE | F_CSUM | F_HOST_TSO4, 3);
	vhdr(h, H_NEEDS_CSUM, GSO_TCPV4, 1448, 34, 16);
	tx_expect(f, h, fr, sizeof(fr), true);
	/* TCPv6 needs HOST_TSO6; UDP (UFO) and ECN are never offered. */
	vhdr(h, H_NEEDS_CSUM, GSO_TCPV6, 1448, 54, 16);
	tx_expect(f, h, fr, sizeof(fr), false);
	vhdr(h, H_NEEDS_CSUM, GSO_UDP, 1448, 34, 6);
	tx_expect(f, h, fr, sizeof(fr), false);
	vhdr(h, H_NEEDS_CSUM, GSO_TCPV4 | GSO_ECN, 1448, 34, 16);
	tx_expect(f, h, fr, sizeof(fr), false);
	vhdr(h, H_NEEDS_CSUM, 2, 1448, 34, 16); /* an undefined gso_type */
	tx_expect(f, h, fr, sizeof(fr), false);
	assert_int_equal(stats(f).tx_frames, 4);
	fx_free(f);
}

/* The backend delivers a header plus frame; checks whether the guest got it. */
static void rx_expect(struct fx *f, const uint8_t *hdr, const uint8_t *fr, size_t len,
		      bool delivered)
{
	uint64_t gpa = RXBUF_GPA(0);
	uint16_t used;
	uint64_t dropped = stats(f).rx_dropped;
	ssize_t ret;

	/* One buffer available. */
	if (f->dq[0].avail_idx == used_idx(f, 0))
		post_rx(f, 0, gpa, 0, 2048, 1);
	used = used_idx(f, 0);
	memset(ram(f, gpa), 0xee, 2048);
	ret = deliver_on(f, 0, hdr, fr, len);
	if (!delivered) {
		assert_true(ret < 0);
		assert_int_equal(used_idx(f, 0), used);
		assert_int_equal(stats(f).rx_dropped, dropped + 1);
		return;
	}
	assert_int_equal(ret, (ssize_t)(HDR + len));
	assert_int_equal(used_idx(f, 0), (uint16_t)(used + 1));
	/* The backend's header as it was, num_buffers set. */
	assert_memory_equal(ram(f, gpa), hdr, 10);
	assert_int_equal(rd16(ram(f, gpa), 10), 1);
	assert_memory_equal(ram(f, gpa + HDR), fr, len);
}

static void test_rx_offload_hdr(void **state)
{
	struct fx *f = fx_new_opts(true);
	uint8_t fr[IP4_FRAME_LEN], h[HDR];

	(void)state;
	ip4_frame(fr, 6, 0x0a000001, 0x0a000002, 22, 5000, 0);
	/* GUEST_CSUM only: no TSO frames. */
	bring_up(f, F_BASE | F_GUEST_CSUM, 3);
	vhdr(h, H_NEEDS_CSUM, GSO_TCPV4, 1448, 34, 16);
	rx_expect(f, h, fr, sizeof(fr), false);
	vhdr(h, H_NEEDS_CSUM, GSO_NONE, 0, 34, 16);
	rx_expect(f, h, fr, sizeof(fr), true);
	vhdr(h, H_DATA_VALID, GSO_NONE, 0, 0, 0);
	rx_expect(f, h, fr, sizeof(fr), true);
	vdrv_reset(&f->drv);

	/* GUEST_CSUM + GUEST_TSO4: delivered with the header. */
	bring_up(f, F_BASE | F_GUEST_CSUM | F_GUEST_TSO4, 3);
	vhdr(h, H_NEEDS_CSUM, GSO_TCPV4, 1448, 34, 16);
	rx_expect(f, h, fr, sizeof(fr), true);
	vhdr(h, H_NEEDS_CSUM, GSO_TCPV6, 1448, 54, 16); /* not TSO6 */
	rx_expect(f, h, fr, sizeof(fr), false);
	vdrv_reset(&f->drv);

	/* No GUEST_CSUM: neither NEEDS_CSUM nor DATA_VALID. */
	bring_up(f, F_BASE, 3);
	vhdr(h, H_NEEDS_CSUM, GSO_NONE, 0, 34, 16);
	rx_expect(f, h, fr, sizeof(fr), false);
	vhdr(h, H_DATA_VALID, GSO_NONE, 0, 0, 0);
	rx_expect(f, h, fr, sizeof(fr), false);
	vhdr(h, 0, GSO_NONE, 0, 0, 0);
	rx_expect(f, h, fr, sizeof(fr), true);
	assert_false(vdrv_status(&f->drv) & S_NEEDS_RESET);
	fx_free(f);
}

/* Every backend: a 12-byte header with `offloads`, told once more than `calls[i]` times. */
static void assert_backend_offloads(struct fx *f, unsigned int offloads, unsigned int calls[])
{
	for (uint16_t i = 0; i < f->nr_nds; i++) {
		assert_true(f->fnds[i]->vh_calls > calls[i]);
		assert_int_equal(f->fnds[i]->vh_len, HDR);
		assert_int_equal(f->fnds[i]->vh_offloads, offloads);
		assert_int_equal(f->nds[i]->offloads, offloads);
		calls[i] = f->fnds[i]->vh_calls;
	}
}

static void test_backend_offloads(void **state)
{
	struct fx *f = fx_new_mq(true);
	const uint64_t guest_all = F_GUEST_CSUM | F_GUEST_TSO4 | F_GUEST_TSO6;
	unsigned int calls[PAIRS];

	(void)state;
	/* Before any driver: a header, no offloads handed over. */
	memset(calls, 0, sizeof(calls));
	assert_backend_offloads(f, 0, calls);
	bring_up(f, F_ALL | guest_all, 2 * PAIRS + 1);
	assert_backend_offloads(f, NETDEV_OFF_CSUM | NETDEV_OFF_TSO4 | NETDEV_OFF_TSO6, calls);
	/* Host-side offloads (CSUM, HOST_TSO*) are not what the host may hand over. */
	vdrv_reset(&f->drv);
	bring_up(f, F_BASE | F_CSUM | F_HOST_TSO4 | F_GUEST_CSUM, 3);
	assert_backend_offloads(f, NETDEV_OFF_CSUM, calls);
	vdrv_reset(&f->drv);
	bring_up(f, F_BASE | F_GUEST_CSUM | F_GUEST_TSO6, 3);
	assert_backend_offloads(f, NETDEV_OFF_CSUM | NETDEV_OFF_TSO6, calls);
	vdrv_reset(&f->drv);
	bring_up(f, F_BASE | F_CSUM | F_HOST_TSO4 | F_HOST_TSO6, 3);
	assert_backend_offloads(f, 0, calls);
	vdrv_reset(&f->drv);
	bring_up(f, F_BASE | guest_all, 3);
	assert_backend_offloads(f, NETDEV_OFF_CSUM | NETDEV_OFF_TSO4 | NETDEV_OFF_TSO6, calls);
	fx_free(f);
}

static void test_features_offload_rules(void **state)
{
	struct fx *f = fx_new_opts(true);

	(void)state;
	/* 5.1.3.1: TSO needs the checksum offload of its direction. */
	assert_false(vdrv_negotiate(&f->drv, F_BASE | F_HOST_TSO4));
	vdrv_reset(&f->drv);
	assert_false(vdrv_negotiate(&f->drv, F_BASE | F_HOST_TSO6));
	vdrv_reset(&f->drv);
	/* The other direction. */
	assert_false(vdrv_negotiate(&f->drv, F_BASE | F_GUEST_CSUM | F_HOST_TSO4));
	vdrv_reset(&f->drv);
	assert_false(vdrv_negotiate(&f->drv, F_BASE | F_GUEST_TSO4));
	vdrv_reset(&f->drv);
	assert_false(vdrv_negotiate(&f->drv, F_BASE | F_GUEST_TSO6));
	vdrv_reset(&f->drv);
	assert_false(vdrv_negotiate(&f->drv, F_BASE | F_CSUM | F_GUEST_TSO4));
	vdrv_reset(&f->drv);
	/* MQ needs the control queue. */
	assert_false(vdrv_negotiate(&f->drv, F_BASE | F_MQ));
	vdrv_reset(&f->drv);
	assert_false(vdrv_negotiate(&f->drv, F_BASE | F_CTRL_VLAN));
	vdrv_reset(&f->drv);
	assert_true(vdrv_negotiate(&f->drv, F_BASE | F_MQ | F_CTRL_VQ));
	vdrv_reset(&f->drv);
	assert_true(vdrv_negotiate(&f->drv, F_BASE | F_CSUM | F_HOST_TSO4 | F_HOST_TSO6));
	vdrv_reset(&f->drv);
	assert_true(vdrv_negotiate(&f->drv, F_BASE | F_GUEST_CSUM | F_GUEST_TSO4 | F_GUEST_TSO6));
	vdrv_reset(&f->drv);
	assert_true(vdrv_negotiate(&f->drv, F_ALL | F_CSUM | F_GUEST_CSUM | F_HOST_TSO4 |
						    F_HOST_TSO6 | F_GUEST_TSO4 | F_GUEST_TSO6));
	fx_free(f);
}

/* ---- TX burst budget and re-kick ---- */

/* The driver makes the chain before the one being sent available again (it is used). */
static void readd_prev(struct fx *f, struct fnd *nd)
{
	if (!f->readd || nd->nframes < 2)
		return;
	f->readd--;
	avail_push(f, 1, (uint16_t)((nd->nframes - 2) % f->qsz));
}

/*
 * A full 256-entry transmitq and a driver that keeps adding while the
 * device sends: more than a burst behind one doorbell. Returns the fixture
 * after that doorbell.
 */
static struct fx *tx_over_budget(bool loop, uint64_t features, unsigned int extra)
{
	const struct fx_opts o = { .loop = loop, .qsz = QSZ_MAX };
	struct fx *f = fx_create(&o);
	struct seg s = { TXBUF_GPA(1), HDR + 64, false };

	bring_up(f, features, 3);
	memset(ram(f, s.gpa), 0, HDR);
	make_frame(ram(f, s.gpa + HDR), 64, mac);
	for (unsigned int i = 0; i < QSZ_MAX; i++)
		add_chain(f, 1, &s, 1);
	f->readd = extra;
	f->fnd->on_send = readd_prev;
	vdrv_kick(&f->drv, 1);
	/* One budget's worth; the driver added every extra chain meanwhile. */
	assert_int_equal(f->readd, 0);
	assert_int_equal(f->fnd->nframes, TX_BURST);
	assert_int_equal(used_idx(f, 1), TX_BURST);
	return f;
}

static void test_tx_rekick(void **state)
{
	const unsigned int extra = 10;
	struct fx *f = tx_over_budget(true, F_BASE | F_EVT, extra);

	(void)state;
	/* The rest goes from the loop, not from another doorbell. */
	assert_int_equal(evloop_run_once(f->loop, 0), 1);
	assert_int_equal(f->fnd->nframes, TX_BURST + extra);
	assert_int_equal(used_idx(f, 1), TX_BURST + extra);
	/* Drained: avail_event asks for a doorbell on the next chain. */
	assert_int_equal(rd16(ram(f, RING_GPA(1) + 0x2000), 4 + 8 * QSZ_MAX), TX_BURST + extra);
	/* Nothing left: no more re-kicks. */
	assert_int_equal(evloop_run_once(f->loop, 0), 0);
	assert_int_equal(f->fnd->nframes, TX_BURST + extra);
	assert_int_equal(qstats(f, 0).tx_kicks, 1);
	assert_int_equal(qstats(f, 0).tx_frames, TX_BURST + extra);
	assert_int_equal(stats(f).guest_errors, 0);
	assert_int_equal(stats(f).tx_dropped, 0);
	assert_false(vdrv_status(&f->drv) & S_NEEDS_RESET);
	fx_free(f);
}

/*
 * Exactly one budget's worth of chains: the ring is empty when the budget
 * runs out, and avail_event must still ask for a doorbell on the next
 * chain (else the driver, with EVENT_IDX, never rings again).
 */
static void test_tx_exact_budget(void **state)
{
	struct fx *f = tx_over_budget(true, F_BASE | F_EVT, 0);

	(void)state;
	assert_int_equal(rd16(ram(f, RING_GPA(1) + 0x2000), 4 + 8 * QSZ_MAX), TX_BURST);
	/* Nothing left: no re-kick. */
	assert_int_equal(evloop_run_once(f->loop, 0), 0);
	assert_int_equal(f->fnd->nframes, TX_BURST);
	assert_int_equal(stats(f).guest_errors, 0);
	fx_free(f);
}

static void test_tx_budget_no_loop(void **state)
{
	const unsigned int extra = 10;
	struct fx *f = tx_over_budget(false, F_BASE, extra);

	(void)state;
	/* Without a loop, the rest waits for the next doorbell. */
	vdrv_kick(&f->drv, 1);
	assert_int_equal(f->fnd->nframes, TX_BURST + extra);
	assert_int_equal(used_idx(f, 1), TX_BURST + extra);
	assert_int_equal(stats(f).guest_errors, 0);
	fx_free(f);
}

/* A reset while the re-kick is pending: the loop then sends nothing. */
static void test_tx_rekick_reset(void **state)
{
	struct fx *f = tx_over_budget(true, F_BASE, 10);

	(void)state;
	vdrv_reset(&f->drv);
	assert_true(evloop_run_once(f->loop, 0) >= 0);
	assert_int_equal(f->fnd->nframes, TX_BURST);
	assert_int_equal(stats(f).guest_errors, 0);
	fx_free(f);
}

/* ---- reset and a new driver ---- */

static void test_mq_reset_renegotiate(void **state)
{
	struct fx *f = fx_new_mq(false);
	uint8_t fr[IP4_FRAME_LEN];

	(void)state;
	bring_up(f, F_ALL, 2 * PAIRS + 1);
	assert_int_equal(set_pairs(f, PAIRS), ACK_OK);
	udp4_frame(fr, 0x0a000001, 0x0a000002, 1234, 80);
	/* Pair 2 sends through netdev 2; netdev 1 delivers to pair 1. */
	assert_int_equal(tx_one(f, txq(2), NULL, fr, sizeof(fr)), 1);
	assert_int_equal(f->fnds[0]->nframes, 0);
	post_rx(f, rxq(1), RXBUF_GPA(rxq(1)), 256, 256, 2);
	assert_int_equal(deliver_on(f, 1, NULL, fr, sizeof(fr)), sizeof(fr));
	assert_int_equal(used_idx(f, rxq(1)), 1);

	vdrv_reset(&f->drv);
	assert_int_equal(vnet_active_pairs(f->vn), 1);
	/* Not running: every frame is dropped, not held. */
	for (uint16_t i = 0; i < PAIRS; i++)
		assert_true(deliver_on(f, i, NULL, fr, sizeof(fr)) < 0);

	/* A new driver without MQ: pair 0 only, the control queue is 2. */
	bring_up(f, F_BASE | F_MRG | F_CTRL_VQ | F_CTRL_RX, 3);
	assert_int_equal(vnet_active_pairs(f->vn), 1);
	assert_enabled(f, 1);
	assert_int_equal(tx_one(f, txq(0), NULL, fr, sizeof(fr)), 1);
	assert_int_equal(f->fnds[0]->len, sizeof(fr));
	assert_memory_equal(f->fnds[0]->frame, fr, sizeof(fr));
	assert_int_equal(f->fnds[2]->nframes, 1);
	post_rx(f, rxq(0), RXBUF_GPA(rxq(0)), 256, 256, 1);
	assert_int_equal(deliver_on(f, 0, NULL, fr, sizeof(fr)), sizeof(fr));
	assert_int_equal(used_idx(f, rxq(0)), 1);
	assert_memory_equal(ram(f, RXBUF_GPA(rxq(0)) + HDR), fr, sizeof(fr));
	/* Control queue 2: promiscuous off works, MQ commands do not. */
	assert_int_equal(ctrl(f, 2, (const uint8_t[]){ 0, 0, 0 }, 3), ACK_OK);
	assert_int_equal(ctrl(f, 2, (const uint8_t[]){ CTRL_MQ, CTRL_MQ_VQ_PAIRS_SET, 2, 0 }, 4),
			 ACK_ERR);
	assert_int_equal(vnet_active_pairs(f->vn), 1);
	assert_enabled(f, 1);
	assert_false(vdrv_status(&f->drv) & S_NEEDS_RESET);
	fx_free(f);
}

/* ---- per-queue counters ---- */

static void test_queue_stats(void **state)
{
	struct fx *f = fx_new();
	struct vnet_queue_stats qs[PAIRS], sum = { 0 };
	struct vnet_stats st;
	uint8_t fr[IP4_FRAME_LEN];
	unsigned int per_pair[PAIRS] = { 0 };

	(void)state;
	bring_up(f, F_ALL & ~F_EVT, 2 * PAIRS + 1);
	assert_int_equal(set_pairs(f, PAIRS), ACK_OK); /* the control queue: 1 kick, 1 irq */
	/* TX: transmitq 3 twice, 5 once, 7 rung with nothing on it. */
	udp4_frame(fr, 0x0a000001, 0x0a000002, 1234, 80);
	assert_int_equal(tx_one(f, txq(1), NULL, fr, sizeof(fr)), 1);
	assert_int_equal(tx_one(f, txq(1), NULL, fr, sizeof(fr)), 1);
	assert_int_equal(tx_one(f, txq(2), NULL, fr, sizeof(fr)), 1);
	vdrv_kick(&f->drv, txq(3));
	/* RX: buffers on every receiveq, each rung once; 16 flows spread by hash. */
	for (uint16_t i = 0; i < PAIRS; i++) {
		post_rx(f, rxq(i), RXBUF_GPA(rxq(i)), 256, 256, QSZ);
		vdrv_kick(&f->drv, rxq(i));
	}
	vdrv_kick(&f->drv, rxq(0));
	for (uint16_t k = 0; k < 16; k++) {
		udp4_frame(fr, 0x0a000001, 0x0a000002, (uint16_t)(7000 + k), 80);
		per_pair[vnet_flow_hash(fr, sizeof(fr)) % PAIRS]++;
		assert_int_equal(deliver(f, fr, sizeof(fr)), sizeof(fr));
	}
	for (uint16_t i = 0; i < PAIRS; i++) {
		qs[i] = qstats(f, i);
		assert_int_equal(qs[i].rx_kicks, i == 0 ? 2 : 1);
		assert_int_equal(qs[i].rx_frames, per_pair[i]);
		assert_int_equal(qs[i].rx_bytes, per_pair[i] * sizeof(fr));
		assert_int_equal(qs[i].rx_irqs, per_pair[i]); /* no EVENT_IDX: one per frame */
		sum.rx_frames += qs[i].rx_frames;
		sum.rx_bytes += qs[i].rx_bytes;
		sum.tx_frames += qs[i].tx_frames;
		sum.tx_bytes += qs[i].tx_bytes;
		sum.rx_kicks += qs[i].rx_kicks;
		sum.tx_kicks += qs[i].tx_kicks;
		sum.rx_irqs += qs[i].rx_irqs;
		sum.tx_irqs += qs[i].tx_irqs;
	}
	assert_int_equal(qs[0].tx_kicks, 0);
	assert_int_equal(qs[1].tx_kicks, 2);
	assert_int_equal(qs[1].tx_frames, 2);
	assert_int_equal(qs[1].tx_bytes, 2 * sizeof(fr));
	assert_int_equal(qs[1].tx_irqs, 2);
	assert_int_equal(qs[2].tx_kicks, 1);
	assert_int_equal(qs[2].tx_irqs, 1);
	assert_int_equal(qs[3].tx_kicks, 1);
	assert_int_equal(qs[3].tx_frames, 0);
	assert_int_equal(qs[3].tx_irqs, 0); /* nothing used: no interrupt */
	assert_int_equal(vnet_get_queue_stats(f->vn, PAIRS, &qs[0]), -ENOENT);
	assert_int_equal(vnet_get_queue_stats(f->vn, 0xffff, &qs[0]), -ENOENT);
	/* The totals: the pairs' sums, plus the control queue's kick and interrupt. */
	st = stats(f);
	assert_int_equal(st.rx_frames, 16);
	assert_int_equal(st.rx_frames, sum.rx_frames);
	assert_int_equal(st.rx_bytes, sum.rx_bytes);
	assert_int_equal(st.tx_frames, sum.tx_frames);
	assert_int_equal(st.tx_bytes, sum.tx_bytes);
	assert_int_equal(st.kicks, sum.rx_kicks + sum.tx_kicks + 1);
	assert_int_equal(st.irqs, sum.rx_irqs + sum.tx_irqs + 1);
	assert_int_equal(st.ctrl_cmds, 1);
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
		cmocka_unit_test(test_event_idx_mrg_short),
		cmocka_unit_test(test_ctrl),
		cmocka_unit_test(test_ctrl_no_mq),
		cmocka_unit_test(test_malformed_tx),
		cmocka_unit_test(test_malformed_rx),
		cmocka_unit_test(test_mq_steer_per_pair),
		cmocka_unit_test(test_mq_queue_enabled),
		cmocka_unit_test(test_mq_steer_single_netdev),
		cmocka_unit_test(test_mq_steer_deep_headers),
		cmocka_unit_test(test_mq_single_netdev_shrink_resumes),
		cmocka_unit_test(test_flow_hash),
		cmocka_unit_test(test_tx_offload_hdr),
		cmocka_unit_test(test_rx_offload_hdr),
		cmocka_unit_test(test_backend_offloads),
		cmocka_unit_test(test_features_offload_rules),
		cmocka_unit_test(test_tx_rekick),
		cmocka_unit_test(test_tx_exact_budget),
		cmocka_unit_test(test_tx_budget_no_loop),
		cmocka_unit_test(test_tx_rekick_reset),
		cmocka_unit_test(test_mq_reset_renegotiate),
		cmocka_unit_test(test_queue_stats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
