/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ACPI tables: the RSDP found the way Linux finds it (a 16-byte aligned scan
 * of 0xE0000-0xFFFFF), every checksum, signature and length, the XSDT, the
 * FADT's pointers and PM1 blocks, the MADT entries for 1, 2, 64 and 254
 * CPUs, the DSDT's AML decoded (PkgLengths, _HID, _PRT, _S5), no overlap
 * with the MP table, the RSDP handed to PVH and bzImage kernels, and the PM1
 * registers. Everything is read back by the offsets of the ACPI 6.3
 * specification, not through the writer's structures.
 */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/support/testutil.h"

#include "common/guestmem.h"
#include "common/log.h"
#include "vmm/acpi.h"
#include "vmm/boot.h"

#define MEM_SIZE (4 * MiB)
#define SCAN_START 0xE0000u
#define SCAN_END 0x100000u
#define HDR_LEN 36
#define PCI_SLOTS 32

/* Linux's acpi_find_root_pointer() over the BIOS area: the RSDP's address or 0. */
static uint64_t scan_rsdp(const uint8_t *ram)
{
	for (uint64_t a = SCAN_START; a + 36 <= SCAN_END; a += 16) {
		const uint8_t *p = ram + a;

		if (memcmp(p, "RSD PTR ", 8) != 0 || sum8(p, 20) != 0)
			continue;
		if (p[15] >= 2 && sum8(p, rd32(p, 20)) != 0)
			continue;
		return a;
	}
	return 0;
}

/* A table at addr: signature, a length inside the BIOS area, a zero checksum. */
static uint32_t check_table(const uint8_t *ram, uint64_t addr, const char *sig, uint8_t rev)
{
	const uint8_t *t = ram + addr;
	uint32_t len;

	assert_true(addr >= SCAN_START && addr < SCAN_END);
	if (memcmp(t, sig, 4) != 0)
		fail_msg("table at 0x%llx is '%.4s', expected '%s'", (unsigned long long)addr,
			 (const char *)t, sig);
	len = rd32(t, 4);
	assert_true(len >= HDR_LEN);
	assert_true(addr + len <= SCAN_END);
	assert_int_equal(t[8], rev);
	assert_int_equal(sum8(t, len), 0);
	assert_memory_equal(t + 10, "NFVKIT", 6);
	return len;
}

/* Where the tables are, once validated. */
struct tables {
	uint64_t rsdp, xsdt, fadt, facs, dsdt, madt;
	uint64_t end; /* one past the last byte of any table */
};

static void note_end(struct tables *t, uint64_t addr, uint64_t len)
{
	if (addr + len > t->end)
		t->end = addr + len;
}

static struct tables check_all(const uint8_t *ram)
{
	struct tables t = { 0 };
	const uint8_t *p, *f;
	uint32_t len, n;

	t.rsdp = scan_rsdp(ram);
	assert_int_equal(t.rsdp, ACPI_RSDP_ADDR);
	p = ram + t.rsdp;
	assert_int_equal(p[15], 2);	   /* revision */
	assert_int_equal(rd32(p, 20), 36); /* length */
	assert_int_equal(sum8(p, 20), 0);   /* ACPI 1.0 checksum */
	assert_int_equal(sum8(p, 36), 0);   /* extended checksum */
	assert_memory_equal(p + 9, "NFVKIT", 6);
	assert_int_equal(rd32(p, 16), 0); /* no RSDT */
	t.xsdt = rd64(p, 24);
	note_end(&t, t.rsdp, 36);

	len = check_table(ram, t.xsdt, "XSDT", 1);
	note_end(&t, t.xsdt, len);
	assert_int_equal((len - HDR_LEN) % 8, 0);
	n = (len - HDR_LEN) / 8;
	assert_int_equal(n, 2);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t e = rd64(ram + t.xsdt, HDR_LEN + 8 * i);

