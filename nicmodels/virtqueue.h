/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split virtqueues (VIRTIO 1.2, 2.7) as the device sees them: a generic
 * walker that knows nothing of networking, shared by every virtio device
 * type, the unit tests and the fuzzer.
 *
 * Guest RAM is reached only through common/guestmem: the three rings are
 * translated once, at virtq_setup() (a ring that leaves RAM puts the queue
 * in its error state), and every buffer segment and indirect table is
 * translated and checked when its chain is popped. Device DMA therefore only
 * reaches RAM, never MMIO. Every loop over guest data is bounded: a direct
 * chain by the queue size, an indirect chain by its table size.
 *
 * A malformed ring (head or next index beyond the size, a descriptor outside
 * RAM, a loop, a chain longer than its bound or than 4 GiB, indirect inside
 * indirect, an indirect descriptor with NEXT or not negotiated, an indirect
 * table of bad length, a readable segment after a writable one, an avail
 * index that moves by more than the queue size) puts the queue in its
 * error state: virtq_pop() and virtq_push() then refuse work with -EIO and
 * virtq_broken() says so; the device sets NEEDS_RESET. Only a reset
 * (virtq_reset()) or a new setup clears it.
 *
 * Threads and ownership: a queue has no lock and starts no thread. At any
 * time one thread owns it: the transport (vCPU thread, under the device's
 * lock) for setup and reset while the queue is disabled; the device's
 * datapath thread for pop, push, notification decisions and notification
 * suppression while it is enabled. Handing it over between the two is the
 * device's business (a quiescent handshake). The driver in the guest is the
 * concurrent party: the barriers in this file order device accesses against
 * it (acquire after reading avail->idx, release before writing used->idx,
 * a full barrier before reading used_event / avail->flags).
 *
 * Host byte order is assumed little-endian (x86-64), as virtio 1.x rings are.
 */
#ifndef NFV_NICMODELS_VIRTQUEUE_H
#define NFV_NICMODELS_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/guestmem.h"
#include "common/util.h"

#define VIRTQ_MAX_SIZE 32768u

/* Feature bits the queue cares about (VIRTIO 1.2, 6). */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX 29

/* Descriptor flags (2.7.5). */
#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_WRITE 2u
#define VIRTQ_DESC_F_INDIRECT 4u
/* avail->flags and used->flags (2.7.6, 2.7.8). */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VIRTQ_USED_F_NO_NOTIFY 1u

/* Ring sizes in bytes for a queue of n entries (2.7: desc 16n, avail 6+2n, used 6+8n). */
#define VIRTQ_DESC_BYTES(n) (16ull * (n))
#define VIRTQ_AVAIL_BYTES(n) (6ull + 2ull * (n))
#define VIRTQ_USED_BYTES(n) (6ull + 8ull * (n))

struct virtq;

/* One buffer segment of a chain: a host pointer into guest RAM, checked. */
struct virtq_seg {
	void *base;    /* host address (NULL for a zero-length segment) */
	uint64_t gpa;  /* guest-physical address, for logs */
	uint32_t len;  /* bytes */
	bool writable; /* device-writable (VIRTQ_DESC_F_WRITE) */
};

/*
 * A popped chain. The caller provides `segs` (room for `cap` entries);
 * virtq_pop() fills the rest. Readable segments come first (nr_read), then
 * the writable ones. read_len and write_len never overflow 32 bits.
 */
struct virtq_chain {
	struct virtq_seg *segs; /* in: caller's array */
	unsigned int cap;	/* in: its capacity */
	unsigned int nr_segs;
	unsigned int nr_read;
	uint16_t head; /* the id to give back to virtq_push() */
	uint32_t read_len;
	uint32_t write_len;
};

/* Where the driver placed the rings (guest-physical), and how many entries. */
struct virtq_layout {
	uint16_t size; /* a power of two, 1 .. VIRTQ_MAX_SIZE (32768) */
	uint64_t desc;
	uint64_t avail;
	uint64_t used;
};

