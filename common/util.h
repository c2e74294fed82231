/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Small helpers shared by every part: error conventions, parsing of sizes and
 * numbers from the command line, overflow-checked arithmetic.
 *
 * Conventions: functions return 0 or a negative errno; those whose result
 * matters are marked __must_check. die() is for start-up code only.
 */
#ifndef NFV_COMMON_UTIL_H
#define NFV_COMMON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#ifndef container_of /* DPDK's rte_common.h has its own */
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#endif
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define IS_POWER_OF_2(x) ((x) != 0 && (((x) & ((x)-1)) == 0))

#define __must_check __attribute__((warn_unused_result))
#define __noreturn __attribute__((noreturn))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define KiB (1024ull)
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)

/* Exit statuses shared by the programs. */
#define NFV_EXIT_OK 0
#define NFV_EXIT_FAILURE 1
#define NFV_EXIT_USAGE 2 /* bad option or argument */

/* Prints "prog: msg" (and strerror(-err) when err < 0 is given) and exits. */
__noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__noreturn void die_status(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Parses a size with an optional binary suffix: "256M", "1G", "4096", "2g",
 * "512K", "1T". The number is decimal (or 0x hex without a suffix). Returns 0,
 * -EINVAL for garbage, -ERANGE on overflow.
 */
int __must_check parse_size(const char *s, uint64_t *out);
/* Whole decimal (or 0x hex) number in [min, max]; -EINVAL or -ERANGE. */
int __must_check parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/*
 * A MAC address written "xx:xx:xx:xx:xx:xx" (hex digits of either case).
 * 0, or -EINVAL (mac untouched) for anything else, NULL included.
 */
int __must_check parse_mac(const char *s, uint8_t mac[6]);
/* The value of one hex digit (either case), or -1. */
int hex_value(char c);

/* a + b into *out; false on overflow. */
static inline bool add_overflows_u64(uint64_t a, uint64_t b, uint64_t *out)
{
	return __builtin_add_overflow(a, b, out);
}

/* Monotonic clock in nanoseconds. */
uint64_t now_ns(void);

/* write()/read() the whole buffer, retrying on EINTR and short transfers. */
int __must_check write_full(int fd, const void *buf, size_t len);
int __must_check read_full(int fd, void *buf, size_t len);

/* Reads a whole file into a malloc'd buffer. Returns 0 or -errno. */
int __must_check read_file(const char *path, uint8_t **data, size_t *len, size_t max_len);

#endif /* NFV_COMMON_UTIL_H */
