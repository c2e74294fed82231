// SPDX-License-Identifier: BSD-3-Clause
/*
 * nfguest support library: COM1 console with a printf family, strings, the
 * command line and its parsers, and the exit paths.
 */
#include "runtime.h"

#define COM1		0x3f8
#define UART_THR	0	/* transmit holding (DLAB = 0) */
#define UART_DLL	0	/* divisor low (DLAB = 1) */
#define UART_IER	1
#define UART_DLM	1	/* divisor high (DLAB = 1) */
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_LSR_THRE	0x20

#define EXIT_PORT	0xf4

/* Bound on polling LSR for one character: a stuck UART must not hang us. */
#define UART_POLL_LIMIT	100000

void console_init(void)
{
	outb(COM1 + UART_IER, 0x00);	/* no interrupts */
	outb(COM1 + UART_LCR, 0x80);	/* DLAB on */
	outb(COM1 + UART_DLL, 0x01);	/* divisor 1: 115200 baud */
	outb(COM1 + UART_DLM, 0x00);
	outb(COM1 + UART_LCR, 0x03);	/* DLAB off, 8N1 */
	outb(COM1 + UART_FCR, 0xc7);	/* FIFOs on and cleared */
	outb(COM1 + UART_MCR, 0x03);	/* DTR | RTS */
}

void console_putc(char c)
{
	uint32_t n = UART_POLL_LIMIT;

	while (!(inb(COM1 + UART_LSR) & UART_LSR_THRE) && n--)
		cpu_relax();
	outb(COM1 + UART_THR, (uint8_t)c);
}

/*
 * Console lock, so lines from different CPUs never interleave. Bounded: a
 * CPU that died holding it (an exception while printing) must not silence
 * the others, so after the bound we print anyway.
 */
static volatile uint32_t console_locked;
#define CONSOLE_LOCK_LIMIT	50000000u

static void console_lock(void)
{
	uint32_t n = CONSOLE_LOCK_LIMIT;

	while (atomic_xchg32(&console_locked, 1)) {
		while (READ_ONCE(console_locked) && n) {
			cpu_relax();
			n--;
		}
		if (!n)
			return;
	}
}

static void console_unlock(void)
{
	atomic_xchg32(&console_locked, 0);
}

/* ---- formatting ---- */

/* Output sink: the console (buf == NULL) or a bounded buffer. */
struct sink {
	char *buf;
	size_t size, pos;
};

static void sink_put(struct sink *s, char c)
{
	if (!s->buf) {
		console_putc(c);	/* "\n" alone: lines are for machines too */
	} else if (s->pos + 1 < s->size) {
		s->buf[s->pos] = c;
	}
	s->pos++;
}

static void put_pad(struct sink *s, char c, int n)
{
	while (n-- > 0)
		sink_put(s, c);
}

static void put_num(struct sink *s, uint64_t v, unsigned int base, bool neg, int width, char pad,
		    bool left, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int i = 0, len;

	do {
		tmp[i++] = digits[v % base];
		v /= base;
	} while (v);
	len = i + (neg ? 1 : 0);
	if (neg && pad == '0')
		sink_put(s, '-');
	if (!left)
		put_pad(s, pad, width - len);
	if (neg && pad != '0')
		sink_put(s, '-');
	while (i)
		sink_put(s, tmp[--i]);
	if (left)
		put_pad(s, ' ', width - len);
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		int width = 0, lng = 0;
		bool left = false;
		char pad = ' ';

		if (*fmt != '%') {
			sink_put(s, *fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				pad = '0';
			else
				break;
		}
		if (left)
			pad = ' ';
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 's': {
			const char *str = va_arg(ap, const char *);
			int len;

			if (!str)
				str = "(null)";
			len = (int)strlen(str);
			if (!left)
				put_pad(s, ' ', width - len);
			while (*str)
				sink_put(s, *str++);
			if (left)
				put_pad(s, ' ', width - len);
			break;
		}
		case 'c':
			sink_put(s, (char)va_arg(ap, int));
			break;
		case 'd':
		case 'i': {
			int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			uint64_t m = v < 0 ? -(uint64_t)v : (uint64_t)v;

			put_num(s, m, 10, v < 0, width, pad, left, false);
			break;
		}
		case 'u':
			put_num(s, lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int), 10, false,
				width, pad, left, false);
			break;
		case 'x':
		case 'X':
			put_num(s, lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int), 16, false,
				width, pad, left, *fmt == 'X');
			break;
		case 'p':
			sink_put(s, '0');
			sink_put(s, 'x');
			put_num(s, (uintptr_t)va_arg(ap, void *), 16, false, 0, ' ', false, false);
			break;
		case '%':
			sink_put(s, '%');
			break;
		case '\0':
			return;
		default:
			sink_put(s, '%');
			sink_put(s, *fmt);
			break;
		}
	}
}

