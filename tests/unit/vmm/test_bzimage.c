/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bzImage loader: header parsing and refusal of bad images, with synthetic
 * bzImages built here (the tests need no real kernel).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/support/testutil.h"

#include "common/guestmem.h"
#include "common/log.h"
#include "vmm/boot.h"

#define MEM_SIZE (64 * MiB)
#define PAGE 4096u

/* What the synthetic image says about itself. */
struct bz_opts {
	uint8_t setup_sects; /* as written in the header (0 = 4) */
	uint16_t version;
	uint16_t xloadflags;
	uint8_t loadflags;
	uint32_t cmdline_size;
	uint32_t initrd_addr_max;
	uint32_t init_size;
	size_t pm_len;
};

static const struct bz_opts good_opts = {
	.setup_sects = 8,
	.version = 0x020f,
	.xloadflags = 0x0003, /* XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G */
	.loadflags = 0x01,    /* LOADED_HIGH */
	.cmdline_size = 2047,
	.initrd_addr_max = 0x7fffffff,
	.init_size = 0x400000,
	.pm_len = 0x12345,
};

static uint8_t pm_byte(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

static uint8_t *make_bzimage(const struct bz_opts *o, size_t *len)
{
	unsigned int sects = o->setup_sects ? o->setup_sects : 4;
	size_t setup = (sects + 1) * 512u;
	uint8_t *img;

	*len = setup + o->pm_len;
	img = calloc(1, *len);
	assert_non_null(img);
	for (size_t i = 0; i < setup; i++)
		img[i] = 0x5c; /* setup code filler: must not reach the guest */
	memset(img + 0x1f1, 0, 0x290 - 0x1f1);
	img[0x1f1] = o->setup_sects;
	wr32(img, 0x1f4, (uint32_t)(o->pm_len / 16));
	wr16(img, 0x1fa, 0xffff); /* vid_mode */
	wr16(img, 0x1fe, 0xaa55);
	img[0x200] = 0xeb;
	img[0x201] = 0x66; /* header ends at 0x268 */
	memcpy(img + 0x202, "HdrS", 4);
	wr16(img, 0x206, o->version);
	img[0x211] = o->loadflags;
	wr32(img, 0x214, 0x100000); /* code32_start */
	wr32(img, 0x22c, o->initrd_addr_max);
	wr32(img, 0x230, 0x200000); /* kernel_alignment */
	img[0x234] = 1;		    /* relocatable_kernel */
	wr16(img, 0x236, o->xloadflags);
	wr32(img, 0x238, o->cmdline_size);
	wr32(img, 0x260, o->init_size);
	for (size_t i = 0; i < o->pm_len; i++)
		img[setup + i] = pm_byte(i);
	return img;
}

static int load(struct arena *a, const uint8_t *img, size_t len, const char *cmdline,
		const uint8_t *initrd, size_t initrd_len, struct boot_entry *e, char *err,
		size_t err_len)
{
	struct boot_input in = {
		.mem = &a->gm,
		.kernel = img,
		.kernel_len = len,
		.initrd = initrd,
		.initrd_len = initrd_len,
		.cmdline = cmdline,
	};

	err[0] = 0;
	return boot_load_bzimage(&in, e, err, err_len);
}

static void test_good_image(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0xAA);
	struct boot_entry e;
	char err[256];
	size_t len;
	uint8_t *img = make_bzimage(&good_opts, &len);
	const uint8_t *zp = a->ram + BOOT_ZERO_PAGE_ADDR;
	struct boot_input in = { .mem = &a->gm, .kernel = img, .kernel_len = len };

	assert_int_equal(boot_is_bzimage(img, len), 1);
	assert_int_equal(boot_is_pvh(img, len), 0);
	assert_int_equal(load(a, img, len, "console=ttyS0", NULL, 0, &e, err, sizeof(err)), 0);
	assert_int_equal(e.kind, BOOT_KIND_BZIMAGE);
	assert_int_equal(e.rip, 0x100200);
	assert_int_equal(e.rsi, BOOT_ZERO_PAGE_ADDR);
	assert_int_equal(e.cr3, BOOT_PML4_ADDR);
	assert_true(e.long_mode);
	assert_int_equal(e.gdt_base, BOOT_GDT_ADDR);
	assert_int_equal(e.gdt_limit, 31);

	/* Protected-mode code at 1 MiB, nothing of the setup code. */
	for (size_t i = 0; i < good_opts.pm_len; i++)
		if (a->ram[0x100000 + i] != pm_byte(i))
			fail_msg("kernel byte %zu differs", i);
	/* Setup header copied into boot_params. */
	assert_memory_equal(zp + 0x202, "HdrS", 4);
	assert_int_equal(rd16(zp, 0x206), 0x020f);
	assert_int_equal(rd32(zp, 0x230), 0x200000);
	assert_int_equal(zp[0x234], 1);
	assert_int_equal(rd32(zp, 0x260), good_opts.init_size);
	assert_int_equal(rd32(zp, 0x218), 0); /* no initrd */
	assert_int_equal(rd32(zp, 0x21c), 0);
	assert_string_equal((const char *)a->ram + BOOT_CMDLINE_ADDR, "console=ttyS0");

	/* The dispatcher picks the same loader. */
	memset(&e, 0, sizeof(e));
	assert_int_equal(boot_load(&in, &e, err, sizeof(err)), 0);
	assert_int_equal(e.kind, BOOT_KIND_BZIMAGE);
	free(img);
	arena_free(a);
}

