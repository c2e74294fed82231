/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fuzzers' input cursor: a libFuzzer input read front to back, little-
 * endian. Every take fails (and consumes nothing) when too few bytes are left,
 * which ends the input's sequence of operations.
 */
#ifndef NFV_TESTS_FUZZ_FUZZ_INPUT_H
#define NFV_TESTS_FUZZ_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fz_in {
	const uint8_t *p;
	size_t n;
};

static inline bool in_take(struct fz_in *in, void *out, size_t len)
{
	if (in->n < len)
		return false;
	memcpy(out, in->p, len);
	in->p += len;
	in->n -= len;
	return true;
}

/* Copies up to len bytes, as many as are left; returns how many. */
static inline size_t in_take_some(struct fz_in *in, void *out, size_t len)
{
	size_t n = len < in->n ? len : in->n;

	memcpy(out, in->p, n);
	in->p += n;
	in->n -= n;
	return n;
}

static inline bool in_take8(struct fz_in *in, uint8_t *v)
{
	return in_take(in, v, 1);
}

static inline bool in_take16(struct fz_in *in, uint16_t *v)
{
	uint8_t b[2];

	if (!in_take(in, b, 2))
		return false;
	*v = (uint16_t)(b[0] | b[1] << 8);
	return true;
}

static inline bool in_take32(struct fz_in *in, uint32_t *v)
{
	uint8_t b[4];

	if (!in_take(in, b, 4))
		return false;
	*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return true;
}

#endif /* NFV_TESTS_FUZZ_FUZZ_INPUT_H */
