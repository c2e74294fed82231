#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# nfv-switchd's mirrors and run-time changes with real frames (af_packet
# ports on veth pairs, swpkt.py in private network namespaces).
#
# Mirrors: mirror m0 of port pm1 (both directions) to a pcap file from the
# configuration file, and mirror m1 of pm2 added with `nfv-switchctl
# mirror add` and removed with `mirror del`: tshark reads from each file
# exactly the frames that crossed the mirrored port (by count and by the
# markers in their payloads, whole), none of those that did not, and none
# sent after the mirror went.
#
# Run-time changes while pm2 sends to pm3 at 200 frames/s: `port add` of an
# af_packet port (it forwards both ways), `port set ... vlan=10` (it leaves
# VLAN 0: its frames reach the VLAN-unaware ports tagged 10, their untagged
# frames no longer reach it), bad commands (unknown port, VLAN out of
# range, unknown interface, duplicate name, unknown bridge) refused with
# status 1 and a message (2 when nfv-switchctl itself refuses), leaving the
# port list, the VLANs and the new port's counters as they were; `port
# del` (its frames are no longer forwarded, its FDB entries go). The
# background stream arrives whole.
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib_switch.sh"

sw_init
require_cmd tshark
t_start=$SECONDS

M1=02:00:00:00:0e:01
M2=02:00:00:00:0e:02
M3=02:00:00:00:0e:03
X=02:00:00:00:0e:0f
BCAST=ff:ff:ff:ff:ff:ff

for h in m1 m2 m3 x; do
	sw_host $h
done

pcap0=$TEST_TMPDIR/m0.pcap
pcap1=$TEST_TMPDIR/m1.pcap
cfg=$TEST_TMPDIR/ops.yaml
cat >"$cfg" <<EOF
switch:
  mbufs: 8192
bridges:
  - name: br0
    ports:
      - { name: pm1, type: af_packet, iface: $(sw_if m1) }
      - { name: pm2, type: af_packet, iface: $(sw_if m2) }
      - { name: pm3, type: af_packet, iface: $(sw_if m3) }
mirrors:
  - { name: m0, port: pm1, direction: both, to-pcap: $pcap0 }
EOF
sw_start "$TEST_TMPDIR/switchd.out" --config "$cfg" || fail "nfv-switchd did not start"
ok "nfv-switchd started with a pcap mirror of pm1"

# pcap_count FILE [FILTER]: frames in a capture file (matching a tshark
# display filter).
pcap_count()
{
	run_timeout 60 tshark -n -r "$1" ${2:+-Y "$2"} 2>/dev/null | wc -l
}

# pcap_expect FILE FILTER N DESC
pcap_expect()
{
	local n

	n=$(pcap_count "$1" "$2")
	if [ "$n" = "$3" ]; then
		ok "$4"
	else
		check_fail "$4: $n frames match '$2' in $(basename "$1"), expected $3"
	fi
}

# mark TEXT: a tshark filter for frames carrying swpkt.py's marker TEXT.
mark()
{
	echo "frame contains \"SWPK$1\""
}

# ---- mirror from the configuration file (pm1, both) ----
# Everyone announces itself: pm1 receives m1's broadcast and sends the
# other two.
pkt_send m1 --src $M1 --dst $BCAST --marker learn >/dev/null || check_fail "send m1"
pkt_send m2 --src $M2 --dst $BCAST --marker learn >/dev/null || check_fail "send m2"
pkt_send m3 --src $M3 --dst $BCAST --marker learn >/dev/null || check_fail "send m3"
pkt_send m1 --src $M1 --dst $M2 --count 4 --size 200 --marker m0rx >/dev/null || check_fail "send m1"
pkt_send m2 --src $M2 --dst $M1 --count 3 --size 300 --marker m0tx >/dev/null || check_fail "send m2"
pkt_send m2 --src $M2 --dst $M3 --count 5 --marker m0other >/dev/null || check_fail "send m2"
pkt_send m3 --src $M3 --dst $M2 --count 5 --marker m0other >/dev/null || check_fail "send m3"
# The writer flushes every 100 ms; wait until it has written all 10.
for ((i = 0; i < 50; i++)); do
	w=$(swjson mirror show | jq -r '.result.mirrors[] | select(.name == "m0") | .written')
	[ "${w:-0}" -ge 10 ] && break
	sleep 0.1
done
out=$(swctl mirror del m0 2>&1) && ok "mirror del m0 (from the configuration file)" ||
	check_fail "mirror del m0: $out"
