/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * CPUID for the guest: what KVM supports (KVM_GET_SUPPORTED_CPUID), with
 * per-vCPU APIC IDs and topology, the hypervisor bit, and features the user
 * hides with --cpuid-mask.
 *
 * Masks are feature names ("xsave", "cx16", "avx2", ...) or a preset:
 *   safe   = cx16,xsave: what a nested, software-emulated KVM cannot run
 *            (its instruction emulator fails on cmpxchg16b and xsave/xrstor);
 *            hiding xsave also hides everything that needs it (avx, avx2,
 *            avx512*, fma, f16c, xsaveopt, xsavec, xsaves, pku).
 * cpuid_mask_parse() lists the names in its error message.
 */
#ifndef NFV_VMM_CPUID_H
#define NFV_VMM_CPUID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

#define CPUID_MAX_FEATURES 64

struct cpuid_mask {
	uint64_t hidden; /* bit i: cpuid_features[i] hidden */
};

struct cpuid_feature {
	const char *name;
	uint32_t leaf;
	uint32_t subleaf;
	uint8_t reg; /* 0 eax, 1 ebx, 2 ecx, 3 edx */
	uint8_t bit;
	const char *what;
};

extern const struct cpuid_feature cpuid_features[];
extern const size_t cpuid_nr_features;

/* Parses "xsave,cx16" or "safe" or "none" (adds to mask). 0 or -EINVAL with err set. */
int __must_check cpuid_mask_parse(const char *s, struct cpuid_mask *mask, char *err,
				  size_t err_len);
/* Comma-separated list of the hidden names, for logs. */
void cpuid_mask_format(const struct cpuid_mask *mask, char *buf, size_t len);

struct kvm_cpuid2;
/* Adjusts a KVM_GET_SUPPORTED_CPUID table for vCPU `cpu` of `nr_cpus`. */
void cpuid_apply(struct kvm_cpuid2 *c, const struct cpuid_mask *mask, unsigned int cpu,
		 unsigned int nr_cpus);

#endif /* NFV_VMM_CPUID_H */
