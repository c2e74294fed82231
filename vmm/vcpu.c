/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vCPUs: creation, boot register state, the KVM_RUN loop and its exits, and
 * the VM's run state (pause, resume, stop).
 *
 * Threads: each vCPU thread runs vcpu_thread(). It dispatches PIO and MMIO
 * exits to the buses itself (devices lock themselves). The run state lives
 * under vm->state_lock; a pause or stop sets the state first, then kicks
 * every vCPU (immediate_exit, then a signal), so a vCPU that is about to
 * enter KVM_RUN leaves at once and one inside it is interrupted.
 */
#define LOG_COMPONENT "vcpu"
#include "vmm/kvm.h"
#include "common/log.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define VCPU_KICK_SIGNAL SIGUSR1
#define CPUID_MAX_ENTRIES 256

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

static const char *const exit_names[VCPU_EXIT_REASONS] = {
	[KVM_EXIT_UNKNOWN] = "unknown",
	[KVM_EXIT_EXCEPTION] = "exception",
	[KVM_EXIT_IO] = "io",
	[KVM_EXIT_HYPERCALL] = "hypercall",
	[KVM_EXIT_DEBUG] = "debug",
	[KVM_EXIT_HLT] = "hlt",
	[KVM_EXIT_MMIO] = "mmio",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "irq_window_open",
	[KVM_EXIT_SHUTDOWN] = "shutdown",
	[KVM_EXIT_FAIL_ENTRY] = "fail_entry",
	[KVM_EXIT_INTR] = "intr",
	[KVM_EXIT_SET_TPR] = "set_tpr",
	[KVM_EXIT_TPR_ACCESS] = "tpr_access",
	[KVM_EXIT_NMI] = "nmi",
	[KVM_EXIT_INTERNAL_ERROR] = "internal_error",
	[KVM_EXIT_OSI] = "osi",
	[KVM_EXIT_SYSTEM_EVENT] = "system_event",
	[KVM_EXIT_IOAPIC_EOI] = "ioapic_eoi",
	[KVM_EXIT_HYPERV] = "hyperv",
	[KVM_EXIT_X86_RDMSR] = "rdmsr",
	[KVM_EXIT_X86_WRMSR] = "wrmsr",
	[KVM_EXIT_DIRTY_RING_FULL] = "dirty_ring_full",
	[KVM_EXIT_X86_BUS_LOCK] = "bus_lock",
};

const char *kvm_exit_reason_name(unsigned int reason)
{
	if (reason < VCPU_EXIT_REASONS && exit_names[reason])
		return exit_names[reason];
	return NULL;
}

const char *vm_state_name(enum vm_state s)
{
	switch (s) {
	case VM_CREATED: return "created";
	case VM_RUNNING: return "running";
	case VM_PAUSED: return "paused";
	case VM_STOPPING: return "stopping";
	case VM_STOPPED: return "stopped";
	}
	return "?";
}

static void kick_handler(int sig)
{
	(void)sig;
}

static void count_exit(struct vcpu *v, unsigned int reason)
{
	if (reason >= VCPU_EXIT_REASONS)
		reason = KVM_EXIT_UNKNOWN;
	__atomic_add_fetch(&v->exits[reason], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&v->exits_total, 1, __ATOMIC_RELAXED);
}

void vm_exit_stats(struct kvm_vm *vm, struct vm_exit_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		for (unsigned int r = 0; r < VCPU_EXIT_REASONS; r++)
			st->by_reason[r] += __atomic_load_n(&v->exits[r], __ATOMIC_RELAXED);
		st->total += __atomic_load_n(&v->exits_total, __ATOMIC_RELAXED);
	}
}

/* ---- run state ---- */

enum vm_state vm_get_state(struct kvm_vm *vm)
{
	enum vm_state s;

	pthread_mutex_lock(&vm->state_lock);
	s = vm->state;
	pthread_mutex_unlock(&vm->state_lock);
	return s;
}

