/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PVH loader: an ELF kernel (32- or 64-bit) that announces a 32-bit entry
 * point with the Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY. This is how QEMU and
 * Firecracker start Linux (CONFIG_PVH) without its decompressor, and how
 * nfguest starts.
 *
 * The PT_LOAD segments go to their physical addresses (p_paddr); the vCPU
 * starts in flat 32-bit protected mode, paging off, with %ebx = address of
 * struct hvm_start_info (version 1: command line, memory map, initrd as
 * module 0, the ACPI RSDP when there is one). The structures follow the
 * public PVH ABI (xen/include/public/arch-x86/hvm/start_info.h); they are
 * defined here from that layout.
 *
 * Every header field is untrusted: offsets and sizes are checked against the
 * file, addresses against guest RAM, and all segments are checked before the
 * first byte is written to the guest.
 */
#define LOG_COMPONENT "boot"

#include "vmm/boot.h"

#include <elf.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "common/log.h"

#define PVH_START_MAGIC 0x336ec578u
#define PVH_START_VERSION 1
#define PVH_NOTE_PHYS32_ENTRY 18 /* XEN_ELFNOTE_PHYS32_ENTRY */

/* Flat 32-bit code and data descriptors (base 0, limit 4 GiB, G=1, D=1). */
#define GDT_CODE32 0x00cf9b000000ffffull
#define GDT_DATA32 0x00cf93000000ffffull

/* Start of day structure, at BOOT_START_INFO_ADDR, passed in %ebx. */
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	/* version 1 */
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* E820_RAM, E820_RESERVED, ... */
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info layout");
_Static_assert(offsetof(struct hvm_start_info, memmap_paddr) == 40, "hvm_start_info layout");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry layout");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry layout");

/* start_info, then the memory map, then the module list, all below the zero page. */
#define PVH_MEMMAP_ADDR (BOOT_START_INFO_ADDR + 0x40)
#define PVH_MODLIST_ADDR \
	(PVH_MEMMAP_ADDR + E820_MAX_ENTRIES * sizeof(struct hvm_memmap_table_entry))
_Static_assert(PVH_MODLIST_ADDR + sizeof(struct hvm_modlist_entry) <= BOOT_ZERO_PAGE_ADDR,
	       "PVH tables overflow their page");

/* The parts of an ELF file header the loader uses, for either class. */
struct pvh_elf {
	const uint8_t *img;
	size_t len;
	bool is64;
	uint64_t phoff;
	unsigned int phnum;
	unsigned int phentsize;
	uint64_t shoff;
	unsigned int shnum;
	unsigned int shentsize;
};

/* A program header, widened to 64 bits. */
struct pvh_phdr {
	uint32_t type;
	uint64_t offset;
	uint64_t paddr;
	uint64_t filesz;
	uint64_t memsz;
	uint64_t align;
};

/* [off, off + size) lies inside the file. */
static bool pvh_in_file(const struct pvh_elf *elf, uint64_t off, uint64_t size)
{
	uint64_t end;

	return !add_overflows_u64(off, size, &end) && end <= elf->len;
}

