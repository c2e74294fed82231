/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nfguest runtime API: everything a driver or an NF mode may use.
 *
 * nfguest is a freestanding x86-64 guest (no libc). It runs in long mode,
 * ring 0, one flat address space that is identity-mapped: a pointer IS the
 * guest-physical address, so DMA addresses are the pointers themselves
 * (virt_to_phys() only documents the intent). RAM is mapped write-back;
 * the PCI hole, the LAPIC and the IOAPIC below 4 GiB are mapped uncached,
 * and MMIO above 4 GiB is mapped on demand by mmio_map()/pci_bar_map().
 *
 * Threading model: CPU 0 (the BSP) runs main(); every other CPU runs at most
 * one function given to smp_start(). There is no scheduler and no
 * preemption. Interrupt handlers run with interrupts off on the CPU that took
 * the interrupt. Nothing here allocates after start-up in a way that needs
 * freeing: memory is never returned.
 *
 * Instructions that the test machines' emulated KVM cannot run are banned
 * from the image (cmpxchg16b, xsave/xrstor, int/int3/into); see
 * check_insns.sh. In particular: no 128-bit atomics, no floating point or
 * SSE (-mgeneral-regs-only), no software interrupts.
 *
 * Stability: this header and netif.h are the interface the NIC drivers are
 * written against; change them only with a reason and keep old users
 * building.
 */
#ifndef NFGUEST_H
#define NFGUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NF_MAX_CPUS	16
#define PAGE_SIZE	4096u
#define CACHE_LINE	64

#define __packed	__attribute__((packed))
#define __aligned(x)	__attribute__((aligned(x)))
#define __noreturn	__attribute__((noreturn))
#define __printf(a, b)	__attribute__((format(printf, a, b)))
#define __used		__attribute__((used))
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)	(((x) + (a) - 1) & ~((uint64_t)(a) - 1))
#define MIN(a, b)	((a) < (b) ? (a) : (b))
#define MAX(a, b)	((a) > (b) ? (a) : (b))

/* ---- Exit statuses (written to the debug-exit port 0xf4) ---------------- */
/*
 * QEMU's isa-debug-exit makes the process exit with (status << 1) | 1;
 * nfv-vmm exits with the status itself.
 */
#define NF_EXIT_OK	0	/* gen/sink: every frame went out / came in as expected */
#define NF_EXIT_FAIL	1	/* gen/sink: count not reached, loss, or link down */
#define NF_EXIT_USAGE	2	/* unknown or bad command-line argument */
#define NF_EXIT_FATAL	3	/* unexpected exception, out of memory, device failure */

/* Write status to port 0xf4, then halt for good if nothing listens. */
void nf_exit(int status) __noreturn;
/* Print "nfguest: fatal: <msg>" and nf_exit(NF_EXIT_FATAL). */
void nf_panic(const char *fmt, ...) __printf(1, 2) __noreturn;

/* ---- Console (COM1, 115200 8N1, polled) ---------------------------------- */
/*
 * printf/vprintf/snprintf support %s %c %d %i %u %x %X %p %%, the flags '-'
 * and '0', a field width, and the length modifiers l, ll and z (all 64-bit
 * here). A printf() call is atomic with respect to other CPUs' printf()
 * calls (a console lock, bounded so a dead CPU cannot silence the others).
 * Each character is one port exit (~10 us on the test machines): keep
 * output out of packet loops.
 */
int printf(const char *fmt, ...) __printf(1, 2);
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
void console_putc(char c);

/* ---- Strings (gcc may emit calls to the mem* ones itself) --------------- */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* ---- Command line (from hvm_start_info.cmdline_paddr) -------------------- */
/*
 * The command line is a list of space-separated words, "key=value" or a bare
 * "key". cmdline_get() returns the value of the last word with that key (""
 * for a bare key), or NULL when absent, and marks the key as known. After
 * drivers and the NF mode have read their keys, main() calls
 * cmdline_check_unknown(): any word whose key nobody asked for is reported
 * as "nfguest: unknown argument WORD" and the guest exits with
 * NF_EXIT_USAGE. So a driver that takes options must read them in its probe
 * (or declare them with cmdline_get) to keep them from being rejected.
 */
const char *cmdline(void);
const char *cmdline_get(const char *key);
/*
 * Numeric argument: decimal or 0x-hex, optional suffix k/K (x1000), m/M
 * (x10^6), g/G (x10^9). Absent: *out = def, returns 0. Present: parsed,
 * checked against [min, max], returns 0; malformed or out of range: prints
 * "nfguest: bad argument KEY=VALUE (...)" and exits with NF_EXIT_USAGE.
 */
