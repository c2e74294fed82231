/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * e1000 EEPROM: EERD reads (the way nfguest and DPDK read it), the 0xBABA
 * checksum, and the Microwire bit-bang through EECD the way Linux's e1000
 * driver reads an 82540's EEPROM (request/grant, 3 opcode bits, 6 address
 * bits, 16 data bits, standby between words).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "e1000_harness.h"

#define EECD_SK 0x01
#define EECD_CS 0x02
#define EECD_DI 0x04
#define EECD_DO 0x08
#define EECD_REQ 0x40
#define EECD_GNT 0x80
#define EECD_PRES 0x100
#define EECD_SIZE 0x200
#define EERD_START 0x01
#define EERD_DONE 0x10

static int setup(void **state)
{
	*state = h_new();
	return 0;
}

static int teardown(void **state)
{
	h_free(*state);
	return 0;
}

static uint16_t eerd(struct h *h, unsigned int addr)
{
	uint32_t v;

	wr(h, EERD, EERD_START | addr << 8);
	v = rd(h, EERD);
	assert_true(v & EERD_DONE);
	assert_int_equal((v >> 8) & 0xFF, addr);
	return (uint16_t)(v >> 16);
}

static void test_eerd_words(void **state)
{
	struct h *h = *state;

	/* MAC address, low byte first. */
	assert_int_equal(eerd(h, 0), 0x5452);
	assert_int_equal(eerd(h, 1), 0x1200);
	assert_int_equal(eerd(h, 2), 0x5634);
	/* Subsystem, device and vendor IDs. */
	assert_int_equal(eerd(h, 0x0B), 0x001E);
	assert_int_equal(eerd(h, 0x0C), 0x8086);
	assert_int_equal(eerd(h, 0x0D), 0x100E);
	assert_int_equal(eerd(h, 0x0E), 0x8086);
	/* Past the 64 words: DONE with 0. */
	assert_int_equal(eerd(h, 0x80), 0);
	/* Without START nothing is read. */
	wr(h, EERD, 3 << 8);
	assert_int_equal(rd(h, EERD) & EERD_DONE, 0);
}

static void test_checksum(void **state)
{
	struct h *h = *state;
	uint16_t sum = 0;

	for (unsigned int i = 0; i < 64; i++)
		sum = (uint16_t)(sum + eerd(h, i));
	assert_int_equal(sum, 0xBABA);
}

/* ---- Linux's microwire sequence ---- */

static void ee_raise(struct h *h, uint32_t *eecd)
{
	*eecd |= EECD_SK;
	wr(h, EECD, *eecd);
}

static void ee_lower(struct h *h, uint32_t *eecd)
{
	*eecd &= ~EECD_SK;
	wr(h, EECD, *eecd);
}

static void ee_shift_out(struct h *h, uint32_t *eecd, uint16_t data, unsigned int count)
{
	uint32_t mask = 1u << (count - 1);

	*eecd &= ~EECD_DO;
	do {
		*eecd &= ~EECD_DI;
		if (data & mask)
			*eecd |= EECD_DI;
		wr(h, EECD, *eecd);
		ee_raise(h, eecd);
		ee_lower(h, eecd);
		mask >>= 1;
	} while (mask);
	*eecd &= ~EECD_DI;
	wr(h, EECD, *eecd);
}

static uint16_t ee_shift_in(struct h *h, uint32_t *eecd, unsigned int count)
{
	uint16_t data = 0;

	*eecd = rd(h, EECD) & ~(EECD_DO | EECD_DI);
	for (unsigned int i = 0; i < count; i++) {
		data = (uint16_t)(data << 1);
		ee_raise(h, eecd);
		*eecd = rd(h, EECD) & ~EECD_DI;
		if (*eecd & EECD_DO)
			data |= 1;
		ee_lower(h, eecd);
	}
	return data;
}

static void ee_acquire(struct h *h, uint32_t *eecd)
{
	*eecd = rd(h, EECD);
	*eecd |= EECD_REQ;
	wr(h, EECD, *eecd);
	*eecd = rd(h, EECD);
	assert_true(*eecd & EECD_GNT);
	*eecd &= ~(EECD_DI | EECD_SK);
	wr(h, EECD, *eecd);
	*eecd |= EECD_CS;
	wr(h, EECD, *eecd);
}

