// SPDX-License-Identifier: BSD-3-Clause
/*
 * nfguest CPU support: the IDT and interrupt dispatch, the local APIC
 * (EOI, timer tick, IPIs), the IOAPIC, the 8259s (masked), MSI, the TSC
 * clock calibrated against PIT channel 2, and SMP start-up.
 *
 * Only hardware interrupts are used (never `int n`). Handlers return with
 * iretq: with paging on, KVM on the test machines runs it natively (the
 * instruction emulator, which cannot do iret outside real mode, is only
 * used while paging is off, i.e. in the 32-bit entry code).
 */
#include "runtime.h"

#define LAPIC_ID		0x020
#define LAPIC_TPR		0x080
#define LAPIC_EOI		0x0b0
#define LAPIC_SVR		0x0f0
#define LAPIC_ESR		0x280
#define LAPIC_ICR_LO		0x300
#define LAPIC_ICR_HI		0x310
#define LAPIC_LVT_TIMER		0x320
#define LAPIC_LVT_LINT0		0x350
#define LAPIC_LVT_LINT1		0x360
#define LAPIC_LVT_ERROR		0x370
#define LAPIC_TIMER_INIT	0x380
#define LAPIC_TIMER_CUR		0x390
#define LAPIC_TIMER_DIV		0x3e0

#define LVT_MASKED		(1u << 16)
#define TIMER_PERIODIC		(1u << 17)
#define TIMER_DIV_16		0x3

#define ICR_FIXED		(0u << 8)
#define ICR_INIT		(5u << 8)
#define ICR_STARTUP		(6u << 8)
#define ICR_PENDING		(1u << 12)
#define ICR_ASSERT		(1u << 14)
#define ICR_SELF		(1u << 18)
#define ICR_ALL_BUT_SELF	(3u << 18)

#define IOAPIC_REGSEL		0x00
#define IOAPIC_WIN		0x10
#define IOAPIC_VER		0x01
#define IOAPIC_REDTBL(pin)	(0x10 + 2 * (pin))
#define REDIR_LEVEL		(1u << 15)
#define REDIR_ACTIVE_LOW	(1u << 13)

#define PIT_CH2			0x42
#define PIT_CMD			0x43
#define PIT_GATE_PORT		0x61
#define PIT_HZ			1193182u

#define MSR_GS_BASE		0xc0000101

/* Bound for waiting on the ICR's delivery status (each read is an exit). */
#define ICR_POLL_LIMIT		100000u

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __packed;

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __packed;

/*
 * Per-CPU data. GS base points at the CPU's entry, so cpu_id() is one
 * memory load (%gs:0) instead of an MMIO read of the APIC ID (an exit).
 */
struct percpu {
	uint32_t cpu;			/* must stay first: cpu_id() reads %gs:0 */
	uint32_t apic_id;
	volatile uint32_t online;
	cpu_fn_t volatile fn;		/* work from smp_start, cleared when started */
	void *volatile arg;
	volatile uint32_t busy;		/* fn running */
	uint64_t ticks;
} __aligned(CACHE_LINE);

static struct percpu percpu[NF_MAX_CPUS];
static volatile uint32_t ncpus = 1;

static struct idt_gate idt[256] __aligned(16);
extern const char isr_stubs[];
void isr_dispatch(struct irq_frame *f);

static struct {
	irq_handler_t fn;
	void *arg;
} handlers[256];
static volatile uint32_t next_vector = VEC_FIRST_FREE;
static volatile uint32_t selftest_hits;

static uint64_t tsc_freq, tsc0;
static uint64_t ns_mult;	/* ns = ticks * ns_mult >> 32 */
static uint64_t tsc_mult;	/* ticks = ns * tsc_mult >> 24 */
static uint64_t lapic_hz;	/* LAPIC timer input clock / 16 */

static inline uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32((volatile void *)(uintptr_t)(LAPIC_BASE + reg));
}

static inline void lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32((volatile void *)(uintptr_t)(LAPIC_BASE + reg), v);
}

/* ---- IDT and dispatch ---- */

void idt_init(void)
{
	int i;

	for (i = 0; i < 256; i++) {
		uint64_t off = (uint64_t)(uintptr_t)isr_stubs + 16 * (uint64_t)i;

		idt[i].off_lo = off & 0xffff;
		idt[i].sel = 0x08;
		idt[i].ist = 0;
		idt[i].type_attr = 0x8e;	/* present, DPL 0, 64-bit interrupt gate */
		idt[i].off_mid = (off >> 16) & 0xffff;
		idt[i].off_hi = (uint32_t)(off >> 32);
		idt[i].zero = 0;
	}
	idt_load();
}

