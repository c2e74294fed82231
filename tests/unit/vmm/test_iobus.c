/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/iobus.h"

struct dev {
	uint64_t last_offset;
	uint32_t last_len;
	bool last_write;
	uint32_t value;
	int calls;
};

static void dev_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct dev *d = opaque;

	d->calls++;
	d->last_offset = offset;
	d->last_len = len;
	d->last_write = is_write;
	if (is_write)
		memcpy(&d->value, data, len > 4 ? 4 : len);
	else
		memcpy(data, &d->value, len > 4 ? 4 : len);
}

static void test_dispatch_and_offsets(void **state)
{
	struct io_bus bus;
	struct dev a = { .value = 0x11223344 }, b = { 0 };
	uint8_t data[8];

	iobus_init(&bus, "pio");
	assert_int_equal(iobus_register(&bus, 0x3f8, 8, dev_io, &a, "com1"), 0);
	assert_int_equal(iobus_register(&bus, 0x60, 5, dev_io, &b, "i8042"), 0);
	assert_int_equal(iobus_dispatch(&bus, 0x3fa, data, 2, false), 0);
	assert_int_equal(a.last_offset, 2);
	assert_int_equal(a.last_len, 2);
	assert_int_equal(data[0], 0x44);
	uint32_t v = 0xabcd;
	memcpy(data, &v, 4);
	assert_int_equal(iobus_dispatch(&bus, 0x64, data, 1, true), 0);
	assert_int_equal(b.last_offset, 4);
	assert_true(b.last_write);
	assert_int_equal(b.value & 0xff, 0xcd);
	/* Unhandled read returns all ones and is counted. */
	memset(data, 0, sizeof(data));
	assert_int_equal(iobus_dispatch(&bus, 0x100, data, 4, false), -ENOENT);
	assert_int_equal(data[0] & data[1] & data[2] & data[3], 0xff);
	assert_int_equal(bus.unhandled, 1);
	/* An access crossing the end of its range is refused. */
	assert_int_equal(iobus_dispatch(&bus, 0x3fe, data, 4, false), -EINVAL);
	assert_int_equal(a.calls, 1);
	iobus_destroy(&bus);
}

static void test_overlap_and_unregister(void **state)
{
	struct io_bus bus;
	struct dev a = { 0 }, b = { 0 };
	uint8_t data[4];

	iobus_init(&bus, "mmio");
	assert_int_equal(iobus_register(&bus, 0x1000, 0x1000, dev_io, &a, "a"), 0);
	assert_int_equal(iobus_register(&bus, 0x1fff, 2, dev_io, &b, "b"), -EEXIST);
	assert_int_equal(iobus_register(&bus, 0x0800, 0x801, dev_io, &b, "b"), -EEXIST);
	assert_int_equal(iobus_register(&bus, 0x0800, 0x800, dev_io, &b, "b"), 0);
	assert_int_equal(iobus_register(&bus, 0x2000, 0, dev_io, &b, "zero"), -EINVAL);
	assert_int_equal(iobus_register(&bus, UINT64_MAX, 2, dev_io, &b, "wrap"), -EINVAL);
	assert_int_equal(iobus_unregister(&bus, 0x1000, &b), -ENOENT);
	assert_int_equal(iobus_unregister(&bus, 0x1000, &a), 0);
	assert_int_equal(iobus_dispatch(&bus, 0x1004, data, 4, false), -ENOENT);
	assert_int_equal(iobus_dispatch(&bus, 0x0ffc, data, 4, false), 0);
	assert_int_equal(b.last_offset, 0x7fc);
	assert_int_equal(bus.ranges[0].accesses, 1);
	iobus_destroy(&bus);
}

static void test_many_ranges_sorted(void **state)
{
	struct io_bus bus;
	struct dev d[64];
	uint8_t data[4];

	memset(d, 0, sizeof(d));
	iobus_init(&bus, "mmio");
	/* Register in reverse order; lookups must still find each one. */
	for (int i = 63; i >= 0; i--)
		assert_int_equal(iobus_register(&bus, 0x10000 + (uint64_t)i * 0x100, 0x10, dev_io,
						&d[i], "d"),
				 0);
	for (int i = 0; i < 64; i++) {
		assert_int_equal(iobus_dispatch(&bus, 0x10000 + (uint64_t)i * 0x100 + 3, data, 1,
						false),
				 0);
		assert_int_equal(d[i].calls, 1);
		assert_int_equal(d[i].last_offset, 3);
		assert_int_equal(iobus_dispatch(&bus, 0x10000 + (uint64_t)i * 0x100 + 0x10, data, 1,
						false),
				 -ENOENT);
	}
	iobus_destroy(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch_and_offsets),
		cmocka_unit_test(test_overlap_and_unregister),
		cmocka_unit_test(test_many_ranges_sorted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
