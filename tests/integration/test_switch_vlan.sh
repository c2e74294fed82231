#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# nfv-switchd's VLANs and MTUs with real frames (af_packet ports on veth
# pairs, swpkt.py in private network namespaces).
#
# Bridge br0: access ports pa1 and pa2 in VLAN 10, pb1 in VLAN 20, pn1 in
# VLAN 30; trunk pt1 (10,20, native 30 untagged) and trunk pt2 (10,20,30,
# native 30 tagged). VLANs 10 and 20 never see each other's broadcasts or
# unicasts; trunks carry VLAN 10 tagged 10 and VLAN 20 tagged 20; the PCP
# of a tagged frame into one trunk is kept out of the other; untagged
# frames from pt1 enter VLAN 30 (pn1 untagged, pt2 tagged 30); a priority
# tag on an access port enters its VLAN with its PCP; tagged frames on an
# access port and a VID a trunk does not carry are dropped and counted.
# Bridge br1: pj1 and pj2 with MTU 9000 on veths of MTU 9000, ps1 with
# MTU 1500 (its veth has MTU 9000, so only the switch can refuse): 9000-
# byte payloads cross intact, frames above 1500 are dropped at ps1 in both
# directions and counted (never truncated), 1500 passes and 1501 does not;
# pj2 deleted and added again at run time still carries jumbo frames.
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib_switch.sh"

sw_init
t_start=$SECONDS

A1=02:00:00:00:10:01
B1=02:00:00:00:20:01
T1=02:00:00:00:f0:01
J1=02:00:00:00:90:01
S1=02:00:00:00:90:05
BCAST=ff:ff:ff:ff:ff:ff

for h in a1 a2 b1 n1 t1 t2; do
	sw_host $h
done
sw_host j1 9000
sw_host j2 9000
sw_host s1 9000

cfg=$TEST_TMPDIR/vlan.yaml
cat >"$cfg" <<EOF
switch:
  mbufs: 8192
bridges:
  - name: br0
    ports:
      - { name: pa1, type: af_packet, iface: $(sw_if a1), vlan: { mode: access, tag: 10 } }
      - { name: pa2, type: af_packet, iface: $(sw_if a2), vlan: { mode: access, tag: 10 } }
      - { name: pb1, type: af_packet, iface: $(sw_if b1), vlan: { mode: access, tag: 20 } }
      - { name: pn1, type: af_packet, iface: $(sw_if n1), vlan: { mode: access, tag: 30 } }
      - name: pt1
        type: af_packet
        iface: $(sw_if t1)
        vlan: { mode: trunk, trunks: "10,20", native: 30 }
      - name: pt2
        type: af_packet
        iface: $(sw_if t2)
        vlan: { mode: trunk, trunks: "10,20,30", native: 30, native-tagged: true }
  - name: br1
    ports:
      - { name: pj1, type: af_packet, iface: $(sw_if j1), mtu: 9000 }
      - { name: pj2, type: af_packet, iface: $(sw_if j2), mtu: 9000 }
      - { name: ps1, type: af_packet, iface: $(sw_if s1), mtu: 1500 }
EOF
sw_start "$TEST_TMPDIR/switchd.out" --config "$cfg" || fail "nfv-switchd did not start"
ok "nfv-switchd started: 6 VLAN ports on br0, 3 ports with MTUs 9000/9000/1500 on br1"

# ---- VLAN 10 and VLAN 20 broadcasts ----
cap_start c_a2 a2 --marker v10b
cap_start c_b1 b1 --marker v10b
cap_start c_n1 n1 --marker v10b
cap_start c_t1 t1 --marker v10b
cap_start c_t2 t2 --marker v10b
pkt_send a1 --src $A1 --dst $BCAST --count 3 --marker v10b >/dev/null || check_fail "send a1"
cap_wait "$c_a2" "$c_b1" "$c_n1" "$c_t1" "$c_t2"
cap_expect "$c_a2" '[.count, .untagged]' '[3,3]' "VLAN 10 broadcast reaches the other VLAN 10 access port untagged"
cap_expect "$c_t1" '[.count, .vids]' '[3,{"10":3}]' "... and trunk pt1 tagged 10"
cap_expect "$c_t2" '[.count, .vids]' '[3,{"10":3}]' "... and trunk pt2 tagged 10"
cap_expect "$c_b1" .count 0 "... but not VLAN 20's access port"
cap_expect "$c_n1" .count 0 "... nor VLAN 30's"

