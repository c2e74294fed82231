# SPDX-License-Identifier: BSD-3-Clause
#
# Helpers for the nfv-vmm NIC tests (test_vmm_e1000*.sh), on top of lib.sh:
#
#   vmm_start NAME NS ARGS...   nfguest in nfv-vmm (--name NAME unless ARGS
#                               give another), in the background, in network
#                               namespace NS ("-" for none); console in
#                               $TEST_TMPDIR/NAME.log, nfv-vmm's log in
#                               NAME.err; its PID in $vpid. Killed after
#                               $VMM_TIMEOUT s (default 120).
#   vmm_run NAME NS SECS ARGS...  the same in the foreground; status in $status
#   show_vmm NAME               print the console and the log of a run
#   api SOCK JSON               one request on a control socket; the answer
#   api_field JSON PYEXPR       evaluate PYEXPR over the parsed answer `r`
#   nfgen ARGS...               tests/integration/nfgen_pcap.py
#   qemu_start NAME NS APPEND QEMU-ARGS...  nfguest in QEMU (KVM), in the
#                               background; console in NAME.log, PID in $qpid
#
# QEMU's isa-debug-exit turns guest status S into (S << 1) | 1; nfv-vmm
# exits with S itself.

VMM_TIMEOUT=${VMM_TIMEOUT:-120}
_nic_here=${BASH_SOURCE[0]%/*}
[ "$_nic_here" != "${BASH_SOURCE[0]}" ] || _nic_here=.

# _ns_prefix NS: the command prefix that runs a program in namespace NS, in
# the array $nsp. Used as "${nsp[@]}" CMD...: no shell function in between,
# so that a background job's $! is the program itself (ip netns exec execs
# it) and kill_pid reaches it.
_ns_prefix()
{
	nsp=()
	[ "$1" = - ] || nsp=(ip netns exec "$1")
}

vmm_start()
{
	local name=$1 ns=$2

	shift 2
	echo "--- $name: nfv-vmm $*"
	_ns_prefix "$ns"
	"${nsp[@]}" timeout --kill-after=5 "$VMM_TIMEOUT" "$NFV_VMM" --name "$name" \
		--kernel "$NFV_NFGUEST" --console "file:$TEST_TMPDIR/$name.log" "$@" \
		</dev/null >"$TEST_TMPDIR/$name.out" 2>"$TEST_TMPDIR/$name.err" &
	vpid=$!
	track_pid "$vpid"
}

vmm_run()
{
	local name=$1 ns=$2 secs=$3

	shift 3
	echo "--- $name: nfv-vmm $*"
	_ns_prefix "$ns"
	"${nsp[@]}" timeout --kill-after=5 "$secs" "$NFV_VMM" --name "$name" \
		--kernel "$NFV_NFGUEST" --console "file:$TEST_TMPDIR/$name.log" "$@" \
		</dev/null >"$TEST_TMPDIR/$name.out" 2>"$TEST_TMPDIR/$name.err"
	status=$?
}

show_vmm()
{
	echo "--- console of $1:"
	sed 's/^/    /' "$TEST_TMPDIR/$1.log" 2>/dev/null | tail -40
	echo "--- log of $1:"
	sed 's/^/    /' "$TEST_TMPDIR/$1.err" 2>/dev/null | grep -v 'e820:' | tail -40
}

api()
{
	timeout 20 python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(15)
try:
    s.connect(sys.argv[1])
    f = s.makefile("rwb")
    f.write(sys.argv[2].encode() + b"\n")
    f.flush()
    sys.stdout.write(f.readline().decode())
except OSError:
    pass
PY
}

api_field()
{
	python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

nfgen()
{
	python3 "$_nic_here/nfgen_pcap.py" "$@"
}

qemu_start()
{
	local name=$1 ns=$2 append=$3

	shift 3
	echo "--- $name: qemu -append \"$append\" $*"
	_ns_prefix "$ns"
	"${nsp[@]}" timeout --kill-after=5 "$VMM_TIMEOUT" qemu-system-x86_64 \
		-accel kvm -M pc -m 256 -nodefaults -no-reboot \
		-display none -monitor none -serial stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-fw_cfg name=etc/sercon-port,string=0 \
		-kernel "$NFV_NFGUEST" -append "$append" "$@" \
		</dev/null >"$TEST_TMPDIR/$name.log" 2>"$TEST_TMPDIR/$name.err" &
	qpid=$!
	track_pid "$qpid"
}

# ping_over_tap KIND NS TAP NET MAC: nfguest nf=ping on --nic KIND,tap=TAP
# answers `ping -c 3` from namespace NS, with interrupts and with polling.
# The tap holds NET.1/30 in NS, nfguest NET.2; the NIC gets MAC.
ping_over_tap()
{
	local kind=$1 ns=$2 tap=$3 net=$4 mac=$5 irq re

	for irq in 1 0; do
		name=ping_irq$irq
		failures_before=$failures
		vmm_start $name "$ns" --nic "$kind,tap=$tap,mac=$mac" \
			--cmdline "nf=ping ip=$net.2/30 irq=$irq stats=0"
		if wait_for_pattern "$TEST_TMPDIR/$name.log" '^nfguest: ready nics=1$' 60; then
			ok "$name: nfguest ready with one NIC"
			re="^nfguest: nic=0 kind=$kind pci=00:[0-9a-f]{2}\\.0 mac=$mac "
			re+="queues=1 .*irq=$irq link=up\$"
			expect_line "$TEST_TMPDIR/$name.log" "$re" "$name: $kind with the given MAC, link up"
			expect_line "$TEST_TMPDIR/$name.err" "tap $tap: attached to the existing tap" \
				"$name: nfv-vmm attached to the namespace's tap"
			if ip netns exec "$ns" ping -c 3 -W 5 "$net.2" >"$TEST_TMPDIR/$name.ping" 2>&1; then
				ok "$name: 3 echo replies ($(grep -o 'rtt.*' "$TEST_TMPDIR/$name.ping"))"
			else
				check_fail "$name: ping failed"
				sed 's/^/    /' "$TEST_TMPDIR/$name.ping"
			fi
		else
			check_fail "$name: no ready line within 60 s"
		fi
		kill_pid "$vpid" 5
		[ "$failures" -eq "$failures_before" ] || show_vmm $name
	done
}