static void test_bad_magic(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0xAA);
	struct boot_entry e;
	char err[256];
	size_t len;
	uint8_t *img = make_bzimage(&good_opts, &len);
	struct boot_input in = { .mem = &a->gm, .kernel = img, .kernel_len = len };

	memcpy(img + 0x202, "HdrX", 4);
	assert_int_equal(boot_is_bzimage(img, len), 0);
	assert_int_equal(load(a, img, len, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "HdrS"));
	assert_int_equal(boot_load(&in, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "nor a bzImage"));
	/* Nothing at all. */
	in.kernel_len = 3;
	assert_int_equal(boot_load(&in, &e, err, sizeof(err)), -ENOEXEC);
	assert_int_equal(boot_is_bzimage(img, 0), 0);
	free(img);
	arena_free(a);
}

static void test_old_protocol(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0xAA);
	struct bz_opts o = good_opts;
	struct boot_entry e;
	char err[256];
	size_t len;
	uint8_t *img;

	o.version = 0x0209;
	img = make_bzimage(&o, &len);
	assert_int_equal(load(a, img, len, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "bzImage boot protocol 2.09 too old"));
	free(img);
	/* Versions are numbered in decimal: 0x020b is 2.11. */
	o.version = 0x020b;
	img = make_bzimage(&o, &len);
	assert_int_equal(load(a, img, len, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "bzImage boot protocol 2.11 too old"));
	free(img);
	/* 2.12 is the first accepted version. */
	o.version = 0x020c;
	img = make_bzimage(&o, &len);
	assert_int_equal(load(a, img, len, NULL, NULL, 0, &e, err, sizeof(err)), 0);
	free(img);
	arena_free(a);
}

static void test_no_kernel64(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0xAA);
	struct bz_opts o = good_opts;
	struct boot_entry e;
	char err[256];
	size_t len;
	uint8_t *img;

	o.xloadflags = 0x0002;
	img = make_bzimage(&o, &len);
	assert_int_equal(load(a, img, len, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "XLF_KERNEL_64"));
	free(img);
	/* A zImage (not loaded high) is refused too. */
	o = good_opts;
	o.loadflags = 0;
	img = make_bzimage(&o, &len);
	assert_int_equal(load(a, img, len, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "LOADED_HIGH"));
	free(img);
	arena_free(a);
}

