/* SPDX-License-Identifier: BSD-3-Clause */
/* Configure-time probe: does this clang link libFuzzer with ASan and UBSan? */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return 0;
}
