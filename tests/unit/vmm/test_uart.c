/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/serial.h"

/* Register offsets and bits, spelled out as the tests expect them. */
enum {
	RBR = 0,
	THR = 0,
	DLL = 0,
	IER = 1,
	DLM = 1,
	IIR = 2,
	FCR = 2,
	LCR = 3,
	MCR = 4,
	LSR = 5,
	MSR = 6,
	SCR = 7
};

#define TEST_GSI 4
#define MIN_SZ(a, b) ((a) < (b) ? (a) : (b))
#define MAX_CALLS 64

/* Fake interrupt sink: records every set_level call. */
struct fake_irq {
	struct vm_irq ops;
	int level;
	unsigned int ncalls;
	int levels[MAX_CALLS];
	unsigned int bad_gsi;
	unsigned int repeats; /* calls that did not change the level */
};

static int fake_set_level(void *opaque, unsigned int gsi, int level)
{
	struct fake_irq *f = opaque;

	if (gsi != TEST_GSI)
		f->bad_gsi++;
	if (level == f->level)
		f->repeats++;
	if (f->ncalls < MAX_CALLS)
		f->levels[f->ncalls] = level;
	f->ncalls++;
	f->level = level;
	return 0;
}

static void fake_init(struct fake_irq *f)
{
	memset(f, 0, sizeof(*f));
	f->ops.set_level = fake_set_level;
	f->ops.opaque = f;
}

static uint8_t in(struct serial *s, unsigned int off)
{
	uint8_t v = 0;

	serial_io(s, off, &v, 1, false);
	return v;
}

static void out(struct serial *s, unsigned int off, uint8_t v)
{
	serial_io(s, off, &v, 1, true);
}

static void test_reset_values(void **state)
{
	struct serial *s = serial_new(NULL, TEST_GSI, -1);

	assert_non_null(s);
	assert_int_equal(in(s, IER), 0x00);
	assert_int_equal(in(s, IIR), 0x01);
	assert_int_equal(in(s, LCR), 0x00);
	assert_int_equal(in(s, MCR), 0x00);
	assert_int_equal(in(s, LSR), 0x60);
	assert_int_equal(in(s, MSR), 0xb0); /* CTS, DSR, DCD: a connected terminal */
	assert_int_equal(in(s, RBR), 0x00); /* empty */
	serial_free(s);
	serial_free(NULL);
}

static void test_dlab_divisor(void **state)
{
	struct serial *s = serial_new(NULL, TEST_GSI, -1);

	out(s, IER, 0x05);
	out(s, LCR, 0x83); /* DLAB, 8 bits */
	assert_int_equal(in(s, LCR), 0x83);
	out(s, DLL, 0x01);
	out(s, DLM, 0x02);
	assert_int_equal(in(s, DLL), 0x01);
	assert_int_equal(in(s, DLM), 0x02);
	/* IIR and the other registers are not banked. */
	assert_int_equal(in(s, IIR) & 0x0f, 0x01);
	out(s, LCR, 0x03);
	assert_int_equal(in(s, IER), 0x05); /* untouched by the DLM write */
	/* No output while writing DLL. */
	struct serial_stats st;
	serial_get_stats(s, &st);
	assert_int_equal(st.tx_bytes, 0);
	out(s, LCR, 0x80);
	assert_int_equal(in(s, DLL), 0x01);
	assert_int_equal(in(s, DLM), 0x02);
	serial_free(s);
}

static void test_scratch_and_ier_mask(void **state)
{
	struct serial *s = serial_new(NULL, TEST_GSI, -1);
	static const uint8_t vals[] = { 0x00, 0x55, 0xaa, 0xff, 0x5a };

	for (size_t i = 0; i < sizeof(vals); i++) {
		out(s, SCR, vals[i]);
		assert_int_equal(in(s, SCR), vals[i]);
	}
	/* Linux's autoconfig: IER keeps its low nibble, bits 7..4 read 0. */
	out(s, IER, 0xff);
	assert_int_equal(in(s, IER), 0x0f);
	out(s, IER, 0x00);
	assert_int_equal(in(s, IER), 0x00);
	/* MCR keeps bits 4..0. */
	out(s, MCR, 0xff);
	assert_int_equal(in(s, MCR), 0x1f);
	serial_free(s);
}

