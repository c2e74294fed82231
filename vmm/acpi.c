/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ACPI tables and the PM1 register block (see acpi.h for what a guest sees).
 *
 * Why a full, not hardware-reduced, FADT: with HW_REDUCED_ACPI Linux drops
 * the 8259 and the PIT (x86 acpi_reduced_hw_init()), which this platform
 * has and the guest's timer set-up relies on. A full FADT needs the PM1a
 * event and control blocks (ACPICA refuses to start its event handling
 * without them, and then disables ACPI altogether), so nfv-vmm implements
 * those few registers; the PM timer and GPE blocks are optional since ACPI
 * 5.0A and are left out. SMI_CMD is 0: the platform is always in ACPI mode
 * and SCI_EN always reads 1.
 *
 * Why a DSDT with a PCI host bridge: once ACPI is on, Linux enumerates PCI
 * only through the host bridges the namespace declares (no legacy probing),
 * and routes INTx through _PRT.
 *
 * Layout, from ACPI_RSDP_ADDR: RSDP, FACS (64-byte aligned), XSDT, FADT,
 * MADT, DSDT, each on a 16-byte boundary, all below ACPI_AREA_END, inside
 * the reserved e820 range [0x9FC00, 1 MiB) and clear of the MP table, which
 * starts at 0x9FC00 and takes under 6 KiB even for 254 CPUs.
 *
 * Threads: acpi_write() runs once, on the main thread, before the vCPUs
 * start; acpi_pm_io() runs on vCPU threads under the block's mutex.
 */
#define LOG_COMPONENT "acpi"

#include "vmm/acpi.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "vmm/irq.h"
#include "vmm/pci.h"

#define ACPI_OEM_ID "NFVKIT"
#define ACPI_OEM_TABLE_ID "NFVVMM  "
#define ACPI_OEM_REVISION 1
#define ACPI_CREATOR_ID "NFVK"
#define ACPI_CREATOR_REVISION 1

#define ACPI_LAPIC_ADDR 0xFEE00000u
#define ACPI_IOAPIC_ADDR 0xFEC00000u

/* ---- Table layouts (ACPI 6.3, chapter 5.2) ---- */

struct acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	uint8_t checksum;  /* over the first 20 bytes (the ACPI 1.0 part) */
	char oem_id[6];
	uint8_t revision; /* 2: ACPI 2.0 and later */
	uint32_t rsdt_addr;
	uint32_t length;
	uint64_t xsdt_addr;
	uint8_t ext_checksum; /* over all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));

#define ACPI_RSDP_V1_LEN 20

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

/* Generic Address Structure. */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));

#define ACPI_GAS_SYSTEM_IO 1
#define ACPI_GAS_ACCESS_WORD 2

struct acpi_fadt {
	struct acpi_header hdr;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	char hypervisor_vendor_id[8];
} __attribute__((packed));

#define ACPI_FADT_REVISION 6
#define ACPI_FADT_MINOR_VERSION 3
/* FADT flags. */
#define ACPI_FADT_WBINVD (1u << 0)
#define ACPI_FADT_PROC_C1 (1u << 2)
#define ACPI_FADT_PWR_BUTTON (1u << 4) /* no fixed power button */
#define ACPI_FADT_SLP_BUTTON (1u << 5) /* no fixed sleep button */
#define ACPI_FADT_FIX_RTC (1u << 6)    /* no RTC wake status */
/* IA-PC boot architecture flags. */
#define ACPI_IAPC_LEGACY_DEVICES (1u << 0)
#define ACPI_IAPC_8042 (1u << 1)
#define ACPI_IAPC_VGA_NOT_PRESENT (1u << 2)
#define ACPI_IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)

struct acpi_facs {
	char signature[4]; /* "FACS" */
	uint32_t length;
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version;
	uint8_t reserved0[3];
	uint32_t ospm_flags;
	uint8_t reserved1[24];
} __attribute__((packed));

#define ACPI_FACS_VERSION 2
#define ACPI_FACS_ALIGN 64

struct acpi_madt {
	struct acpi_header hdr;
	uint32_t lapic_addr;
	uint32_t flags;
} __attribute__((packed));