void idt_load(void)
{
	struct desc_ptr dp = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };

	__asm__ volatile("lidt %0" : : "m"(dp));
}

static const char *const exc_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP",
	"#SS", "#GP", "#PF", "15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

static void exception(struct irq_frame *f)
{
	uint64_t cr2;

	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	printf("nfguest: fatal: exception %s vector=%llu error=0x%llx rip=0x%llx rsp=0x%llx "
	       "cr2=0x%llx cpu=%d\n",
	       exc_names[f->vector] ? exc_names[f->vector] : "?", (unsigned long long)f->vector,
	       (unsigned long long)f->error, (unsigned long long)f->rip,
	       (unsigned long long)f->rsp, (unsigned long long)cr2, cpu_id());
	nf_exit(NF_EXIT_FATAL);
}

/* Called by isr_common (start.S) with interrupts off. */
void isr_dispatch(struct irq_frame *f)
{
	uint64_t v = f->vector;

	if (v < 32)
		exception(f);
	if (v == VEC_SPURIOUS)
		return;			/* no EOI for spurious interrupts */
	if (v >= VEC_PIC_BASE && v < VEC_PIC_BASE + 16)
		return;			/* a masked 8259's spurious IRQ 7/15: no EOI */
	if (handlers[v].fn)
		handlers[v].fn(handlers[v].arg);
	else if (v != VEC_TIMER)
		printf("nfguest: unexpected interrupt vector=0x%llx cpu=%d\n",
		       (unsigned long long)v, cpu_id());
	lapic_eoi();
}

int irq_alloc_vector(void)
{
	uint32_t v = atomic_add32(&next_vector, 1);

	return v <= VEC_LAST_FREE ? (int)v : -1;
}

int irq_register(int vector, irq_handler_t fn, void *arg)
{
	if (vector < 0x20 || vector > VEC_LAST_FREE)
		return -1;
	handlers[vector].arg = arg;
	barrier();
	handlers[vector].fn = fn;
	return 0;
}

/* ---- local APIC ---- */

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

uint32_t lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

static void tick(void *arg)
{
	percpu[cpu_id()].ticks++;
}

static void selftest_handler(void *arg)
{
	atomic_add32(&selftest_hits, 1);
}

/*
 * Software-enable the local APIC, accept all priorities, mask LINT0/1 (the
 * 8259 path; the BSP's LINT0 is ExtINT after reset) and the timer.
 */
void lapic_init(void)
{
	lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
	lapic_write(LAPIC_LVT_ERROR, VEC_LAPIC_ERROR);
	lapic_write(LAPIC_ESR, 0);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, 0);
	irq_register(VEC_TIMER, tick, NULL);
	irq_register(VEC_SELFTEST, selftest_handler, NULL);
}

void timer_tick_start(uint32_t period_us)
{
	uint64_t count = lapic_hz * period_us / 1000000;

	if (!period_us || !count) {
		lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_TIMER);
		lapic_write(LAPIC_TIMER_INIT, 0);
		return;
	}
	if (count > 0xffffffffu)
		count = 0xffffffffu;
	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
	lapic_write(LAPIC_LVT_TIMER, TIMER_PERIODIC | VEC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, (uint32_t)count);
}

static void icr_wait_idle(void)
{
	uint32_t n = ICR_POLL_LIMIT;

	while ((lapic_read(LAPIC_ICR_LO) & ICR_PENDING) && n--)
		cpu_relax();
}

/* Write the ICR: destination first, since writing the low half sends. */
static void send_ipi(uint32_t apic_id, uint32_t low)
{
	icr_wait_idle();
	lapic_write(LAPIC_ICR_HI, apic_id << 24);
	lapic_write(LAPIC_ICR_LO, low);
	icr_wait_idle();
}

/*
 * Take a few self-IPIs with interrupts on: checks that the IDT, the stubs,
 * the EOI and the return path (iretq) work before anything relies on them.
 */
