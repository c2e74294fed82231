#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# nfv-switchd's learning bridge with real frames: af_packet ports on veth
# pairs whose other ends live in private network namespaces, where
# swpkt.py sends and captures exact frames.
#
# Bridge br0 (ports pa, pb, pc; aging 300 s; a static entry on pc):
# unknown unicast is flooded to every other port and not back; the reply
# is learned and goes to one port only; the FDB lists both stations on the
# right ports; a frame to a station learned on its ingress port is dropped
# (same_port), not reflected; a static entry steers without learning and
# is not moved by a frame that carries its address as source; fdb flush
# empties the learned entries and the next frame floods again.
# Bridge br1 (ports pd, pe, pf; aging 2 s): learned entries go after 2 to
# 4 s and the next frame floods again.
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib_switch.sh"

sw_init
t_start=$SECONDS

A=02:00:00:00:00:0a
A2=02:00:00:00:00:1a
B=02:00:00:00:00:0b
S=02:00:00:00:00:5e
D=02:00:00:00:00:0d
E=02:00:00:00:00:0e
BCAST=ff:ff:ff:ff:ff:ff

for h in a b c d e f; do
	sw_host $h
done

cfg=$TEST_TMPDIR/l2.yaml
cat >"$cfg" <<EOF
switch:
  mbufs: 8192
bridges:
  - name: br0
    aging: 300
    static:
      - { mac: "$S", port: pc }
    ports:
      - { name: pa, type: af_packet, iface: $(sw_if a) }
      - { name: pb, type: af_packet, iface: $(sw_if b) }
      - { name: pc, type: af_packet, iface: $(sw_if c) }
  - name: br1
    aging: 2
    ports:
      - { name: pd, type: af_packet, iface: $(sw_if d) }
      - { name: pe, type: af_packet, iface: $(sw_if e) }
      - { name: pf, type: af_packet, iface: $(sw_if f) }
EOF
sw_start "$TEST_TMPDIR/switchd.out" --config "$cfg" || fail "nfv-switchd did not start"
ok "nfv-switchd started with two bridges of three af_packet ports"

# fdb_expect BRIDGE MAC VLAN PORT DESC
fdb_expect()
{
	local got

	got=$(sw_fdb_port "$1" "$2" "$3")
	if [ "$got" = "$4" ]; then
		ok "$5"
	else
		check_fail "$5: FDB of $1 has $2 VLAN $3 on '$got', expected '$4'"
	fi
}

# ---- learning and flooding ----
cap_start ca a --marker flood
cap_start cb b --marker flood
cap_start cc c --marker flood
pkt_send a --src $A --dst $B --count 3 --marker flood >/dev/null || check_fail "send A->B"
cap_wait "$ca" "$cb" "$cc"
cap_expect "$cb" .count 3 "unknown unicast A->B flooded to B's port (3 of 3)"
cap_expect "$cc" .count 3 "unknown unicast A->B flooded to C's port (3 of 3)"
cap_expect "$ca" .count 0 "the flood does not go back out of A's port"
cap_expect "$cb" .bad_payload 0 "flooded frames arrive intact"
fdb_expect br0 $A 0 pa "A learned on pa"
sw_expect pa .stats.flood_packets 3 "pa counts 3 flooded frames"

cap_start ca a --marker reply
cap_start cc c --marker reply
pkt_send b --src $B --dst $A --count 3 --marker reply >/dev/null || check_fail "send B->A"
cap_wait "$ca" "$cc"
cap_expect "$ca" .count 3 "B's reply reaches A (3 of 3)"
cap_expect "$cc" .count 0 "B's reply to the learned A is not seen by C"
fdb_expect br0 $B 0 pb "B learned on pb"

cap_start cb b --marker uni
cap_start cc c --marker uni
pkt_send a --src $A --dst $B --count 5 --marker uni >/dev/null || check_fail "send A->B"
cap_wait "$cb" "$cc"
cap_expect "$cb" .count 5 "A->B now goes to B (5 of 5)"
cap_expect "$cc" .count 0 "A->B is no longer seen by C"
sw_expect pa .stats.flood_packets 3 "no more floods from pa once B is known"

fdb=$(swjson fdb show br0)
if echo "$fdb" | jq -e --arg a $A --arg b $B '.ok and
	([.result.entries[] | select(.mac == $a and .port == "pa" and .static == false)] | length == 1) and
	([.result.entries[] | select(.mac == $b and .port == "pb" and .static == false)] | length == 1)' \
	>/dev/null; then
	ok "fdb show --json lists A on pa and B on pb, learned"
else
	check_fail "fdb show --json: $fdb"
fi

# ---- no reflection ----
pkt_send a --src $A2 --dst $BCAST --count 1 --marker learn2 >/dev/null || check_fail "send A2"
fdb_expect br0 $A2 0 pa "A2 learned on pa"
drops0=$(sw_port_stat pa .stats.drops.same_port)
cap_start ca a --marker refl
cap_start cb b --marker refl
cap_start cc c --marker refl
pkt_send a --src $A --dst $A2 --count 4 --marker refl >/dev/null || check_fail "send A->A2"
cap_wait "$ca" "$cb" "$cc"
cap_expect "$ca" .count 0 "a frame to a station behind its own ingress port is not reflected"
cap_expect "$cb" .count 0 "... nor sent to B"
cap_expect "$cc" .count 0 "... nor sent to C"
sw_expect pa .stats.drops.same_port $((drops0 + 4)) "pa counts the 4 frames as same_port drops"

