#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# nfguest (perf/nfguest) boots in nfv-vmm through PVH, with one and with two
# vCPUs, comes up with no NIC (none given to nfv-vmm) and prints
# "nfguest: ready nics=0"; an unknown argument ends it with status 2.
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib.sh"

require_env NFV_NFGUEST "nfguest not built"
require_env NFV_VMM "nfv-vmm not built"
require_kvm
require_cmd timeout

guest=$NFV_NFGUEST
[ -r "$guest" ] || fail "nfguest $guest not readable"

# run_vmm NAME SECS CPUS CMDLINE: nfv-vmm's console (the guest's COM1) in
# $TEST_TMPDIR/NAME.log, its exit status in $status.
run_vmm()
{
	local name=$1 secs=$2 cpus=$3 append=$4

	log=$TEST_TMPDIR/$name.log
	echo "--- $name: nfv-vmm --cpus $cpus --cmdline \"$append\""
	run_timeout "$secs" "$NFV_VMM" --kernel "$guest" --cpus "$cpus" \
		--cmdline "$append" --console "file:$log" --log-level warn \
		</dev/null >"$TEST_TMPDIR/$name.out" 2>&1
	status=$?
}

show_log()
{
	echo "--- console of $1:"
	sed 's/^/    /' "$TEST_TMPDIR/$1.log" 2>/dev/null
	echo "--- nfv-vmm output of $1:"
	sed 's/^/    /' "$TEST_TMPDIR/$1.out" 2>/dev/null
}

# nf=none idles for ever: once the ready line is there (about 1 s here),
# nfv-vmm is stopped by PID.
for cpus in 1 2; do
	name=none_cpus$cpus
	failures_before=$failures
	log=$TEST_TMPDIR/$name.log
	echo "--- $name: nfv-vmm --cpus $cpus --cmdline \"nf=none\""
	run_timeout 60 "$NFV_VMM" --kernel "$guest" --cpus "$cpus" --cmdline "nf=none" \
		--console "file:$log" --log-level warn </dev/null >"$TEST_TMPDIR/$name.out" 2>&1 &
	pid=$!
	track_pid "$pid"
	if wait_for_pattern "$log" '^nfguest: ready' 30; then
		sleep 1
		if pid_alive "$pid"; then
			ok "$name: guest up and idling"
		else
			check_fail "$name: nfv-vmm ended although nf=none idles"
		fi
	else
		check_fail "$name: no ready line within 30 s"
	fi
	kill_pid "$pid" 2
	expect_line "$log" '^nfguest: cmdline=nf=none$' "$name: command line echoed"
	expect_line "$log" "^nfguest: cpus=$cpus " "$name: $cpus CPU(s) up"
	expect_line "$log" '^nfguest: ready nics=0$' "$name: ready with no NIC"
	[ "$failures" -eq "$failures_before" ] || show_log $name
done

# A bad argument: status 2 and a clear line.
name=badarg
failures_before=$failures
run_vmm $name 20 1 "nf=none bogus=1"
if [ "$status" -eq 2 ]; then
	ok "$name: exit status 2"
else
	check_fail "$name: exit status $status, expected 2"
fi
expect_line "$log" '^nfguest: unknown argument bogus=1$' "$name: unknown argument reported"
[ "$failures" -eq "$failures_before" ] || show_log $name

finish