		assert_true(e >= SCAN_START && e + HDR_LEN <= SCAN_END);
		if (memcmp(ram + e, "FACP", 4) == 0)
			t.fadt = e;
		else if (memcmp(ram + e, "APIC", 4) == 0)
			t.madt = e;
		else
			fail_msg("unexpected XSDT entry '%.4s'", (const char *)(ram + e));
	}
	assert_true(t.fadt && t.madt);

	len = check_table(ram, t.fadt, "FACP", 6);
	note_end(&t, t.fadt, len);
	assert_int_equal(len, 276);
	f = ram + t.fadt;
	assert_int_equal(f[131] & 0x0f, 3); /* FADT minor version: 6.3 */
	t.dsdt = rd64(f, 140);		    /* X_DSDT */
	assert_int_equal(rd32(f, 40), t.dsdt);
	t.facs = rd32(f, 36); /* FIRMWARE_CTRL; X_FIRMWARE_CTRL must then be 0 */
	assert_int_equal(rd64(f, 132), 0);

	len = check_table(ram, t.dsdt, "DSDT", 2);
	note_end(&t, t.dsdt, len);
	len = check_table(ram, t.madt, "APIC", 5);
	note_end(&t, t.madt, len);

	p = ram + t.facs;
	assert_memory_equal(p, "FACS", 4);
	assert_int_equal(rd32(p, 4), 64);
	assert_int_equal(t.facs % 64, 0);
	assert_true(t.facs >= SCAN_START && t.facs + 64 <= SCAN_END);
	note_end(&t, t.facs, 64);

	/* Every table on its own bytes. */
	{
		uint64_t at[] = { t.rsdp, t.facs, t.xsdt, t.fadt, t.madt, t.dsdt };
		uint64_t ln[] = { 36,
				  64,
				  rd32(ram + t.xsdt, 4),
				  rd32(ram + t.fadt, 4),
				  rd32(ram + t.madt, 4),
				  rd32(ram + t.dsdt, 4) };

		for (unsigned int i = 0; i < 6; i++)
			for (unsigned int j = i + 1; j < 6; j++)
				assert_true(at[i] + ln[i] <= at[j] || at[j] + ln[j] <= at[i]);
	}
	return t;
}

static struct tables write_and_check(struct arena *a, unsigned int cpus,
				     const struct mp_pci_irq *pci, unsigned int nr_pci)
{
	uint64_t rsdp = 0;

	assert_int_equal(acpi_write(&a->gm, cpus, pci, nr_pci, &rsdp), 0);
	assert_int_equal(rsdp, ACPI_RSDP_ADDR);
	return check_all(a->ram);
}

static void test_fadt(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0);
	struct tables t = write_and_check(a, 2, NULL, 0);
	const uint8_t *f = a->ram + t.fadt;

	(void)state;
	assert_int_equal(rd32(f, 112) & (1u << 20), 0); /* not HW_REDUCED_ACPI */
	assert_int_equal(rd16(f, 46), 9);		/* SCI_INT */
	assert_int_equal(rd32(f, 48), 0);		/* no SMI_CMD: always in ACPI mode */
	/* PM1a event block (4 bytes) and control block (2 bytes), legacy and X fields. */
	assert_int_equal(rd32(f, 56), ACPI_PM_BASE);
	assert_int_equal(f[88], 4);
	assert_int_equal(rd32(f, 64), ACPI_PM_BASE + 4);
	assert_int_equal(f[89], 2);
	assert_int_equal(f[148], 1); /* SystemIO */
	assert_int_equal(f[149], 32);
	assert_int_equal(rd64(f, 152), ACPI_PM_BASE);
	assert_int_equal(f[172], 1);
	assert_int_equal(f[173], 16);
	assert_int_equal(rd64(f, 176), ACPI_PM_BASE + 4);
	/* No PM1b, PM2, PM timer, GPE blocks. */
	assert_int_equal(rd32(f, 60) | rd32(f, 68) | rd32(f, 72) | rd32(f, 76), 0);
	assert_int_equal(rd32(f, 80) | rd32(f, 84), 0);
	assert_int_equal(f[90] | f[91] | f[92] | f[93], 0);
	/* IA-PC boot flags: legacy devices, 8042, no VGA, no CMOS RTC. */
	assert_int_equal(rd16(f, 109), 0x0027);
	arena_free(a);
}

