/* SPDX-License-Identifier: BSD-3-Clause */
#include "common/guestmem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int gm_add_region(struct guest_mem *gm, uint64_t gpa, uint64_t size, void *hva, int fd,
		  uint64_t fd_offset)
{
	uint64_t end;

	if (size == 0 || !hva || add_overflows_u64(gpa, size - 1, &end))
		return -EINVAL;
	if (gm->nr_regions >= GM_MAX_REGIONS)
		return -ENOSPC;
	if (gm->nr_regions) {
		const struct gm_region *last = &gm->regions[gm->nr_regions - 1];
		if (gpa < last->gpa + last->size)
			return -EINVAL;
	}
	gm->regions[gm->nr_regions++] = (struct gm_region){
		.gpa = gpa, .size = size, .hva = hva, .fd = fd, .fd_offset = fd_offset,
	};
	return 0;
}

const struct gm_region *gm_find(const struct guest_mem *gm, uint64_t gpa)
{
	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		const struct gm_region *r = &gm->regions[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

void *gm_translate(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	const struct gm_region *r;
	uint64_t off;

	if (len == 0)
		len = 1;
	r = gm_find(gm, gpa);
	if (!r)
		return NULL;
	off = gpa - r->gpa;
	/* off < size holds; check len without overflowing. */
	if (len > r->size - off)
		return NULL;
	return r->hva + off;
}

int gm_ring_hva(const struct guest_mem *gm, const char *what, uint64_t gpa, uint64_t len,
		uint64_t *hva, char *err, size_t errlen)
{
	void *p = gm_translate(gm, gpa, len);

	if (!p) {
		snprintf(err, errlen, "the %s ring at 0x%llx (%llu bytes) is not in RAM", what,
			 (unsigned long long)gpa, (unsigned long long)len);
		return -EFAULT;
	}
	*hva = (uint64_t)(uintptr_t)p;
	return 0;
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, size_t len)
{
	const void *src = gm_translate(gm, gpa, len);

	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, size_t len)
{
	void *dst = gm_translate(gm, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

uint64_t gm_total(const struct guest_mem *gm)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < gm->nr_regions; i++)
		total += gm->regions[i].size;
	return total;
}