# ---- static entry ----
fdb=$(swjson fdb show br0)
if echo "$fdb" | jq -e --arg s $S \
	'[.result.entries[] | select(.mac == $s and .port == "pc" and .static == true)] | length == 1' \
	>/dev/null; then
	ok "the configured static entry is listed on pc"
else
	check_fail "static entry missing: $fdb"
fi
cap_start cb b --marker st1
cap_start cc c --marker st1
pkt_send a --src $A --dst $S --count 3 --marker st1 >/dev/null || check_fail "send A->S"
cap_wait "$cb" "$cc"
cap_expect "$cc" .count 3 "a frame to the static MAC goes to pc (never learned there)"
cap_expect "$cb" .count 0 "... and is not flooded to B"
# The static address as a source on another port must not move the entry.
pkt_send b --src $S --dst $BCAST --count 2 --marker stsrc >/dev/null || check_fail "send S from b"
fdb_expect br0 $S 0 pc "a frame from the static MAC on pb does not move the entry"
cap_start cb b --marker st2
cap_start cc c --marker st2
pkt_send a --src $A --dst $S --count 3 --marker st2 >/dev/null || check_fail "send A->S"
cap_wait "$cb" "$cc"
cap_expect "$cc" .count 3 "the static MAC still goes to pc"
cap_expect "$cb" .count 0 "... and not to pb"

# ---- flush ----
out=$(swctl fdb flush br0 2>&1)
st=$?
[ $st -eq 0 ] && ok "fdb flush br0: $out" || check_fail "fdb flush br0 exited $st: $out"
fdb=$(swjson fdb show br0)
if echo "$fdb" | jq -e --arg s $S \
	'.result.total == 1 and .result.entries[0].mac == $s and .result.entries[0].static' \
	>/dev/null; then
	ok "after the flush only the static entry is left"
else
	check_fail "after flush: $fdb"
fi
cap_start cb b --marker flushed
cap_start cc c --marker flushed
pkt_send a --src $A --dst $B --count 2 --marker flushed >/dev/null || check_fail "send A->B"
cap_wait "$cb" "$cc"
cap_expect "$cb" .count 2 "after the flush A->B reaches B"
cap_expect "$cc" .count 2 "... and floods to C again"

# ---- aging (br1: 2 s) ----
pkt_send d --src $D --dst $E --count 1 --marker age1 >/dev/null || check_fail "send D->E"
pkt_send e --src $E --dst $D --count 1 --marker age1 >/dev/null || check_fail "send E->D"
t_learn=$EPOCHREALTIME
fdb=$(swjson fdb show br1)
if echo "$fdb" | jq -e --arg d $D --arg e $E '
	([.result.entries[] | select(.mac == $d and .port == "pd")] | length == 1) and
	([.result.entries[] | select(.mac == $e and .port == "pe")] | length == 1)' >/dev/null; then
	ok "br1 learned D on pd and E on pe"
else
	check_fail "br1 FDB after D<->E: $fdb"
fi
gone=
for ((i = 0; i < 40; i++)); do
	total=$(sw_fdb_total br1)
	if [ "$total" = 0 ]; then
		gone=$(awk -v a="$t_learn" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
		break
	fi
	sleep 0.2
done
if [ -z "$gone" ]; then
	check_fail "br1's learned entries still there 8 s after learning (aging 2 s)"
elif awk -v g="$gone" 'BEGIN { exit !(g >= 1.5 && g <= 4.5) }'; then
	ok "br1's learned entries aged out after $gone s (aging 2 s)"
else
	check_fail "br1's learned entries went after $gone s, expected 2..4 s"
fi
sw_expect pd '.stats.drops_total' 0 "pd dropped nothing"
cap_start ce e --marker age2
cap_start cf f --marker age2
pkt_send d --src $D --dst $E --count 2 --marker age2 >/dev/null || check_fail "send D->E"
cap_wait "$ce" "$cf"
cap_expect "$ce" .count 2 "after aging D->E still reaches E"
cap_expect "$cf" .count 2 "... and is flooded to F again (E forgotten)"

# br0 and br1 never mix.
cap_start cd d --marker cross
pkt_send a --src $A --dst $BCAST --count 2 --marker cross >/dev/null || check_fail "send bcast"
cap_wait "$cd"
cap_expect "$cd" .count 0 "a broadcast on br0 does not reach br1"

pid_alive "$sw_pid" && ok "nfv-switchd still running" || check_fail "nfv-switchd died"
sw_stop
[ "$sw_status" = 0 ] && ok "nfv-switchd stopped cleanly on SIGTERM" ||
	check_fail "nfv-switchd exit status $sw_status on SIGTERM"
echo "time: $((SECONDS - t_start)) s"
finish