/* MADT for nr_cpus: every entry by its ACPI layout. */
static void check_madt(const uint8_t *ram, uint64_t madt, unsigned int nr_cpus)
{
	const uint8_t *m = ram + madt;
	uint32_t len = rd32(m, 4);
	unsigned int lapics = 0, ioapics = 0, nmis = 0, ovrs = 0;
	bool ovr0 = false, ovr9 = false;

	assert_int_equal(rd32(m, 36), 0xFEE00000);
	assert_int_equal(rd32(m, 40), 1); /* PCAT_COMPAT */
	for (uint32_t off = 44; off < len;) {
		const uint8_t *e = m + off;

		assert_true(off + 2 <= len);
		assert_true(e[1] >= 2 && off + e[1] <= len);
		switch (e[0]) {
		case 0: /* Processor Local APIC */
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], lapics);	 /* UID */
			assert_int_equal(e[3], lapics);	 /* APIC ID */
			assert_int_equal(rd32(e, 4), 1); /* enabled */
			lapics++;
			break;
		case 1: /* I/O APIC */
			assert_int_equal(e[1], 12);
			assert_int_equal(e[2], nr_cpus);
			assert_int_equal(rd32(e, 4), 0xFEC00000);
			assert_int_equal(rd32(e, 8), 0);
			ioapics++;
			break;
		case 2: /* Interrupt Source Override */
			assert_int_equal(e[1], 10);
			assert_int_equal(e[2], 0); /* ISA */
			if (e[3] == 0) {
				assert_int_equal(rd32(e, 4), 2);
				assert_int_equal(rd16(e, 8), 0); /* conforming */
				ovr0 = true;
			} else if (e[3] == 9) {
				assert_int_equal(rd32(e, 4), 9);
				assert_int_equal(rd16(e, 8), 0x000D); /* active high, level */
				ovr9 = true;
			} else {
				fail_msg("unexpected override for IRQ %u", e[3]);
			}
			ovrs++;
			break;
		case 4: /* Local APIC NMI */
			assert_int_equal(e[1], 6);
			assert_int_equal(e[2], 0xFF); /* all processors */
			assert_int_equal(rd16(e, 3), 0);
			assert_int_equal(e[5], 1); /* LINT1 */
			nmis++;
			break;
		default: fail_msg("unexpected MADT entry type %u", e[0]);
		}
		off += e[1];
	}
	assert_int_equal(lapics, nr_cpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(ovrs, 2);
	assert_true(ovr0 && ovr9);
	assert_int_equal(nmis, 1);
}

static void test_madt_sizes(void **state)
{
	static const unsigned int counts[] = { 1, 2, 64, ACPI_MAX_CPUS };

	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(counts); i++) {
		struct arena *a = arena_new(MEM_SIZE, 0);
		struct tables t = write_and_check(a, counts[i], NULL, 0);

		assert_int_equal(rd32(a->ram + t.madt, 4), 44 + 8 * counts[i] + 12 + 2 * 10 + 6);
		check_madt(a->ram, t.madt, counts[i]);
		arena_free(a);
	}
}

/* ---- A small AML reader, enough for what the DSDT holds ---- */

struct aml_rd {
	const uint8_t *p;
	size_t pos, end;
};

static uint8_t aml_u8(struct aml_rd *r)
{
	assert_true(r->pos < r->end);
	return r->p[r->pos++];
}

/* PkgLength (ACPI 6.3, 20.2.4): returns the end of the package it starts. */
static size_t aml_pkg_end(struct aml_rd *r)
{
	size_t start = r->pos;
	uint8_t lead = aml_u8(r);
	unsigned int n = lead >> 6;
	size_t len;

	if (n == 0) {
		len = lead & 0x3f;
	} else {
		assert_int_equal(lead & 0x30, 0);
		len = lead & 0x0f;
		for (unsigned int i = 0; i < n; i++)
			len |= (size_t)aml_u8(r) << (4 + 8 * i);
	}
	assert_true(start + len <= r->end);
	return start + len;
}

static uint64_t aml_int(struct aml_rd *r)
{
	uint8_t op = aml_u8(r);
	unsigned int n;
	uint64_t v = 0;

	switch (op) {
	case 0x00: return 0;
	case 0x01: return 1;
	case 0x0A: n = 1; break;
	case 0x0B: n = 2; break;
	case 0x0C: n = 4; break;
	case 0x0E: n = 8; break;
	default: fail_msg("AML: 0x%02x at %zu is not an integer", op, r->pos - 1); return 0;
	}
	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)aml_u8(r) << (8 * i);
	return v;
}

