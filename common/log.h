/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Logging: levels, a component prefix, to stderr.
 *
 * Each .c file names its component before including this header:
 *
 *     #define LOG_COMPONENT "pci"
 *     #include "common/log.h"
 *
 * and then logs with log_err(), log_warn(), log_info(), log_debug().
 * Lines look like "nfv-vmm: pci: error: BAR 0 of 00:03.0 overlaps ...".
 * Thread-safe: one write(2) per line.
 */
#ifndef NFV_COMMON_LOG_H
#define NFV_COMMON_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#ifndef LOG_COMPONENT
#define LOG_COMPONENT "main"
#endif

enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARN = 1,
	LOG_LVL_INFO = 2,
	LOG_LVL_DEBUG = 3,
};

/* Program name printed before every line ("nfv-vmm"); NULL for none. */
void log_set_program(const char *prog);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info", "debug" (or 0..3). Returns 0 or -EINVAL. */
int log_parse_level(const char *s, enum log_level *out);
static inline bool log_enabled(enum log_level level)
{
	return level <= log_get_level();
}

void log_msg(enum log_level level, const char *comp, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_vmsg(enum log_level level, const char *comp, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/*
 * Rate limiting for messages a guest or a peer can trigger at will: at most
 * `burst` messages per interval, then one line saying how many were dropped.
 */
struct log_ratelimit {
	uint64_t window_start_ns;
	uint32_t interval_ms;
	uint32_t burst;
	uint32_t printed;
	uint32_t suppressed;
};
#define LOG_RATELIMIT_INIT(interval_ms_, burst_) \
	{ .interval_ms = (interval_ms_), .burst = (burst_) }
/* True when the caller may print now. Not thread-safe: one per call site and thread,
 * or accept an occasional extra line. */
bool log_ratelimit_ok(struct log_ratelimit *rl);

#define log_err(...) log_msg(LOG_LVL_ERR, LOG_COMPONENT, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, LOG_COMPONENT, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, LOG_COMPONENT, __VA_ARGS__)
#define log_debug(...)                                                  \
	do {                                                            \
		if (log_enabled(LOG_LVL_DEBUG))                         \
			log_msg(LOG_LVL_DEBUG, LOG_COMPONENT, __VA_ARGS__); \
	} while (0)

/* Warning limited to 10 lines per 5 s per call site. */
#define log_warn_rl(...)                                                   \
	do {                                                               \
		static struct log_ratelimit rl__ = LOG_RATELIMIT_INIT(5000, 10); \
		if (log_ratelimit_ok(&rl__))                               \
			log_msg(LOG_LVL_WARN, LOG_COMPONENT, __VA_ARGS__); \
	} while (0)

#endif /* NFV_COMMON_LOG_H */