#define ACPI_MADT_REVISION 5
#define ACPI_MADT_PCAT_COMPAT 1u

enum {
	MADT_LAPIC = 0,
	MADT_IOAPIC = 1,
	MADT_INT_SRC_OVR = 2,
	MADT_LAPIC_NMI = 4,
};

struct madt_lapic {
	uint8_t type;
	uint8_t length;
	uint8_t uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));

#define MADT_LAPIC_ENABLED 1u

struct madt_ioapic {
	uint8_t type;
	uint8_t length;
	uint8_t id;
	uint8_t reserved;
	uint32_t addr;
	uint32_t gsi_base;
} __attribute__((packed));

struct madt_int_src_ovr {
	uint8_t type;
	uint8_t length;
	uint8_t bus; /* 0: ISA */
	uint8_t source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));

struct madt_lapic_nmi {
	uint8_t type;
	uint8_t length;
	uint8_t uid; /* 0xFF: every processor */
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

/* MPS INTI flags: polarity bits 0-1, trigger mode bits 2-3. */
#define MPS_INTI_CONFORMING 0x0
#define MPS_INTI_ACTIVE_HIGH 0x1
#define MPS_INTI_LEVEL (0x3 << 2)
#define MADT_ALL_PROCESSORS 0xFF

_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP layout");
_Static_assert(sizeof(struct acpi_header) == 36, "table header layout");
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS layout");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT layout");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT layout");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT layout");
_Static_assert(offsetof(struct acpi_fadt, hypervisor_vendor_id) == 268, "FADT layout");
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS layout");
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT layout");
_Static_assert(sizeof(struct madt_lapic) == 8 && sizeof(struct madt_ioapic) == 12 &&
		       sizeof(struct madt_int_src_ovr) == 10 && sizeof(struct madt_lapic_nmi) == 6,
	       "MADT entry layout");

/* ---- PM1 registers (ACPI 6.3, 4.8.3.1 and 4.8.3.2) ---- */

#define PM1_STS_OFF 0
#define PM1_EN_OFF 2
#define PM1_CNT_OFF 4
_Static_assert(PM1_CNT_OFF == ACPI_PM1_EVT_LEN, "PM1 control block follows the event block");

/* PM1_EN bits that exist: TMR, GBL, PWRBTN, SLPBTN, RTC, PCIEXP_WAKE_DIS. */
#define PM1_EN_MASK 0x4721u
#define PM1_CNT_SCI_EN (1u << 0)
#define PM1_CNT_BM_RLD (1u << 1)
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_TYP (7u << PM1_CNT_SLP_TYP_SHIFT)
#define PM1_CNT_SLP_EN (1u << 13)
/* Bits that read back as written; GBL_RLS and SLP_EN are write-only. */
#define PM1_CNT_RW_MASK (PM1_CNT_BM_RLD | PM1_CNT_SLP_TYP)

/* ---- AML (ACPI 6.3, chapter 20) ---- */

#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0A
#define AML_WORD_PREFIX 0x0B
#define AML_DWORD_PREFIX 0x0C
#define AML_QWORD_PREFIX 0x0E
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_EXT_OP_PREFIX 0x5B
#define AML_DEVICE_OP 0x82 /* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR '\\'

#define AML_MAX_DEPTH 8
#define AML_PKG_LEN_RESERVE 4 /* the longest PkgLength encoding */
#define AML_MAX_PKG_LEN (1u << 28)
#define ACPI_DSDT_MAX 8192

