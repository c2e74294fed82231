// SPDX-License-Identifier: BSD-3-Clause
/*
 * libFuzzer harness for the split virtqueue walker (nicmodels/virtqueue.c).
 *
 * Each input sets up one queue over guest RAM made of two regions with a
 * hole between them (each region its own exact-size heap block, so ASan
 * catches any access outside them): a header picks the queue size, the
 * features and where the rings go (anywhere, including across a region's
 * end); the next bytes fill the RAM (descriptors, indirect tables, ring
 * indices are whatever the fuzzer wrote); the rest is a sequence of
 * operations played as the device and as a misbehaving driver would:
 * pop, push, fill/flush, unpop, notification decisions, writes to RAM
 * (moving avail->idx, rewriting descriptors) between them.
 *
 * What is checked: no crash, no sanitizer report, no hang (every pop
 * terminates), every popped segment lies inside one region, the chain's
 * counts and length sums agree with its segments, readable segments come
 * first, and a broken queue stays broken and refuses work.
 *
 * Single-threaded; the queue and the RAM belong to one input.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/guestmem.h"
#include "common/log.h"
#include "nicmodels/virtqueue.h"

#define FZ_R0_GPA 0x0u
#define FZ_R0_SIZE 0x8000u
#define FZ_R1_GPA 0x10000u
#define FZ_R1_SIZE 0x8000u
#define FZ_MAX_OPS 512
#define FZ_MAX_SEGS 96

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "fuzz_virtq: check failed: %s (line %d)\n", #cond, \
				__LINE__);                                                 \
			abort();                                                           \
		}                                                                          \
	} while (0)

struct fz {
	const uint8_t *p;
	size_t n;
	uint8_t *r0, *r1;
	struct guest_mem gm;
};

static bool fz_take(struct fz *f, void *out, size_t len)
{
	if (f->n < len)
		return false;
	memcpy(out, f->p, len);
	f->p += len;
	f->n -= len;
	return true;
}

static uint8_t fz_u8(struct fz *f)
{
	uint8_t v = 0;

	fz_take(f, &v, 1);
	return v;
}

static uint16_t fz_u16(struct fz *f)
{
	uint16_t v = 0;

	fz_take(f, &v, 2);
	return v;
}

/* A guest address: mostly inside a region, sometimes anywhere. */
static uint64_t fz_gpa(struct fz *f)
{
	uint8_t sel = fz_u8(f);
	uint16_t off = fz_u16(f);

	switch (sel & 3) {
	case 0: return FZ_R0_GPA + (off % FZ_R0_SIZE);
	case 1: return FZ_R1_GPA + (off % FZ_R1_SIZE);
	case 2: return (uint64_t)off << (sel >> 2 & 31);
	default: return 0xFFFFFFFFFFFFFFFFull - off;
	}
}

/* True when [p, p + len) lies inside one region. */
static bool fz_inside(const struct fz *f, const uint8_t *p, uint32_t len)
{
	if (p >= f->r0 && p + len <= f->r0 + FZ_R0_SIZE && p + len >= p)
		return true;
	return p >= f->r1 && p + len <= f->r1 + FZ_R1_SIZE && p + len >= p;
}

static void fz_check_chain(const struct fz *f, const struct virtq_chain *c, uint16_t size)
{
	uint64_t rl = 0, wl = 0;

	CHECK(c->head < size);
	CHECK(c->nr_read <= c->nr_segs && c->nr_segs <= c->cap);
	for (unsigned int i = 0; i < c->nr_segs; i++) {
		const struct virtq_seg *s = &c->segs[i];

		CHECK(s->writable == (i >= c->nr_read));
		if (s->len) {
			CHECK(s->base != NULL);
			CHECK(fz_inside(f, s->base, s->len));
			/* Touch both ends: ASan reports any byte outside the regions. */
			((volatile uint8_t *)s->base)[0];
			((volatile uint8_t *)s->base)[s->len - 1];
		}
		if (s->writable)
			wl += s->len;
		else
			rl += s->len;
	}
	CHECK(rl == c->read_len && wl == c->write_len);
}