[ -s "$pcap0" ] || check_fail "no capture file $pcap0"
pcap_expect "$pcap0" "" 10 "m0's file holds exactly the 10 frames that crossed pm1"
pcap_expect "$pcap0" "$(mark learn)" 3 "... the 3 broadcasts (one received, two sent)"
pcap_expect "$pcap0" "$(mark m0rx) && eth.src == $M1 && eth.dst == $M2 && frame.len == 214" 4 \
	"... the 4 frames pm1 received, whole (214 bytes)"
pcap_expect "$pcap0" "$(mark m0tx) && eth.src == $M2 && eth.dst == $M1 && frame.len == 314" 3 \
	"... the 3 frames pm1 sent, whole (314 bytes)"
pcap_expect "$pcap0" "$(mark m0other)" 0 "... and none of the frames between pm2 and pm3"

# ---- mirror added and removed at run time (pm2, both) ----
out=$(swctl mirror add m1 pm2 both "pcap=$pcap1" 2>&1) && ok "mirror add m1 pm2 both pcap=FILE" ||
	check_fail "mirror add m1: $out"
swjson mirror show | jq -e --arg f "$pcap1" \
	'.result.mirrors | length == 1 and .[0].name == "m1" and .[0].port == "pm2" and .[0].to_pcap == $f' \
	>/dev/null && ok "mirror show lists m1 only" || check_fail "mirror show: $(swjson mirror show)"
pkt_send m2 --src $M2 --dst $M3 --count 6 --marker m1tx >/dev/null || check_fail "send m2"
pkt_send m1 --src $M1 --dst $M2 --count 2 --marker m1rx >/dev/null || check_fail "send m1"
pkt_send m1 --src $M1 --dst $M3 --count 7 --marker m1other >/dev/null || check_fail "send m1"
for ((i = 0; i < 50; i++)); do
	w=$(swjson mirror show | jq -r '.result.mirrors[] | select(.name == "m1") | .written')
	[ "${w:-0}" -ge 8 ] && break
	sleep 0.1
done
out=$(swctl mirror del m1 2>&1) && ok "mirror del m1" || check_fail "mirror del m1: $out"
pkt_send m2 --src $M2 --dst $M3 --count 4 --marker m1after >/dev/null || check_fail "send m2"
sleep 0.3
pcap_expect "$pcap1" "" 8 "m1's file holds exactly the 8 frames that crossed pm2 while it existed"
pcap_expect "$pcap1" "$(mark m1tx) && frame.len == 60" 6 "... pm2's 6 received frames, whole"
pcap_expect "$pcap1" "$(mark m1rx)" 2 "... pm2's 2 sent frames"
pcap_expect "$pcap1" "$(mark m1other) || $(mark m1after)" 0 \
	"... none between pm1 and pm3, none after mirror del"
swjson mirror show | jq -e '.result.mirrors | length == 0' >/dev/null &&
	ok "no mirror left" || check_fail "mirrors left: $(swjson mirror show)"

# ---- run-time changes under traffic ----
bg=$TEST_TMPDIR/bg.json
cap_start c_bg m3 --marker bg
cap_ready
pkt_send m2 --src $M2 --dst $M3 --count 1600 --rate 200 --marker bg >"$bg" &
bg_pid=$!
track_pid "$bg_pid"
sleep 0.5

ifx=$(sw_if x)
out=$(swctl port add br0 "af_packet:$ifx,name=px" 2>&1)
st=$?
[ $st -eq 0 ] && ok "port add br0 af_packet:$ifx,name=px under traffic: $out" ||
	check_fail "port add px exited $st: $out"
cap_start c_x x --marker newport
cap_start c_m2 m2 --marker newport
pkt_send x --src $X --dst $M2 --count 3 --marker newport >/dev/null || check_fail "send x"
pkt_send m1 --src $M1 --dst $X --count 2 --marker newport >/dev/null || check_fail "send m1"
cap_wait "$c_x" "$c_m2"
cap_expect "$c_m2" .count 3 "the new port px forwards what it receives (3 frames to pm2)"
cap_expect "$c_x" .count 2 "... and sends what is for it (2 frames from pm1, X learned)"
[ "$(sw_fdb_port br0 $X 0)" = px ] && ok "X learned on px" || check_fail "X not learned on px"

out=$(swctl port set px vlan=10 2>&1)
st=$?
[ $st -eq 0 ] && ok "port set px vlan=10" || check_fail "port set px vlan=10 exited $st: $out"
sw_expect px .vlan '{"mode":"access","tag":10}' "px is an access port of VLAN 10"
[ "$(sw_fdb_port br0 $X 0)" = "" ] && ok "X's entry in VLAN 0 went with the VLAN change" ||
	check_fail "X still in VLAN 0 on px after the VLAN change"
