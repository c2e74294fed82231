/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MP table (Intel MultiProcessor Specification 1.4) for guests without ACPI.
 *
 * Placement: the floating pointer structure sits at BOOT_EBDA_START
 * (0x9FC00), inside the last KiB of conventional memory (639-640 KiB), one of
 * the areas Linux's smp_scan_config() searches (with the first KiB of
 * memory, the EBDA named by the BDA, and 0xF0000-0xFFFFF). The configuration
 * table follows it directly. The whole table must fit in the reserved area
 * [0x9FC00, 1 MiB) that e820_build() declares.
 *
 * Interrupt routing described:
 *  - ISA IRQ 0 (PIT) to IOAPIC pin 2, ISA IRQs 1 and 3-15 to the pin of the
 *    same number, edge / active high (conforming to the ISA bus). ISA IRQ 2
 *    is the 8259 cascade and has no line of its own. The VMM's GSI routing
 *    must send GSI 0 to IOAPIC pin 2 to match (as QEMU does).
 *  - PCI INTx: level-triggered, active-low, as the PCI bus defines them. KVM's
 *    in-kernel IOAPIC ignores the polarity bit of a redirection entry: a
 *    KVM_IRQ_LINE level of 1 always means asserted. So the VMM drives 1 for an
 *    asserted INTx# and the guest may program either polarity.
 *  - ExtINT (the 8259) to LINT0 and NMI to LINT1 of every local APIC.
 */
#define LOG_COMPONENT "boot"

#include "vmm/boot.h"

#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "vmm/irq.h"

#define MP_FLOAT_ADDR BOOT_EBDA_START
#define MP_CONFIG_ADDR (MP_FLOAT_ADDR + sizeof(struct mpf_intel))
#define MP_AREA_END BOOT_HIGH_MEM

#define MP_SPEC_REV 4
#define MP_LAPIC_ADDR 0xFEE00000u
#define MP_LAPIC_VERSION 0x14
#define MP_IOAPIC_ADDR 0xFEC00000u
#define MP_IOAPIC_VERSION 0x11
#define MP_MAX_CPUS 254 /* APIC IDs 0..n-1 and the IOAPIC's n stay below 0xFF */
#define MP_OEM_ID "NFVKIT  "
#define MP_PRODUCT_ID "NFVKIT      "

/* CPU signature: family 6, model 0, stepping 0; features: FPU and APIC. */
#define MP_CPU_SIGNATURE 0x600
#define MP_CPU_FEATURES 0x201

enum {
	MP_ENTRY_PROCESSOR = 0,
	MP_ENTRY_BUS = 1,
	MP_ENTRY_IOAPIC = 2,
	MP_ENTRY_IOINT = 3,
	MP_ENTRY_LINT = 4,
};

enum {
	MP_INT_VECTORED = 0,
	MP_INT_NMI = 1,
	MP_INT_EXTINT = 3,
};

#define MP_CPU_ENABLED 0x01
#define MP_CPU_BSP 0x02
#define MP_IOAPIC_ENABLED 0x01
/* Interrupt flags: polarity in bits 0-1, trigger mode in bits 2-3. */
#define MP_IRQ_CONFORMING 0x0
#define MP_IRQ_ACTIVE_LOW 0x3
#define MP_IRQ_LEVEL (0x3 << 2)

#define MP_BUS_PCI 0
#define MP_BUS_ISA 1
#define MP_ISA_IRQS 16
#define MP_LAPIC_ALL 0xFF

struct mpf_intel {
	char signature[4]; /* "_MP_" */
	uint32_t physptr;  /* configuration table */
	uint8_t length;	   /* in 16-byte units: 1 */
	uint8_t spec_rev;
	uint8_t checksum;
	uint8_t feature[5]; /* feature[0] = 0: a configuration table is present */
} __attribute__((packed));