static int pvh_elf_open(const uint8_t *img, size_t len, struct pvh_elf *elf, char *err,
			size_t err_len)
{
	uint16_t type, machine;
	uint64_t ph_bytes;

	memset(elf, 0, sizeof(*elf));
	elf->img = img;
	elf->len = len;
	if (!img || len < EI_NIDENT || memcmp(img, ELFMAG, SELFMAG) != 0) {
		boot_set_err(err, err_len, "not an ELF file");
		return -ENOEXEC;
	}
	if (img[EI_DATA] != ELFDATA2LSB) {
		boot_set_err(err, err_len, "ELF file is not little-endian");
		return -ENOEXEC;
	}
	if (img[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr eh;

		if (len < sizeof(eh))
			goto truncated;
		memcpy(&eh, img, sizeof(eh));
		elf->is64 = true;
		type = eh.e_type;
		machine = eh.e_machine;
		elf->phoff = eh.e_phoff;
		elf->phnum = eh.e_phnum;
		elf->phentsize = eh.e_phentsize;
		elf->shoff = eh.e_shoff;
		elf->shnum = eh.e_shnum;
		elf->shentsize = eh.e_shentsize;
		if (elf->phentsize < sizeof(Elf64_Phdr))
			goto bad_phentsize;
	} else if (img[EI_CLASS] == ELFCLASS32) {
		Elf32_Ehdr eh;

		if (len < sizeof(eh))
			goto truncated;
		memcpy(&eh, img, sizeof(eh));
		type = eh.e_type;
		machine = eh.e_machine;
		elf->phoff = eh.e_phoff;
		elf->phnum = eh.e_phnum;
		elf->phentsize = eh.e_phentsize;
		elf->shoff = eh.e_shoff;
		elf->shnum = eh.e_shnum;
		elf->shentsize = eh.e_shentsize;
		if (elf->phentsize < sizeof(Elf32_Phdr))
			goto bad_phentsize;
	} else {
		boot_set_err(err, err_len, "ELF class %u is neither 32- nor 64-bit", img[EI_CLASS]);
		return -ENOEXEC;
	}
	if (machine != EM_386 && machine != EM_X86_64) {
		boot_set_err(err, err_len, "ELF machine %u is not x86", machine);
		return -ENOEXEC;
	}
	if (type != ET_EXEC && type != ET_DYN) {
		boot_set_err(err, err_len, "ELF type %u is not an executable", type);
		return -ENOEXEC;
	}
	if (elf->phnum == 0 || elf->phnum == PN_XNUM) {
		boot_set_err(err, err_len, "ELF has %s program headers",
			     elf->phnum ? "extended numbering of its" : "no");
		return -ENOEXEC;
	}
	/* Both factors are below 2^16: the product cannot overflow. */
	ph_bytes = (uint64_t)elf->phnum * elf->phentsize;
	if (!pvh_in_file(elf, elf->phoff, ph_bytes)) {
		boot_set_err(err, err_len,
			     "ELF program headers (%u of %u bytes at offset 0x%llx) lie outside "
			     "the file (%zu bytes)",
			     elf->phnum, elf->phentsize, (unsigned long long)elf->phoff, len);
		return -ENOEXEC;
	}
	return 0;

truncated:
	boot_set_err(err, err_len, "ELF header truncated (%zu bytes)", len);
	return -ENOEXEC;
bad_phentsize:
	boot_set_err(err, err_len, "ELF program header size %u is too small", elf->phentsize);
	return -ENOEXEC;
}

/* Program header i (< phnum; the table was checked against the file). */
static void pvh_get_phdr(const struct pvh_elf *elf, unsigned int i, struct pvh_phdr *ph)
{
	const uint8_t *p = elf->img + elf->phoff + (uint64_t)i * elf->phentsize;

	if (elf->is64) {
		Elf64_Phdr h;

		memcpy(&h, p, sizeof(h));
		*ph = (struct pvh_phdr){ .type = h.p_type,
					 .offset = h.p_offset,
					 .paddr = h.p_paddr,
					 .filesz = h.p_filesz,
					 .memsz = h.p_memsz,
					 .align = h.p_align };
	} else {
		Elf32_Phdr h;

		memcpy(&h, p, sizeof(h));
		*ph = (struct pvh_phdr){ .type = h.p_type,
					 .offset = h.p_offset,
					 .paddr = h.p_paddr,
					 .filesz = h.p_filesz,
					 .memsz = h.p_memsz,
					 .align = h.p_align };
	}
}

/*
 * Looks for the PVH entry note in a note area of `size` bytes, notes padded
 * to `align`. 1 with *entry set when found, 0 when absent (a malformed
 * foreign note ends the walk), -ENOEXEC when the PVH note itself is bad.
 * Every step advances by at least 12 bytes, so the walk is bounded by size.
 */
static int pvh_scan_notes(const uint8_t *p, uint64_t size, uint64_t align, uint64_t *entry,
			  char *err, size_t err_len)
{
	uint64_t pos = 0;

	while (size - pos >= sizeof(Elf32_Nhdr)) {
		Elf32_Nhdr nh;
		uint64_t name, desc, next;
		bool xen;

		/* Elf64_Nhdr has the same three 32-bit words. */
		memcpy(&nh, p + pos, sizeof(nh));
		name = pos + sizeof(nh);
		if (nh.n_namesz > size - name)
			return 0;
		desc = name + ALIGN_UP((uint64_t)nh.n_namesz, align);
		xen = (nh.n_namesz == 4 && memcmp(p + name, "Xen", 4) == 0) ||
		      (nh.n_namesz == 3 && memcmp(p + name, "Xen", 3) == 0);
		if (xen && nh.n_type == PVH_NOTE_PHYS32_ENTRY) {
			uint64_t val;

			if (desc > size || nh.n_descsz > size - desc) {
				boot_set_err(err, err_len,
					     "PVH entry note is truncated (descriptor of %u bytes "
					     "runs past its note area)",
					     nh.n_descsz);
				return -ENOEXEC;
			}
			if (nh.n_descsz == 4) {
				uint32_t v32;

				memcpy(&v32, p + desc, sizeof(v32));
				val = v32;
			} else if (nh.n_descsz == 8) {
				memcpy(&val, p + desc, sizeof(val));
			} else {
				boot_set_err(
					err, err_len,
					"PVH entry note has a %u-byte descriptor (want 4 or 8)",
					nh.n_descsz);
				return -ENOEXEC;
			}
			if (val == 0 || val > UINT32_MAX) {
				boot_set_err(err, err_len,
					     "PVH entry point 0x%llx is not a 32-bit address",
					     (unsigned long long)val);
				return -ENOEXEC;
			}
			*entry = val;
			return 1;
		}
		if (desc > size || nh.n_descsz > size - desc)
			return 0;
		next = desc + ALIGN_UP((uint64_t)nh.n_descsz, align);
		if (next > size)
			return 0;
		pos = next;
	}
	return 0;
}

/* A note area as declared (alignment 8 when so declared, else 4), then with 4. */
static int pvh_scan_area(const struct pvh_elf *elf, uint64_t off, uint64_t size, uint64_t align,
			 uint64_t *entry, char *err, size_t err_len)
{
	int ret;

	ret = pvh_scan_notes(elf->img + off, size, align == 8 ? 8 : 4, entry, err, err_len);
	if (ret == 0 && align == 8)
		ret = pvh_scan_notes(elf->img + off, size, 4, entry, err, err_len);
	return ret;
}

/* SHT_NOTE sections, for images whose notes are not in a PT_NOTE segment. */
static int pvh_find_in_sections(const struct pvh_elf *elf, uint64_t *entry, char *err,
				size_t err_len)
{
	size_t shdr_size = elf->is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);

	if (!elf->shoff || !elf->shnum || elf->shentsize < shdr_size ||
	    !pvh_in_file(elf, elf->shoff, (uint64_t)elf->shnum * elf->shentsize))
		return 0;
	for (unsigned int i = 0; i < elf->shnum; i++) {
		const uint8_t *p = elf->img + elf->shoff + (uint64_t)i * elf->shentsize;
		uint64_t off, size, align;
		uint32_t type;
		int ret;

		if (elf->is64) {
			Elf64_Shdr sh;

			memcpy(&sh, p, sizeof(sh));
			type = sh.sh_type;
			off = sh.sh_offset;
			size = sh.sh_size;
			align = sh.sh_addralign;
		} else {
			Elf32_Shdr sh;

			memcpy(&sh, p, sizeof(sh));
			type = sh.sh_type;
			off = sh.sh_offset;
			size = sh.sh_size;
			align = sh.sh_addralign;
		}
		if (type != SHT_NOTE || !pvh_in_file(elf, off, size))
			continue;
		ret = pvh_scan_area(elf, off, size, align, entry, err, err_len);
		if (ret)
			return ret;
	}
	return 0;
}

