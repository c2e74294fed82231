// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for vhost mode with the kernel's vhost-net (vmm/nic_vhost.c
 * over vmm/vhost_net.c): a real virtio-net device on the virtio-pci
 * transport, brought to DRIVER_OK over a RAM arena the way a driver does
 * it, its data queues handed to a recording fake of the vhost-net system
 * calls (this host has no /dev/vhost-net), and fake tap queues that record
 * what they are asked (steering, vnet header). Checked: per pair the
 * ioctls in order and what they carry (features masked, memory table,
 * rings translated, kick and call eventfds, SET_BACKEND with that pair's
 * tap queue), VQ_PAIRS_SET detaching and attaching, a reset detaching
 * every ring and reading its base, a kernel that lacks a feature (no ring
 * started, link down), a call eventfd turned into the queue's interrupt,
 * a queue's call following its MSI-X vector when the guest moves it after
 * DRIVER_OK (the transport's queue_vector hook, vectors' irqfds faked),
 * and a host without /dev/vhost-net refused with the way out.
 * Single-threaded: the loop runs only when a test calls evloop_run_once();
 * except the one vhost-user test at the end, the same device and driver
 * with nic_vhost's vhost-user controller (its loop in a thread) and the
 * scripted fake backend (tests/unit/support/vu_fake_backend.h) on its
 * socket: a vector move becomes one SET_VRING_CALL with the new fd.
 */
#include <errno.h>
/*
 * linux/vhost.h for the ioctls and their structs, without the
 * linux/virtio_ring.h it pulls in: its helpers clash with
 * nicmodels/virtqueue.h's, and nothing here needs them.
 */
#define _LINUX_VIRTIO_RING_H
#include <linux/vhost.h>
#undef _LINUX_VIRTIO_RING_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/evloop.h"
#include "common/log.h"
#include "nicmodels/virtio_net.h"
#include "vmm/iobus.h"
#include "vmm/netdev.h"
#include "vmm/nic_vhost.h"
#include "vmm/pci.h"
#include "vmm/vhost_net.h"

#include "../support/testutil.h"
#include "../support/virtio_drv.h"
#include "../support/vu_fake_backend.h"

#define F(n) (1ull << (n))
#define F_MTU F(3)
#define F_MAC F(5)
#define F_MRG F(15)
#define F_STATUS F(16)
#define F_CTRL_VQ F(17)
#define F_MQ F(22)
#define F_IND F(28)
#define F_EVT F(29)
#define F_V1 F(32)
#define F_GUEST (F_V1 | F_MAC | F_STATUS | F_MTU | F_MRG | F_CTRL_VQ | F_MQ | F_EVT | F_IND)
/* What vhost-net is told: the datapath's part of F_GUEST. */
#define F_DATAPATH (F_V1 | F_MRG | F_EVT | F_IND)
/* A kernel's vhost-net: VHOST_FEATURES and VHOST_NET_F_VIRTIO_NET_HDR, MRG_RXBUF. */
#define F_KERNEL (F(24) | F(26) | F(27) | F_MRG | F_IND | F_EVT | F_V1)

#define CFG_STATUS 6 /* device config: status, LINK_UP = 1 */
#define CTRL_MQ 4
#define CTRL_MQ_VQ_PAIRS_SET 0

#define RAM_SIZE (2u << 20)
#define QSZ 64
#define RING_GPA(q) (0x10000u + (q)*0x4000u) /* desc; avail +0x1000; used +0x2000 */
#define CMD_GPA 0x100000u
#define PAIRS 2
#define CQ (2 * PAIRS)
#define VHOST_FD0 FK_FD0 /* pair p's /dev/vhost-net: VHOST_FD0 + p */
#define TAP_FD0 50    /* tap queue p's fd: TAP_FD0 + p */

#define NVEC (2 * PAIRS + 2) /* the transport's MSI-X vectors */
#define IRQFD0 300	     /* vector v's irqfd, when the test gives it one: IRQFD0 + v */

/* ---- the fake system calls ---- */

#include "../support/vhost_net_fake.h"

/* ---- fake tap queues ---- */

struct ftap {
	bool enabled;
	unsigned int enables, disables;
	size_t hdr;
	unsigned int offloads;
	unsigned int hdr_calls;
};

static int ftap_send(struct netdev *nd, const struct iovec *iov, int iovcnt)
{
	(void)nd;
	(void)iov;
	(void)iovcnt;
	fail_msg("nfv-vmm sent through a tap queue the kernel owns");
	return -EIO;
}

static void ftap_set_rx(struct netdev *nd, bool enable)
{
	(void)nd;
	assert_false(enable); /* nothing may read a tap queue the kernel owns */
}