struct mpc_table {
	char signature[4]; /* "PCMP" */
	uint16_t length;   /* base table, header included */
	uint8_t spec_rev;
	uint8_t checksum;
	char oem[8];
	char product[12];
	uint32_t oem_ptr;
	uint16_t oem_size;
	uint16_t entry_count;
	uint32_t lapic_addr;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type;
	uint8_t apic_id;
	uint8_t apic_ver;
	uint8_t cpu_flags;
	uint32_t signature;
	uint32_t features;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type;
	uint8_t bus_id;
	char bus_type[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type;
	uint8_t apic_id;
	uint8_t apic_ver;
	uint8_t flags;
	uint32_t addr;
} __attribute__((packed));

/* I/O interrupt and local interrupt entries share this layout. */
struct mpc_intsrc {
	uint8_t type;
	uint8_t irq_type;
	uint16_t irq_flags;
	uint8_t src_bus;
	uint8_t src_irq;
	uint8_t dst_apic;
	uint8_t dst_pin;
} __attribute__((packed));

_Static_assert(sizeof(struct mpf_intel) == 16, "MP floating pointer layout");
_Static_assert(sizeof(struct mpc_table) == 44, "MP configuration table header layout");
_Static_assert(sizeof(struct mpc_cpu) == 20, "MP processor entry layout");
_Static_assert(sizeof(struct mpc_bus) == 8 && sizeof(struct mpc_ioapic) == 8 &&
		       sizeof(struct mpc_intsrc) == 8,
	       "MP entry layout");

static uint8_t mp_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return (uint8_t)-sum;
}

/* Appends one entry to the table being built; the size was checked before. */
static uint8_t *mp_put(uint8_t *p, const void *entry, size_t len, uint16_t *count)
{
	memcpy(p, entry, len);
	(*count)++;
	return p + len;
}

static uint8_t *mp_put_irq(uint8_t *p, uint16_t *count, uint8_t type, uint8_t irq_type,
			   uint16_t flags, uint8_t bus, uint8_t src, uint8_t dst_apic,
			   uint8_t dst_pin)
{
	struct mpc_intsrc e = {
		.type = type,
		.irq_type = irq_type,
		.irq_flags = flags,
		.src_bus = bus,
		.src_irq = src,
		.dst_apic = dst_apic,
		.dst_pin = dst_pin,
	};

	return mp_put(p, &e, sizeof(e), count);
}

