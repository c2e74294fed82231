#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# nfguest's e1000 driver against QEMU's e1000 model (a reference nobody here
# wrote), under KVM, on tap devices inside a private network namespace:
#   ping     nf=ping: the namespace pings nfguest (ARP + ICMP echo), with
#            interrupts (irq=1) and polling (irq=0)
#   gen/sink two guests on one Linux bridge: nf=sink count=N counts N frames
#            with loss=0 and nf=gen count=N exits 0
#   fwd      a third guest with two e1000s (nf=fwd) between two bridges:
#            gen (rate-limited, several flows) -> fwd -> sink, no loss
#   badarg   a bad argument ends the guest with status 2
#
# QEMU's isa-debug-exit turns guest status S into process status
# (S << 1) | 1: guest 0 -> 1, guest 2 -> 5.
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib.sh"

require_env NFV_NFGUEST "nfguest not built"
require_root
require_kvm
require_cmd qemu-system-x86_64 ip ping timeout
[ -c /dev/net/tun ] || skip "no /dev/net/tun"

guest=$NFV_NFGUEST
[ -r "$guest" ] || fail "nfguest $guest not readable"

# Unique names: namespace, bridge and taps carry this shell's PID
# (interface names are at most 15 characters).
ns=nfgt-$$
br=nfgb$$
br2=nfgc$$
tap0=nfgt$$a
tap1=nfgt$$b
tap2=nfgt$$c
tap3=nfgt$$d
ip netns add "$ns" || skip "cannot create a network namespace"
on_exit "ip netns del $ns 2>/dev/null"
nsx() { ip netns exec "$ns" "$@"; }
nsx ip link set lo up

for t in "$tap0" "$tap1" "$tap2" "$tap3"; do
	nsx ip tuntap add "$t" mode tap || fail "cannot create tap $t"
done

# start_qemu NAME TAP MAC APPEND [QEMU ARGS...]: QEMU in the namespace, in
# the background; serial output in $TEST_TMPDIR/NAME.log, its PID in $qpid.
start_qemu()
{
	local name=$1 tap=$2 mac=$3 append=$4

	shift 4

	echo "--- $name: -append \"$append\" on $tap ($mac)"
	ip netns exec "$ns" timeout --kill-after=5 120 qemu-system-x86_64 \
		-accel kvm -M pc -m 256 -nodefaults -no-reboot \
		-display none -monitor none -serial stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-fw_cfg name=etc/sercon-port,string=0 \
		-kernel "$guest" -append "$append" \
		-netdev tap,id=n0,ifname="$tap",script=no,downscript=no \
		-device e1000,netdev=n0,mac="$mac",romfile= "$@" \
		</dev/null >"$TEST_TMPDIR/$name.log" 2>"$TEST_TMPDIR/$name.err" &
	qpid=$!
	track_pid "$qpid"
}

show_log()
{
	echo "--- serial output of $1:"
	sed 's/^/    /' "$TEST_TMPDIR/$1.log"
	echo "--- QEMU stderr of $1:"
	sed 's/^/    /' "$TEST_TMPDIR/$1.err"
}

# --- ping: the tap holds 10.250.0.1/30 in the namespace, nfguest .2.
nsx ip addr add 10.250.0.1/30 dev "$tap0"
nsx ip link set "$tap0" up
for irq in 1 0; do
	name=ping_irq$irq
	failures_before=$failures
	start_qemu $name "$tap0" 52:54:00:4e:46:01 "nf=ping ip=10.250.0.2/30 irq=$irq stats=0"
	if wait_for_pattern "$TEST_TMPDIR/$name.log" '^nfguest: ready nics=1$' 60; then
		ok "$name: nfguest ready with one NIC"
		re='^nfguest: nic=0 kind=e1000 pci=00:[0-9a-f]{2}\.0 mac=52:54:00:4e:46:01 '
		re+="queues=1 .*irq=$irq link=up\$"
		expect_line "$TEST_TMPDIR/$name.log" "$re" \
			"$name: e1000 with the MAC from its EEPROM, link up"
		if nsx ping -c 3 -W 5 10.250.0.2 >"$TEST_TMPDIR/$name.ping" 2>&1; then
			ok "$name: 3 echo replies ($(grep -o 'rtt.*' "$TEST_TMPDIR/$name.ping"))"
		else
			check_fail "$name: ping failed"
			sed 's/^/    /' "$TEST_TMPDIR/$name.ping"
		fi
	else
		check_fail "$name: no ready line within 60 s"
	fi
	kill_pid "$qpid" 2
	[ "$failures" -eq "$failures_before" ] || show_log $name
done
nsx ip addr flush dev "$tap0"

# --- gen/sink over a bridge.
count=2000
nsx ip link add "$br" type bridge || fail "cannot create bridge $br"
for t in "$tap0" "$tap1"; do
	nsx ip link set "$t" master "$br"
	nsx ip link set "$t" up
