/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Small legacy devices of the PC platform:
 *  - i8042 keyboard controller: enough for guests to probe it, and the reset
 *    command (0xFE to port 0x64) as an orderly stop of the VM;
 *  - debug-exit port (as QEMU's isa-debug-exit, port 0xF4): a write of value
 *    V stops the VM and nfv-vmm exits with status V & 0xFF (QEMU exits with
 *    (V << 1) | 1; nfv-vmm passes the value through unchanged);
 *  - port 0x80 (POST code / I/O delay): accepted silently.
 * Handlers are io_handler_fn; stop requests go through a callback.
 */
#ifndef NFV_VMM_PLATFORM_H
#define NFV_VMM_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64
#define DEBUG_EXIT_PORT 0xF4
#define POST_PORT 0x80

enum platform_stop_reason {
	PLATFORM_STOP_RESET,      /* i8042 reset: orderly stop, status 0 */
	PLATFORM_STOP_DEBUG_EXIT, /* debug-exit write: status given */
};

/* Called from a vCPU thread when the guest asks to stop. */
typedef void (*platform_stop_fn)(void *arg, enum platform_stop_reason why, int status);

struct i8042;
struct i8042 *i8042_new(platform_stop_fn stop, void *arg);
void i8042_free(struct i8042 *k);
/* One handler for both ports: offset 0 is port 0x60, offset 4 is port 0x64 (range 0x60-0x64). */
void i8042_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

struct debug_exit {
	platform_stop_fn stop;
	void *arg;
};
void debug_exit_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/* Port 0x80: reads 0, writes ignored. */
void post_port_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif /* NFV_VMM_PLATFORM_H */