int mptable_write(const struct guest_mem *mem, unsigned int nr_cpus, const struct mp_pci_irq *pci,
		  unsigned int nr_pci)
{
	struct mpc_table *hdr;
	struct mpf_intel mpf;
	uint64_t table_len;
	uint16_t count = 0;
	uint8_t *base, *p;
	uint8_t ioapic_id;

	if (!mem || nr_cpus == 0 || nr_cpus > MP_MAX_CPUS || (nr_pci && !pci)) {
		log_err("MP table: invalid arguments (%u CPUs, %u PCI interrupts)", nr_cpus,
			nr_pci);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < nr_pci; i++) {
		if (pci[i].slot >= 32 || pci[i].pin < 1 || pci[i].pin > 4 ||
		    pci[i].gsi >= GSI_IOAPIC_PINS) {
			log_err("MP table: PCI slot %u pin %u to IOAPIC pin %u is out of range",
				pci[i].slot, pci[i].pin, pci[i].gsi);
			return -EINVAL;
		}
	}
	/* ISA IRQ 2 (the cascade) has no entry. */
	table_len = sizeof(struct mpc_table) + (uint64_t)nr_cpus * sizeof(struct mpc_cpu) +
		    2 * sizeof(struct mpc_bus) + sizeof(struct mpc_ioapic) +
		    (MP_ISA_IRQS - 1 + (uint64_t)nr_pci + 2) * sizeof(struct mpc_intsrc);
	if (table_len > MP_AREA_END - MP_CONFIG_ADDR || table_len > UINT16_MAX) {
		log_err("MP table of %llu bytes does not fit below 1 MiB",
			(unsigned long long)table_len);
		return -ENOSPC;
	}
	base = gm_translate(mem, MP_FLOAT_ADDR, sizeof(mpf) + table_len);
	if (!base) {
		log_err("MP table: no guest RAM at 0x%llx", MP_FLOAT_ADDR);
		return -EFAULT;
	}
	memset(base, 0, sizeof(mpf) + table_len);
	ioapic_id = (uint8_t)nr_cpus;

	p = base + sizeof(mpf) + sizeof(*hdr);
	for (unsigned int i = 0; i < nr_cpus; i++) {
		struct mpc_cpu cpu = {
			.type = MP_ENTRY_PROCESSOR,
			.apic_id = (uint8_t)i,
			.apic_ver = MP_LAPIC_VERSION,
			.cpu_flags = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0),
			.signature = MP_CPU_SIGNATURE,
			.features = MP_CPU_FEATURES,
		};

		p = mp_put(p, &cpu, sizeof(cpu), &count);
	}
	{
		struct mpc_bus pci_bus = { .type = MP_ENTRY_BUS, .bus_id = MP_BUS_PCI };
		struct mpc_bus isa_bus = { .type = MP_ENTRY_BUS, .bus_id = MP_BUS_ISA };
		struct mpc_ioapic ioapic = {
			.type = MP_ENTRY_IOAPIC,
			.apic_id = ioapic_id,
			.apic_ver = MP_IOAPIC_VERSION,
			.flags = MP_IOAPIC_ENABLED,
			.addr = MP_IOAPIC_ADDR,
		};

		memcpy(pci_bus.bus_type, "PCI   ", 6);
		memcpy(isa_bus.bus_type, "ISA   ", 6);
		p = mp_put(p, &pci_bus, sizeof(pci_bus), &count);
		p = mp_put(p, &isa_bus, sizeof(isa_bus), &count);
		p = mp_put(p, &ioapic, sizeof(ioapic), &count);
	}
	for (uint8_t irq = 0; irq < MP_ISA_IRQS; irq++) {
		if (irq == 2)
			continue;
		p = mp_put_irq(p, &count, MP_ENTRY_IOINT, MP_INT_VECTORED, MP_IRQ_CONFORMING,
			       MP_BUS_ISA, irq, ioapic_id, irq == 0 ? 2 : irq);
	}
	for (unsigned int i = 0; i < nr_pci; i++)
		p = mp_put_irq(p, &count, MP_ENTRY_IOINT, MP_INT_VECTORED,
			       MP_IRQ_LEVEL | MP_IRQ_ACTIVE_LOW, MP_BUS_PCI,
			       (uint8_t)(pci[i].slot << 2 | (pci[i].pin - 1)), ioapic_id,
			       pci[i].gsi);
	p = mp_put_irq(p, &count, MP_ENTRY_LINT, MP_INT_EXTINT, MP_IRQ_CONFORMING, MP_BUS_ISA, 0,
		       MP_LAPIC_ALL, 0);
	p = mp_put_irq(p, &count, MP_ENTRY_LINT, MP_INT_NMI, MP_IRQ_CONFORMING, MP_BUS_ISA, 0,
		       MP_LAPIC_ALL, 1);
	if ((uint64_t)(p - (base + sizeof(mpf))) != table_len)
		return -EFAULT; /* cannot happen: the size above counts every entry */

	hdr = (struct mpc_table *)(base + sizeof(mpf));
	memcpy(hdr->signature, "PCMP", 4);
	hdr->length = (uint16_t)table_len;
	hdr->spec_rev = MP_SPEC_REV;
	memcpy(hdr->oem, MP_OEM_ID, sizeof(hdr->oem));
	memcpy(hdr->product, MP_PRODUCT_ID, sizeof(hdr->product));
	hdr->entry_count = count;
	hdr->lapic_addr = MP_LAPIC_ADDR;
	hdr->checksum = mp_checksum((const uint8_t *)hdr, table_len);

	memset(&mpf, 0, sizeof(mpf));
	memcpy(mpf.signature, "_MP_", 4);
	mpf.physptr = (uint32_t)MP_CONFIG_ADDR;
	mpf.length = 1;
	mpf.spec_rev = MP_SPEC_REV;
	mpf.checksum = mp_checksum((const uint8_t *)&mpf, sizeof(mpf));
	memcpy(base, &mpf, sizeof(mpf));
	log_debug("MP table: %u CPUs, IOAPIC %u, %u PCI interrupts, %llu bytes at 0x%llx", nr_cpus,
		  ioapic_id, nr_pci, (unsigned long long)table_len, MP_FLOAT_ADDR);
	return 0;
}
