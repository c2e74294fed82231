#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# More of nfv-switchd with real frames (af_packet and af_xdp ports on veth
# pairs, swpkt.py in private network namespaces):
#
# Per-VLAN policer: trunk port pt1 (VLANs 10 and 20) has a policer on VLAN
# 20 only (srTCM, CIR 1 Mbit/s: 125 frames/s of 1000 bytes, CBS 20 kB, EBS
# 2 kB). VLAN 20 and VLAN 10 are each offered 250 frames/s for 4 s at the
# same time: VLAN 20 is delivered at its CIR within 10 % (the frames the
# two buckets held subtracted), VLAN 10 whole; the red frames are counted
# as policer drops. Then a port-level policer set at run time (`port set
# pt1 policer=srtcm,cir=1.5mbit,...`) holds VLAN 10 (offered 375 frames/s)
# to its new CIR within 10 %, and `policer=none` lets everything pass again.
#
# Static FDB entries and a mirror to a port: static entries from the
# configuration file and from `fdb add` send unicast to their port only and
# do not move when the MAC shows up elsewhere; `mirror add m pt2 both
# port=pmon` copies to pmon (alone in its own bridge) exactly the frames
# that cross pt2, both ways, whole; `mirror del` stops it.
#
# Two polling threads (pmd-cores "0,1"): `show` lists two; stations seen on
# ports polled by different threads (RX queues go to the threads in turn:
# pa and pc to the first, pb to the second) learn into one FDB, and unicast
# then reaches only its port, both ways, counted exactly. The switch's
# control thread shares a CPU with a polling thread: a few frames only.
# (Two queue pairs per port to vhost-user peers: test_switch_vhost.sh, mq.)
#
# af_xdp: an af_xdp port on one veth and an af_packet port on another;
# frames cross both ways, counted exactly and whole, and no XDP program is
# left on the veth after the switch stopped; a second af_xdp port asking for
# 2 queues on a veth (1 for net_af_xdp) is refused with that reason. When the net_af_xdp driver
# cannot attach to the veth, that part is left out with the switch's reason.
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib_switch.sh"

sw_init
t_start=$SECONDS

T1=02:00:00:00:0f:01
T2=02:00:00:00:0f:02
TX=02:00:00:00:0f:03
S1=02:00:00:00:0f:11
BCAST=ff:ff:ff:ff:ff:ff

for h in t1 t2 x mon; do
	sw_host $h
done

cfg=$TEST_TMPDIR/more.yaml
cat >"$cfg" <<EOF
switch:
  mbufs: 8192
bridges:
  - name: br0
    static:
      - { mac: "$T2", vlan: 10, port: pt2 }
      - { mac: "$T2", vlan: 20, port: pt2 }
      - { mac: "$T1", vlan: 10, port: pt1 }
    ports:
      - name: pt1
        type: af_packet
        iface: $(sw_if t1)
        vlan: { trunks: "10,20" }
        vlan-policers:
          - { vlan: 20, type: srtcm, cir: 1mbit, cbs: 20kB, ebs: 2kB }
      - { name: pt2, type: af_packet, iface: $(sw_if t2), vlan: { trunks: "10,20" } }
      - { name: px, type: af_packet, iface: $(sw_if x), vlan: { trunks: "10,20" } }
  - name: br1
    ports:
      - { name: pmon, type: af_packet, iface: $(sw_if mon) }
EOF
sw_start "$TEST_TMPDIR/switchd.out" --config "$cfg" || fail "nfv-switchd did not start"
ok "nfv-switchd started with a VLAN policer on trunk pt1"

within()
{
	awk -v v="$1" -v t="$2" -v p="$3" 'BEGIN { d = v - t; if (d < 0) d = -d; exit !(d <= t * p / 100) }'
}

# rate_expect RATE TARGET DESC
rate_expect()
{
	if within "$1" "$2" 10; then
		ok "$3: $1 frames/s (target $2 +-10 %)"
	else
		check_fail "$3: $1 frames/s, expected $2 +-10 %"
	fi
}

