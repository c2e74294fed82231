/* SPDX-License-Identifier: BSD-3-Clause */
#define LOG_COMPONENT "cpuid"
#include "vmm/cpuid.h"
#include "common/log.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>

enum { EAX, EBX, ECX, EDX };

const struct cpuid_feature cpuid_features[] = {
	{ "cx16", 1, 0, ECX, 13, "cmpxchg16b" },
	{ "xsave", 1, 0, ECX, 26, "xsave/xrstor" },
	{ "avx", 1, 0, ECX, 28, "AVX" },
	{ "fma", 1, 0, ECX, 12, "FMA3" },
	{ "f16c", 1, 0, ECX, 29, "half-precision conversion" },
	{ "x2apic", 1, 0, ECX, 21, "x2APIC" },
	{ "tsc-deadline", 1, 0, ECX, 24, "TSC deadline timer" },
	{ "pcid", 1, 0, ECX, 17, "process-context identifiers" },
	{ "aes", 1, 0, ECX, 25, "AES-NI" },
	{ "rdrand", 1, 0, ECX, 30, "rdrand" },
	{ "movbe", 1, 0, ECX, 22, "movbe" },
	{ "popcnt", 1, 0, ECX, 23, "popcnt" },
	{ "sse4.2", 1, 0, ECX, 20, "SSE4.2" },
	{ "monitor", 1, 0, ECX, 3, "monitor/mwait" },
	{ "fsgsbase", 7, 0, EBX, 0, "rd/wr fs/gs base" },
	{ "avx2", 7, 0, EBX, 5, "AVX2" },
	{ "smep", 7, 0, EBX, 7, "SMEP" },
	{ "bmi2", 7, 0, EBX, 8, "BMI2" },
	{ "erms", 7, 0, EBX, 9, "enhanced rep movsb" },
	{ "invpcid", 7, 0, EBX, 10, "invpcid" },
	{ "avx512f", 7, 0, EBX, 16, "AVX-512" },
	{ "rdseed", 7, 0, EBX, 18, "rdseed" },
	{ "smap", 7, 0, EBX, 20, "SMAP" },
	{ "pku", 7, 0, ECX, 3, "protection keys" },
	{ "la57", 7, 0, ECX, 16, "5-level paging" },
	{ "xsaveopt", 0xd, 1, EAX, 0, "xsaveopt" },
	{ "xsavec", 0xd, 1, EAX, 1, "xsavec" },
	{ "xsaves", 0xd, 1, EAX, 3, "xsaves" },
	{ "pdpe1gb", 0x80000001, 0, EDX, 26, "1 GiB pages" },
	{ "rdtscp", 0x80000001, 0, EDX, 27, "rdtscp" },
	{ "hypervisor", 1, 0, ECX, 31, "the hypervisor-present bit" },
};
const size_t cpuid_nr_features = ARRAY_SIZE(cpuid_features);

/* Features that cannot work without xsave: hidden with it. */
static const char *const xsave_dependents[] = {
	"avx", "fma", "f16c", "avx2", "avx512f", "pku", "xsaveopt", "xsavec", "xsaves",
};

