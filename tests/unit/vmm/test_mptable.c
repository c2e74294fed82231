/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MP table: found the way Linux finds it (a 16-byte aligned scan of the first
 * KiB, the last KiB below 640 KiB and the BIOS area), both checksums, and
 * every entry read back by the layout of the MP specification 1.4.
 */
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
#include "vmm/boot.h"

#define MEM_SIZE (2 * MiB)

/* Linux's smp_scan_config() over one area: the floating pointer's address or 0. */
static uint64_t scan(const uint8_t *ram, uint64_t base, uint64_t len)
{
	for (uint64_t a = base; a + 16 <= base + len; a += 16) {
		const uint8_t *p = ram + a;

		if (memcmp(p, "_MP_", 4) == 0 && p[8] == 1 && sum8(p, 16) == 0 &&
		    (p[9] == 1 || p[9] == 4))
			return a;
	}
	return 0;
}

static uint64_t find_mpf(const uint8_t *ram)
{
	uint64_t at;

	at = scan(ram, 0, 0x400);
	if (!at)
		at = scan(ram, 639 * 0x400, 0x400);
	if (!at)
		at = scan(ram, 0xf0000, 0x10000);
	return at;
}

struct parsed {
	unsigned int cpus, buses, ioapics, ioints, lints;
	uint8_t cpu_id[256], cpu_flags[256];
	uint8_t ioapic_id;
	/* I/O interrupt entries: source bus, source irq -> pin, flags */
	struct {
		uint8_t irq_type, bus, src, dst_apic, pin;
		uint16_t flags;
	} ioint[300];
	struct {
		uint8_t irq_type, dst_apic, lint;
	} lint[4];
};

/* Checks the header and walks the entries; the table must be well-formed. */
static void parse(const uint8_t *ram, struct parsed *out)
{
	uint64_t mpf = find_mpf(ram), cfg;
	const uint8_t *t, *p, *end;
	uint16_t count;

	memset(out, 0, sizeof(*out));
	assert_int_not_equal(mpf, 0);
	assert_int_equal(mpf, BOOT_EBDA_START);
	assert_int_equal(ram[mpf + 9], 4);  /* spec 1.4 */
	assert_int_equal(ram[mpf + 11], 0); /* configuration table present */
	cfg = rd32(ram, mpf + 4);
	assert_true(cfg >= BOOT_EBDA_START && cfg < BOOT_HIGH_MEM);
	t = ram + cfg;
	assert_memory_equal(t, "PCMP", 4);
	assert_true(cfg + rd16(t, 4) <= BOOT_HIGH_MEM); /* inside the reserved area */
	assert_int_equal(sum8(t, rd16(t, 4)), 0);
	assert_int_equal(t[6], 4);
	assert_memory_equal(t + 8, "NFVKIT", 6);
	assert_memory_equal(t + 16, "NFVKIT", 6);
	assert_int_equal(rd32(t, 28), 0);
	assert_int_equal(rd32(t, 36), 0xfee00000);
	assert_int_equal(rd16(t, 40), 0); /* no extended table */
	count = rd16(t, 34);

	p = t + 44;
	end = t + rd16(t, 4);
	for (unsigned int i = 0; i < count; i++) {
		assert_true(p < end);
		switch (p[0]) {
		case 0:
			assert_true(p + 20 <= end);
			out->cpu_id[out->cpus] = p[1];
			out->cpu_flags[out->cpus] = p[3];
			assert_int_equal(p[2], 0x14);
			assert_int_not_equal(rd32(p, 4), 0); /* signature */
			assert_true(rd32(p, 8) & (1u << 9)); /* APIC feature */
			out->cpus++;
			p += 20;
			break;
		case 1:
			if (p[1] == 0)
				assert_memory_equal(p + 2, "PCI   ", 6);
			else if (p[1] == 1)
				assert_memory_equal(p + 2, "ISA   ", 6);
			else
				fail_msg("unexpected bus %u", p[1]);
			out->buses++;
			p += 8;
			break;
		case 2:
			out->ioapic_id = p[1];
			assert_int_equal(p[2], 0x11);
			assert_int_equal(p[3], 1);
			assert_int_equal(rd32(p, 4), 0xfec00000);
			out->ioapics++;
			p += 8;
			break;
		case 3:
			out->ioint[out->ioints].irq_type = p[1];
			out->ioint[out->ioints].flags = rd16(p, 2);
			out->ioint[out->ioints].bus = p[4];
			out->ioint[out->ioints].src = p[5];
			out->ioint[out->ioints].dst_apic = p[6];
			out->ioint[out->ioints].pin = p[7];
			out->ioints++;
			p += 8;
			break;
		case 4:
			assert_true(out->lints < 4);
			out->lint[out->lints].irq_type = p[1];
			out->lint[out->lints].dst_apic = p[6];
			out->lint[out->lints].lint = p[7];
			out->lints++;
			p += 8;
			break;
		default: fail_msg("unknown entry type %u", p[0]);
		}
	}
	assert_ptr_equal(p, end);
}