# ---- per-VLAN policer ----
swjson port show pt1 | jq -e '.result.vlan_policers | length == 1 and .[0].vlan == 20' >/dev/null &&
	ok "port show pt1 lists the policer of VLAN 20" ||
	check_fail "pt1 vlan_policers: $(swjson port show pt1 | jq -c .result.vlan_policers)"
# 1000-byte tagged frames: 18 bytes of header and tag, 982 of payload.
cap_start c_t2 t2 --window 1.0,3.5
out=$(pkt_send t1 --src $T1 --dst $T2 --size 982 \
	--stream vlan=20,count=1000,rate=250,marker=v20 \
	--stream vlan=10,count=1000,rate=250,marker=v10) || check_fail "send t1"
cap_wait "$c_t2"
echo "sender: $out"
elapsed=$(echo "$out" | jq -r .elapsed)
echo "received $(jq -c .by_marker "$c_t2"), in the window $(jq -c .window_by_marker "$c_t2")"
v20=$(cap_get "$c_t2" '.by_marker.v20 // 0')
v10=$(cap_get "$c_t2" '.by_marker.v10 // 0')
w20=$(cap_get "$c_t2" '.window_by_marker.v20 // 0')
rate_expect "$(awk -v n="$w20" 'BEGIN { printf "%.1f", n / 2.5 }')" 125 \
	"VLAN 20 (offered 250 frames/s) over the steady part"
# The buckets held 22 frames (20 kB + 2 kB) at the start.
rate_expect "$(awk -v n="$v20" -v e="$elapsed" 'BEGIN { printf "%.1f", (n - 22) / e }')" 125 \
	"VLAN 20 in all ($v20 frames in $elapsed s, the 22 of the buckets subtracted)"
cap_expect "$c_t2" '[.by_marker.v10, .seqs.v10.missing]' '[1000,0]' \
	"VLAN 10 (no policer) delivered whole at the same time"
cap_expect "$c_t2" '[.bad_payload, .vids["10"], .vids["20"]]' "[0,1000,$v20]" \
	"frames intact, on their VLANs"
pol=$(swjson port show pt1 | jq -c '.result | [.stats.rx_packets, .stats.drops.policer, .policer]')
echo "pt1 rx, drops.policer, port policer: $pol"
echo "$pol" | jq -e --argjson d "$((1000 - v20))" '.[0] == 2000 and .[1] == $d and .[2] == null' \
	>/dev/null && ok "pt1: 2000 received, $((1000 - v20)) red frames of VLAN 20 counted as policer drops" ||
	check_fail "pt1 counters $pol (expected 2000 received, $((1000 - v20)) policer drops)"

# ---- port policer at run time ----
swctl stats clear >/dev/null || check_fail "stats clear"
out=$(swctl port set pt1 policer=srtcm,cir=1.5mbit,cbs=20kB,ebs=2kB 2>&1) &&
	ok "port set pt1 policer=srtcm,cir=1.5mbit,cbs=20kB,ebs=2kB" ||
	check_fail "port set pt1 policer=...: $out"
sw_expect pt1 '.policer.type' srtcm "port show pt1 has the new policer"
cap_start c_t2 t2 --window 1.0,3.0 --marker p10
out=$(pkt_send t1 --src $T1 --dst $T2 --vlan 10 --size 982 --count 1200 --rate 375 --marker p10) ||
	check_fail "send t1"
cap_wait "$c_t2"
echo "sender: $out"
elapsed=$(echo "$out" | jq -r .elapsed)
got=$(cap_get "$c_t2" .count)
win=$(cap_get "$c_t2" .window_count)
echo "port policer: delivered $got, $win in the 2 s window"
rate_expect "$(awk -v n="$win" 'BEGIN { printf "%.1f", n / 2.0 }')" 187.5 \
	"VLAN 10 under the new port policer (CIR 1.5 Mbit/s, offered 375 frames/s)"
rate_expect "$(awk -v n="$got" -v e="$elapsed" 'BEGIN { printf "%.1f", (n - 22) / e }')" 187.5 \
	"... in all ($got frames in $elapsed s, the buckets subtracted)"
