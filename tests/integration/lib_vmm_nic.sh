# SPDX-License-Identifier: BSD-3-Clause
#
# Helpers for the nfv-vmm NIC tests (test_vmm_e1000*.sh, test_vmm_virtio*.sh),
# on top of lib.sh:
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
#   badnic SPEC REGEX [NS]      nfv-vmm --nic SPEC must end with status 2 and
#                               one line matching REGEX
#   api_sample SECS OUT SOCK PID [OUT SOCK PID]...  poll each control socket's
#                               "stats" until its PID is gone (at most SECS);
#                               one JSON result per line in OUT
#   ping_over_tap KIND NS TAP NET MAC [QUEUES [VMM-ARGS...]]  see below
#   expect_nfguest_queues LOG NAME NQ FIELD  nfguest's last stats lines show
#                               FIELD > 0 on every queue 0 .. NQ-1 of nic 0
#   nfguest_ready NAME          nfguest's "ready nics=1" line within 60 s
#   vm_end NAME PID SECS        the VM exits 0 by itself within SECS
#   wait_link_up SOCK SECS      the first NIC on control socket SOCK reports
#                               its link up within SECS
#   expect_gen_sink NAME GENLOG SINKLOG COUNT SIZE  nf=gen sent COUNT frames
#                               of SIZE bytes and nf=sink received all of
#                               them, intact (bad=0), COUNT * (SIZE - 4) bytes
#   ns_bridge NS BR MTU TAP...  a Linux bridge BR in namespace NS with the
#                               taps TAP... as ports, all up with MTU
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

# nfguest_ready NAME: the nfguest started by vmm_start NAME says it is ready
# (one NIC up) within 60 s.
nfguest_ready()
{
	wait_for_pattern "$TEST_TMPDIR/$1.log" '^nfguest: ready nics=1$' 60 && return 0
	check_fail "$1: no ready line within 60 s"
	return 1
}