cap_start c_a1 a1 --marker v20b
cap_start c_a2 a2 --marker v20b
cap_start c_n1 n1 --marker v20b
cap_start c_t1 t1 --marker v20b
cap_start c_t2 t2 --marker v20b
pkt_send b1 --src $B1 --dst $BCAST --count 3 --marker v20b >/dev/null || check_fail "send b1"
cap_wait "$c_a1" "$c_a2" "$c_n1" "$c_t1" "$c_t2"
cap_expect "$c_t1" '[.count, .vids]' '[3,{"20":3}]' "VLAN 20 broadcast leaves trunk pt1 tagged 20"
cap_expect "$c_t2" '[.count, .vids]' '[3,{"20":3}]' "... and trunk pt2 tagged 20"
cap_expect "$c_a1" .count 0 "... and reaches neither VLAN 10 access port (pa1)"
cap_expect "$c_a2" .count 0 "... (pa2)"
cap_expect "$c_n1" .count 0 "... nor VLAN 30"

# ---- unicast across VLANs ----
[ "$(sw_fdb_port br0 $B1 20)" = pb1 ] && ok "B1 learned in VLAN 20 on pb1" ||
	check_fail "B1 not learned in VLAN 20 on pb1: $(swjson fdb show br0)"
[ "$(sw_fdb_port br0 $A1 10)" = pa1 ] && ok "A1 learned in VLAN 10 on pa1" ||
	check_fail "A1 not learned in VLAN 10 on pa1: $(swjson fdb show br0)"
cap_start c_b1 b1 --marker v10u
cap_start c_a2 a2 --marker v10u
cap_start c_t1 t1 --marker v10u
pkt_send a1 --src $A1 --dst $B1 --count 3 --marker v10u >/dev/null || check_fail "send a1"
cap_wait "$c_b1" "$c_a2" "$c_t1"
cap_expect "$c_b1" .count 0 "unicast from VLAN 10 to B1's MAC (known in VLAN 20) does not reach B1"
cap_expect "$c_a2" .count 3 "... it is flooded inside VLAN 10 (pa2)"
cap_expect "$c_t1" .vids '{"10":3}' "... (pt1, tagged 10)"

cap_start c_a1 a1 --marker v20u
cap_start c_a2 a2 --marker v20u
cap_start c_t1 t1 --marker v20u
pkt_send b1 --src $B1 --dst $A1 --count 3 --marker v20u >/dev/null || check_fail "send b1"
cap_wait "$c_a1" "$c_a2" "$c_t1"
cap_expect "$c_a1" .count 0 "unicast from VLAN 20 to A1's MAC (known in VLAN 10) does not reach A1"
cap_expect "$c_a2" .count 0 "... nor pa2"
cap_expect "$c_t1" .vids '{"20":3}' "... it is flooded inside VLAN 20 (pt1, tagged 20)"

# ---- PCP kept from trunk to trunk ----
cap_start c_t2 t2 --marker pcp
cap_start c_a1 a1 --marker pcp
cap_start c_b1 b1 --marker pcp
pkt_send t1 --src $T1 --dst $BCAST --vlan 10 --pcp 5 --count 3 --marker pcp >/dev/null ||
	check_fail "send t1"
pkt_send t1 --src $T1 --dst $BCAST --vlan 20 --pcp 3 --count 2 --marker pcp >/dev/null ||
	check_fail "send t1"
cap_wait "$c_t2" "$c_a1" "$c_b1"
cap_expect "$c_t2" '[.vids, .pcps]' '[{"10":3,"20":2},{"3":2,"5":3}]' \
	"tagged frames from pt1 leave pt2 with their VID and PCP (10/5 x3, 20/3 x2)"
