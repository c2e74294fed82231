/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PVH loader: synthetic ELF32 and ELF64 kernels with a Xen PHYS32_ENTRY note,
 * built here. The start info is read back by its ABI offsets, not through the
 * loader's own structures, so a layout mistake there shows up here.
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
#include "vmm/boot.h"

#define MEM_SIZE (64 * MiB)

/* File layout of the synthetic kernels. */
#define NOTE_OFF 0x200
#define TEXT_OFF 0x1000
#define TEXT_LEN 0x1800
#define DATA_OFF 0x3000
#define DATA_LEN 0x800
#define DATA_MEMSZ 0x4000
#define SHDR_OFF 0x3800
#define FILE_LEN (SHDR_OFF + 2 * sizeof(Elf64_Shdr))
#define TEXT_PADDR 0x100000ull
#define DATA_PADDR 0x200000ull
#define ENTRY 0x100040ull
#define AUTO UINT64_MAX

struct t_phdr {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz, align;
};

struct t_elf {
	bool is64;
	uint8_t data_enc;
	uint16_t machine;
	uint64_t phoff;
	unsigned int phnum, phentsize;
	struct t_phdr ph[4];
	bool sections; /* a section header table with one SHT_NOTE */
	bool pvh_note; /* the PHYS32_ENTRY note is present */
	uint32_t pvh_type;
	uint32_t descsz;
	uint64_t entry;
	unsigned int note_align;
};

static struct t_elf default_elf(bool is64)
{
	struct t_elf t = {
		.is64 = is64,
		.data_enc = ELFDATA2LSB,
		.machine = is64 ? EM_X86_64 : EM_386,
		.phoff = 0x40,
		.phnum = 3,
		.phentsize = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr),
		.ph = {
			{ PT_LOAD, TEXT_OFF, TEXT_PADDR, TEXT_LEN, TEXT_LEN, 0x1000 },
			{ PT_LOAD, DATA_OFF, DATA_PADDR, DATA_LEN, DATA_MEMSZ, 0x1000 },
			{ PT_NOTE, NOTE_OFF, 0, AUTO, AUTO, 4 },
		},
		.pvh_note = true,
		.pvh_type = 18,
		.descsz = is64 ? 8 : 4,
		.entry = ENTRY,
		.note_align = 4,
	};
	return t;
}

static size_t put_note(uint8_t *p, const char *name, uint32_t namesz, uint32_t type,
		       const void *desc, uint32_t descsz, uint32_t align)
{
	Elf32_Nhdr nh = { .n_namesz = namesz, .n_descsz = descsz, .n_type = type };
	size_t pos = sizeof(nh);

	memcpy(p, &nh, sizeof(nh));
	memcpy(p + pos, name, namesz);
	pos += (namesz + align - 1) / align * align;
	memcpy(p + pos, desc, descsz);
	pos += (descsz + align - 1) / align * align;
	return pos;
}

/* A build-id note, another Xen note, then (optionally) the PVH entry note. */
static size_t build_notes(uint8_t *p, const struct t_elf *t)
{
	static const uint8_t build_id[20] = { 1, 2, 3, 4, 5 };
	uint64_t entry = t->entry;
	size_t n = 0;

	n += put_note(p + n, "GNU", 4, NT_GNU_BUILD_ID, build_id, sizeof(build_id), t->note_align);
	n += put_note(p + n, "Xen", 4, 6 /* GUEST_OS */, "linux", 6, t->note_align);
	if (t->pvh_note)
		n += put_note(p + n, "Xen", 4, t->pvh_type, &entry, t->descsz, t->note_align);
	return n;
}

static uint8_t text_byte(size_t i)
{
	return (uint8_t)(i * 3 + 1);
}

static uint8_t data_byte(size_t i)
{
	return (uint8_t)(i * 5 + 2);
}

/* Program header i of `size` bytes lies inside the file (tests place some outside). */
static bool phdr_fits(const struct t_elf *t, unsigned int i, size_t size)
{
	return t->phoff < FILE_LEN && (uint64_t)i * t->phentsize + size <= FILE_LEN - t->phoff;
}

