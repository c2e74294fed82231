/* SPDX-License-Identifier: BSD-3-Clause */
#define LOG_COMPONENT "log"
#include "common/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *log_program;
static _Atomic int log_level = LOG_LVL_INFO;

static const char *const level_names[] = {
	[LOG_LVL_ERR] = "error",
	[LOG_LVL_WARN] = "warning",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

void log_set_program(const char *prog)
{
	log_program = prog;
}

void log_set_level(enum log_level level)
{
	atomic_store(&log_level, (int)level);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load_explicit(&log_level, memory_order_relaxed);
}

int log_parse_level(const char *s, enum log_level *out)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {
		{ "error", LOG_LVL_ERR }, { "err", LOG_LVL_ERR },   { "0", LOG_LVL_ERR },
		{ "warn", LOG_LVL_WARN }, { "warning", LOG_LVL_WARN }, { "1", LOG_LVL_WARN },
		{ "info", LOG_LVL_INFO }, { "2", LOG_LVL_INFO },     { "debug", LOG_LVL_DEBUG },
		{ "3", LOG_LVL_DEBUG },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			*out = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

void log_vmsg(enum log_level level, const char *comp, const char *fmt, va_list ap)
{
	char buf[1024];
	int n = 0;

	if (!log_enabled(level))
		return;
	if (log_program)
		n = snprintf(buf, sizeof(buf), "%s: ", log_program);
	if (comp && n < (int)sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s: ", comp);
	if (level != LOG_LVL_INFO && n < (int)sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s: ", level_names[level]);
	if (n < (int)sizeof(buf))
		n += vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	if (n >= (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 2;
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n++] = '\n';
	/* One write per line so that lines from several threads do not mix. */
	ssize_t r = write(STDERR_FILENO, buf, (size_t)n);
	(void)r;
}

void log_msg(enum log_level level, const char *comp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, comp, fmt, ap);
	va_end(ap);
}

bool log_ratelimit_ok(struct log_ratelimit *rl)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (rl->window_start_ns == 0 ||
	    now - rl->window_start_ns >= (uint64_t)rl->interval_ms * 1000000ull) {
		if (rl->suppressed)
			log_msg(LOG_LVL_WARN, "log", "%u similar messages suppressed",
				rl->suppressed);
		rl->window_start_ns = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed < rl->burst) {
		rl->printed++;
		return true;
	}
	rl->suppressed++;
	return false;
}
