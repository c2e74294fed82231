/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * boot_params as the bzImage loader fills it, the e820 map for small and
 * large guests, and the page tables and GDT of the 64-bit entry.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "tests/unit/support/testutil.h"

#include "common/guestmem.h"
#include "common/log.h"
#include "vmm/boot.h"

#define MEM_SIZE (32 * MiB)

/* A minimal valid bzImage: 4 setup sectors + 64 KiB of kernel. */
static uint8_t *make_bzimage(size_t *len, uint8_t jump)
{
	const size_t setup = 5 * 512, pm = 0x10000;
	uint8_t *img = calloc(1, setup + pm);

	assert_non_null(img);
	*len = setup + pm;
	/* Non-zero filler everywhere in the setup sectors, header fields on top. */
	memset(img, 0x77, setup);
	img[0x1f1] = 4;
	wr32(img, 0x1f4, pm / 16);
	wr16(img, 0x1fe, 0xaa55);
	img[0x200] = 0xeb;
	img[0x201] = jump;
	memcpy(img + 0x202, "HdrS", 4);
	wr16(img, 0x206, 0x020f);
	img[0x210] = 0;
	img[0x211] = 0x01 | 0x20;     /* LOADED_HIGH | QUIET_FLAG: the loader keeps QUIET */
	wr32(img, 0x218, 0x12345678); /* stale ramdisk fields the loader overwrites */
	wr32(img, 0x21c, 0x9abcdef0);
	wr16(img, 0x224, 0);
	wr32(img, 0x228, 0);
	wr32(img, 0x22c, 0x7fffffff);
	wr32(img, 0x230, 0x200000);
	wr16(img, 0x236, 0x0003);
	wr32(img, 0x238, 2047);
	wr32(img, 0x260, 0x200000);
	memset(img + setup, 0x90, pm);
	return img;
}

static void *reserve(uint64_t size)
{
	/* Address space only: e820_build never touches guest memory. */
	void *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

static void check_entry(const struct e820_entry *e, uint64_t addr, uint64_t size, uint32_t type)
{
	assert_int_equal(e->addr, addr);
	assert_int_equal(e->size, size);
	assert_int_equal(e->type, type);
}

static void test_boot_params_fields(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0xAA);
	struct e820_entry map[E820_MAX_ENTRIES];
	struct boot_entry e;
	uint8_t rd[10000];
	char err[256] = "";
	size_t len;
	uint8_t *img = make_bzimage(&len, 0x66);
	const uint8_t *zp = a->ram + BOOT_ZERO_PAGE_ADDR;
	struct boot_input in = {
		.mem = &a->gm,
		.kernel = img,
		.kernel_len = len,
		.initrd = rd,
		.initrd_len = sizeof(rd),
		.cmdline = "console=ttyS0 quiet",
	};
	int n;

	memset(rd, 0x5a, sizeof(rd));
	assert_int_equal(boot_load(&in, &e, err, sizeof(err)), 0);

	assert_int_equal(zp[0x210], 0xff);		 /* type_of_loader */
	assert_int_equal(zp[0x211], 0x01 | 0x20 | 0x80); /* + CAN_USE_HEAP */
	assert_int_equal(rd16(zp, 0x224), 0xfe00);	 /* heap_end_ptr */
	assert_int_equal(rd32(zp, 0x228), BOOT_CMDLINE_ADDR);
	assert_int_equal(rd32(zp, 0x0c8), 0); /* ext_cmd_line_ptr */
	assert_string_equal((const char *)a->ram + BOOT_CMDLINE_ADDR, "console=ttyS0 quiet");
	assert_int_equal(rd32(zp, 0x218), (MEM_SIZE - sizeof(rd)) & ~0xfffull);
	assert_int_equal(rd32(zp, 0x21c), sizeof(rd));
	assert_int_equal(rd32(zp, 0x0c0), 0);
	assert_int_equal(rd32(zp, 0x0c4), 0);
	assert_int_equal(rd16(zp, 0x1fe), 0xaa55);
	assert_int_equal(rd32(zp, 0x230), 0x200000);
	/* Outside the setup header, the zero page is zero (apart from e820). */
	for (size_t off = 0; off < 0x1e8; off++)
		if (off < 0x0c0 || off >= 0x0cc)
			assert_int_equal(zp[off], 0);

	/* e820 table: the same map e820_build gives. */
	n = e820_build(&a->gm, map, E820_MAX_ENTRIES);
	assert_int_equal(n, 5);
	assert_int_equal(zp[0x1e8], n);
	for (int i = 0; i < n; i++) {
		assert_int_equal(rd64(zp, 0x2d0 + 20 * i), map[i].addr);
		assert_int_equal(rd64(zp, 0x2d0 + 20 * i + 8), map[i].size);
		assert_int_equal(rd32(zp, 0x2d0 + 20 * i + 16), map[i].type);
	}
	assert_int_equal(rd64(zp, 0x2d0 + 20 * n), 0);
	free(img);
	arena_free(a);
}