static uint8_t *build_elf(const struct t_elf *t, size_t *len)
{
	uint8_t *f = calloc(1, FILE_LEN);
	size_t note_len;

	assert_non_null(f);
	*len = FILE_LEN;
	note_len = build_notes(f + NOTE_OFF, t);
	assert_true(NOTE_OFF + note_len <= TEXT_OFF);
	for (size_t i = 0; i < TEXT_LEN; i++)
		f[TEXT_OFF + i] = text_byte(i);
	for (size_t i = 0; i < DATA_LEN; i++)
		f[DATA_OFF + i] = data_byte(i);

	if (t->is64) {
		Elf64_Ehdr eh = {
			.e_type = ET_EXEC,
			.e_machine = t->machine,
			.e_version = EV_CURRENT,
			.e_entry = 0xffffffff81000000ull,
			.e_phoff = t->phoff,
			.e_ehsize = sizeof(Elf64_Ehdr),
			.e_phentsize = t->phentsize,
			.e_phnum = t->phnum,
		};

		memcpy(eh.e_ident, ELFMAG, SELFMAG);
		eh.e_ident[EI_CLASS] = ELFCLASS64;
		eh.e_ident[EI_DATA] = t->data_enc;
		eh.e_ident[EI_VERSION] = EV_CURRENT;
		if (t->sections) {
			Elf64_Shdr sh[2] = { { 0 } };

			eh.e_shoff = SHDR_OFF;
			eh.e_shnum = 2;
			eh.e_shentsize = sizeof(Elf64_Shdr);
			sh[1].sh_type = SHT_NOTE;
			sh[1].sh_offset = NOTE_OFF;
			sh[1].sh_size = note_len;
			sh[1].sh_addralign = t->note_align;
			memcpy(f + SHDR_OFF, sh, sizeof(sh));
		}
		memcpy(f, &eh, sizeof(eh));
		for (unsigned int i = 0; i < t->phnum && i < 4; i++) {
			const struct t_phdr *s = &t->ph[i];
			Elf64_Phdr ph = {
				.p_type = s->type,
				.p_offset = s->offset,
				.p_paddr = s->paddr,
				.p_vaddr = s->paddr + 0xffffffff80000000ull,
				.p_filesz = s->filesz == AUTO ? note_len : s->filesz,
				.p_memsz = s->memsz == AUTO ? note_len : s->memsz,
				.p_align = s->align,
			};

			if (phdr_fits(t, i, sizeof(ph)))
				memcpy(f + t->phoff + i * t->phentsize, &ph, sizeof(ph));
		}
	} else {
		Elf32_Ehdr eh = {
			.e_type = ET_EXEC,
			.e_machine = t->machine,
			.e_version = EV_CURRENT,
			.e_entry = (uint32_t)ENTRY,
			.e_phoff = (uint32_t)t->phoff,
			.e_ehsize = sizeof(Elf32_Ehdr),
			.e_phentsize = t->phentsize,
			.e_phnum = t->phnum,
		};

		memcpy(eh.e_ident, ELFMAG, SELFMAG);
		eh.e_ident[EI_CLASS] = ELFCLASS32;
		eh.e_ident[EI_DATA] = t->data_enc;
		eh.e_ident[EI_VERSION] = EV_CURRENT;
		if (t->sections) {
			Elf32_Shdr sh[2] = { { 0 } };

			eh.e_shoff = SHDR_OFF;
			eh.e_shnum = 2;
			eh.e_shentsize = sizeof(Elf32_Shdr);
			sh[1].sh_type = SHT_NOTE;
			sh[1].sh_offset = NOTE_OFF;
			sh[1].sh_size = (uint32_t)note_len;
			sh[1].sh_addralign = t->note_align;
			memcpy(f + SHDR_OFF, sh, sizeof(sh));
		}
		memcpy(f, &eh, sizeof(eh));
		for (unsigned int i = 0; i < t->phnum && i < 4; i++) {
			const struct t_phdr *s = &t->ph[i];
			Elf32_Phdr ph = {
				.p_type = s->type,
				.p_offset = (uint32_t)s->offset,
				.p_paddr = (uint32_t)s->paddr,
				.p_vaddr = (uint32_t)s->paddr,
				.p_filesz = (uint32_t)(s->filesz == AUTO ? note_len : s->filesz),
				.p_memsz = (uint32_t)(s->memsz == AUTO ? note_len : s->memsz),
				.p_align = (uint32_t)s->align,
			};

			if (phdr_fits(t, i, sizeof(ph)))
				memcpy(f + t->phoff + i * t->phentsize, &ph, sizeof(ph));
		}
	}
	return f;
}