# vm_end NAME PID SECS: the VM ends by itself within SECS with status 0
# (else it is counted as a failure and stopped).
vm_end()
{
	local st

	wait_pid "$2" "$3"
	st=$?
	if [ "$st" -eq 0 ]; then
		ok "$1: exit status 0"
	else
		check_fail "$1: exit status $st$([ "$st" -ne 124 ] || echo " (still running after $3 s)")"
		kill_pid "$2"
	fi
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

# badnic SPEC REGEX [NS]: nfv-vmm with --nic SPEC (in namespace NS, if
# given) ends with status 2 after one line matching the extended REGEX.
badnic()
{
	local spec=$1 re=$2 ns=${3:--} out st

	_ns_prefix "$ns"
	out=$("${nsp[@]}" timeout --kill-after=5 20 "$NFV_VMM" --kernel "$NFV_NFGUEST" \
		--console none --nic "$spec" 2>&1 </dev/null)
	st=$?
	if [ "$st" -eq 2 ] && grep -q -E -- "$re" <<<"$out" && [ "$(wc -l <<<"$out")" -eq 1 ]; then
		ok "badnic: '$spec' -> status 2: $out"
	else
		check_fail "badnic: '$spec' -> status $st, output: $out"
	fi
}

# api_sample SECS OUT SOCK PID [OUT SOCK PID]...: ask each control socket
# SOCK for "stats" every 50 ms while its PID runs and append each answer's
# result, one JSON object a line, to its OUT; returns once every PID is gone
# or after SECS.
api_sample()
{
	local secs=$1

	shift
	timeout --kill-after=5 $((secs + 10)) python3 - "$secs" "$@" <<'PY'
import json, os, socket, sys, time

def alive(pid):
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False

def stats(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(path)
        s.sendall(b'{"cmd":"stats"}\n')
        r = json.loads(s.makefile("rb").readline())
        return r["result"] if r.get("ok") else None
    except (OSError, ValueError, KeyError):
        return None
    finally:
        s.close()

end = time.monotonic() + float(sys.argv[1])
a = sys.argv[2:]
vms = [(open(a[i], "a"), a[i + 1], int(a[i + 2])) for i in range(0, len(a) - 2, 3)]
while time.monotonic() < end:
    running = [v for v in vms if alive(v[2])]
    if not running:
        break
    for f, path, _ in running:
        r = stats(path)
        if r is not None:
            f.write(json.dumps(r) + "\n")
            f.flush()
    time.sleep(0.05)
PY
}

# ping_over_tap KIND NS TAP NET MAC [QUEUES [VMM-ARGS...]]: nfguest nf=ping
# on --nic KIND,tap=TAP answers `ping -c 3` from namespace NS, with
# interrupts and with polling. The tap holds NET.1/30 in NS, nfguest NET.2;
# the NIC gets MAC. With QUEUES, the NIC and nfguest get queues=QUEUES,
# nfguest must report that many pairs and the runs are named
# ping_qQUEUES_irqN (else ping_irqN); VMM-ARGS (e.g. --cpus 2) go to nfv-vmm.
ping_over_tap()
{
	local kind=$1 ns=$2 tap=$3 net=$4 mac=$5 nq=${6:-} irq re spec cmdline

	shift 5
	[ $# -eq 0 ] || shift
	for irq in 1 0; do
		name=ping_irq$irq
		spec="$kind,tap=$tap,mac=$mac"
		cmdline="nf=ping ip=$net.2/30 irq=$irq stats=0"
		if [ -n "$nq" ]; then
			name=ping_q${nq}_irq$irq
			spec="$kind,tap=$tap,queues=$nq,mac=$mac"
			cmdline+=" queues=$nq"
		fi
		failures_before=$failures
		vmm_start $name "$ns" "$@" --nic "$spec" --cmdline "$cmdline"
		if wait_for_pattern "$TEST_TMPDIR/$name.log" '^nfguest: ready nics=1$' 60; then
			ok "$name: nfguest ready with one NIC"
			re="^nfguest: nic=0 kind=$kind pci=00:[0-9a-f]{2}\\.0 mac=$mac "
			re+="queues=${nq:-1} .*irq=$irq link=up\$"
			expect_line "$TEST_TMPDIR/$name.log" "$re" \
				"$name: $kind with the given MAC, ${nq:-1} queue pair(s), link up"
			expect_line "$TEST_TMPDIR/$name.err" "tap $tap: attached to the existing (multiqueue )?tap" \
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

# expect_nfguest_queues LOG NAME NQ FIELD: in nfguest's console LOG, the
# last stats line of each queue 0 .. NQ-1 of nic 0 has FIELD > 0.
expect_nfguest_queues()
{
	local log=$1 name=$2 nq=$3 field=$4 q v

	for ((q = 0; q < nq; q++)); do
		v=$(grep -a -E "^nfguest stats nic=0 q=$q " "$log" | tail -n 1 |
			grep -o -E " $field=[0-9]+" | cut -d= -f2)
		if [ "${v:-0}" -gt 0 ]; then
			ok "$name: nfguest's queue $q: $field=$v"
		else
			check_fail "$name: nfguest's queue $q: $field=${v:-(no stats line)}"
		fi
	done
}

# wait_link_up SOCK SECS: 0 once the first NIC of the control socket SOCK
# says link_up, 1 after SECS.
wait_link_up()
{
	local end=$((SECONDS + $2)) r

	while [ "$SECONDS" -le "$end" ]; do
		r=$(api "$1" '{"cmd":"stats"}')
		if [ -n "$r" ] && [ "$(api_field "$r" 'r["result"]["nics"][0]["link_up"]' 2>/dev/null)" = True ]; then
			return 0
		fi
		sleep 0.2
	done
	return 1
}

# expect_gen_sink NAME GENLOG SINKLOG COUNT SIZE: nfguest's nf=gen (GENLOG)
# sent COUNT frames of SIZE bytes (FCS included) and its nf=sink (SINKLOG)
# received every one, in order and intact (bad=0: lengths, IPv4 header
# checksum and payload pattern checked); its last stats line counts COUNT
# frames and COUNT * (SIZE - 4) bytes, plus at most 4 small frames a kernel
# path (tap, bridge) may have added of its own.
expect_gen_sink()
{
	local name=$1 glog=$2 slog=$3 count=$4 size=$5 line

	expect_line "$glog" "^nfguest: gen done sent=$count expected=$count size=$size " \
		"$name: nf=gen sent $count frames of $size bytes"
	expect_line "$slog" \
		"^nfguest: sink done received=$count expected=$count loss=0 reorder=0 bad=0 .*status=0$" \
		"$name: nf=sink received all $count frames, no loss, none bad"
	line=$(grep -a -E '^nfguest stats nic=0 q=0 ' "$slog" | tail -n 1)
	local pk by extra xb
	pk=$(sed -n 's/.* rx_pkts=\([0-9]*\) .*/\1/p' <<<"$line")
	by=$(sed -n 's/.* rx_bytes=\([0-9]*\) .*/\1/p' <<<"$line")
	extra=$(( ${pk:-0} - count ))
	xb=$(( ${by:-0} - count * (size - 4) ))
	if [ -n "$pk" ] && [ "$extra" -eq 0 ] && [ "$xb" -eq 0 ]; then
		ok "$name: nf=sink's NIC received $count frames of $((size - 4)) bytes"
	elif [ -n "$pk" ] && [ "$extra" -gt 0 ] && [ "$extra" -le 4 ] && [ "$xb" -gt 0 ] &&
		[ "$xb" -le $((extra * 1514)) ]; then
		# A kernel path (tap, bridge) may add a few small frames of its own;
		# the sink's own count above says every generated frame was there.
		ok "$name: nf=sink's NIC received $count frames of $((size - 4)) bytes" \
			"and $extra small frame(s) of the host's own ($xb bytes)"
	else
		check_fail "$name: nf=sink's last stats line is not $count frames of" \
			"$((size - 4)) bytes: ${line:-(none)}"
	fi
}

# ns_bridge NS BR MTU TAP...: bridge BR in namespace NS, the taps TAP...
# (created) its ports, every link up with MTU; IPv6 off in NS, so that the
# kernel sends nothing of its own through the bridge.
ns_bridge()
{
	local ns=$1 br=$2 mtu=$3 t

	shift 3
	ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
	ip netns exec "$ns" ip link add "$br" type bridge || return 1
	for t in "$@"; do
		ip netns exec "$ns" ip tuntap add "$t" mode tap &&
			ip netns exec "$ns" ip link set "$t" mtu "$mtu" master "$br" up || return 1
	done
	ip netns exec "$ns" ip link set "$br" mtu "$mtu" up
}