void vcpus_kick(struct kvm_vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (!v->run)
			continue;
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		if (v->thread_started && !pthread_equal(v->thread, pthread_self()))
			pthread_kill(v->thread, VCPU_KICK_SIGNAL);
	}
}

void vm_request_stop(struct kvm_vm *vm, int status, const char *fmt, ...)
{
	va_list ap;
	bool first = false;

	pthread_mutex_lock(&vm->state_lock);
	if (vm->state < VM_STOPPING) {
		first = true;
		vm->state = VM_STOPPING;
		vm->exit_status = status;
		va_start(ap, fmt);
		vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
		va_end(ap);
		pthread_cond_broadcast(&vm->state_cond);
	}
	pthread_mutex_unlock(&vm->state_lock);
	if (!first)
		return;
	vcpus_kick(vm);
	if (vm->stop_event)
		evloop_event_signal(vm->stop_event);
}

int vm_pause(struct kvm_vm *vm)
{
	bool all;

	pthread_mutex_lock(&vm->state_lock);
	if (vm->state != VM_RUNNING) {
		int ret = vm->state == VM_PAUSED ? 0 : -EBUSY;
		pthread_mutex_unlock(&vm->state_lock);
		return ret;
	}
	vm->state = VM_PAUSED;
	pthread_mutex_unlock(&vm->state_lock);
	vcpus_kick(vm);
	pthread_mutex_lock(&vm->state_lock);
	for (;;) {
		all = true;
		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			if (vm->vcpus[i].thread_started && !vm->vcpus[i].paused)
				all = false;
		if (all || vm->state != VM_PAUSED)
			break;
		pthread_cond_wait(&vm->state_cond, &vm->state_lock);
	}
	pthread_mutex_unlock(&vm->state_lock);
	return 0;
}

int vm_resume(struct kvm_vm *vm)
{
	int ret = 0;

	pthread_mutex_lock(&vm->state_lock);
	if (vm->state == VM_PAUSED) {
		vm->state = VM_RUNNING;
		pthread_cond_broadcast(&vm->state_cond);
	} else if (vm->state != VM_RUNNING) {
		ret = -EBUSY;
	}
	pthread_mutex_unlock(&vm->state_lock);
	return ret;
}

/* ---- register state and diagnostics ---- */

static void set_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64)
{
	*s = (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = code64 ? 0 : 1,
		.s = 1,
		.l = code64 ? 1 : 0,
		.g = 1,
	};
}

