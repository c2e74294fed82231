/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest RAM: one memfd (hugetlbfs-backed with --hugepages), mapped
 * MAP_SHARED so that a vhost-user backend can map the same pages from the
 * descriptor. RAM up to 3 GiB sits at guest-physical 0; the rest goes above
 * 4 GiB, leaving the PCI hole (0xC0000000-0xFFFFFFFF) for MMIO.
 */
#define LOG_COMPONENT "memory"
#include "vmm/kvm.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif

#define HUGEPAGE_SIZE (2 * MiB)

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

int vm_memory_init(struct kvm_vm *vm, char *err, size_t err_len)
{
	const struct vm_config *cfg = vm->cfg;
	uint64_t size = cfg->mem_size;
	uint64_t low = MIN(size, VMM_LOW_MEM_END);
	uint64_t high = size - low;
	unsigned int flags = MFD_CLOEXEC;
	int mmap_flags = MAP_SHARED;
	int ret;

	if (cfg->hugepages) {
		long free_pages = read_long("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages");
		uint64_t need = ALIGN_UP(size, HUGEPAGE_SIZE) / HUGEPAGE_SIZE;

		if (size % HUGEPAGE_SIZE) {
			snprintf(err, err_len, "--hugepages needs --mem in whole 2 MiB pages");
			return -EINVAL;
		}
		if (free_pages < 0 || (uint64_t)free_pages < need) {
			snprintf(err, err_len,
				 "--hugepages: need %llu free 2 MiB hugepages, the host has %ld "
				 "(echo %llu > /proc/sys/vm/nr_hugepages)",
				 (unsigned long long)need, free_pages < 0 ? 0 : free_pages,
				 (unsigned long long)need);
			return -ENOMEM;
		}
		flags |= MFD_HUGETLB;
		mmap_flags |= MAP_POPULATE;
	}
	vm->mem_fd = memfd_create("nfv-guest-ram", flags);
	if (vm->mem_fd < 0) {
		snprintf(err, err_len, "memfd_create%s: %s", cfg->hugepages ? " (hugetlb)" : "",
			 strerror(errno));
		return -errno;
	}
	if (ftruncate(vm->mem_fd, (off_t)size) < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot size guest RAM to %llu bytes: %s",
			 (unsigned long long)size, strerror(errno));
		goto fail_close;
	}
	vm->mem_base = mmap(NULL, size, PROT_READ | PROT_WRITE, mmap_flags, vm->mem_fd, 0);
	if (vm->mem_base == MAP_FAILED) {
		ret = -errno;
		snprintf(err, err_len, "cannot map %llu MiB of guest RAM: %s",
			 (unsigned long long)(size / MiB), strerror(errno));
		vm->mem_base = NULL;
		goto fail_close;
	}
	vm->mem_map_size = size;
	madvise(vm->mem_base, size, MADV_MERGEABLE);
	memset(&vm->mem, 0, sizeof(vm->mem));
	ret = gm_add_region(&vm->mem, 0, low, vm->mem_base, vm->mem_fd, 0);
	if (!ret && high)
		ret = gm_add_region(&vm->mem, VMM_HIGH_MEM_START, high, (uint8_t *)vm->mem_base + low,
				    vm->mem_fd, low);
	if (ret)
		goto fail_map;
	for (unsigned int i = 0; i < vm->mem.nr_regions; i++) {
		const struct gm_region *r = &vm->mem.regions[i];
		ret = kvm_set_memory(vm, i, r->gpa, r->size, r->hva);
		if (ret < 0) {
			snprintf(err, err_len, "KVM_SET_USER_MEMORY_REGION %#llx+%#llx: %s",
				 (unsigned long long)r->gpa, (unsigned long long)r->size,
				 strerror(-ret));
			goto fail_map;
		}
	}
	log_debug("guest RAM %llu MiB (%s): %llu MiB low, %llu MiB above 4 GiB",
		  (unsigned long long)(size / MiB), cfg->hugepages ? "2 MiB hugepages" : "memfd",
		  (unsigned long long)(low / MiB), (unsigned long long)(high / MiB));
	return 0;
fail_map:
	munmap(vm->mem_base, size);
	vm->mem_base = NULL;
fail_close:
	close(vm->mem_fd);
	vm->mem_fd = -1;
	return ret;
}

void vm_memory_exit(struct kvm_vm *vm)
{
	if (vm->mem_base)
		munmap(vm->mem_base, vm->mem_map_size);
	if (vm->mem_fd >= 0)
		close(vm->mem_fd);
	vm->mem_base = NULL;
	vm->mem_fd = -1;
}