pol=$(swjson port show pt1 | jq -c '.result | [.policer.green + .policer.yellow, .policer.red, .stats.drops.policer]')
echo "$pol" | jq -e --argjson g "$got" '.[0] == $g and .[1] == 1200 - $g and .[2] == .[1]' >/dev/null &&
	ok "pt1's policer: green + yellow = $got delivered, red = policer drops = $((1200 - got))" ||
	check_fail "pt1 policer counters $pol (delivered $got of 1200)"
out=$(swctl port set pt1 policer=none 2>&1) && ok "port set pt1 policer=none" ||
	check_fail "port set pt1 policer=none: $out"
sw_expect pt1 '.policer' null "pt1 has no port policer"
cap_start c_t2 t2 --marker free
pkt_send t1 --src $T1 --dst $T2 --vlan 10 --size 982 --count 500 --rate 375 --marker free >/dev/null ||
	check_fail "send t1"
cap_wait "$c_t2"
cap_expect "$c_t2" '[.count, .seqs.free.missing]' '[500,0]' \
	"without the port policer all 500 frames at 375 frames/s pass"

# ---- static FDB entries ----
fdb=$(swjson fdb show br0)
echo "$fdb" | jq -e --arg m "$T2" \
	'[.result.entries[] | select(.mac == $m and .port == "pt2" and .static == true)] | length == 2' \
	>/dev/null && ok "the configuration's static entries of T2 (VLANs 10, 20) are listed as static" ||
	check_fail "fdb show br0: $(echo "$fdb" | jq -c .result.entries)"
out=$(swctl fdb add br0 $S1 20 px 2>&1) && ok "fdb add br0 $S1 20 px" || check_fail "fdb add: $out"
cap_start c_x x --marker st
cap_start c_t2 t2 --marker st
pkt_send t1 --src $T1 --dst $S1 --vlan 20 --count 5 --marker st >/dev/null || check_fail "send t1"
# S1 shows up on pt2: a static entry does not move.
pkt_send t2 --src $S1 --dst $BCAST --vlan 20 --count 1 --marker stmove >/dev/null || check_fail "send t2"
pkt_send t1 --src $T1 --dst $S1 --vlan 20 --count 3 --marker st >/dev/null || check_fail "send t1"
cap_wait "$c_x" "$c_t2"
cap_expect "$c_x" '[.count, .vids["20"]]' '[8,8]' "unicast to the static S1 reaches px only, 8 frames"
cap_expect "$c_t2" .count 0 "... none reaches pt2, not even after S1 was seen on pt2"
[ "$(sw_fdb_port br0 $S1 20)" = px ] && ok "S1 stays on px (static)" ||
	check_fail "S1 is on '$(sw_fdb_port br0 $S1 20)', expected px"

# ---- mirror to a port ----
out=$(swctl mirror add m pt2 both port=pmon 2>&1) && ok "mirror add m pt2 both port=pmon" ||
	check_fail "mirror add m: $out"
swjson mirror show | jq -e '.result.mirrors | length == 1 and .[0].port == "pt2" and .[0].to_port == "pmon"' \
	>/dev/null && ok "mirror show lists m (pt2 to pmon)" || check_fail "mirror show: $(swjson mirror show)"
cap_start c_mon mon
cap_start c_t1 t1 --marker mtx
pkt_send t1 --src $T1 --dst $T2 --vlan 10 --size 200 --count 7 --marker mrx >/dev/null || check_fail "send t1"
pkt_send t2 --src $T2 --dst $T1 --vlan 10 --size 300 --count 4 --marker mtx >/dev/null || check_fail "send t2"
pkt_send x --src $TX --dst $T1 --vlan 10 --count 6 --marker mother >/dev/null || check_fail "send x"
cap_wait "$c_mon" "$c_t1"
echo "pmon received $(jq -c '[.count, .by_marker, .vids, .sizes, .other]' "$c_mon")"
cap_expect "$c_t1" .count 4 "T2's 4 frames reached pt1 (T1 static)"
cap_expect "$c_mon" '[.count, .by_marker.mrx, .by_marker.mtx, .by_marker.mother, .bad_payload, .other]' \
	'[11,7,4,null,0,0]' "pmon got exactly the 11 frames that crossed pt2 (7 sent, 4 received), whole"
