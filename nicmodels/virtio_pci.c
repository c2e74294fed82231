// SPDX-License-Identifier: BSD-3-Clause
/*
 * Modern virtio-pci transport (VIRTIO 1.2, 4.1). See virtio_pci.h for the
 * layout, the device-type contract and the hooks.
 *
 * Threads and locks: vp->lock guards the common configuration (selectors,
 * features, queue registers, status transitions) and the doorbell bindings.
 * It is taken in the BAR and config-space handlers and in the PCI core's
 * bar_changed (vCPU threads; the PCI core calls them all without its own
 * locks) and held across ops->reset / features_ok / driver_ok /
 * status_changed, hooks->doorbell and hooks->queue_vector. Lock order:
 * vp->lock -> PCI core locks (pci_dev_notify, pci_dev_set_intx,
 * pci_dev_bar_decoded). Fields
 * read by device threads without the lock (status, ISR, generation, MSI-X
 * vectors, queue enabled) are accessed with atomics.
 */
#define LOG_COMPONENT "virtio-pci"

#include "nicmodels/virtio_pci.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

/* BAR 0 (64-bit, slots 0 and 1) layout. */
#define VP_BAR 0
#define VP_BAR_SIZE 0x8000u
#define VP_BAR_SIZE_NO_MSIX 0x4000u /* up to the MSI-X table */
#define VP_COMMON_OFF 0x0000u
#define VP_COMMON_LEN 0x40u
#define VP_ISR_OFF 0x1000u
#define VP_ISR_LEN 0x1u
#define VP_DEVCFG_OFF 0x2000u
#define VP_NOTIFY_OFF 0x3000u
#define VP_NOTIFY_MULT 4u
#define VP_MSIX_TABLE_OFF 0x4000u
#define VP_MSIX_PBA_OFF 0x6000u

/* Vendor capability types (4.1.4). */
#define VP_CAP_COMMON 1
#define VP_CAP_NOTIFY 2
#define VP_CAP_ISR 3
#define VP_CAP_DEVICE 4
#define VP_CAP_PCI_CFG 5
#define PCI_CAP_ID_VNDR 0x09

/* struct virtio_pci_common_cfg offsets (4.1.4.3). */
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
	CC_Q_NDATA = 0x38,
	CC_Q_RESET = 0x3A,
};

/* Field sizes by offset: the common configuration as a sparse table. */
static const uint8_t cc_size[VP_COMMON_LEN] = {
	[CC_DFSELECT] = 4, [CC_DF] = 4,	     [CC_GFSELECT] = 4, [CC_GF] = 4,
	[CC_MSIX] = 2,	   [CC_NUMQ] = 2,    [CC_STATUS] = 1,	[CC_CFGGEN] = 1,
	[CC_Q_SELECT] = 2, [CC_Q_SIZE] = 2,  [CC_Q_MSIX] = 2,	[CC_Q_ENABLE] = 2,
	[CC_Q_NOFF] = 2,   [CC_Q_DESC] = 8,  [CC_Q_DRIVER] = 8, [CC_Q_DEVICE] = 8,
	[CC_Q_NDATA] = 2,  [CC_Q_RESET] = 2,
};

struct vp_queue {
	struct virtq *vq;
	uint16_t size;
	uint16_t msix; /* atomic */
	bool enabled;  /* atomic */
	bool doorbell_bound;
	uint64_t doorbell_gpa; /* while doorbell_bound */
	uint64_t desc, driver, device;
};

struct virtio_pci {
	char name[32];
	struct pci_dev *pdev;
	const struct guest_mem *gm;
	const struct virtio_pci_ops *ops;
	void *opaque;
	struct virtio_pci_hooks hooks;
	pthread_mutex_t lock;
	uint16_t device_type;
	uint16_t nq;
	uint16_t qmax;
	uint32_t config_size;
	unsigned int nvec; /* MSI-X vectors; 0 without the capability */
	uint32_t dfselect, gfselect;
	uint64_t offered;
	uint64_t driver_features; /* atomic */
	uint8_t status;		  /* atomic */
	uint8_t generation;	  /* atomic */
	uint8_t isr;		  /* atomic */
	uint16_t msix_config;	  /* atomic */
	uint16_t qsel;
	/* BAR address the doorbells were last offered at, PCI_BAR_UNMAPPED: none. */
	uint64_t doorbell_base;
	int pcicfg_cap;	    /* config offset of the PCI_CFG capability */
	uint8_t pcicfg[18]; /* its body: cap_len .. pci_cfg_data */
	struct log_ratelimit rl;
	struct vp_queue q[];
};

