/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nfguest virtio 1.x PCI transport ("modern" virtio-pci) and split
 * virtqueues, for virtio device drivers (virtio_net.c).
 *
 * Reference: Virtual I/O Device (VIRTIO) Version 1.2, sections 2.1
 * (status), 2.2 (feature bits), 2.7 (split virtqueues, including the
 * event index of 2.7.7 and 2.7.10), 3.1 (initialization) and 4.1 (virtio
 * over PCI: the vendor capabilities and the common configuration layout).
 *
 * Everything the device hands back (capability offsets and lengths, queue
 * sizes, notify offsets, used ring indices and entries) is checked before
 * it is used, and every wait on the device is bounded.
 */
#ifndef NFGUEST_VIRTIO_PCI_H
#define NFGUEST_VIRTIO_PCI_H

#include "nfguest.h"

#define VIRTIO_PCI_VENDOR	0x1af4

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	0x01
#define VIRTIO_STATUS_DRIVER		0x02
#define VIRTIO_STATUS_DRIVER_OK		0x04
#define VIRTIO_STATUS_FEATURES_OK	0x08
#define VIRTIO_STATUS_NEEDS_RESET	0x40
#define VIRTIO_STATUS_FAILED		0x80

/* Transport feature bits (6). */
#define VIRTIO_F_RING_EVENT_IDX	29
#define VIRTIO_F_VERSION_1	32
#define VIRTIO_F_BIT(b)		(1ull << (b))

/* MSI-X "no vector" (4.1.5.1.2). */
#define VIRTIO_NO_VECTOR	0xffff

/* ISR status bits (4.1.4.5). */
#define VIRTIO_ISR_QUEUE	0x01
#define VIRTIO_ISR_CONFIG	0x02

/* ---- Split virtqueue layout (2.7) ---------------------------------------- */
#define VRING_DESC_F_NEXT	1
#define VRING_DESC_F_WRITE	2
#define VRING_AVAIL_F_NO_INTERRUPT	1
#define VRING_USED_F_NO_NOTIFY	1
#define VIRTQ_MAX_SIZE		32768

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

/*
 * The driver area: flags, idx, ring[size], then used_event (with
 * EVENT_IDX). The device area: flags, idx, ring[size], then avail_event.
 */
struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[];
};

struct virtq {
	uint16_t index;			/* queue number on the device */
	uint16_t size;			/* entries, a power of two */
	uint16_t mask;			/* size - 1 */
	bool event_idx;			/* VIRTIO_F_RING_EVENT_IDX negotiated */
	bool broken;			/* the device returned garbage: queue unused */
	uint16_t avail_idx;		/* next avail->idx to publish (shadow) */
	uint16_t last_used;		/* next used->idx entry to consume */
	uint16_t vector;		/* MSI-X table entry, or VIRTIO_NO_VECTOR */
	volatile struct vring_desc *desc;
	volatile struct vring_avail *avail;
	volatile struct vring_used *used;
	volatile uint16_t *used_event;	/* &avail->ring[size] */
	volatile uint16_t *avail_event;	/* (uint16_t *)&used->ring[size] */
	volatile uint16_t *notify;	/* this queue's doorbell */
	uint64_t kicks;			/* doorbell writes, for the curious */
};

/* ---- The transport -------------------------------------------------------- */
struct vpci_dev {
	struct pci_dev *pci;
	const char *kind;		/* "virtio": the prefix of console lines */
	char bdf[12];
	volatile uint8_t *common;	/* struct virtio_pci_common_cfg */
	volatile uint8_t *notify;	/* notification area */
	uint64_t notify_len;
	uint32_t notify_mult;		/* notify_off_multiplier */
	volatile uint8_t *isr;
	volatile uint8_t *devcfg;	/* device-specific configuration */
	uint32_t devcfg_len;
	uint16_t num_queues;		/* queues the device has (read again at FEATURES_OK) */
	uint64_t features;		/* negotiated */
};

/*
 * Find the COMMON, NOTIFY, ISR and DEVICE capabilities (the first usable
 * one of each type), check them against their BARs, map the BARs and turn
 * on memory decoding and bus mastering. 0, or -1 after a console line.
 */
int vpci_init(struct vpci_dev *vd, struct pci_dev *pci, const char *kind);

/* Print "nfguest: KIND BDF: message". */
void vpci_msg(const struct vpci_dev *vd, const char *fmt, ...) __printf(2, 3);

/*
 * Give up on the device: print the message, stop it (reset, bus mastering
 * off, so it cannot DMA any more) and set FAILED. Returns -1.
 */
int vpci_fail(struct vpci_dev *vd, const char *fmt, ...) __printf(2, 3);