cap_expect "$c_mon" '[.vids["10"], .sizes]' '[11,[218,318]]' "... as they were on pt2, tagged 10"
m=$(swjson mirror show | jq -c '.result.mirrors[0] | [.mirrored, .dropped]')
[ "$m" = "[11,0]" ] && ok "mirror m: 11 copied, none dropped" || check_fail "mirror m counters $m"
out=$(swctl mirror del m 2>&1) && ok "mirror del m" || check_fail "mirror del m: $out"
cap_start c_mon mon
pkt_send t1 --src $T1 --dst $T2 --vlan 10 --count 5 --marker after >/dev/null || check_fail "send t1"
cap_wait "$c_mon"
cap_expect "$c_mon" .count 0 "after mirror del, pmon gets nothing"

pid_alive "$sw_pid" && ok "nfv-switchd still running" || check_fail "nfv-switchd died"
sw_stop
[ "$sw_status" = 0 ] && ok "nfv-switchd stopped cleanly on SIGTERM" ||
	check_fail "nfv-switchd exit status $sw_status on SIGTERM"
echo "time (policers, static FDB, mirror): $((SECONDS - t_start)) s"

# ---- two polling threads ----
t2_start=$SECONDS
if [ "$(nproc)" -lt 2 ]; then
	echo "skip: two polling threads need 2 CPUs ($(nproc) here)"
else
	cfg2=$TEST_TMPDIR/pmd2.yaml
	cat >"$cfg2" <<EOF
switch:
  mbufs: 8192
  pmd-cores: "0,1"
bridges:
  - name: br0
    ports:
      - { name: pa, type: af_packet, iface: $(sw_if t1) }
      - { name: pb, type: af_packet, iface: $(sw_if t2) }
      - { name: pc, type: af_packet, iface: $(sw_if x) }
EOF
	if sw_start "$TEST_TMPDIR/switchd2.out" --config "$cfg2"; then
		ok "nfv-switchd started with pmd-cores 0,1"
		cap_expect <(swjson show) '.result.switch.pmd_lcores | length' 2 "show reports 2 polling threads"
		pkt_send t1 --src $T1 --dst $BCAST --marker learn >/dev/null || check_fail "send t1"
		pkt_send t2 --src $T2 --dst $BCAST --marker learn >/dev/null || check_fail "send t2"
		pkt_send x --src $TX --dst $BCAST --marker learn >/dev/null || check_fail "send x"
		fp="$(sw_fdb_port br0 $T1) $(sw_fdb_port br0 $T2) $(sw_fdb_port br0 $TX)"
		[ "$fp" = "pa pb pc" ] && ok "one FDB learned T1 on pa, T2 on pb, TX on pc" ||
			check_fail "FDB ports of T1 T2 TX: '$fp'"
		cap_start c_t1 t1 --marker uc
		cap_start c_t2 t2 --marker uc
		cap_start c_x x --marker uc
		pkt_send t1 --src $T1 --dst $T2 --count 50 --marker uc >/dev/null || check_fail "send t1"
		pkt_send t2 --src $T2 --dst $T1 --count 30 --marker uc >/dev/null || check_fail "send t2"
		pkt_send x --src $TX --dst $T2 --count 20 --marker uc >/dev/null || check_fail "send x"
		cap_wait "$c_t1" "$c_t2" "$c_x"
		cap_expect "$c_t2" '[.count, .bad_payload]' '[70,0]' "pb got the 70 unicast frames for T2"
		cap_expect "$c_t1" .count 30 "pa got the 30 for T1"
		cap_expect "$c_x" .count 0 "pc got none of them (no flooding once learned)"
		fl=$(swjson show | jq -c '[.result.ports[].stats.flood_packets]' 2>/dev/null)
		echo "flood_packets per port: $fl"
		sw_stop
		[ "$sw_status" = 0 ] && ok "nfv-switchd (2 threads) stopped cleanly" ||
			check_fail "nfv-switchd (2 threads) exit status $sw_status"
	else
		check_fail "nfv-switchd did not start with pmd-cores 0,1"
	fi
