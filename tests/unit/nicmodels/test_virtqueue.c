// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for the split virtqueue walker (nicmodels/virtqueue.c): a ring
 * builder plays the driver in a guest RAM arena. Single-threaded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/log.h"
#include "nicmodels/virtqueue.h"

#include "../support/testutil.h"

#define RAM_SIZE (1u << 20)
#define DESC_GPA 0x1000u
#define AVAIL_GPA 0x9000u
#define USED_GPA 0xA000u
#define IND_GPA 0x20000u
#define BUF_GPA 0x40000u
#define NSEGS 64

#define F_IND (1ull << VIRTIO_F_RING_INDIRECT_DESC)
#define F_EVT (1ull << VIRTIO_F_RING_EVENT_IDX)

/* The driver's side of one queue. */
struct rb {
	struct arena *ar;
	struct virtq *vq;
	uint16_t size;
	uint16_t avail_idx;
	struct virtq_seg segs[NSEGS];
	struct virtq_chain ch;
};

static struct rb *rb_new(uint16_t size, uint64_t features)
{
	struct rb *r = calloc(1, sizeof(*r));
	struct virtq_layout l = {
		.size = size, .desc = DESC_GPA, .avail = AVAIL_GPA, .used = USED_GPA
	};

	assert_non_null(r);
	log_set_level(LOG_LVL_ERR); /* malformed rings warn by design */
	r->ar = arena_new(RAM_SIZE, 0);
	r->vq = virtq_new(&r->ar->gm, "test");
	assert_non_null(r->vq);
	r->size = size;
	assert_int_equal(virtq_setup(r->vq, &l, features), 0);
	assert_true(virtq_enabled(r->vq));
	r->ch.segs = r->segs;
	r->ch.cap = NSEGS;
	return r;
}

static void rb_free(struct rb *r)
{
	virtq_free(r->vq);
	arena_free(r->ar);
	free(r);
}

static void put_desc(uint8_t *p, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	wr32(p, 0, (uint32_t)addr);
	wr32(p, 4, (uint32_t)(addr >> 32));
	wr32(p, 8, len);
	wr16(p, 12, flags);
	wr16(p, 14, next);
}

static void rb_desc(struct rb *r, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		    uint16_t next)
{
	put_desc(r->ar->ram + DESC_GPA + 16u * i, addr, len, flags, next);
}

static void rb_ind(struct rb *r, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		   uint16_t next)
{
	put_desc(r->ar->ram + IND_GPA + 16u * i, addr, len, flags, next);
}

/* Makes `head` available and publishes avail->idx. */
static void rb_publish(struct rb *r, uint16_t head)
{
	wr16(r->ar->ram, AVAIL_GPA + 4 + 2u * (r->avail_idx % r->size), head);
	r->avail_idx++;
	wr16(r->ar->ram, AVAIL_GPA + 2, r->avail_idx);
}

static uint16_t used_idx(struct rb *r)
{
	return rd16(r->ar->ram, USED_GPA + 2);
}

static void used_elem(struct rb *r, uint16_t pos, uint32_t *id, uint32_t *len)
{
	*id = rd32(r->ar->ram, USED_GPA + 4 + 8u * (pos % r->size));
	*len = rd32(r->ar->ram, USED_GPA + 8 + 8u * (pos % r->size));
}

static int pop(struct rb *r)
{
	return virtq_pop(r->vq, &r->ch);
}

/* The queue is broken with `err`, and refuses work. */
static void assert_broken(struct rb *r, int err)
{
	assert_true(virtq_broken(r->vq));
	assert_int_equal(virtq_error(r->vq), err);
	assert_int_equal(pop(r), -EIO);
	assert_int_equal(virtq_push(r->vq, 0, 0), -EIO);
	assert_false(virtq_should_notify(r->vq));
	assert_int_equal(used_idx(r), 0);
}

/* ---- setup ---- */