static int ftap_set_vnet_hdr(struct netdev *nd, size_t hdr_len, unsigned int offloads)
{
	struct ftap *t = nd->priv;

	t->hdr = hdr_len;
	t->offloads = offloads;
	t->hdr_calls++;
	return 0;
}

static int ftap_set_queue_enabled(struct netdev *nd, bool enable)
{
	struct ftap *t = nd->priv;

	if (enable && !t->enabled)
		t->enables++;
	if (!enable && t->enabled)
		t->disables++;
	t->enabled = enable;
	return 0;
}

static const struct netdev_ops ftap_ops = {
	.type = "tap",
	.send = ftap_send,
	.set_rx = ftap_set_rx,
	.set_vnet_hdr = ftap_set_vnet_hdr,
	.set_queue_enabled = ftap_set_queue_enabled,
};

/* ---- the device, as a driver sees it ---- */

struct fx {
	struct arena *ar;
	struct io_bus pio, mmio;
	struct vm_irq irq;
	struct pci_bus *bus;
	struct pci_dev *pdev;
	struct evloop *loop;
	struct nic_vhost *v;
	struct netdev *taps[PAIRS];
	struct vnet *vn;
	struct vdrv drv;
	uint16_t cq_avail, cq_next;
	unsigned int irq_raised; /* INTx asserted */
	struct virtio_pci_hooks hooks;
	int irqfd[NVEC]; /* what the irqfd lookup says per vector (-1: none bound) */
};

/* As nic.c wires it: the transport's queue_vector hook to nic_vhost (every queue here). */
static void fx_queue_vector(void *opaque, uint16_t q, uint16_t vector)
{
	struct fx *f = opaque;

	nic_vhost_queue_vector(f->v, q, vector);
}

static int fx_irqfd(void *opaque, uint16_t vector)
{
	struct fx *f = opaque;

	return vector < NVEC ? f->irqfd[vector] : -1;
}

static int fx_set_level(void *opaque, unsigned int gsi, int level)
{
	struct fx *f = opaque;

	(void)gsi;
	if (level)
		f->irq_raised++;
	return 0;
}

static uint8_t *ram(struct fx *f, uint64_t gpa)
{
	return f->ar->ram + gpa;
}

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct nic_vhost_net_config hc = { .name = "vn-test",
					   .queue_pairs = PAIRS,
					   .sys = &fk_sys };
	struct vnet_config cfg = { .name = "vn-test", .queue_pairs = PAIRS };
	int fds[PAIRS];
	char err[256];

	assert_non_null(f);
	for (unsigned int i = 0; i < NVEC; i++)
		f->irqfd[i] = -1;
	f->ar = arena_new(RAM_SIZE, 0);
	iobus_init(&f->pio, "pio");
	iobus_init(&f->mmio, "mmio");
	f->irq = (struct vm_irq){ .set_level = fx_set_level, .opaque = f };
	f->bus = pci_bus_new(&f->pio, &f->mmio, &f->irq);
	assert_non_null(f->bus);
	f->loop = evloop_new();
	assert_non_null(f->loop);
	f->v = nic_vhost_net_new(f->loop, &f->ar->gm, &hc, err, sizeof(err));
	assert_non_null(f->v);
	assert_int_equal(fk.opened, PAIRS);
	for (unsigned int p = 0; p < PAIRS; p++) {
		char name[16];
		struct ftap *t;

		snprintf(name, sizeof(name), "tap:t/q%u", p);
		f->taps[p] = netdev_alloc(&ftap_ops, name, NULL, sizeof(struct ftap));
		assert_non_null(f->taps[p]);
		t = f->taps[p]->priv;
		t->enabled = true;
		fds[p] = TAP_FD0 + (int)p;
	}
	assert_int_equal(nic_vhost_net_set_taps(f->v, f->taps, fds, PAIRS, err, sizeof(err)), 0);
	/* A second call, or a wrong count, is refused. */
	assert_int_equal(nic_vhost_net_set_taps(f->v, f->taps, fds, PAIRS, err, sizeof(err)),
			 -EINVAL);
	cfg.mac[0] = 0x52;
	cfg.mac[5] = 0x01;
	cfg.vhost = nic_vhost_ops();
	cfg.vhost_opaque = f->v;
	f->hooks = (struct virtio_pci_hooks){ .opaque = f, .queue_vector = fx_queue_vector };
	cfg.hooks = &f->hooks;
	f->vn = vnet_new(f->bus, &f->ar->gm, f->loop, &cfg);
	assert_non_null(f->vn);
	nic_vhost_attach(f->v, f->vn);
	nic_vhost_set_irqfd(f->v, fx_irqfd, f);
	f->pdev = vdrv_init(&f->drv, f->bus, &f->mmio, "vn-test");
	vdrv_find_caps(&f->drv, NULL);
	fk.n = 0; /* from here on: what DRIVER_OK and after do */
	return f;
}

