// SPDX-License-Identifier: BSD-3-Clause
/*
 * Split virtqueue walker (device side). See virtqueue.h for the contract.
 *
 * Threads: none of its own and no lock; one owner at a time, as the header
 * says. The guest driver runs concurrently on other CPUs: ring fields it
 * writes are read with atomic loads, ordered by the fences noted below.
 *
 * Guest memory: the rings are translated once at setup; every descriptor's
 * buffer and every indirect table is translated through gm_translate(),
 * which only ever returns RAM (never MMIO), so the device cannot be
 * re-entered through its own DMA.
 */
#define LOG_COMPONENT "virtq"

#include "nicmodels/virtqueue.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

/* One descriptor as laid out in guest RAM (2.7.5). */
struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq {
	const struct guest_mem *gm;
	char name[48];
	bool enabled;
	int error; /* -errno of the first fault, 0 when fine */
	bool event_idx;
	bool indirect;
	uint16_t size;
	uint16_t last_avail;	 /* next avail entry to pop */
	uint16_t used_idx;	 /* shadow of used->idx */
	uint16_t signalled_used; /* used_idx at the last notification decision */
	bool signalled_valid;
	/* Host views of the rings. */
	uint8_t *desc;	    /* size * 16 bytes */
	uint16_t *avail;    /* flags, idx, ring[size], used_event */
	uint16_t *used_hdr; /* flags, idx */
	uint8_t *used_ring; /* size * 8 bytes, then avail_event */
	struct virtq_stats st;
	struct log_ratelimit rl;
};

struct virtq *virtq_new(const struct guest_mem *gm, const char *name)
{
	struct virtq *vq = calloc(1, sizeof(*vq));

	if (!vq)
		return NULL;
	vq->gm = gm;
	snprintf(vq->name, sizeof(vq->name), "%s", name ? name : "virtq");
	vq->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(1000, 5);
	return vq;
}

void virtq_free(struct virtq *vq)
{
	free(vq);
}

void virtq_reset(struct virtq *vq)
{
	vq->enabled = false;
	vq->error = 0;
	vq->size = 0;
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_valid = false;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used_hdr = NULL;
	vq->used_ring = NULL;
}

/* Puts the queue in its error state; returns -EIO for the caller to pass up. */
static int vq_fail(struct virtq *vq, int err, const char *what, uint64_t val)
{
	if (!vq->error)
		vq->error = err;
	if (log_ratelimit_ok(&vq->rl))
		log_warn("%s: malformed ring: %s (0x%llx); queue stopped", vq->name, what,
			 (unsigned long long)val);
	return -EIO;
}

int virtq_setup(struct virtq *vq, const struct virtq_layout *l, uint64_t features)
{
	void *d, *a, *u;

	virtq_reset(vq);
	if (!IS_POWER_OF_2(l->size) || l->size > VIRTQ_MAX_SIZE) {
		vq_fail(vq, -EINVAL, "queue size", l->size);
		return -EINVAL;
	}
	if ((l->desc & 15) || (l->avail & 1) || (l->used & 3)) {
		vq_fail(vq, -EINVAL, "ring alignment", l->desc | l->avail | l->used);
		return -EINVAL;
	}
	d = gm_translate(vq->gm, l->desc, VIRTQ_DESC_BYTES(l->size));
	a = gm_translate(vq->gm, l->avail, VIRTQ_AVAIL_BYTES(l->size));
	u = gm_translate(vq->gm, l->used, VIRTQ_USED_BYTES(l->size));
	if (!d || !a || !u) {
		vq_fail(vq, -EFAULT, "ring outside RAM", !d ? l->desc : !a ? l->avail : l->used);
		return -EFAULT;
	}
	/* Atomic 16-bit accesses need the host mapping aligned as the guest address is. */
	if (((uintptr_t)a & 1) || ((uintptr_t)u & 3)) {
		vq_fail(vq, -EINVAL, "host mapping alignment", (uintptr_t)a);
		return -EINVAL;
	}
	vq->size = l->size;
	vq->desc = d;
	vq->avail = a;
	vq->used_hdr = u;
	vq->used_ring = (uint8_t *)u + 4;
	vq->event_idx = features & (1ull << VIRTIO_F_RING_EVENT_IDX);
	vq->indirect = features & (1ull << VIRTIO_F_RING_INDIRECT_DESC);
	vq->enabled = true;
	return 0;
}

bool virtq_enabled(const struct virtq *vq)
{
	return vq->enabled;
}

