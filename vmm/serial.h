/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * 16550A UART (as on PC COM ports): THR/RBR, IER, IIR/FCR (16-byte FIFOs),
 * LCR with the divisor latch, MCR (loopback), LSR, MSR, SCR; interrupts
 * (received data, THR empty, line status, modem status) on one GSI, with
 * OUT2 gating the line as on a PC. Enough for Linux's 8250 driver,
 * earlyprintk=serial and polling guests.
 *
 * Output bytes go to out_fd (stdout or a file) as the guest writes them;
 * input bytes arrive through serial_receive() from the VMM's event loop.
 *
 * Threads: vCPU threads access the registers, the event loop thread feeds
 * input; a mutex inside protects the state.
 */
#ifndef NFV_VMM_SERIAL_H
#define NFV_VMM_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/irq.h"

#define SERIAL_COM1_BASE 0x3F8
#define SERIAL_NR_PORTS 8
#define SERIAL_FIFO_SIZE 16
/* Host-side input queue in front of the receive FIFO. */
#define SERIAL_INPUT_QUEUE 4096

struct serial;

/* out_fd < 0: output discarded (console none). irq may be NULL (no interrupts). */
struct serial *serial_new(const struct vm_irq *irq, unsigned int gsi, int out_fd);
void serial_free(struct serial *s);

/* io_handler_fn for the 8 ports at SERIAL_COM1_BASE. */
void serial_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/* Queues input bytes for the guest; returns how many were taken (the rest did not fit). */
size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len);
/* Bytes the input queue can still take. */
size_t serial_input_room(struct serial *s);

/* Counters for statistics. */
struct serial_stats {
	uint64_t tx_bytes;
	uint64_t rx_bytes;
	uint64_t rx_dropped; /* bytes lost because the guest did not read them in time */
};
void serial_get_stats(struct serial *s, struct serial_stats *st);

/*
 * Optional: a tap on guest output, called with every byte chunk written
 * (under the device lock; must not call back into the UART). Used by the
 * VMM to watch for strings and by tests.
 */
void serial_set_output_hook(struct serial *s, void (*hook)(void *arg, const uint8_t *buf,
							   size_t len),
			    void *arg);

#endif /* NFV_VMM_SERIAL_H */