/* Builds AML into a fixed buffer; an overflow is remembered and reported once at the end. */
struct aml {
	uint8_t *buf;
	size_t len;
	size_t cap;
	bool overflow;
	size_t open[AML_MAX_DEPTH]; /* where each open package's PkgLength goes */
	unsigned int depth;
};

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || n > a->cap - a->len) {
		a->overflow = true;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

/* One NameSeg: up to four characters, padded with '_'. */
static void aml_name_seg(struct aml *a, const char *name)
{
	char seg[4] = { '_', '_', '_', '_' };

	for (unsigned int i = 0; i < 4 && name[i]; i++)
		seg[i] = name[i];
	aml_bytes(a, seg, sizeof(seg));
}

/* The shortest encoding of an integer constant. */
static void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, AML_ZERO_OP);
	} else if (v == 1) {
		aml_byte(a, AML_ONE_OP);
	} else if (v <= UINT8_MAX) {
		aml_byte(a, AML_BYTE_PREFIX);
		aml_le(a, v, 1);
	} else if (v <= UINT16_MAX) {
		aml_byte(a, AML_WORD_PREFIX);
		aml_le(a, v, 2);
	} else if (v <= UINT32_MAX) {
		aml_byte(a, AML_DWORD_PREFIX);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		aml_le(a, v, 8);
	}
}

/* EISAID("PNP0A03"): three letters of five bits, four hex digits, stored big-endian. */
static void aml_eisaid(struct aml *a, const char id[7])
{
	static const char hex[] = "0123456789ABCDEF";
	uint32_t v = (uint32_t)((id[0] - '@') & 0x1f) << 26 |
		     (uint32_t)((id[1] - '@') & 0x1f) << 21 |
		     (uint32_t)((id[2] - '@') & 0x1f) << 16;

	for (unsigned int i = 3; i < 7; i++) {
		const char *d = strchr(hex, id[i]);

		v |= (uint32_t)(d ? d - hex : 0) << (4 * (6 - i));
	}
	aml_byte(a, AML_DWORD_PREFIX);
	aml_le(a, __builtin_bswap32(v), 4);
}

/* Starts a package-length-prefixed object: opcode bytes, then room for the PkgLength. */
static void aml_open(struct aml *a, const uint8_t *op, size_t op_len)
{
	static const uint8_t reserve[AML_PKG_LEN_RESERVE];

	aml_bytes(a, op, op_len);
	if (a->depth >= AML_MAX_DEPTH)
		a->overflow = true;
	if (a->overflow)
		return;
	a->open[a->depth++] = a->len;
	aml_bytes(a, reserve, sizeof(reserve));
}