static inline uint32_t rd_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void wr_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint8_t vp_status(const struct virtio_pci *vp)
{
	return __atomic_load_n(&vp->status, __ATOMIC_ACQUIRE);
}

static inline void vp_set_status(struct virtio_pci *vp, uint8_t s)
{
	__atomic_store_n(&vp->status, s, __ATOMIC_RELEASE);
}

struct pci_dev *virtio_pci_pci_dev(const struct virtio_pci *vp)
{
	return vp->pdev;
}

struct virtq *virtio_pci_queue(const struct virtio_pci *vp, uint16_t q)
{
	return q < vp->nq ? vp->q[q].vq : NULL;
}

int virtio_pci_queue_info(struct virtio_pci *vp, uint16_t q, struct virtio_pci_queue_info *qi)
{
	struct vp_queue *vq;

	if (q >= vp->nq)
		return -EINVAL;
	vq = &vp->q[q];
	/* No lock: called from ops->driver_ok, under it (see the header). */
	*qi = (struct virtio_pci_queue_info){
		.enabled = __atomic_load_n(&vq->enabled, __ATOMIC_ACQUIRE),
		.size = vq->size,
		.desc = vq->desc,
		.driver = vq->driver,
		.device = vq->device,
		.msix = __atomic_load_n(&vq->msix, __ATOMIC_RELAXED),
	};
	return 0;
}

uint64_t virtio_pci_features(const struct virtio_pci *vp)
{
	return __atomic_load_n(&vp->driver_features, __ATOMIC_ACQUIRE);
}

uint8_t virtio_pci_status(const struct virtio_pci *vp)
{
	return vp_status(vp);
}

/* ---- interrupts ---- */

static int vp_msix_send(struct virtio_pci *vp, uint16_t vector)
{
	if (vector == VIRTIO_MSI_NO_VECTOR)
		return 0;
	if (vp->hooks.msix_raise)
		return vp->hooks.msix_raise(vp->hooks.opaque, vector);
	return pci_dev_notify(vp->pdev, vector);
}

static void vp_intx(struct virtio_pci *vp, uint8_t isr_bits)
{
	__atomic_fetch_or(&vp->isr, isr_bits, __ATOMIC_SEQ_CST);
	pci_dev_set_intx(vp->pdev, 1);
}

int virtio_pci_notify(struct virtio_pci *vp, uint16_t q)
{
	if (q >= vp->nq)
		return -EINVAL;
	if (pci_dev_msix_enabled(vp->pdev))
		return vp_msix_send(vp, __atomic_load_n(&vp->q[q].msix, __ATOMIC_RELAXED));
	vp_intx(vp, VIRTIO_ISR_QUEUE);
	return 0;
}

static void vp_config_irq(struct virtio_pci *vp)
{
	if (pci_dev_msix_enabled(vp->pdev))
		(void)vp_msix_send(vp, __atomic_load_n(&vp->msix_config, __ATOMIC_RELAXED));
	else
		vp_intx(vp, VIRTIO_ISR_CONFIG);
}

void virtio_pci_config_changed(struct virtio_pci *vp)
{
	__atomic_fetch_add(&vp->generation, 1, __ATOMIC_SEQ_CST);
	vp_config_irq(vp);
}

void virtio_pci_set_needs_reset(struct virtio_pci *vp)
{
	uint8_t old = __atomic_fetch_or(&vp->status, VIRTIO_STATUS_NEEDS_RESET, __ATOMIC_SEQ_CST);

	/* Before DRIVER_OK the driver polls; after it, it wants an interrupt (2.1.2). */
	if (!(old & VIRTIO_STATUS_NEEDS_RESET) && (old & VIRTIO_STATUS_DRIVER_OK))
		vp_config_irq(vp);
}

