// SPDX-License-Identifier: BSD-3-Clause
/*
 * nfguest start-up: called from start.S in long mode with the PVH start
 * info. Brings up the runtime (console, command line, memory, interrupts,
 * clock, CPUs, PCI), probes the NICs, prints the ready line and runs the
 * NF mode.
 */
#include "runtime.h"
#include "nf.h"

void nf_main(const struct hvm_start_info *si);

/*
 * The number of CPUs from the MP configuration table (SeaBIOS and nfv-vmm
 * both provide one): the floating pointer "_MP_" lies on a 16-byte
 * boundary in the first KiB of the EBDA, in the last KiB of base memory
 * or in 0xf0000-0xfffff; its config
 * table lists one 20-byte entry (type 0) per processor, flags bit 0 =
 * enabled. 0 when there is no table.
 */
static uint32_t mp_cpu_count(void)
{
	const volatile uint16_t *bda_ebda = phys_to_virt(0x40e);
	uint64_t ebda;
	uint64_t areas[3][2] = { { 0, 0 }, { 0x9fc00, 0xa0000 }, { 0xf0000, 0x100000 } };
	int a;

	/* Hide the constant low address from gcc's null-page heuristics. */
	__asm__("" : "+r"(bda_ebda));
	ebda = (uint64_t)*bda_ebda << 4;
	areas[0][0] = ebda;
	areas[0][1] = ebda + 1024;

	for (a = 0; a < 3; a++) {
		uint64_t p;

		if (!areas[a][0])
			continue;
		for (p = areas[a][0]; p + 16 <= areas[a][1]; p += 16) {
			const uint8_t *fp = phys_to_virt(p);
			const uint8_t *ct, *e, *end;
			uint32_t cpus = 0, n, i;
			uint64_t ctp;

			if (memcmp(fp, "_MP_", 4))
				continue;
			ctp = *(const uint32_t *)(fp + 4);
			if (!ctp || ctp >= 0x100000000ull)
				return 0;
			ct = phys_to_virt(ctp);
			if (memcmp(ct, "PCMP", 4))
				return 0;
			n = *(const uint16_t *)(ct + 34);	/* entry count */
			end = ct + *(const uint16_t *)(ct + 4);	/* base table length */
			e = ct + 44;
			for (i = 0; i < n && e < end; i++) {
				if (e[0] == 0) {
					if (e[3] & 1)
						cpus++;
					e += 20;
				} else {
					e += 8;
				}
			}
			return cpus;
		}
	}
	return 0;
}

/* Find "RSD PTR " on a 16-byte boundary in [start, end). */
static const uint8_t *rsdp_scan(uint64_t start, uint64_t end)
{
	uint64_t p;

	for (p = start; p + 36 <= end; p += 16)
		if (!memcmp(phys_to_virt(p), "RSD PTR ", 8))
			return phys_to_virt(p);
	return NULL;
}

/*
 * The number of enabled CPUs in the ACPI MADT ("APIC"): processor local
 * APIC entries (type 0, flags at offset 4) and x2APIC entries (type 9,
 * flags at offset 8), bit 0 = enabled. The RSDP comes from the start info
 * or a scan of the EBDA and 0xe0000-0xfffff; the RSDT (32-bit entries) or
 * XSDT (revision >= 2, 64-bit entries) lists the tables, each with the
 * 36-byte header (signature, length at 4). 0 when not found.
 */
static uint32_t acpi_cpu_count(const struct hvm_start_info *si)
{
	const volatile uint16_t *bda_ebda = phys_to_virt(0x40e);
	const uint8_t *rsdp = NULL, *sdt;
	uint32_t len, i, cpus = 0;
	uint64_t tbl;
	int esz;

	__asm__("" : "+r"(bda_ebda));
	if (si->rsdp_paddr && si->rsdp_paddr < 0x100000000ull)
		rsdp = phys_to_virt(si->rsdp_paddr);
	if (!rsdp && *bda_ebda)
		rsdp = rsdp_scan((uint64_t)*bda_ebda << 4, ((uint64_t)*bda_ebda << 4) + 1024);
	if (!rsdp)
		rsdp = rsdp_scan(0xe0000, 0x100000);
	if (!rsdp || memcmp(rsdp, "RSD PTR ", 8))
		return 0;
	if (rsdp[15] >= 2 && *(const uint64_t *)(rsdp + 24)) {
		tbl = *(const uint64_t *)(rsdp + 24);
		esz = 8;
	} else {
		tbl = *(const uint32_t *)(rsdp + 16);
		esz = 4;
	}
	if (!tbl || tbl >= 0x100000000ull)
		return 0;
	sdt = phys_to_virt(tbl);
	len = *(const uint32_t *)(sdt + 4);
	if (len < 36 || len > 65536)
		return 0;
	for (i = 36; i + esz <= len; i += esz) {
		uint64_t a = esz == 8 ? *(const uint64_t *)(sdt + i) : *(const uint32_t *)(sdt + i);
		const uint8_t *madt, *e, *end;

		if (!a || a >= 0x100000000ull)
			continue;
		madt = phys_to_virt(a);
		if (memcmp(madt, "APIC", 4))
			continue;
		len = *(const uint32_t *)(madt + 4);
		if (len < 44 || len > 65536)
			return 0;
		end = madt + len;
		for (e = madt + 44; e + 2 <= end && e[1] >= 2; e += e[1]) {
			if (e[0] == 0 && e[1] >= 8 && (e[4] & 1))
				cpus++;
			else if (e[0] == 9 && e[1] >= 12 && (e[8] & 1))
				cpus++;
		}
		return cpus;
	}
	return 0;
}

