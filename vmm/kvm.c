/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Opening KVM and creating the VM: every capability nfv-vmm relies on is
 * checked up front, and a missing one is named in the error.
 */
#define LOG_COMPONENT "kvm"
#include "vmm/kvm.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const struct {
	int cap;
	const char *name;
	const char *why;
} required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest RAM in user memory" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", "the real-mode TSS" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "setting the guest CPUID" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", "the in-kernel PIC, IOAPIC and LAPIC" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2", "the in-kernel PIT" },
	{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING", "GSI routing for MSI" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD", "interrupts from eventfds" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD", "doorbells without exits" },
	{ KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI", "MSI delivery" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", "pausing vCPUs" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE", "SMP start-up" },
};

int kvm_check_cap(struct kvm_vm *vm, int cap)
{
	int fd = vm->vm_fd >= 0 ? vm->vm_fd : vm->kvm_fd;
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

static int open_kvm(const char *path, char *err, size_t err_len)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	switch (errno) {
	case ENOENT:
		snprintf(err, err_len,
			 "no %s: this host has no KVM (load kvm_intel or kvm_amd, or enable "
			 "nested virtualisation on the host below)",
			 path);
		break;
	case EACCES:
	case EPERM:
		snprintf(err, err_len,
			 "permission denied on %s: run as root or add this user to group "
			 "'kvm'",
			 path);
		break;
	case ENXIO:
	case ENODEV:
		snprintf(err, err_len,
			 "%s exists but KVM is not available (the CPU lacks VT-x/AMD-V or it "
			 "is disabled in firmware)",
			 path);
		break;
	default:
		snprintf(err, err_len, "cannot open %s: %s", path, strerror(errno));
	}
	return -1;
}

int kvm_vm_create(struct kvm_vm *vm, const struct vm_config *cfg, char *err, size_t err_len)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t ident = VMM_IDENTITY_MAP_ADDR;
	int r;

	vm->cfg = cfg;
	vm->vm_fd = -1;
	vm->kvm_fd = open_kvm(cfg->kvm_path, err, err_len);
	if (vm->kvm_fd < 0)
		return -ENODEV;
	r = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (r < 0) {
		snprintf(err, err_len, "%s is not a KVM device (KVM_GET_API_VERSION: %s)",
			 cfg->kvm_path, strerror(errno));
		goto fail;
	}
	if (r != KVM_API_VERSION) {
		snprintf(err, err_len, "%s speaks KVM API version %d, nfv-vmm needs %d",
			 cfg->kvm_path, r, KVM_API_VERSION);
		goto fail;
	}
	for (size_t i = 0; i < ARRAY_SIZE(required_caps); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			snprintf(err, err_len, "KVM lacks capability %s (needed for %s)",
				 required_caps[i].name, required_caps[i].why);
			goto fail;
		}
	}
	r = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (r <= 0)
		r = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (r > 0 && cfg->nr_cpus > (unsigned int)r) {
		snprintf(err, err_len, "--cpus %u: this KVM allows at most %d vCPUs", cfg->nr_cpus,
			 r);
		goto fail;
	}
	vm->vcpu_mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->vcpu_mmap_size < (int)sizeof(struct kvm_run)) {
		snprintf(err, err_len, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		goto fail;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		snprintf(err, err_len, "KVM_CREATE_VM: %s", strerror(errno));
		goto fail;
	}
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)VMM_TSS_ADDR) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0) {
		snprintf(err, err_len, "KVM_SET_TSS_ADDR: %s", strerror(errno));
		goto fail;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		snprintf(err, err_len, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
		goto fail;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		snprintf(err, err_len, "KVM_CREATE_PIT2: %s", strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
	return -ENODEV;
}

void kvm_vm_destroy(struct kvm_vm *vm)
{
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
}

int kvm_set_memory(struct kvm_vm *vm, unsigned int slot, uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return -errno;
	return 0;
}
