/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Boot loaders: put a kernel, its command line and initrd into guest RAM and
 * describe how the boot vCPU must start.
 *
 *  - PVH: an ELF (32- or 64-bit) with a XEN_ELFNOTE_PHYS32_ENTRY note. Its
 *    PT_LOAD segments go to their physical addresses; the vCPU starts in
 *    32-bit protected mode, paging off, at the note's entry with %ebx =
 *    address of struct hvm_start_info (command line, memory map, initrd as
 *    module 0), as QEMU and Firecracker do.
 *  - Linux bzImage: boot protocol 2.12 or later with XLF_KERNEL_64. The
 *    protected-mode kernel goes to 1 MiB, boot_params (the "zero page") gets
 *    the setup header, e820 map, command line and initrd; the vCPU starts in
 *    64-bit mode at the 64-bit entry (load address + 0x200) with %rsi =
 *    boot_params, identity-mapped page tables for the first 4 GiB and a GDT
 *    with __BOOT_CS = 0x10 and __BOOT_DS = 0x18.
 *
 * Nothing here touches KVM; every write to the guest goes through
 * guestmem and every field read from the image is bounds-checked.
 *
 * Low memory layout used by the loaders (guest-physical):
 *   0x00500  GDT (null, null, code 0x10, data 0x18)
 *   0x06000  hvm_start_info, then the PVH memory map and module list
 *   0x07000  boot_params (Linux zero page)
 *   0x08000  left free: trampoline page for guests that start APs
 *   0x09000  PML4, 0x0A000 PDPT, 0x0B000-0x0EFFF four page directories
 *            (2 MiB pages covering 0-4 GiB)
 *   0x20000  kernel command line (BOOT_CMDLINE_MAX bytes)
 *   0x9FC00-0xFFFFF  reserved:
 *     0x9FC00  MP table (floating pointer, then the configuration table;
 *              under 6 KiB even for 254 CPUs)
 *     0xE0000  ACPI: RSDP, then FACS, XSDT, FADT, MADT, DSDT (vmm/acpi.h)
 *   0x100000 kernel
 *   initrd   page-aligned, as high as allowed below the top of low RAM
 */
#ifndef NFV_VMM_BOOT_H
#define NFV_VMM_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "common/guestmem.h"
#include "common/util.h"

#define BOOT_GDT_ADDR 0x500ull
#define BOOT_START_INFO_ADDR 0x6000ull
#define BOOT_ZERO_PAGE_ADDR 0x7000ull
#define BOOT_TRAMPOLINE_ADDR 0x8000ull
#define BOOT_PML4_ADDR 0x9000ull
#define BOOT_CMDLINE_ADDR 0x20000ull
#define BOOT_CMDLINE_MAX 4096
#define BOOT_EBDA_START 0x9FC00ull
#define BOOT_HIGH_MEM 0x100000ull

#define BOOT_CS_SELECTOR 0x10
#define BOOT_DS_SELECTOR 0x18

/* e820 entry types (also the PVH memmap types). */
#define E820_RAM 1
#define E820_RESERVED 2
#define E820_MAX_ENTRIES 128

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

/*
 * The platform's memory map from the RAM regions: RAM 0-0x9FC00, reserved
 * 0x9FC00-0x100000, RAM from 1 MiB to the top of low RAM, reserved for
 * the PCI hole's fixed devices (IOAPIC 0xFEC00000, LAPIC 0xFEE00000) and RAM
 * above 4 GiB. Returns the number of entries or -errno.
 */
int __must_check e820_build(const struct guest_mem *mem, struct e820_entry *out,
			    unsigned int max);

enum boot_kind {
	BOOT_KIND_PVH,
	BOOT_KIND_BZIMAGE,
};

struct boot_input {
	const struct guest_mem *mem;
	const uint8_t *kernel;
	size_t kernel_len;
	const uint8_t *initrd; /* may be NULL */
	size_t initrd_len;
	const char *cmdline; /* may be NULL */
	/*
	 * Guest-physical address of the ACPI RSDP, 0 for none: PVH puts it in
	 * hvm_start_info.rsdp_paddr, bzImage in boot_params.acpi_rsdp_addr
	 * (boot protocol 2.14 and later; older kernels scan for it).
	 */
	uint64_t rsdp_addr;
};