static int load_elf(struct arena *a, const struct t_elf *t, const char *cmdline,
		    const uint8_t *initrd, size_t initrd_len, struct boot_entry *e, char *err,
		    size_t err_len)
{
	size_t len;
	uint8_t *img = build_elf(t, &len);
	struct boot_input in = {
		.mem = &a->gm,
		.kernel = img,
		.kernel_len = len,
		.initrd = initrd,
		.initrd_len = initrd_len,
		.cmdline = cmdline,
	};
	int ret;

	err[0] = 0;
	ret = boot_load_pvh(&in, e, err, err_len);
	free(img);
	return ret;
}

static void check_segments(const struct arena *a)
{
	for (size_t i = 0; i < TEXT_LEN; i++)
		if (a->ram[TEXT_PADDR + i] != text_byte(i))
			fail_msg("text byte %zu differs", i);
	for (size_t i = 0; i < DATA_LEN; i++)
		if (a->ram[DATA_PADDR + i] != data_byte(i))
			fail_msg("data byte %zu differs", i);
	for (size_t i = DATA_LEN; i < DATA_MEMSZ; i++)
		if (a->ram[DATA_PADDR + i] != 0)
			fail_msg("bss byte %zu not zeroed", i);
	/* Nothing written past the segments. */
	assert_int_equal(a->ram[TEXT_PADDR + TEXT_LEN], 0xAA);
	assert_int_equal(a->ram[DATA_PADDR + DATA_MEMSZ], 0xAA);
}

static void check_start_info(const struct arena *a, uint32_t nr_modules)
{
	const uint8_t *si = a->ram + BOOT_START_INFO_ADDR;
	struct e820_entry map[E820_MAX_ENTRIES];
	uint64_t memmap;
	int n;

	assert_int_equal(rd32(si, 0), 0x336ec578);
	assert_int_equal(rd32(si, 4), 1);
	assert_int_equal(rd32(si, 8), 0);
	assert_int_equal(rd32(si, 12), nr_modules);
	assert_int_equal(rd64(si, 24), BOOT_CMDLINE_ADDR);
	assert_int_equal(rd64(si, 32), 0); /* no ACPI */
	if (!nr_modules)
		assert_int_equal(rd64(si, 16), 0);

	n = e820_build(&a->gm, map, E820_MAX_ENTRIES);
	assert_true(n > 0);
	assert_int_equal(rd32(si, 48), n);
	memmap = rd64(si, 40);
	assert_true(memmap >= BOOT_START_INFO_ADDR + 56);
	assert_true(memmap + 24 * (uint64_t)n <= BOOT_ZERO_PAGE_ADDR);
	for (int i = 0; i < n; i++) {
		const uint8_t *m = a->ram + memmap + 24 * i;

		assert_int_equal(rd64(m, 0), map[i].addr);
		assert_int_equal(rd64(m, 8), map[i].size);
		assert_int_equal(rd32(m, 16), map[i].type);
		assert_int_equal(rd32(m, 20), 0);
	}
}

