#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The scenarios of test_nfguest_qemu_e1000.sh (nfguest on QEMU's e1000), run
# on nfv-vmm's e1000 over taps in a private network namespace:
#   gen/sink two guests on one Linux bridge: nf=sink count=N counts N frames
#            with loss=0 and nf=gen count=N exits 0
#   fwd      a third guest with two e1000s (nf=fwd) between two bridges:
#            gen (rate-limited, several flows) -> fwd -> sink, no loss
#   badarg   a bad nfguest argument ends the guest (and nfv-vmm) with status 2
# (ping over a tap: test_vmm_e1000.sh.) nfv-vmm exits with the guest's
# status itself.
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib.sh"
. "$here/lib_vmm_nic.sh"

require_env NFV_NFGUEST "nfguest not built"
require_env NFV_VMM "nfv-vmm not built"
require_root
require_kvm
require_cmd ip timeout python3
[ -c /dev/net/tun ] || skip "no /dev/net/tun"

ns=nfvs-$$
br=nfvsb$$
br2=nfvsc$$
tap0=nfvs$$a
tap1=nfvs$$b
tap2=nfvs$$c
tap3=nfvs$$d
ip netns add "$ns" || skip "cannot create a network namespace"
on_exit "ip netns del $ns 2>/dev/null"
nsx() { ip netns exec "$ns" "$@"; }
nsx ip link set lo up
for t in "$tap0" "$tap1" "$tap2" "$tap3"; do
	nsx ip tuntap add "$t" mode tap || fail "cannot create tap $t"
done

# --- gen/sink over a bridge.
count=2000
nsx ip link add "$br" type bridge || fail "cannot create bridge $br"
for t in "$tap0" "$tap1"; do
	nsx ip link set "$t" master "$br"
	nsx ip link set "$t" up
done
nsx ip link set "$br" up

failures_before=$failures
vmm_start sink "$ns" --nic "e1000,tap=$tap1,mac=52:54:00:4e:46:02" \
	--cmdline "nf=sink count=$count seconds=90"
sink_pid=$vpid
if ! wait_for_pattern "$TEST_TMPDIR/sink.log" '^nfguest: ready nics=1$' 60; then
	show_vmm sink
	fail "sink: no ready line within 60 s"
fi
ok "sink: ready"
vmm_start gen "$ns" --nic "e1000,tap=$tap0,mac=52:54:00:4e:46:01" \
	--cmdline "nf=gen count=$count dst=52:54:00:4e:46:02 stats=0"
wait_pid "$vpid" 100
st=$?
[ "$st" -eq 0 ] && ok "gen: exit status 0" || check_fail "gen: exit status $st, expected 0"
expect_line "$TEST_TMPDIR/gen.log" "^nfguest: gen done sent=$count expected=$count " \
	"gen: sent $count frames"
wait_pid "$sink_pid" 100
st=$?
[ "$st" -eq 0 ] && ok "sink: exit status 0" || check_fail "sink: exit status $st, expected 0"
expect_line "$TEST_TMPDIR/sink.log" "^nfguest: sink done received=$count expected=$count loss=0 " \
	"sink: counted $count frames, no loss"
re='^nfguest stats nic=0 q=0 rx_pkts=[0-9]+ tx_pkts=0 rx_bytes=[0-9]+ drops=[0-9]+ '
re+='loss=0 elapsed_ns=[0-9]+$'
expect_line "$TEST_TMPDIR/sink.log" "$re" "sink: stats line"
if [ "$failures" -ne "$failures_before" ]; then
	show_vmm gen
	show_vmm sink
fi

# --- fwd: gen on $tap0 (bridge $br) -> fwd NIC 0 on $tap1, fwd NIC 1 on
# $tap2 (bridge $br2) -> sink on $tap3. The sink's MAC is only known behind
# the forwarder, so fwd's promiscuous NIC 0 gets the flooded frames.
failures_before=$failures
nsx ip link add "$br2" type bridge || fail "cannot create bridge $br2"
for t in "$tap2" "$tap3"; do
	nsx ip link set "$t" master "$br2"
	nsx ip link set "$t" up
done
nsx ip link set "$br2" up
vmm_start fwd "$ns" --nic "e1000,tap=$tap1,mac=52:54:00:4e:46:11" \
	--nic "e1000,tap=$tap2,mac=52:54:00:4e:46:12" --cmdline "nf=fwd stats=0"
fwd_pid=$vpid
vmm_start sink2 "$ns" --nic "e1000,tap=$tap3,mac=52:54:00:4e:46:02" \
	--cmdline "nf=sink count=$count seconds=90 stats=0"
sink_pid=$vpid
if wait_for_pattern "$TEST_TMPDIR/fwd.log" '^nfguest: ready nics=2$' 60 &&
	wait_for_pattern "$TEST_TMPDIR/sink2.log" '^nfguest: ready nics=1$' 60; then
	ok "fwd: forwarder with two NICs and sink ready"
	vmm_start gen2 "$ns" --nic "e1000,tap=$tap0,mac=52:54:00:4e:46:01" \
		--cmdline "nf=gen count=$count rate=1000 flows=5 dst=52:54:00:4e:46:02 stats=0"
	wait_pid "$vpid" 100
	st=$?
	[ "$st" -eq 0 ] && ok "fwd: gen exit status 0" ||
		check_fail "fwd: gen exit status $st, expected 0"
	wait_pid "$sink_pid" 100
	st=$?
	[ "$st" -eq 0 ] && ok "fwd: sink exit status 0" ||
		check_fail "fwd: sink exit status $st, expected 0"
	expect_line "$TEST_TMPDIR/sink2.log" \
		"^nfguest: sink done received=$count expected=$count loss=0 reorder=0 " \
		"fwd: sink counted $count frames through the forwarder, in order"
else
	check_fail "fwd: guests not ready within 60 s"
fi
kill_pid "$fwd_pid" 5
if [ "$failures" -ne "$failures_before" ]; then
	show_vmm fwd
	show_vmm sink2
	show_vmm gen2
fi

# --- a bad argument: guest status 2 -> nfv-vmm 2.
failures_before=$failures
vmm_run badarg "$ns" 60 --nic "e1000,tap=$tap0" --cmdline "nf=gen size=10"
[ "$status" -eq 2 ] && ok "badarg: exit status 2" ||
	check_fail "badarg: exit status $status, expected 2"
expect_line "$TEST_TMPDIR/badarg.log" '^nfguest: bad argument size=10 ' "badarg: reported"
[ "$failures" -eq "$failures_before" ] || show_vmm badarg

finish