static void aml_expect(struct aml_rd *r, const void *bytes, size_t n)
{
	assert_true(r->pos + n <= r->end);
	assert_memory_equal(r->p + r->pos, bytes, n);
	r->pos += n;
}

/* Name(seg, <integer>) */
static uint64_t aml_name_int(struct aml_rd *r, const char *seg)
{
	aml_expect(r, "\x08", 1);
	aml_expect(r, seg, 4);
	return aml_int(r);
}

/* Decodes the DSDT's body and checks it against the PCI routes given. */
static void check_dsdt(const uint8_t *ram, uint64_t dsdt, const struct mp_pci_irq *pci,
		       unsigned int nr_pci)
{
	struct aml_rd r = { .p = ram + dsdt, .pos = HDR_LEN, .end = rd32(ram + dsdt, 4) };
	size_t scope_end, dev_end, prt_end, crs_end;
	uint64_t crs_len;

	/* Scope (\_SB) { Device (PCI0) { ... } } */
	aml_expect(&r, "\x10", 1);
	scope_end = aml_pkg_end(&r);
	aml_expect(&r, "\\_SB_", 5);
	aml_expect(&r, "\x5b\x82", 2);
	dev_end = aml_pkg_end(&r);
	assert_int_equal(dev_end, scope_end);
	aml_expect(&r, "PCI0", 4);
	assert_int_equal(aml_name_int(&r, "_HID"), 0x030AD041); /* EISAID("PNP0A03") */
	assert_int_equal(aml_name_int(&r, "_UID"), 0);

	/* Name (_CRS, Buffer () { ... }): bus 0, 0xCF8/8, I/O and memory windows, end tag. */
	aml_expect(&r, "\x08_CRS\x11", 6);
	crs_end = aml_pkg_end(&r);
	crs_len = aml_int(&r);
	assert_int_equal(r.pos + crs_len, crs_end);
	{
		const uint8_t *c = r.p + r.pos;
		size_t o = 0;

		assert_int_equal(c[o], 0x88); /* Word address space: bus number 0-0 */
		assert_int_equal(c[o + 3], 2);
		assert_int_equal(rd16(c, o + 8), 0);
		assert_int_equal(rd16(c, o + 10), 0);
		o += 3 + rd16(c, o + 1);
		assert_int_equal(c[o], 0x47); /* I/O port 0xCF8, 8 bytes */
		assert_int_equal(rd16(c, o + 2), 0xCF8);
		assert_int_equal(c[o + 7], 8);
		o += 8;
		assert_int_equal(c[o], 0x88); /* I/O window below the config ports */
		assert_int_equal(c[o + 3], 1);
		assert_int_equal(rd16(c, o + 8), 0);
		assert_int_equal(rd16(c, o + 10), 0xCF7);
		o += 3 + rd16(c, o + 1);
		assert_int_equal(c[o], 0x88); /* I/O window above them */
		assert_int_equal(rd16(c, o + 8), 0xD00);
		assert_int_equal(rd16(c, o + 10), 0xFFFF);
		o += 3 + rd16(c, o + 1);
		assert_int_equal(c[o], 0x87); /* 32-bit memory window */
		assert_int_equal(c[o + 3], 0);
		assert_int_equal(rd32(c, o + 10), 0xC0000000);
		assert_int_equal(rd32(c, o + 14), 0xFEBFFFFF);
		assert_int_equal(rd32(c, o + 22), 0x3EC00000);
		o += 3 + rd16(c, o + 1);
		assert_int_equal(c[o], 0x79);
		assert_int_equal(o + 2, crs_len);
	}
	r.pos = crs_end;

	/* Name (_PRT, Package () { Package () { slot << 16 | 0xFFFF, pin, 0, GSI }, ... }) */
	aml_expect(&r, "\x08_PRT\x12", 6);
	prt_end = aml_pkg_end(&r);
	assert_int_equal(aml_u8(&r), nr_pci);
	for (unsigned int i = 0; i < nr_pci; i++) {
		size_t e_end;

		aml_expect(&r, "\x12", 1);
		e_end = aml_pkg_end(&r);
		assert_int_equal(aml_u8(&r), 4);
		assert_int_equal(aml_int(&r), (uint64_t)pci[i].slot << 16 | 0xFFFF);
		assert_int_equal(aml_int(&r), pci[i].pin - 1u);
		assert_int_equal(aml_int(&r), 0);
		assert_int_equal(aml_int(&r), pci[i].gsi);
		assert_int_equal(r.pos, e_end);
	}
	assert_int_equal(r.pos, prt_end);
	assert_int_equal(r.pos, scope_end);

	/* Name (_S5, Package () { 5, 5, 0, 0 }), and nothing after it. */
	aml_expect(&r, "\x08_S5_\x12", 6);
	prt_end = aml_pkg_end(&r);
	assert_int_equal(aml_u8(&r), 4);
	assert_int_equal(aml_int(&r), ACPI_SLP_TYP_S5);
	assert_int_equal(aml_int(&r), ACPI_SLP_TYP_S5);
	assert_int_equal(aml_int(&r), 0);
	assert_int_equal(aml_int(&r), 0);
	assert_int_equal(r.pos, prt_end);
	assert_int_equal(r.pos, r.end);
}