static void test_fifo_enable_and_iir_bits(void **state)
{
	struct serial *s = serial_new(NULL, TEST_GSI, -1);

	assert_int_equal(in(s, IIR), 0x01);
	out(s, FCR, 0x01);
	assert_int_equal(in(s, IIR), 0xc1);
	/* 16750 probe: FCR bit 5 must not show up as IIR bit 5. */
	out(s, FCR, 0x21);
	assert_int_equal(in(s, IIR), 0xc1);
	out(s, FCR, 0x00);
	assert_int_equal(in(s, IIR), 0x01);
	serial_free(s);
}

static void test_fifo_reset(void **state)
{
	struct serial *s = serial_new(NULL, TEST_GSI, -1);
	uint8_t buf[20];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)('a' + i);
	out(s, FCR, 0x01);
	assert_int_equal(serial_receive(s, buf, 5), 5);
	assert_int_equal(in(s, LSR) & 0x01, 0x01);
	out(s, FCR, 0x03); /* clear the receive FIFO */
	assert_int_equal(in(s, LSR) & 0x01, 0x00);
	assert_int_equal(in(s, IIR), 0xc1);

	/* More than the FIFO holds: the queue refills it after the reset. */
	assert_int_equal(serial_receive(s, buf, sizeof(buf)), sizeof(buf));
	out(s, FCR, 0x07);
	assert_int_equal(in(s, LSR) & 0x01, 0x01);
	assert_int_equal(in(s, RBR), buf[16]);
	for (int i = 17; i < 20; i++)
		assert_int_equal(in(s, RBR), buf[i]);
	assert_int_equal(in(s, LSR) & 0x01, 0x00);

	/* Turning the FIFO off (or on) clears it too. */
	out(s, FCR, 0x01);
	assert_int_equal(serial_receive(s, buf, 3), 3);
	out(s, FCR, 0x00);
	assert_int_equal(in(s, LSR) & 0x01, 0x00);
	serial_free(s);
}

static void test_trigger_levels(void **state)
{
	static const uint8_t trig[4] = { 1, 4, 8, 14 };
	struct serial *s = serial_new(NULL, TEST_GSI, -1);
	uint8_t buf[SERIAL_FIFO_SIZE];

	memset(buf, 'x', sizeof(buf));
	out(s, IER, 0x01);
	for (unsigned int t = 0; t < 4; t++) {
		out(s, FCR, (uint8_t)(0x03 | (t << 6)));
		assert_int_equal(in(s, IIR), 0xc1);
		if (trig[t] > 1) {
			/* Below the trigger level: character timeout. */
			assert_int_equal(serial_receive(s, buf, trig[t] - 1), trig[t] - 1);
			assert_int_equal(in(s, IIR), 0xcc);
			assert_int_equal(serial_receive(s, buf, 1), 1);
		} else {
			assert_int_equal(serial_receive(s, buf, 1), 1);
		}
		assert_int_equal(in(s, IIR), 0xc4);
		/* Reading drops below the trigger again. */
		in(s, RBR);
		if (trig[t] > 1)
			assert_int_equal(in(s, IIR), 0xcc);
		else
			assert_int_equal(in(s, IIR), 0xc1);
	}
	/* Without FIFOs: received data available as soon as one byte is there. */
	out(s, FCR, 0x00);
	assert_int_equal(serial_receive(s, buf, 1), 1);
	assert_int_equal(in(s, IIR), 0x04);
	in(s, RBR);
	assert_int_equal(in(s, IIR), 0x01);
	serial_free(s);
}