static void fx_free(struct fx *f)
{
	pci_bus_free(f->bus);
	vnet_free(f->vn);
	nic_vhost_free(f->v);
	assert_int_equal(fk.closed, PAIRS);
	for (unsigned int p = 0; p < PAIRS; p++)
		netdev_close(f->taps[p]);
	evloop_free(f->loop);
	iobus_destroy(&f->pio);
	iobus_destroy(&f->mmio);
	arena_free(f->ar);
	free(f);
}

static struct ftap *ftap(struct fx *f, unsigned int p)
{
	return f->taps[p]->priv;
}

static bool link_up(struct fx *f)
{
	return vdrv_bar_rd(&f->drv, f->drv.cap_off[T_DEVICE] + CFG_STATUS, 2) & 1;
}

static void queue_setup(struct fx *f, uint16_t q)
{
	uint64_t base = RING_GPA(q);

	memset(ram(f, base), 0, 0x3000);
	vdrv_queue_setup(&f->drv, q, QSZ, base);
}

/* Negotiates `features`, sets up every queue (2 pairs and the control queue), DRIVER_OK. */
static void bring_up(struct fx *f, uint64_t features)
{
	assert_true(vdrv_negotiate(&f->drv, features));
	for (uint16_t q = 0; q <= CQ; q++)
		queue_setup(f, q);
	f->cq_avail = f->cq_next = 0;
	vdrv_status_set(&f->drv, S_DRIVER_OK);
	assert_true(vdrv_status(&f->drv) & S_DRIVER_OK);
}

/* VQ_PAIRS_SET n through the control queue; the ack. */
static uint8_t set_pairs(struct fx *f, uint16_t n)
{
	uint8_t *desc = ram(f, RING_GPA(CQ)), *avail = ram(f, RING_GPA(CQ) + 0x1000);
	uint8_t *cmd = ram(f, CMD_GPA);
	uint16_t head = f->cq_next;

	cmd[0] = CTRL_MQ;
	cmd[1] = CTRL_MQ_VQ_PAIRS_SET;
	wr16(cmd, 2, n);
	cmd[0x100] = 0xAA;
	for (unsigned int i = 0; i < 2; i++) {
		uint8_t *d = desc + 16 * ((head + i) % QSZ);

		wr32(d, 0, i ? CMD_GPA + 0x100 : CMD_GPA);
		wr32(d, 4, 0);
		wr32(d, 8, i ? 1 : 4);
		wr16(d, 12, i ? 2 : 1);
		wr16(d, 14, (uint16_t)((head + i + 1) % QSZ));
	}
	f->cq_next = (uint16_t)((head + 2) % QSZ);
	wr16(avail, 4 + 2 * (f->cq_avail % QSZ), head);
	f->cq_avail++;
	wr16(avail, 2, f->cq_avail);
	vdrv_kick(&f->drv, CQ);
	return cmd[0x100];
}

/* The calls made to pair p's device since `from`, in order. */
static unsigned int calls_of(unsigned int p, unsigned int from, const struct call **out,
			     unsigned int max)
{
	unsigned int n = 0;

	for (unsigned int i = from; i < fk.n && n < max; i++)
		if (fk.calls[i].fd == VHOST_FD0 + (int)p)
			out[n++] = &fk.calls[i];
	return n;
}

static void expect_ring(struct fx *f, const struct call *const *c, unsigned int ring, uint16_t q,
			int *call_fd)
{
	assert_int_equal(c[0]->req, VHOST_SET_VRING_NUM);
	assert_int_equal(c[0]->st.index, ring);
	assert_int_equal(c[0]->st.num, QSZ);
	assert_int_equal(c[1]->req, VHOST_SET_VRING_BASE);
	assert_int_equal(c[1]->st.index, ring);
	assert_int_equal(c[1]->st.num, 0); /* a fresh start */
	assert_int_equal(c[2]->req, VHOST_SET_VRING_ADDR);
	assert_int_equal(c[2]->addr.index, ring);
	assert_int_equal(c[2]->addr.desc_user_addr, (uint64_t)(uintptr_t)ram(f, RING_GPA(q)));
	assert_int_equal(c[2]->addr.avail_user_addr,
			 (uint64_t)(uintptr_t)ram(f, RING_GPA(q) + 0x1000));
	assert_int_equal(c[2]->addr.used_user_addr,
			 (uint64_t)(uintptr_t)ram(f, RING_GPA(q) + 0x2000));
	assert_int_equal(c[3]->req, VHOST_SET_VRING_KICK);
	assert_int_equal(c[3]->file.index, ring);
	assert_int_equal(c[3]->file.fd, nic_vhost_kick_fd(f->v, q));
	assert_int_equal(c[4]->req, VHOST_SET_VRING_CALL);
	assert_int_equal(c[4]->file.index, ring);
	assert_true(c[4]->file.fd >= 0);
	assert_int_not_equal(c[4]->file.fd, c[3]->file.fd);
	*call_fd = c[4]->file.fd;
}

