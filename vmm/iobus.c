/* SPDX-License-Identifier: BSD-3-Clause */
#define LOG_COMPONENT "iobus"
#include "vmm/iobus.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void iobus_init(struct io_bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	pthread_rwlock_init(&bus->lock, NULL);
}

void iobus_destroy(struct io_bus *bus)
{
	pthread_rwlock_destroy(&bus->lock);
}

/* Index of the first range whose end is above addr (binary search). */
static unsigned int iobus_lower_bound(const struct io_bus *bus, uint64_t addr)
{
	unsigned int lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct io_range *r = &bus->ranges[mid];
		if (r->base + (r->len - 1) < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int iobus_register(struct io_bus *bus, uint64_t base, uint64_t len, io_handler_fn fn,
		   void *opaque, const char *name)
{
	uint64_t last;
	unsigned int i;
	int ret = 0;

	if (len == 0 || !fn || add_overflows_u64(base, len - 1, &last))
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	if (bus->nr >= IOBUS_MAX_RANGES) {
		ret = -ENOSPC;
		goto out;
	}
	i = iobus_lower_bound(bus, base);
	if (i < bus->nr && bus->ranges[i].base <= last) {
		log_err("%s range %#llx-%#llx (%s) overlaps %#llx-%#llx (%s)", bus->name,
			(unsigned long long)base, (unsigned long long)last, name ? name : "?",
			(unsigned long long)bus->ranges[i].base,
			(unsigned long long)(bus->ranges[i].base + bus->ranges[i].len - 1),
			bus->ranges[i].name);
		ret = -EEXIST;
		goto out;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i], (bus->nr - i) * sizeof(bus->ranges[0]));
	bus->ranges[i] = (struct io_range){ .base = base, .len = len, .fn = fn, .opaque = opaque };
	snprintf(bus->ranges[i].name, sizeof(bus->ranges[i].name), "%s", name ? name : "?");
	bus->nr++;
out:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int iobus_unregister(struct io_bus *bus, uint64_t base, void *opaque)
{
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	for (unsigned int i = 0; i < bus->nr; i++) {
		if (bus->ranges[i].base == base && bus->ranges[i].opaque == opaque) {
			memmove(&bus->ranges[i], &bus->ranges[i + 1],
				(bus->nr - i - 1) * sizeof(bus->ranges[0]));
			bus->nr--;
			ret = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int iobus_dispatch(struct io_bus *bus, uint64_t addr, uint8_t *data, uint32_t len,
		   bool is_write)
{
	io_handler_fn fn = NULL;
	void *opaque = NULL;
	uint64_t offset = 0;
	int ret = -ENOENT;
	unsigned int i;

	pthread_rwlock_rdlock(&bus->lock);
	i = iobus_lower_bound(bus, addr);
	if (i < bus->nr && bus->ranges[i].base <= addr) {
		struct io_range *r = &bus->ranges[i];
		offset = addr - r->base;
		if (len == 0 || len > r->len - offset) {
			ret = -EINVAL;
		} else {
			fn = r->fn;
			opaque = r->opaque;
			__atomic_add_fetch(&r->accesses, 1, __ATOMIC_RELAXED);
			ret = 0;
		}
	}
	pthread_rwlock_unlock(&bus->lock);

	if (fn) {
		fn(opaque, offset, data, len, is_write);
		return 0;
	}
	__atomic_add_fetch(&bus->unhandled, 1, __ATOMIC_RELAXED);
	if (!is_write)
		memset(data, 0xff, len);
	return ret;
}

void iobus_for_each(struct io_bus *bus, void (*fn)(const struct io_range *r, void *arg),
		    void *arg)
{
	pthread_rwlock_rdlock(&bus->lock);
	for (unsigned int i = 0; i < bus->nr; i++)
		fn(&bus->ranges[i], arg);
	pthread_rwlock_unlock(&bus->lock);
}
