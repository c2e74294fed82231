#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# nfv-vmm's e1000 and its netdev backends, driven by nfguest:
#   badnic   bad --nic arguments end nfv-vmm with status 2 and one line
#   ping     --nic e1000,tap=...: in a private network namespace the host
#            pings nfguest (nf=ping), with interrupts (irq=1) and polling
#            (irq=0); the guest sees the MAC given with mac=
#   gen      --nic e1000,pcap-out=...: nf=gen count=1000 writes exactly 1000
#            frames, every sequence number in order, and tshark -r reads them
#   mac      without mac=, the MAC comes from the VM name and NIC index: the
#            same on a second run, and what the guest reports
#   sigterm  pcap-out is readable while nfv-vmm runs (tshark), and holds every
#            frame nfv-vmm took once SIGTERM stopped it
#   replay   the gen capture through --nic e1000,pcap-in=...: nf=sink counts
#            all 1000 frames with no loss
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib.sh"
. "$here/lib_vmm_nic.sh"

require_env NFV_NFGUEST "nfguest not built"
require_env NFV_VMM "nfv-vmm not built"
require_root
require_kvm
require_cmd ip ping timeout python3 tshark
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
if ! "$NFV_VMM" --help | grep -q -- '--nic e1000,pcap-out'; then
	skip "this nfv-vmm has no pcap backend (built without libpcap)"
fi

# --- bad --nic arguments: status 2, one line naming the problem.
badnic "virtio,tap=x,speed=10" "unknown key 'speed'"
badnic "e1000" "no backend"
badnic "e1000,tap=x,pcap-out=/dev/null" "two backends"
badnic "e1000,tap=x,speed=10" "unknown key 'speed'"
badnic "e1000,tap=x,mac=01:02:03:04:05:06" "multicast"
badnic "e1000,tap=x,mac=02:02:03:04:05" "not a MAC address"
badnic "e1000,tap=abcdefghijklmnop" "longer than 15"
badnic "e1000,pcap-in=$TEST_TMPDIR/missing.pcap" "No such file"
printf 'not a pcap file at all\n' >"$TEST_TMPDIR/junk.pcap"
badnic "e1000,pcap-in=$TEST_TMPDIR/junk.pcap" "not a pcap file"

# Unique names: namespace and tap carry this shell's PID.
ns=nfve-$$
tap0=nfve$$a
ip netns add "$ns" || skip "cannot create a network namespace"
on_exit "ip netns del $ns 2>/dev/null"
nsx() { ip netns exec "$ns" "$@"; }
nsx ip link set lo up
nsx ip tuntap add "$tap0" mode tap || fail "cannot create tap $tap0"
nsx ip addr add 10.250.0.1/30 dev "$tap0"

# --- ping over a tap.
ping_over_tap e1000 "$ns" "$tap0" 10.250.0 52:54:00:4e:46:01

# --- gen into pcap-out.
count=1000
out=$TEST_TMPDIR/gen.pcap
name=gen
failures_before=$failures
vmm_run $name - 120 --nic "e1000,pcap-out=$out" --cmdline "nf=gen count=$count stats=0"
[ "$status" -eq 0 ] && ok "gen: exit status 0" || check_fail "gen: exit status $status"
expect_line "$TEST_TMPDIR/$name.log" "^nfguest: gen done sent=$count expected=$count " \
	"gen: nfguest sent $count frames"
expect_line "$TEST_TMPDIR/$name.err" "$count frames written to $out" \
	"gen: nfv-vmm wrote $count frames"
if nfgen check "$out" "$count" 1; then
	ok "gen: exactly $count generated frames, sequence numbers in order"
else
	check_fail "gen: pcap-out check"
fi
if nfgen tshark "$out" "$count"; then
	ok "gen: tshark reads the $count frames in order"
else
	check_fail "gen: tshark check"
fi
[ "$failures" -eq "$failures_before" ] || show_vmm $name

# --- the generated MAC: stable, and what the guest uses.
failures_before=$failures
mac=$(sed -n 's/.*e1000\.0: .* mac \([0-9a-f:]*\) (generated.*/\1/p' "$TEST_TMPDIR/gen.err")
vmm_run gen_again - 60 --name gen --nic "e1000,pcap-out=$TEST_TMPDIR/gen2.pcap" \
	--cmdline "nf=gen count=10 stats=0"