int irq_selftest(void)
{
	int i;

	for (i = 0; i < 3; i++) {
		uint32_t before = selftest_hits, n = 1000;

		send_ipi(0, ICR_SELF | ICR_FIXED | VEC_SELFTEST);
		while (selftest_hits == before && n--)
			cpu_idle();
		if (selftest_hits == before)
			return -1;
	}
	return 0;
}

/* ---- 8259 and IOAPIC ---- */

/*
 * Reprogram the 8259 pair (ICW1-ICW4) to vectors we never use, then mask
 * every line: ISA and PCI INTx interrupts reach us through the IOAPIC only.
 */
void pic_disable(void)
{
	outb(0x20, 0x11);	/* ICW1: edge, cascade, ICW4 needed */
	outb(0xa0, 0x11);
	outb(0x21, VEC_PIC_BASE);	/* ICW2: vector base */
	outb(0xa1, VEC_PIC_BASE + 8);
	outb(0x21, 0x04);	/* ICW3: slave on IRQ2 */
	outb(0xa1, 0x02);
	outb(0x21, 0x01);	/* ICW4: 8086 mode */
	outb(0xa1, 0x01);
	outb(0x21, 0xff);	/* OCW1: mask all */
	outb(0xa1, 0xff);
}

static uint32_t ioapic_pins;
static spinlock_t ioapic_lock;

/* Indirect access: register index to IOREGSEL, value through IOWIN. */
static void ioapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32((volatile void *)(uintptr_t)(IOAPIC_BASE + IOAPIC_REGSEL), reg);
	mmio_write32((volatile void *)(uintptr_t)(IOAPIC_BASE + IOAPIC_WIN), v);
}

static uint32_t ioapic_read(uint32_t reg)
{
	mmio_write32((volatile void *)(uintptr_t)(IOAPIC_BASE + IOAPIC_REGSEL), reg);
	return mmio_read32((volatile void *)(uintptr_t)(IOAPIC_BASE + IOAPIC_WIN));
}

void ioapic_init(void)
{
	uint32_t pin;

	ioapic_pins = ((ioapic_read(IOAPIC_VER) >> 16) & 0xff) + 1;
	if (ioapic_pins > 120)
		ioapic_pins = 24;
	for (pin = 0; pin < ioapic_pins; pin++)
		ioapic_write(IOAPIC_REDTBL(pin), LVT_MASKED);
}

/*
 * A redirection entry is two registers: the low one holds the vector
 * (0-7), delivery mode (8-10, 0 = fixed), destination mode (11, 0 =
 * physical), polarity (13), trigger mode (15, 1 = level) and mask (16);
 * the high one the destination APIC ID (24-31). Masked while half written.
 */
int ioapic_route(uint32_t gsi, int vector, int cpu, bool level, bool active_low)
{
	uint32_t lo = (uint32_t)vector & 0xff;

	if (gsi >= ioapic_pins || cpu < 0 || cpu >= cpu_count())
		return -1;
	if (level)
		lo |= REDIR_LEVEL;
	if (active_low)
		lo |= REDIR_ACTIVE_LOW;
	spin_lock(&ioapic_lock);
	ioapic_write(IOAPIC_REDTBL(gsi), LVT_MASKED);
	ioapic_write(IOAPIC_REDTBL(gsi) + 1, cpu_apic_id(cpu) << 24);
	ioapic_write(IOAPIC_REDTBL(gsi), lo);
	spin_unlock(&ioapic_lock);
	return 0;
}

void ioapic_mask(uint32_t gsi, bool masked)
{
	uint32_t lo;

	if (gsi >= ioapic_pins)
		return;
	spin_lock(&ioapic_lock);
	lo = ioapic_read(IOAPIC_REDTBL(gsi));
	lo = masked ? lo | LVT_MASKED : lo & ~LVT_MASKED;
	ioapic_write(IOAPIC_REDTBL(gsi), lo);
	spin_unlock(&ioapic_lock);
}

#define INTX_GSIS 24
#define INTX_HANDLERS 8

/* One vector per IOAPIC input used for INTx, shared by every device on it. */
struct intx_line {
	int vector;
	uint32_t n;
	struct {
		irq_handler_t fn;
		void *arg;
	} h[INTX_HANDLERS];
};
static struct intx_line intx_lines[INTX_GSIS];

static void intx_dispatch(void *arg)
{
	struct intx_line *l = arg;

	for (uint32_t i = 0; i < l->n && i < INTX_HANDLERS; i++)
		l->h[i].fn(l->h[i].arg);
}

