/* SPDX-License-Identifier: BSD-3-Clause */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/platform.h"

#define OFF_DATA 0
#define OFF_CMD 4

#define STR_OBF 0x01
#define STR_IBF 0x02
#define STR_KEYLOCK 0x10
#define STR_AUXDATA 0x20
#define STR_TIMEOUT 0x40

struct stop_log {
	int calls;
	enum platform_stop_reason why;
	int status;
};

static void fake_stop(void *arg, enum platform_stop_reason why, int status)
{
	struct stop_log *l = arg;

	l->calls++;
	l->why = why;
	l->status = status;
}

static uint8_t kin(struct i8042 *k, unsigned int off)
{
	uint8_t v = 0;

	i8042_io(k, off, &v, 1, false);
	return v;
}

static void kout(struct i8042 *k, unsigned int off, uint8_t v)
{
	i8042_io(k, off, &v, 1, true);
}

/* Polls for a reply as Linux's i8042_wait_read() does, with a bound. */
static int kreply(struct i8042 *k)
{
	for (int i = 0; i < 100; i++)
		if (kin(k, OFF_CMD) & STR_OBF)
			return kin(k, OFF_DATA);
	return -1;
}

static void test_i8042_self_test(void **state)
{
	struct stop_log l = { 0 };
	struct i8042 *k = i8042_new(fake_stop, &l);

	assert_non_null(k);
	assert_int_equal(kin(k, OFF_CMD) & (STR_OBF | STR_IBF), 0);
	assert_true(kin(k, OFF_CMD) & STR_KEYLOCK); /* no "Keylock active" warning */
	kout(k, OFF_CMD, 0xaa);
	assert_int_equal(kin(k, OFF_CMD) & STR_OBF, STR_OBF);
	assert_int_equal(kin(k, OFF_DATA), 0x55);
	assert_int_equal(kin(k, OFF_CMD) & STR_OBF, 0);
	kout(k, OFF_CMD, 0xab); /* keyboard interface test */
	assert_int_equal(kreply(k), 0x00);
	assert_int_equal(l.calls, 0);
	i8042_free(k);
	i8042_free(NULL);
}

static void test_i8042_command_byte(void **state)
{
	struct i8042 *k = i8042_new(fake_stop, NULL);
	int ctr;

	kout(k, OFF_CMD, 0x20);
	ctr = kreply(k);
	assert_true(ctr >= 0);
	kout(k, OFF_CMD, 0x60);
	assert_int_equal(kin(k, OFF_CMD) & STR_OBF, 0); /* no reply to a write */
	kout(k, OFF_DATA, 0x47);
	assert_int_equal(kin(k, OFF_CMD) & STR_OBF, 0);
	kout(k, OFF_CMD, 0x20);
	assert_int_equal(kreply(k), 0x47);
	/* Status bit 2 follows the command byte's system flag. */
	assert_int_equal(kin(k, OFF_CMD) & 0x04, 0x04);

	/* Keyboard and AUX disable bits. */
	kout(k, OFF_CMD, 0xad);
	kout(k, OFF_CMD, 0x20);
	assert_int_equal(kreply(k), 0x47 | 0x10);
	kout(k, OFF_CMD, 0xae);
	kout(k, OFF_CMD, 0xa7);
	kout(k, OFF_CMD, 0x20);
	assert_int_equal(kreply(k), 0x47 | 0x20);
	kout(k, OFF_CMD, 0xa8);
	kout(k, OFF_CMD, 0x20);
	assert_int_equal(kreply(k), 0x47);

	/* Internal RAM beyond the command byte. */
	kout(k, OFF_CMD, 0x65);
	kout(k, OFF_DATA, 0x99);
	kout(k, OFF_CMD, 0x25);
	assert_int_equal(kreply(k), 0x99);
	kout(k, OFF_CMD, 0x20);
	assert_int_equal(kreply(k), 0x47);

	/* A command cancels a pending data byte: the next data goes to the keyboard. */
	kout(k, OFF_CMD, 0x60);
	kout(k, OFF_CMD, 0xae);
	kout(k, OFF_DATA, 0x00);
	kout(k, OFF_CMD, 0x20);
	assert_int_equal(kreply(k), 0x47);
	i8042_free(k);
}

