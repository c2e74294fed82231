/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Starting DPDK's EAL for a unit test: no hugepages, no PCI, no shared
 * config (--in-memory is refused together with --no-huge), one lcore,
 * quiet; the runtime directory EAL makes is removed at exit. Call
 * eal_test_init() from a cmocka group setup; it is safe to call more than
 * once.
 */
#ifndef NFV_TESTS_EAL_TEST_H
#define NFV_TESTS_EAL_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <rte_eal.h>

static char eal_test_rundir[512];

static inline void eal_test_cleanup(void)
{
	rte_eal_cleanup();
	if (eal_test_rundir[0])
		rmdir(eal_test_rundir);
}

static inline int eal_test_init(const char *name)
{
	static int done;
	char prefix[64];

	if (done)
		return 0;
	snprintf(prefix, sizeof(prefix), "--file-prefix=unit_%s_%d", name, (int)getpid());
	char *argv[] = { (char *)name, "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
			 prefix, "-l", "0", "--log-level=lib.*:error", "--no-telemetry", NULL };
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - 1;

	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "%s: EAL did not start\n", name);
		return -1;
	}
	snprintf(eal_test_rundir, sizeof(eal_test_rundir), "%s", rte_eal_get_runtime_dir());
	atexit(eal_test_cleanup);
	done = 1;
	return 0;
}

#endif /* NFV_TESTS_EAL_TEST_H */
