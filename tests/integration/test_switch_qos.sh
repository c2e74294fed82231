#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# nfv-switchd's QoS with real frames (af_packet ports on veth pairs,
# swpkt.py in private network namespaces), at rates Python paces easily.
#
# Policer: port pp1 has an srTCM policer of CIR 2 Mbit/s (250 frames/s of
# 1000 bytes), CBS 20 kB (80 ms at the CIR: the sender's pauses lose no
# tokens) and EBS 2 kB; 1000-byte frames offered at 500 frames/s
# for 4 s. Over the steady part (1.0 to 3.5 s after the first frame, by
# the receiver's kernel timestamps) the delivered rate is the CIR within
# 10 %; in all, the CIR times the duration plus at most the two buckets
# pass; green + yellow + red add up to the frames sent and red is counted
# as policer drops.
#
# Shaper: egress port pq2 (trunk of VLAN 100) shapes to 4 Mbit/s (500
# frames/s of 1000 bytes, burst 20 kB) with 2 classes (PCP 4..7 first, PCP 0..3 after).
# From trunk pq1, PCP 6 frames at 200 frames/s and PCP 0 frames at 600
# frames/s are offered together: over the steady part PCP 6 keeps its 200
# frames/s within 10 %, PCP 0 gets the remaining 300 frames/s within 10 %,
# and the excess is dropped in class 1 only and counted.
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib_switch.sh"

sw_init
t_start=$SECONDS

P1=02:00:00:00:01:01
P2=02:00:00:00:01:02
Q1=02:00:00:00:02:01
Q2=02:00:00:00:02:02

for h in p1 p2 q1 q2; do
	sw_host $h
done

cfg=$TEST_TMPDIR/qos.yaml
cat >"$cfg" <<EOF
switch:
  mbufs: 8192
bridges:
  - name: br0
    static:
      - { mac: "$P2", port: pp2 }
    ports:
      - name: pp1
        type: af_packet
        iface: $(sw_if p1)
        policer: { type: srtcm, cir: 2mbit, cbs: 20kB, ebs: 2kB }
      - { name: pp2, type: af_packet, iface: $(sw_if p2) }
  - name: br1
    static:
      - { mac: "$Q2", vlan: 100, port: pq2 }
    ports:
      - { name: pq1, type: af_packet, iface: $(sw_if q1), vlan: { trunks: "100" } }
      - name: pq2
        type: af_packet
        iface: $(sw_if q2)
        vlan: { trunks: "100" }
        shaper: { rate: 4mbit, burst: 20kB, classes: 2 }
EOF
sw_start "$TEST_TMPDIR/switchd.out" --config "$cfg" || fail "nfv-switchd did not start"
ok "nfv-switchd started with a policed port and a shaped port"

# within VALUE TARGET PERCENT: true when VALUE is within PERCENT of TARGET.
within()
{
	awk -v v="$1" -v t="$2" -v p="$3" 'BEGIN { d = v - t; if (d < 0) d = -d; exit !(d <= t * p / 100) }'
}