/* Counters, for the VMM's statistics. */
struct virtq_stats {
	uint64_t popped;
	uint64_t pushed;
	uint64_t notifies_sent;	      /* virtq_should_notify() said yes */
	uint64_t notifies_suppressed; /* ... and no */
};

/*
 * A new queue, disabled, over guest memory `gm` (which must outlive it).
 * `name` is copied, for logs ("virtio-net0.rx0"). NULL on allocation failure.
 */
struct virtq *virtq_new(const struct guest_mem *gm, const char *name);
void virtq_free(struct virtq *vq);

/*
 * Enables the queue with the driver's layout and the negotiated features
 * (only VIRTIO_F_RING_INDIRECT_DESC and VIRTIO_F_RING_EVENT_IDX matter).
 * Checks the size (power of two, at most 32768) and the alignment, and
 * translates the three rings; any failure puts the queue in its error
 * state and returns -EINVAL (bad size or alignment) or -EFAULT (a ring
 * leaves RAM). Indices start at 0.
 */
int __must_check virtq_setup(struct virtq *vq, const struct virtq_layout *l, uint64_t features);

/* Disabled, indices 0, error state cleared: the device reset (2.4). */
void virtq_reset(struct virtq *vq);

bool virtq_enabled(const struct virtq *vq);
/* The queue met a malformed ring; -errno of the first fault (0 when fine). */
bool virtq_broken(const struct virtq *vq);
int virtq_error(const struct virtq *vq);
uint16_t virtq_size(const struct virtq *vq);
void virtq_get_stats(const struct virtq *vq, struct virtq_stats *st);

/*
 * Pops the next available chain into `chain`. Returns 1 with a chain, 0
 * when the ring is empty, -EIO when the queue is (or just became) broken,
 * -EINVAL when it is disabled, -ENOBUFS when the chain has more segments
 * than chain->cap (the queue is then broken too: give cap >= the queue size
 * and the largest indirect table you accept to avoid that). The segments
 * stay valid as long as guest memory does; the chain must be given back
 * with virtq_push().
 */
int __must_check virtq_pop(struct virtq *vq, struct virtq_chain *chain);

/* Gives back the last `n` popped chains (not yet pushed): e.g. RX out of room. */
void virtq_unpop(struct virtq *vq, uint16_t n);

/* True when the driver made chains available that were not popped yet. */
bool virtq_avail_pending(struct virtq *vq);

/*
 * Writes a used element (id, len) at used position used_idx + offset,
 * without publishing it. 0, -EINVAL (id beyond the size) or -EIO (broken).
 */
int __must_check virtq_fill(struct virtq *vq, uint16_t id, uint32_t len, uint16_t offset);
/* Publishes `n` filled elements: release barrier, then used->idx += n. */
void virtq_flush(struct virtq *vq, uint16_t n);
/* virtq_fill(id, len, 0) then virtq_flush(1). */
int __must_check virtq_push(struct virtq *vq, uint16_t id, uint32_t len);

/*
 * Whether the device should interrupt the driver now, after publishing used
 * elements (2.7.7.2, 2.7.10): with EVENT_IDX, when used->idx crossed
 * used_event since the last notification decision; without, unless the
 * driver set VIRTQ_AVAIL_F_NO_INTERRUPT. Call once per batch of pushes.
 */
bool virtq_should_notify(struct virtq *vq);

/*
 * Asks the driver for (enable) or against (disable) doorbells (2.7.7.1):
 * with EVENT_IDX through avail_event, else through VIRTQ_USED_F_NO_NOTIFY.
 * After enabling, check virtq_avail_pending() again: a chain made
 * available meanwhile would otherwise wait for the next doorbell. With
 * EVENT_IDX, disabling leaves avail_event where it was: the driver rings
 * at most once more.
 */
void virtq_set_notification(struct virtq *vq, bool enable);

/*
 * The EVENT_IDX rule (2.7.7.2) as a pure function: true when the index
 * moving from old_idx to new_idx passed event_idx (mod 2^16).
 */
static inline bool vring_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old_idx);
}

#endif /* NFV_NICMODELS_VIRTQUEUE_H */
