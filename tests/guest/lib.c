// SPDX-License-Identifier: BSD-3-Clause
/*
 * test-guest support: COM1 UART (polled), a console lock shared by all
 * CPUs, a small printf, string helpers and the debug-exit port.
 */
#include "guest.h"

#define COM1		0x3f8
#define UART_THR	0	/* transmit holding (DLAB = 0) */
#define UART_DLL	0	/* divisor low (DLAB = 1) */
#define UART_IER	1
#define UART_DLM	1	/* divisor high (DLAB = 1) */
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_LSR_DR	0x01
#define UART_LSR_THRE	0x20

#define EXIT_PORT	0xf4

/* Bound on polling LSR for one character: a stuck UART must not hang us. */
#define UART_POLL_LIMIT	100000

void uart_init(void)
{
	outb(COM1 + UART_IER, 0x00);	/* no interrupts */
	outb(COM1 + UART_LCR, 0x80);	/* DLAB on */
	outb(COM1 + UART_DLL, 0x01);	/* divisor 1: 115200 baud */
	outb(COM1 + UART_DLM, 0x00);
	outb(COM1 + UART_LCR, 0x03);	/* DLAB off, 8 data bits, no parity, 1 stop */
	outb(COM1 + UART_FCR, 0xc7);	/* FIFOs on and cleared, 14-byte trigger */
	outb(COM1 + UART_MCR, 0x03);	/* DTR | RTS */
}

void uart_putc(char c)
{
	uint32_t n = UART_POLL_LIMIT;

	while (!(inb(COM1 + UART_LSR) & UART_LSR_THRE) && n--)
		cpu_relax();
	outb(COM1 + UART_THR, (uint8_t)c);
}

int uart_getc_ready(void)
{
	return inb(COM1 + UART_LSR) & UART_LSR_DR;
}

/*
 * Console lock: a test-and-set lock on xchg (implicitly locked), so lines
 * from different CPUs never interleave. Acquisition is bounded: a CPU that
 * died holding the lock (say, an exception while printing) must not stop
 * the others from reporting, so after the bound we print anyway.
 */
static volatile uint32_t console_locked;

#define CONSOLE_LOCK_LIMIT	20000000u

void console_lock(void)
{
	uint32_t n = CONSOLE_LOCK_LIMIT;

	while (atomic_xchg(&console_locked, 1)) {
		while (atomic_read(&console_locked) && n) {
			cpu_relax();
			n--;
		}
		if (!n)
			return;
	}
}

void console_unlock(void)
{
	atomic_xchg(&console_locked, 0);
}

static void put_str(const char *s, int width, int left)
{
	int len = (int)strlen(s);

	if (!left)
		for (; width > len; width--)
			uart_putc(' ');
	while (*s)
		uart_putc(*s++);
	if (left)
		for (; width > len; width--)
			uart_putc(' ');
}

/* Formats a 64-bit value in hex with shifts only (no 64-bit division). */
static void put_num(uint64_t v, int base, int width, char pad, int upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24];
	int i = 0;

	if (base == 16) {
		do {
			buf[i++] = digits[v & 0xf];
			v >>= 4;
		} while (v);
	} else {
		/* Decimal is only used for 32-bit values. */
		uint32_t w = (uint32_t)v;

		do {
			buf[i++] = digits[w % 10];
			w /= 10;
		} while (w);
	}
	for (; width > i; width--)
		uart_putc(pad);
	while (i)
		uart_putc(buf[--i]);
}

/*
 * A printf subset: %s %c %d %u %x %X %p %%, with an optional '0' or '-'
 * flag, a width and the l/ll length modifiers (64-bit only for x/X).
 */
int vprintf_locked(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		int width = 0, left = 0, lng = 0;
		char pad = ' ';

		if (*fmt != '%') {
			uart_putc(*fmt);
			continue;
		}
		fmt++;
		if (*fmt == '-') {
			left = 1;
			fmt++;
		}
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);

			put_str(s ? s : "(null)", width, left);
			break;
		}
		case 'c':
			uart_putc((char)va_arg(ap, int));
			break;
		case 'd': {
			int v = va_arg(ap, int);

			if (v < 0) {
				uart_putc('-');
				put_num((uint32_t)-(int64_t)v, 10, width ? width - 1 : 0, pad, 0);
			} else {
				put_num((uint32_t)v, 10, width, pad, 0);
			}
			break;
		}
		case 'u':
			put_num(va_arg(ap, uint32_t), 10, width, pad, 0);
			break;
		case 'x':
		case 'X':
			if (lng >= 2)
				put_num(va_arg(ap, uint64_t), 16, width, pad, *fmt == 'X');
			else
				put_num(va_arg(ap, uint32_t), 16, width, pad, *fmt == 'X');
			break;
		case 'p':
			put_str("0x", 0, 0);
			put_num((uintptr_t)va_arg(ap, void *), 16, 8, '0', 0);
			break;
		case '%':
			uart_putc('%');
			break;
		case '\0':
			return 0;
		default:
			uart_putc('%');
			uart_putc(*fmt);
			break;
		}
	}
	return 0;
}

int printf(const char *fmt, ...)
{
	va_list ap;

	console_lock();
	va_start(ap, fmt);
	vprintf_locked(fmt, ap);
	va_end(ap);
	console_unlock();
	return 0;
}

void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt" : : : "memory");
}

/*
 * Exit through the debug-exit port: QEMU's isa-debug-exit then exits with
 * (status << 1) | 1, nfv-vmm with status itself. If nothing listens on the
 * port, halt for good.
 */
void guest_exit(uint8_t status)
{
	irq_disable();
	outb(EXIT_PORT, status);
	halt_forever();
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

/* gcc may emit calls to these two even in freestanding code. */
void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;

	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

/* Decimal or 0x-prefixed hex; returns 0 on success, -1 when malformed. */
int parse_u32(const char *s, uint32_t *out)
{
	uint32_t v = 0;
	int base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -1;
	for (; *s; s++) {
		uint32_t d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return -1;
		if (v > (0xffffffffu - d) / base)
			return -1;
		v = v * base + d;
	}
	*out = v;
	return 0;
}