static void check_isa(const struct parsed *m)
{
	unsigned int isa = 0;
	bool seen[16] = { false };

	for (unsigned int i = 0; i < m->ioints; i++) {
		if (m->ioint[i].bus != 1)
			continue;
		isa++;
		assert_int_equal(m->ioint[i].irq_type, 0);
		assert_int_equal(m->ioint[i].flags, 0); /* conforming: edge, active high */
		assert_int_equal(m->ioint[i].dst_apic, m->ioapic_id);
		assert_true(m->ioint[i].src < 16);
		assert_false(seen[m->ioint[i].src]);
		seen[m->ioint[i].src] = true;
		assert_int_equal(m->ioint[i].pin, m->ioint[i].src == 0 ? 2 : m->ioint[i].src);
	}
	/* 0..15 except the cascade IRQ 2, whose pin IRQ 0 uses. */
	assert_int_equal(isa, 15);
	assert_false(seen[2]);
}

static void check_lints(const struct parsed *m)
{
	assert_int_equal(m->lints, 2);
	assert_int_equal(m->lint[0].irq_type, 3); /* ExtINT */
	assert_int_equal(m->lint[0].lint, 0);
	assert_int_equal(m->lint[0].dst_apic, 0xff);
	assert_int_equal(m->lint[1].irq_type, 1); /* NMI */
	assert_int_equal(m->lint[1].lint, 1);
	assert_int_equal(m->lint[1].dst_apic, 0xff);
}

static void test_one_cpu(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0);
	struct parsed *m = malloc(sizeof(*m));

	assert_non_null(m);
	assert_int_equal(mptable_write(&a->gm, 1, NULL, 0), 0);
	parse(a->ram, m);
	assert_int_equal(m->cpus, 1);
	assert_int_equal(m->cpu_id[0], 0);
	assert_int_equal(m->cpu_flags[0], 3); /* enabled, BSP */
	assert_int_equal(m->buses, 2);
	assert_int_equal(m->ioapics, 1);
	assert_int_equal(m->ioapic_id, 1);
	assert_int_equal(m->ioints, 15);
	check_isa(m);
	check_lints(m);
	/* Found by the scan of the last KiB below 640 KiB, not elsewhere. */
	assert_int_equal(scan(a->ram, 0, 0x400), 0);
	assert_int_equal(scan(a->ram, 0xf0000, 0x10000), 0);
	free(m);
	arena_free(a);
}