cap_expect "$c_a1" '[.count, .untagged]' '[3,3]' "VLAN 10 frames from the trunk reach pa1 untagged"
cap_expect "$c_b1" '[.count, .untagged]' '[2,2]' "VLAN 20 frames from the trunk reach pb1 untagged"

# ---- priority tag on an access port ----
cap_start c_t1 t1 --marker prio
cap_start c_a2 a2 --marker prio
pkt_send a1 --src $A1 --dst $BCAST --vlan 0 --pcp 6 --count 2 --marker prio >/dev/null ||
	check_fail "send a1"
cap_wait "$c_t1" "$c_a2"
cap_expect "$c_t1" '[.vids, .pcps]' '[{"10":2},{"6":2}]' \
	"a priority-tagged frame (VID 0, PCP 6) on pa1 enters VLAN 10 and keeps PCP 6"
cap_expect "$c_a2" '[.count, .untagged]' '[2,2]' "... and reaches pa2 untagged"

# ---- native VLAN ----
cap_start c_n1 n1 --marker native
cap_start c_t2 t2 --marker native
cap_start c_a1 a1 --marker native
cap_start c_b1 b1 --marker native
pkt_send t1 --src $T1 --dst $BCAST --count 3 --marker native >/dev/null || check_fail "send t1"
cap_wait "$c_n1" "$c_t2" "$c_a1" "$c_b1"
cap_expect "$c_n1" '[.count, .untagged]' '[3,3]' "untagged frames from pt1 enter native VLAN 30 (pn1, untagged)"
cap_expect "$c_t2" '[.count, .vids]' '[3,{"30":3}]' "... and leave the native-tagged trunk pt2 tagged 30"
cap_expect "$c_a1" .count 0 "... and stay out of VLAN 10"
cap_expect "$c_b1" .count 0 "... and VLAN 20"

cap_start c_t1 t1 --marker native2
pkt_send n1 --src 02:00:00:00:30:01 --dst $BCAST --count 2 --marker native2 >/dev/null ||
	check_fail "send n1"
cap_wait "$c_t1"
cap_expect "$c_t1" '[.count, .untagged]' '[2,2]' "VLAN 30 frames leave pt1 (native 30, not tagged) untagged"

# ---- refused tags ----
d_a1=$(sw_port_stat pa1 .stats.drops.vlan)
d_t1=$(sw_port_stat pt1 .stats.drops.vlan)
cap_start c_a2 a2 --marker badtag
cap_start c_b1 b1 --marker badtag
cap_start c_t1 t1 --marker badtag
cap_start c_t2 t2 --marker badtag
cap_start c_n1 n1 --marker badtag
pkt_send a1 --src $A1 --dst $BCAST --vlan 20 --count 2 --marker badtag >/dev/null ||
	check_fail "send a1"
pkt_send a1 --src $A1 --dst $BCAST --vlan 10 --count 2 --marker badtag >/dev/null ||
	check_fail "send a1"
pkt_send t1 --src $T1 --dst $BCAST --vlan 99 --count 3 --marker badtag >/dev/null ||
	check_fail "send t1"
pkt_send t1 --src $T1 --dst $BCAST --vlan 30 --count 1 --marker badtag >/dev/null ||
	check_fail "send t1"
cap_wait "$c_a2" "$c_b1" "$c_t1" "$c_t2" "$c_n1"
for c in "$c_a2" "$c_b1" "$c_t1" "$c_t2" "$c_n1"; do
	cap_expect "$c" .count 0 "refused tagged frames reach no port ($(basename "$c" .json | cut -d. -f2))"
done
sw_expect pa1 .stats.drops.vlan $((d_a1 + 4)) "tagged frames (VID 20 and 10) on access port pa1: 4 counted as vlan drops"
sw_expect pt1 .stats.drops.vlan $((d_t1 + 4)) "VIDs 99 and 30 (not carried) on trunk pt1: 4 counted as vlan drops"
[ "$(sw_fdb_port br0 $T1 99)" = "" ] && ok "nothing learned in VLAN 99" ||
	check_fail "a dropped frame was learned in VLAN 99"

