/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * 16550A UART.
 *
 * Model:
 *  - Transmission is instantaneous: a byte written to THR leaves at once (to
 *    out_fd and the output hook, or into the receive FIFO in loopback), so
 *    LSR always reads THRE | TEMT and the transmit FIFO is always empty.
 *  - Reception: serial_receive() puts host bytes into an input queue (the
 *    "line"); the queue tops up the receive FIFO (16 bytes, or the 1-byte
 *    holding register when FIFOs are off) whenever the guest makes room, so
 *    host input never overruns. In loopback the line is disconnected and the
 *    queue waits. Bytes that do not fit in the queue are rejected: they are
 *    counted in rx_dropped and flagged as an overrun (LSR.OE), as a real
 *    UART reports lost characters.
 *  - Character timeout: there is no timer. The FIFO is topped up from the
 *    queue at once, so a FIFO below its trigger level means the line is idle;
 *    the timeout indication (IIR 0x0C) is then reported immediately instead
 *    of four character times later.
 *  - THRE interrupt: pending when the THR becomes empty (after every
 *    transmitted byte) and when IER.ETBEI goes from 0 to 1; cleared by an IIR
 *    read that reports it, by a THR write (the following instant
 *    transmission raises it again, which gives the interrupt line a new edge
 *    if THRE was its only source) and by clearing ETBEI.
 *  - Statistics: tx_bytes counts bytes that left (not loopback), rx_bytes
 *    bytes taken by serial_receive(), rx_dropped input bytes rejected by it
 *    plus characters lost to a loopback overrun.
 *  - The interrupt line is the OR of the enabled sources, gated by MCR.OUT2
 *    (on a PC, OUT2 enables the IRQ driver). It is driven through
 *    irq->set_level() only when it changes.
 *
 * Locking: one mutex protects the state. set_level(), the output hook and the
 * write to out_fd are all called with the mutex held, so the line level the
 * interrupt controller sees always follows the order of the register
 * accesses. vm_irq callbacks and the hook must not call back into the UART.
 * A blocked out_fd therefore blocks the vCPU that writes THR (as a slow
 * terminal would); a non-blocking out_fd is waited on for a bounded time,
 * then output is dropped until out_fd drains.
 */
#define LOG_COMPONENT "serial"
#include "vmm/serial.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Register offsets. */
#define UART_RBR 0 /* read, DLAB = 0 */
#define UART_THR 0 /* write, DLAB = 0 */
#define UART_DLL 0 /* DLAB = 1 */
#define UART_IER 1 /* DLAB = 0 */
#define UART_DLM 1 /* DLAB = 1 */
#define UART_IIR 2 /* read */
#define UART_FCR 2 /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7
#define UART_NR_REGS 8

#define IER_ERBFI 0x01 /* received data available (and timeout) */
#define IER_ETBEI 0x02 /* THR empty */
#define IER_ELSI 0x04  /* receiver line status */
#define IER_EDSSI 0x08 /* modem status */
#define IER_MASK 0x0f