static void expect_backend(const struct call *c, unsigned int ring, int fd)
{
	assert_int_equal(c->req, VHOST_NET_SET_BACKEND);
	assert_int_equal(c->file.index, ring);
	assert_int_equal(c->file.fd, fd);
}

static int reset(void **state)
{
	(void)state;
	memset(&fk, 0, sizeof(fk));
	fk.vring_base = 7;
	fk.features = F_KERNEL;
	log_set_level(LOG_LVL_ERR);
	return 0;
}

/* ---- tests ---- */

/* DRIVER_OK: per pair features, memory, both rings; the backend for the first pair only. */
static void test_start(void **state)
{
	struct fx *f;
	const struct call *c[32];
	int call_fds[2 * PAIRS];
	unsigned int n;

	(void)state;
	f = fx_new();
	assert_false(link_up(f));
	assert_false(nic_vhost_link_up(f->v));
	/* vhost mode offers no offloads, so the guest's features are all the datapath's. */
	bring_up(f, F_GUEST);
	for (unsigned int p = 0; p < PAIRS; p++) {
		n = calls_of(p, 0, c, 32);
		assert_int_equal(n, p == 0 ? 14 : 12);
		assert_int_equal(c[0]->req, VHOST_SET_FEATURES);
		assert_int_equal(c[0]->u64, F_DATAPATH);
		assert_int_equal(c[1]->req, VHOST_SET_MEM_TABLE);
		assert_int_equal(c[1]->nregions, 1);
		assert_int_equal(c[1]->regions[0].guest_phys_addr, 0);
		assert_int_equal(c[1]->regions[0].memory_size, RAM_SIZE);
		assert_int_equal(c[1]->regions[0].userspace_addr, (uint64_t)(uintptr_t)f->ar->ram);
		expect_ring(f, c + 2, 0, (uint16_t)(2 * p), &call_fds[2 * p]);
		expect_ring(f, c + 7, 1, (uint16_t)(2 * p + 1), &call_fds[2 * p + 1]);
		if (p == 0) {
			expect_backend(c[12], 0, TAP_FD0);
			expect_backend(c[13], 1, TAP_FD0);
		}
		/* The tap and the kernel agree on the 12-byte header; no offloads. */
		assert_int_equal(ftap(f, p)->hdr, 12);
		assert_int_equal(ftap(f, p)->offloads, 0);
	}
	for (unsigned int q = 1; q < 2 * PAIRS; q++)
		assert_int_not_equal(call_fds[q], call_fds[q - 1]);
	/* Pair 1 is not used yet: its tap queue left the steering. */
	assert_true(ftap(f, 0)->enabled);
	assert_false(ftap(f, 1)->enabled);
	assert_true(link_up(f));
	assert_true(nic_vhost_link_up(f->v));
	fx_free(f);
}

/* VQ_PAIRS_SET: pair 1 attached to tap queue 1, then detached again. */
static void test_set_pairs(void **state)
{
	struct fx *f;
	const struct call *c[8];
	unsigned int from;

	(void)state;
	f = fx_new();
	bring_up(f, F_GUEST);
	from = fk.n;
	assert_int_equal(set_pairs(f, 2), 0);
	assert_int_equal(calls_of(0, from, c, 8), 0);
	assert_int_equal(calls_of(1, from, c, 8), 2);
	expect_backend(c[0], 0, TAP_FD0 + 1);
	expect_backend(c[1], 1, TAP_FD0 + 1);
	assert_true(ftap(f, 1)->enabled);
	assert_int_equal(ftap(f, 1)->enables, 1);
	from = fk.n;
	assert_int_equal(set_pairs(f, 1), 0);
	assert_int_equal(calls_of(0, from, c, 8), 0);
	assert_int_equal(calls_of(1, from, c, 8), 2);
	expect_backend(c[0], 0, -1);
	expect_backend(c[1], 1, -1);
	assert_false(ftap(f, 1)->enabled);
	assert_true(ftap(f, 0)->enabled);
	assert_true(link_up(f));
	fx_free(f);
}