/* ---- doorbells ---- */

void virtio_pci_kick(struct virtio_pci *vp, uint16_t q)
{
	if (q >= vp->nq || !__atomic_load_n(&vp->q[q].enabled, __ATOMIC_ACQUIRE))
		return;
	if ((vp_status(vp) & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET)) !=
	    VIRTIO_STATUS_DRIVER_OK)
		return;
	if (vp->ops->queue_notify)
		vp->ops->queue_notify(vp->opaque, q);
}

/*
 * Offers (bound) the doorbells of the enabled queues where the BAR is
 * decoded now, or withdraws every offered one. Nothing is offered while the
 * BAR is off the bus: an ioeventfd there would swallow writes meant for
 * whatever owns that address now. vp->lock held.
 */
static void vp_doorbells(struct virtio_pci *vp, bool bound)
{
	uint64_t base = PCI_BAR_UNMAPPED;

	if (!vp->hooks.doorbell)
		return;
	if (bound)
		base = pci_dev_bar_decoded(vp->pdev, VP_BAR);
	vp->doorbell_base = base;
	for (uint16_t i = 0; i < vp->nq; i++) {
		struct vp_queue *q = &vp->q[i];
		uint64_t gpa = base + VP_NOTIFY_OFF + VP_NOTIFY_MULT * i;

		if (bound && base != PCI_BAR_UNMAPPED && q->enabled && !q->doorbell_bound) {
			q->doorbell_bound = vp->hooks.doorbell(vp->hooks.opaque, i, gpa, true) == 0;
			q->doorbell_gpa = gpa;
		} else if (!bound && q->doorbell_bound) {
			(void)vp->hooks.doorbell(vp->hooks.opaque, i, q->doorbell_gpa, false);
			q->doorbell_bound = false;
		}
	}
}

/*
 * The PCI core moved the BAR, or took it off or put it back on the bus
 * (vCPU thread, no PCI core lock held). Past DRIVER_OK the doorbells follow
 * it; before, they are offered at DRIVER_OK wherever the BAR is then. The
 * core's calls may arrive out of order, so the BAR's current place is read
 * under vp->lock rather than taken from the arguments.
 */
static void vp_bar_changed(struct pci_dev *dev, unsigned int bar, uint64_t old_addr,
			   uint64_t new_addr)
{
	struct virtio_pci *vp = pci_dev_opaque(dev);

	if (bar != VP_BAR || !vp->hooks.doorbell)
		return;
	pthread_mutex_lock(&vp->lock);
	if ((vp_status(vp) & VIRTIO_STATUS_DRIVER_OK) &&
	    pci_dev_bar_decoded(vp->pdev, VP_BAR) != vp->doorbell_base) {
		vp_doorbells(vp, false);
		vp_doorbells(vp, true);
	}
	pthread_mutex_unlock(&vp->lock);
}

/* ---- reset and status ---- */

/* Device reset (2.4). vp->lock held. */
static void vp_reset(struct virtio_pci *vp)
{
	if (vp->ops->reset)
		vp->ops->reset(vp->opaque);
	vp_doorbells(vp, false);
	for (uint16_t i = 0; i < vp->nq; i++) {
		struct vp_queue *q = &vp->q[i];

		__atomic_store_n(&q->enabled, false, __ATOMIC_RELEASE);
		virtq_reset(q->vq);
		q->size = vp->qmax;
		__atomic_store_n(&q->msix, VIRTIO_MSI_NO_VECTOR, __ATOMIC_RELAXED);
		q->desc = q->driver = q->device = 0;
	}
	vp->dfselect = vp->gfselect = 0;
	__atomic_store_n(&vp->driver_features, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&vp->msix_config, VIRTIO_MSI_NO_VECTOR, __ATOMIC_RELAXED);
	vp->qsel = 0;
	__atomic_store_n(&vp->isr, 0, __ATOMIC_SEQ_CST);
	pci_dev_set_intx(vp->pdev, 0);
	vp_set_status(vp, 0);
}

