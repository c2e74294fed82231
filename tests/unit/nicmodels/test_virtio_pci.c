// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for the modern virtio-pci transport (nicmodels/virtio_pci.c),
 * reached the way a driver reaches it: PCI config space and BAR accesses
 * dispatched on the buses. The device behind it is a dummy "test" type with
 * two queues and 8 bytes of configuration, which also shows the transport
 * needs nothing of networking. Single-threaded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/log.h"
#include "nicmodels/virtio_pci.h"
#include "nicmodels/virtqueue.h"
#include "vmm/iobus.h"
#include "vmm/pci.h"

#include "../support/testutil.h"
#include "../support/virtio_drv.h"

#define RAM_SIZE (1u << 20)
#define NQ 2
#define QMAX 256
#define F_DEV0 (1ull << 0)
#define F_DEV5 (1ull << 5)
#define F_IND (1ull << 28)
#define F_EVT (1ull << 29)
#define F_V1 (1ull << 32)
#define F_OFFER (F_DEV0 | F_DEV5 | F_IND | F_EVT)

/* ---- the dummy device type ---- */

struct tdev {
	struct virtio_pci *vp;
	uint8_t cfg[8];
	unsigned int resets, driver_oks, status_calls;
	unsigned int notifies[NQ];
	bool consume;	       /* doorbells return every available buffer */
	unsigned int used[NQ]; /* buffers returned */
	unsigned int irqs[NQ]; /* used-buffer notifications sent */
	uint64_t features_seen;
	int features_ok_ret;
	int driver_ok_ret;
	uint8_t last_old, last_new;
};

static uint64_t t_get_features(void *opaque)
{
	(void)opaque;
	return F_OFFER;
}

static void t_config_read(void *opaque, uint32_t off, uint8_t *data, uint32_t len)
{
	struct tdev *t = opaque;

	memcpy(data, &t->cfg[off], len);
}

static void t_config_write(void *opaque, uint32_t off, const uint8_t *data, uint32_t len)
{
	struct tdev *t = opaque;

	/* Byte 7 is writable; the rest read-only. */
	for (uint32_t i = 0; i < len; i++)
		if (off + i == 7)
			t->cfg[7] = data[i];
}

static int t_features_ok(void *opaque, uint64_t f)
{
	struct tdev *t = opaque;

	t->features_seen = f;
	return t->features_ok_ret;
}

static int t_driver_ok(void *opaque)
{
	struct tdev *t = opaque;

	t->driver_oks++;
	return t->driver_ok_ret;
}

static void t_queue_notify(void *opaque, uint16_t q)
{
	struct tdev *t = opaque;
	struct virtq *vq = virtio_pci_queue(t->vp, q);
	struct virtq_seg segs[4];
	struct virtq_chain c = { .segs = segs, .cap = 4 };
	unsigned int n = 0;

	assert_true(q < NQ);
	t->notifies[q]++;
	if (!t->consume)
		return;
	/* A device at its simplest: every buffer comes back used, empty. */
	while (virtq_pop(vq, &c) == 1) {
		assert_int_equal(virtq_push(vq, c.head, 0), 0);
		n++;
	}
	t->used[q] += n;
	if (n && virtq_should_notify(vq)) {
		assert_int_equal(virtio_pci_notify(t->vp, q), 0);
		t->irqs[q]++;
	}
}

static void t_reset(void *opaque)
{
	((struct tdev *)opaque)->resets++;
}

static void t_status(void *opaque, uint8_t old, uint8_t nst)
{
	struct tdev *t = opaque;

	t->status_calls++;
	t->last_old = old;
	t->last_new = nst;
}

static const struct virtio_pci_ops t_ops = {
	.get_features = t_get_features,
	.config_read = t_config_read,
	.config_write = t_config_write,
	.features_ok = t_features_ok,
	.driver_ok = t_driver_ok,
	.queue_notify = t_queue_notify,
	.reset = t_reset,
	.status_changed = t_status,
};

/* ---- fixture ---- */

struct fx {
	struct arena *ar;
	struct io_bus pio, mmio;
	struct vm_irq irq;
	int level;
	unsigned int nmsi;
	uint64_t msi_addr;
	uint32_t msi_data;
	struct pci_bus *bus;
	struct pci_dev *pdev;
	struct virtio_pci *vp;
	struct tdev t;
	struct vdrv drv;
	/* Doorbell hook records: where each queue's is bound, and every call. */
	unsigned int db_calls;
	uint64_t db_gpa[NQ];
	bool db_bound[NQ];
	struct {
		uint16_t q;
		uint64_t gpa;
		bool bound;
	} db_log[64];
	unsigned int raised;
	uint16_t raised_vector;
	/* queue_vector hook records. */
	unsigned int qv_calls;
	uint16_t qv_queue, qv_vector;
	uint8_t qv_status; /* the device status the hook saw */
};

static int fx_set_level(void *opaque, unsigned int gsi, int level)
{
	(void)gsi;
	((struct fx *)opaque)->level = level;
	return 0;
}

static int fx_send_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct fx *f = opaque;

	f->nmsi++;
	f->msi_addr = addr;
	f->msi_data = data;
	return 0;
}

/* Behaves as an ioeventfd would: one per queue, removed where it was added. */
static int fx_doorbell(void *opaque, uint16_t q, uint64_t gpa, bool bound)
{
	struct fx *f = opaque;

	assert_true(q < NQ);
	if (f->db_calls < ARRAY_SIZE(f->db_log)) {
		f->db_log[f->db_calls].q = q;
		f->db_log[f->db_calls].gpa = gpa;
		f->db_log[f->db_calls].bound = bound;
	}
	f->db_calls++;
	if (bound) {
		assert_false(f->db_bound[q]);
		/* Only where the BAR is decoded now: never over someone else's range. */
		assert_true(pci_dev_bar_decoded(f->pdev, 0) != PCI_BAR_UNMAPPED);
		assert_int_equal(gpa, pci_dev_bar_decoded(f->pdev, 0) + 0x3000 + 4 * q);
	} else {
		assert_true(f->db_bound[q]);
		assert_int_equal(gpa, f->db_gpa[q]);
	}
	f->db_gpa[q] = gpa;
	f->db_bound[q] = bound;
	return 0;
}

/* The doorbell hook's call `i` was (q, gpa, bound). */
static void db_expect(struct fx *f, unsigned int i, uint16_t q, uint64_t gpa, bool bound)
{
	assert_true(i < f->db_calls && i < ARRAY_SIZE(f->db_log));
	assert_int_equal(f->db_log[i].q, q);
	assert_int_equal(f->db_log[i].gpa, gpa);
	assert_int_equal(f->db_log[i].bound, bound);
}

static int fx_msix_raise(void *opaque, uint16_t vector)
{
	struct fx *f = opaque;

	f->raised++;
	f->raised_vector = vector;
	return 0;
}

static void fx_queue_vector(void *opaque, uint16_t q, uint16_t vector)
{
	struct fx *f = opaque;

	assert_true(q < NQ);
	f->qv_calls++;
	f->qv_queue = q;
	f->qv_vector = vector;
	f->qv_status = virtio_pci_status(f->vp);
}