static int vcpu_set_boot_state(struct vcpu *v, const struct boot_entry *b)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { 0 };

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	set_seg(&sregs.cs, BOOT_CS_SELECTOR, 0xb, b->long_mode);
	set_seg(&sregs.ds, BOOT_DS_SELECTOR, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = b->gdt_base;
	sregs.gdt.limit = b->gdt_limit;
	if (b->long_mode) {
		sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
		sregs.cr3 = b->cr3;
		sregs.cr4 = CR4_PAE;
		sregs.efer = EFER_LME | EFER_LMA;
	} else {
		sregs.cr0 = CR0_PE | CR0_ET;
		sregs.cr3 = 0;
		sregs.cr4 = 0;
		sregs.efer = 0;
	}
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	regs.rflags = 0x2;
	regs.rip = b->rip;
	regs.rbx = b->rbx;
	regs.rsi = b->rsi;
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

/* Guest linear address to physical, walking the guest's page tables. */
static int gva_to_gpa(struct kvm_vm *vm, const struct kvm_sregs *s, uint64_t va, uint64_t *pa)
{
	uint64_t e;

	if (!(s->cr0 & CR0_PG)) {
		*pa = va;
		return 0;
	}
	if (s->efer & EFER_LMA) {
		uint64_t table = s->cr3 & 0x000ffffffffff000ull;
		for (int level = 3; level >= 0; level--) {
			unsigned int idx = (va >> (12 + 9 * level)) & 0x1ff;
			if (gm_read(&vm->mem, table + idx * 8, &e, 8) || !(e & 1))
				return -EFAULT;
			if (level > 0 && level < 3 && (e & 0x80)) {
				uint64_t sz = 1ull << (12 + 9 * level);
				*pa = (e & 0x000ffffffffff000ull & ~(sz - 1)) | (va & (sz - 1));
				return 0;
			}
			table = e & 0x000ffffffffff000ull;
		}
		*pa = table | (va & 0xfff);
		return 0;
	}
	if (s->cr4 & CR4_PAE) {
		uint64_t table = s->cr3 & 0xffffffe0ull;
		if (gm_read(&vm->mem, table + ((va >> 30) & 3) * 8, &e, 8) || !(e & 1))
			return -EFAULT;
		table = e & 0x000ffffffffff000ull;
		if (gm_read(&vm->mem, table + ((va >> 21) & 0x1ff) * 8, &e, 8) || !(e & 1))
			return -EFAULT;
		if (e & 0x80) {
			*pa = (e & 0x000fffffffe00000ull) | (va & 0x1fffff);
			return 0;
		}
		table = e & 0x000ffffffffff000ull;
		if (gm_read(&vm->mem, table + ((va >> 12) & 0x1ff) * 8, &e, 8) || !(e & 1))
			return -EFAULT;
		*pa = (e & 0x000ffffffffff000ull) | (va & 0xfff);
		return 0;
	} else {
		uint32_t e32, table = (uint32_t)s->cr3 & 0xfffff000u;
		if (gm_read(&vm->mem, table + ((va >> 22) & 0x3ff) * 4, &e32, 4) || !(e32 & 1))
			return -EFAULT;
		if ((e32 & 0x80) && (s->cr4 & CR4_PSE)) {
			*pa = (e32 & 0xffc00000u) | (va & 0x3fffff);
			return 0;
		}
		table = e32 & 0xfffff000u;
		if (gm_read(&vm->mem, table + ((va >> 12) & 0x3ff) * 4, &e32, 4) || !(e32 & 1))
			return -EFAULT;
		*pa = (e32 & 0xfffff000u) | (va & 0xfff);
		return 0;
	}
}

/* Names an instruction this host's emulator is known to fail on, or NULL. */
static const char *known_unemulated(const uint8_t *b, size_t n)
{
	size_t i = 0;
	bool rexw = false;

	while (i < n && (b[i] == 0x66 || b[i] == 0x67 || b[i] == 0xf0 || b[i] == 0xf2 ||
			 b[i] == 0xf3 || b[i] == 0x2e || b[i] == 0x3e || b[i] == 0x26 ||
			 b[i] == 0x36 || b[i] == 0x64 || b[i] == 0x65))
		i++;
	if (i < n && (b[i] & 0xf0) == 0x40) {
		rexw = b[i] & 0x08;
		i++;
	}
	if (i >= n)
		return NULL;
	if (b[i] == 0xcc)
		return "int3";
	if (b[i] == 0xcd)
		return "int";
	if (b[i] == 0x0f && i + 2 < n) {
		uint8_t reg = (b[i + 2] >> 3) & 7, mod = b[i + 2] >> 6;
		if (b[i + 1] == 0xae && mod != 3 && (reg == 4 || reg == 5 || reg == 6))
			return reg == 4 ? "xsave" : reg == 5 ? "xrstor" : "xsaveopt";
		if (b[i + 1] == 0xc7 && mod != 3 && reg == 1 && rexw)
			return "cmpxchg16b";
		if (b[i + 1] == 0xc7 && mod != 3 && (reg == 3 || reg == 4 || reg == 5))
			return reg == 3 ? "xrstors" : reg == 4 ? "xsavec" : "xsaves";
	}
	return NULL;
}

static void vcpu_dump(struct vcpu *v, const uint8_t *insn, size_t insn_len)
{
	struct kvm_vm *vm = v->vm;
	struct kvm_regs r;
	struct kvm_sregs s;
	uint8_t bytes[16];
	char hex[16 * 3 + 1] = "";
	uint64_t pa;
	size_t n = 0;
	const char *what;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		log_err("cpu %u: cannot read registers: %s", v->id, strerror(errno));
		return;
	}
	log_err("cpu %u: rip=%016llx rsp=%016llx rflags=%08llx", v->id, r.rip, r.rsp, r.rflags);
	log_err("cpu %u: rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx", v->id, r.rax, r.rbx,
		r.rcx, r.rdx);
	log_err("cpu %u: rsi=%016llx rdi=%016llx rbp=%016llx r8=%016llx", v->id, r.rsi, r.rdi,
		r.rbp, r.r8);
	log_err("cpu %u: cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%llx", v->id, s.cr0,
		s.cr2, s.cr3, s.cr4, s.efer);
	log_err("cpu %u: cs=%04x base=%llx l=%u db=%u  ss=%04x  gdt=%llx/%x  idt=%llx/%x", v->id,
		s.cs.selector, s.cs.base, s.cs.l, s.cs.db, s.ss.selector, s.gdt.base, s.gdt.limit,
		s.idt.base, s.idt.limit);
	if (insn && insn_len) {
		n = MIN(insn_len, sizeof(bytes));
		memcpy(bytes, insn, n);
	} else if (gva_to_gpa(vm, &s, s.cs.base + r.rip, &pa) == 0) {
		/* Up to 16 bytes, but not across the end of the RAM region. */
		for (n = sizeof(bytes); n > 0; n--)
			if (gm_read(&vm->mem, pa, bytes, n) == 0)
				break;
	}
	for (size_t i = 0; i < n; i++)
		snprintf(hex + i * 3, sizeof(hex) - i * 3, "%02x ", bytes[i]);
	if (n)
		log_err("cpu %u: code at rip: %s", v->id, hex);
	else
		log_err("cpu %u: code at rip: not in guest RAM", v->id);
	what = known_unemulated(bytes, n);
	if (what)
		log_err("cpu %u: the failing instruction is %s; this host's KVM cannot emulate it%s",
			v->id, what,
			strncmp(what, "int", 3) ? " (hide it from the guest with --cpuid-mask safe)"
						: "");
}

