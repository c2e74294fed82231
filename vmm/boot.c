/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Boot loading, common part: the platform's e820 memory map, the dispatch
 * between the PVH and bzImage loaders, and the helpers both share (command
 * line, initrd placement, GDT).
 *
 * The e820 map describes:
 *   RAM       [0, 0x9FC00)                 conventional memory
 *   reserved  [0x9FC00, 0x100000)          EBDA (MP table), VGA hole, BIOS area
 *                                          (ACPI tables from 0xE0000)
 *   RAM       [1 MiB, end of region 0)     region 0 is the RAM that starts at 0
 *   reserved  [0xFEC00000, +4 KiB)         IOAPIC
 *   reserved  [0xFEE00000, +4 KiB)         local APIC
 *   RAM       every other region           (normally above 4 GiB)
 * The two APIC windows are listed as reserved so that a guest never places
 * anything there (real firmware does the same); a RAM region that overlaps
 * them is refused.
 */
#define LOG_COMPONENT "boot"

#include "vmm/boot.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"

#define E820_IOAPIC_BASE 0xFEC00000ull
#define E820_LAPIC_BASE 0xFEE00000ull
#define E820_APIC_SIZE 0x1000ull
#define BOOT_PAGE_SIZE 4096ull
#define BOOT_LOW_RAM_LIMIT (4 * GiB)

/* Upper bound of what e820_build() emits before it copies to `out`. */
#define E820_BUILD_MAX (5 + GM_MAX_REGIONS)

