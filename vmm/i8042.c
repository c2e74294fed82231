/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * i8042 keyboard controller with nothing attached to it.
 *
 * Enough for Linux's i8042 driver to probe the controller quickly, and for
 * the reset command (0xFE, or an output-port write with the reset line low)
 * to stop the VM. There are no interrupt lines: every reply is read by
 * polling the status register, which is all a probe does.
 *
 * What a guest sees:
 *  - one output byte; OBF only while a reply is pending; IBF never set (the
 *    controller consumes every write at once), so no guest waits on it;
 *  - controller commands: 0x20-0x3F read / 0x60-0x7F write internal RAM
 *    (byte 0 is the command byte), 0xA7/0xA8 and 0xAD/0xAE toggle the
 *    disable bits of the command byte, 0xAA self test (0x55), 0xAB keyboard
 *    interface test (0x00), 0xD0/0xD1 output port, 0xD2 echo as keyboard
 *    data, 0xD4 byte to the AUX device (swallowed), 0xF0-0xFF pulse output
 *    lines (bit 0 clear: reset);
 *  - no keyboard: a byte written to port 0x60 without a pending command goes
 *    to the keyboard, which does not answer: the controller reports a
 *    timeout (status bit 6, 0xFF in the output buffer), as PS/2 controllers
 *    do. Polling drivers see "no keyboard" at once instead of waiting;
 *  - no AUX port: 0xA9 (AUX interface test) answers 0x02 (clock line high:
 *    nothing attached) and 0xD3 (AUX loopback) is not implemented, so
 *    Linux's i8042_check_aux() gives up after two commands, without its AUX
 *    IRQ test and its 250 ms wait.
 *
 * Locking: a mutex protects the state; the stop callback is called after it
 * is released.
 */
#define LOG_COMPONENT "i8042"
#include "vmm/platform.h"
#include "common/log.h"
#include "common/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Offsets in the registered range 0x60-0x64. */
#define I8042_OFF_DATA 0
#define I8042_OFF_CMD 4

/* Status register. */
#define I8042_STR_OBF 0x01
#define I8042_STR_SYS 0x04
#define I8042_STR_CMDDAT 0x08
#define I8042_STR_KEYLOCK 0x10 /* 1: keyboard not inhibited */
#define I8042_STR_AUXDATA 0x20
#define I8042_STR_TIMEOUT 0x40

/* Command byte (internal RAM byte 0). */
#define I8042_CTR_KBDINT 0x01
#define I8042_CTR_SYS 0x04
#define I8042_CTR_KBDDIS 0x10
#define I8042_CTR_AUXDIS 0x20
#define I8042_CTR_XLATE 0x40
#define I8042_CTR_DEFAULT (I8042_CTR_XLATE | I8042_CTR_AUXDIS | I8042_CTR_SYS | I8042_CTR_KBDINT)

/* Output port. */
#define I8042_OUT_RESET 0x01 /* active low */
#define I8042_OUT_A20 0x02
#define I8042_OUT_DEFAULT (I8042_OUT_RESET | I8042_OUT_A20)

/* Controller commands. */
#define I8042_CMD_READ_RAM 0x20	 /* 0x20-0x3F */
#define I8042_CMD_WRITE_RAM 0x60 /* 0x60-0x7F */
#define I8042_CMD_AUX_DISABLE 0xa7
#define I8042_CMD_AUX_ENABLE 0xa8
#define I8042_CMD_AUX_TEST 0xa9
#define I8042_CMD_SELF_TEST 0xaa
#define I8042_CMD_KBD_TEST 0xab
#define I8042_CMD_KBD_DISABLE 0xad
#define I8042_CMD_KBD_ENABLE 0xae
#define I8042_CMD_READ_OUTPORT 0xd0
#define I8042_CMD_WRITE_OUTPORT 0xd1
#define I8042_CMD_WRITE_KBD_OBUF 0xd2
#define I8042_CMD_WRITE_AUX 0xd4
#define I8042_CMD_PULSE 0xf0 /* 0xF0-0xFF: bits 3..0 clear pulse output lines 3..0 */

#define I8042_SELF_TEST_OK 0x55
#define I8042_KBD_TEST_OK 0x00
#define I8042_AUX_TEST_CLOCK_HIGH 0x02
#define I8042_NO_DEVICE 0xff
#define I8042_RAM_SIZE 32

struct i8042 {
	pthread_mutex_t lock;
	platform_stop_fn stop;
	void *arg;

	uint8_t ram[I8042_RAM_SIZE]; /* ram[0]: command byte */
	uint8_t outport;
	uint8_t obuf;	    /* output buffer (last value stays readable) */
	bool obf;	    /* a reply is pending in obuf */
	uint8_t obuf_flags; /* AUXDATA / TIMEOUT of the pending reply */
	uint8_t pending;    /* command waiting for its data byte, 0 for none */
	bool last_was_cmd;  /* status bit 3 */
};

/* Guest-triggered messages: at most 10 lines per 5 s per call site. */
#define i8042_log_rl(level, ...)                                                 \
	do {                                                                     \
		static struct log_ratelimit rl__ = LOG_RATELIMIT_INIT(5000, 10); \
		if (log_enabled(level) && log_ratelimit_ok(&rl__))               \
			log_msg(level, LOG_COMPONENT, __VA_ARGS__);              \
	} while (0)

