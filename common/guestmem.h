/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest physical memory as devices and loaders see it: a small set of RAM
 * regions, each a contiguous host mapping. This is the one place where a
 * guest-physical address becomes a host pointer, and every device model,
 * boot loader and backend goes through it.
 *
 * A range is translated only when it lies entirely inside one RAM region; a
 * range that leaves RAM, wraps around, or straddles two regions is refused
 * (NULL / -EFAULT) and never read. Device DMA therefore only ever reaches
 * RAM, never MMIO: a device cannot be re-entered through its own DMA.
 *
 * Thread-safety: the region table is set up before vCPUs start and is
 * read-only afterwards; translation takes no lock.
 */
#ifndef NFV_COMMON_GUESTMEM_H
#define NFV_COMMON_GUESTMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

#define GM_MAX_REGIONS 8

struct gm_region {
	uint64_t gpa;       /* guest-physical start */
	uint64_t size;      /* bytes */
	uint8_t *hva;       /* host mapping of the whole region */
	int fd;             /* memfd / hugetlbfs file backing it, or -1 */
	uint64_t fd_offset; /* offset of the region inside fd */
};

struct guest_mem {
	unsigned int nr_regions;
	struct gm_region regions[GM_MAX_REGIONS]; /* sorted by gpa, disjoint */
};

/*
 * Adds a region. Regions must not overlap and must be added in ascending
 * order of gpa. Returns 0, -EINVAL (overlap, zero size, wrap) or -ENOSPC.
 */
int __must_check gm_add_region(struct guest_mem *gm, uint64_t gpa, uint64_t size, void *hva,
			       int fd, uint64_t fd_offset);

/*
 * Host pointer for [gpa, gpa + len) or NULL when that range is not entirely
 * inside one RAM region (len 0 is treated as 1). Never reads guest memory.
 */
void *gm_translate(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/*
 * The host address of a ring the guest placed at gpa (`len` bytes), for a
 * backend that is handed host addresses (vhost-user, vhost-net). 0, or
 * -EFAULT when the ring is not whole inside one RAM region, with "the
 * WHAT ring at 0x... (N bytes) is not in RAM" in err.
 */
int __must_check gm_ring_hva(const struct guest_mem *gm, const char *what, uint64_t gpa,
			     uint64_t len, uint64_t *hva, char *err, size_t errlen);

/* Copies out of / into guest RAM; 0 or -EFAULT when the range is refused. */
int __must_check gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, size_t len);
int __must_check gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, size_t len);

/* The region holding gpa, or NULL. */
const struct gm_region *gm_find(const struct guest_mem *gm, uint64_t gpa);

/* Total bytes of RAM. */
uint64_t gm_total(const struct guest_mem *gm);

#endif /* NFV_COMMON_GUESTMEM_H */