# ---- MTU (br1) ----
d_s1=$(sw_port_stat ps1 .stats.drops.mtu)
cap_start c_j2 j2 --marker jumbo
cap_start c_s1 s1 --marker jumbo
pkt_send j1 --src $J1 --dst $BCAST --size 9000 --count 3 --marker jumbo >/dev/null ||
	check_fail "send j1"
cap_wait "$c_j2" "$c_s1"
cap_expect "$c_j2" '[.count, .sizes, .bad_payload, .seqs.jumbo.missing]' '[3,[9014,9014],0,0]' \
	"9000-byte payloads (9014-byte frames) cross from pj1 to pj2 intact"
cap_expect "$c_s1" .count 0 "... and are not sent (nor truncated) out of ps1 (MTU 1500)"
sw_expect ps1 .stats.drops.mtu $((d_s1 + 3)) "ps1 counts the 3 jumbo frames as mtu drops"

cap_start c_j1 j1 --marker big
cap_start c_j2 j2 --marker big
pkt_send s1 --src $S1 --dst $BCAST --size 2000 --count 2 --marker big >/dev/null ||
	check_fail "send s1"
cap_wait "$c_j1" "$c_j2"
cap_expect "$c_j1" .count 0 "a 2000-byte payload into ps1 (MTU 1500) is dropped (pj1)"
cap_expect "$c_j2" .count 0 "... (pj2)"
sw_expect ps1 .stats.drops.mtu $((d_s1 + 5)) "ps1 counts the 2 as mtu drops on ingress"

cap_start c_s1 s1 --marker edge
cap_start c_j2 j2 --marker edge
pkt_send j1 --src $J1 --dst $BCAST --size 1500 --count 2 --marker edge >/dev/null ||
	check_fail "send j1"
pkt_send j1 --src $J1 --dst $BCAST --size 1501 --count 1 --marker edge >/dev/null ||
	check_fail "send j1"
cap_wait "$c_s1" "$c_j2"
cap_expect "$c_s1" '[.count, .sizes, .bad_payload]' '[2,[1514,1514],0]' \
	"1500-byte payloads leave ps1 whole; the 1501-byte one does not"
cap_expect "$c_j2" '[.count, .sizes]' '[3,[1514,1515]]' "pj2 (MTU 9000) gets all three"
sw_expect ps1 .stats.drops.mtu $((d_s1 + 6)) "ps1 counts the 1501-byte frame as an mtu drop"

cap_start c_j1 j1 --marker back
pkt_send s1 --src $S1 --dst $J1 --size 1500 --count 2 --marker back >/dev/null ||
	check_fail "send s1"
cap_wait "$c_j1"
cap_expect "$c_j1" '[.count, .sizes, .bad_payload]' '[2,[1514,1514],0]' \
	"1500-byte payloads from ps1 reach pj1 whole"

# A jumbo port removed and added again at run time carries jumbo frames.
out=$(swctl port del pj2 2>&1) && ok "port del pj2" || check_fail "port del pj2: $out"
out=$(swctl port add br1 "af_packet:$(sw_if j2),name=pj2,mtu=9000" 2>&1) &&
	ok "port add br1 af_packet:...,name=pj2,mtu=9000" || check_fail "port add pj2: $out"
cap_start c_j2 j2 --marker jumbo2
pkt_send j1 --src $J1 --dst $BCAST --size 9000 --count 2 --marker jumbo2 >/dev/null ||
	check_fail "send j1"
cap_wait "$c_j2"
cap_expect "$c_j2" '[.count, .sizes, .bad_payload]' '[2,[9014,9014],0]' \
	"the re-added MTU 9000 port carries 9014-byte frames intact"

pid_alive "$sw_pid" && ok "nfv-switchd still running" || check_fail "nfv-switchd died"
sw_stop
[ "$sw_status" = 0 ] && ok "nfv-switchd stopped cleanly on SIGTERM" ||
	check_fail "nfv-switchd exit status $sw_status on SIGTERM"
echo "time: $((SECONDS - t_start)) s"
finish
