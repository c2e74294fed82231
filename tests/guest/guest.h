/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test-guest: a minimal freestanding x86 guest for the VMM's integration
 * tests. It runs entirely in 32-bit protected mode, flat segments, paging
 * off, so every pointer is a physical address.
 *
 * Only gcc's freestanding headers are used (no libc). No 64-bit division
 * anywhere: that would need libgcc's __udivdi3, which a 32-bit build on an
 * x86-64 host without multilib packages does not have.
 */
#ifndef TEST_GUEST_H
#define TEST_GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Exit statuses written to the debug-exit port. */
#define EXIT_OK			0
#define EXIT_USAGE		2	/* bad command line or boot info */
#define EXIT_SMP_TIMEOUT	3
#define EXIT_UNEXPECTED		4	/* unexpected exception or vector */
#define EXIT_IRQ_TIMEOUT	5
#define EXIT_ECHO_TIMEOUT	6

#define MAX_CPUS		64

/* PVH start of day structure (Xen public interface, hvm/start_info.h). */
#define HVM_START_MAGIC		0x336ec578u

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;		/* version >= 1 */
	uint32_t memmap_entries;	/* version >= 1 */
	uint32_t reserved;
} __attribute__((packed));

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
} __attribute__((packed));

#define HVM_MEMMAP_RAM		1

/* Port and memory-mapped I/O. */
static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t mmio_read32(uintptr_t addr)
{
	return *(volatile uint32_t *)addr;
}

static inline void mmio_write32(uintptr_t addr, uint32_t v)
{
	*(volatile uint32_t *)addr = v;
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" : : : "memory");
}

static inline void irq_disable(void)
{
	__asm__ volatile("cli" : : : "memory");
}

/*
 * Enable interrupts and halt in one go: the instruction after sti still
 * runs with interrupts held off, so an interrupt cannot slip in between
 * the two and leave us halted with nothing left to wake us.
 */
static inline void irq_enable_and_halt(void)
{
	__asm__ volatile("sti; hlt" : : : "memory");
}

/* Atomics: 32-bit only (never cmpxchg8b/16b). */
static inline uint32_t atomic_xchg(volatile uint32_t *p, uint32_t v)
{
	__asm__ volatile("xchgl %0, %1" : "+r"(v), "+m"(*p) : : "memory");
	return v;
}

static inline uint32_t atomic_fetch_add(volatile uint32_t *p, uint32_t v)
{
	__asm__ volatile("lock xaddl %0, %1" : "+r"(v), "+m"(*p) : : "memory");
	return v;
}

static inline uint32_t atomic_read(const volatile uint32_t *p)
{
	return *p;
}

/* Busy wait of n loop iterations (about 0.5 us each under emulated KVM). */
static inline void delay_loops(uint32_t n)
{
	while (n--)
		cpu_relax();
}

/* lib.c */
void uart_init(void);
void uart_putc(char c);
int uart_getc_ready(void);
void console_lock(void);
void console_unlock(void);
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf_locked(const char *fmt, va_list ap);
void guest_exit(uint8_t status) __attribute__((noreturn));
void halt_forever(void) __attribute__((noreturn));
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int parse_u32(const char *s, uint32_t *out);

/* Memory map from the start info (NULL/0 when absent). */
extern const struct hvm_memmap_entry *boot_memmap;
extern uint32_t boot_memmap_entries;

/* irq.c: IDT, local APIC, IOAPIC */
#define LAPIC_BASE		0xfee00000u
#define LAPIC_ID		0x020
#define LAPIC_TPR		0x080
#define LAPIC_EOI		0x0b0
#define LAPIC_SVR		0x0f0
#define LAPIC_ICR_LO		0x300
#define LAPIC_ICR_HI		0x310
#define LAPIC_LVT_TIMER		0x320
#define LAPIC_LVT_LINT0		0x350
#define LAPIC_LVT_LINT1		0x360
#define LAPIC_LVT_ERROR		0x370
#define LAPIC_TIMER_INIT	0x380
#define LAPIC_TIMER_DIV		0x3e0

static inline uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32(LAPIC_BASE + reg);
}

static inline void lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(LAPIC_BASE + reg, v);
}

static inline uint32_t lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

/* Register frame built by the interrupt stubs in start.S. */
struct irq_frame {
	uint32_t edi, esi, ebp, esp_unused, ebx, edx, ecx, eax;
	uint32_t vector, error;
	uint32_t eip, cs, eflags;
};

void idt_init(void);
void lapic_enable(void);
int mode_irq(int echo);
void mode_fault(void) __attribute__((noreturn));

/* smp.c */
int mode_smp(uint32_t cpus);

/* pci.c */
int mode_pci(void);

#endif /* TEST_GUEST_H */