static void test_setup_checks(void **state)
{
	struct arena *ar = arena_new(RAM_SIZE, 0);
	struct virtq *vq = virtq_new(&ar->gm, "t");
	struct virtq_layout l = {
		.size = 256, .desc = DESC_GPA, .avail = AVAIL_GPA, .used = USED_GPA
	};

	(void)state;
	log_set_level(LOG_LVL_ERR);
	assert_int_equal(virtq_setup(vq, &l, 0), 0);
	assert_int_equal(virtq_size(vq), 256);
	l.size = 0;
	assert_int_equal(virtq_setup(vq, &l, 0), -EINVAL);
	assert_true(virtq_broken(vq));
	assert_false(virtq_enabled(vq));
	l.size = 100;
	assert_int_equal(virtq_setup(vq, &l, 0), -EINVAL);
	l.size = 32768; /* the largest: rings of 512 KiB + 64 KiB + 256 KiB still fit */
	l.desc = 0;
	l.avail = 0x80000;
	l.used = 0x92000;
	assert_int_equal(virtq_setup(vq, &l, 0), 0);
	assert_false(virtq_broken(vq));
	l.size = 256;
	l.desc = DESC_GPA + 8; /* descriptors are 16-byte aligned */
	assert_int_equal(virtq_setup(vq, &l, 0), -EINVAL);
	l.desc = DESC_GPA;
	l.used = USED_GPA + 2; /* used ring 4-byte aligned */
	assert_int_equal(virtq_setup(vq, &l, 0), -EINVAL);
	l.used = USED_GPA;
	l.avail = AVAIL_GPA + 1;
	assert_int_equal(virtq_setup(vq, &l, 0), -EINVAL);
	/* Each ring placed across the end of RAM. */
	l.avail = AVAIL_GPA;
	l.desc = RAM_SIZE - 16 * 128;
	assert_int_equal(virtq_setup(vq, &l, 0), -EFAULT);
	assert_true(virtq_broken(vq));
	assert_int_equal(virtq_error(vq), -EFAULT);
	l.desc = DESC_GPA;
	l.avail = RAM_SIZE - 4;
	assert_int_equal(virtq_setup(vq, &l, 0), -EFAULT);
	l.avail = AVAIL_GPA;
	l.used = RAM_SIZE - 2048; /* 2054 bytes needed */
	assert_int_equal(virtq_setup(vq, &l, 0), -EFAULT);
	l.used = 0xFFFFFFFFFFFFF000ull; /* wraps */
	assert_int_equal(virtq_setup(vq, &l, 0), -EFAULT);
	{
		struct virtq_seg s[4];
		struct virtq_chain c = { .segs = s, .cap = 4 };

		assert_int_equal(virtq_pop(vq, &c), -EIO);
	}
	/* A reset clears the error state. */
	virtq_reset(vq);
	assert_false(virtq_broken(vq));
	assert_false(virtq_enabled(vq));
	virtq_free(vq);
	arena_free(ar);
}

/* ---- pop and push ---- */

static void test_direct_chain(void **state)
{
	struct rb *r = rb_new(8, 0);
	uint32_t id, len;
	struct virtq_stats st;

	(void)state;
	assert_int_equal(pop(r), 0);
	assert_false(virtq_avail_pending(r->vq));
	/* head 5: two readable, one writable. */
	rb_desc(r, 5, BUF_GPA, 100, VIRTQ_DESC_F_NEXT, 2);
	rb_desc(r, 2, BUF_GPA + 0x1000, 200, VIRTQ_DESC_F_NEXT, 7);
	rb_desc(r, 7, BUF_GPA + 0x2000, 1500, VIRTQ_DESC_F_WRITE, 0);
	rb_publish(r, 5);
	assert_true(virtq_avail_pending(r->vq));
	assert_int_equal(pop(r), 1);
	assert_int_equal(r->ch.head, 5);
	assert_int_equal(r->ch.nr_segs, 3);
	assert_int_equal(r->ch.nr_read, 2);
	assert_int_equal(r->ch.read_len, 300);
	assert_int_equal(r->ch.write_len, 1500);
	assert_ptr_equal(r->segs[0].base, r->ar->ram + BUF_GPA);
	assert_ptr_equal(r->segs[1].base, r->ar->ram + BUF_GPA + 0x1000);
	assert_ptr_equal(r->segs[2].base, r->ar->ram + BUF_GPA + 0x2000);
	assert_false(r->segs[1].writable);
	assert_true(r->segs[2].writable);
	assert_int_equal(pop(r), 0);
	assert_int_equal(virtq_push(r->vq, 5, 64), 0);
	assert_int_equal(used_idx(r), 1);
	used_elem(r, 0, &id, &len);
	assert_int_equal(id, 5);
	assert_int_equal(len, 64);
	assert_int_equal(virtq_push(r->vq, 8, 0), -EINVAL); /* id beyond the size */

	/* Many chains across the 16-bit wrap of the indices. */
	for (unsigned int n = 0; n < 70000; n++) {
		uint16_t h = (uint16_t)(n % 8);

		rb_desc(r, h, BUF_GPA + h * 64u, 64, 0, 0);
		rb_publish(r, h);
		assert_int_equal(pop(r), 1);
		assert_int_equal(r->ch.head, h);
		assert_int_equal(r->ch.nr_segs, 1);
		assert_int_equal(virtq_push(r->vq, h, n), 0);
	}
	assert_int_equal(used_idx(r), (uint16_t)70001);
	virtq_get_stats(r->vq, &st);
	assert_int_equal(st.popped, 70001);
	assert_int_equal(st.pushed, 70001);
	assert_false(virtq_broken(r->vq));
	rb_free(r);
}