/* Write 0 to device_status and wait (bounded) until it reads 0. 0 or -1. */
int vpci_reset(struct vpci_dev *vd);
uint8_t vpci_status(struct vpci_dev *vd);
void vpci_status_set(struct vpci_dev *vd, uint8_t bits);	/* ORs bits in */

/* The device's 64-bit feature word. */
uint64_t vpci_device_features(struct vpci_dev *vd);
/*
 * Write the driver features, set FEATURES_OK and check that it stuck.
 * 0 (vd->features set), or -1 (the device refused the subset).
 */
int vpci_set_features(struct vpci_dev *vd, uint64_t features);

/*
 * Read len bytes of device-specific configuration at off, consistently
 * (config_generation unchanged across the read, bounded retries). -1 when
 * [off, off + len) is beyond the structure or never reads consistently.
 */
int vpci_devcfg_read(struct vpci_dev *vd, uint32_t off, void *buf, uint32_t len);

/* queue_size of queue idx as the device offers it (0: no such queue). */
uint16_t vpci_queue_max(struct vpci_dev *vd, uint16_t idx);

/*
 * Allocate the rings of a split virtqueue with size entries (a power of
 * two, at most vpci_queue_max), write their addresses and the size, and
 * find the doorbell. The queue is not enabled yet. 0 or -1 (printed).
 */
int vpci_queue_setup(struct vpci_dev *vd, struct virtq *vq, uint16_t idx, uint16_t size);
/* Write queue_enable = 1 for a queue set up with vpci_queue_setup. */
void vpci_queue_enable(struct vpci_dev *vd, struct virtq *vq);
/*
 * Point queue idx's interrupt at MSI-X entry vector (or VIRTIO_NO_VECTOR);
 * returns the value read back (VIRTIO_NO_VECTOR when refused).
 */
uint16_t vpci_queue_vector(struct vpci_dev *vd, uint16_t idx, uint16_t vector);
uint16_t vpci_config_vector(struct vpci_dev *vd, uint16_t vector);
/* Read (and so clear, deasserting INTx) the ISR status. */
uint8_t vpci_isr(struct vpci_dev *vd);

/* ---- Virtqueue fast path ---------------------------------------------------- */

/* (2.7.10) Must the other side be notified, having moved its index old -> new_idx? */
static inline bool vring_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/* Entries the device has put in the used ring and the driver not consumed. */
static inline uint16_t virtq_used_pending(const struct virtq *vq)
{
	return (uint16_t)(READ_ONCE(vq->used->idx) - vq->last_used);
}

/* Ring the doorbell: the queue index, 16 bits, to the notify address. */
static inline void virtq_notify(struct virtq *vq)
{
	mmio_write16(vq->notify, vq->index);
	vq->kicks++;
}

/*
 * Make avail entries up to vq->avail_idx visible to the device and ring
 * the doorbell when the device asked for it: with EVENT_IDX when the
 * published range crosses avail_event, else unless used->flags has
 * NO_NOTIFY. old is avail->idx as it was before this batch.
 */
static inline void virtq_publish(struct virtq *vq, uint16_t old)
{
	bool kick;

	dma_wmb();	/* descriptors and ring entries before the index */
	WRITE_ONCE(vq->avail->idx, vq->avail_idx);
	mb();		/* the index before reading the device's suppression state */
	if (vq->event_idx)
		kick = vring_need_event(READ_ONCE(*vq->avail_event), vq->avail_idx, old);
	else
		kick = !(READ_ONCE(vq->used->flags) & VRING_USED_F_NO_NOTIFY);
	if (kick)
		virtq_notify(vq);
}

/*
 * Used-buffer notifications (interrupts) for this queue: on asks for one
 * when the device adds the next used entry; off suppresses them. With
 * EVENT_IDX, "off" parks used_event just behind last_used, where the
 * device cannot reach it before the driver moves it again; call
 * virtq_cb_off again after consuming entries to keep it there.
 */
static inline void virtq_cb_on(struct virtq *vq)
{
	if (vq->event_idx)
		WRITE_ONCE(*vq->used_event, vq->last_used);
	else
		WRITE_ONCE(vq->avail->flags, 0);
	mb();	/* visible before the caller's final poll of the used ring */
}

/* Interrupt once the device has used 'after' more entries (after >= 1). */
static inline void virtq_cb_after(struct virtq *vq, uint16_t after)
{
	if (vq->event_idx)
		WRITE_ONCE(*vq->used_event, (uint16_t)(vq->last_used + after - 1));
	else
		WRITE_ONCE(vq->avail->flags, 0);
	mb();
}

static inline void virtq_cb_off(struct virtq *vq)
{
	if (vq->event_idx)
		WRITE_ONCE(*vq->used_event, (uint16_t)(vq->last_used - 1));
	else
		WRITE_ONCE(vq->avail->flags, VRING_AVAIL_F_NO_INTERRUPT);
}

#endif /* NFGUEST_VIRTIO_PCI_H */