static void test_dsdt(void **state)
{
	struct mp_pci_irq pci[PCI_SLOTS * 4];
	struct arena *a = arena_new(MEM_SIZE, 0);

	(void)state;
	/*
	 * Every slot with all four pins. Each count gives the _PRT, and the
	 * device and scope around it, another length: the PkgLengths cross
	 * from one byte to two (at 63 bytes of body) on the way.
	 */
	for (unsigned int i = 0; i < ARRAY_SIZE(pci); i++)
		pci[i] = (struct mp_pci_irq){ .slot = (uint8_t)(i / 4),
					      .pin = (uint8_t)(i % 4 + 1),
					      .gsi = (uint8_t)(16 + (i / 4 + i % 4) % 8) };
	for (unsigned int n = 0; n <= ARRAY_SIZE(pci); n++) {
		struct tables t;

		memset(a->ram + SCAN_START, 0, SCAN_END - SCAN_START);
		t = write_and_check(a, 4, pci, n);
		check_dsdt(a->ram, t.dsdt, pci, n);
	}
	/* Exactly 63 bytes of _PRT body: the longest one-byte PkgLength (10 + 10 + ... = 62, + 1).
	 */
	{
		static const struct mp_pci_irq edge[] = {
			{ 0, 1, 16 }, { 0, 2, 17 }, { 0, 1, 18 },
			{ 0, 2, 19 }, { 0, 3, 20 }, { 0, 4, 21 },
		};
		struct tables t;

		memset(a->ram + SCAN_START, 0, SCAN_END - SCAN_START);
		t = write_and_check(a, 1, edge, ARRAY_SIZE(edge));
		check_dsdt(a->ram, t.dsdt, edge, ARRAY_SIZE(edge));
	}
	arena_free(a);
}

/* The MP table (at 0x9FC00) and the ACPI tables (from 0xE0000) leave each other intact. */
static void test_no_overlap_with_mptable(void **state)
{
	struct mp_pci_irq pci[32];
	unsigned int cpus[] = { 1, 64, ACPI_MAX_CPUS };

	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(pci); i++)
		pci[i] = (struct mp_pci_irq){ .slot = (uint8_t)i,
					      .pin = 1,
					      .gsi = (uint8_t)(16 + i % 8) };
	for (unsigned int i = 0; i < ARRAY_SIZE(cpus); i++) {
		struct arena *a = arena_new(MEM_SIZE, 0);
		struct tables t;
		uint64_t rsdp, mpf, mpc, mp_end;

		/* The order of nfv-vmm: ACPI, then the MP table. */
		assert_int_equal(acpi_write(&a->gm, cpus[i], pci, 32, &rsdp), 0);
		assert_int_equal(mptable_write(&a->gm, cpus[i], pci, 32), 0);
		t = check_all(a->ram);
		check_madt(a->ram, t.madt, cpus[i]);
		check_dsdt(a->ram, t.dsdt, pci, 32);

		mpf = BOOT_EBDA_START;
		assert_memory_equal(a->ram + mpf, "_MP_", 4);
		assert_int_equal(sum8(a->ram + mpf, 16), 0);
		mpc = rd32(a->ram + mpf, 4);
		assert_memory_equal(a->ram + mpc, "PCMP", 4);
		mp_end = mpc + rd16(a->ram + mpc, 4) + rd16(a->ram + mpc, 40);
		assert_int_equal(sum8(a->ram + mpc, rd16(a->ram + mpc, 4)), 0);
		assert_true(mp_end <= ACPI_RSDP_ADDR || mpf >= t.end);
		assert_true(t.end <= ACPI_AREA_END);
		arena_free(a);
	}
}

