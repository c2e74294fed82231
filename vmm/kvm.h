/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The VM: the KVM file descriptors, guest memory, buses, platform devices,
 * vCPUs and the run state.
 *
 * Threads:
 *  - one thread per vCPU runs KVM_RUN and dispatches PIO/MMIO exits to the
 *    buses (vmm/vcpu.c);
 *  - the main thread runs the event loop: console input, the control
 *    socket, signals, device timers;
 * state_lock protects `state`, `exit_status` and `stop_reason`; vCPU threads
 * wait on state_cond while paused. No other VM-wide lock exists: devices
 * lock themselves.
 */
#ifndef NFV_VMM_KVM_H
#define NFV_VMM_KVM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/evloop.h"
#include "common/guestmem.h"
#include "common/util.h"
#include "vmm/boot.h"
#include "vmm/cpuid.h"
#include "vmm/iobus.h"
#include "vmm/irq.h"
#include "vmm/platform.h"

#define VMM_MAX_CPUS 64
#define VMM_DEFAULT_MEM (256 * MiB)
#define VMM_MIN_MEM (16 * MiB)
#define VMM_LOW_MEM_END 0xC0000000ull /* RAM below the PCI hole */
#define VMM_HIGH_MEM_START 0x100000000ull
#define VMM_TSS_ADDR 0xFFFBD000ull
#define VMM_IDENTITY_MAP_ADDR 0xFFFBC000ull

enum console_kind { CONSOLE_STDIO, CONSOLE_FILE, CONSOLE_NONE };

struct vm_config {
	const char *name;
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	uint64_t mem_size;
	unsigned int nr_cpus;
	bool hugepages;
	enum console_kind console;
	const char *console_path;
	const char *api_path;
	const char *kvm_path;
	struct cpuid_mask cpuid_mask;
};

enum vm_state { VM_CREATED, VM_RUNNING, VM_PAUSED, VM_STOPPING, VM_STOPPED };

/* Exit counters: per reason (KVM_EXIT_*), summed over vCPUs on demand. */
#define VCPU_EXIT_REASONS 64

struct vcpu {
	struct kvm_vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	bool paused; /* acknowledged a pause (under vm->state_lock) */
	uint64_t exits[VCPU_EXIT_REASONS]; /* atomic */
	uint64_t exits_total;               /* atomic */
};

struct serial;
struct i8042;
struct pci_bus;
struct vm_console;
struct vm_api;
struct irq_routing;

struct kvm_vm {
	const struct vm_config *cfg;
	int kvm_fd;
	int vm_fd;
	int vcpu_mmap_size;

	struct guest_mem mem;
	int mem_fd;
	void *mem_base;
	uint64_t mem_map_size;

	struct io_bus pio;
	struct io_bus mmio;
	struct vm_irq irq;
	struct irq_routing *routing;
	struct pci_bus *pci;
	struct serial *com1;
	struct i8042 *i8042;
	struct debug_exit debug_exit;

	struct e820_entry e820[E820_MAX_ENTRIES];
	int nr_e820;
	struct boot_entry boot;

	struct kvm_cpuid2 *cpuid;
	unsigned int nr_vcpus;
	struct vcpu *vcpus;

	struct evloop *loop;
	struct vm_console *console;
	struct vm_api *api;
	struct ev_event *stop_event; /* wakes the main loop when the VM stops */

	pthread_mutex_t state_lock;
	pthread_cond_t state_cond;
	enum vm_state state;
	int exit_status;
	char stop_reason[256];
	uint64_t start_ns;
};

/* Opens KVM, checks capabilities, creates the VM with its irqchip and PIT. */
int __must_check kvm_vm_create(struct kvm_vm *vm, const struct vm_config *cfg, char *err,
			       size_t err_len);
void kvm_vm_destroy(struct kvm_vm *vm);
/* Registers a RAM region as a KVM memory slot. */
int __must_check kvm_set_memory(struct kvm_vm *vm, unsigned int slot, uint64_t gpa,
				uint64_t size, void *hva);
/* KVM_CHECK_EXTENSION on the VM (falls back to /dev/kvm). */
int kvm_check_cap(struct kvm_vm *vm, int cap);

/* Guest RAM (vmm/memory.c). */
int __must_check vm_memory_init(struct kvm_vm *vm, char *err, size_t err_len);
void vm_memory_exit(struct kvm_vm *vm);

/* vCPUs (vmm/vcpu.c). */
int __must_check vcpus_create(struct kvm_vm *vm, char *err, size_t err_len);
int __must_check vcpus_start(struct kvm_vm *vm);
void vcpus_join(struct kvm_vm *vm);
void vcpus_destroy(struct kvm_vm *vm);
/* Kicks every vCPU out of KVM_RUN (immediate_exit + signal). */
void vcpus_kick(struct kvm_vm *vm);

/* Run state (vmm/vcpu.c). All thread-safe. */
/* Ends the VM with `status`; the first request wins. */
void vm_request_stop(struct kvm_vm *vm, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int vm_pause(struct kvm_vm *vm);  /* waits until every vCPU is out of KVM_RUN */
int vm_resume(struct kvm_vm *vm);
enum vm_state vm_get_state(struct kvm_vm *vm);
const char *vm_state_name(enum vm_state s);

/* Exit statistics. */
struct vm_exit_stats {
	uint64_t total;
	uint64_t by_reason[VCPU_EXIT_REASONS];
};
void vm_exit_stats(struct kvm_vm *vm, struct vm_exit_stats *st);
const char *kvm_exit_reason_name(unsigned int reason);

#endif /* NFV_VMM_KVM_H */