static void test_elf64_load(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0xAA);
	struct t_elf t = default_elf(true);
	struct boot_entry e;
	char err[256];
	const uint8_t *gdt = a->ram + BOOT_GDT_ADDR;

	assert_int_equal(
		load_elf(a, &t, "console=ttyS0 root=/dev/vda", NULL, 0, &e, err, sizeof(err)), 0);
	assert_int_equal(e.kind, BOOT_KIND_PVH);
	assert_int_equal(e.rip, ENTRY);
	assert_int_equal(e.rbx, BOOT_START_INFO_ADDR);
	assert_int_equal(e.cr3, 0);
	assert_false(e.long_mode);
	assert_int_equal(e.gdt_base, BOOT_GDT_ADDR);
	assert_int_equal(e.gdt_limit, 31);
	assert_int_equal(rd64(gdt, 0), 0);
	assert_int_equal(rd64(gdt, 8), 0);
	assert_int_equal(rd64(gdt, 0x10), 0x00cf9b000000ffffull);
	assert_int_equal(rd64(gdt, 0x18), 0x00cf93000000ffffull);

	check_start_info(a, 0);
	assert_string_equal((const char *)a->ram + BOOT_CMDLINE_ADDR,
			    "console=ttyS0 root=/dev/vda");
	check_segments(a);
	arena_free(a);
}

static uint8_t *make_initrd(size_t len)
{
	uint8_t *p = malloc(len);

	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 11 + 7);
	return p;
}

static void test_elf32_initrd(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0xAA);
	struct t_elf t = default_elf(false);
	struct boot_entry e;
	char err[256];
	size_t rd_len = 300001;
	uint8_t *rd = make_initrd(rd_len);
	const uint8_t *si = a->ram + BOOT_START_INFO_ADDR;
	const uint8_t *mod;
	uint64_t addr;

	assert_int_equal(load_elf(a, &t, NULL, rd, rd_len, &e, err, sizeof(err)), 0);
	assert_int_equal(e.kind, BOOT_KIND_PVH);
	assert_int_equal(e.rip, ENTRY);
	check_start_info(a, 1);
	check_segments(a);
	assert_string_equal((const char *)a->ram + BOOT_CMDLINE_ADDR, "");

	mod = a->ram + rd64(si, 16);
	assert_true(rd64(si, 16) > BOOT_START_INFO_ADDR && rd64(si, 16) + 32 <= 0x7000);
	addr = rd64(mod, 0);
	assert_int_equal(rd64(mod, 8), rd_len);
	assert_int_equal(rd64(mod, 16), 0);
	assert_int_equal(rd64(mod, 24), 0);
	assert_int_equal(addr % 4096, 0);
	assert_int_equal(addr, (MEM_SIZE - rd_len) & ~0xfffull);
	assert_true(addr >= DATA_PADDR + DATA_MEMSZ);
	assert_memory_equal(a->ram + addr, rd, rd_len);

	/* Does not fit above a kernel that fills low RAM. */
	t.ph[1].memsz = MEM_SIZE - DATA_PADDR - 128 * KiB;
	assert_int_equal(load_elf(a, &t, NULL, rd, rd_len, &e, err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "does not fit"));
	free(rd);
	arena_free(a);
}

static void test_dispatch(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0xAA);
	struct t_elf t = default_elf(true);
	struct boot_entry e;
	char err[256];
	size_t len;
	uint8_t *img = build_elf(&t, &len);
	struct boot_input in = { .mem = &a->gm, .kernel = img, .kernel_len = len };

	assert_int_equal(boot_is_pvh(img, len), 1);
	assert_int_equal(boot_is_bzimage(img, len), 0);
	assert_int_equal(boot_load(&in, &e, err, sizeof(err)), 0);
	assert_int_equal(e.kind, BOOT_KIND_PVH);
	free(img);
	arena_free(a);
}

static void test_missing_note(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0xAA);
	struct t_elf t = default_elf(true);
	struct boot_entry e;
	char err[256];
	size_t len;
	uint8_t *img;
	struct boot_input in = { .mem = &a->gm };

	t.pvh_note = false;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "no PVH entry note"));
	/* The dispatcher gives the same precise reason for an ELF. */
	img = build_elf(&t, &len);
	in.kernel = img;
	in.kernel_len = len;
	assert_int_equal(boot_is_pvh(img, len), 0);
	assert_int_equal(boot_load(&in, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "no PVH entry note"));
	free(img);

	/* A Xen note of another type is not the entry. */
	t = default_elf(false);
	t.pvh_type = 1;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	/* No note segment (and no sections) at all. */
	t = default_elf(false);
	t.ph[2].type = PT_NULL;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	arena_free(a);
}