# rate_expect N SECONDS TARGET DESC: N frames in SECONDS, TARGET frames/s.
rate_expect()
{
	local r

	r=$(awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", n / s }')
	if within "$r" "$3" 10; then
		ok "$4: $r frames/s (target $3 +-10 %)"
	else
		check_fail "$4: $r frames/s, expected $3 +-10 %"
	fi
}

# ---- policer ----
# 1000-byte frames: 14 bytes of header, 986 of payload.
cap_start c_p2 p2 --marker pol --window 1.0,3.5
out=$(pkt_send p1 --src $P1 --dst $P2 --size 986 --count 2000 --rate 500 --marker pol) ||
	check_fail "send p1"
cap_wait "$c_p2"
echo "sender: $out"
sent=$(echo "$out" | jq -r .sent)
elapsed=$(echo "$out" | jq -r .elapsed)
got=$(cap_get "$c_p2" .count)
win=$(cap_get "$c_p2" .window_count)
echo "policer: sent $sent in $elapsed s, delivered $got, $win in the 2.5 s window"
awk -v e="$elapsed" 'BEGIN { exit !(e < 4.6) }' ||
	echo "note: the sender needed $elapsed s for 4 s of frames (a loaded host)"
rate_expect "$win" 2.5 250 "policed rate over the steady part"
# All delivered: CIR x sending time + both buckets (22 frames), +-10 %.
max=$(awk -v e="$elapsed" 'BEGIN { printf "%d", (250 * e + 22) * 1.1 }')
min=$(awk -v e="$elapsed" 'BEGIN { printf "%d", 250 * e * 0.9 }')
if [ "$got" -ge "$min" ] && [ "$got" -le "$max" ]; then
	ok "delivered $got frames in all ($min..$max: the CIR over $elapsed s and the buckets)"
else
	check_fail "delivered $got frames in all, expected $min..$max"
fi
cap_expect "$c_p2" .bad_payload 0 "policed frames arrive intact"
pol=$(swjson port show pp1 | jq -c '.result | [.policer.green, .policer.yellow, .policer.red, .stats.drops.policer, .stats.rx_packets]')
echo "pp1 policer green, yellow, red, drops.policer, rx: $pol"
if echo "$pol" | jq -e --argjson s "$sent" --argjson g "$got" \
	'.[0] + .[1] + .[2] == $s and .[2] == .[3] and .[0] + .[1] == $g and .[2] > 0 and .[4] == $s' \
	>/dev/null; then
	ok "pp1: green + yellow + red = $sent sent, red = policer drops, green + yellow = delivered"
else
	check_fail "pp1 policer counters $pol do not add up (sent $sent, delivered $got)"
fi

# ---- shaper ----
# 1000-byte tagged frames: 18 bytes of header and tag, 982 of payload.
cap_start c_q2 q2 --window 1.0,3.5
out=$(pkt_send q1 --src $Q1 --dst $Q2 --vlan 100 --size 982 \
	--stream pcp=6,count=800,rate=200,marker=hi \
	--stream pcp=0,count=2400,rate=600,marker=lo) || check_fail "send q1"
cap_wait "$c_q2"
echo "sender: $out"
echo "shaper: received $(jq -c .by_marker "$c_q2"), in the window $(jq -c .window_by_marker "$c_q2")"
hi=$(cap_get "$c_q2" '.window_by_marker.hi // 0')
lo=$(cap_get "$c_q2" '.window_by_marker.lo // 0')
rate_expect "$hi" 2.5 200 "PCP 6 (class 0, offered 200 frames/s) through the shaper"
rate_expect "$lo" 2.5 300 "PCP 0 (class 1, offered 600 frames/s) gets the rest of 500 frames/s"
cap_expect "$c_q2" '[.bad_payload, .vids]' \
	"[0,{\"100\":$(cap_get "$c_q2" .count)}]" "shaped frames arrive intact, tagged 100"
cap_expect "$c_q2" '.seqs.hi.missing' 0 "no PCP 6 frame was lost"
sh=$(swjson port show pq2 | jq -c '.result | [.shaper.per_class[0].dropped, .shaper.per_class[1].dropped, .stats.drops.shaper, .shaper.per_class[0].sent, .shaper.per_class[1].sent, .stats.tx_packets]')
echo "pq2 class 0 dropped, class 1 dropped, drops.shaper, class 0 sent, class 1 sent, tx: $sh"
if echo "$sh" | jq -e '.[0] == 0 and .[1] > 0 and .[2] == .[1]' >/dev/null; then
	ok "pq2: the shaper dropped in class 1 only, counted in its class and as shaper drops"
else
	check_fail "pq2 shaper drop counters: $sh"
fi
got=$(cap_get "$c_q2" .count)
if echo "$sh" | jq -e --argjson g "$got" '.[3] + .[4] == $g and .[5] == $g' >/dev/null; then
	ok "pq2: class 0 + class 1 sent = tx = $got frames received"
else
	check_fail "pq2 sent counters $sh against $got frames received"
fi

pid_alive "$sw_pid" && ok "nfv-switchd still running" || check_fail "nfv-switchd died"
sw_stop
[ "$sw_status" = 0 ] && ok "nfv-switchd stopped cleanly on SIGTERM" ||
	check_fail "nfv-switchd exit status $sw_status on SIGTERM"
echo "time: $((SECONDS - t_start)) s"
finish