static void test_four_cpus_pci(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0);
	struct parsed *m = malloc(sizeof(*m));
	const struct mp_pci_irq pci[] = {
		{ .slot = 1, .pin = 1, .gsi = 16 },
		{ .slot = 2, .pin = 1, .gsi = 17 },
		{ .slot = 3, .pin = 2, .gsi = 18 },
		{ .slot = 31, .pin = 4, .gsi = 23 },
	};
	unsigned int npci = 0;

	assert_non_null(m);
	/* Stale data from an earlier table must not survive. */
	memset(a->ram + BOOT_EBDA_START, 0xee, 0x400);
	assert_int_equal(mptable_write(&a->gm, 4, pci, 4), 0);
	parse(a->ram, m);
	assert_int_equal(m->cpus, 4);
	for (unsigned int i = 0; i < 4; i++) {
		assert_int_equal(m->cpu_id[i], i);
		assert_int_equal(m->cpu_flags[i], i == 0 ? 3 : 1);
	}
	assert_int_equal(m->ioapic_id, 4);
	assert_int_equal(m->ioints, 15 + 4);
	check_isa(m);
	check_lints(m);
	for (unsigned int i = 0; i < m->ioints; i++) {
		if (m->ioint[i].bus != 0)
			continue;
		assert_int_equal(m->ioint[i].irq_type, 0);
		/* level-triggered (bits 2-3 = 3), active low (bits 0-1 = 3) */
		assert_int_equal(m->ioint[i].flags, 0x0f);
		assert_int_equal(m->ioint[i].dst_apic, 4);
		assert_int_equal(m->ioint[i].src, (pci[npci].slot << 2) | (pci[npci].pin - 1));
		assert_int_equal(m->ioint[i].pin, pci[npci].gsi);
		npci++;
	}
	assert_int_equal(npci, 4);
	free(m);
	arena_free(a);
}

static void test_many_cpus(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0);
	struct parsed *m = malloc(sizeof(*m));

	assert_non_null(m);
	assert_int_equal(mptable_write(&a->gm, 254, NULL, 0), 0);
	parse(a->ram, m);
	assert_int_equal(m->cpus, 254);
	assert_int_equal(m->ioapic_id, 254);
	free(m);
	arena_free(a);
}

static void test_refused(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0);
	struct mp_pci_irq bad = { .slot = 1, .pin = 1, .gsi = 16 };
	struct mp_pci_irq *lots;

	assert_int_equal(mptable_write(&a->gm, 0, NULL, 0), -EINVAL);
	assert_int_equal(mptable_write(&a->gm, 255, NULL, 0), -EINVAL);
	assert_int_equal(mptable_write(&a->gm, 1, NULL, 1), -EINVAL);
	assert_int_equal(mptable_write(NULL, 1, NULL, 0), -EINVAL);
	bad.pin = 0;
	assert_int_equal(mptable_write(&a->gm, 1, &bad, 1), -EINVAL);
	bad.pin = 5;
	assert_int_equal(mptable_write(&a->gm, 1, &bad, 1), -EINVAL);
	bad.pin = 1;
	bad.gsi = 24;
	assert_int_equal(mptable_write(&a->gm, 1, &bad, 1), -EINVAL);
	bad.gsi = 16;
	bad.slot = 32;
	assert_int_equal(mptable_write(&a->gm, 1, &bad, 1), -EINVAL);
	/* Too many entries for the area below 1 MiB. */
	lots = calloc(60000, sizeof(*lots));
	assert_non_null(lots);
	for (unsigned int i = 0; i < 60000; i++)
		lots[i] = (struct mp_pci_irq){ .slot = 1, .pin = 1, .gsi = 16 };
	assert_int_equal(mptable_write(&a->gm, 1, lots, 60000), -ENOSPC);
	free(lots);
	/* Nothing was written by the refusals. */
	assert_int_equal(find_mpf(a->ram), 0);
	arena_free(a);

	/* Guest RAM that does not reach the EBDA. */
	a = arena_new(512 * KiB, 0);
	assert_int_equal(mptable_write(&a->gm, 1, NULL, 0), -EFAULT);
	arena_free(a);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_cpu),
		cmocka_unit_test(test_four_cpus_pci),
		cmocka_unit_test(test_many_cpus),
		cmocka_unit_test(test_refused),
	};
	/* clang-format on */

	log_set_level(LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