static int feature_index(const char *name, size_t len)
{
	for (size_t i = 0; i < cpuid_nr_features; i++)
		if (strlen(cpuid_features[i].name) == len &&
		    strncmp(cpuid_features[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

static void hide(struct cpuid_mask *mask, const char *name)
{
	int i = feature_index(name, strlen(name));

	if (i >= 0)
		mask->hidden |= 1ull << i;
}

int cpuid_mask_parse(const char *s, struct cpuid_mask *mask, char *err, size_t err_len)
{
	const char *p = s;

	if (!s || !*s) {
		snprintf(err, err_len, "empty --cpuid-mask");
		return -EINVAL;
	}
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		int i;

		if (len == 4 && strncmp(p, "safe", 4) == 0) {
			hide(mask, "cx16");
			hide(mask, "xsave");
		} else if (len == 4 && strncmp(p, "none", 4) == 0) {
			/* nothing */
		} else if ((i = feature_index(p, len)) >= 0) {
			mask->hidden |= 1ull << i;
		} else {
			size_t n = (size_t)snprintf(err, err_len,
						    "unknown CPUID feature '%.*s' in --cpuid-mask "
						    "(known: safe, none",
						    (int)len, p);
			for (size_t k = 0; k < cpuid_nr_features && n < err_len; k++)
				n += (size_t)snprintf(err + n, err_len - n, ", %s",
						      cpuid_features[k].name);
			if (n < err_len)
				snprintf(err + n, err_len - n, ")");
			return -EINVAL;
		}
		if (!end)
			break;
		p = end + 1;
	}
	if (mask->hidden & (1ull << feature_index("xsave", 5)))
		for (size_t k = 0; k < ARRAY_SIZE(xsave_dependents); k++)
			hide(mask, xsave_dependents[k]);
	return 0;
}

void cpuid_mask_format(const struct cpuid_mask *mask, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < cpuid_nr_features && n < len; i++)
		if (mask->hidden & (1ull << i))
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "," : "",
					      cpuid_features[i].name);
	if (!n)
		snprintf(buf, len, "none");
}

static uint32_t *reg_of(struct kvm_cpuid_entry2 *e, unsigned int reg)
{
	switch (reg) {
	case EAX: return &e->eax;
	case EBX: return &e->ebx;
	case ECX: return &e->ecx;
	default: return &e->edx;
	}
}

static bool entry_matches(const struct kvm_cpuid_entry2 *e, uint32_t leaf, uint32_t subleaf)
{
	if (e->function != leaf)
		return false;
	if (e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX)
		return e->index == subleaf;
	return true;
}

void cpuid_apply(struct kvm_cpuid2 *c, const struct cpuid_mask *mask, unsigned int cpu,
		 unsigned int nr_cpus)
{
	bool hide_xsave = mask->hidden & (1ull << feature_index("xsave", 5));

	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			/* APIC ID, logical processor count, hypervisor present. */
			e->ebx = (e->ebx & 0x0000ffffu) | (cpu << 24) |
				 ((nr_cpus > 255 ? 255 : nr_cpus) << 16);
			e->ecx |= 1u << 31;
			if (nr_cpus > 1)
				e->edx |= 1u << 28; /* HTT: the count in EBX is valid */
			break;
		case 0xb:
		case 0x1f:
			/* x2APIC topology: every vCPU a core of one package. */
			e->edx = cpu;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = (1u << 8) | 0;
			} else if (e->index == 1) {
				uint32_t shift = 0;
				while ((1u << shift) < nr_cpus)
					shift++;
				e->eax = shift;
				e->ebx = nr_cpus;
				e->ecx = (2u << 8) | 1;
			} else {
				e->eax = 0;
				e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		case 0xd:
			if (hide_xsave) {
				e->eax = e->ebx = e->ecx = e->edx = 0;
			}
			break;
		default:
			break;
		}
	}
	for (size_t f = 0; f < cpuid_nr_features; f++) {
		const struct cpuid_feature *feat = &cpuid_features[f];
		if (!(mask->hidden & (1ull << f)))
			continue;
		for (uint32_t i = 0; i < c->nent; i++) {
			struct kvm_cpuid_entry2 *e = &c->entries[i];
			if (entry_matches(e, feat->leaf, feat->subleaf))
				*reg_of(e, feat->reg) &= ~(1u << feat->bit);
		}
	}
	if (hide_xsave) {
		/* OSXSAVE mirrors CR4.OSXSAVE; without xsave it must read 0. */
		for (uint32_t i = 0; i < c->nent; i++)
			if (c->entries[i].function == 1)
				c->entries[i].ecx &= ~(1u << 27);
	}
}
