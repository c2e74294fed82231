// SPDX-License-Identifier: BSD-3-Clause
/*
 * test-guest interrupts: the IDT, the local APIC (timer for bounded
 * waits), the IOAPIC route for COM1, mode=irq (with its echo sub-mode)
 * and mode=fault.
 *
 * Only hardware interrupts are used: software `int n` cannot run under the
 * emulated KVM of the test machines.
 */
#include "guest.h"

#define VEC_COM1	0x24	/* IOAPIC pin 4 */
#define VEC_TIMER	0x30	/* local APIC timer */
#define VEC_PIC_BASE	0x50	/* 8259s remapped here, then masked */
#define VEC_SPURIOUS	0xff

#define IOAPIC_BASE	0xfec00000u
#define IOAPIC_REGSEL	0x00
#define IOAPIC_WIN	0x10
#define IOAPIC_VER	0x01
#define IOAPIC_REDTBL(pin)	(0x10 + 2 * (pin))

#define COM1		0x3f8
#define COM1_IRQ	4
#define UART_RBR	0
#define UART_IER	1
#define UART_IIR	2
#define UART_MCR	4
#define UART_LSR	5
#define UART_IER_RDA	0x01	/* received data available */
#define UART_IER_THRE	0x02	/* transmit holding register empty */
#define UART_MCR_DTR	0x01
#define UART_MCR_RTS	0x02
#define UART_MCR_OUT2	0x08	/* gates the IRQ line on PC hardware */

/*
 * LAPIC timer: divide by 16 and 625000 counts is 10 ms with the 1 GHz bus
 * clock KVM (and QEMU) give the local APIC. It runs on host time, so the
 * waits below are the same in real time however slow the guest code is.
 */
#define TIMER_DIV_16	0x3
#define TIMER_COUNT	625000u
#define TIMER_PERIODIC	(1u << 17)
#define LVT_MASKED	(1u << 16)

#define IRQ_WAIT_TICKS	500u	/* 5 s for the first COM1 interrupt */
#define ECHO_WAIT_TICKS	6000u	/* 60 s for a 'q' in echo mode */

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t zero;
	uint8_t type_attr;
	uint16_t off_hi;
} __attribute__((packed));

struct desc_ptr {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

extern const char isr_stubs[];
void isr_dispatch(struct irq_frame *f);

static struct idt_gate idt[256] __attribute__((aligned(16)));

static volatile uint32_t com1_irqs, timer_ticks, spurious_irqs;

/* Bytes received in echo mode: the handler fills, the main loop drains. */
static volatile uint8_t rx_ring[256];
static volatile uint32_t rx_head, rx_tail;

/*
 * Load an IDT whose 256 gates all lead to the stubs in start.S: any
 * exception or stray interrupt is then reported (exit status 4) instead of
 * silently triple-faulting. 0x8e: present, DPL 0, 32-bit interrupt gate
 * (IF cleared on entry).
 */
void idt_init(void)
{
	struct desc_ptr dp;
	int i;

	for (i = 0; i < 256; i++) {
		uint32_t off = (uint32_t)(uintptr_t)isr_stubs + 16 * i;

		idt[i].off_lo = off & 0xffff;
		idt[i].sel = 0x08;
		idt[i].zero = 0;
		idt[i].type_attr = 0x8e;
		idt[i].off_hi = off >> 16;
	}
	dp.limit = sizeof(idt) - 1;
	dp.base = (uint32_t)(uintptr_t)idt;
	__asm__ volatile("lidt %0" : : "m"(dp));
}

/* Software-enable the local APIC (SVR bit 8) and accept all priorities. */
void lapic_enable(void)
{
	lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);
	lapic_write(LAPIC_TPR, 0);
}

static void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

static void lapic_timer_start(void)
{
	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
	lapic_write(LAPIC_LVT_TIMER, TIMER_PERIODIC | VEC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, TIMER_COUNT);
}

static void lapic_timer_stop(void)
{
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, 0);
}

/*
 * Reprogram the 8259 pair (ICW1-ICW4) so that its vectors cannot be
 * mistaken for ours, then mask every line: from here on, ISA interrupts
 * reach the CPU only through the IOAPIC.
 */
static void pic_disable(void)
{
	outb(0x20, 0x11);		/* ICW1: edge, cascade, ICW4 needed */
	outb(0xa0, 0x11);
	outb(0x21, VEC_PIC_BASE);	/* ICW2: vector base */
	outb(0xa1, VEC_PIC_BASE + 8);
	outb(0x21, 0x04);		/* ICW3: slave on IRQ2 */
	outb(0xa1, 0x02);
	outb(0x21, 0x01);		/* ICW4: 8086 mode */
	outb(0xa1, 0x01);
	outb(0x21, 0xff);		/* OCW1: mask all */
	outb(0xa1, 0xff);
}

/*
 * The IOAPIC is reached through two registers: write a register index to
 * IOREGSEL, then read or write its value through IOWIN.
 */
static void ioapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(IOAPIC_BASE + IOAPIC_REGSEL, reg);
	mmio_write32(IOAPIC_BASE + IOAPIC_WIN, v);
}

static uint32_t ioapic_read(uint32_t reg)
{
	mmio_write32(IOAPIC_BASE + IOAPIC_REGSEL, reg);
	return mmio_read32(IOAPIC_BASE + IOAPIC_WIN);
}

