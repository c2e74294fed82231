/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/guestmem.h"

static uint8_t low[64 * 1024];
static uint8_t high[16 * 1024];

/* Two regions: [0, 64K) and [4G, 4G + 16K). */
static void setup(struct guest_mem *gm)
{
	memset(gm, 0, sizeof(*gm));
	assert_int_equal(gm_add_region(gm, 0, sizeof(low), low, -1, 0), 0);
	assert_int_equal(gm_add_region(gm, 0x100000000ull, sizeof(high), high, -1, 0), 0);
}

static void test_translate_inside(void **state)
{
	struct guest_mem gm;

	setup(&gm);
	assert_ptr_equal(gm_translate(&gm, 0, 1), low);
	assert_ptr_equal(gm_translate(&gm, 100, 8), low + 100);
	assert_ptr_equal(gm_translate(&gm, sizeof(low) - 4, 4), low + sizeof(low) - 4);
	assert_ptr_equal(gm_translate(&gm, 0x100000000ull + 16, 16), high + 16);
	/* Whole region at once. */
	assert_ptr_equal(gm_translate(&gm, 0, sizeof(low)), low);
	/* len 0 is treated as one byte. */
	assert_ptr_equal(gm_translate(&gm, 5, 0), low + 5);
	assert_int_equal(gm_total(&gm), sizeof(low) + sizeof(high));
}

static void test_translate_at_and_beyond_bounds(void **state)
{
	struct guest_mem gm;

	setup(&gm);
	/* One byte past the end of each region. */
	assert_null(gm_translate(&gm, sizeof(low), 1));
	assert_null(gm_translate(&gm, 0x100000000ull + sizeof(high), 1));
	/* Range that starts inside and ends outside. */
	assert_null(gm_translate(&gm, sizeof(low) - 4, 5));
	assert_null(gm_translate(&gm, sizeof(low) - 1, 2));
	/* Hole between regions. */
	assert_null(gm_translate(&gm, 0x80000000ull, 4));
	/* Straddling the two regions is refused even though both ends are RAM. */
	assert_null(gm_translate(&gm, 0, 0x100000000ull + 8));
	/* Lengths that would wrap around 64 bits. */
	assert_null(gm_translate(&gm, 8, UINT64_MAX));
	assert_null(gm_translate(&gm, UINT64_MAX, 2));
	assert_null(gm_translate(&gm, UINT64_MAX - 3, 8));
	assert_null(gm_translate(&gm, 0x100000000ull + 8, UINT64_MAX - 4));
}

static void test_read_write(void **state)
{
	struct guest_mem gm;
	uint32_t v = 0xdeadbeef, r = 0;

	setup(&gm);
	assert_int_equal(gm_write(&gm, 0x100, &v, 4), 0);
	assert_int_equal(gm_read(&gm, 0x100, &r, 4), 0);
	assert_int_equal(r, 0xdeadbeef);
	assert_memory_equal(low + 0x100, &v, 4);
	/* Refused accesses leave the destination untouched. */
	r = 7;
	assert_int_equal(gm_read(&gm, sizeof(low) - 2, &r, 4), -EFAULT);
	assert_int_equal(r, 7);
	memset(low + sizeof(low) - 2, 0x55, 2);
	assert_int_equal(gm_write(&gm, sizeof(low) - 2, &v, 4), -EFAULT);
	assert_int_equal(low[sizeof(low) - 1], 0x55);
}

/* A ring's host address, or a message naming the ring when it leaves RAM. */
static void test_ring_hva(void **state)
{
	struct guest_mem gm;
	uint64_t hva = 0;
	char err[128] = "";

	(void)state;
	setup(&gm);
	assert_int_equal(gm_ring_hva(&gm, "used", 0x1000, 6 + 8 * 256, &hva, err, sizeof(err)), 0);
	assert_int_equal(hva, (uint64_t)(uintptr_t)(low + 0x1000));
	/* Straddles the end of the low region: refused, hva untouched. */
	hva = 7;
	assert_int_equal(gm_ring_hva(&gm, "descriptor", sizeof(low) - 64, 16 * 8, &hva, err,
				     sizeof(err)),
			 -EFAULT);
	assert_int_equal(hva, 7);
	assert_string_equal(err, "the descriptor ring at 0xffc0 (128 bytes) is not in RAM");
}

static void test_add_region_rules(void **state)
{
	struct guest_mem gm;
	static uint8_t buf[4096];

	memset(&gm, 0, sizeof(gm));
	assert_int_equal(gm_add_region(&gm, 0, 0, buf, -1, 0), -EINVAL);
	assert_int_equal(gm_add_region(&gm, 0, sizeof(buf), NULL, -1, 0), -EINVAL);
	assert_int_equal(gm_add_region(&gm, UINT64_MAX - 10, sizeof(buf), buf, -1, 0), -EINVAL);
	assert_int_equal(gm_add_region(&gm, 0x10000, sizeof(buf), buf, -1, 0), 0);
	/* Overlap and out-of-order are refused. */
	assert_int_equal(gm_add_region(&gm, 0x10800, sizeof(buf), buf, -1, 0), -EINVAL);
	assert_int_equal(gm_add_region(&gm, 0, sizeof(buf), buf, -1, 0), -EINVAL);
	for (int i = 1; i < GM_MAX_REGIONS; i++)
		assert_int_equal(gm_add_region(&gm, 0x100000ull * (uint64_t)i, sizeof(buf), buf, -1,
					       0),
				 0);
	assert_int_equal(gm_add_region(&gm, 0x10000000ull, sizeof(buf), buf, -1, 0), -ENOSPC);
	assert_non_null(gm_find(&gm, 0x10000));
	assert_null(gm_find(&gm, 0x10000 + sizeof(buf)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_translate_inside),
		cmocka_unit_test(test_translate_at_and_beyond_bounds),
		cmocka_unit_test(test_read_write),
		cmocka_unit_test(test_ring_hva),
		cmocka_unit_test(test_add_region_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