static void test_bad_arguments(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0);
	struct mp_pci_irq bad_pin = { .slot = 1, .pin = 5, .gsi = 16 };
	struct mp_pci_irq bad_slot = { .slot = 32, .pin = 1, .gsi = 16 };
	struct mp_pci_irq bad_gsi = { .slot = 1, .pin = 1, .gsi = 24 };
	uint64_t rsdp = 0;

	(void)state;
	assert_int_equal(acpi_write(&a->gm, 0, NULL, 0, &rsdp), -EINVAL);
	assert_int_equal(acpi_write(&a->gm, ACPI_MAX_CPUS + 1, NULL, 0, &rsdp), -EINVAL);
	assert_int_equal(acpi_write(NULL, 1, NULL, 0, &rsdp), -EINVAL);
	assert_int_equal(acpi_write(&a->gm, 1, NULL, 0, NULL), -EINVAL);
	assert_int_equal(acpi_write(&a->gm, 1, NULL, 1, &rsdp), -EINVAL);
	assert_int_equal(acpi_write(&a->gm, 1, &bad_pin, 1, &rsdp), -EINVAL);
	assert_int_equal(acpi_write(&a->gm, 1, &bad_slot, 1, &rsdp), -EINVAL);
	assert_int_equal(acpi_write(&a->gm, 1, &bad_gsi, 1, &rsdp), -EINVAL);
	assert_int_equal(rsdp, 0);
	/* Nothing was written. */
	assert_int_equal(scan_rsdp(a->ram), 0);
	arena_free(a);

	/* RAM that ends below the BIOS area. */
	{
		struct arena *small = arena_new(512 * KiB, 0);

		assert_int_equal(acpi_write(&small->gm, 1, NULL, 0, &rsdp), -EFAULT);
		arena_free(small);
	}
}

/* ---- The RSDP handed to the kernel ---- */

#define K_PADDR 0x100000ull
#define K_ENTRY 0x100010ull
#define K_TEXT_OFF 0x100
#define K_TEXT_LEN 0x100

/* An ELF64 with one PT_LOAD and a PT_NOTE holding the PVH entry note. */
static uint8_t *make_pvh_elf(size_t *len)
{
	size_t note_off = 64 + 2 * sizeof(Elf64_Phdr);
	size_t note_len = sizeof(Elf32_Nhdr) + 4 + 8;
	uint8_t *f = calloc(1, K_TEXT_OFF + K_TEXT_LEN);
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph[2] = {
		{ .p_type = PT_LOAD,
		  .p_offset = K_TEXT_OFF,
		  .p_paddr = K_PADDR,
		  .p_filesz = K_TEXT_LEN,
		  .p_memsz = K_TEXT_LEN,
		  .p_align = 0x1000 },
		{ .p_type = PT_NOTE,
		  .p_offset = note_off,
		  .p_filesz = note_len,
		  .p_memsz = note_len,
		  .p_align = 4 },
	};
	Elf32_Nhdr nh = { .n_namesz = 4, .n_descsz = 8, .n_type = 18 };
	uint64_t entry = K_ENTRY;

	assert_non_null(f);
	assert_true(note_off + note_len <= K_TEXT_OFF);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = K_ENTRY;
	eh.e_phoff = 64;
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 2;
	memcpy(f, &eh, sizeof(eh));
	memcpy(f + 64, ph, sizeof(ph));
	memcpy(f + note_off, &nh, sizeof(nh));
	memcpy(f + note_off + sizeof(nh), "Xen", 4);
	memcpy(f + note_off + sizeof(nh) + 4, &entry, sizeof(entry));
	memset(f + K_TEXT_OFF, 0x90, K_TEXT_LEN);
	*len = K_TEXT_OFF + K_TEXT_LEN;
	return f;
}