/* A reset: every ring detached and its base read, link down; a new DRIVER_OK starts again. */
static void test_stop_restart(void **state)
{
	struct fx *f;
	const struct call *c[32];
	unsigned int from;

	(void)state;
	f = fx_new();
	bring_up(f, F_GUEST);
	assert_int_equal(set_pairs(f, 2), 0);
	from = fk.n;
	vdrv_reset(&f->drv);
	for (unsigned int p = 0; p < PAIRS; p++) {
		assert_int_equal(calls_of(p, from, c, 32), 4);
		for (unsigned int r = 0; r < 2; r++) {
			expect_backend(c[2 * r], r, -1);
			assert_int_equal(c[2 * r + 1]->req, VHOST_GET_VRING_BASE);
			assert_int_equal(c[2 * r + 1]->st.index, r);
		}
	}
	assert_false(link_up(f));
	assert_false(nic_vhost_link_up(f->v));
	/* Again from scratch: rings from base 0, one pair attached. */
	from = fk.n;
	bring_up(f, F_GUEST);
	assert_int_equal(calls_of(0, from, c, 32), 14);
	assert_int_equal(c[3]->st.num, 0);
	assert_int_equal(calls_of(1, from, c, 32), 12);
	assert_false(ftap(f, 1)->enabled);
	assert_true(link_up(f));
	fx_free(f);
}

/* A kernel without EVENT_IDX: nothing reaches it, the link stays down. */
static void test_kernel_lacks_feature(void **state)
{
	struct fx *f;

	(void)state;
	fk.features = F_KERNEL & ~F_EVT;
	f = fx_new();
	bring_up(f, F_GUEST);
	assert_int_equal(fk.n, 0);
	assert_false(link_up(f));
	assert_false(nic_vhost_link_up(f->v));
	/* Without EVENT_IDX negotiated the same kernel runs the rings. */
	vdrv_cc_wr(&f->drv, STATUS, 1, 0);
	bring_up(f, F_GUEST & ~F_EVT);
	assert_int_equal(fk.calls[0].req, VHOST_SET_FEATURES);
	assert_int_equal(fk.calls[0].u64, F_DATAPATH & ~F_EVT);
	assert_true(link_up(f));
	fx_free(f);
}

/*
 * The kernel's call eventfd becomes the queue's interrupt (INTx here: the
 * driver did not enable MSI-X), and a doorbell that arrives as a BAR write
 * reaches the kick eventfd.
 */
static void test_call_and_kick(void **state)
{
	struct fx *f;
	const struct call *c[32];
	uint64_t one = 1, got = 0;
	int call_fd;

	(void)state;
	f = fx_new();
	bring_up(f, F_GUEST);
	assert_int_equal(calls_of(0, 0, c, 32), 14);
	call_fd = c[6]->file.fd; /* ring 0's CALL */
	/* The link's config interrupt: read, cleared. */
	(void)vdrv_bar_rd(&f->drv, f->drv.cap_off[T_ISR], 1);
	assert_int_equal(vdrv_bar_rd(&f->drv, f->drv.cap_off[T_ISR], 1), 0);
	f->irq_raised = 0;
	assert_int_equal(write(call_fd, &one, sizeof(one)), (ssize_t)sizeof(one));
	assert_true(evloop_run_once(f->loop, 100) >= 0);
	assert_int_equal(vdrv_bar_rd(&f->drv, f->drv.cap_off[T_ISR], 1), 1); /* a queue interrupt */
	assert_int_equal(f->irq_raised, 1);
	vdrv_kick(&f->drv, 1);
	assert_int_equal(read(nic_vhost_kick_fd(f->v, 1), &got, sizeof(got)), (ssize_t)sizeof(got));
	assert_int_equal(got, 1);
	fx_free(f);
}

/* The driver writes queue q's MSI-X vector. */
static void set_vector(struct fx *f, uint16_t q, uint16_t vector)
{
	vdrv_cc_wr(&f->drv, QSEL, 2, q);
	vdrv_cc_wr(&f->drv, QMSIX, 2, vector);
}

/* The one ioctl since `from`: VHOST_SET_VRING_CALL on pair p's device, ring `ring`, fd. */
static void expect_one_call(unsigned int from, unsigned int p, unsigned int ring, int fd)
{
	const struct call *c[4];

	assert_int_equal(fk.n, from + 1);
	assert_int_equal(calls_of(p, from, c, 4), 1);
	assert_int_equal(c[0]->req, VHOST_SET_VRING_CALL);
	assert_int_equal(c[0]->file.index, ring);
	assert_int_equal(c[0]->file.fd, fd);
}

/*
 * The guest moves a data queue's vector after DRIVER_OK: the kernel gets
 * the queue's new call at once, the new vector's irqfd when it has one,
 * else the eventfd nfv-vmm watches (also for a queue that had no vector at
 * DRIVER_OK); nothing when the call stays the same, for the control queue
 * or after a reset; a refused ioctl keeps the old call and the next move
 * tries again.
 */