/* ---- exits ---- */

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t size = run->io.size, count = run->io.count;
	uint64_t off = run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	/* KVM fills these; still, never index past the shared page. */
	if (size == 0 || size > 8 || count == 0 || off > (uint64_t)v->vm->vcpu_mmap_size ||
	    (uint64_t)size * count > (uint64_t)v->vm->vcpu_mmap_size - off) {
		log_warn_rl("cpu %u: malformed I/O exit (port %#x size %u count %u)", v->id,
			    run->io.port, size, count);
		return;
	}
	for (uint32_t i = 0; i < count; i++) {
		uint8_t *data = (uint8_t *)run + off + (uint64_t)i * size;
		if (iobus_dispatch(&v->vm->pio, run->io.port, data, size, is_write) < 0)
			log_debug("cpu %u: unhandled %s port %#x size %u", v->id,
				  is_write ? "out" : "in", run->io.port, size);
	}
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t len = run->mmio.len;

	if (len == 0 || len > sizeof(run->mmio.data))
		return;
	if (iobus_dispatch(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, len,
			   run->mmio.is_write) < 0)
		log_debug("cpu %u: unhandled mmio %s %#llx len %u", v->id,
			  run->mmio.is_write ? "write" : "read", run->mmio.phys_addr, len);
}

static void handle_internal_error(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	const uint8_t *insn = NULL;
	size_t insn_len = 0;
	static const char *const sub[] = {
		[KVM_INTERNAL_ERROR_EMULATION] = "instruction emulation failed",
		[KVM_INTERNAL_ERROR_SIMUL_EX] = "exception while delivering an exception",
		[KVM_INTERNAL_ERROR_DELIVERY_EV] = "event delivery failed",
		[KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON] = "unexpected exit reason",
	};
	uint32_t se = run->internal.suberror;
	const char *what = se < ARRAY_SIZE(sub) && sub[se] ? sub[se] : "unknown suberror";

	if (se == KVM_INTERNAL_ERROR_EMULATION &&
	    (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
		insn = run->emulation_failure.insn_bytes;
		insn_len = MIN(run->emulation_failure.insn_size,
			       sizeof(run->emulation_failure.insn_bytes));
	}
	log_err("cpu %u: KVM internal error %u: %s", v->id, se, what);
	vcpu_dump(v, insn, insn_len);
	vm_request_stop(v->vm, NFV_EXIT_FAILURE, "KVM internal error on cpu %u: %s", v->id, what);
}

/* Returns false when the vCPU must stop. */
static bool handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	count_exit(v, run->exit_reason);
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(v);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(v);
		return true;
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		return true;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC; here the guest halted for good. */
		vm_request_stop(v->vm, NFV_EXIT_OK, "guest halted (cpu %u)", v->id);
		return false;
	case KVM_EXIT_SHUTDOWN:
		log_err("cpu %u: guest shut down (triple fault)", v->id);
		vcpu_dump(v, NULL, 0);
		vm_request_stop(v->vm, NFV_EXIT_FAILURE, "guest triple fault on cpu %u", v->id);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_RESET:
			vm_request_stop(v->vm, NFV_EXIT_OK, "guest requested reset");
			break;
		default:
			vm_request_stop(v->vm, NFV_EXIT_OK, "guest requested power off (event %u)",
					run->system_event.type);
		}
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		handle_internal_error(v);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		log_err("cpu %u: VM entry failed, hardware reason %#llx", v->id,
			run->fail_entry.hardware_entry_failure_reason);
		vcpu_dump(v, NULL, 0);
		vm_request_stop(v->vm, NFV_EXIT_FAILURE, "VM entry failed on cpu %u", v->id);
		return false;
	default:
		log_err("cpu %u: unexpected exit reason %u", v->id, run->exit_reason);
		vcpu_dump(v, NULL, 0);
		vm_request_stop(v->vm, NFV_EXIT_FAILURE, "unexpected KVM exit %u on cpu %u",
				run->exit_reason, v->id);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct kvm_vm *vm = v->vm;
	char name[16];
	sigset_t set;

	snprintf(name, sizeof(name), "vcpu%u", v->id);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	for (;;) {
		__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		pthread_mutex_lock(&vm->state_lock);
		while (vm->state == VM_PAUSED || vm->state == VM_CREATED) {
			v->paused = true;
			pthread_cond_broadcast(&vm->state_cond);
			pthread_cond_wait(&vm->state_cond, &vm->state_lock);
		}
		v->paused = false;
		if (vm->state >= VM_STOPPING) {
			pthread_mutex_unlock(&vm->state_lock);
			break;
		}
		pthread_mutex_unlock(&vm->state_lock);

		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				count_exit(v, KVM_EXIT_INTR);
				continue;
			}
			log_err("cpu %u: KVM_RUN: %s", v->id, strerror(errno));
			vm_request_stop(vm, NFV_EXIT_FAILURE, "KVM_RUN failed on cpu %u: %s", v->id,
					strerror(errno));
			break;
		}
		if (!handle_exit(v))
			break;
	}
	return NULL;
}