static void test_zero_len_and_batch(void **state)
{
	struct rb *r = rb_new(4, 0);
	uint32_t id, len;

	(void)state;
	/* A zero-length segment at an address outside RAM is never translated. */
	rb_desc(r, 0, 0xFFFFFFFF0ull, 0, VIRTQ_DESC_F_NEXT, 1);
	rb_desc(r, 1, BUF_GPA, 10, 0, 0);
	rb_desc(r, 2, BUF_GPA, 10, VIRTQ_DESC_F_WRITE, 0);
	rb_publish(r, 0);
	rb_publish(r, 2);
	assert_int_equal(pop(r), 1);
	assert_null(r->segs[0].base);
	assert_int_equal(r->ch.read_len, 10);
	assert_int_equal(pop(r), 1);
	assert_int_equal(r->ch.head, 2);
	/* Give the second back (no room), pop it again. */
	virtq_unpop(r->vq, 1);
	assert_int_equal(pop(r), 1);
	assert_int_equal(r->ch.head, 2);
	/* Two elements filled, published at once. */
	assert_int_equal(virtq_fill(r->vq, 0, 1, 0), 0);
	assert_int_equal(virtq_fill(r->vq, 2, 2, 1), 0);
	assert_int_equal(used_idx(r), 0);
	virtq_flush(r->vq, 2);
	assert_int_equal(used_idx(r), 2);
	used_elem(r, 1, &id, &len);
	assert_int_equal(id, 2);
	assert_int_equal(len, 2);
	rb_free(r);
}

