#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The INTx scenarios of test_nfguest_qemu_virtio.sh, on nfv-vmm: a virtio-net
# without MSI-X (--nic virtio,vectors=0, as QEMU's virtio-net-pci vectors=0)
# driven by nfguest's virtio-net driver through INTx and the ISR, inside a
# private network namespace:
#   badnic            vectors= other than 0 or 2N+2, vectors= / event_idx= on
#                     an e1000, bad addr= values and two NICs asking for one
#                     slot end nfv-vmm with status 2 and one line
#   ping_intx         vectors=0,event_idx=off with nf=ping irq=1: the
#                     namespace pings nfguest (3 replies); nfguest reports
#                     irq=intx and no event_idx among the features; the
#                     control socket shows the device's interrupts, none of
#                     them through an irqfd or as an MSI-X message
#   ping_intx_shared  an e1000 (addr=3) and a virtio-net (addr=11,vectors=0)
#                     on one INTx line (GSI 16 + slot % 8 = 19 for both),
#                     each on its own tap; nfguest nf=ping answers on both:
#                     the namespace pings through each tap at once (3
#                     replies each); nfv-vmm's log and stats give both NICs
#                     GSI 19, and each NIC's counters show its replies
#
# nfguest answers one address (ip=) on every NIC, so the two taps of the
# shared scenario sit in the guest's subnet, each with an address of its
# own, and ping -I picks the tap (and so the NIC) that carries the echo.
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib.sh"
. "$here/lib_vmm_nic.sh"

require_env NFV_NFGUEST "nfguest not built"
require_env NFV_VMM "nfv-vmm not built"
require_root
require_kvm
require_cmd ip ping timeout python3
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
"$NFV_VMM" --help | grep -q 'vectors=0' || skip "this nfv-vmm has no --nic virtio,vectors=0"

# Unique names: namespace and taps carry this shell's PID (interface names
# are at most 15 characters).
ns=nfvi-$$
tap0=nfvi$$a
tap1=nfvi$$b
tap2=nfvi$$c
ip netns add "$ns" || skip "cannot create a network namespace"
on_exit "ip netns del $ns 2>/dev/null"
nsx() { ip netns exec "$ns" "$@"; }
nsx ip link set lo up
for t in "$tap0" "$tap1" "$tap2"; do
	nsx ip tuntap add "$t" mode tap || fail "cannot create tap $t"
	on_exit "ip netns exec $ns ip link del $t 2>/dev/null"
done

# --- bad arguments: status 2, one line naming the problem (run in the
# namespace, so that a wrongly accepted one touches nothing outside).
badnic "virtio,tap=x,vectors=3" "vectors=3: supported are 0 .* and 4" "$ns"
badnic "virtio,tap=x,queues=2,vectors=4" "vectors=4: supported are 0 .* and 6" "$ns"
badnic "e1000,tap=x,vectors=0" "vectors= is for virtio NICs" "$ns"
badnic "e1000,tap=x,event_idx=off" "event_idx= is for virtio NICs" "$ns"
badnic "virtio,tap=x,event_idx=maybe" "event_idx=maybe: must be on or off" "$ns"
badnic "virtio,tap=x,addr=0" "slot 0 is taken by the host bridge" "$ns"
badnic "e1000,tap=x,addr=32" "addr=32: out of range" "$ns"
badnic "virtio,tap=x,addr=3.1" "function 0" "$ns"
out=$(nsx timeout --kill-after=5 20 "$NFV_VMM" --kernel "$NFV_NFGUEST" --console none \
	--nic e1000,tap=x,addr=3 --nic virtio,tap=y,addr=0x3.0 2>&1 </dev/null)
st=$?
if [ "$st" -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] &&
	grep -q "PCI slot 3 is taken by NIC 0" <<<"$out"; then
	ok "badnic: two NICs with addr=3 -> status 2: $out"
else
	check_fail "badnic: two NICs with addr=3 -> status $st, output: $out"
fi

# stats_nics SOCK OUT: the control socket's "stats" answer, its NIC list
# as JSON in OUT (empty when there is none).
stats_nics()
{
	local r

	r=$(api "$1" '{"cmd":"stats"}')
	api_field "$r" 'json.dumps(r["result"]["nics"])' >"$2" 2>/dev/null || : >"$2"
}

# nic_field FILE INDEX PYEXPR: PYEXPR over NIC INDEX (`n`) of a stats_nics file.
nic_field()
{
	python3 -c 'import json,sys; n=json.load(open(sys.argv[1]))[int(sys.argv[2])]; print(eval(sys.argv[3]))' \
		"$1" "$2" "$3" 2>/dev/null
}

# expect_eq WHAT GOT WANT
expect_eq()
{
	if [ "$2" = "$3" ]; then
		ok "$1: $2"
	else
		check_fail "$1: $2 (expected $3)"
	fi
}