static void test_i8042_obf_and_no_devices(void **state)
{
	struct stop_log l = { 0 };
	struct i8042 *k = i8042_new(fake_stop, &l);
	uint8_t st;

	/* Reading the data port with nothing pending does not set OBF. */
	kin(k, OFF_DATA);
	assert_int_equal(kin(k, OFF_CMD) & STR_OBF, 0);

	/* A keyboard command: no keyboard, the controller reports a timeout. */
	kout(k, OFF_DATA, 0xf2);
	st = kin(k, OFF_CMD);
	assert_int_equal(st & (STR_OBF | STR_TIMEOUT | STR_AUXDATA), STR_OBF | STR_TIMEOUT);
	assert_int_equal(kin(k, OFF_DATA), 0xff);
	assert_int_equal(kin(k, OFF_CMD) & (STR_OBF | STR_TIMEOUT), 0);

	/* Linux's i8042_check_aux(): AUX loop fails (not AUX data), then the
	 * AUX interface test reports a stuck clock line: no AUX port. */
	kout(k, OFF_CMD, 0xd3);
	kout(k, OFF_DATA, 0x5a);
	st = kin(k, OFF_CMD);
	assert_true(st & STR_OBF);
	assert_false(st & STR_AUXDATA);
	kout(k, OFF_CMD, 0xa9);
	int r = kreply(k);
	assert_true(r != 0x00 && r != 0xfa && r != 0xff);

	/* Bytes for the AUX device are swallowed. */
	kout(k, OFF_CMD, 0xd4);
	kout(k, OFF_DATA, 0xff);
	assert_int_equal(kin(k, OFF_CMD) & STR_OBF, 0);

	/* Write keyboard output buffer echoes the byte. */
	kout(k, OFF_CMD, 0xd2);
	kout(k, OFF_DATA, 0x1c);
	assert_int_equal(kreply(k), 0x1c);

	/* i8042_flush(): reading until OBF clears terminates at once. */
	kout(k, OFF_CMD, 0xaa);
	int n = 0;
	while ((kin(k, OFF_CMD) & STR_OBF) && n < 16) {
		kin(k, OFF_DATA);
		n++;
	}
	assert_int_equal(n, 1);
	/* The input buffer is never reported full. */
	assert_int_equal(kin(k, OFF_CMD) & STR_IBF, 0);
	assert_int_equal(l.calls, 0);
	i8042_free(k);
}

static void test_i8042_reset(void **state)
{
	struct stop_log l = { 0 };
	struct i8042 *k = i8042_new(fake_stop, &l);

	kout(k, OFF_CMD, 0xfe);
	assert_int_equal(l.calls, 1);
	assert_int_equal(l.why, PLATFORM_STOP_RESET);
	assert_int_equal(l.status, 0);

	/* 0xFF pulses no line. */
	kout(k, OFF_CMD, 0xff);
	assert_int_equal(l.calls, 1);

	/* Output port: A20 on keeps running, reset line low resets. */
	kout(k, OFF_CMD, 0xd1);
	kout(k, OFF_DATA, 0xdf);
	assert_int_equal(l.calls, 1);
	kout(k, OFF_CMD, 0xd0);
	assert_int_equal(kreply(k), 0xdf);
	kout(k, OFF_CMD, 0xd1);
	kout(k, OFF_DATA, 0xde);
	assert_int_equal(l.calls, 2);
	assert_int_equal(l.why, PLATFORM_STOP_RESET);
	i8042_free(k);

	/* Without a stop callback the reset is ignored. */
	k = i8042_new(NULL, NULL);
	kout(k, OFF_CMD, 0xfe);
	i8042_free(k);
}