static void test_vector_moves(void **state)
{
	struct fx *f;
	const struct call *c[32];
	unsigned int from;
	int relay0, relay1;

	(void)state;
	f = fx_new();
	f->irqfd[1] = IRQFD0 + 1;
	f->irqfd[2] = IRQFD0 + 2;
	assert_true(vdrv_negotiate(&f->drv, F_GUEST));
	for (uint16_t q = 0; q <= CQ; q++)
		queue_setup(f, q);
	/* Queue 0 on a vector with an irqfd, 2 on one without, 1 and 3 on none. */
	set_vector(f, 0, 1);
	set_vector(f, 2, 3);
	vdrv_status_set(&f->drv, S_DRIVER_OK);
	assert_int_equal(calls_of(0, 0, c, 32), 14);
	assert_int_equal(c[6]->file.fd, IRQFD0 + 1);
	relay1 = c[11]->file.fd;
	assert_true(relay1 >= 0 && relay1 < IRQFD0);
	assert_int_equal(nic_vhost_direct_calls(f->v), 1);

	/* Queue 0 to vector 2: that vector's irqfd. */
	from = fk.n;
	set_vector(f, 0, 2);
	expect_one_call(from, 0, 0, IRQFD0 + 2);
	assert_int_equal(nic_vhost_direct_calls(f->v), 1);
	/* Queue 1 had no vector: with vector 1 it leaves the relayed path. */
	from = fk.n;
	set_vector(f, 1, 1);
	expect_one_call(from, 0, 1, IRQFD0 + 1);
	assert_int_equal(nic_vhost_direct_calls(f->v), 2);
	/* Queue 0 to a vector without an irqfd: relayed, through its own eventfd. */
	from = fk.n;
	set_vector(f, 0, 4);
	assert_int_equal(calls_of(0, from, c, 4), 1);
	relay0 = c[0]->file.fd;
	expect_one_call(from, 0, 0, relay0);
	assert_true(relay0 >= 0 && relay0 < IRQFD0);
	assert_int_not_equal(relay0, relay1);
	assert_int_not_equal(relay0, nic_vhost_kick_fd(f->v, 0));
	assert_int_equal(nic_vhost_direct_calls(f->v), 1);
	/* The same vector, another without an irqfd, NO_VECTOR, the control queue: nothing. */
	from = fk.n;
	set_vector(f, 0, 4);
	set_vector(f, 0, 3);
	set_vector(f, 0, VIRTIO_MSI_NO_VECTOR);
	set_vector(f, CQ, 1);
	nic_vhost_queue_vector(f->v, 2 * PAIRS + 7, 1);
	assert_int_equal(fk.n, from);
	/* Pair 1 runs in the kernel though the driver uses one pair: its queues follow too. */
	set_vector(f, 2, 2);
	expect_one_call(from, 1, 0, IRQFD0 + 2);
	assert_int_equal(nic_vhost_direct_calls(f->v), 2);
	/* The kernel refuses: the queue keeps its call, and the next move tries again. */
	fk.fail_req = VHOST_SET_VRING_CALL;
	fk.fail_errno = EINVAL;
	from = fk.n;
	set_vector(f, 3, 1);
	assert_int_equal(fk.n, from + 1);
	assert_int_equal(nic_vhost_direct_calls(f->v), 2);
	fk.fail_req = 0;
	from = fk.n;
	set_vector(f, 3, 2);
	expect_one_call(from, 1, 1, IRQFD0 + 2);
	assert_int_equal(nic_vhost_direct_calls(f->v), 3);
	assert_true(link_up(f));

	/* After a reset no queue is the kernel's: moves wait for the next DRIVER_OK. */
	vdrv_reset(&f->drv);
	from = fk.n;
	set_vector(f, 0, 1);
	nic_vhost_queue_vector(f->v, 1, 2);
	assert_int_equal(fk.n, from);
	bring_up(f, F_GUEST); /* queue 0 on vector 1, the others on none */
	assert_int_equal(calls_of(0, from, c, 32), 14);
	assert_int_equal(c[6]->file.fd, IRQFD0 + 1);
	assert_int_equal(c[11]->file.fd, relay1);
	assert_int_equal(nic_vhost_direct_calls(f->v), 1);
	fx_free(f);
}

/* ---- vhost-user ---- */

/* What the fake backend has: everything the guest takes, protocol features. */
#define VU_BACKEND_F (F_GUEST | F(30))
#define VU_PROTO (F(VU_PROTOCOL_F_MQ) | F(VU_PROTOCOL_F_REPLY_ACK))

static void *loop_main(void *arg)
{
	evloop_run(arg);
	return NULL;
}