#define IIR_NO_INT 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_TIMEOUT 0x0c
#define IIR_FIFO_ENABLED 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04
#define FCR_TRIGGER_SHIFT 6

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_PE 0x04
#define LSR_FE 0x08
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_ERRORS (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_DELTAS 0x0f
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

/* Divisor 12: 9600 baud from the PC's 1.8432 MHz clock. */
#define UART_DEFAULT_DIVISOR 12

/* How long a THR write waits for a non-blocking out_fd that is full. */
#define SERIAL_OUT_POLL_MS 100
#define SERIAL_OUT_POLL_TRIES 5

static const uint8_t serial_rx_triggers[4] = { 1, 4, 8, 14 };

struct serial {
	pthread_mutex_t lock;
	const struct vm_irq *irq;
	unsigned int gsi;
	int out_fd;
	bool out_stalled; /* out_fd stayed full: drop without waiting */
	void (*hook)(void *arg, const uint8_t *buf, size_t len);
	void *hook_arg;

	/* Registers. */
	uint8_t ier;
	uint8_t lcr;
	uint8_t mcr;
	uint8_t scr;
	uint8_t dll;
	uint8_t dlm;
	uint8_t lsr_errors; /* OE/PE/FE/BI, cleared by reading LSR */
	uint8_t msr_deltas; /* DCTS/DDSR/TERI/DDCD, cleared by reading MSR */
	bool fifo_enabled;
	uint8_t rx_trigger;
	bool thre_pending;
	int irq_level; /* level last driven on the line */

	/* Receive FIFO (capacity 1 when FIFOs are disabled). */
	uint8_t rx_fifo[SERIAL_FIFO_SIZE];
	unsigned int rx_head;
	unsigned int rx_count;

	/* Host input queue in front of the FIFO. */
	uint8_t inq[SERIAL_INPUT_QUEUE];
	size_t inq_head;
	size_t inq_count;

	struct serial_stats stats;
};

static unsigned int serial_rx_capacity(const struct serial *s)
{
	return s->fifo_enabled ? SERIAL_FIFO_SIZE : 1;
}

static void serial_rx_clear(struct serial *s)
{
	s->rx_head = 0;
	s->rx_count = 0;
}

/* Moves queued host input into the receive FIFO while there is room. */
static void serial_rx_refill(struct serial *s)
{
	unsigned int cap = serial_rx_capacity(s);

	if (s->mcr & MCR_LOOP)
		return; /* the serial input is disconnected in loopback */
	while (s->rx_count < cap && s->inq_count) {
		s->rx_fifo[(s->rx_head + s->rx_count) % SERIAL_FIFO_SIZE] = s->inq[s->inq_head];
		s->rx_count++;
		s->inq_head = (s->inq_head + 1) % SERIAL_INPUT_QUEUE;
		s->inq_count--;
	}
}

/* A character arrives at the receiver from the loopback path. */
static void serial_rx_push(struct serial *s, uint8_t ch)
{
	unsigned int cap = serial_rx_capacity(s);

	if (s->rx_count < cap) {
		s->rx_fifo[(s->rx_head + s->rx_count) % SERIAL_FIFO_SIZE] = ch;
		s->rx_count++;
		return;
	}
	/*
	 * Overrun. With FIFOs the character in the shift register is lost and
	 * the FIFO kept; without, the holding register is overwritten.
	 */
	if (!s->fifo_enabled)
		s->rx_fifo[s->rx_head] = ch;
	s->lsr_errors |= LSR_OE;
	s->stats.rx_dropped++;
}

static uint8_t serial_rx_pop(struct serial *s)
{
	uint8_t ch;

	if (!s->rx_count)
		return 0;
	ch = s->rx_fifo[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_FIFO_SIZE;
	s->rx_count--;
	serial_rx_refill(s);
	return ch;
}

/* CTS, DSR, RI, DCD as the guest sees them. */
static uint8_t serial_modem_status(const struct serial *s)
{
	uint8_t msr = 0;

	if (!(s->mcr & MCR_LOOP))
		return MSR_CTS | MSR_DSR | MSR_DCD; /* a connected terminal */
	if (s->mcr & MCR_RTS)
		msr |= MSR_CTS;
	if (s->mcr & MCR_DTR)
		msr |= MSR_DSR;
	if (s->mcr & MCR_OUT1)
		msr |= MSR_RI;
	if (s->mcr & MCR_OUT2)
		msr |= MSR_DCD;
	return msr;
}

/* Highest-priority pending interrupt, as IIR bits 3..0. */
static uint8_t serial_iir_id(const struct serial *s)
{
	if ((s->ier & IER_ELSI) && (s->lsr_errors & LSR_ERRORS))
		return IIR_RLSI;
	if ((s->ier & IER_ERBFI) && s->rx_count) {
		if (s->fifo_enabled && s->rx_count < s->rx_trigger)
			return IIR_TIMEOUT;
		return IIR_RDI;
	}
	if ((s->ier & IER_ETBEI) && s->thre_pending)
		return IIR_THRI;
	if ((s->ier & IER_EDSSI) && (s->msr_deltas & MSR_DELTAS))
		return IIR_MSI;
	return IIR_NO_INT;
}

/* Drives the interrupt line to its new level if it changed. Lock held. */
static void serial_update_irq(struct serial *s)
{
	int level = serial_iir_id(s) != IIR_NO_INT && (s->mcr & MCR_OUT2);
	int ret;

	if (level == s->irq_level)
		return;
	s->irq_level = level;
	if (!s->irq || !s->irq->set_level)
		return;
	ret = s->irq->set_level(s->irq->opaque, s->gsi, level);
	if (ret < 0)
		log_warn_rl("cannot drive GSI %u to %d: %s", s->gsi, level, strerror(-ret));
}

/*
 * Writes one byte to out_fd. A non-blocking out_fd that is full is waited on
 * for a bounded time, then the byte is dropped; while output stays stalled,
 * later bytes are not waited for, so a stuck terminal cannot slow the guest
 * down to one byte per timeout.
 */
static void serial_write_out(struct serial *s, uint8_t ch)
{
	unsigned int tries = 0;

	for (;;) {
		struct pollfd pfd = { .fd = s->out_fd, .events = POLLOUT };
		ssize_t n = write(s->out_fd, &ch, 1);

		if (n == 1) {
			s->out_stalled = false;
			return;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			log_warn_rl("console output: %s (byte dropped)", strerror(errno));
			return;
		}
		if (s->out_stalled || ++tries > SERIAL_OUT_POLL_TRIES) {
			if (!s->out_stalled)
				log_warn_rl("console output blocked: dropping bytes");
			s->out_stalled = true;
			return;
		}
		if (poll(&pfd, 1, SERIAL_OUT_POLL_MS) < 0 && errno != EINTR) {
			log_warn_rl("console output: poll: %s (byte dropped)", strerror(errno));
			return;
		}
	}
}

static void serial_transmit(struct serial *s, uint8_t ch)
{
	if (s->mcr & MCR_LOOP) {
		serial_rx_push(s, ch);
		return;
	}
	s->stats.tx_bytes++;
	if (s->out_fd >= 0)
		serial_write_out(s, ch);
	if (s->hook)
		s->hook(s->hook_arg, &ch, 1);
}

static void serial_write_thr(struct serial *s, uint8_t val)
{
	/* The write fills the THR: its empty interrupt is cleared ... */
	s->thre_pending = false;
	serial_update_irq(s);
	serial_transmit(s, val);
	/* ... and the THR is empty again at once. */
	s->thre_pending = true;
}

static void serial_write_ier(struct serial *s, uint8_t val)
{
	uint8_t old = s->ier;

	s->ier = val & IER_MASK;
	if ((s->ier & IER_ETBEI) && !(old & IER_ETBEI))
		s->thre_pending = true; /* enabling ETBEI with the THR empty */
	else if (!(s->ier & IER_ETBEI))
		s->thre_pending = false;
}

static void serial_write_fcr(struct serial *s, uint8_t val)
{
	bool enable = val & FCR_ENABLE;

	if (enable != s->fifo_enabled) {
		/* Changing the FIFO mode clears both FIFOs. */
		serial_rx_clear(s);
		s->fifo_enabled = enable;
	}
	/* The other bits are only programmed while FCR0 is written as 1. */
	if (enable) {
		if (val & FCR_CLEAR_RX)
			serial_rx_clear(s);
		/* FCR_CLEAR_TX: the transmit FIFO is always empty. */
		s->rx_trigger = serial_rx_triggers[val >> FCR_TRIGGER_SHIFT];
	}
	serial_rx_refill(s);
}

static void serial_write_mcr(struct serial *s, uint8_t val)
{
	uint8_t old = serial_modem_status(s), now, changed;

	s->mcr = val & MCR_MASK;
	now = serial_modem_status(s);
	changed = old ^ now;
	if (changed & MSR_CTS)
		s->msr_deltas |= MSR_DCTS;
	if (changed & MSR_DSR)
		s->msr_deltas |= MSR_DDSR;
	if ((old & MSR_RI) && !(now & MSR_RI))
		s->msr_deltas |= MSR_TERI; /* trailing edge of RI */
	if (changed & MSR_DCD)
		s->msr_deltas |= MSR_DDCD;
	serial_rx_refill(s); /* leaving loopback reconnects the input */
}

static void serial_write_reg(struct serial *s, unsigned int reg, uint8_t val)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (reg) {
	case UART_THR:
		if (dlab)
			s->dll = val;
		else
			serial_write_thr(s, val);
		break;
	case UART_IER:
		if (dlab)
			s->dlm = val;
		else
			serial_write_ier(s, val);
		break;
	case UART_FCR: serial_write_fcr(s, val); break;
	case UART_LCR: s->lcr = val; break;
	case UART_MCR: serial_write_mcr(s, val); break;
	case UART_SCR: s->scr = val; break;
	default:
		/* LSR and MSR: factory test writes, ignored. */
		break;
	}
}

static uint8_t serial_read_reg(struct serial *s, unsigned int reg)
{
	bool dlab = s->lcr & LCR_DLAB;
	uint8_t val;

	switch (reg) {
	case UART_RBR: return dlab ? s->dll : serial_rx_pop(s);
	case UART_IER: return dlab ? s->dlm : s->ier;
	case UART_IIR:
		val = serial_iir_id(s);
		if (val == IIR_THRI)
			s->thre_pending = false; /* reading the IIR that reports THRE clears it */
		return val | (s->fifo_enabled ? IIR_FIFO_ENABLED : 0);
	case UART_LCR: return s->lcr;
	case UART_MCR: return s->mcr;
	case UART_LSR:
		val = LSR_THRE | LSR_TEMT | s->lsr_errors | (s->rx_count ? LSR_DR : 0);
		s->lsr_errors = 0;
		return val;
	case UART_MSR:
		val = serial_modem_status(s) | s->msr_deltas;
		s->msr_deltas = 0;
		return val;
	case UART_SCR: return s->scr;
	default: return 0xff;
	}
}

void serial_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct serial *s = opaque;

	if (!len || !data)
		return;
	if (!is_write)
		memset(data, 0xff, len);
	/* Wider accesses act as a byte access at their offset (Linux only uses bytes). */
	if (!s || offset >= UART_NR_REGS)
		return;
	pthread_mutex_lock(&s->lock);
	if (is_write)
		serial_write_reg(s, (unsigned int)offset, data[0]);
	else
		data[0] = serial_read_reg(s, (unsigned int)offset);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n, tail, first;

	if (!s || !buf || !len)
		return 0;
	pthread_mutex_lock(&s->lock);
	n = MIN(len, SERIAL_INPUT_QUEUE - s->inq_count);
	tail = (s->inq_head + s->inq_count) % SERIAL_INPUT_QUEUE;
	first = MIN(n, SERIAL_INPUT_QUEUE - tail);
	memcpy(&s->inq[tail], buf, first);
	memcpy(&s->inq[0], buf + first, n - first);
	s->inq_count += n;
	s->stats.rx_bytes += n;
	if (n < len) {
		/* Lost on the line: the guest sees an overrun. */
		s->stats.rx_dropped += len - n;
		s->lsr_errors |= LSR_OE;
	}
	serial_rx_refill(s);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t serial_input_room(struct serial *s)
{
	size_t room;

	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	room = SERIAL_INPUT_QUEUE - s->inq_count;
	pthread_mutex_unlock(&s->lock);
	return room;
}

void serial_get_stats(struct serial *s, struct serial_stats *st)
{
	if (!st)
		return;
	if (!s) {
		memset(st, 0, sizeof(*st));
		return;
	}
	pthread_mutex_lock(&s->lock);
	*st = s->stats;
	pthread_mutex_unlock(&s->lock);
}

void serial_set_output_hook(struct serial *s,
			    void (*hook)(void *arg, const uint8_t *buf, size_t len), void *arg)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->hook = hook;
	s->hook_arg = arg;
	pthread_mutex_unlock(&s->lock);
}

struct serial *serial_new(const struct vm_irq *irq, unsigned int gsi, int out_fd)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s) {
		log_err("out of memory");
		return NULL;
	}
	if (pthread_mutex_init(&s->lock, NULL)) {
		log_err("cannot initialise the lock");
		free(s);
		return NULL;
	}
	s->irq = irq;
	s->gsi = gsi;
	s->out_fd = out_fd;
	s->dll = UART_DEFAULT_DIVISOR & 0xff;
	s->dlm = UART_DEFAULT_DIVISOR >> 8;
	s->rx_trigger = serial_rx_triggers[0];
	return s;
}

void serial_free(struct serial *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}