/* The header length comes from the jump at 0x200, bounded to the header's room. */
static void test_setup_header_length(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0xAA);
	struct boot_entry e;
	char err[256];
	size_t len;
	uint8_t *img = make_bzimage(&len, 0x66);
	const uint8_t *zp = a->ram + BOOT_ZERO_PAGE_ADDR;
	struct boot_input in = { .mem = &a->gm, .kernel = img, .kernel_len = len };

	/* Header ends at 0x268: filler at 0x268.. is not copied. */
	assert_int_equal(boot_load_bzimage(&in, &e, err, sizeof(err)), 0);
	assert_int_equal(zp[0x267], 0x77);
	assert_int_equal(zp[0x268], 0);
	assert_int_equal(zp[0x28f], 0);
	free(img);

	/* A jump far beyond the header: the copy stops at 0x290. */
	img = make_bzimage(&len, 0xff);
	in.kernel = img;
	assert_int_equal(boot_load_bzimage(&in, &e, err, sizeof(err)), 0);
	assert_int_equal(zp[0x28f], 0x77);
	for (size_t off = 0x290; off < 0x2d0; off++)
		assert_int_equal(zp[off], 0);
	free(img);
	arena_free(a);
}

static void test_e820_small(void **state)
{
	struct arena *a = arena_new(16 * MiB, 0xAA);
	struct e820_entry map[E820_MAX_ENTRIES];

	assert_int_equal(e820_build(&a->gm, map, E820_MAX_ENTRIES), 5);
	check_entry(&map[0], 0, 0x9fc00, E820_RAM);
	check_entry(&map[1], 0x9fc00, 0x100000 - 0x9fc00, E820_RESERVED);
	check_entry(&map[2], 0x100000, 15 * MiB, E820_RAM);
	check_entry(&map[3], 0xfec00000, 0x1000, E820_RESERVED);
	check_entry(&map[4], 0xfee00000, 0x1000, E820_RESERVED);
	/* Too small an output array. */
	assert_int_equal(e820_build(&a->gm, map, 4), -ENOSPC);
	arena_free(a);

	/* Exactly 1 MiB: nothing above it. */
	a = arena_new(1 * MiB, 0xAA);
	assert_int_equal(e820_build(&a->gm, map, E820_MAX_ENTRIES), 4);
	check_entry(&map[2], 0xfec00000, 0x1000, E820_RESERVED);
	arena_free(a);
}

static void test_e820_high(void **state)
{
	struct guest_mem gm = { 0 };
	struct e820_entry map[E820_MAX_ENTRIES];
	uint64_t low = 3 * GiB, high = 2 * GiB, high2 = 1 * GiB;
	void *p0 = reserve(low), *p1 = reserve(high), *p2 = reserve(high2);

	assert_int_equal(gm_add_region(&gm, 0, low, p0, -1, 0), 0);
	assert_int_equal(gm_add_region(&gm, 4 * GiB, high, p1, -1, 0), 0);
	assert_int_equal(gm_add_region(&gm, 8 * GiB, high2, p2, -1, 0), 0);
	assert_int_equal(e820_build(&gm, map, E820_MAX_ENTRIES), 7);
	check_entry(&map[0], 0, 0x9fc00, E820_RAM);
	check_entry(&map[1], 0x9fc00, 0x60400, E820_RESERVED);
	check_entry(&map[2], 1 * MiB, 3 * GiB - 1 * MiB, E820_RAM);
	check_entry(&map[3], 0xfec00000, 0x1000, E820_RESERVED);
	check_entry(&map[4], 0xfee00000, 0x1000, E820_RESERVED);
	check_entry(&map[5], 4 * GiB, 2 * GiB, E820_RAM);
	check_entry(&map[6], 8 * GiB, 1 * GiB, E820_RAM);
	/* Sorted and disjoint. */
	for (int i = 1; i < 7; i++)
		assert_true(map[i - 1].addr + map[i - 1].size <= map[i].addr);
	munmap(p0, low);
	munmap(p1, high);
	munmap(p2, high2);
}

static void test_e820_refused(void **state)
{
	struct guest_mem gm = { 0 };
	struct e820_entry map[E820_MAX_ENTRIES];
	void *p = reserve(0xff000000ull);

	/* No region at 0. */
	assert_int_equal(gm_add_region(&gm, 1 * MiB, 16 * MiB, p, -1, 0), 0);
	assert_int_equal(e820_build(&gm, map, E820_MAX_ENTRIES), -EINVAL);
	/* Less than 1 MiB at 0. */
	memset(&gm, 0, sizeof(gm));
	assert_int_equal(gm_add_region(&gm, 0, 512 * KiB, p, -1, 0), 0);
	assert_int_equal(e820_build(&gm, map, E820_MAX_ENTRIES), -EINVAL);
	/* Low RAM running over the IOAPIC. */
	memset(&gm, 0, sizeof(gm));
	assert_int_equal(gm_add_region(&gm, 0, 0xff000000ull, p, -1, 0), 0);
	assert_int_equal(e820_build(&gm, map, E820_MAX_ENTRIES), -EINVAL);
	/* A second region over the local APIC. */
	memset(&gm, 0, sizeof(gm));
	assert_int_equal(gm_add_region(&gm, 0, 16 * MiB, p, -1, 0), 0);
	assert_int_equal(gm_add_region(&gm, 0xfee00000ull, 1 * MiB, p, -1, 0), 0);
	assert_int_equal(e820_build(&gm, map, E820_MAX_ENTRIES), -EINVAL);
	/* No memory at all, no output. */
	memset(&gm, 0, sizeof(gm));
	assert_int_equal(e820_build(&gm, map, E820_MAX_ENTRIES), -EINVAL);
	assert_int_equal(e820_build(NULL, map, E820_MAX_ENTRIES), -EINVAL);
	munmap(p, 0xff000000ull);
}