/* ---- set-up ---- */

static struct kvm_cpuid2 *get_supported_cpuid(int kvm_fd)
{
	for (unsigned int n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return NULL;
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG)
			return NULL;
	}
	return NULL;
}

static int vcpu_setup_lapic(struct vcpu *v)
{
	struct kvm_lapic_state lapic;
	uint32_t *lint0, *lint1;

	if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	lint0 = (uint32_t *)&lapic.regs[APIC_LVT_LINT0];
	lint1 = (uint32_t *)&lapic.regs[APIC_LVT_LINT1];
	*lint0 = (*lint0 & ~0x700u) | (APIC_MODE_EXTINT << 8);
	*lint1 = (*lint1 & ~0x700u) | (APIC_MODE_NMI << 8);
	if (ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0)
		return -errno;
	return 0;
}

int vcpus_create(struct kvm_vm *vm, char *err, size_t err_len)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	struct kvm_cpuid2 *supported, *c;
	size_t csz;
	int ret;

	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);

	supported = get_supported_cpuid(vm->kvm_fd);
	if (!supported) {
		snprintf(err, err_len, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		return -EIO;
	}
	vm->cpuid = supported;
	csz = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
	c = malloc(csz);
	vm->vcpus = calloc(vm->cfg->nr_cpus, sizeof(*vm->vcpus));
	if (!c || !vm->vcpus) {
		free(c);
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	vm->nr_vcpus = vm->cfg->nr_cpus;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

		v->vm = vm;
		v->id = i;
		v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
		if (v->fd < 0) {
			ret = -errno;
			snprintf(err, err_len, "KVM_CREATE_VCPU %u: %s", i, strerror(errno));
			goto fail;
		}
		v->run = mmap(NULL, (size_t)vm->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			      v->fd, 0);
		if (v->run == MAP_FAILED) {
			v->run = NULL;
			ret = -errno;
			snprintf(err, err_len, "mmap of vCPU %u: %s", i, strerror(errno));
			goto fail;
		}
		memcpy(c, supported, csz);
		cpuid_apply(c, &vm->cfg->cpuid_mask, i, vm->nr_vcpus);
		if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0) {
			ret = -errno;
			snprintf(err, err_len, "KVM_SET_CPUID2 on vCPU %u: %s", i, strerror(errno));
			goto fail;
		}
		ret = vcpu_setup_lapic(v);
		if (ret < 0) {
			snprintf(err, err_len, "LAPIC set-up of vCPU %u: %s", i, strerror(-ret));
			goto fail;
		}
		if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0) {
			ret = -errno;
			snprintf(err, err_len, "KVM_SET_FPU on vCPU %u: %s", i, strerror(errno));
			goto fail;
		}
		if (i == 0) {
			ret = vcpu_set_boot_state(v, &vm->boot);
			if (ret < 0) {
				snprintf(err, err_len, "boot register state: %s", strerror(-ret));
				goto fail;
			}
		}
	}
	free(c);
	return 0;