# expect_ge WHAT GOT MIN
expect_ge()
{
	if [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ]; then
		ok "$1: $2"
	else
		check_fail "$1: ${2:-nothing} (expected at least $3)"
	fi
}

# ping3 NAME TAP ADDR: 3 echo replies from ADDR through TAP, in the namespace.
ping3()
{
	if nsx ping -c 3 -W 5 -I "$2" "$3" >"$TEST_TMPDIR/$1.ping" 2>&1; then
		ok "$1: 3 echo replies through $2 ($(grep -o 'rtt.*' "$TEST_TMPDIR/$1.ping"))"
	else
		check_fail "$1: ping through $2 failed"
		sed 's/^/    /' "$TEST_TMPDIR/$1.ping"
	fi
}

# --- ping_intx: no MSI-X, no EVENT_IDX; tap0 holds 10.254.0.1/30, nfguest .2.
name=ping_intx
mac0=52:54:00:4e:49:01
nsx ip addr add 10.254.0.1/30 dev "$tap0"
nsx ip link set "$tap0" up
failures_before=$failures
vmm_start $name "$ns" --api "$TEST_TMPDIR/$name.sock" \
	--nic "virtio,tap=$tap0,mac=$mac0,vectors=0,event_idx=off" \
	--cmdline "nf=ping ip=10.254.0.2/30 irq=1 stats=0"
log=$TEST_TMPDIR/$name.log
if wait_for_pattern "$log" '^nfguest: ready nics=1$' 60; then
	ok "$name: nfguest ready with one NIC"
	expect_line "$log" \
		"^nfguest: virtio 00:[0-9a-f]{2}\.0: id=1af4:1041 features=.*version_1.* irq=intx$" \
		"$name: 1af4:1041, VERSION_1 negotiated, interrupts: intx"
	line=$(grep -a -E '^nfguest: virtio .* features=' "$log" | head -n 1)
	if [ -n "$line" ] && ! grep -q -E 'features=[^ ]*event_idx' <<<"$line"; then
		ok "$name: no event_idx among the features (${line##*features=})"
	else
		check_fail "$name: event_idx negotiated, or no features line: ${line:-none}"
	fi
	expect_line "$log" \
		"^nfguest: nic=0 kind=virtio pci=00:[0-9a-f]{2}\.0 mac=$mac0 queues=1 .*irq=1 link=up$" \
		"$name: virtio NIC with the given MAC, interrupts on, link up"
	expect_line "$TEST_TMPDIR/$name.err" "virtio\.0: .*no MSI-X \(INTx only\), no EVENT_IDX" \
		"$name: nfv-vmm made the NIC without MSI-X and EVENT_IDX"
	ping3 $name "$tap0" 10.254.0.2
	stats_nics "$TEST_TMPDIR/$name.sock" "$TEST_TMPDIR/$name.json"
	if [ -s "$TEST_TMPDIR/$name.json" ]; then
		# Every MSI-X interrupt goes through msix_raise, which counts it as
		# irqfd_irqs or msi_fallback_irqs: both 0 with interrupts raised means
		# they all went out as INTx.
		expect_eq "$name: stats irqfd_irqs" \
			"$(nic_field "$TEST_TMPDIR/$name.json" 0 'n["irqfd_irqs"]')" 0
		expect_eq "$name: stats msi_fallback_irqs" \
			"$(nic_field "$TEST_TMPDIR/$name.json" 0 'n["msi_fallback_irqs"]')" 0
		expect_ge "$name: stats model irqs (all INTx)" \
			"$(nic_field "$TEST_TMPDIR/$name.json" 0 'n["model"]["irqs"]')" 3
		expect_ge "$name: stats rx_irqs of pair 0" \
			"$(nic_field "$TEST_TMPDIR/$name.json" 0 'n["per_queue"][0]["rx_irqs"]')" 1
		expect_ge "$name: stats model tx_frames (ARP and echo replies)" \
			"$(nic_field "$TEST_TMPDIR/$name.json" 0 'n["model"]["tx_frames"]')" 3
	else
		check_fail "$name: no stats answer from the control socket"
	fi
else
	check_fail "$name: no ready line within 60 s"
fi
kill_pid "$vpid" 5
[ "$failures" -eq "$failures_before" ] || show_vmm $name
nsx ip addr flush dev "$tap0"

# --- ping_intx_shared: e1000 in slot 3 on tap1, virtio (vectors=0) in slot
# 11 on tap2; both slots map to GSI 19. nfguest holds 10.254.1.2/24 on both
# NICs; tap1 is 10.254.1.1, tap2 10.254.1.3. Reverse-path filtering would
# drop the replies that arrive on the tap that is not the route's.
name=ping_intx_shared
mac1=52:54:00:4e:49:11
mac2=52:54:00:4e:49:12
for t in all default "$tap1" "$tap2"; do
	nsx sysctl -q -w "net.ipv4.conf.$t.rp_filter=0" >/dev/null