static int pvh_find_entry(const struct pvh_elf *elf, uint64_t *entry, char *err, size_t err_len)
{
	for (unsigned int i = 0; i < elf->phnum; i++) {
		struct pvh_phdr ph;
		int ret;

		pvh_get_phdr(elf, i, &ph);
		if (ph.type != PT_NOTE)
			continue;
		if (!pvh_in_file(elf, ph.offset, ph.filesz)) {
			boot_set_err(err, err_len,
				     "ELF note segment %u (0x%llx bytes at offset 0x%llx) lies "
				     "outside the file (%zu bytes)",
				     i, (unsigned long long)ph.filesz,
				     (unsigned long long)ph.offset, elf->len);
			return -ENOEXEC;
		}
		ret = pvh_scan_area(elf, ph.offset, ph.filesz, ph.align, entry, err, err_len);
		if (ret < 0)
			return ret;
		if (ret > 0)
			return 0;
	}
	switch (pvh_find_in_sections(elf, entry, err, err_len)) {
	case 1: return 0;
	case 0: break;
	default: return -ENOEXEC;
	}
	boot_set_err(err, err_len,
		     "ELF kernel has no PVH entry note (Xen XEN_ELFNOTE_PHYS32_ENTRY): build it "
		     "with CONFIG_PVH or boot its bzImage");
	return -ENOEXEC;
}

