// SPDX-License-Identifier: BSD-3-Clause
/*
 * test-guest SMP: start the application processors with INIT and two
 * start-up IPIs through the xAPIC, and count them in.
 */
#include "guest.h"

/*
 * The trampoline runs at physical 0x8000: a SIPI vector V starts an AP in
 * real mode at V * 4096 (CS = V << 8, IP = 0), so vector 0x08 it is. The
 * page must be below 1 MiB and is RAM under QEMU and nfv-vmm alike.
 */
#define TRAMP_ADDR	0x8000u
#define SIPI_VECTOR	(TRAMP_ADDR >> 12)

/* ICR fields (low dword). */
#define ICR_INIT	(5u << 8)
#define ICR_STARTUP	(6u << 8)
#define ICR_PENDING	(1u << 12)	/* delivery status */
#define ICR_ASSERT	(1u << 14)
#define ICR_ALL_BUT_SELF (3u << 18)	/* destination shorthand */

/*
 * Delays, in loop iterations. The spec asks for 10 ms after INIT and
 * 200 us after each SIPI on real hardware; under KVM the IPIs are handled
 * in order whatever the delay, and loops here cost about 0.5 us each, so
 * keep them short.
 */
#define INIT_DELAY_LOOPS	20000u
#define SIPI_DELAY_LOOPS	1000u
#define ICR_IDLE_LOOPS		1000000u

/*
 * How long the BSP waits for the APs: about 7 s under the emulated KVM
 * (about 1.1 us per iteration of this loop, measured); it stops as soon as
 * all have checked in.
 */
#define AP_WAIT_LOOPS		6000000u

extern const char ap_tramp_start[], ap_tramp_end[];

static volatile uint32_t aps_up;

void ap_main(void);

/* Runs on each AP, on its own stack, after the trampoline (start.S). */
void ap_main(void)
{
	printf("test-guest: cpu %u up\n", lapic_id());
	atomic_fetch_add(&aps_up, 1);
	halt_forever();
}

static void icr_wait_idle(void)
{
	uint32_t n = ICR_IDLE_LOOPS;

	while ((lapic_read(LAPIC_ICR_LO) & ICR_PENDING) && n--)
		cpu_relax();
}

/*
 * Write the ICR: the high dword (destination) first, because writing the
 * low dword is what sends the IPI. With the all-but-self shorthand the
 * destination field is ignored.
 */
static void send_ipi(uint32_t low)
{
	icr_wait_idle();
	lapic_write(LAPIC_ICR_HI, 0);
	lapic_write(LAPIC_ICR_LO, low);
	icr_wait_idle();
}

int mode_smp(uint32_t cpus)
{
	uint32_t want = cpus - 1, n, up;

	printf("test-guest: smp bsp apic id %u, starting %u ap(s)\n",
	       lapic_id(), want);
	if (want) {
		memcpy((void *)(uintptr_t)TRAMP_ADDR, ap_tramp_start,
		       (size_t)(ap_tramp_end - ap_tramp_start));
		lapic_enable();

		/* INIT resets the APs into wait-for-SIPI state. */
		send_ipi(ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_INIT);
		delay_loops(INIT_DELAY_LOOPS);
		/*
		 * Two SIPIs, as the MP spec says; an AP that already started
		 * on the first ignores the second (it is no longer waiting).
		 */
		send_ipi(ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_STARTUP | SIPI_VECTOR);
		delay_loops(SIPI_DELAY_LOOPS);
		send_ipi(ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_STARTUP | SIPI_VECTOR);

		for (n = AP_WAIT_LOOPS; n && atomic_read(&aps_up) < want; n--)
			cpu_relax();
	}
	up = atomic_read(&aps_up);
	if (up < want) {
		printf("test-guest: smp timeout up=%u of %u\n", up + 1, cpus);
		return EXIT_SMP_TIMEOUT;
	}
	printf("test-guest: smp ok cpus=%u\n", cpus);
	return EXIT_OK;
}