/* Ends the innermost open object: writes its PkgLength and closes the gap left for it. */
static void aml_close(struct aml *a)
{
	size_t at, body, total;
	unsigned int n;

	if (a->overflow || a->depth == 0) {
		a->overflow = true;
		return;
	}
	at = a->open[--a->depth];
	body = a->len - (at + AML_PKG_LEN_RESERVE);
	/* The PkgLength counts its own bytes: one byte up to 63, else 12, 20 or 28 bits. */
	if (body + 1 <= 63)
		n = 1;
	else if (body + 2 < (1u << 12))
		n = 2;
	else if (body + 3 < (1u << 20))
		n = 3;
	else if (body + 4 < AML_MAX_PKG_LEN)
		n = 4;
	else
		n = 0;
	if (!n) {
		a->overflow = true;
		return;
	}
	total = body + n;
	if (n == 1) {
		a->buf[at] = (uint8_t)total;
	} else {
		a->buf[at] = (uint8_t)((n - 1) << 6 | (total & 0x0f));
		for (unsigned int i = 1; i < n; i++)
			a->buf[at + i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	memmove(a->buf + at + n, a->buf + at + AML_PKG_LEN_RESERVE, body);
	a->len -= AML_PKG_LEN_RESERVE - n;
}

static void aml_scope_open(struct aml *a, const char *root_seg)
{
	static const uint8_t op = AML_SCOPE_OP;

	aml_open(a, &op, 1);
	aml_byte(a, AML_ROOT_CHAR);
	aml_name_seg(a, root_seg);
}

static void aml_device_open(struct aml *a, const char *seg)
{
	static const uint8_t op[] = { AML_EXT_OP_PREFIX, AML_DEVICE_OP };

	aml_open(a, op, sizeof(op));
	aml_name_seg(a, seg);
}

/* Name(seg, ...): the value follows. */
static void aml_name(struct aml *a, const char *seg)
{
	aml_byte(a, AML_NAME_OP);
	aml_name_seg(a, seg);
}

static void aml_package_open(struct aml *a, uint8_t nr_elements)
{
	static const uint8_t op = AML_PACKAGE_OP;

	aml_open(a, &op, 1);
	aml_byte(a, nr_elements);
}

static void aml_buffer(struct aml *a, const uint8_t *data, size_t len)
{
	static const uint8_t op = AML_BUFFER_OP;

	aml_open(a, &op, 1);
	aml_integer(a, len);
	aml_bytes(a, data, len);
	aml_close(a);
}

/* ---- Resource descriptors for _CRS (ACPI 6.3, 6.4) ---- */

#define RES_IO_PORT 0x47 /* small item: I/O port descriptor, 7 bytes */
#define RES_IO_DECODE16 0x01
#define RES_END_TAG 0x79    /* small item: end tag, 1 byte */
#define RES_DWORD_ADDR 0x87 /* large item: DWord address space */
#define RES_WORD_ADDR 0x88  /* large item: Word address space */
#define RES_TYPE_MEMORY 0
#define RES_TYPE_IO 1
#define RES_TYPE_BUS 2
#define RES_FLAGS_FIXED 0x0C /* _MIF | _MAF, positive decode, producer */
#define RES_IO_ENTIRE_RANGE 0x03
#define RES_MEM_READ_WRITE 0x01 /* non-cacheable */
#define RES_MAX 128

struct res {
	uint8_t buf[RES_MAX];
	size_t len;
};

static void res_le(struct res *r, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		r->buf[r->len++] = (uint8_t)(v >> (8 * i));
}

/* Word or DWord address space descriptor for [min, max], producer, fixed. */
static void res_addr(struct res *r, unsigned int width, uint8_t type, uint8_t type_flags,
		     uint64_t min, uint64_t max)
{
	r->buf[r->len++] = width == 2 ? RES_WORD_ADDR : RES_DWORD_ADDR;
	res_le(r, 3 + 5 * width, 2); /* type, flags, type flags, then five fields */
	r->buf[r->len++] = type;
	r->buf[r->len++] = RES_FLAGS_FIXED;
	r->buf[r->len++] = type_flags;
	res_le(r, 0, width); /* granularity */
	res_le(r, min, width);
	res_le(r, max, width);
	res_le(r, 0, width);		 /* translation offset */
	res_le(r, max - min + 1, width); /* length */
}

/* _CRS of the host bridge: bus 0, the config ports, the I/O and memory windows. */
static void pci0_crs(struct res *r)
{
	r->len = 0;
	res_addr(r, 2, RES_TYPE_BUS, 0, 0, 0);
	r->buf[r->len++] = RES_IO_PORT;
	r->buf[r->len++] = RES_IO_DECODE16;
	res_le(r, PCI_CONFIG_ADDR_PORT, 2);
	res_le(r, PCI_CONFIG_ADDR_PORT, 2);
	r->buf[r->len++] = 1; /* alignment */
	r->buf[r->len++] = 8; /* 0xCF8-0xCFF */
	res_addr(r, 2, RES_TYPE_IO, RES_IO_ENTIRE_RANGE, 0, PCI_CONFIG_ADDR_PORT - 1);
	res_addr(r, 2, RES_TYPE_IO, RES_IO_ENTIRE_RANGE, PCI_CONFIG_ADDR_PORT + 8,
		 PCI_IO_WINDOW_END - 1);
	res_addr(r, 4, RES_TYPE_MEMORY, RES_MEM_READ_WRITE, PCI_MMIO_WINDOW_BASE,
		 PCI_MMIO_WINDOW_END - 1);
	r->buf[r->len++] = RES_END_TAG;
	r->buf[r->len++] = 0; /* checksum 0: not checked */
}

/* The DSDT's body; returns its length in a->len, or a->overflow. */
static void dsdt_body(struct aml *a, const struct mp_pci_irq *pci, unsigned int nr_pci)
{
	struct res crs;

	aml_scope_open(a, "_SB");
	aml_device_open(a, "PCI0");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A03");
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_name(a, "_CRS");
	pci0_crs(&crs);
	aml_buffer(a, crs.buf, crs.len);
	/* _PRT: Package { Package { slot << 16 | 0xFFFF, pin (0 = INTA#), 0, GSI }, ... } */
	aml_name(a, "_PRT");
	aml_package_open(a, (uint8_t)nr_pci);
	for (unsigned int i = 0; i < nr_pci; i++) {
		aml_package_open(a, 4);
		aml_integer(a, (uint64_t)pci[i].slot << 16 | 0xFFFF);
		aml_integer(a, pci[i].pin - 1u);
		aml_integer(a, 0);
		aml_integer(a, pci[i].gsi);
		aml_close(a);
	}
	aml_close(a); /* _PRT */
	aml_close(a); /* PCI0 */
	aml_close(a); /* \_SB */

	/* \_S5: SLP_TYPa, SLP_TYPb, reserved, reserved. */
	aml_name(a, "_S5");
	aml_package_open(a, 4);
	aml_integer(a, ACPI_SLP_TYP_S5);
	aml_integer(a, ACPI_SLP_TYP_S5);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_close(a);
}

/* ---- Tables ---- */

static uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return (uint8_t)-sum;
}

static void acpi_header_init(struct acpi_header *h, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, ACPI_OEM_ID, sizeof(h->oem_id));
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, sizeof(h->oem_table_id));
	h->oem_revision = ACPI_OEM_REVISION;
	memcpy(h->creator_id, ACPI_CREATOR_ID, sizeof(h->creator_id));
	h->creator_revision = ACPI_CREATOR_REVISION;
}