int intx_attach(const struct pci_dev *d, irq_handler_t fn, void *arg, int cpu)
{
	struct intx_line *l;
	uint32_t i;

	if (!d->irq_pin || !d->irq_line || d->irq_line >= INTX_GSIS)
		return -1;
	l = &intx_lines[d->irq_line];
	for (i = 0; i < l->n; i++)
		if (l->h[i].fn == fn && l->h[i].arg == arg)
			return d->irq_line;
	if (l->n >= INTX_HANDLERS)
		return -1;
	if (!l->vector) {
		int v = irq_alloc_vector();

		if (v < 0 || irq_register(v, intx_dispatch, l))
			return -1;
		l->vector = v;
	}
	l->h[l->n].fn = fn;
	l->h[l->n].arg = arg;
	barrier();
	l->n++;
	if (l->n == 1 && ioapic_route(d->irq_line, l->vector, cpu, true, false))
		return -1;
	return d->irq_line;
}

/* MSI message: address 0xfee00000 | dest APIC ID << 12, data = vector (fixed, edge). */
void msi_compose(int vector, int cpu, uint64_t *addr, uint32_t *data)
{
	*addr = 0xfee00000ull | ((uint64_t)cpu_apic_id(cpu) << 12);
	*data = (uint32_t)vector & 0xff;
}

/* ---- time ---- */

/*
 * Calibrate the TSC against PIT channel 2 in mode 0 (interrupt on terminal
 * count): with the gate (port 0x61 bit 0) high, OUT2 (port 0x61 bit 5)
 * goes high after count PIT clocks. 50 ms, polled with port reads (each
 * about 10 us here, so the error is around 0.02%). If OUT2 never rises
 * (no PIT), fall back to CPUID leaf 0x15/0x16 or 1 GHz, and say so.
 */
static uint64_t calibrate_tsc(void)
{
	const uint32_t count = PIT_HZ / 20;	/* 50 ms */
	uint64_t t0, t1;
	uint32_t n = 10000000;
	uint32_t a, b, c, d;
	uint8_t v;

	v = inb(PIT_GATE_PORT);
	outb(PIT_GATE_PORT, (v & ~0x02) | 0x01);	/* speaker off, gate on */
	outb(PIT_CMD, 0xb0);				/* ch2, lo/hi byte, mode 0, binary */
	outb(PIT_CH2, count & 0xff);
	outb(PIT_CH2, count >> 8);
	t0 = rdtsc();
	while (!(inb(PIT_GATE_PORT) & 0x20) && n--)
		cpu_relax();
	t1 = rdtsc();
	outb(PIT_GATE_PORT, v & ~0x03);
	if (n != UINT32_MAX && t1 > t0)
		return (t1 - t0) * 20;

	cpuid(0, 0, &a, &b, &c, &d);
	if (a >= 0x16) {
		cpuid(0x16, 0, &a, &b, &c, &d);
		if (a) {
			printf("nfguest: no PIT, TSC from CPUID 0x16: %u MHz\n", a);
			return (uint64_t)a * 1000000;
		}
	}
	printf("nfguest: no PIT and no CPUID frequency, assuming a 1 GHz TSC\n");
	return 1000000000ull;
}

void time_init(void)
{
	uint64_t t;
	uint32_t cur;

	tsc_freq = calibrate_tsc();
	tsc0 = rdtsc();
	ns_mult = (1000000000ull << 32) / tsc_freq;
	tsc_mult = (tsc_freq << 24) / 1000000000ull;

	/* LAPIC timer rate (divide by 16): count down for 10 ms of TSC time. */
	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
	t = rdtsc();
	delay_ns(10000000);
	cur = lapic_read(LAPIC_TIMER_CUR);
	t = rdtsc() - t;
	lapic_write(LAPIC_TIMER_INIT, 0);
	lapic_hz = (uint64_t)(0xffffffffu - cur) * tsc_freq / (t ? t : 1);
	if (!lapic_hz)
		lapic_hz = 62500000;	/* KVM's 1 GHz APIC bus / 16 */
}

uint64_t tsc_hz(void)
{
	return tsc_freq;
}

uint64_t tsc_to_ns(uint64_t ticks)
{
	return (uint64_t)(((unsigned __int128)ticks * ns_mult) >> 32);
}

uint64_t ns_to_tsc(uint64_t ns)
{
	return (uint64_t)(((unsigned __int128)ns * tsc_mult) >> 24);
}