static void test_priorities(void **state)
{
	struct fake_irq f;
	struct serial *s;

	fake_init(&f);
	s = serial_new(&f.ops, TEST_GSI, -1);
	out(s, FCR, 0x01); /* FIFO, trigger 1 */
	out(s, MCR, 0x18); /* loopback + OUT2: CTS/DSR/DCD change -> modem status */
	out(s, IER, 0x0f); /* all sources; ETBEI 0 -> 1 raises THRE */
	assert_int_equal(f.level, 1);
	for (int i = 0; i < SERIAL_FIFO_SIZE + 1; i++)
		out(s, THR, (uint8_t)i); /* the 17th byte overruns */

	assert_int_equal(in(s, IIR), 0xc6); /* line status first */
	assert_int_equal(in(s, IIR), 0xc6); /* not cleared by reading IIR */
	assert_int_equal(in(s, LSR), 0x63); /* DR | OE | THRE | TEMT, read clears OE */
	assert_int_equal(in(s, LSR), 0x61);
	assert_int_equal(in(s, IIR), 0xc4); /* then received data */
	for (int i = 0; i < SERIAL_FIFO_SIZE; i++)
		assert_int_equal(in(s, RBR), i);
	assert_int_equal(in(s, IIR), 0xc2); /* then THR empty; this read clears it */
	assert_int_equal(f.level, 1);
	assert_int_equal(in(s, IIR), 0xc0); /* then modem status */
	assert_int_equal(in(s, MSR), 0x83); /* DCD, DCTS | DDSR; the read clears the deltas */
	assert_int_equal(in(s, IIR), 0xc1);
	assert_int_equal(f.level, 0);
	assert_int_equal(f.bad_gsi, 0);
	assert_int_equal(f.repeats, 0); /* the line was only driven on changes */

	struct serial_stats st;
	serial_get_stats(s, &st);
	assert_int_equal(st.rx_dropped, 1);
	assert_int_equal(st.tx_bytes, 0); /* loopback bytes do not leave */
	serial_free(s);
}

static void test_lsr_and_rbr(void **state)
{
	struct serial *s = serial_new(NULL, TEST_GSI, -1);
	const uint8_t xy[2] = { 'x', 'y' };

	assert_int_equal(in(s, LSR), 0x60);
	assert_int_equal(serial_receive(s, xy, 2), 2);
	assert_int_equal(in(s, LSR), 0x61);
	assert_int_equal(in(s, RBR), 'x');
	/* Without FIFOs the holding register refills from the queue. */
	assert_int_equal(in(s, LSR), 0x61);
	assert_int_equal(in(s, RBR), 'y');
	assert_int_equal(in(s, LSR), 0x60);
	assert_int_equal(in(s, RBR), 0x00);
	assert_int_equal(in(s, LSR), 0x60);

	/* With FIFOs. */
	out(s, FCR, 0xc1);
	assert_int_equal(serial_receive(s, xy, 2), 2);
	assert_int_equal(in(s, LSR), 0x61);
	assert_int_equal(in(s, RBR), 'x');
	assert_int_equal(in(s, LSR), 0x61);
	assert_int_equal(in(s, RBR), 'y');
	assert_int_equal(in(s, LSR), 0x60);
	serial_free(s);
}