static void ee_standby(struct h *h, uint32_t *eecd)
{
	*eecd &= ~(EECD_CS | EECD_SK);
	wr(h, EECD, *eecd);
	*eecd |= EECD_SK;
	wr(h, EECD, *eecd);
	*eecd |= EECD_CS;
	wr(h, EECD, *eecd);
	*eecd &= ~EECD_SK;
	wr(h, EECD, *eecd);
}

static void ee_release(struct h *h, uint32_t *eecd)
{
	*eecd &= ~(EECD_CS | EECD_DI);
	wr(h, EECD, *eecd);
	ee_raise(h, eecd);
	ee_lower(h, eecd);
	*eecd &= ~EECD_REQ;
	wr(h, EECD, *eecd);
}

static void ee_read_words(struct h *h, unsigned int first, unsigned int n, uint16_t *out)
{
	uint32_t eecd;

	ee_acquire(h, &eecd);
	for (unsigned int i = 0; i < n; i++) {
		ee_shift_out(h, &eecd, 0x6, 3); /* start bit + READ (10b) */
		ee_shift_out(h, &eecd, (uint16_t)(first + i), 6);
		out[i] = ee_shift_in(h, &eecd, 16);
		ee_standby(h, &eecd);
	}
	ee_release(h, &eecd);
}

static void test_eecd_bits(void **state)
{
	struct h *h = *state;
	uint32_t v = rd(h, EECD);

	/* Present, 64-word part (SIZE clear), no grant before a request. */
	assert_true(v & EECD_PRES);
	assert_int_equal(v & (EECD_SIZE | EECD_GNT | EECD_DO), 0);
	wr(h, EECD, v | EECD_REQ);
	assert_true(rd(h, EECD) & EECD_GNT);
	wr(h, EECD, v);
	assert_int_equal(rd(h, EECD) & EECD_GNT, 0);
}

static void test_bitbang_read_all(void **state)
{
	struct h *h = *state;
	uint16_t words[64];
	uint16_t sum = 0;

	ee_read_words(h, 0, 64, words);
	for (unsigned int i = 0; i < 64; i++) {
		assert_int_equal(words[i], eerd(h, i));
		sum = (uint16_t)(sum + words[i]);
	}
	assert_int_equal(sum, 0xBABA);
	assert_int_equal(words[0], 0x5452);
	assert_int_equal(words[0x0D], 0x100E);
}

static void test_bitbang_sequential(void **state)
{
	struct h *h = *state;
	uint32_t eecd;
	uint16_t a, b;

	/* Clocking on after the first word reads the next one (sequential read). */
	ee_acquire(h, &eecd);
	ee_shift_out(h, &eecd, 0x6, 3);
	ee_shift_out(h, &eecd, 1, 6);
	a = ee_shift_in(h, &eecd, 16);
	b = ee_shift_in(h, &eecd, 16);
	ee_release(h, &eecd);
	assert_int_equal(a, eerd(h, 1));
	assert_int_equal(b, eerd(h, 2));
}

static void test_bitbang_write_ignored(void **state)
{
	struct h *h = *state;
	uint32_t eecd;
	uint16_t w;

	/* EWEN, then WRITE word 0: the model serves reads only. */
	ee_acquire(h, &eecd);
	ee_shift_out(h, &eecd, 0x4, 3);
	ee_shift_out(h, &eecd, 0x30, 6);
	ee_standby(h, &eecd);
	ee_shift_out(h, &eecd, 0x5, 3);
	ee_shift_out(h, &eecd, 0, 6);
	ee_shift_out(h, &eecd, 0xFFFF, 16);
	ee_release(h, &eecd);
	ee_read_words(h, 0, 1, &w);
	assert_int_equal(w, 0x5452);
	assert_int_equal(eerd(h, 0), 0x5452);
}

static void test_cs_drop_restarts(void **state)
{
	struct h *h = *state;
	uint32_t eecd;
	uint16_t w;

	/* Half a command, then CS drops: the next command starts afresh. */
	ee_acquire(h, &eecd);
	ee_shift_out(h, &eecd, 0x6, 3);
	ee_shift_out(h, &eecd, 0x5, 4);
	ee_standby(h, &eecd);
	ee_shift_out(h, &eecd, 0x6, 3);
	ee_shift_out(h, &eecd, 0x0E, 6);
	w = ee_shift_in(h, &eecd, 16);
	ee_release(h, &eecd);
	assert_int_equal(w, 0x8086);
	/* With CS low, DO stays low. */
	assert_int_equal(rd(h, EECD) & EECD_DO, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_eerd_words, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checksum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eecd_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bitbang_read_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bitbang_sequential, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bitbang_write_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cs_drop_restarts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