/* Sets the checksum of the table at img + off (its header gives the length). */
static void acpi_table_sum(uint8_t *img, size_t off)
{
	struct acpi_header *h = (struct acpi_header *)(img + off);

	h->checksum = 0;
	h->checksum = acpi_checksum(img + off, h->length);
}

static struct acpi_gas acpi_io_gas(uint16_t port, uint8_t bytes)
{
	return (struct acpi_gas){
		.space_id = ACPI_GAS_SYSTEM_IO,
		.bit_width = (uint8_t)(8 * bytes),
		.access_size = ACPI_GAS_ACCESS_WORD,
		.address = port,
	};
}

static void fadt_fill(struct acpi_fadt *f, uint32_t facs, uint32_t dsdt)
{
	acpi_header_init(&f->hdr, "FACP", sizeof(*f), ACPI_FADT_REVISION);
	f->minor_version = ACPI_FADT_MINOR_VERSION;
	/* One FACS pointer only: X_FIRMWARE_CTRL must be 0 when FIRMWARE_CTRL is set. */
	f->firmware_ctrl = facs;
	f->dsdt = dsdt;
	f->x_dsdt = dsdt;
	f->sci_int = ACPI_SCI_IRQ;
	f->pm1a_evt_blk = ACPI_PM_BASE + PM1_STS_OFF;
	f->pm1_evt_len = ACPI_PM1_EVT_LEN;
	f->x_pm1a_evt_blk = acpi_io_gas(ACPI_PM_BASE + PM1_STS_OFF, ACPI_PM1_EVT_LEN);
	f->pm1a_cnt_blk = ACPI_PM_BASE + PM1_CNT_OFF;
	f->pm1_cnt_len = ACPI_PM1_CNT_LEN;
	f->x_pm1a_cnt_blk = acpi_io_gas(ACPI_PM_BASE + PM1_CNT_OFF, ACPI_PM1_CNT_LEN);
	/* C2/C3 latencies above 100 and 1000 us say "not supported". */
	f->p_lvl2_lat = 101;
	f->p_lvl3_lat = 1001;
	f->iapc_boot_arch = ACPI_IAPC_LEGACY_DEVICES | ACPI_IAPC_8042 | ACPI_IAPC_VGA_NOT_PRESENT |
			    ACPI_IAPC_CMOS_RTC_NOT_PRESENT;
	f->flags = ACPI_FADT_WBINVD | ACPI_FADT_PROC_C1 | ACPI_FADT_PWR_BUTTON |
		   ACPI_FADT_SLP_BUTTON | ACPI_FADT_FIX_RTC;
	memcpy(f->hypervisor_vendor_id, ACPI_OEM_ID, strlen(ACPI_OEM_ID));
}

