/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Debug-exit port (as QEMU's isa-debug-exit) and the POST port 0x80.
 *
 * debug-exit: a write of any width anywhere in the range stops the VM with
 * exit status V & 0xFF, V being the value written (little-endian, so the
 * status is the first byte). Reads return 0. No state, so no lock.
 */
#include "vmm/platform.h"

#include <string.h>

void debug_exit_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct debug_exit *d = opaque;
	int status;

	if (!len || !data)
		return;
	if (!is_write) {
		memset(data, 0, len);
		return;
	}
	/* Little-endian: the low byte of V is the first byte, whatever the width. */
	status = data[0];
	if (d && d->stop)
		d->stop(d->arg, PLATFORM_STOP_DEBUG_EXIT, status);
}

void post_port_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	if (!is_write && len && data)
		memset(data, 0, len);
}