static void read_netif_config(struct netif_config *cfg)
{
	uint64_t v;

	cmdline_u64("queues", 1, 1, NETIF_MAX_QUEUES, &v);
	cfg->queues = (uint16_t)v;
	cmdline_u64("rxd", 256, 8, 4096, &v);
	cfg->rx_ring = (uint16_t)v;
	cmdline_u64("txd", 256, 8, 4096, &v);
	cfg->tx_ring = (uint16_t)v;
	cmdline_u64("irq", 1, 0, 1, &v);
	cfg->irq = v;
	cmdline_u64("itr", 0, 0, 10000, &v);
	cfg->itr_us = (uint32_t)v;
	cmdline_u64("bufs", 0, 0, 262144, &v);
	cfg->pool_bufs = (uint32_t)v;
}

void nf_main(const struct hvm_start_info *si)
{
	struct netif_config cfg;
	uint64_t want;
	uint32_t mp;
	int i;

	console_init();
	if (!si || si->magic != HVM_START_MAGIC) {
		printf("nfguest: bad PVH start info at %p\n", si);
		nf_exit(NF_EXIT_USAGE);
	}
	cmdline_init(si->cmdline_paddr ? phys_to_virt(si->cmdline_paddr) : NULL);
	printf("nfguest: cmdline=%s\n", cmdline());
	mm_init(si);

	cpu_bsp_init();
	idt_init();
	pic_disable();
	lapic_init();
	ioapic_init();
	time_init();
	if (irq_selftest())
		nf_panic("interrupt self-test failed (self-IPI not delivered)");

	mp = acpi_cpu_count(si);
	if (!mp)
		mp = mp_cpu_count();
	cmdline_u64("cpus", mp ? mp : 1, 1, NF_MAX_CPUS, &want);
	smp_init((uint32_t)want);
	timer_tick_start(10000);
	if ((uint64_t)cpu_count() < want)
		printf("nfguest: only %d of %llu CPUs came up\n", cpu_count(),
		       (unsigned long long)want);

	read_netif_config(&cfg);
	nf_parse();
	cmdline_u64("promisc", nf_wants_promisc(), 0, 1, &want);
	cfg.promisc = want;
	pci_init();
	netif_probe_all(&cfg);
	cmdline_check_unknown();

	printf("nfguest: cpus=%d tsc_mhz=%llu mem_free_mib=%llu pci_functions=%d nf=%s\n",
	       cpu_count(), (unsigned long long)(tsc_hz() / 1000000),
	       (unsigned long long)(mem_free_bytes() >> 20), pci_count(), nf_mode_name());
	for (i = 0; i < netif_count(); i++) {
		struct netif *nif = netif_get(i);
		char bdf[16];

		netif_bdf(nif, bdf, sizeof(bdf));
		printf("nfguest: nic=%d kind=%s pci=%s mac=%02x:%02x:%02x:%02x:%02x:%02x "
		       "queues=%u rxd=%u txd=%u irq=%d link=%s\n",
		       i, nif->kind_name, bdf, nif->mac[0], nif->mac[1], nif->mac[2], nif->mac[3],
		       nif->mac[4], nif->mac[5], nif->nr_queues, nif->rx_ring, nif->tx_ring,
		       nif->irq ? 1 : 0, nif->ops->link_up(nif) ? "up" : "down");
	}
	printf("nfguest: ready nics=%d\n", netif_count());
	nf_run();
}