static void test_indirect_chain(void **state)
{
	struct rb *r = rb_new(4, F_IND);

	(void)state;
	rb_ind(r, 0, BUF_GPA, 12, VIRTQ_DESC_F_NEXT, 2);
	rb_ind(r, 2, BUF_GPA + 0x100, 50, VIRTQ_DESC_F_NEXT, 1);
	rb_ind(r, 1, BUF_GPA + 0x1000, 2048, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 3);
	rb_ind(r, 3, BUF_GPA + 0x2000, 2048, VIRTQ_DESC_F_WRITE, 0);
	/* The WRITE flag of the indirect descriptor itself is ignored (2.7.5.3.2). */
	rb_desc(r, 3, IND_GPA, 4 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	rb_publish(r, 3);
	assert_int_equal(pop(r), 1);
	assert_int_equal(r->ch.head, 3);
	assert_int_equal(r->ch.nr_segs, 4);
	assert_int_equal(r->ch.nr_read, 2);
	assert_int_equal(r->ch.read_len, 62);
	assert_int_equal(r->ch.write_len, 4096);
	assert_ptr_equal(r->segs[2].base, r->ar->ram + BUF_GPA + 0x1000);
	assert_int_equal(virtq_push(r->vq, 3, 4096), 0);

	/* An indirect table longer than the queue is fine: it has its own bound. */
	for (uint16_t i = 0; i < 20; i++)
		rb_ind(r, i, BUF_GPA + i * 16u, 16, i < 19 ? VIRTQ_DESC_F_NEXT : 0,
		       (uint16_t)(i + 1));
	rb_desc(r, 0, IND_GPA, 20 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	rb_publish(r, 0);
	assert_int_equal(pop(r), 1);
	assert_int_equal(r->ch.nr_segs, 20);
	assert_int_equal(r->ch.read_len, 320);
	assert_false(virtq_broken(r->vq));
	rb_free(r);
}

/* ---- notifications ---- */

static void test_need_event(void **state)
{
	(void)state;
	/* Crossing the event index. */
	assert_true(vring_need_event(5, 6, 5));
	assert_true(vring_need_event(5, 10, 0));
	assert_false(vring_need_event(5, 5, 0));
	assert_false(vring_need_event(10, 6, 5));
	assert_false(vring_need_event(5, 5, 5));
	/* At the 16-bit wraparound. */
	assert_true(vring_need_event(0xFFFF, 0, 0xFFFF));
	assert_true(vring_need_event(0xFFFE, 2, 0xFFF0));
	assert_false(vring_need_event(3, 2, 0xFFF0));
	assert_true(vring_need_event(0, 1, 0xFFFF));
	assert_false(vring_need_event(1, 1, 0xFFFF));
	assert_true(vring_need_event(0xFFFF, 0x10, 0xFFF0));
}

static void test_event_idx(void **state)
{
	struct rb *r = rb_new(8, F_EVT);
	uint8_t *ram = r->ar->ram;
	const uint64_t used_event = AVAIL_GPA + 4 + 2 * 8, avail_event = USED_GPA + 4 + 8 * 8;

	(void)state;
	for (uint16_t i = 0; i < 8; i++)
		rb_desc(r, i, BUF_GPA, 64, VIRTQ_DESC_F_WRITE, 0);
	/* The flag is ignored with EVENT_IDX. */
	wr16(ram, AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	wr16(ram, used_event, 0);
	rb_publish(r, 0);
	assert_int_equal(pop(r), 1);
	assert_int_equal(virtq_push(r->vq, 0, 1), 0);
	assert_true(virtq_should_notify(r->vq)); /* used 0 -> 1 crosses used_event 0 */
	/* The driver wants an interrupt only after used idx passes 3. */
	wr16(ram, used_event, 3);
	for (uint16_t i = 1; i < 4; i++) {
		rb_publish(r, i);
		assert_int_equal(pop(r), 1);
		assert_int_equal(virtq_push(r->vq, i, 1), 0);
		/* Element 3 written (used idx 3 -> 4) is the one the driver waits for. */
		assert_int_equal(virtq_should_notify(r->vq), i == 3);
	}
	rb_publish(r, 4);
	assert_int_equal(pop(r), 1);
	assert_int_equal(virtq_push(r->vq, 4, 1), 0);
	assert_false(virtq_should_notify(r->vq)); /* 4 -> 5: already past */
	/* Several pushes, one decision: used 5 -> 7 with used_event 5. */
	wr16(ram, used_event, 5);
	for (uint16_t i = 5; i < 7; i++) {
		rb_publish(r, i);
		assert_int_equal(pop(r), 1);
		assert_int_equal(virtq_push(r->vq, i, 1), 0);
	}
	assert_true(virtq_should_notify(r->vq));
	assert_false(virtq_should_notify(r->vq)); /* nothing new */

	/* Doorbell suppression: avail_event follows what was popped. */
	virtq_set_notification(r->vq, true);
	assert_int_equal(rd16(ram, avail_event), 7);
	rb_publish(r, 7);
	assert_int_equal(pop(r), 1);
	virtq_set_notification(r->vq, true);
	assert_int_equal(rd16(ram, avail_event), 8);
	assert_int_equal(rd16(ram, USED_GPA), 0); /* flags untouched */
	rb_free(r);
}

static void test_event_idx_wrap(void **state)
{
	struct rb *r = rb_new(4, F_EVT);
	uint8_t *ram = r->ar->ram;
	const uint64_t used_event = AVAIL_GPA + 4 + 2 * 4;
	unsigned int yes = 0;

	(void)state;
	rb_desc(r, 0, BUF_GPA, 64, VIRTQ_DESC_F_WRITE, 0);
	/* The driver asks for an interrupt on every used element, through the wrap. */
	for (unsigned int n = 0; n < 65546; n++) {
		wr16(ram, used_event, (uint16_t)n);
		rb_publish(r, 0);
		assert_int_equal(pop(r), 1);
		assert_int_equal(virtq_push(r->vq, 0, 1), 0);
		if (virtq_should_notify(r->vq))
			yes++;
	}
	assert_int_equal(yes, 65546);
	/* And every 1000th one only. */
	yes = 0;
	for (unsigned int n = 0; n < 10000; n++) {
		uint16_t u = used_idx(r);

		wr16(ram, used_event, (uint16_t)(u + 999 - (u % 1000)));
		rb_publish(r, 0);
		assert_int_equal(pop(r), 1);
		assert_int_equal(virtq_push(r->vq, 0, 1), 0);
		if (virtq_should_notify(r->vq))
			yes++;
	}
	assert_in_range(yes, 9, 11);
	rb_free(r);
}

static void test_no_event_idx_flags(void **state)
{
	struct rb *r = rb_new(4, 0);
	uint8_t *ram = r->ar->ram;

	(void)state;
	rb_desc(r, 0, BUF_GPA, 64, VIRTQ_DESC_F_WRITE, 0);
	rb_publish(r, 0);
	assert_int_equal(pop(r), 1);
	assert_int_equal(virtq_push(r->vq, 0, 1), 0);
	assert_true(virtq_should_notify(r->vq));
	wr16(ram, AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	assert_false(virtq_should_notify(r->vq));
	wr16(ram, AVAIL_GPA, 0);
	assert_true(virtq_should_notify(r->vq));
	virtq_set_notification(r->vq, false);
	assert_int_equal(rd16(ram, USED_GPA), VIRTQ_USED_F_NO_NOTIFY);
	virtq_set_notification(r->vq, true);
	assert_int_equal(rd16(ram, USED_GPA), 0);
	rb_free(r);
}

/* ---- malformed rings: each one breaks the queue ---- */

static void test_bad_head(void **state)
{
	struct rb *r = rb_new(8, 0);

	(void)state;
	rb_publish(r, 8);
	assert_int_equal(pop(r), -EIO);
	assert_broken(r, -EINVAL);
	rb_free(r);
}

static void test_bad_next(void **state)
{
	struct rb *r = rb_new(8, 0);

	(void)state;
	rb_desc(r, 0, BUF_GPA, 10, VIRTQ_DESC_F_NEXT, 0x1234);
	rb_publish(r, 0);
	assert_int_equal(pop(r), -EIO);
	assert_broken(r, -EINVAL);
	rb_free(r);
}

static void test_desc_outside_ram(void **state)
{
	static const uint64_t addrs[][2] = {
		{ RAM_SIZE, 1 },		 /* just past the end */
		{ RAM_SIZE - 10, 11 },		 /* straddles the end */
		{ 0xFFFFFFFFFFFFFFF0ull, 0x20 }, /* wraps */
		{ 0x100000000ull, 4 },		 /* far away */
	};

	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(addrs); i++) {
		struct rb *r = rb_new(8, 0);

		rb_desc(r, 0, BUF_GPA, 10, VIRTQ_DESC_F_NEXT, 1);
		rb_desc(r, 1, addrs[i][0], (uint32_t)addrs[i][1], VIRTQ_DESC_F_WRITE, 0);
		rb_publish(r, 0);
		assert_int_equal(pop(r), -EIO);
		assert_broken(r, -EFAULT);
		rb_free(r);
	}
}

static void test_chain_loop(void **state)
{
	struct rb *r = rb_new(8, 0);

	(void)state;
	/* Self loop. */
	rb_desc(r, 3, BUF_GPA, 10, VIRTQ_DESC_F_NEXT, 3);
	rb_publish(r, 3);
	assert_int_equal(pop(r), -EIO);
	assert_broken(r, -ELOOP);
	rb_free(r);

	/* 0 -> 1 -> 2 -> 0 */
	r = rb_new(8, 0);
	rb_desc(r, 0, BUF_GPA, 10, VIRTQ_DESC_F_NEXT, 1);
	rb_desc(r, 1, BUF_GPA, 10, VIRTQ_DESC_F_NEXT, 2);
	rb_desc(r, 2, BUF_GPA, 10, VIRTQ_DESC_F_NEXT, 0);
	rb_publish(r, 0);
	assert_int_equal(pop(r), -EIO);
	assert_broken(r, -ELOOP);
	rb_free(r);
}

static void test_chain_longer_than_queue(void **state)
{
	struct rb *r = rb_new(4, 0);

	(void)state;
	/* Every descriptor chained, the last back to the first: 4 is the bound. */
	for (uint16_t i = 0; i < 4; i++)
		rb_desc(r, i, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, (uint16_t)((i + 1) % 4));
	rb_publish(r, 0);
	assert_int_equal(pop(r), -EIO);
	assert_broken(r, -ELOOP);
	rb_free(r);

	/* Exactly as long as the queue is fine. */
	r = rb_new(4, 0);
	for (uint16_t i = 0; i < 4; i++)
		rb_desc(r, i, BUF_GPA, 1, i < 3 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	rb_publish(r, 0);
	assert_int_equal(pop(r), 1);
	assert_int_equal(r->ch.nr_segs, 4);
	rb_free(r);

	/* More segments than the device's array takes. */
	r = rb_new(4, 0);
	r->ch.cap = 2;
	for (uint16_t i = 0; i < 4; i++)
		rb_desc(r, i, BUF_GPA, 1, i < 3 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	rb_publish(r, 0);
	assert_int_equal(pop(r), -ENOBUFS);
	assert_broken(r, -ENOBUFS);
	rb_free(r);
}

static void test_indirect_loop(void **state)
{
	struct rb *r = rb_new(4, F_IND);

	(void)state;
	rb_ind(r, 0, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, 1);
	rb_ind(r, 1, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, 0);
	rb_desc(r, 0, IND_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	rb_publish(r, 0);
	assert_int_equal(pop(r), -EIO);
	assert_broken(r, -ELOOP);
	rb_free(r);

	/* next beyond the table (but inside the queue size). */
	r = rb_new(8, F_IND);
	rb_ind(r, 0, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, 2);
	rb_desc(r, 0, IND_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	rb_publish(r, 0);
	assert_int_equal(pop(r), -EIO);
	assert_broken(r, -EINVAL);
	rb_free(r);
}

static void test_nested_indirect(void **state)
{
	struct rb *r = rb_new(4, F_IND);

	(void)state;
	rb_ind(r, 0, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, 1);
	rb_ind(r, 1, IND_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	rb_desc(r, 0, IND_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	rb_publish(r, 0);
	assert_int_equal(pop(r), -EIO);
	assert_broken(r, -EINVAL);
	rb_free(r);
}

static void test_indirect_bad(void **state)
{
	struct {
		uint64_t addr;
		uint32_t len;
		uint16_t flags;
		uint64_t features;
		int err;
	} cases[] = {
		{ IND_GPA, 0, VIRTQ_DESC_F_INDIRECT, F_IND, -EINVAL },
		{ IND_GPA, 17, VIRTQ_DESC_F_INDIRECT, F_IND, -EINVAL },
		{ IND_GPA, 40, VIRTQ_DESC_F_INDIRECT, F_IND, -EINVAL },
		{ RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, F_IND, -EFAULT },
		{ 0xFFFFFFFFFFFFFFF0ull, 32, VIRTQ_DESC_F_INDIRECT, F_IND, -EFAULT },
		{ IND_GPA, 0xFFFFFFF0u, VIRTQ_DESC_F_INDIRECT, F_IND, -E2BIG },
		{ IND_GPA, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, F_IND, -EINVAL },
		{ IND_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0, -EINVAL }, /* not negotiated */
	};

	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct rb *r = rb_new(4, cases[i].features);

		rb_ind(r, 0, BUF_GPA, 1, 0, 0);
		rb_ind(r, 1, BUF_GPA, 1, 0, 0);
		rb_desc(r, 1, BUF_GPA, 1, 0, 0);
		rb_desc(r, 0, cases[i].addr, cases[i].len, cases[i].flags, 1);
		rb_publish(r, 0);
		assert_int_equal(pop(r), -EIO);
		assert_broken(r, cases[i].err);
		rb_free(r);
	}

	/* Direct descriptors, then an indirect one ending the chain: its table follows. */
	struct rb *r = rb_new(4, F_IND);

	rb_ind(r, 0, BUF_GPA + 0x100, 7, VIRTQ_DESC_F_WRITE, 0);
	rb_desc(r, 0, BUF_GPA, 5, VIRTQ_DESC_F_NEXT, 1);
	rb_desc(r, 1, IND_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	rb_publish(r, 0);
	assert_int_equal(pop(r), 1);
	assert_int_equal(r->ch.nr_segs, 2);
	assert_int_equal(r->ch.read_len, 5);
	assert_int_equal(r->ch.write_len, 7);
	/* ... but not an indirect table inside that chain's table. */
	rb_ind(r, 0, IND_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	rb_publish(r, 0);
	assert_int_equal(pop(r), -EIO);
	assert_int_equal(virtq_error(r->vq), -EINVAL);
	rb_free(r);
}

static void test_writable_before_readable(void **state)
{
	struct rb *r = rb_new(4, F_IND);

	(void)state;
	rb_desc(r, 0, BUF_GPA, 10, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	rb_desc(r, 1, BUF_GPA, 10, 0, 0);
	rb_publish(r, 0);
	assert_int_equal(pop(r), -EIO);
	assert_broken(r, -EINVAL);
	rb_free(r);

	/* The same inside an indirect table. */
	r = rb_new(4, F_IND);
	rb_ind(r, 0, BUF_GPA, 10, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	rb_ind(r, 1, BUF_GPA, 10, 0, 0);
	rb_desc(r, 0, IND_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	rb_publish(r, 0);
	assert_int_equal(pop(r), -EIO);
	assert_broken(r, -EINVAL);
	rb_free(r);
}

static void test_avail_jump(void **state)
{
	struct rb *r = rb_new(8, 0);

	(void)state;
	rb_desc(r, 0, BUF_GPA, 10, 0, 0);
	wr16(r->ar->ram, AVAIL_GPA + 2, 8); /* exactly the size: fine */
	assert_int_equal(pop(r), 1);
	wr16(r->ar->ram, AVAIL_GPA + 2, 1 + 9); /* 9 ahead of what was popped */
	assert_int_equal(pop(r), -EIO);
	assert_broken(r, -EOVERFLOW);
	rb_free(r);

	/* Going backwards is a huge jump too. */
	r = rb_new(8, 0);
	wr16(r->ar->ram, AVAIL_GPA + 2, 0xFFFF);
	assert_false(virtq_avail_pending(r->vq));
	assert_broken(r, -EOVERFLOW);
	rb_free(r);
}

static void test_disabled(void **state)
{
	struct arena *ar = arena_new(RAM_SIZE, 0);
	struct virtq *vq = virtq_new(&ar->gm, "t");
	struct virtq_seg s[2];
	struct virtq_chain c = { .segs = s, .cap = 2 };

	(void)state;
	assert_false(virtq_enabled(vq));
	assert_int_equal(virtq_pop(vq, &c), -EINVAL);
	assert_int_equal(virtq_push(vq, 0, 0), -EINVAL);
	assert_false(virtq_should_notify(vq));
	assert_false(virtq_avail_pending(vq));
	virtq_set_notification(vq, true);
	virtq_free(vq);
	arena_free(ar);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_setup_checks),
		cmocka_unit_test(test_direct_chain),
		cmocka_unit_test(test_zero_len_and_batch),
		cmocka_unit_test(test_indirect_chain),
		cmocka_unit_test(test_need_event),
		cmocka_unit_test(test_event_idx),
		cmocka_unit_test(test_event_idx_wrap),
		cmocka_unit_test(test_no_event_idx_flags),
		cmocka_unit_test(test_bad_head),
		cmocka_unit_test(test_bad_next),
		cmocka_unit_test(test_desc_outside_ram),
		cmocka_unit_test(test_chain_loop),
		cmocka_unit_test(test_chain_longer_than_queue),
		cmocka_unit_test(test_indirect_loop),
		cmocka_unit_test(test_nested_indirect),
		cmocka_unit_test(test_indirect_bad),
		cmocka_unit_test(test_writable_before_readable),
		cmocka_unit_test(test_avail_jump),
		cmocka_unit_test(test_disabled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