mac2=$(sed -n 's/.*e1000\.0: .* mac \([0-9a-f:]*\) (generated.*/\1/p' "$TEST_TMPDIR/gen_again.err")
vmm_run other_name - 60 --nic "e1000,pcap-out=$TEST_TMPDIR/gen3.pcap" \
	--cmdline "nf=gen count=10 stats=0"
mac3=$(sed -n 's/.*e1000\.0: .* mac \([0-9a-f:]*\) (generated.*/\1/p' "$TEST_TMPDIR/other_name.err")
# Locally administered (bit 1 of the first byte), unicast (bit 0 clear).
if [ -z "$mac" ] || (((0x${mac%%:*} & 3) != 2)); then
	check_fail "mac: generated MAC '$mac' is not locally administered unicast"
elif [ "$mac" != "$mac2" ]; then
	check_fail "mac: a second run of VM 'gen' got '$mac2', the first $mac"
else
	ok "mac: generated $mac: locally administered, unicast, the same on a second run"
fi
expect_line "$TEST_TMPDIR/gen.log" "^nfguest: nic=0 kind=e1000 .* mac=$mac " \
	"mac: the guest reads $mac from the EEPROM"
if [ -n "$mac3" ] && [ "$mac3" != "$mac" ]; then
	ok "mac: another VM name gives another MAC ($mac3)"
else
	check_fail "mac: VM 'other_name' got '$mac3', VM 'gen' '$mac'"
fi
src=$(tshark -r "$out" -c 1 -T fields -e eth.src 2>/dev/null)
[ "$src" = "$mac" ] && ok "mac: the frames' source is $mac" ||
	check_fail "mac: frames from '$src', expected $mac"
[ "$failures" -eq "$failures_before" ] || show_vmm gen_again

# --- pcap-out is readable while nfv-vmm runs and complete after SIGTERM.
name=sigterm
failures_before=$failures
live=$TEST_TMPDIR/live.pcap
vmm_start $name - --nic "e1000,pcap-out=$live" --cmdline "nf=gen rate=2000 stats=1"
if wait_for_pattern "$TEST_TMPDIR/$name.log" '^nfguest stats nic=0 q=0 .*tx_pkts=[1-9]' 60; then
	sleep 0.5
	n_live=$(tshark -r "$live" 2>/dev/null | wc -l)
	if [ "$n_live" -gt 0 ]; then
		ok "sigterm: tshark reads $n_live frames while nfv-vmm runs"
	else
		check_fail "sigterm: no frame readable while nfv-vmm runs"
	fi
	kill_pid "$vpid" 10
	wait "$vpid" 2>/dev/null
	n_log=$(sed -n 's/.* \([0-9]*\) frames written to .*/\1/p' "$TEST_TMPDIR/$name.err")
	n_file=$(tshark -r "$live" 2>/dev/null | wc -l)
	if [ -n "$n_log" ] && [ "$n_file" -eq "$n_log" ] && [ "$n_file" -ge "$n_live" ]; then
		ok "sigterm: after SIGTERM the file holds all $n_file frames nfv-vmm took"
	else
		check_fail "sigterm: the file holds $n_file frames, nfv-vmm says '$n_log'"
	fi
	expect_line "$TEST_TMPDIR/$name.err" "ended: stopped by Terminated \\(exit status 0\\)" \
		"sigterm: nfv-vmm stopped cleanly"
else
	check_fail "sigterm: the generator did not start within 60 s"
	kill_pid "$vpid" 5
fi
[ "$failures" -eq "$failures_before" ] || show_vmm $name

# --- replay the capture into a sink.
name=replay
failures_before=$failures
vmm_run $name - 120 --nic "e1000,pcap-in=$out" \
	--cmdline "nf=sink count=$count seconds=60 stats=0"
[ "$status" -eq 0 ] && ok "replay: sink exit status 0" || check_fail "replay: exit status $status"
expect_line "$TEST_TMPDIR/$name.log" \
	"^nfguest: sink done received=$count expected=$count loss=0 reorder=0 " \
	"replay: the sink counted $count frames, no loss, in order"
expect_line "$TEST_TMPDIR/$name.err" \
	"exhausted: $count records read, $count delivered, 0 dropped by the model" \
	"replay: nfv-vmm replayed the whole file"
[ "$failures" -eq "$failures_before" ] || show_vmm $name

finish
