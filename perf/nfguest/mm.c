// SPDX-License-Identifier: BSD-3-Clause
/*
 * nfguest memory: the RAM map from the PVH start info, a page allocator
 * (a bump allocator over the RAM ranges above the image, below 4 GiB) and
 * the page tables (boot identity map fixed up: RAM write-back, the rest of
 * 0-4 GiB uncached; MMIO above 4 GiB mapped on demand in 2 MiB pages).
 */
#include "runtime.h"

#define PTE_P		0x001ull
#define PTE_W		0x002ull
#define PTE_PWT		0x008ull
#define PTE_PCD		0x010ull
#define PTE_PS		0x080ull
#define PTE_ADDR	0x000ffffffffff000ull

#define SZ_2M		0x200000ull
#define SZ_1G		0x40000000ull
#define SZ_4G		0x100000000ull

#define MAX_RANGES	32

extern uint64_t boot_pml4[512], boot_pdpt[512], boot_pd[2048];
extern char __image_end[];

struct range {
	uint64_t start, end;	/* [start, end) */
};

static struct range ram[MAX_RANGES];	/* RAM ranges (all of them) */
static int nram;
static struct range pool[MAX_RANGES];	/* what the allocator may hand out */
static int npool;
static spinlock_t mm_lock;

static void add_range(struct range *r, int *n, uint64_t start, uint64_t end)
{
	if (end > start && *n < MAX_RANGES) {
		r[*n].start = start;
		r[*n].end = end;
		(*n)++;
	}
}

static bool is_ram(uint64_t start, uint64_t end)
{
	int i;

	for (i = 0; i < nram; i++)
		if (start < ram[i].end && end > ram[i].start)
			return true;
	return false;
}

static void flush_tlb(void)
{
	uint64_t cr3;

	__asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
}

void mm_init(const struct hvm_start_info *si)
{
	uint64_t img_end = (uint64_t)(uintptr_t)__image_end;
	int i;

	if (si->version >= 1 && si->memmap_paddr && si->memmap_entries) {
		const struct hvm_memmap_entry *e = phys_to_virt(si->memmap_paddr);

		for (i = 0; i < (int)si->memmap_entries && i < MAX_RANGES; i++)
			if (e[i].type == HVM_MEMMAP_RAM)
				add_range(ram, &nram, e[i].addr, e[i].addr + e[i].size);
	}
	if (!nram) {
		/* No memory map: assume the 64 MiB every VMM gives us at least. */
		printf("nfguest: no PVH memory map, assuming 64 MiB of RAM\n");
		add_range(ram, &nram, 0, 0xa0000);
		add_range(ram, &nram, 0x100000, 0x4000000);
	}

	/*
	 * Allocatable: RAM above the image (the loader's start info, command
	 * line and memory map were copied or read before this), below 4 GiB,
	 * whole pages.
	 */
	for (i = 0; i < nram; i++) {
		uint64_t s = ALIGN_UP(ram[i].start, PAGE_SIZE);
		uint64_t e = ram[i].end & ~(uint64_t)(PAGE_SIZE - 1);

		if (s < img_end)
			s = img_end;
		if (e > SZ_4G)
			e = SZ_4G;
		add_range(pool, &npool, s, e);
	}

	/*
	 * Memory types of the boot map: 2 MiB pages that hold RAM stay
	 * write-back, the others (PCI hole, LAPIC, IOAPIC, BIOS areas above
	 * 1 MiB) become uncached (PCD | PWT). The first 2 MiB stay write-back:
	 * low RAM, our image and the legacy VGA hole, which we never touch.
	 */
	for (i = 1; i < 2048; i++) {
		uint64_t a = (uint64_t)i * SZ_2M;

		if (!is_ram(a, a + SZ_2M))
			boot_pd[i] |= PTE_PCD | PTE_PWT;
	}
	flush_tlb();
}

void *page_alloc(size_t npages)
{
	uint64_t bytes = (uint64_t)npages * PAGE_SIZE;
	void *p = NULL;
	int i;

	if (!npages)
		return NULL;
	spin_lock(&mm_lock);
	for (i = 0; i < npool; i++) {
		if (pool[i].end - pool[i].start >= bytes) {
			p = phys_to_virt(pool[i].start);
			pool[i].start += bytes;
			break;
		}
	}
	spin_unlock(&mm_lock);
	if (p)
		memset(p, 0, bytes);
	return p;
}

/*
 * Small allocations carve from a current page run; alignment up to a page.
 * Larger ones take whole pages.
 */
void *mem_alloc(size_t size, size_t align)
{
	static uint64_t cur, cur_end;
	uint64_t a;
	void *p = NULL;

	if (align < 8)
		align = 8;
	if (align > PAGE_SIZE || (align & (align - 1)))
		return NULL;
	if (size >= PAGE_SIZE)
		return page_alloc((size + PAGE_SIZE - 1) / PAGE_SIZE);
	spin_lock(&mm_lock);
	a = ALIGN_UP(cur, align);
	if (cur && a + size <= cur_end) {
		cur = a + size;
		p = phys_to_virt(a);
	}
	spin_unlock(&mm_lock);
	if (p)
		return p;	/* pages come zeroed and are never reused */
	p = page_alloc(4);
	if (!p)
		return NULL;
	spin_lock(&mm_lock);
	cur = virt_to_phys(p) + size;
	cur_end = virt_to_phys(p) + 4 * PAGE_SIZE;
	spin_unlock(&mm_lock);
	return p;
}

uint64_t mem_free_bytes(void)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < npool; i++)
		n += pool[i].end - pool[i].start;
	return n;
}

/*
 * Map [phys, phys + size) uncached. Below 4 GiB the boot map covers it.
 * Above, up to 512 GiB (PML4 entry 0), page directories are added to the
 * boot PDPT as needed and 2 MiB pages marked PCD | PWT.
 */
volatile void *mmio_map(uint64_t phys, uint64_t size)
{
	uint64_t a, end = phys + size;

	if (!size || end < phys)
		return NULL;
	if (end <= SZ_4G)
		return (volatile void *)phys_to_virt(phys);
	if (end > 512 * SZ_1G) {
		printf("nfguest: mmio_map 0x%llx: above 512 GiB, not supported\n",
		       (unsigned long long)phys);
		return NULL;
	}
	for (a = phys & ~(SZ_2M - 1); a < end; a += SZ_2M) {
		uint64_t *pdpte = &boot_pdpt[a / SZ_1G];
		uint64_t *pd;

		if (a < SZ_4G)
			continue;
		if (!(*pdpte & PTE_P)) {
			pd = page_alloc(1);
			if (!pd)
				return NULL;
			*pdpte = virt_to_phys(pd) | PTE_P | PTE_W;
		}
		pd = phys_to_virt(*pdpte & PTE_ADDR);
		pd[(a / SZ_2M) % 512] = a | PTE_P | PTE_W | PTE_PS | PTE_PCD | PTE_PWT;
	}
	flush_tlb();
	return (volatile void *)phys_to_virt(phys);
}