static void test_page_tables_and_gdt(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0xAA);
	struct boot_entry e;
	char err[256];
	size_t len;
	uint8_t *img = make_bzimage(&len, 0x66);
	struct boot_input in = { .mem = &a->gm, .kernel = img, .kernel_len = len };
	const uint8_t *pml4 = a->ram + BOOT_PML4_ADDR;
	const uint8_t *pdpt = a->ram + 0xa000;
	const uint8_t *gdt = a->ram + BOOT_GDT_ADDR;

	assert_int_equal(boot_load_bzimage(&in, &e, err, sizeof(err)), 0);
	assert_int_equal(e.cr3, 0x9000);
	assert_int_equal(rd64(pml4, 0), 0xa000 | 3);
	for (int i = 1; i < 512; i++)
		assert_int_equal(rd64(pml4, 8 * i), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(rd64(pdpt, 8 * i), (0xb000 + 0x1000ull * i) | 3);
	for (int i = 4; i < 512; i++)
		assert_int_equal(rd64(pdpt, 8 * i), 0);
	for (int pd = 0; pd < 4; pd++) {
		const uint8_t *dir = a->ram + 0xb000 + 0x1000 * pd;

		for (int i = 0; i < 512; i++) {
			uint64_t addr = ((uint64_t)pd * 512 + i) * 2 * MiB;

			assert_int_equal(rd64(dir, 8 * i), addr | 0x83);
		}
	}
	/* 4 GiB - 2 MiB is the last page mapped. */
	assert_int_equal(rd64(a->ram + 0xe000, 8 * 511), 0xffe00083ull);

	assert_int_equal(e.gdt_base, BOOT_GDT_ADDR);
	assert_int_equal(e.gdt_limit, 4 * 8 - 1);
	assert_int_equal(rd64(gdt, 0), 0);
	assert_int_equal(rd64(gdt, 8), 0);
	assert_int_equal(rd64(gdt, BOOT_CS_SELECTOR), 0x00af9b000000ffffull);
	assert_int_equal(rd64(gdt, BOOT_DS_SELECTOR), 0x00cf93000000ffffull);
	/* Long-mode code segment: L set, D clear, present, DPL 0. */
	assert_int_equal((rd64(gdt, 0x10) >> 53) & 1, 1);
	assert_int_equal((rd64(gdt, 0x10) >> 54) & 1, 0);
	free(img);
	arena_free(a);
}

/* Guest RAM in two regions: the loader still finds low RAM for everything. */
static void test_with_high_region(void **state)
{
	struct guest_mem gm = { 0 };
	uint8_t *low = malloc(MEM_SIZE), *high = malloc(2 * MiB);
	struct boot_entry e;
	char err[256];
	size_t len;
	uint8_t *img = make_bzimage(&len, 0x66);
	uint8_t rd[4096];
	struct boot_input in = {
		.mem = &gm,
		.kernel = img,
		.kernel_len = len,
		.initrd = rd,
		.initrd_len = 4096,
	};
	const uint8_t *zp;

	assert_non_null(low);
	assert_non_null(high);
	assert_int_equal(gm_add_region(&gm, 0, MEM_SIZE, low, -1, 0), 0);
	assert_int_equal(gm_add_region(&gm, 4 * GiB, 2 * MiB, high, -1, 0), 0);
	memset(rd, 1, sizeof(rd));
	assert_int_equal(boot_load(&in, &e, err, sizeof(err)), 0);
	zp = low + BOOT_ZERO_PAGE_ADDR;
	assert_int_equal(zp[0x1e8], 6);
	assert_int_equal(rd64(zp, 0x2d0 + 20 * 5), 4 * GiB);
	assert_int_equal(rd64(zp, 0x2d0 + 20 * 5 + 8), 2 * MiB);
	assert_int_equal(rd32(zp, 0x2d0 + 20 * 5 + 16), E820_RAM);
	/* The initrd stays in low RAM. */
	assert_int_equal(rd32(zp, 0x218), MEM_SIZE - 4096);
	free(img);
	free(low);
	free(high);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boot_params_fields),
		cmocka_unit_test(test_setup_header_length),
		cmocka_unit_test(test_e820_small),
		cmocka_unit_test(test_e820_high),
		cmocka_unit_test(test_e820_refused),
		cmocka_unit_test(test_page_tables_and_gdt),
		cmocka_unit_test(test_with_high_region),
	};
	/* clang-format on */

	log_set_level(LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