fi
echo "time (two polling threads): $((SECONDS - t2_start)) s"

# ---- af_xdp ----
t3_start=$SECONDS
# The XDP socket's UMEM is locked memory (charged to the memory cgroup on
# recent kernels, to RLIMIT_MEMLOCK on older ones).
ulimit -l unlimited 2>/dev/null || echo "note: locked-memory limit stays $(ulimit -l) kB"
xif=$(sw_if t1)
cfg3=$TEST_TMPDIR/xdp.yaml
cat >"$cfg3" <<EOF
switch:
  mbufs: 8192
bridges:
  - name: br0
    ports:
      - { name: px0, type: af_xdp, iface: $xif }
      - { name: pp0, type: af_packet, iface: $(sw_if t2) }
EOF
if sw_start "$TEST_TMPDIR/switchd3.out" --config "$cfg3"; then
	ok "nfv-switchd started with an af_xdp port on $xif"
	sw_expect px0 .type af_xdp "px0 is an af_xdp port"
	pkt_send t1 --src $T1 --dst $BCAST --marker learn >/dev/null || check_fail "send t1"
	pkt_send t2 --src $T2 --dst $BCAST --marker learn >/dev/null || check_fail "send t2"
	cap_start c_t1 t1 --marker xd
	cap_start c_t2 t2 --marker xd
	pkt_send t1 --src $T1 --dst $T2 --count 40 --size 500 --marker xd >/dev/null || check_fail "send t1"
	pkt_send t2 --src $T2 --dst $T1 --count 25 --size 700 --marker xd >/dev/null || check_fail "send t2"
	cap_wait "$c_t1" "$c_t2"
	cap_expect "$c_t2" '[.count, .bad_payload, .seqs.xd.missing]' '[40,0,0]' \
		"af_xdp -> af_packet: 40 frames, whole"
	cap_expect "$c_t1" '[.count, .bad_payload, .seqs.xd.missing]' '[25,0,0]' \
		"af_packet -> af_xdp: 25 frames, whole"
	sw_expect px0 '[.stats.rx_packets, .stats.tx_packets]' '[41,26]' \
		"px0 counted 41 received, 26 sent"
	# A veth has no combined channels: net_af_xdp sees 1 queue there.
	out=$(swctl port add br0 "af_xdp:$(sw_if x),queues=2,name=pxq" 2>&1)
	st=$?
	if [ $st -eq 1 ] && grep -q "queues=2 but $(sw_if x) has 1 combined queue" <<<"$out"; then
		ok "an af_xdp port with 2 queues on a veth is refused, saying why: $out"
	else
		check_fail "port add af_xdp with queues=2 on a veth: status $st, '$out'"
	fi
	swjson show | jq -e '[.result.ports[].name] == ["px0","pp0"]' >/dev/null &&
		ok "the refused port left the port list as it was" ||
		check_fail "ports after the refused af_xdp port: $(swjson show | jq -c '[.result.ports[].name]')"
	sw_stop
	[ "$sw_status" = 0 ] && ok "nfv-switchd (af_xdp) stopped cleanly" ||
		check_fail "nfv-switchd (af_xdp) exit status $sw_status"
	ip -d link show "$xif" | grep -q -E 'prog/xdp|xdpgeneric|xdp[ /]' &&
		check_fail "an XDP program is still attached to $xif: $(ip -d link show "$xif" | grep -i xdp)" ||
		ok "no XDP program left on $xif"
else
	why=$(grep -m1 -E 'port px0' "$TEST_TMPDIR/switchd3.out")
	echo "skip: af_xdp part: the switch cannot open an af_xdp port on a veth here: ${why:-see above}"
	grep -i -E 'xdp|bpf' "$TEST_TMPDIR/switchd3.out" | head -n 8 | sed 's/^/    /'
fi
echo "time (af_xdp): $((SECONDS - t3_start)) s"
echo "time: $((SECONDS - t_start)) s"
finish
