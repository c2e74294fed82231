// SPDX-License-Identifier: BSD-3-Clause
/*
 * test-guest main: reads the PVH start info, parses the command line and
 * runs one mode. The command line is space-separated key=value words:
 *
 *   mode=hello|memmap|smp|irq|pci|fault|badmem|spin   (default hello)
 *   exit=N     exit status for mode=hello (default 0)
 *   cpus=N     CPUs expected by mode=smp, BSP included (default 2)
 *   echo=0|1   after mode=irq, echo serial input until 'q'
 *
 * Exit statuses (written to port 0xf4): 0 ok, 2 bad command line or boot
 * info, 3 SMP timeout, 4 unexpected exception or interrupt, 5 IRQ timeout,
 * 6 echo timeout. mode=fault triple-faults instead; mode=spin never exits.
 */
#include "guest.h"

#define CMDLINE_MAX	1024

/* mode=spin prints one tick per this many loop iterations (~1 s emulated). */
#define SPIN_TICK_LOOPS	2000000u

const struct hvm_memmap_entry *boot_memmap;
uint32_t boot_memmap_entries;

static char cmdline[CMDLINE_MAX];

static void __attribute__((noreturn)) usage_error(const char *what,
						  const char *arg)
{
	printf("test-guest: %s %s\n", what, arg);
	guest_exit(EXIT_USAGE);
}

static int mode_memmap(void)
{
	uint32_t i;

	if (!boot_memmap) {
		printf("test-guest: memmap none\n");
		return EXIT_OK;
	}
	for (i = 0; i < boot_memmap_entries; i++)
		printf("test-guest: memmap addr=0x%llx size=0x%llx type=%u\n",
		       (unsigned long long)boot_memmap[i].addr,
		       (unsigned long long)boot_memmap[i].size,
		       boot_memmap[i].type);
	return EXIT_OK;
}

/*
 * First address above RAM below 4 GiB that no memory map entry covers:
 * the highest end of a RAM range, moved past any ranges that directly
 * follow it (QEMU puts its ACPI tables, reserved, right after RAM).
 * 0 without a memory map.
 */
static uint64_t ram_top_below_4g(void)
{
	uint64_t top = 0;
	uint32_t i, moved;

	for (i = 0; boot_memmap && i < boot_memmap_entries; i++) {
		const struct hvm_memmap_entry *e = &boot_memmap[i];
		uint64_t end = e->addr + e->size;

		if (e->type != HVM_MEMMAP_RAM || e->addr >= 0x100000000ull)
			continue;
		if (end > 0x100000000ull)
			end = 0x100000000ull;
		if (end > top)
			top = end;
	}
	do {
		moved = 0;
		for (i = 0; top && i < boot_memmap_entries; i++) {
			const struct hvm_memmap_entry *e = &boot_memmap[i];

			if (e->addr <= top && e->addr + e->size > top) {
				top = e->addr + e->size;
				moved = 1;
			}
		}
	} while (moved && top < 0x100000000ull);
	return top;
}

/*
 * Touch guest-physical addresses that no RAM or device backs: the VMM must
 * complete the access (reads give all ones on real hardware) rather than
 * stop the VM.
 */
static int mode_badmem(void)
{
	uint64_t top;
	uint32_t v;

	v = mmio_read32(0xd0000000u);
	printf("test-guest: badmem read 0xd0000000 = 0x%08x\n", v);
	mmio_write32(0xf0000000u, 0x12345678u);
	printf("test-guest: badmem wrote 0xf0000000\n");
	top = ram_top_below_4g();
	if (!top || top > 0xfffffffcull) {
		printf("test-guest: badmem no unmapped address above ram below 4 GiB\n");
	} else {
		v = mmio_read32((uintptr_t)top);
		printf("test-guest: badmem read 0x%08x (above ram) = 0x%08x\n",
		       (uint32_t)top, v);
	}
	printf("test-guest: badmem ok\n");
	return EXIT_OK;
}

static void __attribute__((noreturn)) mode_spin(void)
{
	uint32_t tick = 0;

	for (;;) {
		printf("test-guest: tick %u\n", tick++);
		delay_loops(SPIN_TICK_LOOPS);
	}
}