int boot_is_pvh(const uint8_t *img, size_t len)
{
	struct pvh_elf elf;
	uint64_t entry;

	if (pvh_elf_open(img, len, &elf, NULL, 0))
		return 0;
	return pvh_find_entry(&elf, &entry, NULL, 0) == 0;
}

/*
 * Checks every PT_LOAD segment against the file, the low boot area and guest
 * RAM; returns the number of loadable segments and the highest end address.
 */
static int pvh_check_segments(const struct pvh_elf *elf, const struct guest_mem *mem,
			      uint64_t *kernel_end, char *err, size_t err_len)
{
	unsigned int nr = 0;

	*kernel_end = 0;
	for (unsigned int i = 0; i < elf->phnum; i++) {
		struct pvh_phdr ph;
		uint64_t end;

		pvh_get_phdr(elf, i, &ph);
		if (ph.type != PT_LOAD)
			continue;
		if (ph.filesz > ph.memsz) {
			boot_set_err(err, err_len,
				     "ELF segment %u: file size 0x%llx exceeds memory size 0x%llx",
				     i, (unsigned long long)ph.filesz,
				     (unsigned long long)ph.memsz);
			return -ENOEXEC;
		}
		if (!pvh_in_file(elf, ph.offset, ph.filesz)) {
			boot_set_err(err, err_len,
				     "ELF segment %u (0x%llx bytes at offset 0x%llx) lies outside "
				     "the file (%zu bytes)",
				     i, (unsigned long long)ph.filesz,
				     (unsigned long long)ph.offset, elf->len);
			return -ENOEXEC;
		}
		if (ph.memsz == 0)
			continue;
		if (add_overflows_u64(ph.paddr, ph.memsz, &end)) {
			boot_set_err(
				err, err_len,
				"kernel segment at 0x%llx (0x%llx bytes) lies outside guest RAM",
				(unsigned long long)ph.paddr, (unsigned long long)ph.memsz);
			return -ENOEXEC;
		}
		if (ph.paddr < BOOT_HIGH_MEM) {
			boot_set_err(
				err, err_len,
				"kernel segment 0x%llx-0x%llx overlaps the low boot area below "
				"1 MiB (GDT, start info, command line, MP table)",
				(unsigned long long)ph.paddr, (unsigned long long)end);
			return -ENOEXEC;
		}
		if (!gm_translate(mem, ph.paddr, ph.memsz)) {
			boot_set_err(err, err_len,
				     "kernel segment 0x%llx-0x%llx lies outside guest RAM",
				     (unsigned long long)ph.paddr, (unsigned long long)end);
			return -ENOEXEC;
		}
		*kernel_end = MAX(*kernel_end, end);
		nr++;
	}
	if (!nr) {
		boot_set_err(err, err_len, "ELF kernel has no loadable segment");
		return -ENOEXEC;
	}
	return (int)nr;
}

/* Copies the segments (already checked) and zeroes their bss parts. */
static int pvh_load_segments(const struct pvh_elf *elf, const struct guest_mem *mem)
{
	for (unsigned int i = 0; i < elf->phnum; i++) {
		struct pvh_phdr ph;
		uint8_t *dst;

		pvh_get_phdr(elf, i, &ph);
		if (ph.type != PT_LOAD || ph.memsz == 0)
			continue;
		dst = gm_translate(mem, ph.paddr, ph.memsz);
		if (!dst)
			return -EFAULT;
		memcpy(dst, elf->img + ph.offset, ph.filesz);
		memset(dst + ph.filesz, 0, ph.memsz - ph.filesz);
	}
	return 0;
}