int vprintf(const char *fmt, va_list ap)
{
	struct sink s = { 0 };

	console_lock();
	format(&s, fmt, ap);
	console_unlock();
	return (int)s.pos;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink s = { .buf = buf, .size = size };

	format(&s, fmt, ap);
	if (size)
		buf[s.pos < size ? s.pos : size - 1] = '\0';
	return (int)s.pos;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* ---- exit ---- */

void nf_exit(int status)
{
	irq_disable();
	outb(EXIT_PORT, (uint8_t)status);
	for (;;)
		__asm__ volatile("cli; hlt" : : : "memory");
}

void nf_panic(const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("nfguest: fatal: %s\n", msg);
	nf_exit(NF_EXIT_FATAL);
}

/* ---- strings ---- */

/*
 * From 64 bytes on, eight bytes per step, then the rest: where the
 * hypervisor steps through a string instruction one element at a time
 * (docs/testing.md), a jumbo frame then costs an eighth of the steps.
 * Shorter ones (headers, addresses) stay one instruction.
 */
#define STR_WIDE_MIN	64

void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;
	size_t q = n >> 3, r = n & 7;

	if (n < STR_WIDE_MIN) {
		__asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
		return dst;
	}
	__asm__ volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(q) : : "memory");
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(r) : : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d <= s || d >= s + n) {
		while (n--)
			*d++ = *s++;
	} else {
		while (n--)
			d[n] = s[n];
	}
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;
	uint64_t v = (uint8_t)c * 0x0101010101010101ull;
	size_t q = n >> 3, r = n & 7;

	if (n < STR_WIDE_MIN) {
		__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
		return dst;
	}
	__asm__ volatile("rep stosq" : "+D"(d), "+c"(q) : "a"(v) : "memory");
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(r) : "a"(v) : "memory");
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			break;
	}
	return 0;
}

/* ---- command line ---- */

#define CMDLINE_MAX	1024
#define CMDLINE_WORDS	64

static char cmdline_copy[CMDLINE_MAX];	/* as given, for printing */
static char cmdline_buf[CMDLINE_MAX];	/* split into words */
static char *words[CMDLINE_WORDS];
static bool word_known[CMDLINE_WORDS];
static int nwords;

/*
 * Copy the command line out of the loader's memory (which the page
 * allocator may later hand out) and split it into words at spaces.
 */
void cmdline_init(const char *src)
{
	size_t n = 0;
	char *p;

	if (src)
		for (; src[n] && n < CMDLINE_MAX - 1; n++)
			cmdline_copy[n] = src[n];
	cmdline_copy[n] = '\0';
	memcpy(cmdline_buf, cmdline_copy, n + 1);
	for (p = cmdline_buf; *p;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			*p++ = '\0';
		if (!*p)
			break;
		if (nwords == CMDLINE_WORDS) {
			printf("nfguest: bad argument: more than %d words on the command line\n",
			       CMDLINE_WORDS);
			nf_exit(NF_EXIT_USAGE);
		}
		words[nwords++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
	}
}

const char *cmdline(void)
{
	return cmdline_copy;
}

/* Length of a word's key (up to '=' or its end). */
static size_t key_len(const char *w)
{
	size_t n = 0;

	while (w[n] && w[n] != '=')
		n++;
	return n;
}

const char *cmdline_get(const char *key)
{
	size_t klen = strlen(key);
	const char *val = NULL;
	int i;

	for (i = 0; i < nwords; i++) {
		if (key_len(words[i]) != klen || strncmp(words[i], key, klen))
			continue;
		word_known[i] = true;
		val = words[i][klen] == '=' ? words[i] + klen + 1 : "";
	}
	return val;
}

void usage_error(const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("nfguest: bad argument %s\n", msg);
	nf_exit(NF_EXIT_USAGE);
}

void cmdline_check_unknown(void)
{
	int i;

	for (i = 0; i < nwords; i++) {
		if (!word_known[i]) {
			printf("nfguest: unknown argument %s\n", words[i]);
			nf_exit(NF_EXIT_USAGE);
		}
	}
}

int cmdline_u64(const char *key, uint64_t def, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *v = cmdline_get(key);
	uint64_t x;

	if (!v) {
		*out = def;
		return 0;
	}
	if (parse_u64(v, &x))
		usage_error("%s=%s (not a number)", key, v);
	if (x < min || x > max)
		usage_error("%s=%s (allowed: %llu..%llu)", key, v, (unsigned long long)min,
			    (unsigned long long)max);
	*out = x;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0, mult = 1;
	unsigned int base = 10;
	bool any = false;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (; *s; s++) {
		int d = hexval(*s);

		if (d < 0 || (unsigned int)d >= base)
			break;
		if (v > (UINT64_MAX - (unsigned int)d) / base)
			return -1;
		v = v * base + (unsigned int)d;
		any = true;
	}
	if (!any)
		return -1;
	if (base == 10 && *s) {
		switch (*s++) {
		case 'k': case 'K': mult = 1000; break;
		case 'm': case 'M': mult = 1000000; break;
		case 'g': case 'G': mult = 1000000000; break;
		default: return -1;
		}
	}
	if (*s)
		return -1;
	if (v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

int parse_mac(const char *s, uint8_t mac[6])
{
	int i;

	for (i = 0; i < 6; i++) {
		int hi = hexval(s[0]), lo = hexval(s[1]);

		if (hi < 0 || lo < 0)
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (i < 5) {
			if (*s != ':' && *s != '-')
				return -1;
			s++;
		}
	}
	return *s ? -1 : 0;
}

int parse_ipv4(const char *s, uint32_t *ip, int *prefix_len)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		uint32_t octet = 0;
		int digits = 0;

		while (*s >= '0' && *s <= '9' && digits < 4) {
			octet = octet * 10 + (uint32_t)(*s++ - '0');
			digits++;
		}
		if (!digits || digits > 3 || octet > 255)
			return -1;
		v = v << 8 | octet;
		if (i < 3 && *s++ != '.')
			return -1;
	}
	*prefix_len = 32;
	if (*s == '/') {
		int len = 0, digits = 0;

		s++;
		while (*s >= '0' && *s <= '9' && digits < 3) {
			len = len * 10 + (*s++ - '0');
			digits++;
		}
		if (!digits || len > 32)
			return -1;
		*prefix_len = len;
	}
	if (*s)
		return -1;
	*ip = v;
	return 0;
}