/* What 4.1.4 asks of each vendor capability, before the walk records it. */
static void fx_check_cap(struct vdrv *d, unsigned int c)
{
	unsigned int type = vdrv_cfg_rd(d, c + 3, 1);

	assert_true(type >= 1 && type <= 5);
	assert_int_equal(d->cap[type], 0);	       /* one of each */
	assert_int_equal(vdrv_cfg_rd(d, c + 4, 1), 0); /* BAR 0 */
	assert_int_equal(vdrv_cfg_rd(d, c + 2, 1), type == T_NOTIFY || type == T_PCI_CFG ? 20 : 16);
}

/* A transport with hooks or none, MSI-X or none (no_msix), in `slot` (0: next free). */
static struct fx *fx_new_cfg(bool hooks, bool no_msix, unsigned int slot)
{
	struct fx *f = calloc(1, sizeof(*f));
	static struct virtio_pci_hooks h;
	struct virtio_pci_config cfg = {
		.name = "virtio-test",
		.device_type = 42,
		.class_code = 0xFF0000,
		.num_queues = NQ,
		.queue_max_size = QMAX,
		.config_size = 8,
		.ops = &t_ops,
		.no_msix = no_msix,
		.slot = slot,
	};

	assert_non_null(f);
	log_set_level(LOG_LVL_ERR);
	f->ar = arena_new(RAM_SIZE, 0);
	iobus_init(&f->pio, "pio");
	iobus_init(&f->mmio, "mmio");
	f->irq = (struct vm_irq){ .set_level = fx_set_level, .send_msi = fx_send_msi, .opaque = f };
	f->bus = pci_bus_new(&f->pio, &f->mmio, &f->irq);
	assert_non_null(f->bus);
	memcpy(f->t.cfg, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	cfg.opaque = &f->t;
	if (hooks) {
		h = (struct virtio_pci_hooks){ .opaque = f,
					       .doorbell = fx_doorbell,
					       .msix_raise = fx_msix_raise,
					       .queue_vector = fx_queue_vector };
		cfg.hooks = &h;
	}
	f->vp = virtio_pci_new(f->bus, &f->ar->gm, &cfg);
	assert_non_null(f->vp);
	f->t.vp = f->vp;
	f->pdev = vdrv_init(&f->drv, f->bus, &f->mmio, "virtio-test");
	assert_ptr_equal(f->pdev, virtio_pci_pci_dev(f->vp));
	f->drv.addr_halves = true; /* ring addresses in 32-bit halves, as Linux writes them */
	assert_true(f->drv.bar != 0);
	assert_true(vdrv_cfg_rd(&f->drv, 0x06, 2) & 0x10); /* capability list */
	vdrv_find_caps(&f->drv, fx_check_cap);
	return f;
}

static struct fx *fx_new(bool hooks)
{
	return fx_new_cfg(hooks, false, 0);
}

static void fx_free(struct fx *f)
{
	pci_bus_free(f->bus);
	virtio_pci_free(f->vp);
	iobus_destroy(&f->pio);
	iobus_destroy(&f->mmio);
	arena_free(f->ar);
	free(f);
}

/* Offers buffer `id` (256 writable bytes at buf) in the rings vdrv_queue_setup() put at base. */
static void drv_give(struct fx *f, uint64_t base, uint16_t size, uint16_t id, uint64_t buf)
{
	uint8_t *ram = f->ar->ram;
	uint16_t idx = rd16(ram, base + 0x1000 + 2);

	wr32(ram, base + 16 * id, (uint32_t)buf);
	wr32(ram, base + 16 * id + 4, (uint32_t)(buf >> 32));
	wr32(ram, base + 16 * id + 8, 256);
	wr16(ram, base + 16 * id + 12, VIRTQ_DESC_F_WRITE);
	wr16(ram, base + 16 * id + 14, 0);
	wr16(ram, base + 0x1000 + 4 + 2 * (idx % size), id);
	wr16(ram, base + 0x1000 + 2, (uint16_t)(idx + 1));
}

static uint16_t drv_used_idx(struct fx *f, uint64_t base)
{
	return rd16(f->ar->ram, base + 0x2000 + 2);
}

/* The id of used element k in rings at base. */
static uint32_t drv_used_id(struct fx *f, uint64_t base, uint16_t size, uint16_t k)
{
	return rd32(f->ar->ram, base + 0x2000 + 4 + 8 * (k % size));
}

/* Every register of queue q reads its reset value. Selects q. */
static void queue_regs_reset(struct fx *f, uint16_t q)
{
	vdrv_cc_wr(&f->drv, QSEL, 2, q);
	assert_int_equal(vdrv_cc_rd(&f->drv, QSIZE, 2), QMAX);
	assert_int_equal(vdrv_cc_rd(&f->drv, QMSIX, 2), VIRTIO_MSI_NO_VECTOR);
	assert_int_equal(vdrv_cc_rd(&f->drv, QENABLE, 2), 0);
	assert_int_equal(vdrv_cc_rd(&f->drv, QNOFF, 2), q);
	assert_int_equal(vdrv_cc_rd(&f->drv, QDESC, 8), 0);
	assert_int_equal(vdrv_cc_rd(&f->drv, QDRIVER, 8), 0);
	assert_int_equal(vdrv_cc_rd(&f->drv, QDEVICE, 8), 0);
	assert_false(virtq_enabled(virtio_pci_queue(f->vp, q)));
}

/* The guest moves BAR 0 (64-bit; kept below 4 GiB here). */
static void bar_move(struct fx *f, uint32_t addr)
{
	vdrv_cfg_wr(&f->drv, 0x10, 4, addr);
	vdrv_cfg_wr(&f->drv, 0x14, 4, 0);
	f->drv.bar = addr;
}

/* ---- tests ---- */

static void test_ids_and_caps(void **state)
{
	struct fx *f = fx_new(false);

	(void)state;
	assert_int_equal(vdrv_cfg_rd(&f->drv, 0x00, 2), 0x1AF4);
	assert_int_equal(vdrv_cfg_rd(&f->drv, 0x02, 2), 0x1040 + 42);
	assert_int_equal(vdrv_cfg_rd(&f->drv, 0x08, 1), 1); /* revision */
	assert_int_equal(vdrv_cfg_rd(&f->drv, 0x2C, 2), 0x1AF4);
	/* BAR 0 is 64-bit memory. */
	assert_int_equal(vdrv_cfg_rd(&f->drv, 0x10, 4) & 0x7, 0x4);
	/* The four virtio regions, and the PCI_CFG window. */
	for (int t = T_COMMON; t <= T_PCI_CFG; t++)
		assert_true(f->drv.cap[t] >= 0x40);
	assert_int_equal(f->drv.cap_off[T_COMMON], 0x0000);
	assert_true(f->drv.cap_len[T_COMMON] >= 0x38);
	assert_int_equal(f->drv.cap_off[T_ISR], 0x1000);
	assert_true(f->drv.cap_len[T_ISR] >= 1);
	assert_int_equal(f->drv.cap_off[T_DEVICE], 0x2000);
	assert_int_equal(f->drv.cap_len[T_DEVICE], 8);
	assert_int_equal(f->drv.cap_off[T_NOTIFY], 0x3000);
	assert_int_equal(f->drv.notify_mult, 4);
	assert_int_equal(f->drv.cap_len[T_NOTIFY], NQ * 4);
	/* All regions inside the 32 KiB BAR, none overlapping the MSI-X table. */
	for (int t = T_COMMON; t <= T_DEVICE; t++)
		assert_true(f->drv.cap_off[t] + f->drv.cap_len[t] <= 0x4000);
	assert_true(f->drv.msix_cap >= 0x40);
	/* NQ + 1 vectors */
	assert_int_equal(vdrv_cfg_rd(&f->drv, f->drv.msix_cap + 2, 2) & 0x7FF, NQ);
	assert_int_equal(vdrv_cc_rd(&f->drv, NUMQ, 2), NQ);
	fx_free(f);
}

static void test_features(void **state)
{
	struct fx *f = fx_new(false);

	(void)state;
	assert_int_equal(vdrv_dev_features(&f->drv), F_OFFER | F_V1);
	vdrv_cc_wr(&f->drv, DFSELECT, 4, 2);
	assert_int_equal(vdrv_cc_rd(&f->drv, DF, 4), 0);
	/* A driver that refuses features: takes VERSION_1 and one device bit only. */
	assert_true(vdrv_negotiate(&f->drv, F_V1 | F_DEV5));
	assert_int_equal(virtio_pci_features(f->vp), F_V1 | F_DEV5);
	assert_int_equal(f->t.features_seen, F_V1 | F_DEV5);
	vdrv_cc_wr(&f->drv, GFSELECT, 4, 0);
	assert_int_equal(vdrv_cc_rd(&f->drv, GF, 4), F_DEV5);
	/* Frozen after FEATURES_OK. */
	vdrv_cc_wr(&f->drv, GF, 4, 0xFFFFFFFF);
	assert_int_equal(virtio_pci_features(f->vp), F_V1 | F_DEV5);
	fx_free(f);
}

static void test_features_refused(void **state)
{
	struct fx *f;

	(void)state;
	/* A feature never offered: FEATURES_OK reads back clear. */
	f = fx_new(false);
	assert_false(vdrv_negotiate(&f->drv, F_V1 | (1ull << 7)));
	assert_int_equal(vdrv_status(&f->drv), S_ACK | S_DRIVER);
	/* DRIVER_OK without FEATURES_OK does not stick either. */
	vdrv_status_set(&f->drv, S_DRIVER_OK);
	assert_int_equal(vdrv_status(&f->drv) & S_DRIVER_OK, 0);
	assert_int_equal(f->t.driver_oks, 0);
	/* After a reset the driver retries with a subset. */
	vdrv_reset(&f->drv);
	assert_true(vdrv_negotiate(&f->drv, F_V1 | F_DEV0));
	fx_free(f);

	/* No VERSION_1: refused. */
	f = fx_new(false);
	assert_false(vdrv_negotiate(&f->drv, F_DEV0));
	fx_free(f);

	/* Without ACKNOWLEDGE and DRIVER first: refused. */
	f = fx_new(false);
	vdrv_drv_features(&f->drv, F_V1);
	vdrv_cc_wr(&f->drv, STATUS, 1, S_FEATURES_OK);
	assert_int_equal(vdrv_status(&f->drv) & S_FEATURES_OK, 0);
	fx_free(f);

	/* The device type says no. */
	f = fx_new(false);
	f->t.features_ok_ret = -EINVAL;
	assert_false(vdrv_negotiate(&f->drv, F_V1 | F_DEV0));
	fx_free(f);
}

static void test_status_and_reset(void **state)
{
	struct fx *f = fx_new(true);
	unsigned int raised;

	(void)state;
	f->t.consume = true;
	assert_int_equal(vdrv_status(&f->drv), 0);
	vdrv_status_set(&f->drv, S_ACK);
	assert_int_equal(vdrv_status(&f->drv), S_ACK);
	assert_int_equal(f->t.last_new, S_ACK);
	/* The driver cannot clear a bit but through reset, nor set NEEDS_RESET. */
	vdrv_cc_wr(&f->drv, STATUS, 1, S_DRIVER | S_NEEDS_RESET);
	assert_int_equal(vdrv_status(&f->drv), S_ACK | S_DRIVER);
	assert_true(vdrv_negotiate(&f->drv, F_V1 | F_IND | F_EVT));
	vdrv_queue_setup(&f->drv, 0, 64, 0x10000);
	vdrv_queue_setup(&f->drv, 1, 64, 0x20000);
	vdrv_cc_wr(&f->drv, MSIXCFG, 2, 0);
	vdrv_cc_wr(&f->drv, QMSIX, 2, 1); /* queue 1 */
	vdrv_status_set(&f->drv, S_DRIVER_OK);
	assert_int_equal(vdrv_status(&f->drv), S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	assert_int_equal(f->t.driver_oks, 1);
	assert_true(virtq_enabled(virtio_pci_queue(f->vp, 0)));
	assert_true(f->db_bound[0] && f->db_bound[1]);
	/* Use queue 1: two buffers, one doorbell, both used, one interrupt (MSI-X). */
	vdrv_cfg_wr(&f->drv, f->drv.msix_cap + 2, 2, 0x8000);
	drv_give(f, 0x20000, 64, 0, 0x80000);
	drv_give(f, 0x20000, 64, 1, 0x80100);
	vdrv_kick(&f->drv, 1);
	assert_int_equal(f->t.used[1], 2);
	assert_int_equal(drv_used_idx(f, 0x20000), 2);
	assert_int_equal(f->t.irqs[1], 1);
	assert_int_equal(f->raised, 1);
	assert_int_equal(f->raised_vector, 1);
	/* Leave selectors and the ISR away from their reset values. */
	vdrv_cc_wr(&f->drv, DFSELECT, 4, 1);
	vdrv_cc_wr(&f->drv, GFSELECT, 4, 1);
	vdrv_cc_wr(&f->drv, QSEL, 2, 1);
	virtio_pci_config_changed(f->vp);
	/* FAILED is the driver's to set. */
	vdrv_status_set(&f->drv, S_FAILED);
	assert_true(vdrv_status(&f->drv) & S_FAILED);

	/* Reset: status 0 at once, queues disabled, registers back to defaults. */
	vdrv_reset(&f->drv);
	assert_int_equal(f->t.resets, 2); /* once at creation, once now */
	assert_int_equal(f->t.last_new, 0);
	assert_int_equal(virtio_pci_features(f->vp), 0);
	/* Every doorbell withdrawn, from where it was offered. */
	assert_int_equal(f->db_calls, 4);
	assert_false(f->db_bound[0] || f->db_bound[1]);
	assert_int_equal(vdrv_cc_rd(&f->drv, QSEL, 2), 0);
	assert_int_equal(vdrv_cc_rd(&f->drv, DFSELECT, 4), 0);
	assert_int_equal(vdrv_cc_rd(&f->drv, GFSELECT, 4), 0);
	assert_int_equal(vdrv_cc_rd(&f->drv, GF, 4), 0);
	assert_int_equal(vdrv_cc_rd(&f->drv, MSIXCFG, 2), VIRTIO_MSI_NO_VECTOR);
	assert_int_equal(vdrv_bar_rd(&f->drv, f->drv.cap_off[T_ISR], 1), 0);
	for (uint16_t q = 0; q < NQ; q++)
		queue_regs_reset(f, q);
	/* Doorbells of a reset device reach nothing. */
	drv_give(f, 0x20000, 64, 2, 0x80200);
	vdrv_kick(&f->drv, 1);
	virtio_pci_kick(f->vp, 1);
	assert_int_equal(f->t.notifies[1], 1);
	assert_int_equal(drv_used_idx(f, 0x20000), 2);

	/* Initialised again: other features, smaller queues elsewhere, another vector. */
	assert_true(vdrv_negotiate(&f->drv, F_V1 | F_DEV0));
	assert_int_equal(virtio_pci_features(f->vp), F_V1 | F_DEV0);
	vdrv_queue_setup(&f->drv, 0, 16, 0x40000);
	vdrv_queue_setup(&f->drv, 1, 32, 0x50000);
	vdrv_cc_wr(&f->drv, QMSIX, 2, 2);
	vdrv_status_set(&f->drv, S_DRIVER_OK);
	assert_int_equal(vdrv_status(&f->drv), S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	assert_int_equal(f->t.driver_oks, 2);
	assert_int_equal(virtq_size(virtio_pci_queue(f->vp, 0)), 16);
	assert_int_equal(virtq_size(virtio_pci_queue(f->vp, 1)), 32);
	assert_int_equal(f->db_calls, 6);
	assert_true(f->db_bound[0] && f->db_bound[1]);
	assert_int_equal(f->db_gpa[1], f->drv.bar + vdrv_notify_addr(&f->drv, 1));
	/* The queue works again, from index 0 of its new rings: by BAR write, by ioeventfd. */
	raised = f->raised;
	drv_give(f, 0x50000, 32, 5, 0x90000);
	vdrv_kick(&f->drv, 1);
	assert_int_equal(f->t.used[1], 3);
	assert_int_equal(drv_used_idx(f, 0x50000), 1);
	assert_int_equal(drv_used_id(f, 0x50000, 32, 0), 5);
	assert_int_equal(f->raised, raised + 1);
	assert_int_equal(f->raised_vector, 2);
	drv_give(f, 0x50000, 32, 6, 0x90100);
	virtio_pci_kick(f->vp, 1);
	assert_int_equal(drv_used_idx(f, 0x50000), 2);
	assert_int_equal(drv_used_id(f, 0x50000, 32, 1), 6);
	assert_int_equal(f->raised, raised + 2);
	assert_int_equal(f->t.irqs[1], 3);
	/* The old rings stay as the reset left them. */
	assert_int_equal(drv_used_idx(f, 0x20000), 2);
	vdrv_cc_wr(&f->drv, STATUS, 1, 0);
	assert_false(f->db_bound[0] || f->db_bound[1]);
	vdrv_cfg_wr(&f->drv, f->drv.msix_cap + 2, 2, 0);

	/* driver_ok refused by the device: NEEDS_RESET. */
	f->t.driver_ok_ret = -EIO;
	assert_true(vdrv_negotiate(&f->drv, F_V1));
	vdrv_status_set(&f->drv, S_DRIVER_OK);
	assert_true(vdrv_status(&f->drv) & S_NEEDS_RESET);
	vdrv_reset(&f->drv);
	fx_free(f);
}

static void test_queue_setup(void **state)
{
	struct fx *f = fx_new(false);
	struct virtq *vq;

	(void)state;
	assert_true(vdrv_negotiate(&f->drv, F_V1 | F_IND));
	vdrv_cc_wr(&f->drv, QSEL, 2, 0);
	assert_int_equal(vdrv_cc_rd(&f->drv, QSIZE, 2), QMAX);
	assert_int_equal(vdrv_cc_rd(&f->drv, QNOFF, 2), 0);
	vdrv_cc_wr(&f->drv, QSEL, 2, 1);
	assert_int_equal(vdrv_cc_rd(&f->drv, QNOFF, 2), 1);
	/* A queue beyond num_queues reads size 0. */
	vdrv_cc_wr(&f->drv, QSEL, 2, NQ);
	assert_int_equal(vdrv_cc_rd(&f->drv, QSIZE, 2), 0);
	vdrv_cc_wr(&f->drv, QSIZE, 2, 16); /* ignored */
	assert_int_equal(vdrv_cc_rd(&f->drv, QSIZE, 2), 0);

	/* Size: lowered to a power of two, never raised, never odd sizes. */
	vdrv_cc_wr(&f->drv, QSEL, 2, 0);
	vdrv_cc_wr(&f->drv, QSIZE, 2, 100);
	assert_int_equal(vdrv_cc_rd(&f->drv, QSIZE, 2), QMAX);
	vdrv_cc_wr(&f->drv, QSIZE, 2, 512);
	assert_int_equal(vdrv_cc_rd(&f->drv, QSIZE, 2), QMAX);
	vdrv_cc_wr(&f->drv, QSIZE, 2, 0);
	assert_int_equal(vdrv_cc_rd(&f->drv, QSIZE, 2), QMAX);
	vdrv_cc_wr(&f->drv, QSIZE, 2, 32);
	assert_int_equal(vdrv_cc_rd(&f->drv, QSIZE, 2), 32);

	/* 64-bit addresses in halves, and whole. */
	vdrv_cc_wr(&f->drv, QDESC, 4, 0x30000);
	vdrv_cc_wr(&f->drv, QDESC + 4, 4, 0x1);
	assert_int_equal(vdrv_cc_rd(&f->drv, QDESC, 8), 0x100030000ull);
	assert_int_equal(vdrv_cc_rd(&f->drv, QDESC + 4, 4), 1);
	vdrv_cc_wr(&f->drv, QDESC + 4, 4, 0);
	vdrv_cc_wr(&f->drv, QDRIVER, 8, 0x31000);
	vdrv_cc_wr(&f->drv, QDEVICE, 8, 0x32000);
	assert_int_equal(vdrv_cc_rd(&f->drv, QDRIVER, 8), 0x31000);
	vdrv_cc_wr(&f->drv, QENABLE, 2, 1);
	assert_int_equal(vdrv_cc_rd(&f->drv, QENABLE, 2), 1);
	vq = virtio_pci_queue(f->vp, 0);
	assert_true(virtq_enabled(vq));
	assert_int_equal(virtq_size(vq), 32);
	/* Only while disabled: these writes are ignored now. */
	vdrv_cc_wr(&f->drv, QSIZE, 2, 16);
	vdrv_cc_wr(&f->drv, QDESC, 8, 0x50000);
	assert_int_equal(vdrv_cc_rd(&f->drv, QSIZE, 2), 32);
	assert_int_equal(vdrv_cc_rd(&f->drv, QDESC, 8), 0x30000);
	vdrv_cc_wr(&f->drv, QENABLE, 2, 0); /* no RING_RESET: ignored */
	assert_int_equal(vdrv_cc_rd(&f->drv, QENABLE, 2), 1);
	assert_null(virtio_pci_queue(f->vp, NQ));

	/* Rings outside RAM: the queue stays off and the device needs a reset. */
	vdrv_cc_wr(&f->drv, QSEL, 2, 1);
	vdrv_cc_wr(&f->drv, QDESC, 8, RAM_SIZE - 16);
	vdrv_cc_wr(&f->drv, QDRIVER, 8, 0x41000);
	vdrv_cc_wr(&f->drv, QDEVICE, 8, 0x42000);
	vdrv_cc_wr(&f->drv, QENABLE, 2, 1);
	assert_int_equal(vdrv_cc_rd(&f->drv, QENABLE, 2), 0);
	assert_true(virtq_broken(virtio_pci_queue(f->vp, 1)));
	assert_true(vdrv_status(&f->drv) & S_NEEDS_RESET);
	vdrv_reset(&f->drv);
	assert_false(virtq_broken(virtio_pci_queue(f->vp, 1)));
	fx_free(f);
}

static void test_msix_vectors(void **state)
{
	struct fx *f = fx_new(false);
	uint64_t table = 0;

	(void)state;
	/* NQ + 1 vectors: 0 .. NQ valid, beyond reads back NO_VECTOR. */
	vdrv_cc_wr(&f->drv, MSIXCFG, 2, NQ);
	assert_int_equal(vdrv_cc_rd(&f->drv, MSIXCFG, 2), NQ);
	vdrv_cc_wr(&f->drv, MSIXCFG, 2, NQ + 1);
	assert_int_equal(vdrv_cc_rd(&f->drv, MSIXCFG, 2), VIRTIO_MSI_NO_VECTOR);
	vdrv_cc_wr(&f->drv, MSIXCFG, 2, 0);
	vdrv_cc_wr(&f->drv, QSEL, 2, 0);
	vdrv_cc_wr(&f->drv, QMSIX, 2, 1);
	assert_int_equal(vdrv_cc_rd(&f->drv, QMSIX, 2), 1);
	vdrv_cc_wr(&f->drv, QSEL, 2, 1);
	vdrv_cc_wr(&f->drv, QMSIX, 2, 7);
	assert_int_equal(vdrv_cc_rd(&f->drv, QMSIX, 2), VIRTIO_MSI_NO_VECTOR);
	vdrv_cc_wr(&f->drv, QMSIX, 2, 2);

	/* Enable MSI-X; program and unmask vectors 0..2 (table at BAR + 0x4000). */
	table = vdrv_cfg_rd(&f->drv, f->drv.msix_cap + 4, 4);
	assert_int_equal(table & 7, 0);
	vdrv_cfg_wr(&f->drv, f->drv.msix_cap + 2, 2, 0x8000);
	for (uint32_t v = 0; v <= NQ; v++) {
		vdrv_bar_wr(&f->drv, (uint32_t)table + 16 * v, 4, 0xFEE00000u);
		vdrv_bar_wr(&f->drv, (uint32_t)table + 16 * v + 4, 4, 0);
		vdrv_bar_wr(&f->drv, (uint32_t)table + 16 * v + 8, 4, 0x40 + v);
		vdrv_bar_wr(&f->drv, (uint32_t)table + 16 * v + 12, 4, 0);
	}
	assert_int_equal(virtio_pci_notify(f->vp, 0), 0);
	assert_int_equal(f->nmsi, 1);
	assert_int_equal(f->msi_data, 0x41);
	assert_int_equal(virtio_pci_notify(f->vp, 1), 0);
	assert_int_equal(f->msi_data, 0x42);
	virtio_pci_config_changed(f->vp);
	assert_int_equal(f->nmsi, 3);
	assert_int_equal(f->msi_data, 0x40);
	/* NO_VECTOR: nothing sent. */
	vdrv_cc_wr(&f->drv, QSEL, 2, 1);
	vdrv_cc_wr(&f->drv, QMSIX, 2, VIRTIO_MSI_NO_VECTOR);
	assert_int_equal(virtio_pci_notify(f->vp, 1), 0);
	assert_int_equal(f->nmsi, 3);
	assert_int_equal(virtio_pci_notify(f->vp, NQ), -EINVAL);
	/* No INTx and no ISR bits with MSI-X. */
	assert_int_equal(f->level, 0);
	assert_int_equal(vdrv_bar_rd(&f->drv, f->drv.cap_off[T_ISR], 1), 0);
	fx_free(f);
}

static void test_isr_intx(void **state)
{
	struct fx *f = fx_new(false);

	(void)state;
	assert_int_equal(f->level, 0);
	assert_int_equal(virtio_pci_notify(f->vp, 1), 0);
	assert_int_equal(f->level, 1);
	virtio_pci_config_changed(f->vp);
	/* Read to clear: both bits, then the line drops. */
	assert_int_equal(vdrv_bar_rd(&f->drv, f->drv.cap_off[T_ISR], 1),
			 VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG);
	assert_int_equal(f->level, 0);
	assert_int_equal(vdrv_bar_rd(&f->drv, f->drv.cap_off[T_ISR], 1), 0);
	/* Writes do nothing. */
	assert_int_equal(virtio_pci_notify(f->vp, 0), 0);
	vdrv_bar_wr(&f->drv, f->drv.cap_off[T_ISR], 1, 0);
	assert_int_equal(f->level, 1);
	assert_int_equal(vdrv_bar_rd(&f->drv, f->drv.cap_off[T_ISR], 1), VIRTIO_ISR_QUEUE);
	assert_int_equal(f->level, 0);
	/* Interrupt Disable in the command register keeps the line low. */
	vdrv_cfg_wr(&f->drv, 0x04, 2, 0x0406);
	assert_int_equal(virtio_pci_notify(f->vp, 0), 0);
	assert_int_equal(f->level, 0);
	vdrv_cfg_wr(&f->drv, 0x04, 2, 0x0006);
	assert_int_equal(f->level, 1);
	fx_free(f);
}

/*
 * no_msix (QEMU's vectors=0): no MSI-X capability, no table or PBA in the
 * BAR, no vector for the driver to pick; every notification goes through
 * the ISR and INTx, never through the msix_raise hook.
 */
static void test_no_msix(void **state)
{
	struct fx *f = fx_new_cfg(true, true, 7);
	uint8_t b[4] = { 0 };
	uint32_t bar_lo;

	(void)state;
	assert_int_equal(f->drv.slot, 7);
	assert_int_equal(pci_dev_gsi(f->pdev), 16 + 7);
	assert_int_equal(vdrv_cfg_rd(&f->drv, 0x3C, 1), 16 + 7); /* Interrupt Line */
	assert_int_equal(vdrv_cfg_rd(&f->drv, 0x3D, 1), 1);	 /* INTA# */
	/* Every virtio capability, and no MSI-X one. */
	assert_int_equal(f->drv.msix_cap, 0);
	for (unsigned int t = T_COMMON; t <= T_PCI_CFG; t++)
		assert_true(f->drv.cap[t] != 0);
	assert_false(pci_dev_msix_enabled(f->pdev));
	assert_int_equal(pci_dev_msix_vector(f->pdev, 0, NULL, NULL, NULL), -EINVAL);
	/* The BAR ends where the MSI-X table would start: 16 KiB. */
	vdrv_cfg_wr(&f->drv, 0x10, 4, 0xFFFFFFFFu);
	bar_lo = vdrv_cfg_rd(&f->drv, 0x10, 4);
	assert_int_equal(bar_lo & ~0xFu, 0xFFFFC000u);
	bar_move(f, (uint32_t)f->drv.bar);
	assert_int_equal(vdrv_cc_rd(&f->drv, NUMQ, 2), NQ);
	assert_true(iobus_dispatch(&f->mmio, f->drv.bar + 0x4000, b, 4, false) != 0);
	assert_true(iobus_dispatch(&f->mmio, f->drv.bar + 0x6000, b, 4, false) != 0);
	/* No vector to pick: config and queue vectors read back NO_VECTOR. */
	vdrv_cc_wr(&f->drv, MSIXCFG, 2, 0);
	assert_int_equal(vdrv_cc_rd(&f->drv, MSIXCFG, 2), VIRTIO_MSI_NO_VECTOR);
	vdrv_cc_wr(&f->drv, QSEL, 2, 0);
	vdrv_cc_wr(&f->drv, QMSIX, 2, 0);
	assert_int_equal(vdrv_cc_rd(&f->drv, QMSIX, 2), VIRTIO_MSI_NO_VECTOR);

	/* A driver's run: a used buffer raises INTx with ISR bit 0. */
	assert_true(vdrv_negotiate(&f->drv, F_V1));
	vdrv_queue_setup(&f->drv, 0, 64, 0x10000);
	vdrv_queue_setup(&f->drv, 1, 64, 0x20000);
	vdrv_status_set(&f->drv, S_DRIVER_OK);
	f->t.consume = true;
	drv_give(f, 0x10000, 64, 0, 0x40000);
	vdrv_kick(&f->drv, 0);
	assert_int_equal(f->t.used[0], 1);
	assert_int_equal(f->t.irqs[0], 1);
	assert_int_equal(drv_used_idx(f, 0x10000), 1);
	assert_int_equal(f->level, 1);
	assert_int_equal(vdrv_bar_rd(&f->drv, f->drv.cap_off[T_ISR], 1), VIRTIO_ISR_QUEUE);
	assert_int_equal(f->level, 0);
	/* A configuration change: ISR bit 1, the line again. */
	virtio_pci_config_changed(f->vp);
	assert_int_equal(f->level, 1);
	assert_int_equal(vdrv_bar_rd(&f->drv, f->drv.cap_off[T_ISR], 1), VIRTIO_ISR_CONFIG);
	assert_int_equal(f->level, 0);
	/* Never MSI-X: neither the hook nor the PCI core sent a message. */
	assert_int_equal(f->raised, 0);
	assert_int_equal(f->nmsi, 0);
	fx_free(f);
}

static void test_notify(void **state)
{
	struct fx *f = fx_new(false);

	(void)state;
	assert_true(vdrv_negotiate(&f->drv, F_V1));
	vdrv_queue_setup(&f->drv, 0, 64, 0x10000);
	vdrv_queue_setup(&f->drv, 1, 64, 0x20000);
	/* Before DRIVER_OK, doorbells are not passed on. */
	vdrv_kick(&f->drv, 1);
	assert_int_equal(f->t.notifies[1], 0);
	vdrv_status_set(&f->drv, S_DRIVER_OK);
	vdrv_kick(&f->drv, 1);
	vdrv_kick(&f->drv, 0);
	vdrv_bar_wr(&f->drv, vdrv_notify_addr(&f->drv, 1), 4, 1);
	assert_int_equal(f->t.notifies[0], 1);
	assert_int_equal(f->t.notifies[1], 2);
	/* Past the queues, or between doorbells: ignored. */
	vdrv_bar_wr(&f->drv, f->drv.cap_off[T_NOTIFY] + 4 * NQ, 2, 0);
	vdrv_bar_wr(&f->drv, f->drv.cap_off[T_NOTIFY] + 2, 2, 0);
	assert_int_equal(f->t.notifies[0], 1);
	/* An ioeventfd would call this. */
	virtio_pci_kick(f->vp, 0);
	virtio_pci_kick(f->vp, NQ);
	assert_int_equal(f->t.notifies[0], 2);
	/* After NEEDS_RESET, nothing more reaches the device. */
	virtio_pci_set_needs_reset(f->vp);
	assert_true(vdrv_status(&f->drv) & S_NEEDS_RESET);
	assert_int_equal(f->level, 1); /* config interrupt (INTx) */
	assert_int_equal(vdrv_bar_rd(&f->drv, f->drv.cap_off[T_ISR], 1), VIRTIO_ISR_CONFIG);
	vdrv_kick(&f->drv, 0);
	assert_int_equal(f->t.notifies[0], 2);
	fx_free(f);
}

static void test_doorbell_hooks(void **state)
{
	struct fx *f = fx_new(true);

	(void)state;
	assert_true(vdrv_negotiate(&f->drv, F_V1));
	vdrv_queue_setup(&f->drv, 1, 64, 0x20000);
	assert_int_equal(f->db_calls, 0);
	vdrv_status_set(&f->drv, S_DRIVER_OK);
	/* Only the enabled queue gets a doorbell, at its notify address. */
	assert_int_equal(f->db_calls, 1);
	assert_true(f->db_bound[1]);
	assert_int_equal(f->db_gpa[1], f->drv.bar + vdrv_notify_addr(&f->drv, 1));
	/* Interrupts go to the irqfd hook instead of the PCI core once MSI-X is on. */
	vdrv_cc_wr(&f->drv, QSEL, 2, 1);
	vdrv_cc_wr(&f->drv, QMSIX, 2, 2);
	assert_int_equal(virtio_pci_notify(f->vp, 1), 0);
	assert_int_equal(f->raised, 0); /* MSI-X off: INTx */
	assert_int_equal(f->level, 1);
	vdrv_cfg_wr(&f->drv, f->drv.msix_cap + 2, 2, 0x8000);
	assert_int_equal(virtio_pci_notify(f->vp, 1), 0);
	assert_int_equal(f->raised, 1);
	assert_int_equal(f->raised_vector, 2);
	assert_int_equal(f->nmsi, 0);
	vdrv_cc_wr(&f->drv, STATUS, 1, 0);
	assert_int_equal(f->db_calls, 2);
	assert_false(f->db_bound[1]);
	fx_free(f);
}

/*
 * queue_vector: only a real change of a queue's vector while the device is
 * at DRIVER_OK reaches the hook (with the value as it reads back); the
 * vectors written during set-up, the same value again, the config vector
 * and a reset do not.
 */
static void test_queue_vector_hook(void **state)
{
	struct fx *f = fx_new(true);
	struct virtio_pci_queue_info qi;

	(void)state;
	assert_true(vdrv_negotiate(&f->drv, F_V1));
	vdrv_queue_setup(&f->drv, 0, 64, 0x10000);
	vdrv_queue_setup(&f->drv, 1, 64, 0x20000);
	vdrv_cc_wr(&f->drv, QSEL, 2, 0);
	vdrv_cc_wr(&f->drv, QMSIX, 2, 1);
	vdrv_cc_wr(&f->drv, QMSIX, 2, 2);
	vdrv_cc_wr(&f->drv, QSEL, 2, 1);
	vdrv_cc_wr(&f->drv, QMSIX, 2, 2);
	assert_int_equal(f->qv_calls, 0); /* before DRIVER_OK: read at DRIVER_OK */
	vdrv_status_set(&f->drv, S_DRIVER_OK);
	assert_int_equal(f->qv_calls, 0);
	/* The same vector again: no change. */
	vdrv_cc_wr(&f->drv, QMSIX, 2, 2);
	assert_int_equal(f->qv_calls, 0);
	/* Queue 1 moves to vector 0. */
	vdrv_cc_wr(&f->drv, QMSIX, 2, 0);
	assert_int_equal(f->qv_calls, 1);
	assert_int_equal(f->qv_queue, 1);
	assert_int_equal(f->qv_vector, 0);
	assert_true(f->qv_status & S_DRIVER_OK);
	assert_int_equal(virtio_pci_queue_info(f->vp, 1, &qi), 0);
	assert_int_equal(qi.msix, 0);
	/* Queue 0 to a vector beyond the table: as it reads back, NO_VECTOR. */
	vdrv_cc_wr(&f->drv, QSEL, 2, 0);
	vdrv_cc_wr(&f->drv, QMSIX, 2, NQ + 1);
	assert_int_equal(f->qv_calls, 2);
	assert_int_equal(f->qv_queue, 0);
	assert_int_equal(f->qv_vector, VIRTIO_MSI_NO_VECTOR);
	vdrv_cc_wr(&f->drv, QMSIX, 2, VIRTIO_MSI_NO_VECTOR); /* still NO_VECTOR */
	assert_int_equal(f->qv_calls, 2);
	vdrv_cc_wr(&f->drv, QMSIX, 2, 1);
	assert_int_equal(f->qv_calls, 3);
	assert_int_equal(f->qv_vector, 1);
	/* The config vector and a selector past the queues are none of its business. */
	vdrv_cc_wr(&f->drv, MSIXCFG, 2, 2);
	vdrv_cc_wr(&f->drv, QSEL, 2, NQ);
	vdrv_cc_wr(&f->drv, QMSIX, 2, 0);
	assert_int_equal(f->qv_calls, 3);
	/* A device that needs a reset is still at DRIVER_OK: its backend may run. */
	virtio_pci_set_needs_reset(f->vp);
	vdrv_cc_wr(&f->drv, QSEL, 2, 1);
	vdrv_cc_wr(&f->drv, QMSIX, 2, 2);
	assert_int_equal(f->qv_calls, 4);
	assert_int_equal(f->qv_vector, 2);
	/* A reset sets the vectors back without a call; set-up again: none either. */
	vdrv_reset(&f->drv);
	assert_int_equal(vdrv_cc_rd(&f->drv, QMSIX, 2), VIRTIO_MSI_NO_VECTOR);
	assert_true(vdrv_negotiate(&f->drv, F_V1));
	vdrv_queue_setup(&f->drv, 1, 64, 0x20000);
	vdrv_cc_wr(&f->drv, QMSIX, 2, 1);
	assert_int_equal(f->qv_calls, 4);
	vdrv_status_set(&f->drv, S_DRIVER_OK);
	vdrv_cc_wr(&f->drv, QMSIX, 2, 0);
	assert_int_equal(f->qv_calls, 5);
	assert_int_equal(f->qv_queue, 1);
	assert_int_equal(f->qv_vector, 0);
	fx_free(f);
}

static void test_doorbells_follow_bar(void **state)
{
	struct fx *f = fx_new(true);
	uint8_t b[2] = { 1, 0 };

	(void)state;
	assert_true(vdrv_negotiate(&f->drv, F_V1));
	vdrv_queue_setup(&f->drv, 0, 64, 0x10000);
	vdrv_queue_setup(&f->drv, 1, 64, 0x20000);
	/* Before DRIVER_OK a move offers nothing. */
	bar_move(f, 0xD0000000u);
	assert_int_equal(f->db_calls, 0);
	vdrv_status_set(&f->drv, S_DRIVER_OK);
	assert_int_equal(vdrv_status(&f->drv), S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	assert_int_equal(f->db_calls, 2);
	db_expect(f, 0, 0, 0xD0003000u, true);
	db_expect(f, 1, 1, 0xD0003004u, true);

	/* Moved: every doorbell withdrawn from the old place, then offered at the new. */
	bar_move(f, 0xD0008000u);
	assert_int_equal(f->db_calls, 6);
	db_expect(f, 2, 0, 0xD0003000u, false);
	db_expect(f, 3, 1, 0xD0003004u, false);
	db_expect(f, 4, 0, 0xD000B000u, true);
	db_expect(f, 5, 1, 0xD000B004u, true);
	/* The BAR answers at the new place only (doorbells as MMIO writes without ioeventfds). */
	vdrv_kick(&f->drv, 1);
	assert_int_equal(f->t.notifies[1], 1);
	assert_int_equal(iobus_dispatch(&f->mmio, 0xD0003004u, b, 2, true), -ENOENT);
	assert_int_equal(f->t.notifies[1], 1);

	/* Memory decoding off: withdrawn, nothing offered; a move meanwhile: nothing. */
	vdrv_cfg_wr(&f->drv, 0x04, 2, 0x0004);
	assert_int_equal(f->db_calls, 8);
	db_expect(f, 6, 0, 0xD000B000u, false);
	db_expect(f, 7, 1, 0xD000B004u, false);
	bar_move(f, 0xD0010000u);
	assert_int_equal(f->db_calls, 8);
	/* On again: offered where the BAR is now. */
	vdrv_cfg_wr(&f->drv, 0x04, 2, 0x0006);
	assert_int_equal(f->db_calls, 10);
	db_expect(f, 8, 0, 0xD0013000u, true);
	db_expect(f, 9, 1, 0xD0013004u, true);

	/* Sized while decoding: withdrawn while off the bus, back when the address is. */
	vdrv_cfg_wr(&f->drv, 0x10, 4, 0xFFFFFFFFu);
	assert_int_equal(f->db_calls, 12);
	assert_false(f->db_bound[0] || f->db_bound[1]);
	vdrv_cfg_wr(&f->drv, 0x10, 4, 0xD0010000u);
	assert_int_equal(f->db_calls, 14);
	assert_true(f->db_bound[0] && f->db_bound[1]);
	assert_int_equal(f->db_gpa[1], 0xD0013004u);
	/* Writes that leave the decoded address alone: no call. */
	vdrv_cfg_wr(&f->drv, 0x04, 2, 0x0002);
	vdrv_cfg_wr(&f->drv, 0x04, 2, 0x0006);
	bar_move(f, 0xD0010000u);
	assert_int_equal(f->db_calls, 14);
	vdrv_kick(&f->drv, 0);
	assert_int_equal(f->t.notifies[0], 1);

	/* Reset: withdrawn; moves and decoding changes after it offer nothing. */
	vdrv_cc_wr(&f->drv, STATUS, 1, 0);
	assert_int_equal(f->db_calls, 16);
	db_expect(f, 14, 0, 0xD0013000u, false);
	db_expect(f, 15, 1, 0xD0013004u, false);
	bar_move(f, 0xD0020000u);
	vdrv_cfg_wr(&f->drv, 0x04, 2, 0x0000);
	vdrv_cfg_wr(&f->drv, 0x04, 2, 0x0006);
	assert_int_equal(f->db_calls, 16);
	assert_false(f->db_bound[0] || f->db_bound[1]);
	fx_free(f);
}

/* DRIVER_OK written through the PCI_CFG window while the BAR is not decoded. */
static void test_doorbells_undecoded(void **state)
{
	struct fx *f = fx_new(true);
	unsigned int c = f->drv.cap[T_PCI_CFG];

	(void)state;
	assert_true(vdrv_negotiate(&f->drv, F_V1));
	vdrv_queue_setup(&f->drv, 0, 64, 0x10000);
	vdrv_cfg_wr(&f->drv, 0x04, 2, 0x0004);
	vdrv_cfg_wr(&f->drv, c + 4, 1, 0);
	vdrv_cfg_wr(&f->drv, c + 8, 4, f->drv.cap_off[T_COMMON] + STATUS);
	vdrv_cfg_wr(&f->drv, c + 12, 4, 1);
	vdrv_cfg_wr(&f->drv, c + 16, 4, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	assert_int_equal(virtio_pci_status(f->vp), S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	/* Nowhere to offer the doorbell yet. */
	assert_int_equal(f->db_calls, 0);
	/* Decoding on: offered (only the enabled queue). */
	vdrv_cfg_wr(&f->drv, 0x04, 2, 0x0006);
	assert_int_equal(f->db_calls, 1);
	db_expect(f, 0, 0, f->drv.bar + 0x3000, true);
	vdrv_cc_wr(&f->drv, STATUS, 1, 0);
	assert_int_equal(f->db_calls, 2);
	db_expect(f, 1, 0, f->drv.bar + 0x3000, false);
	fx_free(f);
}

static void test_device_config(void **state)
{
	struct fx *f = fx_new(false);
	uint8_t gen;

	(void)state;
	assert_int_equal(vdrv_bar_rd(&f->drv, f->drv.cap_off[T_DEVICE], 4), 0x04030201);
	assert_int_equal(vdrv_bar_rd(&f->drv, f->drv.cap_off[T_DEVICE] + 5, 1), 6);
	assert_int_equal(vdrv_bar_rd(&f->drv, f->drv.cap_off[T_DEVICE] + 4, 4), 0x08070605);
	/* Past the end: zeros, and the device is not asked. */
	assert_int_equal(vdrv_bar_rd(&f->drv, f->drv.cap_off[T_DEVICE] + 6, 4), 0);
	vdrv_bar_wr(&f->drv, f->drv.cap_off[T_DEVICE] + 7, 1, 0x77);
	assert_int_equal(vdrv_bar_rd(&f->drv, f->drv.cap_off[T_DEVICE] + 7, 1), 0x77);
	/* config_generation moves when the device says its config changed. */
	gen = (uint8_t)vdrv_cc_rd(&f->drv, CFGGEN, 1);
	assert_int_equal(vdrv_cc_rd(&f->drv, CFGGEN, 1), gen);
	f->t.cfg[0] = 0x99;
	virtio_pci_config_changed(f->vp);
	assert_int_not_equal(vdrv_cc_rd(&f->drv, CFGGEN, 1), gen);
	assert_int_equal(vdrv_bar_rd(&f->drv, f->drv.cap_off[T_DEVICE], 1), 0x99);
	fx_free(f);
}

static void test_common_widths(void **state)
{
	struct fx *f = fx_new(false);

	(void)state;
	/* Byte reads of wider fields; a write of the wrong width is ignored. */
	assert_int_equal(vdrv_cc_rd(&f->drv, NUMQ, 1), NQ);
	assert_int_equal(vdrv_cc_rd(&f->drv, NUMQ + 1, 1), 0);
	vdrv_cc_wr(&f->drv, QSEL, 1, 1);
	assert_int_equal(vdrv_cc_rd(&f->drv, QSEL, 2), 0);
	vdrv_cc_wr(&f->drv, QSEL, 4, 1);
	assert_int_equal(vdrv_cc_rd(&f->drv, QSEL, 2), 0);
	vdrv_cc_wr(&f->drv, QSEL, 2, 1);
	assert_int_equal(vdrv_cc_rd(&f->drv, QSEL, 2), 1);
	/* num_queues is read-only. */
	vdrv_cc_wr(&f->drv, NUMQ, 2, 9);
	assert_int_equal(vdrv_cc_rd(&f->drv, NUMQ, 2), NQ);
	/* Beyond the structure: zeros. */
	assert_int_equal(vdrv_cc_rd(&f->drv, 0x100, 4), 0);
	fx_free(f);
}

static void test_pci_cfg_window(void **state)
{
	struct fx *f = fx_new(false);
	unsigned int c = f->drv.cap[T_PCI_CFG];

	(void)state;
	/* Read num_queues (common config + 0x12, 2 bytes) through config space. */
	vdrv_cfg_wr(&f->drv, c + 4, 1, 0);
	vdrv_cfg_wr(&f->drv, c + 8, 4, f->drv.cap_off[T_COMMON] + NUMQ);
	vdrv_cfg_wr(&f->drv, c + 12, 4, 2);
	assert_int_equal(vdrv_cfg_rd(&f->drv, c + 8, 4), NUMQ);
	assert_int_equal(vdrv_cfg_rd(&f->drv, c + 16, 4) & 0xFFFF, NQ);
	/* Write the status through it. */
	vdrv_cfg_wr(&f->drv, c + 8, 4, f->drv.cap_off[T_COMMON] + STATUS);
	vdrv_cfg_wr(&f->drv, c + 12, 4, 1);
	vdrv_cfg_wr(&f->drv, c + 16, 4, S_ACK);
	assert_int_equal(vdrv_status(&f->drv), S_ACK);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids_and_caps),
		cmocka_unit_test(test_features),
		cmocka_unit_test(test_features_refused),
		cmocka_unit_test(test_status_and_reset),
		cmocka_unit_test(test_queue_setup),
		cmocka_unit_test(test_msix_vectors),
		cmocka_unit_test(test_isr_intx),
		cmocka_unit_test(test_no_msix),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_doorbell_hooks),
		cmocka_unit_test(test_queue_vector_hook),
		cmocka_unit_test(test_device_config),
		cmocka_unit_test(test_common_widths),
		cmocka_unit_test(test_pci_cfg_window),
		cmocka_unit_test(test_doorbells_follow_bar),
		cmocka_unit_test(test_doorbells_undecoded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