static int pvh_write_start_info(const struct guest_mem *mem, uint64_t initrd_addr,
				size_t initrd_len, uint64_t rsdp_addr, char *err, size_t err_len)
{
	struct hvm_memmap_table_entry map[E820_MAX_ENTRIES];
	struct e820_entry e820[E820_MAX_ENTRIES];
	struct hvm_start_info si = {
		.magic = PVH_START_MAGIC,
		.version = PVH_START_VERSION,
		.cmdline_paddr = BOOT_CMDLINE_ADDR,
		.rsdp_paddr = rsdp_addr,
		.memmap_paddr = PVH_MEMMAP_ADDR,
	};
	int n;

	n = e820_build(mem, e820, E820_MAX_ENTRIES);
	if (n < 0) {
		boot_set_err(err, err_len,
			     "cannot build the memory map from the guest RAM regions");
		return n;
	}
	for (int i = 0; i < n; i++)
		map[i] = (struct hvm_memmap_table_entry){
			.addr = e820[i].addr,
			.size = e820[i].size,
			.type = e820[i].type,
		};
	si.memmap_entries = (uint32_t)n;
	if (initrd_len) {
		struct hvm_modlist_entry mod = { .paddr = initrd_addr, .size = initrd_len };

		si.nr_modules = 1;
		si.modlist_paddr = PVH_MODLIST_ADDR;
		if (gm_write(mem, PVH_MODLIST_ADDR, &mod, sizeof(mod)))
			goto no_ram;
	}
	if (gm_write(mem, PVH_MEMMAP_ADDR, map, (size_t)n * sizeof(map[0])) ||
	    gm_write(mem, BOOT_START_INFO_ADDR, &si, sizeof(si)))
		goto no_ram;
	return 0;

no_ram:
	boot_set_err(err, err_len, "no guest RAM for the PVH start info at 0x%llx",
		     BOOT_START_INFO_ADDR);
	return -EFAULT;
}

int boot_load_pvh(const struct boot_input *in, struct boot_entry *entry, char *err, size_t err_len)
{
	struct pvh_elf elf;
	uint64_t pvh_entry, kernel_end, initrd_addr = 0;
	size_t initrd_len = 0;
	int nr, ret;

	if (!in || !entry || !in->mem || !in->kernel) {
		boot_set_err(err, err_len, "no kernel image given");
		return -EINVAL;
	}
	ret = pvh_elf_open(in->kernel, in->kernel_len, &elf, err, err_len);
	if (ret)
		return ret;
	ret = pvh_find_entry(&elf, &pvh_entry, err, err_len);
	if (ret)
		return ret;
	nr = pvh_check_segments(&elf, in->mem, &kernel_end, err, err_len);
	if (nr < 0)
		return nr;

	ret = boot_write_cmdline(in->mem, in->cmdline, BOOT_CMDLINE_MAX - 1, err, err_len);
	if (ret)
		return ret;
	if (in->initrd && in->initrd_len) {
		initrd_len = in->initrd_len;
		ret = boot_place_initrd(in->mem, in->initrd, initrd_len, kernel_end,
					boot_low_ram_top(in->mem), &initrd_addr, err, err_len);
		if (ret)
			return ret;
	}
	ret = pvh_write_start_info(in->mem, initrd_addr, initrd_len, in->rsdp_addr, err, err_len);
	if (ret)
		return ret;
	memset(entry, 0, sizeof(*entry));
	ret = boot_write_gdt(in->mem, GDT_CODE32, GDT_DATA32, entry, err, err_len);
	if (ret)
		return ret;
	ret = pvh_load_segments(&elf, in->mem);
	if (ret) {
		boot_set_err(err, err_len, "kernel segments do not fit in guest RAM");
		return ret;
	}

	entry->kind = BOOT_KIND_PVH;
	entry->rip = pvh_entry;
	entry->rbx = BOOT_START_INFO_ADDR;
	entry->cr3 = 0;
	entry->long_mode = false;
	log_info("PVH kernel: ELF%d, %d segments up to 0x%llx, entry 0x%llx", elf.is64 ? 64 : 32,
		 nr, (unsigned long long)kernel_end, (unsigned long long)pvh_entry);
	if (initrd_len)
		log_info("initrd: %zu bytes at 0x%llx (PVH module 0)", initrd_len,
			 (unsigned long long)initrd_addr);
	return 0;
}