fail:
	free(c);
	return ret;
}

int vcpus_start(struct kvm_vm *vm)
{
	sigset_t set, old;
	int ret = 0;

	/* vCPU threads unblock the kick signal themselves; everything else keeps it blocked. */
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		ret = -pthread_create(&v->thread, NULL, vcpu_thread, v);
		if (ret < 0) {
			vm_request_stop(vm, NFV_EXIT_FAILURE, "cannot start vCPU thread %u: %s", i,
					strerror(-ret));
			break;
		}
		v->thread_started = true;
	}
	pthread_mutex_lock(&vm->state_lock);
	if (vm->state == VM_CREATED) {
		vm->state = VM_RUNNING;
		vm->start_ns = now_ns();
	}
	pthread_cond_broadcast(&vm->state_cond);
	pthread_mutex_unlock(&vm->state_lock);
	return ret;
}

void vcpus_join(struct kvm_vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (v->thread_started) {
			pthread_join(v->thread, NULL);
			v->thread_started = false;
		}
	}
	pthread_mutex_lock(&vm->state_lock);
	vm->state = VM_STOPPED;
	pthread_mutex_unlock(&vm->state_lock);
}

void vcpus_destroy(struct kvm_vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (v->run)
			munmap(v->run, (size_t)vm->vcpu_mmap_size);
		if (v->fd > 0)
			close(v->fd);
	}
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm->nr_vcpus = 0;
	free(vm->cpuid);
	vm->cpuid = NULL;
}