static size_t madt_fill(uint8_t *p, unsigned int nr_cpus)
{
	struct acpi_madt *m = (struct acpi_madt *)p;
	size_t off = sizeof(*m);
	struct madt_ioapic ioapic = {
		.type = MADT_IOAPIC,
		.length = sizeof(ioapic),
		.id = (uint8_t)nr_cpus,
		.addr = ACPI_IOAPIC_ADDR,
		.gsi_base = 0,
	};
	/* The PIT (ISA IRQ 0) is on IOAPIC pin 2; the SCI is level-triggered. */
	struct madt_int_src_ovr ovr[] = {
		{ MADT_INT_SRC_OVR, sizeof(ovr[0]), 0, 0, 2, MPS_INTI_CONFORMING },
		{ MADT_INT_SRC_OVR, sizeof(ovr[0]), 0, ACPI_SCI_IRQ, ACPI_SCI_IRQ,
		  MPS_INTI_ACTIVE_HIGH | MPS_INTI_LEVEL },
	};
	struct madt_lapic_nmi nmi = {
		.type = MADT_LAPIC_NMI,
		.length = sizeof(nmi),
		.uid = MADT_ALL_PROCESSORS,
		.flags = MPS_INTI_CONFORMING,
		.lint = 1,
	};

	m->lapic_addr = ACPI_LAPIC_ADDR;
	m->flags = ACPI_MADT_PCAT_COMPAT;
	for (unsigned int i = 0; i < nr_cpus; i++) {
		struct madt_lapic l = {
			.type = MADT_LAPIC,
			.length = sizeof(l),
			.uid = (uint8_t)i,
			.apic_id = (uint8_t)i,
			.flags = MADT_LAPIC_ENABLED,
		};

		memcpy(p + off, &l, sizeof(l));
		off += sizeof(l);
	}
	memcpy(p + off, &ioapic, sizeof(ioapic));
	off += sizeof(ioapic);
	memcpy(p + off, ovr, sizeof(ovr));
	off += sizeof(ovr);
	memcpy(p + off, &nmi, sizeof(nmi));
	off += sizeof(nmi);
	acpi_header_init(&m->hdr, "APIC", (uint32_t)off, ACPI_MADT_REVISION);
	return off;
}

static size_t madt_size(unsigned int nr_cpus)
{
	return sizeof(struct acpi_madt) + nr_cpus * sizeof(struct madt_lapic) +
	       sizeof(struct madt_ioapic) + 2 * sizeof(struct madt_int_src_ovr) +
	       sizeof(struct madt_lapic_nmi);
}

#define XSDT_ENTRIES 2 /* FADT, MADT */