done
nsx ip addr add 10.254.1.1/24 dev "$tap1"
nsx ip addr add 10.254.1.3/24 dev "$tap2"
nsx ip link set "$tap1" up
nsx ip link set "$tap2" up
failures_before=$failures
vmm_start $name "$ns" --api "$TEST_TMPDIR/$name.sock" \
	--nic "e1000,tap=$tap1,mac=$mac1,addr=3" \
	--nic "virtio,tap=$tap2,mac=$mac2,addr=11,vectors=0" \
	--cmdline "nf=ping ip=10.254.1.2/24 irq=1 stats=0"
log=$TEST_TMPDIR/$name.log
err=$TEST_TMPDIR/$name.err
if wait_for_pattern "$log" '^nfguest: ready nics=2$' 60; then
	ok "$name: nfguest ready with two NICs"
	expect_line "$log" "^nfguest: nic=0 kind=e1000 pci=00:03\.0 mac=$mac1 .*irq=1 link=up$" \
		"$name: e1000 in slot 3 on INTx"
	expect_line "$log" "^nfguest: nic=1 kind=virtio pci=00:0b\.0 mac=$mac2 .*irq=1 link=up$" \
		"$name: virtio in slot 11 on INTx"
	expect_line "$log" "^nfguest: virtio 00:0b\.0: .* irq=intx$" "$name: virtio through INTx"
	expect_line "$err" "e1000\.0: PCI 00:03\.0, INTx GSI 19," "$name: nfv-vmm: e1000 on GSI 19"
	expect_line "$err" "virtio\.1: PCI 00:0b\.0, INTx GSI 19,.*no MSI-X" \
		"$name: nfv-vmm: virtio on GSI 19, no MSI-X"
	stats_nics "$TEST_TMPDIR/$name.sock" "$TEST_TMPDIR/$name.before.json"
	# Both at once: the two NICs raise the shared line in the same moments.
	# (ip netns exec execs ping: $! is ping itself.)
	ip netns exec "$ns" ping -c 3 -W 5 -I "$tap1" 10.254.1.2 \
		>"$TEST_TMPDIR/${name}_e1000.ping" 2>&1 &
	p1=$!
	ip netns exec "$ns" ping -c 3 -W 5 -I "$tap2" 10.254.1.2 \
		>"$TEST_TMPDIR/${name}_virtio.ping" 2>&1 &
	p2=$!
	for p in "$p1:e1000:$tap1" "$p2:virtio:$tap2"; do
		IFS=: read -r pid kind t <<<"$p"
		if wait_pid "$pid" 30; then
			ok "$name: 3 echo replies from the $kind NIC through $t" \
				"($(grep -o 'rtt.*' "$TEST_TMPDIR/${name}_$kind.ping"))"
		else
			kill_pid "$pid" 1
			check_fail "$name: ping through $t ($kind) failed"
			sed 's/^/    /' "$TEST_TMPDIR/${name}_$kind.ping"
		fi
	done
	stats_nics "$TEST_TMPDIR/$name.sock" "$TEST_TMPDIR/$name.json"
	j=$TEST_TMPDIR/$name.json
	if [ -s "$j" ] && [ -s "$TEST_TMPDIR/$name.before.json" ]; then
		g0=$(nic_field "$j" 0 'n["gsi"]')
		g1=$(nic_field "$j" 1 'n["gsi"]')
		expect_eq "$name: stats e1000.0 pci, gsi" "$(nic_field "$j" 0 'n["pci"]') $g0" \
			"00:03.0 19"
		expect_eq "$name: stats virtio.1 pci, gsi" "$(nic_field "$j" 1 'n["pci"]') $g1" \
			"00:0b.0 19"
		# Each NIC sent its own replies: at least the 3 echo replies since
		# before the pings (ARP replies may come on top).
		for i in 0 1; do
			before=$(nic_field "$TEST_TMPDIR/$name.before.json" $i 'n["model"]["tx_frames"]')
			after=$(nic_field "$j" $i 'n["model"]["tx_frames"]')
			expect_ge "$name: stats $(nic_field "$j" $i 'n["name"]') tx_frames during the pings" \
				$((${after:-0} - ${before:-0})) 3
			expect_ge "$name: stats $(nic_field "$j" $i 'n["name"]') irqs" \
				"$(nic_field "$j" $i 'n["model"]["irqs"]')" 1
		done
		expect_eq "$name: stats virtio.1 irqfd_irqs + msi_fallback_irqs" \
			"$(nic_field "$j" 1 'n["irqfd_irqs"] + n["msi_fallback_irqs"]')" 0
	else
		check_fail "$name: no stats answer from the control socket"
	fi
else
	check_fail "$name: no ready line within 60 s"
fi
kill_pid "$vpid" 5
[ "$failures" -eq "$failures_before" ] || show_vmm $name

finish