cap_start c_m1 m1 --marker vlan10
cap_start c_x x --marker vlan10
pkt_send x --src $X --dst $BCAST --count 2 --marker vlan10 >/dev/null || check_fail "send x"
pkt_send m1 --src $M1 --dst $BCAST --count 2 --marker vlan10 >/dev/null || check_fail "send m1"
cap_wait "$c_m1" "$c_x"
cap_expect "$c_m1" '[.count, .untagged, .vids]' '[2,0,{"10":2}]' \
	"px's broadcasts (now VLAN 10) leave the VLAN-unaware pm1 tagged 10 (a trunk of every VLAN)"
cap_expect "$c_x" .count 0 "pm1's untagged broadcasts (VLAN 0) no longer reach px"
[ "$(sw_fdb_port br0 $X 10)" = px ] && ok "X learned in VLAN 10 on px" ||
	check_fail "X not learned in VLAN 10 on px"

# Bad commands: refused, and nothing changes.
state()
{
	swjson show | jq -c '[.result.ports[] | {name, type, mtu, vlan}]'
}
px_stats()
{
	swjson port show px | jq -c '.result.stats'
}
before=$(state)
px_before=$(px_stats)
# bad_cmd STATUS DESC ARGS...: nfv-switchctl ARGS must exit with STATUS and say why.
bad_cmd()
{
	local want=$1 desc=$2 out st

	shift 2
	out=$(swctl "$@" 2>&1)
	st=$?
	if [ $st -eq "$want" ] && [ -n "$out" ]; then
		ok "$desc refused (status $st: $(echo "$out" | head -1))"
	else
		check_fail "$desc: status $st (expected $want), output '$out'"
	fi
}
bad_cmd 1 "port set of an unknown port" port set nosuch vlan=10
bad_cmd 1 "a trunk with VLAN 5000" port set px trunk=10,5000
bad_cmd 2 "vlan=5000 (the client's own check)" port set px vlan=5000
bad_cmd 1 "port del of an unknown port" port del nosuch
bad_cmd 1 "port add on an interface that does not exist" port add br0 "af_packet:nfvnone$$,name=py"
bad_cmd 1 "port add with a name in use" port add br0 "af_packet:$ifx,name=pm2"
bad_cmd 1 "port add to an unknown bridge" port add br9 "af_packet:$ifx,name=pz"
bad_cmd 1 "fdb add on an unknown port" fdb add br0 02:00:00:00:0e:77 0 nosuch
after=$(state)
[ "$before" = "$after" ] && ok "the port list and VLANs are as they were" ||
	check_fail "state changed by refused commands: before $before, after $after"
[ "$(px_stats)" = "$px_before" ] && ok "px's counters are as they were" ||
	check_fail "px's counters changed: before $px_before, after $(px_stats)"
[ "$(sw_fdb_port br0 02:00:00:00:0e:77 0)" = "" ] && ok "no FDB entry from the refused fdb add" ||
	check_fail "the refused fdb add left an entry"

out=$(swctl port del px 2>&1)
st=$?
[ $st -eq 0 ] && ok "port del px under traffic" || check_fail "port del px exited $st: $out"
swjson show | jq -e '[.result.ports[].name] == ["pm1","pm2","pm3"]' >/dev/null &&
	ok "px is gone from the port list" || check_fail "ports after del: $(state)"
[ "$(sw_fdb_port br0 $X 10)" = "" ] && ok "px's FDB entries went with it" ||
	check_fail "X still in the FDB after port del"
cap_start c_m1 m1 --marker gone
pkt_send x --src $X --dst $BCAST --count 2 --marker gone >/dev/null || check_fail "send x"
cap_wait "$c_m1"
cap_expect "$c_m1" .count 0 "frames on the deleted port's interface are not forwarded"

wait_pid "$bg_pid" 30
st=$?
[ $st -eq 0 ] || check_fail "background sender ended with status $st"
cap_wait "$c_bg"
sent=$(jq -r .sent "$bg")
cap_expect "$c_bg" '[.count, .seqs.bg.missing, .bad_payload]' "[$sent,0,0]" \
	"the background stream pm2 -> pm3 arrived whole ($sent frames) through all the changes"

pid_alive "$sw_pid" && ok "nfv-switchd still running" || check_fail "nfv-switchd died"
sw_stop
[ "$sw_status" = 0 ] && ok "nfv-switchd stopped cleanly on SIGTERM" ||
	check_fail "nfv-switchd exit status $sw_status on SIGTERM"
echo "time: $((SECONDS - t_start)) s"
finish