done
nsx ip link set "$br" up

failures_before=$failures
start_qemu sink "$tap1" 52:54:00:4e:46:02 "nf=sink count=$count seconds=90"
sink_pid=$qpid
if ! wait_for_pattern "$TEST_TMPDIR/sink.log" '^nfguest: ready nics=1$' 60; then
	show_log sink
	fail "sink: no ready line within 60 s"
fi
ok "sink: ready"
start_qemu gen "$tap0" 52:54:00:4e:46:01 "nf=gen count=$count dst=52:54:00:4e:46:02 stats=0"
gen_pid=$qpid
wait_pid "$gen_pid" 100
st=$?
if [ "$st" -eq 1 ]; then
	ok "gen: exit status 0 (QEMU 1)"
else
	check_fail "gen: QEMU exit status $st, expected 1 (guest status 0)"
fi
expect_line "$TEST_TMPDIR/gen.log" "^nfguest: gen done sent=$count expected=$count " \
	"gen: sent $count frames"
wait_pid "$sink_pid" 100
st=$?
if [ "$st" -eq 1 ]; then
	ok "sink: exit status 0 (QEMU 1)"
else
	check_fail "sink: QEMU exit status $st, expected 1 (guest status 0)"
fi
expect_line "$TEST_TMPDIR/sink.log" "^nfguest: sink done received=$count expected=$count loss=0 " \
	"sink: counted $count frames, no loss"
re='^nfguest stats nic=0 q=0 rx_pkts=[0-9]+ tx_pkts=0 rx_bytes=[0-9]+ drops=[0-9]+ '
re+='loss=0 elapsed_ns=[0-9]+$'
expect_line "$TEST_TMPDIR/sink.log" "$re" "sink: stats line"
if [ "$failures" -ne "$failures_before" ]; then
	show_log gen
	show_log sink
fi

# --- fwd: gen on $tap0 (bridge $br) -> fwd NIC 0 on $tap1, fwd NIC 1 on
# $tap2 (bridge $br2) -> sink on $tap3. The sink's MAC is only known
# behind the forwarder, so fwd's promiscuous NIC 0 gets the flooded frames.
failures_before=$failures
nsx ip link add "$br2" type bridge || fail "cannot create bridge $br2"
for t in "$tap2" "$tap3"; do
	nsx ip link set "$t" master "$br2"
	nsx ip link set "$t" up
done
nsx ip link set "$br2" up
start_qemu fwd "$tap1" 52:54:00:4e:46:11 "nf=fwd stats=0" \
	-netdev tap,id=n1,ifname="$tap2",script=no,downscript=no \
	-device e1000,netdev=n1,mac=52:54:00:4e:46:12,romfile=
fwd_pid=$qpid
start_qemu sink2 "$tap3" 52:54:00:4e:46:02 "nf=sink count=$count seconds=90 stats=0"
sink_pid=$qpid
if wait_for_pattern "$TEST_TMPDIR/fwd.log" '^nfguest: ready nics=2$' 60 &&
	wait_for_pattern "$TEST_TMPDIR/sink2.log" '^nfguest: ready nics=1$' 60; then
	ok "fwd: forwarder with two NICs and sink ready"
	start_qemu gen2 "$tap0" 52:54:00:4e:46:01 \
		"nf=gen count=$count rate=1000 flows=5 dst=52:54:00:4e:46:02 stats=0"
	wait_pid "$qpid" 100
	st=$?
	[ "$st" -eq 1 ] && ok "fwd: gen exit status 0" ||
		check_fail "fwd: gen QEMU exit status $st, expected 1"
	wait_pid "$sink_pid" 100
	st=$?
	[ "$st" -eq 1 ] && ok "fwd: sink exit status 0" ||
		check_fail "fwd: sink QEMU exit status $st, expected 1"
	expect_line "$TEST_TMPDIR/sink2.log" \
		"^nfguest: sink done received=$count expected=$count loss=0 reorder=0 " \
		"fwd: sink counted $count frames through the forwarder, in order"
else
	check_fail "fwd: guests not ready within 60 s"
fi
kill_pid "$fwd_pid" 2
if [ "$failures" -ne "$failures_before" ]; then
	show_log fwd
	show_log sink2
	show_log gen2
fi

# --- a bad argument: guest status 2 -> QEMU 5.
failures_before=$failures
start_qemu badarg "$tap0" 52:54:00:4e:46:01 "nf=gen size=10"
wait_pid "$qpid" 60
st=$?
if [ "$st" -eq 5 ]; then
	ok "badarg: exit status 2 (QEMU 5)"
else
	check_fail "badarg: QEMU exit status $st, expected 5 (guest status 2)"
fi
expect_line "$TEST_TMPDIR/badarg.log" '^nfguest: bad argument size=10 ' "badarg: reported"
[ "$failures" -eq "$failures_before" ] || show_log badarg

finish