/* A bzImage of boot protocol `version` with 64-bit entry (setup code: 4 sectors). */
static uint8_t *make_bzimage(uint16_t version, size_t *len)
{
	size_t setup = 5 * 512, pm = 0x1000;
	uint8_t *img = calloc(1, setup + pm);

	assert_non_null(img);
	img[0x1f1] = 4;
	wr32(img, 0x1f4, (uint32_t)(pm / 16));
	wr16(img, 0x1fe, 0xaa55);
	img[0x200] = 0xeb;
	img[0x201] = 0x66;
	memcpy(img + 0x202, "HdrS", 4);
	wr16(img, 0x206, version);
	img[0x211] = 0x01;	   /* LOADED_HIGH */
	wr16(img, 0x236, 0x0001);  /* XLF_KERNEL_64 */
	wr32(img, 0x238, 255);	   /* cmdline_size */
	wr32(img, 0x260, 0x10000); /* init_size */
	*len = setup + pm;
	return img;
}

static void test_rsdp_to_pvh(void **state)
{
	uint64_t rsdp_in[] = { 0, ACPI_RSDP_ADDR };

	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(rsdp_in); i++) {
		struct arena *a = arena_new(MEM_SIZE, 0);
		struct boot_entry e;
		char err[256] = "";
		size_t len;
		uint8_t *img = make_pvh_elf(&len);
		struct boot_input in = {
			.mem = &a->gm, .kernel = img, .kernel_len = len, .cmdline = "console=ttyS0"
		};
		uint64_t rsdp = 0;

		if (rsdp_in[i]) {
			assert_int_equal(acpi_write(&a->gm, 2, NULL, 0, &rsdp), 0);
			in.rsdp_addr = rsdp;
		}
		if (boot_load(&in, &e, err, sizeof(err)))
			fail_msg("boot_load: %s", err);
		assert_int_equal(e.kind, BOOT_KIND_PVH);
		/* hvm_start_info.rsdp_paddr at offset 32. */
		assert_int_equal(rd64(a->ram + BOOT_START_INFO_ADDR, 32), rsdp_in[i]);
		if (rsdp_in[i])
			check_all(a->ram); /* the loader left the tables alone */
		free(img);
		arena_free(a);
	}
}

static void test_rsdp_to_bzimage(void **state)
{
	static const struct {
		uint16_t version;
		uint64_t rsdp;
		uint64_t expect;
	} cases[] = {
		{ 0x020f, ACPI_RSDP_ADDR, ACPI_RSDP_ADDR },
		{ 0x020e, ACPI_RSDP_ADDR, ACPI_RSDP_ADDR },
		{ 0x020d, ACPI_RSDP_ADDR, 0 }, /* too old: the kernel scans for it */
		{ 0x020f, 0, 0 },
	};

	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct arena *a = arena_new(MEM_SIZE, 0);
		struct boot_entry e;
		char err[256] = "";
		size_t len;
		uint8_t *img = make_bzimage(cases[i].version, &len);
		struct boot_input in = { .mem = &a->gm, .kernel = img, .kernel_len = len };
		uint64_t rsdp = 0;

		if (cases[i].rsdp) {
			assert_int_equal(acpi_write(&a->gm, 2, NULL, 0, &rsdp), 0);
			in.rsdp_addr = rsdp;
		}
		if (boot_load(&in, &e, err, sizeof(err)))
			fail_msg("boot_load (protocol %#x): %s", cases[i].version, err);
		assert_int_equal(e.kind, BOOT_KIND_BZIMAGE);
		/* boot_params.acpi_rsdp_addr at offset 0x070. */
		assert_int_equal(rd64(a->ram + BOOT_ZERO_PAGE_ADDR, 0x070), cases[i].expect);
		if (cases[i].rsdp)
			check_all(a->ram); /* still found by the BIOS-area scan */
		free(img);
		arena_free(a);
	}
}

/* ---- PM1 registers ---- */

static unsigned int poweroffs;

static void count_poweroff(void *arg)
{
	assert_ptr_equal(arg, &poweroffs);
	poweroffs++;
}