/* May FEATURES_OK be set (3.1.1, 2.2.2)? vp->lock held. */
static bool vp_features_acceptable(struct virtio_pci *vp, uint8_t status)
{
	uint64_t f = vp->driver_features;

	if ((status & (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER)) !=
	    (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER))
		return false;
	if (f & ~vp->offered) {
		if (log_ratelimit_ok(&vp->rl))
			log_warn("%s: driver accepts features 0x%llx never offered", vp->name,
				 (unsigned long long)(f & ~vp->offered));
		return false;
	}
	if (!(f & (1ull << VIRTIO_F_VERSION_1)))
		return false;
	return !vp->ops->features_ok || vp->ops->features_ok(vp->opaque, f) == 0;
}

static void vp_write_status(struct virtio_pci *vp, uint8_t val)
{
	uint8_t old = vp_status(vp), nst;

	if (val == 0) {
		/* Synchronous: the status reads back 0 as soon as this returns. */
		vp_reset(vp);
		if (vp->ops->status_changed && old)
			vp->ops->status_changed(vp->opaque, old, 0);
		return;
	}
	/* The driver never clears a bit but through reset, and never sets NEEDS_RESET. */
	nst = (uint8_t)(old | (val & ~VIRTIO_STATUS_NEEDS_RESET));
	if ((nst & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    !vp_features_acceptable(vp, nst))
		nst &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	if ((nst & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		if (!(nst & VIRTIO_STATUS_FEATURES_OK)) {
			nst &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
		} else {
			vp_set_status(vp, nst);
			vp_doorbells(vp, true);
			if (vp->ops->driver_ok && vp->ops->driver_ok(vp->opaque) < 0)
				nst |= VIRTIO_STATUS_NEEDS_RESET;
		}
	}
	/* Keep a NEEDS_RESET the device set meanwhile. */
	nst |= (uint8_t)(vp_status(vp) & VIRTIO_STATUS_NEEDS_RESET);
	vp_set_status(vp, nst);
	if (vp->ops->status_changed && nst != old)
		vp->ops->status_changed(vp->opaque, old, nst);
}

/* ---- common configuration ---- */

static struct vp_queue *vp_selq(struct virtio_pci *vp)
{
	return vp->qsel < vp->nq ? &vp->q[vp->qsel] : NULL;
}

/* Value of the field at `off` (a field start). vp->lock held. */
static uint64_t cc_read_field(struct virtio_pci *vp, unsigned int off)
{
	struct vp_queue *q = vp_selq(vp);

	switch (off) {
	case CC_DFSELECT: return vp->dfselect;
	case CC_DF: return vp->dfselect < 2 ? (uint32_t)(vp->offered >> (32 * vp->dfselect)) : 0;
	case CC_GFSELECT: return vp->gfselect;
	case CC_GF:
		return vp->gfselect < 2 ? (uint32_t)(vp->driver_features >> (32 * vp->gfselect))
					: 0;
	case CC_MSIX: return __atomic_load_n(&vp->msix_config, __ATOMIC_RELAXED);
	case CC_NUMQ: return vp->nq;
	case CC_STATUS: return vp_status(vp);
	case CC_CFGGEN: return __atomic_load_n(&vp->generation, __ATOMIC_SEQ_CST);
	case CC_Q_SELECT: return vp->qsel;
	case CC_Q_NDATA:
	case CC_Q_RESET: return 0;
	}
	if (!q)
		return 0; /* queue_size 0: no such queue */
	switch (off) {
	case CC_Q_SIZE: return q->size;
	case CC_Q_MSIX: return __atomic_load_n(&q->msix, __ATOMIC_RELAXED);
	case CC_Q_ENABLE: return q->enabled;
	case CC_Q_NOFF: return vp->qsel;
	case CC_Q_DESC: return q->desc;
	case CC_Q_DRIVER: return q->driver;
	case CC_Q_DEVICE: return q->device;
	}
	return 0;
}

/* An MSI-X vector the driver asks for: NO_VECTOR when out of range (4.1.5.1.2). */
static uint16_t vp_vector(const struct virtio_pci *vp, uint64_t v)
{
	return v < vp->nvec ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

static void vp_queue_enable(struct virtio_pci *vp, struct vp_queue *q, uint16_t idx)
{
	struct virtq_layout l = {
		.size = q->size, .desc = q->desc, .avail = q->driver, .used = q->device
	};
	int ret;

	ret = virtq_setup(q->vq, &l, vp->driver_features);
	if (ret < 0) {
		if (log_ratelimit_ok(&vp->rl))
			log_warn("%s: queue %u: rings refused (%s): device needs reset", vp->name,
				 idx, strerror(-ret));
		virtio_pci_set_needs_reset(vp);
		return;
	}
	__atomic_store_n(&q->enabled, true, __ATOMIC_RELEASE);
}

/*
 * Writes the field at `foff`: `part` is 0 for a whole field, 1 / 2 for the
 * low / high half of a 64-bit one. vp->lock held.
 */
static void cc_write_field(struct virtio_pci *vp, unsigned int foff, int part, uint64_t v)
{
	struct vp_queue *q = vp_selq(vp);
	uint64_t *addr = NULL;

	switch (foff) {
	case CC_DFSELECT: vp->dfselect = (uint32_t)v; return;
	case CC_GFSELECT: vp->gfselect = (uint32_t)v; return;
	case CC_GF:
		/* Frozen once FEATURES_OK is set (2.2.2). */
		if (vp->gfselect < 2 && !(vp_status(vp) & VIRTIO_STATUS_FEATURES_OK)) {
			unsigned int sh = 32 * vp->gfselect;
			uint64_t f = vp->driver_features & ~(0xFFFFFFFFull << sh);

			f |= (uint64_t)(uint32_t)v << sh;
			__atomic_store_n(&vp->driver_features, f, __ATOMIC_RELEASE);
		}
		return;
	case CC_MSIX:
		__atomic_store_n(&vp->msix_config, vp_vector(vp, v), __ATOMIC_RELAXED);
		return;
	case CC_STATUS: vp_write_status(vp, (uint8_t)v); return;
	case CC_Q_SELECT: vp->qsel = (uint16_t)v; return;
	}
	if (!q)
		return;
	if (foff == CC_Q_MSIX) {
		uint16_t nv = vp_vector(vp, v);
		uint16_t old = __atomic_exchange_n(&q->msix, nv, __ATOMIC_RELAXED);

		/* A backend handed the queue's interrupt at DRIVER_OK follows the move. */
		if (nv != old && (vp_status(vp) & VIRTIO_STATUS_DRIVER_OK) &&
		    vp->hooks.queue_vector)
			vp->hooks.queue_vector(vp->hooks.opaque, vp->qsel, nv);
		return;
	}
	/* The rest configures the ring: only while the queue is disabled. */
	if (q->enabled)
		return;
	switch (foff) {
	case CC_Q_SIZE:
		/* The driver may lower the size, to another power of two (4.1.4.3.2). */
		if (IS_POWER_OF_2(v) && v <= vp->qmax)
			q->size = (uint16_t)v;
		return;
	case CC_Q_ENABLE:
		/* Writing 0 is not allowed (no VIRTIO_F_RING_RESET): ignored. */
		if (v == 1)
			vp_queue_enable(vp, q, vp->qsel);
		return;
	case CC_Q_DESC: addr = &q->desc; break;
	case CC_Q_DRIVER: addr = &q->driver; break;
	case CC_Q_DEVICE: addr = &q->device; break;
	default: return;
	}
	if (part == 1)
		*addr = (*addr & ~0xFFFFFFFFull) | (uint32_t)v;
	else if (part == 2)
		*addr = (*addr & 0xFFFFFFFFull) | (uint64_t)(uint32_t)v << 32;
	else
		*addr = v;
}

static uint64_t le_get(const uint8_t *d, uint32_t len)
{
	uint64_t v = 0;

	for (uint32_t i = 0; i < len; i++)
		v |= (uint64_t)d[i] << (8 * i);
	return v;
}

/* The start of the field holding `off`, or -1 between fields. */
static int cc_field_start(unsigned int off)
{
	for (int s = (int)off; s >= 0 && (int)off - s < 8; s--)
		if (cc_size[s])
			return off < (unsigned int)s + cc_size[s] ? s : -1;
	return -1;
}

static void vp_common(struct virtio_pci *vp, uint32_t off, uint8_t *data, uint32_t len,
		      bool is_write)
{
	int s;

	if (!is_write) {
		/* Byte by byte: any width at any offset reads what the fields hold. */
		for (uint32_t i = 0; i < len; i++) {
			uint32_t o = off + i;

			s = o < VP_COMMON_LEN ? cc_field_start(o) : -1;
			data[i] = s < 0 ? 0
					: (uint8_t)(cc_read_field(vp, (unsigned int)s) >>
						    (8 * (o - (unsigned int)s)));
		}
		return;
	}
	s = off < VP_COMMON_LEN ? cc_field_start(off) : -1;
	if (s >= 0 && (uint32_t)s == off && len == cc_size[s]) {
		cc_write_field(vp, off, 0, le_get(data, len));
		return;
	}
	if (s >= 0 && cc_size[s] == 8 && len == 4 &&
	    (off == (uint32_t)s || off == (uint32_t)s + 4)) {
		cc_write_field(vp, (unsigned int)s, off == (uint32_t)s ? 1 : 2, le_get(data, 4));
		return;
	}
	if (log_ratelimit_ok(&vp->rl))
		log_warn("%s: common config write of %u bytes at 0x%x ignored", vp->name, len, off);
}

/* ---- the BAR ---- */

static void vp_bar(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct virtio_pci *vp = opaque;
	uint8_t isr;

	if (!is_write)
		memset(data, 0, len);
	if (offset < VP_ISR_OFF) {
		pthread_mutex_lock(&vp->lock);
		vp_common(vp, (uint32_t)offset, data, len, is_write);
		pthread_mutex_unlock(&vp->lock);
	} else if (offset < VP_DEVCFG_OFF) {
		if (is_write || offset != VP_ISR_OFF)
			return;
		/* Read to clear (4.1.4.5); the line follows what is left. */
		isr = __atomic_exchange_n(&vp->isr, 0, __ATOMIC_SEQ_CST);
		data[0] = isr;
		pci_dev_set_intx(vp->pdev, 0);
		if (__atomic_load_n(&vp->isr, __ATOMIC_SEQ_CST))
			pci_dev_set_intx(vp->pdev, 1);
	} else if (offset < VP_NOTIFY_OFF) {
		uint32_t o = (uint32_t)(offset - VP_DEVCFG_OFF);

		if (o >= vp->config_size || len > vp->config_size - o)
			return;
		if (is_write && vp->ops->config_write)
			vp->ops->config_write(vp->opaque, o, data, len);
		else if (!is_write && vp->ops->config_read)
			vp->ops->config_read(vp->opaque, o, data, len);
	} else if (offset < VP_MSIX_TABLE_OFF) {
		uint64_t o = offset - VP_NOTIFY_OFF;

		/* The doorbell's offset names the queue; the value written is its index too. */
		if (is_write && o % VP_NOTIFY_MULT == 0 && o / VP_NOTIFY_MULT < vp->nq)
			virtio_pci_kick(vp, (uint16_t)(o / VP_NOTIFY_MULT));
	}
}

/* ---- PCI config space: the PCI_CFG capability's access window (4.1.4.9) ---- */

static void vp_config_access(struct pci_dev *dev, uint32_t offset, uint8_t *data, uint32_t len,
			     bool is_write)
{
	struct virtio_pci *vp = pci_dev_opaque(dev);
	uint32_t base, rel, bar_off, blen;

	if (vp->pcicfg_cap <= 0 || offset < (uint32_t)vp->pcicfg_cap + 2 ||
	    offset + len > (uint32_t)vp->pcicfg_cap + 2 + sizeof(vp->pcicfg))
		return; /* the other capabilities are read-only: the core's copy */
	base = (uint32_t)vp->pcicfg_cap + 2;
	rel = offset - base;
	pthread_mutex_lock(&vp->lock);
	/* Body offsets: bar 2, offset 6..9, length 10..13, pci_cfg_data 14..17. */
	if (rel >= 14) {
		/* pci_cfg_data: an access to the BAR through the window. */
		uint8_t bar = vp->pcicfg[2];

		bar_off = rd_le32(&vp->pcicfg[6]);
		blen = rd_le32(&vp->pcicfg[10]);
		pthread_mutex_unlock(&vp->lock);
		if (bar != VP_BAR || (blen != 1 && blen != 2 && blen != 4) || rel != 14 ||
		    len < blen || bar_off >= VP_MSIX_TABLE_OFF || bar_off % blen)
			return;
		vp_bar(vp, bar_off, data, blen, is_write);
		return;
	}
	if (is_write) {
		/* Writable: bar, offset and length. */
		for (uint32_t i = 0; i < len; i++) {
			uint32_t r = rel + i;

			if (r == 2 || (r >= 6 && r < 14))
				vp->pcicfg[r] = data[i];
		}
	} else {
		memcpy(data, &vp->pcicfg[rel], len);
	}
	pthread_mutex_unlock(&vp->lock);
}

static void vp_msix_changed(struct pci_dev *dev, uint32_t vector)
{
	struct virtio_pci *vp = pci_dev_opaque(dev);

	if (vp->hooks.msix_changed)
		vp->hooks.msix_changed(vp->hooks.opaque, vector);
}

static const struct pci_dev_ops vp_pci_ops = {
	.config_access = vp_config_access,
	.msix_changed = vp_msix_changed,
	.bar_changed = vp_bar_changed,
};

/* ---- setup ---- */

/* Body of struct virtio_pci_cap after cap_vndr and cap_next (14 bytes, + extra). */
static size_t vp_cap_body(uint8_t *b, uint8_t type, uint32_t off, uint32_t len, size_t extra)
{
	memset(b, 0, 14 + extra);
	b[0] = (uint8_t)(16 + extra); /* cap_len, including ID and next */
	b[1] = type;
	b[2] = VP_BAR;
	wr_le32(&b[6], off);
	wr_le32(&b[10], len);
	return 14 + extra;
}

static int vp_add_caps(struct virtio_pci *vp)
{
	uint8_t b[24];
	size_t n;
	int ret;

	n = vp_cap_body(b, VP_CAP_COMMON, VP_COMMON_OFF, VP_COMMON_LEN, 0);
	ret = pci_dev_add_cap(vp->pdev, PCI_CAP_ID_VNDR, b, n);
	if (ret < 0)
		return ret;
	n = vp_cap_body(b, VP_CAP_NOTIFY, VP_NOTIFY_OFF, VP_NOTIFY_MULT * vp->nq, 4);
	wr_le32(&b[14], VP_NOTIFY_MULT);
	ret = pci_dev_add_cap(vp->pdev, PCI_CAP_ID_VNDR, b, n);
	if (ret < 0)
		return ret;
	n = vp_cap_body(b, VP_CAP_ISR, VP_ISR_OFF, VP_ISR_LEN, 0);
	ret = pci_dev_add_cap(vp->pdev, PCI_CAP_ID_VNDR, b, n);
	if (ret < 0)
		return ret;
	if (vp->config_size) {
		n = vp_cap_body(b, VP_CAP_DEVICE, VP_DEVCFG_OFF, vp->config_size, 0);
		ret = pci_dev_add_cap(vp->pdev, PCI_CAP_ID_VNDR, b, n);
		if (ret < 0)
			return ret;
	}
	/* PCI_CFG: bar, offset and length written by the driver, then 4 data bytes. */
	n = vp_cap_body(b, VP_CAP_PCI_CFG, 0, 0, 4);
	memcpy(vp->pcicfg, b, n);
	vp->pcicfg_cap = pci_dev_add_cap(vp->pdev, PCI_CAP_ID_VNDR, b, n);
	if (vp->pcicfg_cap < 0)
		return vp->pcicfg_cap;
	return 0;
}

struct virtio_pci *virtio_pci_new(struct pci_bus *bus, const struct guest_mem *gm,
				  const struct virtio_pci_config *cfg)
{
	struct pci_dev_info info = { 0 };
	struct virtio_pci *vp;
	char qname[48];
	int ret;

	if (!cfg->ops || !cfg->ops->get_features || !cfg->num_queues ||
	    cfg->num_queues > VIRTIO_PCI_MAX_QUEUES || !IS_POWER_OF_2(cfg->queue_max_size) ||
	    cfg->queue_max_size > VIRTQ_MAX_SIZE || cfg->config_size > VIRTIO_PCI_CONFIG_MAX ||
	    cfg->device_type == 0 || cfg->device_type > 0xFFFF - VIRTIO_PCI_DEVICE_ID_BASE) {
		log_err("%s: bad virtio-pci configuration", cfg->name ? cfg->name : "virtio");
		return NULL;
	}
	vp = calloc(1, sizeof(*vp) + cfg->num_queues * sizeof(vp->q[0]));
	if (!vp)
		goto err_nomem;
	snprintf(vp->name, sizeof(vp->name), "%s", cfg->name ? cfg->name : "virtio");
	vp->gm = gm;
	vp->ops = cfg->ops;
	vp->opaque = cfg->opaque;
	if (cfg->hooks)
		vp->hooks = *cfg->hooks;
	vp->device_type = cfg->device_type;
	vp->nq = cfg->num_queues;
	vp->qmax = cfg->queue_max_size;
	vp->config_size = cfg->config_size;
	vp->nvec = cfg->no_msix ? 0 : vp->nq + 1u;
	vp->offered = cfg->ops->get_features(cfg->opaque) | 1ull << VIRTIO_F_VERSION_1;
	vp->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(1000, 5);
	for (uint16_t i = 0; i < vp->nq; i++) {
		snprintf(qname, sizeof(qname), "%s.q%u", vp->name, i);
		vp->q[i].vq = virtq_new(gm, qname);
		if (!vp->q[i].vq)
			goto err_queues;
	}
	pthread_mutex_init(&vp->lock, NULL);

	info.name = vp->name;
	info.vendor_id = VIRTIO_PCI_VENDOR_ID;
	info.device_id = (uint16_t)(VIRTIO_PCI_DEVICE_ID_BASE + cfg->device_type);
	info.subsys_vendor_id = VIRTIO_PCI_VENDOR_ID;
	info.subsys_id = (uint16_t)(VIRTIO_PCI_DEVICE_ID_BASE + cfg->device_type);
	info.revision = 1;
	info.class_code = cfg->class_code;
	info.intx = true;
	info.slot = cfg->slot;
	vp->pdev = pci_dev_new(bus, &info, &vp_pci_ops, vp);
	if (!vp->pdev)
		goto err_lock;
	pthread_mutex_lock(&vp->lock);
	vp_reset(vp);
	pthread_mutex_unlock(&vp->lock);
	ret = pci_dev_add_bar(vp->pdev, VP_BAR, PCI_BAR_MEM64,
			      vp->nvec ? VP_BAR_SIZE : VP_BAR_SIZE_NO_MSIX, vp_bar, vp);
	if (ret == 0)
		ret = vp_add_caps(vp);
	if (ret == 0 && vp->nvec) {
		ret = pci_dev_add_msix(vp->pdev, vp->nvec, VP_BAR, VP_MSIX_TABLE_OFF,
				       VP_MSIX_PBA_OFF);
		ret = ret < 0 ? ret : 0;
	}
	if (ret < 0) {
		/*
		 * The PCI device cannot be removed from the bus: it stays with the
		 * transport alive behind it, and the VMM gives up.
		 */
		log_err("%s: cannot set up the PCI function: %s", vp->name, strerror(-ret));
		return NULL;
	}
	return vp;

err_lock:
	pthread_mutex_destroy(&vp->lock);
err_queues:
	for (uint16_t i = 0; i < vp->nq; i++)
		virtq_free(vp->q[i].vq);
	free(vp);
	return NULL;
err_nomem:
	log_err("%s: out of memory", cfg->name ? cfg->name : "virtio");
	return NULL;
}

void virtio_pci_free(struct virtio_pci *vp)
{
	if (!vp)
		return;
	for (uint16_t i = 0; i < vp->nq; i++)
		virtq_free(vp->q[i].vq);
	pthread_mutex_destroy(&vp->lock);
	free(vp);
}
