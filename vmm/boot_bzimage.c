/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Linux bzImage loader, 64-bit boot protocol (Documentation/arch/x86/boot.rst
 * and zero-page.rst).
 *
 * The image starts with the real-mode setup code: (setup_sects + 1) sectors
 * of 512 bytes, whose setup header sits at 0x1f1. The protected-mode kernel
 * that follows goes to 1 MiB; the 16-bit setup code is not used, since the
 * vCPU starts directly at the 64-bit entry (load address + 0x200) with %rsi
 * pointing at boot_params, paging on with the identity map of the first
 * 4 GiB built here, and __BOOT_CS/__BOOT_DS in a GDT at BOOT_GDT_ADDR.
 *
 * Every header field is read from an untrusted file: lengths are checked
 * against the file before any copy and against guest RAM before any write.
 */
#define LOG_COMPONENT "boot"

#include "vmm/boot.h"

#include <errno.h>
#include <string.h>

#include "common/log.h"

/* boot_params ("zero page") offsets. */
#define BP_SIZE 4096
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0
/* The setup header: 0x1f1 up to at most edd_mbr_sig_buffer at 0x290. */
#define BP_HDR_START 0x1f1
#define BP_HDR_LIMIT 0x290

/* Setup header fields, as offsets in the image and in boot_params. */
#define HDR_SETUP_SECTS 0x1f1
#define HDR_SYSSIZE 0x1f4
#define HDR_JUMP_OFFSET 0x201 /* second byte of the short jump at 0x200 */
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_INIT_SIZE 0x260
/* Bytes of the image the loader reads header fields from. */
#define HDR_NEEDED (HDR_INIT_SIZE + 4)

#define BZ_MIN_VERSION 0x020c
#define BZ_RSDP_VERSION 0x020e /* boot_params.acpi_rsdp_addr is read from 2.14 on */
#define LOADFLAG_LOADED_HIGH 0x01
#define LOADFLAG_CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x0001
#define BZ_TYPE_OF_LOADER_UNDEFINED 0xff
#define BZ_HEAP_END 0xfe00 /* end of the setup heap, minus 0x200, as boot.rst asks */
#define BZ_SECTOR 512
#define BZ_DEFAULT_SETUP_SECTS 4
#define BZ_ENTRY_64_OFFSET 0x200

/* Page tables: PML4, PDPT, four page directories of 2 MiB pages. */
#define PT_PDPT_ADDR (BOOT_PML4_ADDR + 0x1000)
#define PT_PD_ADDR (BOOT_PML4_ADDR + 0x2000)
#define PT_NR_PD 4
#define PT_PAGES (2 + PT_NR_PD)
#define PTE_PRESENT 0x001ull
#define PTE_RW 0x002ull
#define PTE_PS 0x080ull
#define PT_ENTRIES 512

/* GDT descriptors: 64-bit code (L=1), flat 32-bit data. */
#define GDT_CODE64 0x00af9b000000ffffull
#define GDT_DATA 0x00cf93000000ffffull

static uint16_t rd16(const uint8_t *p, size_t off)
{
	return (uint16_t)(p[off] | p[off + 1] << 8);
}