static void test_truncated(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0xAA);
	struct boot_entry e;
	char err[256];
	size_t len;
	uint8_t *img = make_bzimage(&good_opts, &len);
	size_t setup = (good_opts.setup_sects + 1) * 512u;

	/* Cut inside the setup header. */
	assert_int_equal(load(a, img, 0x230, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "truncated"));
	/* Cut just after the magic, before the version. */
	assert_int_equal(load(a, img, 0x207, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "truncated"));
	/* Cut inside the setup code. */
	assert_int_equal(load(a, img, 0x400, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "truncated"));
	/* Setup complete, no kernel at all. */
	assert_int_equal(load(a, img, setup, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "truncated"));
	/* Kernel shorter than syssize says. */
	assert_int_equal(load(a, img, setup + 0x1000, NULL, NULL, 0, &e, err, sizeof(err)),
			 -ENOEXEC);
	assert_non_null(strstr(err, "truncated"));
	/* Too short for the magic: not a bzImage. */
	assert_int_equal(boot_is_bzimage(img, 0x205), 0);
	assert_int_equal(load(a, img, 0x205, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	free(img);
	arena_free(a);
}

static void test_setup_sects_zero(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0xAA);
	struct bz_opts o = good_opts;
	struct boot_entry e;
	char err[256];
	size_t len;
	uint8_t *img;

	o.setup_sects = 0; /* means 4: the kernel starts at 5 * 512 */
	img = make_bzimage(&o, &len);
	assert_int_equal(len, 5 * 512 + o.pm_len);
	assert_int_equal(load(a, img, len, NULL, NULL, 0, &e, err, sizeof(err)), 0);
	assert_int_equal(a->ram[0x100000], pm_byte(0));
	assert_int_equal(a->ram[0x100000 + o.pm_len - 1], pm_byte(o.pm_len - 1));
	free(img);
	arena_free(a);
}

static void test_cmdline_too_long(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0xAA);
	struct bz_opts o = good_opts;
	struct boot_entry e;
	char err[256];
	char *line;
	size_t len;
	uint8_t *img;

	o.cmdline_size = 16;
	img = make_bzimage(&o, &len);
	assert_int_equal(load(a, img, len, "0123456789abcdefX", NULL, 0, &e, err, sizeof(err)),
			 -E2BIG);
	assert_non_null(strstr(err, "at most 16"));
	assert_int_equal(load(a, img, len, "0123456789abcdef", NULL, 0, &e, err, sizeof(err)), 0);
	assert_string_equal((const char *)a->ram + BOOT_CMDLINE_ADDR, "0123456789abcdef");
	free(img);

	/* The kernel takes anything, the loader's area does not. */
	o.cmdline_size = 0xffffffff;
	img = make_bzimage(&o, &len);
	line = malloc(BOOT_CMDLINE_MAX + 1);
	assert_non_null(line);
	memset(line, 'x', BOOT_CMDLINE_MAX);
	line[BOOT_CMDLINE_MAX] = 0;
	assert_int_equal(load(a, img, len, line, NULL, 0, &e, err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "too long"));
	line[BOOT_CMDLINE_MAX - 1] = 0;
	assert_int_equal(load(a, img, len, line, NULL, 0, &e, err, sizeof(err)), 0);
	assert_int_equal(strlen((const char *)a->ram + BOOT_CMDLINE_ADDR), BOOT_CMDLINE_MAX - 1);
	free(line);
	free(img);
	arena_free(a);
}

static uint8_t *make_initrd(size_t len)
{
	uint8_t *p = malloc(len);

	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 13 + 1);
	return p;
}

