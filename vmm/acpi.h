/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ACPI for guests whose kernel ignores the MP table (Linux without
 * CONFIG_X86_MPPARSE, such as Debian's stock kernels): the tables that tell
 * it the CPUs, the IOAPIC, the interrupt overrides and the PCI host bridge,
 * and the one piece of ACPI fixed hardware they describe, the PM1 register
 * block (an ACPI mode that is always on, and power-off through S5).
 *
 * Tables (ACPI 6.3 layouts), in the BIOS area under 1 MiB, from ACPI_RSDP_ADDR
 * up, where Linux's acpi_find_root_pointer() scans for the RSDP:
 *   RSDP  revision 2, XSDT address, both checksums
 *   FACS  64 bytes, 64-byte aligned (no waking vector, no global lock owner)
 *   XSDT  -> FADT, MADT
 *   FADT  revision 6.3, not hardware-reduced: SCI on IRQ 9, PM1a event and
 *         control blocks at ACPI_PM_BASE, no PM timer, no GPE block, no SMI
 *         command port (the platform is always in ACPI mode); IA-PC boot
 *         flags: legacy devices and an 8042, no VGA, no CMOS RTC;
 *         -> FACS (FIRMWARE_CTRL) and DSDT (DSDT and X_DSDT)
 *   MADT  local APIC at 0xFEE00000, PCAT_COMPAT (the 8259s exist); one
 *         enabled Processor Local APIC per vCPU (UID = APIC ID = index);
 *         IOAPIC ID nr_cpus at 0xFEC00000, GSI base 0; interrupt source
 *         overrides ISA IRQ 0 -> GSI 2 (the PIT on IOAPIC pin 2, as the VMM's
 *         GSI routing does) and IRQ 9 -> GSI 9 level, active high (the SCI);
 *         LINT1 is NMI on every processor
 *   DSDT  \_SB.PCI0, the host bridge (PNP0A03) that Linux enumerates PCI
 *         through once ACPI is on: bus 0, config ports 0xCF8-0xCFF, the I/O
 *         and 32-bit memory windows of vmm/pci.h, and a _PRT with the INTx
 *         routes of the devices present; \_S5 for power-off
 *
 * Writes go through guestmem only; nothing here touches KVM.
 */
#ifndef NFV_VMM_ACPI_H
#define NFV_VMM_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#include "common/guestmem.h"
#include "common/util.h"
#include "vmm/boot.h"

/* The RSDP, on a 16-byte boundary inside the area Linux scans; tables follow it. */
#define ACPI_RSDP_ADDR 0xE0000ull
#define ACPI_AREA_END 0x100000ull

/* ISA IRQ (and GSI) of the System Control Interrupt. */
#define ACPI_SCI_IRQ 9

/*
 * PM1 register block (I/O ports): PM1a_EVT_BLK (status 16 bits, enable 16
 * bits) at ACPI_PM_BASE, PM1a_CNT_BLK (16 bits) right after it.
 */
#define ACPI_PM_BASE 0x600
#define ACPI_PM1_EVT_LEN 4
#define ACPI_PM1_CNT_LEN 2
#define ACPI_PM_LEN (ACPI_PM1_EVT_LEN + ACPI_PM1_CNT_LEN)
/* SLP_TYP value the DSDT's \_S5 gives: SLP_EN with it powers the VM off. */
#define ACPI_SLP_TYP_S5 5

#define ACPI_MAX_CPUS 254 /* APIC IDs 0..n-1 and the IOAPIC's n stay below 0xFF */

/*
 * Writes the tables for nr_cpus vCPUs and the PCI INTx routes in pci[]
 * (the MP table's list, see mptable_write()) into guest RAM, and sets
 * *rsdp_addr. Returns 0, -EINVAL (bad arguments), -ENOSPC (the tables do
 * not fit below 1 MiB) or -EFAULT (no RAM there).
 */
int __must_check acpi_write(const struct guest_mem *mem, unsigned int nr_cpus,
			    const struct mp_pci_irq *pci, unsigned int nr_pci, uint64_t *rsdp_addr);

/*
 * The PM1 register block. What a guest sees:
 *  - PM1_STS: write one to clear; no event ever sets a bit;
 *  - PM1_EN: the defined enable bits read back as written (so ACPICA finds
 *    GBL_EN "sticks"); no event is ever signalled;
 *  - PM1_CNT: SCI_EN reads 1 and cannot be cleared; SLP_TYP reads back;
 *    writing SLP_EN with SLP_TYP = ACPI_SLP_TYP_S5 calls `poweroff`, other
 *    sleep types are ignored (the DSDT declares none).
 * Accesses of 1, 2 or 4 bytes at any offset act on the bytes they cover;
 * bytes past the block read as all ones.
 *
 * Threads: the handler runs on vCPU threads; a mutex protects the registers
 * and `poweroff` is called after it is released.
 */
typedef void (*acpi_poweroff_fn)(void *arg);

struct acpi_pm;
struct acpi_pm *acpi_pm_new(acpi_poweroff_fn poweroff, void *arg);
void acpi_pm_free(struct acpi_pm *pm);
/* io_handler_fn for the range [ACPI_PM_BASE, ACPI_PM_BASE + ACPI_PM_LEN). */
void acpi_pm_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif /* NFV_VMM_ACPI_H */
