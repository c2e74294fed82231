#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# SMP: with --cpus N the test guest wakes its application processors through
# the in-kernel LAPIC (INIT, SIPI to a real-mode trampoline at 0x8000) and
# each one prints its APIC ID; nfv-vmm runs one thread per vCPU and counts
# the exits of each.
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib.sh"

require_env NFV_VMM "nfv-vmm not built"
require_env NFV_TEST_GUEST "test guest not built"
require_root
require_kvm

for n in 2 4; do
	out=$TEST_TMPDIR/smp$n.out
	err=$TEST_TMPDIR/smp$n.err
	echo "--- --cpus $n, mode=smp cpus=$n"
	run_timeout 100 "$NFV_VMM" --name "smp$n" --cpus "$n" --kernel "$NFV_TEST_GUEST" \
		--cmdline "mode=smp cpus=$n" </dev/null >"$out" 2>"$err"
	st=$?
	if [ "$st" -eq 0 ]; then ok "smp$n: exit status 0"; else check_fail "smp$n: exit status $st"; fi
	for ((id = 1; id < n; id++)); do
		expect_line "$out" "^test-guest: cpu $id up" "smp$n: CPU $id ran"
	done
	expect_line "$out" "^test-guest: smp ok cpus=$n" "smp$n: the BSP saw all $n CPUs"
	expect_line "$err" "$n vCPU\(s\)" "smp$n: nfv-vmm started $n vCPUs"
	if [ "$failures" -ne 0 ]; then
		sed 's/^/    out: /' "$out" | tail -20
		sed 's/^/    err: /' "$err" | tail -20
	fi
done

# One vCPU, guest expecting two: the guest's own timeout, not a hang.
out=$TEST_TMPDIR/short.out
err=$TEST_TMPDIR/short.err
echo "--- --cpus 1, mode=smp cpus=2"
run_timeout 100 "$NFV_VMM" --name short --cpus 1 --kernel "$NFV_TEST_GUEST" \
	--cmdline "mode=smp cpus=2" </dev/null >"$out" 2>"$err"
st=$?
if [ "$st" -eq 3 ]; then ok "short: guest reports the missing CPU (status 3)"; else check_fail "short: status $st"; fi
expect_line "$out" '^test-guest: smp timeout up=1 of 2' "short: timeout line"

finish