/* How the boot vCPU starts. */
struct boot_entry {
	enum boot_kind kind;
	uint64_t rip;
	uint64_t rbx;   /* PVH: hvm_start_info address */
	uint64_t rsi;   /* bzImage: boot_params address */
	uint64_t cr3;   /* bzImage: PML4 address; 0 for PVH (paging off) */
	uint64_t gdt_base;
	uint16_t gdt_limit;
	bool long_mode; /* 64-bit entry: CR0.PG, CR4.PAE, EFER.LME/LMA, CS.L */
};

/*
 * Detects the image kind (ELF with a PVH note, or bzImage), loads it and
 * fills `entry`. On failure returns -errno and writes one human-readable
 * line to err ("not an ELF with a PVH entry note, nor a bzImage (no HdrS
 * magic)", "kernel segment 0x..-0x.. lies outside guest RAM", ...).
 */
int __must_check boot_load(const struct boot_input *in, struct boot_entry *entry, char *err,
			   size_t err_len);

/* The individual loaders, for tests. Same contract as boot_load(). */
int __must_check boot_load_pvh(const struct boot_input *in, struct boot_entry *entry, char *err,
			       size_t err_len);
int __must_check boot_load_bzimage(const struct boot_input *in, struct boot_entry *entry,
				   char *err, size_t err_len);
/* 1 when the image looks like an ELF with a PVH note, 0 otherwise. */
int boot_is_pvh(const uint8_t *img, size_t len);
/* 1 when the image has the bzImage "HdrS" header, 0 otherwise. */
int boot_is_bzimage(const uint8_t *img, size_t len);

/*
 * MP table (Intel MultiProcessor Specification 1.4) for guests without ACPI:
 * floating pointer and configuration table in the reserved area under 1 MiB,
 * one processor entry per vCPU (APIC IDs 0..n-1, CPU 0 the BSP), buses
 * ISA and PCI, the IOAPIC (ID n, 0xFEC00000), ISA IRQs 0-15 to IOAPIC pins
 * (IRQ 0 to pin 2), and one entry per PCI device that uses INTx.
 */
struct mp_pci_irq {
	uint8_t slot;
	uint8_t pin; /* 1 = INTA# */
	uint8_t gsi; /* IOAPIC pin */
};

int __must_check mptable_write(const struct guest_mem *mem, unsigned int nr_cpus,
			       const struct mp_pci_irq *pci, unsigned int nr_pci);

/*
 * Helpers shared by the two loaders (vmm/boot.c); not meant for other
 * callers. All return 0 or -errno and write one line to err on failure.
 */

/* Formats one line into err (if err and err_len are non-zero). */
void boot_set_err(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* End of the RAM region that starts at gpa 0, capped at 4 GiB; 0 if there is none. */
uint64_t boot_low_ram_top(const struct guest_mem *mem);
/*
 * Writes the command line (NULL = empty) NUL-terminated at BOOT_CMDLINE_ADDR;
 * refuses one longer than max_len bytes (without the NUL) or than the area.
 */
int __must_check boot_write_cmdline(const struct guest_mem *mem, const char *cmdline,
				    uint64_t max_len, char *err, size_t err_len);
/*
 * Copies the initrd to the highest page-aligned address at or above `floor`
 * whose last byte is below `ceiling`; its address goes to *addr.
 */
int __must_check boot_place_initrd(const struct guest_mem *mem, const uint8_t *initrd, size_t len,
				   uint64_t floor, uint64_t ceiling, uint64_t *addr, char *err,
				   size_t err_len);
/*
 * Writes the 4-entry GDT (null, null, code at BOOT_CS_SELECTOR, data at
 * BOOT_DS_SELECTOR) at BOOT_GDT_ADDR and sets entry->gdt_base/gdt_limit.
 */
int __must_check boot_write_gdt(const struct guest_mem *mem, uint64_t code_desc, uint64_t data_desc,
				struct boot_entry *entry, char *err, size_t err_len);

#endif /* NFV_VMM_BOOT_H */
