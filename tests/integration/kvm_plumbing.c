/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Integration test of the interrupt and doorbell plumbing of vmm/irq.c
 * against the real KVM (no nfv-vmm process: the VM is built from
 * kvm_vm_create(), vm_memory_init() and irq_init(), with one vCPU made by
 * raw ioctls). It proves that:
 *
 *  1. irq_ioeventfd_add() doorbells complete without an exit to user space:
 *     a PIO port (len 1), an MMIO address in the PCI hole (len 4) and an MMIO
 *     address with datamatch, written by a tiny guest; a write of another
 *     width, or of another value than the datamatch, still exits; the KVM
 *     length rules are enforced; after irq_ioeventfd_del() every access
 *     exits again.
 *  2. irq_msi_route_add() + irq_irqfd_assign(): an eventfd write sets the
 *     vector in the LAPIC IRR; irq_msi_route_update() retargets the live
 *     irqfd to a new vector; after irq_irqfd_deassign() and
 *     irq_msi_route_del() a write delivers nothing.
 *  3. irq_ops()->send_msi() (KVM_SIGNAL_MSI) sets the vector in the IRR.
 *  4. irq_ops()->set_level() drives IOAPIC pins: GSI 4 -> pin 4, GSI 0 (the
 *     PIT) -> pin 2 as on a PC, and GSI 0 reaches neither pin 0 nor, through
 *     GSI 2 (the PIC cascade), any IOAPIC pin.
 *
 * The guest runs in 32-bit protected mode with paging off (as a PVH entry
 * does), with flat segments loaded through KVM_SET_SREGS, so that it can
 * address the PCI hole; it runs with interrupts disabled and is never run
 * again after part 1, so pending vectors stay in the IRR.
 *
 * Exit status: 0 pass, 1 fail, 77 skip (not root, no /dev/kvm).
 */
#include "vmm/irq.h"
#include "vmm/kvm.h"
#include "common/log.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define GUEST_CODE 0x1000
#define PORT_DOORBELL 0x510
#define PORT_DONE 0xf4
#define MMIO_DOORBELL 0xC0001000ull
#define MMIO_DM_DOORBELL 0xC0001008ull
#define DM_VALUE 0x1234
#define DM_OTHER 0x5678

#define MSI_ADDR 0xFEE00000ull /* destination APIC ID 0, physical */
#define VEC_IRQFD 0x41
#define VEC_IRQFD_NEW 0x42
#define VEC_SIGNAL 0x51
#define VEC_PIN4 0x34
#define VEC_PIN2 0x30
#define VEC_PIN0 0x20

#define APIC_SVR 0xF0
#define APIC_SVR_ENABLE (1u << 8)
#define APIC_IRR 0x200

#define RUN_TIMEOUT_S 10 /* per KVM_RUN, enforced with SIGALRM */
#define MAX_RUNS 16
#define POLL_MS 2000
#define QUIET_MS 200

/*
 * Guest program (32-bit code). Part A runs with the doorbells registered,
 * part B after they are deleted; each ends with `out PORT_DONE, al`.
 */
static const uint8_t guest_code[] = {
	/* part A */
	0x66, 0xba, 0x10, 0x05,	      /* mov dx, 0x510 */
	0xb0, 0xa5,		      /* mov al, 0xa5 */
	0xee,			      /* out dx, al: doorbell */
	0xee,			      /* out dx, al: doorbell */
	0x66, 0xef,		      /* out dx, ax: 2 bytes, exits */
	0xb8, 0xef, 0xbe, 0xad, 0xde, /* mov eax, 0xdeadbeef */
	0xa3, 0x00, 0x10, 0x00, 0xc0, /* mov [0xC0001000], eax: doorbell */
	0xb8, 0x34, 0x12, 0x00, 0x00, /* mov eax, DM_VALUE */
	0xa3, 0x08, 0x10, 0x00, 0xc0, /* mov [0xC0001008], eax: datamatch doorbell */
	0xb8, 0x78, 0x56, 0x00, 0x00, /* mov eax, DM_OTHER */
	0xa3, 0x08, 0x10, 0x00, 0xc0, /* mov [0xC0001008], eax: mismatch, exits */
	0xe6, 0xf4,		      /* out 0xf4, al: end of part A */
	/* part B */
	0xee,			      /* out dx, al: exits */
	0xa3, 0x00, 0x10, 0x00, 0xc0, /* mov [0xC0001000], eax: exits */
	0xb8, 0x34, 0x12, 0x00, 0x00, /* mov eax, DM_VALUE */
	0xa3, 0x08, 0x10, 0x00, 0xc0, /* mov [0xC0001008], eax: exits */
	0xe6, 0xf4,		      /* out 0xf4, al: end of part B */
	0xf4,			      /* hlt */
	0xeb, 0xfd,		      /* jmp hlt */
};