int cmdline_u64(const char *key, uint64_t def, uint64_t min, uint64_t max, uint64_t *out);
/* Print "nfguest: bad argument ..." and exit with NF_EXIT_USAGE. */
void usage_error(const char *fmt, ...) __printf(1, 2) __noreturn;
void cmdline_check_unknown(void);

/* Parsers: 0 on success, -1 when malformed. */
int parse_u64(const char *s, uint64_t *out);
int parse_mac(const char *s, uint8_t mac[6]);
/* "A.B.C.D" or "A.B.C.D/len": ip in host byte order; *prefix_len = 32 without "/". */
int parse_ipv4(const char *s, uint32_t *ip, int *prefix_len);

/* ---- Memory --------------------------------------------------------------- */
/*
 * page_alloc: npages zeroed, 4 KiB-aligned pages of RAM below 4 GiB
 * (usable by 32-bit-DMA devices), identity-mapped write-back. Never freed.
 * Returns NULL when RAM runs out. mem_alloc: zeroed bytes with the given
 * alignment (a power of two, at most PAGE_SIZE), same pool, never freed.
 */
void *page_alloc(size_t npages);
void *mem_alloc(size_t size, size_t align);
uint64_t mem_free_bytes(void);

static inline uint64_t virt_to_phys(const volatile void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static inline void *phys_to_virt(uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

/*
 * Make [phys, phys + size) accessible uncached and return its (identity)
 * pointer; NULL when page tables run out. Below 4 GiB the PCI hole is
 * already mapped and this just returns the pointer.
 */
volatile void *mmio_map(uint64_t phys, uint64_t size);

/* ---- Port and memory-mapped I/O ---------------------------------------------- */
static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;

	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/*
 * MMIO accessors: one access of exactly the given width (plain mov through
 * a volatile pointer; the compiler barrier keeps other memory accesses,
 * e.g. descriptor writes, from being moved across them).
 */
static inline uint8_t mmio_read8(const volatile void *a)
{
	uint8_t v = *(const volatile uint8_t *)a;

	__asm__ volatile("" : : : "memory");
	return v;
}

static inline uint16_t mmio_read16(const volatile void *a)
{
	uint16_t v = *(const volatile uint16_t *)a;

	__asm__ volatile("" : : : "memory");
	return v;
}

static inline uint32_t mmio_read32(const volatile void *a)
{
	uint32_t v = *(const volatile uint32_t *)a;

	__asm__ volatile("" : : : "memory");
	return v;
}

static inline uint64_t mmio_read64(const volatile void *a)
{
	uint64_t v = *(const volatile uint64_t *)a;

	__asm__ volatile("" : : : "memory");
	return v;
}

static inline void mmio_write8(volatile void *a, uint8_t v)
{
	__asm__ volatile("" : : : "memory");
	*(volatile uint8_t *)a = v;
}

static inline void mmio_write16(volatile void *a, uint16_t v)
{
	__asm__ volatile("" : : : "memory");
	*(volatile uint16_t *)a = v;
}

static inline void mmio_write32(volatile void *a, uint32_t v)
{
	__asm__ volatile("" : : : "memory");
	*(volatile uint32_t *)a = v;
}

static inline void mmio_write64(volatile void *a, uint64_t v)
{
	__asm__ volatile("" : : : "memory");
	*(volatile uint64_t *)a = v;
}

/* ---- Barriers and atomics ---------------------------------------------------- */
/*
 * x86 is TSO and DMA here is cache-coherent, so ordering between CPU writes
 * to descriptors and a later doorbell write (or between reading a device-
 * written descriptor flag and the rest of it) only needs the compiler not to
 * reorder: dma_wmb()/dma_rmb(). mb() is a full fence, needed where a store
 * must be visible before a later load (e.g. virtio's event-index check
 * after publishing the avail index).
 */
#define barrier()	__asm__ volatile("" : : : "memory")
#define mb()		__asm__ volatile("mfence" : : : "memory")
#define rmb()		__asm__ volatile("lfence" : : : "memory")
#define wmb()		__asm__ volatile("sfence" : : : "memory")
#define dma_rmb()	barrier()
#define dma_wmb()	barrier()
#define smp_mb()	__asm__ volatile("lock; addl $0, -4(%%rsp)" : : : "memory", "cc")
#define READ_ONCE(x)	(*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" : : : "memory");
}

static inline uint32_t atomic_xchg32(volatile uint32_t *p, uint32_t v)
{
	__asm__ volatile("xchgl %0, %1" : "+r"(v), "+m"(*p) : : "memory");
	return v;
}

static inline uint32_t atomic_add32(volatile uint32_t *p, uint32_t v)
{
	__asm__ volatile("lock xaddl %0, %1" : "+r"(v), "+m"(*p) : : "memory", "cc");
	return v;	/* the old value */
}

static inline uint64_t atomic_add64(volatile uint64_t *p, uint64_t v)
{
	__asm__ volatile("lock xaddq %0, %1" : "+r"(v), "+m"(*p) : : "memory", "cc");
	return v;	/* the old value */
}

/* A test-and-set spinlock (interrupts are not touched). */
typedef struct {
	volatile uint32_t locked;
} spinlock_t;

static inline void spin_lock(spinlock_t *l)
{
	while (atomic_xchg32(&l->locked, 1))
		while (READ_ONCE(l->locked))
			cpu_relax();
}

static inline void spin_unlock(spinlock_t *l)
{
	barrier();
	WRITE_ONCE(l->locked, 0);
}

/* ---- CPU control --------------------------------------------------------------- */
static inline void irq_enable(void)
{
	__asm__ volatile("sti" : : : "memory");
}

static inline void irq_disable(void)
{
	__asm__ volatile("cli" : : : "memory");
}

static inline uint64_t irq_save(void)
{
	uint64_t f;

	__asm__ volatile("pushfq; popq %0; cli" : "=r"(f) : : "memory");
	return f;
}

static inline void irq_restore(uint64_t flags)
{
	if (flags & (1u << 9))
		irq_enable();
}

/*
 * Wait for the next interrupt with interrupts off before and after: sti's
 * one-instruction shadow makes "sti; hlt" atomic, so an interrupt that is
 * already pending wakes the hlt instead of being lost. The interrupt's
 * handler runs before this returns. Every CPU gets a periodic LAPIC timer
 * tick (timer_tick_start), so this always returns within a tick.
 */
static inline void cpu_idle(void)
{
	__asm__ volatile("sti; hlt; cli" : : : "memory");
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c,
			 uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

/* ---- Time -------------------------------------------------------------------------- */
/*
 * The TSC, calibrated at boot against PIT channel 2 (gated through port
 * 0x61). time_ns() counts from boot. The TSC is assumed invariant and in
 * step across CPUs (true under KVM).
 */
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

uint64_t tsc_hz(void);
uint64_t time_ns(void);
uint64_t tsc_to_ns(uint64_t ticks);
uint64_t ns_to_tsc(uint64_t ns);
/* Busy-wait (pause loop on the TSC). */
void delay_ns(uint64_t ns);
/*
 * Start this CPU's LAPIC timer, periodic, every period_us microseconds
 * (0 stops it). Its interrupt does nothing but wake cpu_idle().
 */
void timer_tick_start(uint32_t period_us);

/* ---- CPUs and SMP ---------------------------------------------------------------- */
/*
 * CPUs are numbered 0 (the BSP) .. cpu_count() - 1 in the order they came
 * up at boot; all application processors are started (and parked) before
 * PCI probing, so cpu_count() is final by the time drivers run.
 */
int cpu_id(void);
int cpu_count(void);
uint32_t cpu_apic_id(int cpu);
typedef void (*cpu_fn_t)(void *arg);
/*
 * Run fn(arg) on CPU cpu (1 .. cpu_count() - 1), which must be idle.
 * Returns 0, or -1 for a bad or busy CPU. When fn returns the CPU parks
 * again and smp_done() reports it.
 */
int smp_start(int cpu, cpu_fn_t fn, void *arg);
bool smp_done(int cpu);

/* ---- PCI (configuration mechanism #1, ports 0xcf8/0xcfc) ---------------------- */
#define PCI_MAX_DEVS	64

struct pci_bar {
	uint64_t addr;		/* bus (= guest-physical) address; 0: unassigned */
	uint64_t size;		/* 0: BAR not implemented */
	bool io;		/* I/O-port BAR: addr is the port base */
	bool is64;		/* 64-bit memory BAR (occupies this and the next slot) */
	bool prefetch;
};

struct pci_dev {
	uint8_t bus, dev, fn;
	uint16_t vendor, device;
	uint16_t subsys_vendor, subsys_device;
	uint8_t revision;
	uint32_t class_code;	/* class << 16 | subclass << 8 | prog-if */
	uint8_t irq_pin;	/* 1..4 = INTA..INTD, 0 = none */
	uint8_t irq_line;	/* interrupt line register, as the firmware set it */
	struct pci_bar bar[6];
	bool claimed;		/* a driver took it */
};

/* Filled once at boot (bus 0 and buses behind bridges, all functions). */
int pci_count(void);
struct pci_dev *pci_get(int i);

uint8_t pci_cfg_read8(const struct pci_dev *d, uint16_t off);
uint16_t pci_cfg_read16(const struct pci_dev *d, uint16_t off);
uint32_t pci_cfg_read32(const struct pci_dev *d, uint16_t off);
void pci_cfg_write8(const struct pci_dev *d, uint16_t off, uint8_t v);
void pci_cfg_write16(const struct pci_dev *d, uint16_t off, uint16_t v);
void pci_cfg_write32(const struct pci_dev *d, uint16_t off, uint32_t v);

#define PCI_COMMAND		0x04
#define PCI_COMMAND_IO		0x0001
#define PCI_COMMAND_MEMORY	0x0002
#define PCI_COMMAND_MASTER	0x0004
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS		0x06
#define PCI_STATUS_CAP_LIST	0x0010
#define PCI_CAP_ID_MSI		0x05
#define PCI_CAP_ID_VNDR		0x09
#define PCI_CAP_ID_MSIX		0x11

/* Set the given PCI_COMMAND bits (and clear INTx-disable unless given). */
void pci_enable(struct pci_dev *d, uint16_t command_bits);
/* INTx disable bit in the command register. */
void pci_intx(struct pci_dev *d, bool enable);
/*
 * Map a memory BAR (mmio_map) and return its pointer; NULL for an I/O,
 * unimplemented or unassigned BAR. Does not touch PCI_COMMAND.
 */
volatile void *pci_bar_map(struct pci_dev *d, int bar);
/*
 * Capability list walk: the config offset of the first capability with id
 * cap_id after offset 'after' (0: from the start of the list), 0 if none.
 * Loop with after = previous result to visit every vendor capability.
 */
uint8_t pci_find_cap(const struct pci_dev *d, uint8_t cap_id, uint8_t after);

/* MSI-X: table of 16-byte entries (address lo, hi, data, vector control). */
struct pci_msix {
	uint8_t cap;			/* config offset of the capability */
	uint16_t size;			/* number of table entries */
	volatile uint8_t *table;
	volatile uint8_t *pba;
};

/* Find the capability and map the table and PBA; 0, or -1 without MSI-X. */
int pci_msix_init(struct pci_dev *d, struct pci_msix *m);
/* Program entry to deliver vector on cpu (fixed, edge) and unmask it. */
int pci_msix_set(struct pci_msix *m, uint16_t entry, int vector, int cpu);
void pci_msix_mask(struct pci_msix *m, uint16_t entry, bool masked);
/*
 * Turn MSI-X on (enable bit set, function mask clear, INTx disabled) or off
 * (INTx enabled again).
 */
void pci_msix_enable(struct pci_dev *d, struct pci_msix *m, bool on);

/* ---- Interrupts ------------------------------------------------------------------- */
/*
 * Vectors 0x30..0xef are free for devices (irq_alloc_vector hands them
 * out); 0x20..0x2f belong to the runtime (LAPIC timer 0x20, error 0x2e),
 * 0xff is the spurious vector, 0-31 are exceptions (any of them prints the
 * CPU state and exits with NF_EXIT_FATAL).
 *
 * A handler runs with interrupts off on the CPU that took the interrupt;
 * the dispatcher sends the LAPIC EOI AFTER the handler returns, so a
 * handler for a level-triggered source (INTx) must quiet the device (e.g.
 * read e1000's ICR) before returning, and must not call lapic_eoi() itself.
 */
typedef void (*irq_handler_t)(void *arg);
int irq_alloc_vector(void);		/* -1 when none is left */
int irq_register(int vector, irq_handler_t fn, void *arg);
void lapic_eoi(void);
uint32_t lapic_id(void);
/* MSI address/data for a fixed, edge-triggered interrupt to cpu. */
void msi_compose(int vector, int cpu, uint64_t *addr, uint32_t *data);
/*
 * Route IOAPIC input gsi to vector on cpu (fixed delivery, physical
 * destination) and unmask it; -1 for a bad gsi.
 */
int ioapic_route(uint32_t gsi, int vector, int cpu, bool level, bool active_low);
void ioapic_mask(uint32_t gsi, bool masked);
/*
 * Attach fn(arg) to a PCI device's INTx: level-triggered, active high (as
 * QEMU's i440FX/PIIX and nfv-vmm wire PCI interrupts to the IOAPIC), GSI =
 * the interrupt line register the firmware or VMM set. Devices of any kind
 * may share a line: each GSI gets one vector, routed to `cpu` by its first
 * user, and its interrupt calls every handler attached to it (each handler
 * asks its own device). Attaching the same fn/arg twice is a no-op.
 * Returns the GSI, or -1 when the device has no INTx pin, the line is unset
 * (0 or 0xff) or out of range, or the line has no handler slot or vector left.
 */
int intx_attach(const struct pci_dev *d, irq_handler_t fn, void *arg, int cpu);

/* ---- PVH start info (Xen public interface, hvm/start_info.h) ---------------------- */
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
} __packed;

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
} __packed;

#define HVM_MEMMAP_RAM		1

#endif /* NFGUEST_H */
