#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# nfv-vmm refuses bad input with one clear line on stderr and exit status 2
# (before touching KVM), and names a missing KVM device clearly.
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib.sh"

require_env NFV_VMM "nfv-vmm not built"
vmm=$NFV_VMM

garbage=$TEST_TMPDIR/garbage.bin
head -c 65536 /dev/urandom >"$garbage"
printf 'not a kernel\n' >"$TEST_TMPDIR/text"
# A kernel that parses: the test guest when built, else any ELF is not enough.
kernel=${NFV_TEST_GUEST:-$garbage}

# expect_usage NAME REGEX ARGS...: exit status 2, exactly one line on
# stderr matching REGEX, nothing on stdout.
expect_usage()
{
	local name=$1 re=$2 st lines

	shift 2
	run_timeout 20 "$vmm" "$@" >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err" </dev/null
	st=$?
	lines=$(wc -l <"$TEST_TMPDIR/err")
	if [ "$st" -ne 2 ]; then
		check_fail "$name: exit status $st, expected 2 ($(head -c 300 "$TEST_TMPDIR/err"))"
	elif [ "$lines" -ne 1 ]; then
		check_fail "$name: $lines lines on stderr, expected 1:"
		sed 's/^/    /' "$TEST_TMPDIR/err"
	elif ! grep -q -E -- "$re" "$TEST_TMPDIR/err"; then
		check_fail "$name: message '$(cat "$TEST_TMPDIR/err")' does not match /$re/"
	elif [ -s "$TEST_TMPDIR/out" ]; then
		check_fail "$name: unexpected output on stdout"
	else
		ok "$name: status 2, '$(cat "$TEST_TMPDIR/err")'"
	fi
}

expect_usage "no kernel" "no --kernel given" --mem 64M
expect_usage "missing kernel file" "--kernel /nonexistent/k: No such file" --kernel /nonexistent/k
expect_usage "garbage kernel" "not an ELF with a PVH entry note, nor a Linux bzImage" --kernel "$garbage"
expect_usage "text kernel" "not an ELF with a PVH entry note, nor a Linux bzImage" --kernel "$TEST_TMPDIR/text"
expect_usage "kernel is a directory" "not a regular file" --kernel "$TEST_TMPDIR"
expect_usage "mem too large" "--mem 64T: more than this host's [0-9]+ MiB of RAM" --kernel "$kernel" --mem 64T
expect_usage "mem unparsable" "--mem lots: not a size" --kernel "$kernel" --mem lots
expect_usage "mem overflow" "--mem 99999999999999999999: not a size" --kernel "$kernel" --mem 99999999999999999999
expect_usage "mem too small" "--mem 1M: at least 16 MiB" --kernel "$kernel" --mem 1M
expect_usage "cpus 0" "--cpus 0: must be a whole number from 1 to 64" --kernel "$kernel" --cpus 0
expect_usage "cpus garbage" "--cpus two: must be a whole number" --kernel "$kernel" --cpus two
expect_usage "unknown option" "unknown option --frobnicate" --kernel "$kernel" --frobnicate
expect_usage "missing argument" "option --mem needs an argument" --kernel "$kernel" --mem
expect_usage "stray argument" "unexpected argument 'extra'" --kernel "$kernel" extra
expect_usage "bad console" "--console tty: use stdio, file:PATH or none" --kernel "$kernel" --console tty
expect_usage "bad cpuid mask" "unknown CPUID feature 'sse9'" --kernel "$kernel" --cpuid-mask sse9
expect_usage "bad log level" "--log-level loud" --kernel "$kernel" --log-level loud
expect_usage "cmdline too long" "--cmdline: longer than" --kernel "$kernel" --cmdline "$(head -c 5000 /dev/zero | tr '\0' x)"

# --help and --version succeed.
if "$vmm" --help | grep -q -- "--kernel FILE"; then ok "--help lists the options"; else check_fail "--help"; fi
if "$vmm" --version | grep -q -E '^nfv-vmm [0-9]'; then ok "--version"; else check_fail "--version"; fi

# No KVM device: a clear message naming it, exit status 1.
if [ -n "${NFV_TEST_GUEST:-}" ]; then
	run_timeout 20 "$vmm" --kernel "$NFV_TEST_GUEST" --kvm "$TEST_TMPDIR/no-kvm" \
		>"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err" </dev/null
	st=$?
	if [ "$st" -eq 1 ] && grep -q "no $TEST_TMPDIR/no-kvm: this host has no KVM" "$TEST_TMPDIR/err"; then
		ok "missing KVM device: '$(cat "$TEST_TMPDIR/err")'"
	else
		check_fail "missing KVM device: status $st, '$(cat "$TEST_TMPDIR/err")'"
	fi
	# A KVM path that is not KVM.
	run_timeout 20 "$vmm" --kernel "$NFV_TEST_GUEST" --kvm /dev/null \
		>"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err" </dev/null
	st=$?
	if [ "$st" -eq 1 ] && grep -q "/dev/null is not a KVM device" "$TEST_TMPDIR/err"; then
		ok "non-KVM device: '$(cat "$TEST_TMPDIR/err")'"
	else
		check_fail "non-KVM device: status $st, '$(cat "$TEST_TMPDIR/err")'"
	fi
fi

finish