/*
 * Route an IOAPIC pin to a vector on one CPU. A redirection entry is two
 * 32-bit registers: the low one holds the vector (bits 0-7), delivery mode
 * (8-10, 000 = fixed), destination mode (11, 0 = physical), polarity (13,
 * 0 = active high), trigger mode (15, 0 = edge) and mask (16); the high
 * one holds the destination APIC ID in bits 24-31. The entry is masked
 * while it is half written.
 */
static void ioapic_route(uint32_t pin, uint32_t vector, uint32_t apic_id)
{
	ioapic_write(IOAPIC_REDTBL(pin), LVT_MASKED);
	ioapic_write(IOAPIC_REDTBL(pin) + 1, apic_id << 24);
	ioapic_write(IOAPIC_REDTBL(pin), vector & 0xff);
}

static void com1_interrupt(void)
{
	int n;

	/* Reading IIR acknowledges a THRE interrupt. */
	(void)inb(COM1 + UART_IIR);
	/* Reading RBR acknowledges a received-data interrupt. */
	for (n = 0; n < 64 && (inb(COM1 + UART_LSR) & 0x01); n++) {
		uint8_t c = inb(COM1 + UART_RBR);

		if (rx_head - rx_tail < sizeof(rx_ring))
			rx_ring[rx_head++ % sizeof(rx_ring)] = c;
	}
	com1_irqs++;
}

/* Called by isr_common (start.S) with interrupts off. */
void isr_dispatch(struct irq_frame *f)
{
	switch (f->vector) {
	case VEC_COM1:
		com1_interrupt();
		lapic_eoi();
		return;
	case VEC_TIMER:
		timer_ticks++;
		lapic_eoi();
		return;
	case VEC_SPURIOUS:
		/* Spurious APIC interrupts take no EOI. */
		spurious_irqs++;
		return;
	default:
		printf("test-guest: unexpected %s vector=0x%02x error=0x%x eip=0x%08x\n",
		       f->vector < 32 ? "exception" : "interrupt",
		       f->vector, f->error, f->eip);
		guest_exit(EXIT_UNEXPECTED);
	}
}

/* Halt until an interrupt has bumped *counter or the tick budget ran out. */
static int wait_for(volatile uint32_t *counter, uint32_t ticks)
{
	uint32_t start = timer_ticks;

	while (!*counter && timer_ticks - start < ticks) {
		irq_enable_and_halt();
		irq_disable();
	}
	return *counter != 0;
}

static int echo_loop(void)
{
	uint32_t start;

	printf("test-guest: echo ready (send q to quit)\n");
	while (inb(COM1 + UART_LSR) & 0x01)	/* drop stale input */
		(void)inb(COM1 + UART_RBR);
	rx_head = rx_tail = 0;
	outb(COM1 + UART_IER, UART_IER_RDA);

	start = timer_ticks;
	while (timer_ticks - start < ECHO_WAIT_TICKS) {
		irq_enable_and_halt();
		irq_disable();
		while (rx_tail != rx_head) {
			char c = (char)rx_ring[rx_tail++ % sizeof(rx_ring)];

			if (c == 'q') {
				outb(COM1 + UART_IER, 0);
				printf("\ntest-guest: echo done\n");
				return EXIT_OK;
			}
			console_lock();
			uart_putc(c);
			if (c == '\r')
				uart_putc('\n');
			console_unlock();
		}
	}
	outb(COM1 + UART_IER, 0);
	printf("\ntest-guest: echo timeout\n");
	return EXIT_ECHO_TIMEOUT;
}

int mode_irq(int echo)
{
	uint32_t bsp = lapic_id();
	uint32_t ver;
	int ok, ret = EXIT_OK;

	irq_disable();
	pic_disable();
	lapic_enable();

	ver = ioapic_read(IOAPIC_VER);
	printf("test-guest: ioapic version=0x%02x pins=%u, routing pin %u to vector 0x%02x on apic %u\n",
	       ver & 0xff, ((ver >> 16) & 0xff) + 1, COM1_IRQ, VEC_COM1, bsp);
	ioapic_route(COM1_IRQ, VEC_COM1, bsp);

	/* The timer only bounds the waits: every hlt wakes at least each 10 ms. */
	lapic_timer_start();

	/*
	 * Enabling the THRE interrupt while the transmitter is already empty
	 * raises the interrupt at once: nothing has to be sent.
	 */
	com1_irqs = 0;
	outb(COM1 + UART_MCR, UART_MCR_OUT2 | UART_MCR_DTR | UART_MCR_RTS);
	outb(COM1 + UART_IER, UART_IER_THRE);
	ok = wait_for(&com1_irqs, IRQ_WAIT_TICKS);
	/* Off again before printing, or every character would interrupt. */
	outb(COM1 + UART_IER, 0);

	if (!ok) {
		printf("test-guest: irq timeout\n");
		lapic_timer_stop();
		return EXIT_IRQ_TIMEOUT;
	}
	printf("test-guest: irq ok vector=0x%02x count=%u\n", VEC_COM1, com1_irqs);

	if (echo)
		ret = echo_loop();
	lapic_timer_stop();
	return ret;
}

/*
 * Triple fault on purpose: with an IDT limit of 0 no gate can be read, so
 * the #UD from ud2 becomes a #GP, then a double fault, then a shutdown,
 * which the VMM sees (QEMU with -no-reboot exits).
 */
void mode_fault(void)
{
	static const struct desc_ptr empty = { 0, 0 };

	printf("test-guest: fault: triple faulting now\n");
	irq_disable();
	__asm__ volatile("lidt %0\n\tud2" : : "m"(empty));
	halt_forever();
}
