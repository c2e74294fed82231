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