static void test_loopback(void **state)
{
	struct serial *s;
	int fds[2];
	char buf[8];
	const uint8_t host[3] = { 'h', 'o', 's' };

	assert_int_equal(pipe2(fds, O_NONBLOCK), 0);
	s = serial_new(NULL, TEST_GSI, fds[1]);
	/* Linux's autoconfig test: MCR = LOOP | 0x0A gives MSR[7:4] = DCD | CTS. */
	out(s, MCR, 0x1a);
	assert_int_equal(in(s, MSR) & 0xf0, 0x90);
	out(s, MCR, 0x15); /* LOOP | DTR | OUT1 -> DSR | RI */
	assert_int_equal(in(s, MSR) & 0xf0, 0x60);
	out(s, MCR, 0x11); /* RI went 1 -> 0: trailing edge */
	assert_int_equal(in(s, MSR), 0x20 | 0x04);
	assert_int_equal(in(s, MSR), 0x20);

	out(s, FCR, 0x01);
	out(s, THR, 'a');
	out(s, THR, 'b');
	assert_int_equal(in(s, LSR) & 0x01, 0x01);
	/* The line input waits while the loop is closed. */
	assert_int_equal(serial_receive(s, host, 3), 3);
	assert_int_equal(in(s, RBR), 'a');
	assert_int_equal(in(s, RBR), 'b');
	assert_int_equal(in(s, LSR) & 0x01, 0x00);
	assert_int_equal(read(fds[0], buf, sizeof(buf)), -1); /* nothing went out */
	assert_int_equal(errno, EAGAIN);

	/* Leaving loopback reconnects the input and restores the modem lines. */
	out(s, MCR, 0x00);
	assert_int_equal(in(s, MSR) & 0xf0, 0xb0);
	assert_int_equal(in(s, RBR), 'h');
	assert_int_equal(in(s, RBR), 'o');
	assert_int_equal(in(s, RBR), 's');
	out(s, THR, 'z');
	assert_int_equal(read(fds[0], buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'z');

	/* Overrun without FIFOs: the holding register is overwritten. */
	out(s, FCR, 0x00);
	out(s, MCR, 0x10);
	out(s, THR, '1');
	out(s, THR, '2');
	assert_int_equal(in(s, LSR), 0x63);
	assert_int_equal(in(s, RBR), '2');
	assert_int_equal(in(s, LSR), 0x60);
	serial_free(s);
	close(fds[0]);
	close(fds[1]);
}

static void test_thre_on_enable(void **state)
{
	struct fake_irq f;
	struct serial *s;

	fake_init(&f);
	s = serial_new(&f.ops, TEST_GSI, -1);
	out(s, MCR, 0x0b); /* DTR | RTS | OUT2, as Linux */
	assert_int_equal(f.ncalls, 0);

	/* Linux's THRE test in serial8250_do_startup(). */
	out(s, IER, 0x02);
	assert_int_equal(f.level, 1);
	assert_int_equal(in(s, IIR), 0x02);
	assert_int_equal(f.level, 0);
	assert_int_equal(in(s, IIR), 0x01); /* the read cleared it */
	out(s, IER, 0x00);
	out(s, IER, 0x02);
	assert_int_equal(f.level, 1); /* re-enabled: raised again */
	assert_int_equal(in(s, IIR), 0x02);
	assert_int_equal(in(s, IIR), 0x01);
	/* Rewriting ETBEI while set does not raise it again. */
	out(s, IER, 0x02);
	assert_int_equal(in(s, IIR), 0x01);
	/* Disabling ETBEI drops a pending THRE. */
	out(s, IER, 0x00);
	out(s, IER, 0x02);
	assert_int_equal(f.level, 1);
	out(s, IER, 0x00);
	assert_int_equal(f.level, 0);
	out(s, IER, 0x01);
	assert_int_equal(in(s, IIR), 0x01);
	assert_int_equal(f.level, 0);
	assert_int_equal(f.repeats, 0);
	serial_free(s);
}

static void test_thre_on_thr_write(void **state)
{
	struct fake_irq f;
	struct serial *s;
	unsigned int n;

	fake_init(&f);
	s = serial_new(&f.ops, TEST_GSI, -1);
	out(s, MCR, 0x08);
	out(s, IER, 0x02);
	assert_int_equal(f.level, 1);

	/* THRE pending and not acknowledged: the write clears it and the
	 * instant transmission sets it again, a new edge on the line. */
	n = f.ncalls;
	out(s, THR, 'a');
	assert_int_equal(f.ncalls, n + 2);
	assert_int_equal(f.levels[n], 0);
	assert_int_equal(f.levels[n + 1], 1);
	assert_int_equal(in(s, IIR), 0x02);

	/* Acknowledged by the IIR read: the next write raises it again. */
	assert_int_equal(f.level, 0);
	out(s, THR, 'b');
	assert_int_equal(f.level, 1);
	assert_int_equal(in(s, IIR), 0x02);
	assert_int_equal(in(s, IIR), 0x01);

	/* Another source keeps the line high: no pulse. */
	out(s, IER, 0x03); /* ETBEI stays set: no new THRE */
	assert_int_equal(in(s, IIR), 0x01);
	assert_int_equal(serial_receive(s, (const uint8_t *)"r", 1), 1);
	assert_int_equal(f.level, 1);
	n = f.ncalls;
	out(s, THR, 'c');
	assert_int_equal(f.ncalls, n);
	assert_int_equal(in(s, IIR), 0x04);
	in(s, RBR);
	assert_int_equal(in(s, IIR), 0x02);
	assert_int_equal(in(s, IIR), 0x01);

	/* Without ETBEI a write raises nothing. */
	out(s, IER, 0x00);
	n = f.ncalls;
	out(s, THR, 'd');
	assert_int_equal(f.ncalls, n);
	assert_int_equal(in(s, IIR), 0x01);
	serial_free(s);
}

static void test_out2_gating(void **state)
{
	struct fake_irq f;
	struct serial *s;

	fake_init(&f);
	s = serial_new(&f.ops, TEST_GSI, -1);
	out(s, IER, 0x02);
	assert_int_equal(f.ncalls, 0); /* pending, but OUT2 is low */
	out(s, MCR, 0x08);
	assert_int_equal(f.ncalls, 1);
	assert_int_equal(f.level, 1);
	out(s, MCR, 0x03);
	assert_int_equal(f.ncalls, 2);
	assert_int_equal(f.level, 0);
	/* Still pending in IIR with the line gated off. */
	assert_int_equal(in(s, IIR), 0x02);
	assert_int_equal(f.ncalls, 2);
	assert_int_equal(f.bad_gsi, 0);
	serial_free(s);
}

static void test_input_queue(void **state)
{
	struct serial *s = serial_new(NULL, TEST_GSI, -1);
	struct serial_stats st;
	uint8_t *buf = malloc(SERIAL_INPUT_QUEUE + 100);

	assert_non_null(buf);
	for (size_t i = 0; i < SERIAL_INPUT_QUEUE + 100; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	out(s, FCR, 0x01);
	assert_int_equal(serial_input_room(s), SERIAL_INPUT_QUEUE);
	assert_int_equal(serial_receive(s, buf, 100), 100);
	/* The FIFO took its 16 bytes from the queue. */
	assert_int_equal(serial_input_room(s), SERIAL_INPUT_QUEUE - 100 + SERIAL_FIFO_SIZE);
	size_t took = serial_receive(s, buf + 100, SERIAL_INPUT_QUEUE);
	assert_int_equal(took, SERIAL_INPUT_QUEUE - 100 + SERIAL_FIFO_SIZE);
	assert_int_equal(serial_input_room(s), 0);
	assert_int_equal(serial_receive(s, buf, 1), 0);
	serial_get_stats(s, &st);
	assert_int_equal(st.rx_bytes, 100 + took);
	assert_int_equal(st.rx_dropped, SERIAL_INPUT_QUEUE - took + 1);
	/* Lost input is an overrun for the guest. */
	assert_int_equal(in(s, LSR), 0x63);

	/* Everything accepted comes out in order. */
	size_t total = 100 + took;
	for (size_t i = 0; i < total; i++) {
		assert_int_equal(in(s, LSR) & 0x01, 0x01);
		assert_int_equal(in(s, RBR), buf[i]);
	}
	assert_int_equal(in(s, LSR), 0x60);
	assert_int_equal(serial_input_room(s), SERIAL_INPUT_QUEUE);
	assert_int_equal(serial_receive(s, NULL, 5), 0);
	assert_int_equal(serial_receive(s, buf, 0), 0);
	free(buf);
	serial_free(s);
}

struct hook_log {
	uint8_t buf[64];
	size_t len;
	unsigned int calls;
};

static void hook(void *arg, const uint8_t *buf, size_t len)
{
	struct hook_log *h = arg;

	h->calls++;
	for (size_t i = 0; i < len && h->len < sizeof(h->buf); i++)
		h->buf[h->len++] = buf[i];
}

static void test_output_fd_and_hook(void **state)
{
	struct hook_log h = { .len = 0 };
	struct serial_stats st;
	struct serial *s;
	int fds[2];
	char buf[16];

	assert_int_equal(pipe(fds), 0);
	s = serial_new(NULL, TEST_GSI, fds[1]);
	serial_set_output_hook(s, hook, &h);
	out(s, LCR, 0x03);
	for (const char *p = "hi\n"; *p; p++)
		out(s, THR, (uint8_t)*p);
	assert_int_equal(read(fds[0], buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "hi\n", 3);
	assert_int_equal(h.len, 3);
	assert_memory_equal(h.buf, "hi\n", 3);
	serial_get_stats(s, &st);
	assert_int_equal(st.tx_bytes, 3);
	/* LSR reports the transmitter empty at all times. */
	assert_int_equal(in(s, LSR) & 0x60, 0x60);
	serial_set_output_hook(s, NULL, NULL);
	out(s, THR, '!');
	assert_int_equal(h.len, 3);
	serial_free(s);
	close(fds[0]);
	close(fds[1]);

	/* No console: output discarded, the hook still sees it. */
	h.len = 0;
	s = serial_new(NULL, TEST_GSI, -1);
	serial_set_output_hook(s, hook, &h);
	out(s, THR, 'q');
	assert_int_equal(h.len, 1);
	assert_int_equal(h.buf[0], 'q');
	serial_free(s);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A full non-blocking out_fd: bounded wait, then drops until it drains. */
static void test_output_stalled(void **state)
{
	struct hook_log h = { .len = 0 };
	struct serial *s;
	int fds[2];
	char junk[4096];
	double t0;
	ssize_t n;

	assert_int_equal(pipe2(fds, O_NONBLOCK), 0);
	memset(junk, '.', sizeof(junk));
	while (write(fds[1], junk, sizeof(junk)) > 0)
		;
	s = serial_new(NULL, TEST_GSI, fds[1]);
	serial_set_output_hook(s, hook, &h);
	t0 = now_s();
	out(s, THR, 'A');
	assert_true(now_s() - t0 < 5.0);
	t0 = now_s();
	for (int i = 0; i < 100; i++)
		out(s, THR, 'B');
	assert_true(now_s() - t0 < 0.5); /* no wait per byte while stalled */
	while ((n = read(fds[0], junk, sizeof(junk))) > 0)
		for (ssize_t i = 0; i < n; i++)
			assert_int_equal(junk[i], '.');
	out(s, THR, 'C');
	assert_int_equal(read(fds[0], junk, sizeof(junk)), 1);
	assert_int_equal(junk[0], 'C');
	assert_int_equal(h.len, 64); /* the hook saw every byte (its log holds 64) */
	serial_free(s);
	close(fds[0]);
	close(fds[1]);
}

#define THREAD_BYTES 200000

static void *producer(void *arg)
{
	struct serial *s = arg;
	uint8_t chunk[97];
	size_t sent = 0;

	while (sent < THREAD_BYTES) {
		size_t n = MIN_SZ(sizeof(chunk), THREAD_BYTES - sent);

		for (size_t i = 0; i < n; i++)
			chunk[i] = (uint8_t)((sent + i) % 251);
		size_t room = serial_input_room(s);

		n = MIN_SZ(n, room);
		sent += serial_receive(s, chunk, n);
		if (!n)
			sched_yield();
	}
	return NULL;
}

/* The event loop feeds input while a vCPU drains it: nothing lost or reordered. */
static void test_threads(void **state)
{
	struct fake_irq f;
	struct serial *s;
	pthread_t t;
	size_t got = 0;
	struct serial_stats st;

	fake_init(&f);
	s = serial_new(&f.ops, TEST_GSI, -1);
	out(s, FCR, 0x81);
	out(s, MCR, 0x08);
	out(s, IER, 0x01);
	assert_int_equal(pthread_create(&t, NULL, producer, s), 0);
	while (got < THREAD_BYTES) {
		if (!(in(s, LSR) & 0x01)) {
			sched_yield();
			continue;
		}
		assert_int_equal(in(s, RBR), got % 251);
		got++;
	}
	pthread_join(t, NULL);
	serial_get_stats(s, &st);
	assert_int_equal(st.rx_bytes, THREAD_BYTES);
	assert_int_equal(st.rx_dropped, 0);
	assert_int_equal(in(s, IIR), 0xc1);
	assert_int_equal(f.level, 0);
	assert_int_equal(f.repeats, 0);
	serial_free(s);
}

static void test_wide_and_bad_accesses(void **state)
{
	struct serial *s = serial_new(NULL, TEST_GSI, -1);
	uint8_t data[8];

	/* A 4-byte write acts on the byte at its offset. */
	memcpy(data, "\x5a\x11\x22\x33", 4);
	serial_io(s, SCR, data, 4, true);
	assert_int_equal(in(s, SCR), 0x5a);
	assert_int_equal(in(s, IER), 0x00);
	memset(data, 0, sizeof(data));
	serial_io(s, LSR, data, 2, false);
	assert_int_equal(data[0], 0x60);
	assert_int_equal(data[1], 0xff);
	/* Outside the 8 registers: all ones, writes ignored. */
	memset(data, 0, sizeof(data));
	serial_io(s, 8, data, 8, false);
	for (int i = 0; i < 8; i++)
		assert_int_equal(data[i], 0xff);
	serial_io(s, 1000, data, 1, true);
	serial_io(s, 0, data, 0, false);
	serial_io(NULL, 0, data, 1, false);
	assert_int_equal(data[0], 0xff);
	serial_free(s);
}

/* Random register traffic and input: no crash, bounded work, the line only driven on changes. */
static void test_hostile(void **state)
{
	const uint8_t in_bytes[40] = { 1, 2, 3 };
	struct fake_irq f;
	struct serial *s;
	uint32_t x = 12345;
	uint8_t data[8];

	fake_init(&f);
	s = serial_new(&f.ops, TEST_GSI, -1);
	for (int i = 0; i < 200000; i++) {
		x = x * 1103515245 + 12345;
		unsigned int off = (x >> 8) % 9;
		uint32_t len = 1u << ((x >> 12) % 4);
		bool wr = (x >> 16) & 1;

		memset(data, (int)(x >> 20), sizeof(data));
		serial_io(s, off, data, len, wr);
		if ((x >> 24) % 64 == 0)
			serial_receive(s, in_bytes, (x >> 4) % sizeof(in_bytes));
	}
	assert_int_equal(f.bad_gsi, 0);
	assert_int_equal(f.repeats, 0);
	assert_true(serial_input_room(s) <= SERIAL_INPUT_QUEUE);
	serial_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_values),
		cmocka_unit_test(test_dlab_divisor),
		cmocka_unit_test(test_scratch_and_ier_mask),
		cmocka_unit_test(test_fifo_enable_and_iir_bits),
		cmocka_unit_test(test_fifo_reset),
		cmocka_unit_test(test_trigger_levels),
		cmocka_unit_test(test_priorities),
		cmocka_unit_test(test_lsr_and_rbr),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_thre_on_enable),
		cmocka_unit_test(test_thre_on_thr_write),
		cmocka_unit_test(test_out2_gating),
		cmocka_unit_test(test_input_queue),
		cmocka_unit_test(test_output_fd_and_hook),
		cmocka_unit_test(test_output_stalled),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_wide_and_bad_accesses),
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