static void test_note_in_section(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0xAA);
	struct boot_entry e;
	char err[256];

	for (int c = 0; c < 2; c++) {
		struct t_elf t = default_elf(c);

		t.ph[2].type = PT_NULL; /* no PT_NOTE: only the SHT_NOTE section */
		t.sections = true;
		assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), 0);
		assert_int_equal(e.rip, ENTRY);
	}
	arena_free(a);
}

static void test_note_align8(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0xAA);
	struct t_elf t = default_elf(true);
	struct boot_entry e;
	char err[256];

	/* Notes padded to 8 in a segment that says so. */
	t.note_align = 8;
	t.ph[2].align = 8;
	t.descsz = 4;
	t.entry = 0x100080;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), 0);
	assert_int_equal(e.rip, 0x100080);
	/* 4-byte padded notes in a segment aligned to 8 (as some linkers emit). */
	t.note_align = 4;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), 0);
	assert_int_equal(e.rip, 0x100080);
	arena_free(a);
}

static void test_segment_outside_ram(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0xAA);
	struct t_elf t;
	struct boot_entry e;
	char err[256];

	t = default_elf(true);
	t.ph[1].paddr = 0x10000000;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "outside guest RAM"));
	assert_non_null(strstr(err, "0x10000000"));

	/* Straddling the end of RAM. */
	t = default_elf(true);
	t.ph[1].paddr = MEM_SIZE - 0x1000;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "outside guest RAM"));

	/* Wrapping around the address space. */
	t = default_elf(true);
	t.ph[1].paddr = 0xfffffffffffff000ull;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "outside guest RAM"));

	/* Over the loader's own area below 1 MiB. */
	t = default_elf(false);
	t.ph[0].paddr = 0x8000;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "low boot area"));
	t.ph[0].paddr = 0xff000; /* ends above 1 MiB, starts below */
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "low boot area"));

	/* Nothing was written to the guest by the refused loads. */
	assert_int_equal(a->ram[TEXT_PADDR], 0xAA);
	assert_int_equal(a->ram[BOOT_START_INFO_ADDR], 0xAA);
	arena_free(a);
}

static void test_malformed_headers(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0xAA);
	struct t_elf t;
	struct boot_entry e;
	char err[256];
	size_t len;
	uint8_t *img;
	struct boot_input in = { .mem = &a->gm };

	/* Program header table beyond the file, or past it by one entry. */
	t = default_elf(true);
	t.phoff = FILE_LEN;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "program headers"));
	t.phoff = 0xffffffffffffffc0ull;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	t = default_elf(false);
	t.phoff = FILE_LEN - 2 * sizeof(Elf32_Phdr);
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);

	/* Counts: too many, the extended-numbering escape, none. */
	t = default_elf(true);
	t.phnum = 500;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	t.phnum = PN_XNUM;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	t.phnum = 0;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);

	/* Entry size smaller than a program header. */
	t = default_elf(true);
	t.phentsize = 16;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "program header size"));

	/* Segment data beyond the file, with and without wrap. */
	t = default_elf(true);
	t.ph[0].offset = FILE_LEN - 0x100;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "outside the file"));
	t.ph[0].offset = 0xffffffffffffff00ull;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	t = default_elf(false);
	t.ph[1].filesz = 0xfffff000;
	t.ph[1].memsz = 0xfffff000;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);

	/* File size larger than memory size. */
	t = default_elf(true);
	t.ph[1].memsz = DATA_LEN - 1;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "exceeds memory size"));

	/* Note segment beyond the file. */
	t = default_elf(true);
	t.ph[2].offset = FILE_LEN;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "note segment"));

	/* No loadable segment. */
	t = default_elf(true);
	t.ph[0].type = PT_NULL;
	t.ph[1].type = PT_NULL;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "no loadable segment"));

	/* Identification: big-endian, foreign machine, unknown class. */
	t = default_elf(true);
	t.data_enc = ELFDATA2MSB;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	t = default_elf(true);
	t.machine = EM_AARCH64;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "not x86"));
	img = build_elf(&t, &len);
	img[EI_CLASS] = 7;
	in.kernel = img;
	in.kernel_len = len;
	assert_int_equal(boot_load_pvh(&in, &e, err, sizeof(err)), -ENOEXEC);
	/* Header cut short. */
	img[EI_CLASS] = ELFCLASS64;
	in.kernel_len = sizeof(Elf64_Ehdr) - 1;
	assert_int_equal(boot_load_pvh(&in, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "truncated"));
	in.kernel_len = 3;
	assert_int_equal(boot_load_pvh(&in, &e, err, sizeof(err)), -ENOEXEC);
	free(img);
	assert_int_equal(a->ram[TEXT_PADDR], 0xAA);
	arena_free(a);
}

