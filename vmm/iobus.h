/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PIO and MMIO buses: devices register address ranges with one handler each;
 * vCPU exits are dispatched to the range that holds the address.
 *
 * Threads: vCPU threads dispatch concurrently. Lookup takes the read lock,
 * copies the handler and releases the lock before calling it, so a handler may
 * itself register or remove ranges (a PCI BAR moved by a config write).
 * Devices live as long as the VM, so a handler may still run once after its
 * range moved; that is harmless.
 *
 * Each range counts the accesses it served, for the VMM's exit statistics.
 */
#ifndef NFV_VMM_IOBUS_H
#define NFV_VMM_IOBUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/util.h"

/*
 * Access handler. `offset` is relative to the start of the registered range;
 * `data` holds `len` (1, 2, 4 or 8) bytes, little-endian: the handler fills it
 * on a read and consumes it on a write. Handlers never fail: an access the
 * device does not implement reads as all ones and ignores writes.
 */
typedef void (*io_handler_fn)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			      bool is_write);

#define IOBUS_MAX_RANGES 256
#define IOBUS_NAME_LEN 32

struct io_range {
	uint64_t base;
	uint64_t len;
	io_handler_fn fn;
	void *opaque;
	char name[IOBUS_NAME_LEN];
	uint64_t accesses; /* atomic: accesses served */
};

struct io_bus {
	const char *name; /* "pio" or "mmio" */
	pthread_rwlock_t lock;
	unsigned int nr;
	struct io_range ranges[IOBUS_MAX_RANGES]; /* sorted by base, disjoint */
	uint64_t unhandled;                       /* atomic: accesses to no range */
};

void iobus_init(struct io_bus *bus, const char *name);
void iobus_destroy(struct io_bus *bus);

/*
 * Registers [base, base + len). Returns 0, -EINVAL (len 0, wrap), -EEXIST
 * (overlaps a registered range; the message names it) or -ENOSPC.
 */
int __must_check iobus_register(struct io_bus *bus, uint64_t base, uint64_t len,
				io_handler_fn fn, void *opaque, const char *name);
/* Removes the range that starts at base and belongs to opaque. 0 or -ENOENT. */
int iobus_unregister(struct io_bus *bus, uint64_t base, void *opaque);

/*
 * Dispatches one access. Returns 0 when a range handled it, -ENOENT when no
 * range holds addr (reads then return all ones), -EINVAL when the access
 * crosses the end of its range (ignored, reads all ones).
 */
int iobus_dispatch(struct io_bus *bus, uint64_t addr, uint8_t *data, uint32_t len,
		   bool is_write);

/* Calls fn for every range (under the read lock), for statistics. */
void iobus_for_each(struct io_bus *bus, void (*fn)(const struct io_range *r, void *arg),
		    void *arg);

#endif /* NFV_VMM_IOBUS_H */
