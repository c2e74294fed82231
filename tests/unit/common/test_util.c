/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/log.h"
#include "common/util.h"

static void test_parse_size(void **state)
{
	uint64_t v;

	assert_int_equal(parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_size("256M", &v), 0);
	assert_int_equal(v, 256 * MiB);
	assert_int_equal(parse_size("2g", &v), 0);
	assert_int_equal(v, 2 * GiB);
	assert_int_equal(parse_size("512KiB", &v), 0);
	assert_int_equal(v, 512 * KiB);
	assert_int_equal(parse_size("1T", &v), 0);
	assert_int_equal(v, 1024 * GiB);
	assert_int_equal(parse_size("0x1000", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_size("", &v), -EINVAL);
	assert_int_equal(parse_size("M", &v), -EINVAL);
	assert_int_equal(parse_size("-1M", &v), -EINVAL);
	assert_int_equal(parse_size("12Q", &v), -EINVAL);
	assert_int_equal(parse_size("12MX", &v), -EINVAL);
	assert_int_equal(parse_size("abc", &v), -EINVAL);
	assert_int_equal(parse_size("99999999999999999999", &v), -ERANGE);
	assert_int_equal(parse_size("99999999999T", &v), -ERANGE);
}

static void test_parse_u64(void **state)
{
	uint64_t v;

	assert_int_equal(parse_u64("4", 1, 64, &v), 0);
	assert_int_equal(v, 4);
	assert_int_equal(parse_u64("0", 1, 64, &v), -ERANGE);
	assert_int_equal(parse_u64("65", 1, 64, &v), -ERANGE);
	assert_int_equal(parse_u64("4x", 1, 64, &v), -EINVAL);
	assert_int_equal(parse_u64(" 4", 1, 64, &v), -EINVAL);
	assert_int_equal(parse_u64("-4", 0, 64, &v), -EINVAL);
	assert_int_equal(parse_u64("", 0, 64, &v), -EINVAL);
}

static void test_overflow(void **state)
{
	uint64_t r;

	assert_false(add_overflows_u64(1, 2, &r));
	assert_int_equal(r, 3);
	assert_true(add_overflows_u64(UINT64_MAX, 1, &r));
}

static void test_log_level(void **state)
{
	enum log_level l;

	assert_int_equal(log_parse_level("debug", &l), 0);
	assert_int_equal(l, LOG_LVL_DEBUG);
	assert_int_equal(log_parse_level("WARN", &l), 0);
	assert_int_equal(l, LOG_LVL_WARN);
	assert_int_equal(log_parse_level("loud", &l), -EINVAL);
	log_set_level(LOG_LVL_WARN);
	assert_false(log_enabled(LOG_LVL_INFO));
	assert_true(log_enabled(LOG_LVL_ERR));
}

static void test_ratelimit(void **state)
{
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(60000, 3);
	int ok = 0;

	for (int i = 0; i < 10; i++)
		ok += log_ratelimit_ok(&rl);
	assert_int_equal(ok, 3);
	assert_int_equal(rl.suppressed, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size), cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_overflow),   cmocka_unit_test(test_log_level),
		cmocka_unit_test(test_ratelimit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