static void test_i8042_unknown_offsets(void **state)
{
	struct i8042 *k = i8042_new(fake_stop, NULL);
	uint8_t data[4];

	for (unsigned int off = 1; off <= 3; off++) {
		assert_int_equal(kin(k, off), 0xff);
		kout(k, off, 0xfe); /* ignored: would otherwise be a reset */
		kout(k, off, 0xaa);
	}
	assert_int_equal(kin(k, OFF_CMD) & STR_OBF, 0);
	assert_int_equal(kin(k, 5), 0xff);
	/* Wider reads: the byte at the offset, the rest all ones. */
	kout(k, OFF_CMD, 0xaa);
	memset(data, 0, sizeof(data));
	i8042_io(k, OFF_DATA, data, 2, false);
	assert_int_equal(data[0], 0x55);
	assert_int_equal(data[1], 0xff);
	i8042_io(k, OFF_DATA, data, 0, false);
	i8042_io(NULL, OFF_DATA, data, 1, false);
	assert_int_equal(data[0], 0xff);
	i8042_free(k);
}

static void test_i8042_hostile(void **state)
{
	struct stop_log l = { 0 };
	struct i8042 *k = i8042_new(fake_stop, &l);
	uint32_t x = 777;
	uint8_t data[8];

	for (int i = 0; i < 100000; i++) {
		x = x * 1103515245 + 12345;
		memset(data, (int)(x >> 16), sizeof(data));
		i8042_io(k, (x >> 8) % 6, data, 1u << ((x >> 4) % 4), (x >> 28) & 1);
	}
	assert_true(l.calls == 0 || l.why == PLATFORM_STOP_RESET);
	i8042_free(k);
}

static void test_debug_exit(void **state)
{
	struct stop_log l = { 0 };
	struct debug_exit d = { .stop = fake_stop, .arg = &l };
	uint8_t data[8];

	data[0] = 0x31;
	debug_exit_io(&d, 0, data, 1, true);
	assert_int_equal(l.calls, 1);
	assert_int_equal(l.why, PLATFORM_STOP_DEBUG_EXIT);
	assert_int_equal(l.status, 0x31);

	memcpy(data, "\x34\x12", 2); /* 0x1234 */
	debug_exit_io(&d, 0, data, 2, true);
	assert_int_equal(l.calls, 2);
	assert_int_equal(l.status, 0x34);

	memcpy(data, "\x01\xbe\xad\xde", 4); /* 0xdeadbe01 */
	debug_exit_io(&d, 0, data, 4, true);
	assert_int_equal(l.calls, 3);
	assert_int_equal(l.status, 0x01);

	data[0] = 0x00;
	debug_exit_io(&d, 0, data, 1, true);
	assert_int_equal(l.calls, 4);
	assert_int_equal(l.status, 0);

	/* Reads return 0 and stop nothing. */
	memset(data, 0xee, sizeof(data));
	debug_exit_io(&d, 0, data, 4, false);
	assert_int_equal(data[0] | data[1] | data[2] | data[3], 0);
	assert_int_equal(l.calls, 4);

	/* No callback, no length: nothing happens. */
	struct debug_exit none = { 0 };
	debug_exit_io(&none, 0, data, 1, true);
	debug_exit_io(NULL, 0, data, 1, true);
	debug_exit_io(&d, 0, data, 0, true);
	assert_int_equal(l.calls, 4);
}

static void test_post_port(void **state)
{
	uint8_t data[4];

	memset(data, 0xee, sizeof(data));
	post_port_io(NULL, 0, data, 1, false);
	assert_int_equal(data[0], 0);
	assert_int_equal(data[1], 0xee);
	memset(data, 0xee, sizeof(data));
	post_port_io(NULL, 0, data, 4, false);
	assert_int_equal(data[0] | data[1] | data[2] | data[3], 0);
	data[0] = 0x12;
	post_port_io(NULL, 0, data, 1, true);
	assert_int_equal(data[0], 0x12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_i8042_self_test),
		cmocka_unit_test(test_i8042_command_byte),
		cmocka_unit_test(test_i8042_obf_and_no_devices),
		cmocka_unit_test(test_i8042_reset),
		cmocka_unit_test(test_i8042_unknown_offsets),
		cmocka_unit_test(test_i8042_hostile),
		cmocka_unit_test(test_debug_exit),
		cmocka_unit_test(test_post_port),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