bool virtq_broken(const struct virtq *vq)
{
	return vq->error != 0;
}

int virtq_error(const struct virtq *vq)
{
	return vq->error;
}

uint16_t virtq_size(const struct virtq *vq)
{
	return vq->size;
}

void virtq_get_stats(const struct virtq *vq, struct virtq_stats *st)
{
	*st = vq->st;
}

static inline uint16_t vq_load16(const uint16_t *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static inline void vq_store16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELAXED);
}

static inline void vq_read_desc(const uint8_t *table, uint32_t i, struct vq_desc *d)
{
	memcpy(d, table + 16ull * i, sizeof(*d));
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
}

/* Avail idx, checked: it may be at most `size` ahead of what was popped. */
static int vq_avail_idx(struct virtq *vq, uint16_t *idx)
{
	uint16_t a = vq_load16(&vq->avail[1]);

	if ((uint16_t)(a - vq->last_avail) > vq->size)
		return vq_fail(vq, -EOVERFLOW, "avail idx jumped", a);
	*idx = a;
	return 0;
}

bool virtq_avail_pending(struct virtq *vq)
{
	uint16_t idx;

	if (!vq->enabled || vq->error)
		return false;
	if (vq_avail_idx(vq, &idx) < 0)
		return false;
	return idx != vq->last_avail;
}

/* Adds one descriptor's buffer to the chain. */
static int vq_add_seg(struct virtq *vq, struct virtq_chain *c, const struct vq_desc *d)
{
	struct virtq_seg *s;
	bool w = d->flags & VIRTQ_DESC_F_WRITE;
	uint32_t *total = w ? &c->write_len : &c->read_len;

	if (!w && c->nr_segs > c->nr_read)
		return vq_fail(vq, -EINVAL, "readable descriptor after a writable one", d->addr);
	if (c->nr_segs >= c->cap) {
		vq_fail(vq, -ENOBUFS, "chain has more segments than the device takes", c->cap);
		return -ENOBUFS;
	}
	/* A chain carries at most 2^32 - 1 bytes in all (2.7.5.2): used->len is 32-bit. */
	if ((uint64_t)c->read_len + c->write_len + d->len > UINT32_MAX)
		return vq_fail(vq, -EOVERFLOW, "chain longer than 4 GiB", d->len);
	*total += d->len;
	s = &c->segs[c->nr_segs];
	s->gpa = d->addr;
	s->len = d->len;
	s->writable = w;
	s->base = NULL;
	if (d->len) {
		s->base = gm_translate(vq->gm, d->addr, d->len);
		if (!s->base)
			return vq_fail(vq, -EFAULT, "buffer outside RAM", d->addr);
	}
	c->nr_segs++;
	if (!w)
		c->nr_read++;
	return 0;
}

/* Walks an indirect table (2.7.5.3): one level, bounded by its entry count. */
static int vq_walk_indirect(struct virtq *vq, struct virtq_chain *c, const struct vq_desc *id)
{
	const uint8_t *table;
	uint32_t n, i = 0, hops;
	struct vq_desc d;
	int ret;

	if (!vq->indirect)
		return vq_fail(vq, -EINVAL, "indirect descriptor not negotiated", id->addr);
	if (id->flags & VIRTQ_DESC_F_NEXT)
		return vq_fail(vq, -EINVAL, "indirect descriptor with NEXT", id->addr);
	if (id->len == 0 || id->len % 16)
		return vq_fail(vq, -EINVAL, "indirect table length", id->len);
	n = id->len / 16;
	if (n > VIRTQ_MAX_SIZE)
		return vq_fail(vq, -E2BIG, "indirect table too long", id->len);
	table = gm_translate(vq->gm, id->addr, id->len);
	if (!table)
		return vq_fail(vq, -EFAULT, "indirect table outside RAM", id->addr);
	for (hops = 0;; hops++) {
		if (hops >= n)
			return vq_fail(vq, -ELOOP, "indirect chain loops or runs past its table",
				       i);
		vq_read_desc(table, i, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return vq_fail(vq, -EINVAL, "indirect inside indirect", d.addr);
		ret = vq_add_seg(vq, c, &d);
		if (ret < 0)
			return ret;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= n)
			return vq_fail(vq, -EINVAL, "indirect next index beyond the table", d.next);
		i = d.next;
	}
}