/* Reset through the keyboard controller, as Linux's reboot=k does. */
static int mode_reset(void)
{
	printf("test-guest: reset: pulsing the i8042 reset line\n");
	/* Wait (bounded) for the input buffer to drain, then command 0xFE. */
	for (int i = 0; i < 1000 && (inb(0x64) & 0x02); i++)
		cpu_relax();
	outb(0x64, 0xfe);
	printf("test-guest: reset: still running\n");
	return 7;
}

/* CPUID leaves 1 and 7 as the guest sees them (the VMM may hide features). */
static int mode_cpuid(void)
{
	static const uint32_t leaves[] = { 1, 7 };

	for (unsigned int i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		uint32_t a = leaves[i], b, c = 0, d;

		__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
		printf("test-guest: cpuid leaf=0x%x eax=0x%08x ebx=0x%08x ecx=0x%08x edx=0x%08x\n",
		       leaves[i], a, b, c, d);
	}
	return 0;
}

void guest_main(const struct hvm_start_info *si);

void guest_main(const struct hvm_start_info *si)
{
	const char *mode = "hello";
	uint32_t exit_status = 0, cpus = 2, echo = 0;
	char *p;

	uart_init();
	idt_init();
	printf("test-guest: hello\n");

	if (!si || si->magic != HVM_START_MAGIC) {
		printf("test-guest: bad start info at %p (magic 0x%08x)\n",
		       (const void *)si, si ? si->magic : 0);
		guest_exit(EXIT_USAGE);
	}
	if (si->cmdline_paddr && si->cmdline_paddr < 0x100000000ull) {
		const char *src = (const char *)(uintptr_t)si->cmdline_paddr;
		size_t i;

		for (i = 0; i < CMDLINE_MAX - 1 && src[i]; i++)
			cmdline[i] = src[i];
		cmdline[i] = '\0';
	}
	if (si->version >= 1 && si->memmap_paddr && si->memmap_entries &&
	    si->memmap_paddr < 0x100000000ull) {
		boot_memmap = (const struct hvm_memmap_entry *)
			(uintptr_t)si->memmap_paddr;
		boot_memmap_entries = si->memmap_entries;
	}
	printf("test-guest: cmdline=%s\n", cmdline);

	/* Split the command line in place into key=value words. */
	p = cmdline;
	while (*p) {
		char *word, *val;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		word = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		if (*p)
			*p++ = '\0';

		for (val = word; *val && *val != '='; val++)
			;
		if (!*val)
			usage_error("unknown argument", word);
		*val++ = '\0';

		if (!strcmp(word, "mode")) {
			mode = val;
		} else if (!strcmp(word, "exit")) {
			if (parse_u32(val, &exit_status) || exit_status > 255)
				usage_error("bad value for exit:", val);
		} else if (!strcmp(word, "cpus")) {
			if (parse_u32(val, &cpus) || !cpus || cpus > MAX_CPUS)
				usage_error("bad value for cpus:", val);
		} else if (!strcmp(word, "echo")) {
			if (parse_u32(val, &echo) || echo > 1)
				usage_error("bad value for echo:", val);
		} else {
			val[-1] = '=';
			usage_error("unknown argument", word);
		}
	}

	if (!strcmp(mode, "hello"))
		guest_exit((uint8_t)exit_status);
	if (!strcmp(mode, "memmap"))
		guest_exit(mode_memmap());
	if (!strcmp(mode, "smp"))
		guest_exit(mode_smp(cpus));
	if (!strcmp(mode, "irq"))
		guest_exit(mode_irq(echo));
	if (!strcmp(mode, "pci"))
		guest_exit(mode_pci());
	if (!strcmp(mode, "fault"))
		mode_fault();
	if (!strcmp(mode, "badmem"))
		guest_exit(mode_badmem());
	if (!strcmp(mode, "spin"))
		mode_spin();
	if (!strcmp(mode, "reset"))
		guest_exit(mode_reset());
	if (!strcmp(mode, "cpuid"))
		guest_exit(mode_cpuid());
	usage_error("unknown mode", mode);
}