static uint32_t rd32(const uint8_t *p, size_t off)
{
	return (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 | (uint32_t)p[off + 2] << 16 |
	       (uint32_t)p[off + 3] << 24;
}

static void wr16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, size_t off, uint32_t v)
{
	for (unsigned int i = 0; i < 4; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

int boot_is_bzimage(const uint8_t *img, size_t len)
{
	return img && len >= HDR_MAGIC + 4 && memcmp(img + HDR_MAGIC, "HdrS", 4) == 0;
}

/* Identity map of 0-4 GiB with 2 MiB pages at BOOT_PML4_ADDR. */
static int bz_write_page_tables(const struct guest_mem *mem, char *err, size_t err_len)
{
	uint8_t *pt = gm_translate(mem, BOOT_PML4_ADDR, PT_PAGES * 0x1000ull);
	uint64_t e;

	if (!pt) {
		boot_set_err(err, err_len, "no guest RAM for the page tables at 0x%llx",
			     BOOT_PML4_ADDR);
		return -EFAULT;
	}
	memset(pt, 0, PT_PAGES * 0x1000);
	e = PT_PDPT_ADDR | PTE_PRESENT | PTE_RW;
	memcpy(pt, &e, sizeof(e));
	for (unsigned int i = 0; i < PT_NR_PD; i++) {
		e = (PT_PD_ADDR + i * 0x1000ull) | PTE_PRESENT | PTE_RW;
		memcpy(pt + 0x1000 + i * sizeof(e), &e, sizeof(e));
	}
	for (unsigned int i = 0; i < PT_NR_PD * PT_ENTRIES; i++) {
		e = (uint64_t)i * 2 * MiB | PTE_PRESENT | PTE_RW | PTE_PS;
		memcpy(pt + 0x2000 + i * sizeof(e), &e, sizeof(e));
	}
	return 0;
}

int boot_load_bzimage(const struct boot_input *in, struct boot_entry *entry, char *err,
		      size_t err_len)
{
	uint8_t zp[BP_SIZE];
	struct e820_entry e820[E820_MAX_ENTRIES];
	const uint8_t *img;
	size_t len, setup_size, pm_len, hdr_end;
	uint64_t low_top, kernel_size, kernel_end, initrd_addr = 0, ceiling;
	uint32_t setup_sects, syssize, init_size, initrd_max, cmdline_size;
	uint16_t version, xloadflags;
	int n, ret;

	if (!in || !entry || !in->mem || !in->kernel) {
		boot_set_err(err, err_len, "no kernel image given");
		return -EINVAL;
	}
	img = in->kernel;
	len = in->kernel_len;
	if (!boot_is_bzimage(img, len)) {
		boot_set_err(err, err_len, "not a bzImage (no HdrS magic at 0x%x)", HDR_MAGIC);
		return -ENOEXEC;
	}
	if (len < HDR_VERSION + 2) {
		boot_set_err(err, err_len, "bzImage truncated: %zu bytes", len);
		return -ENOEXEC;
	}
	version = rd16(img, HDR_VERSION);
	if (version < BZ_MIN_VERSION) {
		boot_set_err(err, err_len,
			     "bzImage boot protocol %u.%02u too old (the 64-bit entry needs 2.12 "
			     "or later)",
			     version >> 8, version & 0xff);
		return -ENOEXEC;
	}
	if (len < HDR_NEEDED) {
		boot_set_err(err, err_len,
			     "bzImage truncated: %zu bytes, the setup header needs %u", len,
			     HDR_NEEDED);
		return -ENOEXEC;
	}
	xloadflags = rd16(img, HDR_XLOADFLAGS);
	if (!(xloadflags & XLF_KERNEL_64)) {
		boot_set_err(err, err_len,
			     "bzImage has no 64-bit entry point (XLF_KERNEL_64 not set in "
			     "xloadflags 0x%04x)",
			     xloadflags);
		return -ENOEXEC;
	}
	if (!(img[HDR_LOADFLAGS] & LOADFLAG_LOADED_HIGH)) {
		boot_set_err(err, err_len,
			     "zImage loaded low is not supported (LOADED_HIGH not "
			     "set in loadflags)");
		return -ENOEXEC;
	}

	setup_sects = img[HDR_SETUP_SECTS];
	if (setup_sects == 0)
		setup_sects = BZ_DEFAULT_SETUP_SECTS;
	setup_size = (setup_sects + 1) * BZ_SECTOR;
	if (len <= setup_size) {
		boot_set_err(err, err_len,
			     "bzImage truncated: %zu bytes, the setup code alone takes %zu", len,
			     setup_size);
		return -ENOEXEC;
	}
	pm_len = len - setup_size;
	syssize = rd32(img, HDR_SYSSIZE);
	if ((uint64_t)syssize * 16 > pm_len) {
		boot_set_err(err, err_len,
			     "bzImage truncated: the header gives %llu bytes of kernel, the file "
			     "holds %zu",
			     (unsigned long long)syssize * 16, pm_len);
		return -ENOEXEC;
	}
	init_size = rd32(img, HDR_INIT_SIZE);
	kernel_size = MAX((uint64_t)init_size, (uint64_t)pm_len);
	low_top = boot_low_ram_top(in->mem);
	if (add_overflows_u64(BOOT_HIGH_MEM, kernel_size, &kernel_end) || kernel_end > low_top ||
	    !gm_translate(in->mem, BOOT_HIGH_MEM, kernel_size)) {
		boot_set_err(err, err_len,
			     "kernel needs 0x%llx bytes from 1 MiB (image 0x%zx, init_size 0x%x) "
			     "but low guest RAM ends at 0x%llx",
			     (unsigned long long)kernel_size, pm_len, init_size,
			     (unsigned long long)low_top);
		return -ENOMEM;
	}

	cmdline_size = rd32(img, HDR_CMDLINE_SIZE);
	ret = boot_write_cmdline(in->mem, in->cmdline, cmdline_size, err, err_len);
	if (ret)
		return ret;

	memset(zp, 0, sizeof(zp));
	/* The header length is the jump target at 0x200: 0x202 + its offset byte. */
	hdr_end = HDR_MAGIC + img[HDR_JUMP_OFFSET];
	hdr_end = MIN(hdr_end, (size_t)BP_HDR_LIMIT);
	hdr_end = MIN(hdr_end, len);
	hdr_end = MAX(hdr_end, (size_t)HDR_NEEDED); /* fields we set below are all inside */
	memcpy(zp + BP_HDR_START, img + BP_HDR_START, hdr_end - BP_HDR_START);

	zp[HDR_TYPE_OF_LOADER] = BZ_TYPE_OF_LOADER_UNDEFINED;
	zp[HDR_LOADFLAGS] |= LOADFLAG_LOADED_HIGH | LOADFLAG_CAN_USE_HEAP;
	wr16(zp, HDR_HEAP_END_PTR, BZ_HEAP_END);
	wr32(zp, HDR_CMD_LINE_PTR, (uint32_t)BOOT_CMDLINE_ADDR);
	wr32(zp, BP_EXT_CMD_LINE_PTR, 0);
	/* Older kernels find the RSDP by scanning the BIOS area, where it is too. */
	if (in->rsdp_addr && version >= BZ_RSDP_VERSION) {
		wr32(zp, BP_ACPI_RSDP_ADDR, (uint32_t)in->rsdp_addr);
		wr32(zp, BP_ACPI_RSDP_ADDR + 4, (uint32_t)(in->rsdp_addr >> 32));
	}

	if (in->initrd && in->initrd_len) {
		initrd_max = rd32(img, HDR_INITRD_ADDR_MAX);
		ceiling = MIN((uint64_t)initrd_max + 1, low_top);
		ret = boot_place_initrd(in->mem, in->initrd, in->initrd_len, kernel_end, ceiling,
					&initrd_addr, err, err_len);
		if (ret)
			return ret;
		wr32(zp, HDR_RAMDISK_IMAGE, (uint32_t)initrd_addr);
		wr32(zp, HDR_RAMDISK_SIZE, (uint32_t)in->initrd_len);
		wr32(zp, BP_EXT_RAMDISK_IMAGE, (uint32_t)(initrd_addr >> 32));
		wr32(zp, BP_EXT_RAMDISK_SIZE, (uint32_t)((uint64_t)in->initrd_len >> 32));
	}

	n = e820_build(in->mem, e820, E820_MAX_ENTRIES);
	if (n < 0) {
		boot_set_err(err, err_len, "cannot build the e820 map from the guest RAM regions");
		return n;
	}
	zp[BP_E820_ENTRIES] = (uint8_t)n;
	_Static_assert(BP_E820_TABLE + E820_MAX_ENTRIES * sizeof(struct e820_entry) <= BP_SIZE,
		       "e820 table overflows boot_params");
	memcpy(zp + BP_E820_TABLE, e820, (size_t)n * sizeof(e820[0]));

	if (gm_write(in->mem, BOOT_ZERO_PAGE_ADDR, zp, sizeof(zp))) {
		boot_set_err(err, err_len, "no guest RAM for boot_params at 0x%llx",
			     BOOT_ZERO_PAGE_ADDR);
		return -EFAULT;
	}
	ret = bz_write_page_tables(in->mem, err, err_len);
	if (ret)
		return ret;
	memset(entry, 0, sizeof(*entry));
	ret = boot_write_gdt(in->mem, GDT_CODE64, GDT_DATA, entry, err, err_len);
	if (ret)
		return ret;
	/* Checked above: [1 MiB, 1 MiB + pm_len) is RAM. */
	if (gm_write(in->mem, BOOT_HIGH_MEM, img + setup_size, pm_len)) {
		boot_set_err(err, err_len, "kernel does not fit in guest RAM at 1 MiB");
		return -EFAULT;
	}

	entry->kind = BOOT_KIND_BZIMAGE;
	entry->rip = BOOT_HIGH_MEM + BZ_ENTRY_64_OFFSET;
	entry->rsi = BOOT_ZERO_PAGE_ADDR;
	entry->cr3 = BOOT_PML4_ADDR;
	entry->long_mode = true;
	log_info("bzImage: protocol %u.%02u, %zu bytes of kernel at 1 MiB, init_size 0x%x",
		 version >> 8, version & 0xff, pm_len, init_size);
	if (initrd_addr)
		log_info("initrd: %zu bytes at 0x%llx", in->initrd_len,
			 (unsigned long long)initrd_addr);
	return 0;
}