static int dial(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static ino_t ino(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

/* The inode of the fd the last SET_VRING_CALL for `ring` carried (0: none seen). */
static ino_t vu_call_ino(struct fb *b, unsigned int ring)
{
	ino_t got = 0;

	for (unsigned int i = 0; i < fb_count(b, 0); i++) {
		struct fb_rec r = fb_get(b, i);

		if (r.request == VU_SET_VRING_CALL && (r.u64 & VU_VRING_IDX_MASK) == ring) {
			assert_int_equal(r.nfds, 1);
			got = r.fd_st[0].st_ino;
		}
	}
	return got;
}

/*
 * vhost-user: the call of each queue at DRIVER_OK is its vector's irqfd
 * (faked with memfds, whose inodes tell them apart) or the watched
 * eventfd; a vector move after DRIVER_OK is one SET_VRING_CALL for that
 * ring with the new fd, sent from the controller's loop; nothing when the
 * call stays the same, for the control queue, or after a reset.
 */
static void test_vhost_user_vector_moves(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char dir[64], path[96], err[256];
	struct nic_vhost_config hc = { .path = path, .server = true, .queue_pairs = PAIRS };
	struct vnet_config cfg = { .name = "vu-test", .queue_pairs = PAIRS };
	int memfd, mfd[3] = { -1, -1, -1 };
	ino_t relayed;
	pthread_t thr;
	struct fb be;

	(void)state;
	assert_non_null(f);
	for (unsigned int i = 0; i < NVEC; i++)
		f->irqfd[i] = -1;
	/* Guest RAM in a memfd: the backend maps it. */
	f->ar = calloc(1, sizeof(*f->ar));
	assert_non_null(f->ar);
	memfd = memfd_create("ram", MFD_CLOEXEC);
	assert_true(memfd >= 0);
	assert_int_equal(ftruncate(memfd, RAM_SIZE), 0);
	f->ar->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	assert_true(f->ar->ram != MAP_FAILED);
	f->ar->size = RAM_SIZE;
	assert_int_equal(gm_add_region(&f->ar->gm, 0, RAM_SIZE, f->ar->ram, memfd, 0), 0);
	iobus_init(&f->pio, "pio");
	iobus_init(&f->mmio, "mmio");
	f->irq = (struct vm_irq){ .set_level = fx_set_level, .opaque = f };
	f->bus = pci_bus_new(&f->pio, &f->mmio, &f->irq);
	assert_non_null(f->bus);
	f->loop = evloop_new();
	assert_non_null(f->loop);
	snprintf(dir, sizeof(dir), "/tmp/nfv-nvu-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/vm.sock", dir);
	f->v = nic_vhost_new(f->loop, &f->ar->gm, &hc, err, sizeof(err));
	assert_non_null(f->v);
	cfg.mac[0] = 0x52;
	cfg.vhost = nic_vhost_ops();
	cfg.vhost_opaque = f->v;
	f->hooks = (struct virtio_pci_hooks){ .opaque = f, .queue_vector = fx_queue_vector };
	cfg.hooks = &f->hooks;
	f->vn = vnet_new(f->bus, &f->ar->gm, f->loop, &cfg);
	assert_non_null(f->vn);
	nic_vhost_attach(f->v, f->vn);
	nic_vhost_set_irqfd(f->v, fx_irqfd, f);
	f->pdev = vdrv_init(&f->drv, f->bus, &f->mmio, "vu-test");
	vdrv_find_caps(&f->drv, NULL);
	for (unsigned int i = 1; i <= 2; i++) {
		mfd[i] = memfd_create("irqfd", MFD_CLOEXEC);
		assert_true(mfd[i] >= 0);
		f->irqfd[i] = mfd[i];
	}
	assert_int_equal(pthread_create(&thr, NULL, loop_main, f->loop), 0);
	fb_start(&be, dial(path), VU_BACKEND_F, VU_PROTO, FB_FINE);
	assert_true(fb_wait(&be, VU_SET_OWNER, 1, 2000));

	/* Queue 0 on a vector with an irqfd, 2 on one without, 1 and 3 on none. */
	assert_true(vdrv_negotiate(&f->drv, F_GUEST));
	for (uint16_t q = 0; q <= CQ; q++)
		queue_setup(f, q);
	set_vector(f, 0, 1);
	set_vector(f, 2, 3);
	vdrv_status_set(&f->drv, S_DRIVER_OK);
	assert_true(fb_wait(&be, VU_SET_VRING_ENABLE, 2 * PAIRS + 2, 2000));
	assert_int_equal(fb_count(&be, VU_SET_VRING_CALL), 2 * PAIRS);
	assert_int_equal(vu_call_ino(&be, 0), ino(mfd[1]));
	relayed = vu_call_ino(&be, 1);
	assert_true(relayed != 0 && relayed != ino(mfd[1]) && relayed != ino(mfd[2]));
	assert_int_equal(vu_call_ino(&be, 2), relayed); /* eventfds: one inode */
	assert_int_equal(nic_vhost_direct_calls(f->v), 1);

	/* Queue 0 to vector 2: exactly one SET_VRING_CALL, ring 0, that vector's irqfd. */
	set_vector(f, 0, 2);
	assert_true(fb_wait(&be, VU_SET_VRING_CALL, 2 * PAIRS + 1, 2000));
	assert_int_equal(vu_call_ino(&be, 0), ino(mfd[2]));
	/* Queue 3 had no vector: with vector 1 it leaves the relayed path. */
	set_vector(f, 3, 1);
	assert_true(fb_wait(&be, VU_SET_VRING_CALL, 2 * PAIRS + 2, 2000));
	assert_int_equal(vu_call_ino(&be, 3), ino(mfd[1]));
	assert_int_equal(nic_vhost_direct_calls(f->v), 2);
	/* The same vector, another without an irqfd for a relayed queue, the control queue. */
	set_vector(f, 3, 1);
	set_vector(f, 2, 4);
	set_vector(f, CQ, 2);
	usleep(100000);
	assert_int_equal(fb_count(&be, VU_SET_VRING_CALL), 2 * PAIRS + 2);
	/* Back to the watched eventfd. */
	set_vector(f, 0, VIRTIO_MSI_NO_VECTOR);
	assert_true(fb_wait(&be, VU_SET_VRING_CALL, 2 * PAIRS + 3, 2000));
	assert_int_equal(vu_call_ino(&be, 0), relayed);
	assert_int_equal(nic_vhost_direct_calls(f->v), 1);
	assert_true(nic_vhost_link_up(f->v));

	/* A reset stops the rings; a move then waits for the next DRIVER_OK. */
	vdrv_reset(&f->drv);
	assert_int_equal(fb_count(&be, VU_GET_VRING_BASE), 2 * PAIRS);
	set_vector(f, 0, 1);
	nic_vhost_queue_vector(f->v, 1, 2);
	usleep(50000);
	assert_int_equal(fb_count(&be, VU_SET_VRING_CALL), 2 * PAIRS + 3);

	shutdown(be.sock, SHUT_RDWR);
	pthread_join(be.thr, NULL);
	evloop_stop(f->loop);
	pthread_join(thr, NULL);
	pci_bus_free(f->bus);
	vnet_free(f->vn);
	nic_vhost_free(f->v);
	evloop_free(f->loop);
	iobus_destroy(&f->pio);
	iobus_destroy(&f->mmio);
	munmap(f->ar->ram, RAM_SIZE);
	close(memfd);
	close(mfd[1]);
	close(mfd[2]);
	rmdir(dir);
	free(f->ar);
	free(f);
}

/* The tap's link going down takes the guest's down while the rings run, and back up. */
static void test_tap_link(void **state)
{
	struct fx *f;

	(void)state;
	f = fx_new();
	bring_up(f, F_GUEST);
	assert_true(link_up(f));
	netdev_set_link(f->taps[0], false);
	assert_false(link_up(f));
	netdev_set_link(f->taps[0], true);
	assert_true(link_up(f));
	fx_free(f);
}

/* A host without /dev/vhost-net: one line with the device and how to load it. */
static void test_open_missing(void **state)
{
	struct evloop *loop = evloop_new();
	struct guest_mem gm = { 0 };
	struct nic_vhost_net_config hc = { .name = "vn-test", .queue_pairs = 2, .sys = &fk_sys };
	char err[256] = "";

	(void)state;
	assert_non_null(loop);
	fk.open_errno = ENOENT;
	assert_null(nic_vhost_net_new(loop, &gm, &hc, err, sizeof(err)));
	assert_non_null(strstr(err, "/dev/vhost-net"));
	assert_non_null(strstr(err, "modprobe vhost_net"));
	assert_int_equal(fk.n, 0);
	/* The second pair's device refused: the first is closed again. */
	fk.open_ok = 1;
	assert_null(nic_vhost_net_new(loop, &gm, &hc, err, sizeof(err)));
	assert_int_equal(fk.opened, 1);
	assert_int_equal(fk.closed, 1);
	assert_non_null(strstr(err, "modprobe vhost_net"));
	evloop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_start, reset),
		cmocka_unit_test_setup(test_set_pairs, reset),
		cmocka_unit_test_setup(test_stop_restart, reset),
		cmocka_unit_test_setup(test_kernel_lacks_feature, reset),
		cmocka_unit_test_setup(test_call_and_kick, reset),
		cmocka_unit_test_setup(test_tap_link, reset),
		cmocka_unit_test_setup(test_vector_moves, reset),
		cmocka_unit_test_setup(test_vhost_user_vector_moves, reset),
		cmocka_unit_test_setup(test_open_missing, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