uint64_t time_ns(void)
{
	return tsc_to_ns(rdtsc() - tsc0);
}

void delay_ns(uint64_t ns)
{
	uint64_t end = rdtsc() + ns_to_tsc(ns);

	while ((int64_t)(rdtsc() - end) < 0)
		cpu_relax();
}

/* ---- CPUs ---- */

static void percpu_setup(uint32_t cpu)
{
	percpu[cpu].cpu = cpu;
	percpu[cpu].apic_id = lapic_id();
	wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)&percpu[cpu]);
}

void cpu_bsp_init(void)
{
	percpu_setup(0);
}

int cpu_id(void)
{
	uint32_t id;

	__asm__ volatile("movl %%gs:0, %0" : "=r"(id));
	return (int)id;
}

int cpu_count(void)
{
	return (int)ncpus;
}

uint32_t cpu_apic_id(int cpu)
{
	return cpu >= 0 && cpu < NF_MAX_CPUS ? percpu[cpu].apic_id : 0;
}

/*
 * The real-mode trampoline runs at 0x8000: SIPI vector V starts an AP at
 * V * 4096. The page is conventional RAM below 640 KiB on QEMU and nfv-vmm
 * alike, and nothing else of ours lives there.
 */
#define TRAMP_ADDR	0x8000u
#define VEC_WAKE	0x21

extern const char ap_tramp_start[], ap_tramp_end[];
extern uint32_t ap_cr3;
extern volatile uint32_t ap_next_cpu;
extern uint64_t boot_pml4[];

static void wake_handler(void *arg)
{
}

/* Runs on each AP on its own stack, in long mode (start.S). */
void ap_main(uint32_t cpu)
{
	struct percpu *pc = &percpu[cpu];

	idt_load();
	percpu_setup(cpu);
	lapic_init();
	timer_tick_start(10000);
	barrier();
	pc->online = 1;
	atomic_add32(&ncpus, 1);
	for (;;) {
		cpu_fn_t fn = pc->fn;

		if (!fn) {
			cpu_idle();
			continue;
		}
		pc->fn = NULL;
		fn(pc->arg);
		WRITE_ONCE(pc->busy, 0);
	}
}

/*
 * Start every AP with INIT and two start-up IPIs to all but self, then
 * wait until want CPUs (BSP included) are online, or 1 s of real time
 * (the APs' 16- and 32-bit start runs in KVM's emulator here, which is
 * slow). Delays follow the MP spec: 10 ms after INIT, 200 us after SIPI.
 */
void smp_init(uint32_t want)
{
	size_t len = (size_t)(ap_tramp_end - ap_tramp_start);
	uint64_t deadline;

	irq_register(VEC_WAKE, wake_handler, NULL);
	if (want <= 1)
		return;
	memcpy(phys_to_virt(TRAMP_ADDR), ap_tramp_start, len);
	ap_cr3 = (uint32_t)virt_to_phys(boot_pml4);
	barrier();
	send_ipi(0, ICR_ALL_BUT_SELF | ICR_INIT | ICR_ASSERT);
	delay_ns(10000000);
	send_ipi(0, ICR_ALL_BUT_SELF | ICR_STARTUP | (TRAMP_ADDR >> 12));
	delay_ns(200000);
	send_ipi(0, ICR_ALL_BUT_SELF | ICR_STARTUP | (TRAMP_ADDR >> 12));
	deadline = time_ns() + 1000000000ull;
	while (READ_ONCE(ncpus) < want && time_ns() < deadline)
		delay_ns(1000000);
	/* Let an AP that is between the two counters settle (both bounded). */
	delay_ns(1000000);
}

int smp_start(int cpu, cpu_fn_t fn, void *arg)
{
	struct percpu *pc;

	if (cpu <= 0 || cpu >= cpu_count() || !fn)
		return -1;
	pc = &percpu[cpu];
	if (!pc->online || pc->busy)
		return -1;
	pc->busy = 1;
	pc->arg = arg;
	barrier();
	WRITE_ONCE(pc->fn, fn);
	send_ipi(pc->apic_id, ICR_FIXED | VEC_WAKE);
	return 0;
}

bool smp_done(int cpu)
{
	if (cpu <= 0 || cpu >= cpu_count())
		return true;
	return !READ_ONCE(percpu[cpu].busy);
}