static void i8042_reply(struct i8042 *k, uint8_t val, uint8_t flags)
{
	k->obuf = val;
	k->obuf_flags = flags;
	k->obf = true;
}

static uint8_t i8042_status(const struct i8042 *k)
{
	uint8_t st = I8042_STR_KEYLOCK;

	if (k->obf)
		st |= I8042_STR_OBF | k->obuf_flags;
	if (k->ram[0] & I8042_CTR_SYS)
		st |= I8042_STR_SYS;
	if (k->last_was_cmd)
		st |= I8042_STR_CMDDAT;
	return st;
}

/* Returns true when the guest asked for a reset. */
static bool i8042_command(struct i8042 *k, uint8_t cmd)
{
	k->pending = 0; /* a new command cancels one waiting for data */
	if (cmd >= I8042_CMD_READ_RAM && cmd < I8042_CMD_READ_RAM + I8042_RAM_SIZE) {
		i8042_reply(k, k->ram[cmd - I8042_CMD_READ_RAM], 0);
		return false;
	}
	if (cmd >= I8042_CMD_WRITE_RAM && cmd < I8042_CMD_WRITE_RAM + I8042_RAM_SIZE) {
		k->pending = cmd;
		return false;
	}
	if (cmd >= I8042_CMD_PULSE)
		return !(cmd & I8042_OUT_RESET);

	switch (cmd) {
	case I8042_CMD_AUX_DISABLE: k->ram[0] |= I8042_CTR_AUXDIS; break;
	case I8042_CMD_AUX_ENABLE: k->ram[0] &= ~I8042_CTR_AUXDIS; break;
	case I8042_CMD_AUX_TEST: i8042_reply(k, I8042_AUX_TEST_CLOCK_HIGH, 0); break;
	case I8042_CMD_SELF_TEST: i8042_reply(k, I8042_SELF_TEST_OK, 0); break;
	case I8042_CMD_KBD_TEST: i8042_reply(k, I8042_KBD_TEST_OK, 0); break;
	case I8042_CMD_KBD_DISABLE: k->ram[0] |= I8042_CTR_KBDDIS; break;
	case I8042_CMD_KBD_ENABLE: k->ram[0] &= ~I8042_CTR_KBDDIS; break;
	case I8042_CMD_READ_OUTPORT: i8042_reply(k, k->outport, 0); break;
	case I8042_CMD_WRITE_OUTPORT:
	case I8042_CMD_WRITE_KBD_OBUF:
	case I8042_CMD_WRITE_AUX: k->pending = cmd; break;
	default: i8042_log_rl(LOG_LVL_DEBUG, "unsupported command %#x ignored", cmd); break;
	}
	return false;
}

/* Returns true when the guest asked for a reset. */
static bool i8042_data(struct i8042 *k, uint8_t val)
{
	uint8_t cmd = k->pending;

	k->pending = 0;
	if (cmd >= I8042_CMD_WRITE_RAM && cmd < I8042_CMD_WRITE_RAM + I8042_RAM_SIZE) {
		k->ram[cmd - I8042_CMD_WRITE_RAM] = val;
		return false;
	}
	switch (cmd) {
	case I8042_CMD_WRITE_OUTPORT: k->outport = val; return !(val & I8042_OUT_RESET);
	case I8042_CMD_WRITE_KBD_OBUF: i8042_reply(k, val, 0); return false;
	case I8042_CMD_WRITE_AUX: return false; /* no AUX device: swallowed */
	default:
		/* A byte for the keyboard, which is not there. */
		i8042_reply(k, I8042_NO_DEVICE, I8042_STR_TIMEOUT);
		return false;
	}
}

void i8042_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct i8042 *k = opaque;
	bool reset = false;

	if (!len || !data)
		return;
	if (!is_write)
		memset(data, 0xff, len);
	/* Wider accesses act as a byte access at their offset. */
	if (!k || (offset != I8042_OFF_DATA && offset != I8042_OFF_CMD))
		return;

	pthread_mutex_lock(&k->lock);
	if (offset == I8042_OFF_CMD) {
		if (is_write) {
			k->last_was_cmd = true;
			reset = i8042_command(k, data[0]);
		} else {
			data[0] = i8042_status(k);
		}
	} else {
		if (is_write) {
			k->last_was_cmd = false;
			reset = i8042_data(k, data[0]);
		} else {
			data[0] = k->obuf;
			k->obf = false;
			k->obuf_flags = 0;
		}
	}
	pthread_mutex_unlock(&k->lock);

	if (reset) {
		i8042_log_rl(LOG_LVL_INFO, "guest pulsed the reset line");
		if (k->stop)
			k->stop(k->arg, PLATFORM_STOP_RESET, 0);
	}
}

struct i8042 *i8042_new(platform_stop_fn stop, void *arg)
{
	struct i8042 *k = calloc(1, sizeof(*k));

	if (!k) {
		log_err("out of memory");
		return NULL;
	}
	if (pthread_mutex_init(&k->lock, NULL)) {
		log_err("cannot initialise the lock");
		free(k);
		return NULL;
	}
	k->stop = stop;
	k->arg = arg;
	k->ram[0] = I8042_CTR_DEFAULT;
	k->outport = I8042_OUT_DEFAULT;
	return k;
}

void i8042_free(struct i8042 *k)
{
	if (!k)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k);
}