static void test_bad_note(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0xAA);
	struct t_elf t;
	struct boot_entry e;
	uint8_t notes[TEXT_OFF - NOTE_OFF];
	size_t note_len;
	char err[256];

	/* The descriptor runs past the end of the note segment. */
	t = default_elf(true);
	note_len = build_notes(notes, &t);
	t.ph[2].filesz = note_len - 4;
	t.ph[2].memsz = note_len - 4;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "truncated"));

	/* A descriptor of a size that is no address. */
	t = default_elf(false);
	t.descsz = 2;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "want 4 or 8"));

	/* A 64-bit descriptor beyond 4 GiB, and entry 0. */
	t = default_elf(true);
	t.entry = 0x100000000ull;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "32-bit"));
	t.entry = 0;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), -ENOEXEC);

	/* A 4-byte descriptor in an ELF64 is fine. */
	t = default_elf(true);
	t.descsz = 4;
	assert_int_equal(load_elf(a, &t, NULL, NULL, 0, &e, err, sizeof(err)), 0);
	assert_int_equal(e.rip, ENTRY);
	arena_free(a);
}

/* Random damage to the headers and notes: any result but a crash. */
static void test_garbage(void **state)
{
	struct arena *a = arena_new(MEM_SIZE, 0xAA);
	struct boot_entry e;
	char err[256];
	uint8_t rd[3000];
	unsigned int seed = 777;

	memset(rd, 0x33, sizeof(rd));
	for (int c = 0; c < 2; c++) {
		struct t_elf t = default_elf(c);
		size_t len;
		uint8_t *img;
		uint8_t *copy;

		t.sections = true;
		img = build_elf(&t, &len);
		copy = malloc(len);
		assert_non_null(copy);
		for (int iter = 0; iter < 4000; iter++) {
			struct boot_input in = { .mem = &a->gm, .kernel = copy, .cmdline = "x" };

			memcpy(copy, img, len);
			for (int k = 0; k < 1 + iter % 8; k++) {
				size_t off = (size_t)rand_r(&seed) % 0x300;

				if (iter % 5 == 0)
					off = SHDR_OFF + (size_t)rand_r(&seed) % (len - SHDR_OFF);
				copy[off] = (uint8_t)rand_r(&seed);
			}
			in.kernel_len = (iter % 4) ? len : (size_t)rand_r(&seed) % len;
			in.initrd = (iter & 1) ? rd : NULL;
			in.initrd_len = sizeof(rd);
			err[0] = 0;
			(void)boot_is_pvh(copy, in.kernel_len);
			/* Every refusal says why. */
			if (boot_load(&in, &e, err, sizeof(err)))
				assert_true(err[0] != 0);
			assert_true(strlen(err) < sizeof(err));
		}
		free(copy);
		free(img);
	}
	arena_free(a);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf64_load),
		cmocka_unit_test(test_elf32_initrd),
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_missing_note),
		cmocka_unit_test(test_note_in_section),
		cmocka_unit_test(test_note_align8),
		cmocka_unit_test(test_segment_outside_ram),
		cmocka_unit_test(test_malformed_headers),
		cmocka_unit_test(test_bad_note),
		cmocka_unit_test(test_garbage),
	};
	/* clang-format on */

	log_set_level(LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