static uint32_t pm_read(struct acpi_pm *pm, uint64_t off, uint32_t len)
{
	uint8_t d[4];
	uint32_t v = 0;

	acpi_pm_io(pm, off, d, len, false);
	for (uint32_t i = 0; i < len; i++)
		v |= (uint32_t)d[i] << (8 * i);
	return v;
}

static void pm_write(struct acpi_pm *pm, uint64_t off, uint32_t len, uint32_t v)
{
	uint8_t d[4];

	for (uint32_t i = 0; i < len; i++)
		d[i] = (uint8_t)(v >> (8 * i));
	acpi_pm_io(pm, off, d, len, true);
}

static void test_pm_registers(void **state)
{
	struct acpi_pm *pm = acpi_pm_new(count_poweroff, &poweroffs);

	(void)state;
	assert_non_null(pm);
	poweroffs = 0;
	/* After reset: no status, nothing enabled, SCI_EN set (always in ACPI mode). */
	assert_int_equal(pm_read(pm, 0, 2), 0);
	assert_int_equal(pm_read(pm, 2, 2), 0);
	assert_int_equal(pm_read(pm, 4, 2), 0x0001);
	/* SCI_EN cannot be cleared; SLP_TYP and BM_RLD read back, SLP_EN does not. */
	pm_write(pm, 4, 2, 0x0000);
	assert_int_equal(pm_read(pm, 4, 2), 0x0001);
	pm_write(pm, 4, 2, 0x0402); /* SLP_TYP 1, BM_RLD */
	assert_int_equal(pm_read(pm, 4, 2), 0x0403);
	/* PM1_EN: only the defined enable bits stick (GBL_EN among them). */
	pm_write(pm, 2, 2, 0xffff);
	assert_int_equal(pm_read(pm, 2, 2), 0x4721);
	pm_write(pm, 3, 1, 0x00); /* high byte only */
	assert_int_equal(pm_read(pm, 2, 2), 0x0021);
	/* PM1_STS: write one to clear, nothing sets it. */
	pm_write(pm, 0, 2, 0xffff);
	assert_int_equal(pm_read(pm, 0, 2), 0);
	/* A 32-bit access covers status and enable. */
	assert_int_equal(pm_read(pm, 0, 4), 0x00210000);
	pm_write(pm, 0, 4, 0x00200000);
	assert_int_equal(pm_read(pm, 2, 2), 0x0020);
	/* Bytes past the block read as all ones; writes there do nothing. */
	assert_int_equal(pm_read(pm, 4, 4), 0xffff0000u | pm_read(pm, 4, 2));
	assert_int_equal(pm_read(pm, ACPI_PM_LEN, 2), 0xffff);
	pm_write(pm, ACPI_PM_LEN, 2, 0xffff);

	/* Sleep types other than S5 are ignored. */
	pm_write(pm, 4, 2, 1u << 10 | 1u << 13);
	assert_int_equal(poweroffs, 0);
	/* SLP_TYP without SLP_EN does nothing yet; SLP_EN with S5 powers off. */
	pm_write(pm, 4, 2, ACPI_SLP_TYP_S5 << 10);
	assert_int_equal(poweroffs, 0);
	pm_write(pm, 4, 2, ACPI_SLP_TYP_S5 << 10 | 1u << 13);
	assert_int_equal(poweroffs, 1);
	/* As ACPICA may do it: one byte write of the high half. */
	pm_write(pm, 5, 1, (ACPI_SLP_TYP_S5 << 2) | 1u << 5);
	assert_int_equal(poweroffs, 2);
	assert_int_equal(pm_read(pm, 4, 2) & (1u << 13), 0);

	/* Robustness: no data, no length, no device. */
	acpi_pm_io(pm, 0, NULL, 2, false);
	acpi_pm_io(pm, 0, (uint8_t[2]){ 0 }, 0, true);
	assert_int_equal(pm_read(NULL, 0, 2), 0xffff);
	acpi_pm_free(pm);
	acpi_pm_free(NULL);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fadt),
		cmocka_unit_test(test_madt_sizes),
		cmocka_unit_test(test_dsdt),
		cmocka_unit_test(test_no_overlap_with_mptable),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_rsdp_to_pvh),
		cmocka_unit_test(test_rsdp_to_bzimage),
		cmocka_unit_test(test_pm_registers),
	};
	/* clang-format on */

	log_set_level(LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