/* Writes fuzzer bytes into guest RAM, as a driver racing the device would. */
static void fz_poke(struct fz *f)
{
	uint64_t gpa = fz_gpa(f);
	uint8_t len = fz_u8(f) % 16 + 1;
	uint8_t buf[16] = { 0 };

	fz_take(f, buf, len);
	if (gm_write(&f->gm, gpa, buf, len) < 0)
		return;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { .p = data, .n = size };
	struct virtq_seg segs[FZ_MAX_SEGS];
	struct virtq_chain c = { .segs = segs };
	struct virtq_layout l;
	struct virtq *vq;
	uint64_t features;
	uint16_t heads[64];
	unsigned int nheads = 0;
	size_t fill;
	uint8_t hdr;
	bool broken = false;

	log_set_level(LOG_LVL_ERR);
	/* Header: size, features, ring addresses. */
	hdr = fz_u8(&f);
	l.size = (uint16_t)(1u << (hdr % 10)); /* 1 .. 512 */
	if (hdr & 0x80)
		l.size = (uint16_t)(l.size + (hdr >> 4 & 3)); /* sometimes not a power of two */
	features = (uint64_t)(fz_u8(&f) & 3) << VIRTIO_F_RING_INDIRECT_DESC;
	l.desc = fz_gpa(&f) & ~15ull;
	l.avail = fz_gpa(&f) & ~1ull;
	l.used = fz_gpa(&f) & ~3ull;

	f.r0 = malloc(FZ_R0_SIZE);
	f.r1 = malloc(FZ_R1_SIZE);
	CHECK(f.r0 && f.r1);
	memset(f.r0, 0, FZ_R0_SIZE);
	memset(f.r1, 0, FZ_R1_SIZE);
	CHECK(gm_add_region(&f.gm, FZ_R0_GPA, FZ_R0_SIZE, f.r0, -1, 0) == 0);
	CHECK(gm_add_region(&f.gm, FZ_R1_GPA, FZ_R1_SIZE, f.r1, -1, 0) == 0);
	/* RAM contents: the next block of input, spread over both regions. */
	fill = MIN(f.n / 2, (size_t)FZ_R0_SIZE);
	fz_take(&f, f.r0, fill / 2);
	fz_take(&f, f.r1, fill - fill / 2);
	vq = virtq_new(&f.gm, "fuzz");
	CHECK(vq);
	if (virtq_setup(vq, &l, features) < 0) {
		broken = true;
		CHECK(virtq_broken(vq));
	}

	for (int op = 0; op < FZ_MAX_OPS && f.n; op++) {
		uint8_t o = fz_u8(&f);
		int ret;

		switch (o % 8) {
		case 0:
		case 1:
			c.cap = (o >> 3) % 2 ? FZ_MAX_SEGS : 1u + (o >> 4);
			ret = virtq_pop(vq, &c);
			CHECK(ret == 1 || ret == 0 || ret == -EIO || ret == -ENOBUFS ||
			      (ret == -EINVAL && !virtq_enabled(vq)));
			if (ret == 1) {
				CHECK(!broken);
				fz_check_chain(&f, &c, virtq_size(vq));
				if (nheads < ARRAY_SIZE(heads))
					heads[nheads++] = c.head;
			}
			if (ret < 0 && ret != -EINVAL) {
				CHECK(virtq_broken(vq));
				broken = true;
			}
			break;
		case 2:
			if (nheads) {
				ret = virtq_push(vq, heads[--nheads], fz_u16(&f));
				CHECK(ret == 0 || (broken && ret == -EIO));
			} else {
				ret = virtq_push(vq, fz_u16(&f), 0);
				CHECK(ret == 0 || ret == -EINVAL || ret == -EIO);
			}
			break;
		case 3:
			if (virtq_fill(vq, fz_u16(&f), fz_u16(&f), fz_u8(&f)) == 0)
				virtq_flush(vq, fz_u8(&f) % 4);
			break;
		case 4:
			if (virtq_should_notify(vq))
				CHECK(!broken);
			break;
		case 5:
			virtq_set_notification(vq, o & 8);
			/* May itself find avail->idx jumped and break the queue. */
			if (!virtq_avail_pending(vq) && virtq_broken(vq))
				broken = true;
			break;
		case 6:
			if (nheads && (o & 8)) {
				virtq_unpop(vq, 1);
				nheads--;
			} else {
				fz_poke(&f);
			}
			break;
		default: fz_poke(&f); break;
		}
		if (broken)
			CHECK(virtq_broken(vq) && virtq_pop(vq, &c) == -EIO);
	}
	virtq_free(vq);
	free(f.r0);
	free(f.r1);
	return 0;
}