int acpi_write(const struct guest_mem *mem, unsigned int nr_cpus, const struct mp_pci_irq *pci,
	       unsigned int nr_pci, uint64_t *rsdp_addr)
{
	uint64_t facs, xsdt, fadt, madt, dsdt, end;
	size_t xsdt_len = sizeof(struct acpi_header) + XSDT_ENTRIES * sizeof(uint64_t);
	struct acpi_rsdp rsdp;
	struct aml aml = { 0 };
	uint8_t *img = NULL;
	int ret;

	if (!mem || !rsdp_addr || nr_cpus == 0 || nr_cpus > ACPI_MAX_CPUS || (nr_pci && !pci) ||
	    nr_pci > UINT8_MAX) {
		log_err("invalid arguments (%u CPUs, %u PCI interrupts)", nr_cpus, nr_pci);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < nr_pci; i++) {
		if (pci[i].slot >= PCI_MAX_SLOTS || pci[i].pin < 1 || pci[i].pin > 4 ||
		    pci[i].gsi >= GSI_IOAPIC_PINS) {
			log_err("PCI slot %u pin %u to IOAPIC pin %u is out of range", pci[i].slot,
				pci[i].pin, pci[i].gsi);
			return -EINVAL;
		}
	}

	aml.cap = ACPI_DSDT_MAX;
	aml.buf = malloc(aml.cap);
	if (!aml.buf)
		return -ENOMEM;
	dsdt_body(&aml, pci, nr_pci);
	if (aml.overflow || aml.depth) {
		log_err("the DSDT does not fit in %d bytes", ACPI_DSDT_MAX);
		ret = -ENOSPC;
		goto out;
	}

	facs = ALIGN_UP(ACPI_RSDP_ADDR + sizeof(rsdp), ACPI_FACS_ALIGN);
	xsdt = ALIGN_UP(facs + sizeof(struct acpi_facs), 16);
	fadt = ALIGN_UP(xsdt + xsdt_len, 16);
	madt = ALIGN_UP(fadt + sizeof(struct acpi_fadt), 16);
	dsdt = ALIGN_UP(madt + madt_size(nr_cpus), 16);
	end = dsdt + sizeof(struct acpi_header) + aml.len;
	if (end > ACPI_AREA_END) {
		log_err("the tables of %llu bytes do not fit below 1 MiB",
			(unsigned long long)(end - ACPI_RSDP_ADDR));
		ret = -ENOSPC;
		goto out;
	}
	img = calloc(1, end - ACPI_RSDP_ADDR);
	if (!img) {
		ret = -ENOMEM;
		goto out;
	}

	/* DSDT: header, then the AML. */
	{
		uint8_t *p = img + (dsdt - ACPI_RSDP_ADDR);

		memcpy(p + sizeof(struct acpi_header), aml.buf, aml.len);
		acpi_header_init((struct acpi_header *)p, "DSDT",
				 (uint32_t)(sizeof(struct acpi_header) + aml.len), 2);
		acpi_table_sum(img, dsdt - ACPI_RSDP_ADDR);
	}
	if (madt_fill(img + (madt - ACPI_RSDP_ADDR), nr_cpus) != madt_size(nr_cpus)) {
		ret = -EFAULT; /* cannot happen: madt_size() counts every entry */
		goto out;
	}
	acpi_table_sum(img, madt - ACPI_RSDP_ADDR);
	{
		struct acpi_fadt f = { 0 };

		fadt_fill(&f, (uint32_t)facs, (uint32_t)dsdt);
		memcpy(img + (fadt - ACPI_RSDP_ADDR), &f, sizeof(f));
		acpi_table_sum(img, fadt - ACPI_RSDP_ADDR);
	}
	{
		uint8_t *p = img + (xsdt - ACPI_RSDP_ADDR);
		uint64_t entries[XSDT_ENTRIES] = { fadt, madt };

		acpi_header_init((struct acpi_header *)p, "XSDT", (uint32_t)xsdt_len, 1);
		memcpy(p + sizeof(struct acpi_header), entries, sizeof(entries));
		acpi_table_sum(img, xsdt - ACPI_RSDP_ADDR);
	}
	{
		struct acpi_facs f = {
			.length = sizeof(f),
			.version = ACPI_FACS_VERSION,
		};

		memcpy(f.signature, "FACS", 4);
		memcpy(img + (facs - ACPI_RSDP_ADDR), &f, sizeof(f));
	}
	memset(&rsdp, 0, sizeof(rsdp));
	memcpy(rsdp.signature, "RSD PTR ", 8);
	memcpy(rsdp.oem_id, ACPI_OEM_ID, sizeof(rsdp.oem_id));
	rsdp.revision = 2;
	rsdp.length = sizeof(rsdp);
	rsdp.xsdt_addr = xsdt;
	rsdp.checksum = acpi_checksum((const uint8_t *)&rsdp, ACPI_RSDP_V1_LEN);
	rsdp.ext_checksum = acpi_checksum((const uint8_t *)&rsdp, sizeof(rsdp));
	memcpy(img, &rsdp, sizeof(rsdp));

	if (gm_write(mem, ACPI_RSDP_ADDR, img, end - ACPI_RSDP_ADDR)) {
		log_err("no guest RAM at 0x%llx-0x%llx", ACPI_RSDP_ADDR, (unsigned long long)end);
		ret = -EFAULT;
		goto out;
	}
	*rsdp_addr = ACPI_RSDP_ADDR;
	log_debug("RSDP 0x%llx, XSDT 0x%llx, FADT 0x%llx, MADT 0x%llx (%u CPUs, IOAPIC %u), "
		  "DSDT 0x%llx (%zu bytes of AML, %u PCI interrupts)",
		  ACPI_RSDP_ADDR, (unsigned long long)xsdt, (unsigned long long)fadt,
		  (unsigned long long)madt, nr_cpus, nr_cpus, (unsigned long long)dsdt, aml.len,
		  nr_pci);
	ret = 0;
out:
	free(img);
	free(aml.buf);
	return ret;
}

