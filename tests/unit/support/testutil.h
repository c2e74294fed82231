/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers shared by the unit tests: guest RAM as a heap arena registered
 * with guestmem, and little-endian field access into byte buffers.
 * Include after <cmocka.h>.
 */
#ifndef NFV_TESTS_UNIT_SUPPORT_TESTUTIL_H
#define NFV_TESTS_UNIT_SUPPORT_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/guestmem.h"

/* Guest RAM [0, size) in one region. */
struct arena {
	struct guest_mem gm;
	uint8_t *ram;
	uint64_t size;
};

/*
 * New arena with every byte set to `fill`: tests that check what a loader
 * zeroes use a non-zero fill (0xAA) so that a missed byte shows.
 */
static inline struct arena *arena_new(uint64_t size, uint8_t fill)
{
	struct arena *a = calloc(1, sizeof(*a));

	assert_non_null(a);
	a->ram = malloc(size);
	assert_non_null(a->ram);
	memset(a->ram, fill, size);
	a->size = size;
	assert_int_equal(gm_add_region(&a->gm, 0, size, a->ram, -1, 0), 0);
	return a;
}

static inline void arena_free(struct arena *a)
{
	free(a->ram);
	free(a);
}

static inline uint16_t rd16(const uint8_t *p, size_t off)
{
	return (uint16_t)(p[off] | p[off + 1] << 8);
}

static inline uint32_t rd32(const uint8_t *p, size_t off)
{
	return (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 | (uint32_t)p[off + 2] << 16 |
	       (uint32_t)p[off + 3] << 24;
}

static inline uint64_t rd64(const uint8_t *p, size_t off)
{
	return (uint64_t)rd32(p, off) | (uint64_t)rd32(p, off + 4) << 32;
}

static inline void wr16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static inline void wr32(uint8_t *p, size_t off, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[off + (size_t)i] = (uint8_t)(v >> (8 * i));
}

/* Byte sum, as ACPI and MP table checksums use. */
static inline uint8_t sum8(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

#endif /* NFV_TESTS_UNIT_SUPPORT_TESTUTIL_H */