void boot_set_err(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !err_len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

static void e820_add(struct e820_entry *tab, unsigned int *n, uint64_t addr, uint64_t size,
		     uint32_t type)
{
	tab[(*n)++] = (struct e820_entry){ .addr = addr, .size = size, .type = type };
}

int e820_build(const struct guest_mem *mem, struct e820_entry *out, unsigned int max)
{
	struct e820_entry tab[E820_BUILD_MAX];
	const struct gm_region *low;
	unsigned int n = 0;

	if (!mem || !out || mem->nr_regions == 0 || mem->nr_regions > GM_MAX_REGIONS)
		return -EINVAL;
	low = &mem->regions[0];
	if (low->gpa != 0 || low->size < BOOT_HIGH_MEM)
		return -EINVAL;

	e820_add(tab, &n, 0, BOOT_EBDA_START, E820_RAM);
	e820_add(tab, &n, BOOT_EBDA_START, BOOT_HIGH_MEM - BOOT_EBDA_START, E820_RESERVED);
	if (low->size > BOOT_HIGH_MEM)
		e820_add(tab, &n, BOOT_HIGH_MEM, low->size - BOOT_HIGH_MEM, E820_RAM);
	e820_add(tab, &n, E820_IOAPIC_BASE, E820_APIC_SIZE, E820_RESERVED);
	e820_add(tab, &n, E820_LAPIC_BASE, E820_APIC_SIZE, E820_RESERVED);
	for (unsigned int i = 1; i < mem->nr_regions; i++)
		e820_add(tab, &n, mem->regions[i].gpa, mem->regions[i].size, E820_RAM);

	/* Sort by address (insertion sort, a dozen entries at most). */
	for (unsigned int i = 1; i < n; i++) {
		struct e820_entry e = tab[i];
		unsigned int j = i;

		while (j > 0 && tab[j - 1].addr > e.addr) {
			tab[j] = tab[j - 1];
			j--;
		}
		tab[j] = e;
	}
	/* guestmem keeps regions disjoint; this catches RAM over the APIC windows. */
	for (unsigned int i = 1; i < n; i++) {
		if (tab[i - 1].size > tab[i].addr - tab[i - 1].addr)
			return -EINVAL;
	}
	if (n > max)
		return -ENOSPC;
	memcpy(out, tab, n * sizeof(tab[0]));
	return (int)n;
}

uint64_t boot_low_ram_top(const struct guest_mem *mem)
{
	const struct gm_region *r = gm_find(mem, 0);

	if (!r)
		return 0;
	return MIN(r->gpa + r->size, BOOT_LOW_RAM_LIMIT);
}

int boot_write_cmdline(const struct guest_mem *mem, const char *cmdline, uint64_t max_len,
		       char *err, size_t err_len)
{
	size_t len;

	if (!cmdline)
		cmdline = "";
	len = strnlen(cmdline, BOOT_CMDLINE_MAX);
	if (len >= BOOT_CMDLINE_MAX) {
		boot_set_err(err, err_len, "kernel command line is too long (limit %d bytes)",
			     BOOT_CMDLINE_MAX - 1);
		return -E2BIG;
	}
	if (len > max_len) {
		boot_set_err(err, err_len,
			     "kernel command line is %zu bytes, the kernel accepts at most %llu",
			     len, (unsigned long long)max_len);
		return -E2BIG;
	}
	if (gm_write(mem, BOOT_CMDLINE_ADDR, cmdline, len + 1)) {
		boot_set_err(err, err_len, "no guest RAM for the command line at 0x%llx",
			     BOOT_CMDLINE_ADDR);
		return -EFAULT;
	}
	return 0;
}

int boot_place_initrd(const struct guest_mem *mem, const uint8_t *initrd, size_t len,
		      uint64_t floor, uint64_t ceiling, uint64_t *addr, char *err, size_t err_len)
{
	uint64_t lo, at;

	if (!initrd || !len || !addr)
		return -EINVAL;
	/* floor and ceiling are guest addresses well below 2^63: no overflow. */
	lo = ALIGN_UP(floor, BOOT_PAGE_SIZE);
	if (ceiling < len || ALIGN_DOWN(ceiling - len, BOOT_PAGE_SIZE) < lo) {
		boot_set_err(err, err_len,
			     "initrd of %zu bytes does not fit in low RAM between the kernel end "
			     "0x%llx and 0x%llx",
			     len, (unsigned long long)lo, (unsigned long long)ceiling);
		return -ENOSPC;
	}
	at = ALIGN_DOWN(ceiling - len, BOOT_PAGE_SIZE);
	if (gm_write(mem, at, initrd, len)) {
		boot_set_err(err, err_len, "initrd at 0x%llx-0x%llx lies outside guest RAM",
			     (unsigned long long)at, (unsigned long long)(at + len));
		return -EFAULT;
	}
	*addr = at;
	return 0;
}

int boot_write_gdt(const struct guest_mem *mem, uint64_t code_desc, uint64_t data_desc,
		   struct boot_entry *entry, char *err, size_t err_len)
{
	uint64_t gdt[4] = { 0, 0, code_desc, data_desc };

	_Static_assert(BOOT_CS_SELECTOR == 2 * 8 && BOOT_DS_SELECTOR == 3 * 8,
		       "GDT slots and selectors disagree");
	if (gm_write(mem, BOOT_GDT_ADDR, gdt, sizeof(gdt))) {
		boot_set_err(err, err_len, "no guest RAM for the GDT at 0x%llx", BOOT_GDT_ADDR);
		return -EFAULT;
	}
	entry->gdt_base = BOOT_GDT_ADDR;
	entry->gdt_limit = sizeof(gdt) - 1;
	return 0;
}

int boot_load(const struct boot_input *in, struct boot_entry *entry, char *err, size_t err_len)
{
	if (!in || !entry || !in->mem || !in->kernel) {
		boot_set_err(err, err_len, "no kernel image given");
		return -EINVAL;
	}
	/* An ELF goes to the PVH loader even without a note, for its precise error. */
	if (in->kernel_len >= 4 && memcmp(in->kernel, "\177ELF", 4) == 0)
		return boot_load_pvh(in, entry, err, err_len);
	if (boot_is_bzimage(in->kernel, in->kernel_len))
		return boot_load_bzimage(in, entry, err, err_len);
	boot_set_err(err, err_len,
		     "kernel image (%zu bytes) is not an ELF with a PVH entry note, nor a bzImage "
		     "(no HdrS magic)",
		     in->kernel_len);
	return -ENOEXEC;
}