/* ---- PM1 register block ---- */

struct acpi_pm {
	pthread_mutex_t lock;
	acpi_poweroff_fn poweroff;
	void *arg;
	uint16_t regs[ACPI_PM_LEN / 2]; /* status, enable, control */
};

enum { PM_STS, PM_EN, PM_CNT };

/* Guest-triggered messages: at most 10 lines per 5 s per call site. */
#define acpi_log_rl(level, ...)                                                  \
	do {                                                                     \
		static struct log_ratelimit rl__ = LOG_RATELIMIT_INIT(5000, 10); \
		if (log_enabled(level) && log_ratelimit_ok(&rl__))               \
			log_msg(level, LOG_COMPONENT, __VA_ARGS__);              \
	} while (0)

struct acpi_pm *acpi_pm_new(acpi_poweroff_fn poweroff, void *arg)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));

	if (!pm)
		return NULL;
	pthread_mutex_init(&pm->lock, NULL);
	pm->poweroff = poweroff;
	pm->arg = arg;
	pm->regs[PM_CNT] = PM1_CNT_SCI_EN;
	return pm;
}

void acpi_pm_free(struct acpi_pm *pm)
{
	if (!pm)
		return;
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

/* Applies a write of `val` to the bits in `mask` of register r; true when S5 is asked for. */
static bool acpi_pm_write_reg(struct acpi_pm *pm, unsigned int r, uint16_t val, uint16_t mask)
{
	uint16_t *reg = &pm->regs[r];

	val &= mask;
	switch (r) {
	case PM_STS: *reg &= (uint16_t)~val; return false;
	case PM_EN:
		*reg = (uint16_t)((*reg & ~(mask & PM1_EN_MASK)) | (val & PM1_EN_MASK));
		return false;
	default:
		*reg = (uint16_t)((*reg & ~(mask & PM1_CNT_RW_MASK)) | (val & PM1_CNT_RW_MASK));
		*reg |= PM1_CNT_SCI_EN;
		if (!(val & PM1_CNT_SLP_EN))
			return false;
		if (((*reg & PM1_CNT_SLP_TYP) >> PM1_CNT_SLP_TYP_SHIFT) == ACPI_SLP_TYP_S5)
			return true;
		acpi_log_rl(LOG_LVL_DEBUG, "guest asked for sleep type %u, which is not supported",
			    (*reg & PM1_CNT_SLP_TYP) >> PM1_CNT_SLP_TYP_SHIFT);
		return false;
	}
}

void acpi_pm_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct acpi_pm *pm = opaque;
	bool poweroff = false;

	if (!data || !len)
		return;
	if (!is_write)
		memset(data, 0xff, len);
	if (!pm || offset >= ACPI_PM_LEN)
		return;

	pthread_mutex_lock(&pm->lock);
	for (unsigned int r = 0; r < ACPI_PM_LEN / 2; r++) {
		uint16_t val = 0, mask = 0;

		/* The bytes of register r (at offsets 2r, 2r + 1) this access covers. */
		for (unsigned int b = 0; b < 2; b++) {
			uint64_t at = 2 * r + b;

			if (at < offset || at - offset >= len)
				continue;
			if (is_write) {
				val |= (uint16_t)(data[at - offset] << (8 * b));
				mask |= (uint16_t)(0xff << (8 * b));
			} else {
				data[at - offset] = (uint8_t)(pm->regs[r] >> (8 * b));
			}
		}
		if (is_write && mask)
			poweroff |= acpi_pm_write_reg(pm, r, val, mask);
	}
	pthread_mutex_unlock(&pm->lock);
	if (poweroff && pm->poweroff)
		pm->poweroff(pm->arg);
}