static void test_initrd_placement(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0xAA);
	struct bz_opts o = good_opts;
	struct boot_entry e;
	char err[256];
	size_t len, rd_len = 100000;
	uint8_t *img = make_bzimage(&o, &len), *rd = make_initrd(rd_len);
	const uint8_t *zp = a->ram + BOOT_ZERO_PAGE_ADDR;
	uint32_t addr;

	/* As high as low RAM allows. */
	assert_int_equal(load(a, img, len, NULL, rd, rd_len, &e, err, sizeof(err)), 0);
	addr = rd32(zp, 0x218);
	assert_int_equal(addr % PAGE, 0);
	assert_int_equal(addr, (MEM_SIZE - rd_len) & ~(uint64_t)(PAGE - 1));
	assert_int_equal(rd32(zp, 0x21c), rd_len);
	assert_int_equal(rd32(zp, 0x0c0), 0);
	assert_int_equal(rd32(zp, 0x0c4), 0);
	assert_memory_equal(a->ram + addr, rd, rd_len);
	free(img);

	/* Below initrd_addr_max (the last byte may sit at it). */
	o.initrd_addr_max = 0x1ffffff;
	img = make_bzimage(&o, &len);
	assert_int_equal(load(a, img, len, NULL, rd, rd_len, &e, err, sizeof(err)), 0);
	addr = rd32(zp, 0x218);
	assert_int_equal(addr % PAGE, 0);
	assert_true(addr + rd_len - 1 <= 0x1ffffff);
	assert_true(addr + PAGE + rd_len - 1 > 0x1ffffff);
	assert_memory_equal(a->ram + addr, rd, rd_len);
	free(img);

	/* Above the kernel's init_size: refused when the space between is too small. */
	o = good_opts;
	o.init_size = 60 * MiB;
	img = make_bzimage(&o, &len);
	free(rd);
	rd_len = 4 * MiB;
	rd = make_initrd(rd_len);
	assert_int_equal(load(a, img, len, NULL, rd, rd_len, &e, err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "initrd"));
	assert_non_null(strstr(err, "does not fit"));
	/* 2 MiB fits exactly between 61 MiB and 64 MiB. */
	assert_int_equal(load(a, img, len, NULL, rd, 2 * MiB, &e, err, sizeof(err)), 0);
	addr = rd32(zp, 0x218);
	assert_true(addr >= 0x100000 + 60 * MiB);
	free(img);

	/* initrd_addr_max below the kernel end. */
	o = good_opts;
	o.initrd_addr_max = 0x200000;
	img = make_bzimage(&o, &len);
	assert_int_equal(load(a, img, len, NULL, rd, rd_len, &e, err, sizeof(err)), -ENOSPC);
	free(img);
	free(rd);
	arena_free(a);
}

static void test_kernel_too_big(void **state)
{
	struct arena *a = arena_new(8 * MiB, 0xAA);
	struct bz_opts o = good_opts;
	struct boot_entry e;
	char err[256];
	size_t len;
	uint8_t *img;

	o.init_size = 16 * MiB;
	img = make_bzimage(&o, &len);
	assert_int_equal(load(a, img, len, NULL, NULL, 0, &e, err, sizeof(err)), -ENOMEM);
	assert_non_null(strstr(err, "init_size"));
	free(img);
	o.init_size = 0xffffffff;
	img = make_bzimage(&o, &len);
	assert_int_equal(load(a, img, len, NULL, NULL, 0, &e, err, sizeof(err)), -ENOMEM);
	free(img);
	arena_free(a);
}

/* Random header fields around a valid magic: any result but a crash. */
static void test_garbage_headers(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0xAA);
	struct boot_entry e;
	char err[256];
	uint8_t rd[5000];
	size_t len;
	uint8_t *img = make_bzimage(&good_opts, &len);
	uint8_t *copy = malloc(len);
	unsigned int seed = 12345;

	assert_non_null(copy);
	memset(rd, 0x42, sizeof(rd));
	for (int iter = 0; iter < 3000; iter++) {
		size_t cut;

		memcpy(copy, img, len);
		for (int k = 0; k < 12; k++) {
			size_t off = 0x1f1 + (size_t)(rand_r(&seed) % (0x290 - 0x1f1));

			if (off >= 0x202 && off < 0x206)
				continue; /* keep the magic */
			copy[off] = (uint8_t)rand_r(&seed);
		}
		cut = (iter % 3) ? len : 0x206 + (size_t)rand_r(&seed) % (len - 0x206);
		/* Every refusal says why. */
		if (load(a, copy, cut, "x", (iter & 1) ? rd : NULL, sizeof(rd), &e, err,
			 sizeof(err)))
			assert_true(err[0] != 0);
		assert_true(strlen(err) < sizeof(err));
	}
	free(copy);
	free(img);
	arena_free(a);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_image),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_old_protocol),
		cmocka_unit_test(test_no_kernel64),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_setup_sects_zero),
		cmocka_unit_test(test_cmdline_too_long),
		cmocka_unit_test(test_initrd_placement),
		cmocka_unit_test(test_kernel_too_big),
		cmocka_unit_test(test_garbage_headers),
	};
	/* clang-format on */

	log_set_level(LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