struct ctx {
	struct vm_config cfg;
	struct kvm_vm vm;
	bool vm_created;
	bool mem_ready;
	bool irq_ready;
	int vcpu_fd;
	struct kvm_run *run;
	int efd_pio, efd_mmio, efd_dm, efd_irq;
};

static void ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ok(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ok: ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	fflush(stdout);
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("FAIL: ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	fflush(stdout);
	return -1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void on_alarm(int sig)
{
	(void)sig; /* only interrupts KVM_RUN */
}

/* ---- the vCPU ---- */

static void flat_seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	*s = (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = type,
		.present = 1,
		.db = 1,
		.s = 1,
		.g = 1,
	};
}

static int vcpu_setup(struct ctx *c)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { 0 };

	c->vcpu_fd = ioctl(c->vm.vm_fd, KVM_CREATE_VCPU, 0);
	if (c->vcpu_fd < 0)
		return fail("KVM_CREATE_VCPU: %s", strerror(errno));
	c->run = mmap(NULL, (size_t)c->vm.vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      c->vcpu_fd, 0);
	if (c->run == MAP_FAILED) {
		c->run = NULL;
		return fail("mmap of kvm_run: %s", strerror(errno));
	}
	if (ioctl(c->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS: %s", strerror(errno));
	flat_seg(&sregs.cs, 0x08, 0xb); /* code, execute/read, accessed */
	flat_seg(&sregs.ds, 0x10, 0x3); /* data, read/write, accessed */
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr0 = 0x11; /* PE | ET, paging off */
	sregs.cr3 = 0;
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (ioctl(c->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS: %s", strerror(errno));
	regs.rflags = 0x2; /* IF clear: the guest takes no interrupt */
	regs.rip = GUEST_CODE;
	if (ioctl(c->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS: %s", strerror(errno));
	return 0;
}

static const char *exit_name(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_IO: return "IO";
	case KVM_EXIT_MMIO: return "MMIO";
	case KVM_EXIT_HLT: return "HLT";
	case KVM_EXIT_SHUTDOWN: return "SHUTDOWN";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
	default: return "other";
	}
}

static void describe_exit(const struct kvm_run *run, char *buf, size_t len)
{
	if (run->exit_reason == KVM_EXIT_IO)
		snprintf(buf, len, "IO %s port %#x size %u", run->io.direction ? "out" : "in",
			 run->io.port, run->io.size);
	else if (run->exit_reason == KVM_EXIT_MMIO)
		snprintf(buf, len, "MMIO %s %#llx len %u", run->mmio.is_write ? "write" : "read",
			 (unsigned long long)run->mmio.phys_addr, run->mmio.len);
	else if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
		snprintf(buf, len, "INTERNAL_ERROR suberror %u", run->internal.suberror);
	else
		snprintf(buf, len, "%s (%u)", exit_name(run->exit_reason), run->exit_reason);
}

/* Runs the vCPU once (bounded by SIGALRM) and returns 0 with run->exit_reason set. */
static int vcpu_run_once(struct ctx *c)
{
	int r, err;

	alarm(RUN_TIMEOUT_S);
	r = ioctl(c->vcpu_fd, KVM_RUN, 0);
	err = errno;
	alarm(0);
	if (r < 0) {
		if (err == EINTR)
			return fail("KVM_RUN did not return within %d s", RUN_TIMEOUT_S);
		return fail("KVM_RUN: %s", strerror(err));
	}
	return 0;
}

static bool is_pio_out(const struct kvm_run *run, uint16_t port, uint8_t size)
{
	return run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT &&
	       run->io.port == port && run->io.size == size && run->io.count == 1;
}

static bool is_mmio_write(const struct kvm_run *run, uint64_t addr, uint32_t len, uint32_t val)
{
	uint32_t data;

	if (run->exit_reason != KVM_EXIT_MMIO || !run->mmio.is_write ||
	    run->mmio.phys_addr != addr || run->mmio.len != len)
		return false;
	memcpy(&data, run->mmio.data, sizeof(data));
	return data == val;
}

/* One expected user-space exit, in order. */
struct want_exit {
	bool mmio;
	uint64_t addr;
	uint32_t len;
	uint32_t val; /* MMIO only */
	const char *what;
};

static bool exit_matches(const struct kvm_run *run, const struct want_exit *w)
{
	if (w->mmio)
		return is_mmio_write(run, w->addr, w->len, w->val);
	return is_pio_out(run, (uint16_t)w->addr, (uint8_t)w->len);
}

/*
 * Runs the guest through a list of expected exits; any other exit, or one
 * more than expected before the PORT_DONE marker, fails.
 */
static int run_expect(struct ctx *c, const struct want_exit *want, size_t n, const char *part)
{
	char desc[96];
	size_t i = 0;

	for (unsigned int runs = 0; runs < MAX_RUNS; runs++) {
		if (vcpu_run_once(c) < 0)
			return -1;
		describe_exit(c->run, desc, sizeof(desc));
		if (i == n) {
			if (!is_pio_out(c->run, PORT_DONE, 1))
				return fail("%s: expected the end marker (out %#x), got exit %s",
					    part, PORT_DONE, desc);
			return 0;
		}
		if (exit_matches(c->run, &want[i])) {
			ok("%s: %s exits to user space (%s)", part, want[i].what, desc);
			i++;
			continue;
		}
		return fail("%s: expected %s to exit to user space, got exit %s", part,
			    want[i].what, desc);
	}
	return fail("%s: no end marker after %d runs", part, MAX_RUNS);
}

/* Reads and resets an eventfd counter (0 when it was never signalled). */
static int efd_take(int efd, uint64_t *count)
{
	ssize_t r = read(efd, count, sizeof(*count));

	if (r == (ssize_t)sizeof(*count))
		return 0;
	if (r < 0 && errno == EAGAIN) {
		*count = 0;
		return 0;
	}
	return fail("read of an eventfd: %s", r < 0 ? strerror(errno) : "short read");
}

static int efd_expect(int efd, uint64_t want, const char *what)
{
	uint64_t got;

	if (efd_take(efd, &got) < 0)
		return -1;
	if (got != want)
		return fail("%s: eventfd count %llu, expected %llu", what, (unsigned long long)got,
			    (unsigned long long)want);
	ok("%s: eventfd count %llu", what, (unsigned long long)got);
	return 0;
}

/* ---- part 1: ioeventfd ---- */

static int test_ioeventfd(struct ctx *c)
{
	struct kvm_vm *vm = &c->vm;
	int r;
	const struct want_exit part_a[] = {
		{ false, PORT_DOORBELL, 2, 0, "a 2-byte write to the 1-byte PIO doorbell" },
		{ true, MMIO_DM_DOORBELL, 4, DM_OTHER, "a datamatch mismatch" },
	};
	const struct want_exit part_b[] = {
		{ false, PORT_DOORBELL, 1, 0, "the deleted PIO doorbell" },
		{ true, MMIO_DOORBELL, 4, DM_OTHER, "the deleted MMIO doorbell" },
		{ true, MMIO_DM_DOORBELL, 4, DM_VALUE, "the deleted datamatch doorbell" },
	};

	/* KVM's length rules: 0 (any length, no datamatch), 1, 2, 4 or 8. */
	r = irq_ioeventfd_add(vm, PORT_DOORBELL, 3, true, false, 0, c->efd_pio);
	if (r != -EINVAL)
		return fail("ioeventfd len 3: got %d, expected -EINVAL", r);
	r = irq_ioeventfd_add(vm, MMIO_DOORBELL, 0, false, true, DM_VALUE, c->efd_mmio);
	if (r != -EINVAL)
		return fail("ioeventfd len 0 with datamatch: got %d, expected -EINVAL", r);
	ok("ioeventfd rejects len 3 and len 0 with datamatch (-EINVAL)");

	r = irq_ioeventfd_add(vm, PORT_DOORBELL, 1, true, false, 0, c->efd_pio);
	if (r < 0)
		return fail("ioeventfd PIO %#x len 1: %s", PORT_DOORBELL, strerror(-r));
	r = irq_ioeventfd_add(vm, PORT_DOORBELL, 1, true, false, 0, c->efd_pio);
	if (r != -EEXIST)
		return fail("second identical PIO ioeventfd: got %d, expected -EEXIST", r);
	ok("a duplicate ioeventfd is refused (-EEXIST)");
	r = irq_ioeventfd_add(vm, MMIO_DOORBELL, 4, false, false, 0, c->efd_mmio);
	if (r < 0)
		return fail("ioeventfd MMIO %#llx len 4: %s", MMIO_DOORBELL, strerror(-r));
	r = irq_ioeventfd_add(vm, MMIO_DM_DOORBELL, 4, false, true, DM_VALUE, c->efd_dm);
	if (r < 0)
		return fail("ioeventfd MMIO %#llx len 4 datamatch %#x: %s", MMIO_DM_DOORBELL,
			    DM_VALUE, strerror(-r));
	ok("ioeventfds added: PIO %#x/1, MMIO %#llx/4, MMIO %#llx/4 datamatch %#x", PORT_DOORBELL,
	   MMIO_DOORBELL, MMIO_DM_DOORBELL, DM_VALUE);

	if (run_expect(c, part_a, ARRAY_SIZE(part_a), "doorbells") < 0)
		return -1;
	ok("doorbells: guest reached the end marker with no exit for the doorbell writes");
	if (efd_expect(c->efd_pio, 2, "PIO doorbell (2 writes)") < 0 ||
	    efd_expect(c->efd_mmio, 1, "MMIO doorbell (1 write)") < 0 ||
	    efd_expect(c->efd_dm, 1, "MMIO datamatch doorbell (1 match, 1 mismatch)") < 0)
		return -1;

	r = irq_ioeventfd_del(vm, PORT_DOORBELL, 1, true, false, 0, c->efd_pio);
	if (r < 0)
		return fail("ioeventfd_del PIO: %s", strerror(-r));
	r = irq_ioeventfd_del(vm, MMIO_DOORBELL, 4, false, false, 0, c->efd_mmio);
	if (r < 0)
		return fail("ioeventfd_del MMIO: %s", strerror(-r));
	r = irq_ioeventfd_del(vm, MMIO_DM_DOORBELL, 4, false, true, DM_VALUE, c->efd_dm);
	if (r < 0)
		return fail("ioeventfd_del MMIO datamatch: %s", strerror(-r));
	r = irq_ioeventfd_del(vm, PORT_DOORBELL, 1, true, false, 0, c->efd_pio);
	if (r != -ENOENT)
		return fail("deleting a deleted ioeventfd: got %d, expected -ENOENT", r);
	ok("ioeventfds deleted (a second delete gives -ENOENT)");

	if (run_expect(c, part_b, ARRAY_SIZE(part_b), "after delete") < 0)
		return -1;
	if (efd_expect(c->efd_pio, 0, "deleted PIO doorbell") < 0 ||
	    efd_expect(c->efd_mmio, 0, "deleted MMIO doorbell") < 0 ||
	    efd_expect(c->efd_dm, 0, "deleted datamatch doorbell") < 0)
		return -1;
	return 0;
}

/* ---- the LAPIC ---- */

static uint32_t apic_reg(const struct kvm_lapic_state *s, unsigned int off)
{
	uint32_t v;

	memcpy(&v, &s->regs[off], sizeof(v));
	return v;
}

static void apic_set_reg(struct kvm_lapic_state *s, unsigned int off, uint32_t v)
{
	memcpy(&s->regs[off], &v, sizeof(v));
}

static int lapic_get(struct ctx *c, struct kvm_lapic_state *s)
{
	if (ioctl(c->vcpu_fd, KVM_GET_LAPIC, s) < 0)
		return fail("KVM_GET_LAPIC: %s", strerror(errno));
	return 0;
}

/* 1 when vector is pending in the IRR, 0 when not, -1 on error. */
static int irr_test(struct ctx *c, unsigned int vector)
{
	struct kvm_lapic_state s;

	if (lapic_get(c, &s) < 0)
		return -1;
	return (apic_reg(&s, APIC_IRR + (vector / 32) * 0x10) >> (vector % 32)) & 1;
}

/* Waits up to POLL_MS for vector in the IRR (injection may be deferred to a worker). */
static int irr_wait(struct ctx *c, unsigned int vector, const char *what)
{
	uint64_t deadline = now_ms() + POLL_MS;

	for (unsigned int i = 0; i < POLL_MS / 5 + 1; i++) {
		int r = irr_test(c, vector);

		if (r < 0)
			return -1;
		if (r) {
			ok("%s: vector %#x pending in the LAPIC IRR", what, vector);
			return 0;
		}
		if (now_ms() > deadline)
			break;
		sleep_ms(5);
	}
	return fail("%s: vector %#x not in the LAPIC IRR after %d ms", what, vector, POLL_MS);
}

/* Checks, after QUIET_MS, that none of the vectors became pending. */
static int irr_quiet(struct ctx *c, const unsigned int *vectors, size_t n, const char *what)
{
	sleep_ms(QUIET_MS);
	for (size_t i = 0; i < n; i++) {
		int r = irr_test(c, vectors[i]);

		if (r < 0)
			return -1;
		if (r)
			return fail("%s: vector %#x became pending", what, vectors[i]);
	}
	ok("%s: nothing pending after %d ms", what, QUIET_MS);
	return 0;
}

/* Empties the IRR, so that each check sees only what it caused. */
static int irr_clear(struct ctx *c)
{
	struct kvm_lapic_state s;

	if (lapic_get(c, &s) < 0)
		return -1;
	for (unsigned int i = 0; i < 8; i++)
		apic_set_reg(&s, APIC_IRR + i * 0x10, 0);
	if (ioctl(c->vcpu_fd, KVM_SET_LAPIC, &s) < 0)
		return fail("KVM_SET_LAPIC: %s", strerror(errno));
	return 0;
}

static int lapic_enable(struct ctx *c)
{
	struct kvm_lapic_state s;

	if (lapic_get(c, &s) < 0)
		return -1;
	apic_set_reg(&s, APIC_SVR, apic_reg(&s, APIC_SVR) | APIC_SVR_ENABLE);
	if (ioctl(c->vcpu_fd, KVM_SET_LAPIC, &s) < 0)
		return fail("KVM_SET_LAPIC: %s", strerror(errno));
	if (lapic_get(c, &s) < 0)
		return -1;
	if (!(apic_reg(&s, APIC_SVR) & APIC_SVR_ENABLE))
		return fail("LAPIC SVR enable bit did not stick (SVR %#x)", apic_reg(&s, APIC_SVR));
	ok("LAPIC software-enabled (SVR %#x, APIC ID %u)", apic_reg(&s, APIC_SVR),
	   apic_reg(&s, 0x20) >> 24);
	return 0;
}

/* ---- part 2: MSI through irqfd ---- */

static int efd_signal(int efd)
{
	uint64_t one = 1;

	if (write(efd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		return fail("write to an eventfd: %s", strerror(errno));
	return 0;
}

static int test_irqfd(struct ctx *c)
{
	struct kvm_vm *vm = &c->vm;
	const unsigned int both[] = { VEC_IRQFD, VEC_IRQFD_NEW };
	unsigned int gsi = 0;
	bool assigned = false, routed = false;
	int r, ret = -1;

	/* data: vector, fixed delivery, edge (bit 15 clear) */
	r = irq_msi_route_add(vm, MSI_ADDR, VEC_IRQFD, &gsi);
	if (r < 0)
		return fail("irq_msi_route_add: %s", strerror(-r));
	routed = true;
	if (gsi < GSI_MSI_FIRST || gsi >= GSI_MAX) {
		fail("irq_msi_route_add gave GSI %u, outside [%d, %d)", gsi, GSI_MSI_FIRST,
		     GSI_MAX);
		goto out;
	}
	ok("MSI route GSI %u -> %#llx/%#x", gsi, MSI_ADDR, VEC_IRQFD);
	r = irq_irqfd_assign(vm, c->efd_irq, gsi, -1);
	if (r < 0) {
		fail("irq_irqfd_assign: %s", strerror(-r));
		goto out;
	}
	assigned = true;
	if (irr_clear(c) < 0 || efd_signal(c->efd_irq) < 0 ||
	    irr_wait(c, VEC_IRQFD, "irqfd write") < 0)
		goto out;

	r = irq_msi_route_update(vm, gsi, MSI_ADDR, VEC_IRQFD_NEW);
	if (r < 0) {
		fail("irq_msi_route_update: %s", strerror(-r));
		goto out;
	}
	if (irr_clear(c) < 0 || efd_signal(c->efd_irq) < 0 ||
	    irr_wait(c, VEC_IRQFD_NEW, "irqfd write after route update") < 0)
		goto out;
	r = irr_test(c, VEC_IRQFD);
	if (r != 0) {
		if (r > 0)
			fail("after the route update, the old vector %#x was delivered too",
			     VEC_IRQFD);
		goto out;
	}
	ok("after the route update the old vector %#x is not delivered", VEC_IRQFD);

	r = irq_irqfd_deassign(vm, c->efd_irq, gsi);
	assigned = false;
	if (r < 0) {
		fail("irq_irqfd_deassign: %s", strerror(-r));
		goto out;
	}
	irq_msi_route_del(vm, gsi);
	routed = false;
	r = irq_msi_route_update(vm, gsi, MSI_ADDR, VEC_IRQFD);
	if (r != -ENOENT) {
		fail("irq_msi_route_update of a deleted route: got %d, expected -ENOENT", r);
		goto out;
	}
	ok("irqfd deassigned, MSI route deleted (updating it now gives -ENOENT)");
	if (irr_clear(c) < 0 || efd_signal(c->efd_irq) < 0 ||
	    irr_quiet(c, both, ARRAY_SIZE(both), "eventfd write after deassign") < 0)
		goto out;
	ret = 0;
out:
	if (assigned)
		irq_irqfd_deassign(vm, c->efd_irq, gsi);
	if (routed)
		irq_msi_route_del(vm, gsi);
	return ret;
}

/* ---- part 3: KVM_SIGNAL_MSI ---- */

static int test_signal_msi(struct ctx *c)
{
	const struct vm_irq *irq = irq_ops(&c->vm);
	int r;

	if (irr_clear(c) < 0)
		return -1;
	r = irq->send_msi(irq->opaque, MSI_ADDR, VEC_SIGNAL);
	if (r < 0)
		return fail("send_msi: %s", strerror(-r));
	return irr_wait(c, VEC_SIGNAL, "send_msi (KVM_SIGNAL_MSI)");
}

/* ---- part 4: GSI lines and the IOAPIC ---- */

static int ioapic_program(struct ctx *c, unsigned int pin, unsigned int vector)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };

	if (ioctl(c->vm.vm_fd, KVM_GET_IRQCHIP, &chip) < 0)
		return fail("KVM_GET_IRQCHIP (IOAPIC): %s", strerror(errno));
	/* fixed, physical destination APIC ID 0, active high, edge, unmasked */
	chip.chip.ioapic.redirtbl[pin].bits = vector;
	if (ioctl(c->vm.vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
		return fail("KVM_SET_IRQCHIP (IOAPIC): %s", strerror(errno));
	return 0;
}

static int pulse(struct ctx *c, unsigned int gsi)
{
	const struct vm_irq *irq = irq_ops(&c->vm);
	int r = irq->set_level(irq->opaque, gsi, 1);

	if (r == 0)
		r = irq->set_level(irq->opaque, gsi, 0);
	if (r < 0)
		return fail("set_level on GSI %u: %s", gsi, strerror(-r));
	return 0;
}

static int test_gsi(struct ctx *c)
{
	const unsigned int pin0[] = { VEC_PIN0 };
	const unsigned int all[] = { VEC_PIN0, VEC_PIN2, VEC_PIN4 };
	int r;

	if (ioapic_program(c, 4, VEC_PIN4) < 0 || ioapic_program(c, 2, VEC_PIN2) < 0 ||
	    ioapic_program(c, 0, VEC_PIN0) < 0)
		return -1;
	ok("IOAPIC pins 0, 2, 4 programmed: vectors %#x, %#x, %#x, edge, dest 0", VEC_PIN0,
	   VEC_PIN2, VEC_PIN4);

	if (irr_clear(c) < 0 || pulse(c, GSI_COM1) < 0 ||
	    irr_wait(c, VEC_PIN4, "GSI 4 pulse -> IOAPIC pin 4") < 0)
		return -1;

	/* The in-kernel PIT is never programmed, so it does not fire GSI 0 here. */
	if (irr_clear(c) < 0)
		return -1;
	r = irr_test(c, VEC_PIN2);
	if (r < 0)
		return -1;
	if (r)
		return fail("vector %#x (pin 2) pending before the pulse: GSI 0 is busy", VEC_PIN2);
	if (pulse(c, GSI_PIT) < 0 || irr_wait(c, VEC_PIN2, "GSI 0 pulse -> IOAPIC pin 2") < 0)
		return -1;
	r = irr_test(c, VEC_PIN0);
	if (r < 0)
		return -1;
	if (r)
		return fail("GSI 0 pulse reached IOAPIC pin 0 (vector %#x pending)", VEC_PIN0);
	if (irr_quiet(c, pin0, ARRAY_SIZE(pin0), "GSI 0 pulse does not reach IOAPIC pin 0") < 0)
		return -1;

	/* GSI 2 is the PIC cascade: no IOAPIC pin at all. */
	if (irr_clear(c) < 0 || pulse(c, 2) < 0 ||
	    irr_quiet(c, all, ARRAY_SIZE(all), "GSI 2 pulse reaches no IOAPIC pin") < 0)
		return -1;
	return 0;
}

/* ---- set-up and tear-down ---- */

static int new_efd(int *fd)
{
	*fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (*fd < 0)
		return fail("eventfd: %s", strerror(errno));
	return 0;
}

static int setup(struct ctx *c)
{
	char err[256] = "";
	int r;

	c->cfg = (struct vm_config){
		.name = "kvm_plumbing",
		.nr_cpus = 1,
		.mem_size = 16 * MiB,
		.kvm_path = "/dev/kvm",
		.console = CONSOLE_NONE,
	};
	if (kvm_vm_create(&c->vm, &c->cfg, err, sizeof(err)) < 0)
		return fail("kvm_vm_create: %s", err);
	c->vm_created = true;
	if (vm_memory_init(&c->vm, err, sizeof(err)) < 0)
		return fail("vm_memory_init: %s", err);
	c->mem_ready = true;
	r = irq_init(&c->vm);
	if (r < 0)
		return fail("irq_init: %s", strerror(-r));
	c->irq_ready = true;
	memcpy((uint8_t *)c->vm.mem_base + GUEST_CODE, guest_code, sizeof(guest_code));
	if (vcpu_setup(c) < 0)
		return -1;
	if (new_efd(&c->efd_pio) < 0 || new_efd(&c->efd_mmio) < 0 || new_efd(&c->efd_dm) < 0 ||
	    new_efd(&c->efd_irq) < 0)
		return -1;
	ok("VM created: 16 MiB, 1 vCPU, in-kernel irqchip, GSI routing from irq_init()");
	return 0;
}

static void teardown(struct ctx *c)
{
	int *fds[] = { &c->efd_pio, &c->efd_mmio, &c->efd_dm, &c->efd_irq, &c->vcpu_fd };

	if (c->run)
		munmap(c->run, (size_t)c->vm.vcpu_mmap_size);
	c->run = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	if (c->irq_ready)
		irq_exit(&c->vm);
	if (c->vm_created)
		kvm_vm_destroy(&c->vm);
	if (c->mem_ready)
		vm_memory_exit(&c->vm);
	c->irq_ready = c->vm_created = c->mem_ready = false;
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART: KVM_RUN gets EINTR */
	struct ctx c = {
		.vm = { .vm_fd = -1, .kvm_fd = -1, .mem_fd = -1 },
		.vcpu_fd = -1,
		.efd_pio = -1,
		.efd_mmio = -1,
		.efd_dm = -1,
		.efd_irq = -1,
	};
	int ret = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("SKIP: needs root\n");
		return 77;
	}
	if (access("/dev/kvm", R_OK | W_OK) < 0) {
		printf("SKIP: no usable /dev/kvm (%s)\n", strerror(errno));
		return 77;
	}
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) < 0) {
		fail("sigaction: %s", strerror(errno));
		return 1;
	}
	log_set_level(LOG_LVL_WARN);

	if (setup(&c) == 0 && test_ioeventfd(&c) == 0 && lapic_enable(&c) == 0 &&
	    test_irqfd(&c) == 0 && test_signal_msi(&c) == 0 && test_gsi(&c) == 0)
		ret = 0;
	teardown(&c);
	printf("result: %s\n", ret ? "FAIL" : "PASS");
	return ret;
}