/* Walks the chain starting at `head` in the descriptor table. */
static int vq_walk(struct virtq *vq, struct virtq_chain *c, uint16_t head)
{
	uint32_t i = head, hops;
	struct vq_desc d;
	int ret;

	for (hops = 0;; hops++) {
		if (hops >= vq->size)
			return vq_fail(vq, -ELOOP, "chain loops or is longer than the queue", head);
		vq_read_desc(vq->desc, i, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/*
			 * Without NEXT (checked there) it ends the chain: direct
			 * descriptors before it are allowed, its table follows them.
			 */
			return vq_walk_indirect(vq, c, &d);
		}
		ret = vq_add_seg(vq, c, &d);
		if (ret < 0)
			return ret;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= vq->size)
			return vq_fail(vq, -EINVAL, "next index beyond the queue size", d.next);
		i = d.next;
	}
}

int virtq_pop(struct virtq *vq, struct virtq_chain *c)
{
	uint16_t idx, head;
	int ret;

	if (vq->error)
		return -EIO;
	if (!vq->enabled)
		return -EINVAL;
	ret = vq_avail_idx(vq, &idx);
	if (ret < 0)
		return ret;
	if (idx == vq->last_avail)
		return 0;
	/* The ring entry and the descriptors are read after avail->idx. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	head = vq_load16(&vq->avail[2 + (vq->last_avail & (vq->size - 1))]);
	if (head >= vq->size)
		return vq_fail(vq, -EINVAL, "head index beyond the queue size", head);
	c->nr_segs = 0;
	c->nr_read = 0;
	c->read_len = 0;
	c->write_len = 0;
	c->head = head;
	ret = vq_walk(vq, c, head);
	if (ret < 0)
		return ret == -ENOBUFS ? ret : -EIO;
	vq->last_avail++;
	vq->st.popped++;
	return 1;
}

void virtq_unpop(struct virtq *vq, uint16_t n)
{
	vq->last_avail = (uint16_t)(vq->last_avail - n);
}

int virtq_fill(struct virtq *vq, uint16_t id, uint32_t len, uint16_t offset)
{
	uint8_t *e;

	if (vq->error)
		return -EIO;
	if (!vq->enabled || id >= vq->size)
		return -EINVAL;
	e = vq->used_ring + 8ull * ((uint16_t)(vq->used_idx + offset) & (vq->size - 1));
	__atomic_store_n((uint32_t *)e, htole32(id), __ATOMIC_RELAXED);
	__atomic_store_n((uint32_t *)(e + 4), htole32(len), __ATOMIC_RELAXED);
	return 0;
}

void virtq_flush(struct virtq *vq, uint16_t n)
{
	if (!vq->enabled || vq->error)
		return;
	vq->used_idx = (uint16_t)(vq->used_idx + n);
	/* The elements are visible before the index that publishes them. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vq_store16(&vq->used_hdr[1], vq->used_idx);
	vq->st.pushed += n;
}

int virtq_push(struct virtq *vq, uint16_t id, uint32_t len)
{
	int ret = virtq_fill(vq, id, len, 0);

	if (ret < 0)
		return ret;
	virtq_flush(vq, 1);
	return 0;
}

bool virtq_should_notify(struct virtq *vq)
{
	uint16_t old, ev;
	bool valid, yes;

	if (!vq->enabled || vq->error)
		return false;
	/* used->idx is visible before we read what the driver asked for. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx) {
		yes = !(vq_load16(&vq->avail[0]) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	} else {
		old = vq->signalled_used;
		valid = vq->signalled_valid;
		vq->signalled_used = vq->used_idx;
		vq->signalled_valid = true;
		ev = vq_load16(&vq->avail[2 + vq->size]); /* used_event */
		/* Nothing decided yet since setup: notify once to be safe. */
		yes = !valid || vring_need_event(ev, vq->used_idx, old);
	}
	if (yes)
		vq->st.notifies_sent++;
	else
		vq->st.notifies_suppressed++;
	return yes;
}

void virtq_set_notification(struct virtq *vq, bool enable)
{
	uint16_t f;

	if (!vq->enabled || vq->error)
		return;
	if (vq->event_idx) {
		/* avail_event: wake me when the driver makes last_avail available. */
		if (enable)
			vq_store16((uint16_t *)(vq->used_ring + 8ull * vq->size), vq->last_avail);
	} else {
		f = vq_load16(&vq->used_hdr[0]);
		f = enable ? (uint16_t)(f & ~VIRTQ_USED_F_NO_NOTIFY)
			   : (uint16_t)(f | VIRTQ_USED_F_NO_NOTIFY);
		vq_store16(&vq->used_hdr[0], f);
	}
	/* The request is visible before the caller checks avail->idx again. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}
