#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# vswitch_pps.sh - packets per second through nfv-switchd, side by side with
# Open vSwitch with DPDK (NORMAL action) and the direct testpmd-to-testpmd
# vhost-user path, measured in one run on the same traffic harness.
#
#   perf/vswitch_pps.sh --harness PATH [--seconds N] [--rounds N] [--build DIR] [--skip-anchors]
#
# Topology (2 cores; core 0 = switch, core 1 = traffic), as in the harness:
#
#   dpdk-testpmd (io forwarding, tx_first, 64-byte frames, on core 1)
#     port0 = net_virtio_user0 (server) <== vhost-user ==> switch port p0 (client)
#     port1 = net_virtio_user1 (server) <== vhost-user ==> switch port p1 (client)
#
# The harness (ovs_dpdk_pps.sh, given with --harness) starts the traffic
# testpmd and measures: `--mode external` against nfv-switchd's sockets,
# `--mode normal,direct` for the anchors. nfv-switchd runs with one polling
# thread on core 0. Two nfv-switchd setups are measured:
#
#   learn      : VLAN-unaware ports, MAC learning on (the main figure)
#   learn68    : learn, fed 68-byte frames (testpmd `set txpkts 68`): the
#                length the VLAN setup's frames have once tagged, so that
#                vlan+police / learn68 compares the two at equal frame size
#   vlan+police: both ports trunks of VLAN 10 with native VLAN 10 sent tagged
#                (the first pass tags a frame, later passes read and keep
#                the tag: testpmd's io forwarding sends back what it got),
#                and an srTCM policer on each port with a rate far above the
#                traffic (every frame is metered, none is dropped)
#
# The two setups are also compared in one nfv-switchd under one traffic
# run (--pairs N, default 6): the switch is switched between them at run
# time with nfv-switchctl, and each setup's rate is read from the switch's
# own counters over 3-second windows, one right after the other. The
# median of the N pair ratios is free of what differs between processes
# and of the slow drift of a shared machine. (After the first VLAN window
# the frames keep their tag in the learning windows too; a VLAN-unaware
# port forwards them as they are.)
#
# The last lines printed are one table and a line of key=value pairs:
#   nfv_learn_mpps=.. nfv_vlan_policer_mpps=.. ovs_normal_mpps=.. direct_mpps=..
#   ratio_nfv_ovs=.. ratio_nfv_direct=.. ratio_vlan_policer_learn=..
#   ratio_vlan_policer_learn_paired=.. ratio_vlan_policer_learn68=..
# Figures are sums of both directions (Mpps), medians of one-second samples;
# with --rounds N every setup is measured N times, interleaved, and the
# median of the rounds is reported (the per-round figures are printed too).
# Compare ratios, not absolute numbers, across machines.
#
# Everything started here is stopped by PID; sockets and temp files are
# removed on exit. Needs root, hugepages, dpdk-testpmd (Debian dpdk-dev) and,
# for the Open vSwitch anchor, openvswitch-switch-dpdk.

set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${NFV_BUILD:-$here/build}
HARNESS=
SECONDS_MEAS=10
ROUNDS=1
ANCHORS=1
PAIRS=6
WINDOW=3
SW_PID=
TRAFFIC_PID=

say() { printf 'vswitch_pps: %s\n' "$*" >&2; }
die() { say "$1"; exit "${2:-1}"; }

usage() {
    sed -n '2,/^$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    cat <<EOF
Options:
  --harness PATH   the traffic harness (ovs_dpdk_pps.sh); required
  --seconds N      measured one-second samples per setup (default $SECONDS_MEAS)
  --rounds N       measure every setup N times, interleaved; report medians (default $ROUNDS)
  --build DIR      meson build directory (default $BUILD)
  --skip-anchors   measure only nfv-switchd (no Open vSwitch, no direct path)
  --pairs N        learn / vlan+policer window pairs in one switch (default $PAIRS; 0: none)
  -h, --help       this text
EOF
}

while [ $# -gt 0 ]; do
    case $1 in
    --harness) HARNESS=${2:-}; shift 2 ;;
    --seconds) SECONDS_MEAS=${2:-}; shift 2 ;;
    --rounds) ROUNDS=${2:-}; shift 2 ;;
    --build) BUILD=${2:-}; shift 2 ;;
    --skip-anchors) ANCHORS=0; shift ;;
    --pairs) PAIRS=${2:-}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" 2 ;;
    esac
done

[[ $SECONDS_MEAS =~ ^[0-9]+$ ]] && (( SECONDS_MEAS >= 3 )) || die "--seconds needs a number >= 3" 2
[[ $ROUNDS =~ ^[0-9]+$ ]] && (( ROUNDS >= 1 && ROUNDS <= 9 )) || die "--rounds needs a number 1..9" 2
[[ $PAIRS =~ ^[0-9]+$ ]] && (( PAIRS <= 30 )) || die "--pairs needs a number 0..30" 2
[ -n "$HARNESS" ] || { usage >&2; die "--harness PATH is required" 2; }
[ -r "$HARNESS" ] || die "harness $HARNESS not readable" 2
[ "$(id -u)" -eq 0 ] || die "needs root (vhost-user sockets, hugepages)"
SWITCHD=$BUILD/vswitch/nfv-switchd
SWITCHCTL=$BUILD/vswitch/nfv-switchctl
[ -x "$SWITCHD" ] || die "$SWITCHD missing: build first (scripts/bootstrap.sh build)"
command -v dpdk-testpmd >/dev/null || die "dpdk-testpmd missing (apt-get install dpdk-dev)"
free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)
(( free >= 400 )) || die "needs at least 400 free 2 MB hugepages (has $free): echo 1024 > /proc/sys/vm/nr_hugepages"

WORK=$(mktemp -d /tmp/vswitch_pps.XXXXXX)
PFX=vswpps$$
cleanup() {
    stop_traffic
    stop_switch
    rm -rf "$WORK" "/var/run/dpdk/$PFX"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop_pid PID GRACE: SIGTERM, then SIGKILL after GRACE tenths of a second.
stop_pid() {
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null
    for _ in $(seq "$2"); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

stop_switch() { stop_pid "$SW_PID" 50; SW_PID=; }

# The harness started in the background (paired windows): TERM makes it
# stop its testpmd and clean up.
stop_traffic() { stop_pid "$TRAFFIC_PID" 300; TRAFFIC_PID=; }

# start_switch CONFIG: nfv-switchd with one polling thread on core 0.
start_switch() {
    local cfg=$1
    "$SWITCHD" --config "$cfg" --pmd-cores 0 --ctl "$WORK/ctl.sock" \
        -- --file-prefix="$PFX" >"$WORK/switchd.log" 2>&1 &
    SW_PID=$!
    for _ in $(seq 100); do
        [ -S "$WORK/ctl.sock" ] && return 0
        kill -0 "$SW_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$WORK/switchd.log" >&2
    die "nfv-switchd did not start"
}

# harness ARGS...: runs the harness, prints its last key=value line.
harness() {
    MEAS_SECS=$SECONDS_MEAS WARMUP_SECS=3 FORCE=1 timeout $(( SECONDS_MEAS * 3 + 240 )) \
        bash "$HARNESS" "$@" 2>"$WORK/harness.err" | tail -n 3
}

value() { sed -n "s/.*$1=\([0-9.NA]*\).*/\1/p" | tail -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b + 0 == 0) print "NA"; else printf "%.3f", a / b }'; }

write_config() {  # write_config FILE learn|vlan|learn68
    local f=$1 kind=$2 vlan="" pol=""
    if [ "$kind" = vlan ]; then
        vlan='
        vlan: { mode: trunk, trunks: "10", native: 10, native-tagged: true }'
        pol='
        policer: { type: srtcm, cir: 100gbit, cbs: 1MB, ebs: 1MB }'
    fi
    cat >"$f" <<EOF
bridges:
  - name: br0
    ports:
      - name: p0
        type: vhost-user
        path: $WORK/sock0$vlan$pol
      - name: p1
        type: vhost-user
        path: $WORK/sock1$vlan$pol
EOF
}

# harness_len LEN: the harness's traffic part against the switch's sockets
# (as --mode external --vhost client), but with LEN-byte frames: the
# harness is sourced (its documented reuse) and the command file it writes
# for testpmd gets `set txpkts LEN` in front.
harness_len() {
    MEAS_SECS=$SECONDS_MEAS WARMUP_SECS=3 FORCE=1 LEN=$1 timeout $(( SECONDS_MEAS * 3 + 240 )) \
        bash -c '
            source "$1" || exit 1
            WORK=$(mktemp -d) && trap cleanup EXIT
            eval "orig_$(declare -f start_bg)"
            start_bg() {
                [ -f "$WORK/$1.cmds" ] && sed -i "1i set txpkts $LEN" "$WORK/$1.cmds"
                orig_start_bg "$@"
            }
            run_traffic "$2" "$3" server len && echo "external_mpps=$(mpps "$R_SUM")"
        ' harness "$HARNESS" "$WORK/sock0" "$WORK/sock1" 2>"$WORK/harness.err" | tail -n 3
}

measure_nfv() {  # measure_nfv learn|vlan|learn68 -> prints Mpps
    local kind=$1 out mpps
    write_config "$WORK/$kind.yaml" "$kind"
    start_switch "$WORK/$kind.yaml"
    if [ "$kind" = learn68 ]; then
        out=$(harness_len 68)
    else
        out=$(harness --mode external --vhost client --sock0 "$WORK/sock0" --sock1 "$WORK/sock1")
    fi
    [ -x "$SWITCHCTL" ] && "$SWITCHCTL" --ctl "$WORK/ctl.sock" show >"$WORK/show_$kind.txt" 2>&1
    stop_switch
    mpps=$(printf '%s\n' "$out" | value external_mpps)
    [ -n "$mpps" ] || { tail -n 20 "$WORK/harness.err" >&2; mpps=NA; }
    say "nfv-switchd ($kind): ${mpps} Mpps"
    echo "$mpps"
}

# median of the numbers given (NA ignored; NA when none)
median() {
    printf '%s\n' "$@" | grep -v '^NA$' | sort -g |
        awk '{ a[NR] = $1 } END { if (NR == 0) print "NA"; else if (NR % 2) print a[(NR + 1) / 2];
              else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

ctl() { "$SWITCHCTL" --ctl "$WORK/ctl.sock" "$@" >/dev/null; }

# Frames the switch received on both ports so far.
switch_rx() {
    local p n sum=0
    for p in p0 p1; do
        n=$("$SWITCHCTL" --ctl "$WORK/ctl.sock" --json port show "$p" |
            sed -n 's/.*"rx_packets":\([0-9]*\).*/\1/p')
        [ -n "$n" ] || return 1
        sum=$(( sum + n ))
    done
    echo "$sum"
}

# window_mpps: the switch's receive rate over WINDOW seconds, in Mpps.
window_mpps() {
    local a b t0 t1
    a=$(switch_rx) && t0=$(date +%s.%N) || return 1
    sleep "$WINDOW"
    b=$(switch_rx) && t1=$(date +%s.%N) || return 1
    awk -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.3f", (b - a) / (t1 - t0) / 1e6 }'
}

set_setup() {  # set_setup learn|vlan
    local p
    for p in p0 p1; do
        if [ "$1" = vlan ]; then
            ctl port set "$p" trunk=10,native=10,native-tagged &&
                ctl port set "$p" policer=srtcm,cir=100gbit,cbs=1MB,ebs=1MB || return 1
        else
            ctl port set "$p" vlan=default && ctl port set "$p" policer=none || return 1
        fi
    done
    sleep 1    # let the rings settle in the new setup
}

# measure_pairs: PAIRS learn / vlan+policer window pairs in one switch and
# one traffic run; sets PAIRED to the median pair ratio (NA when none).
# Runs in the main shell, so that cleanup sees the PIDs it started.
PAIRED=NA
measure_pairs() {
    local secs=$(( PAIRS * 2 * (WINDOW + 3) + 30 )) ratios=() a b i
    write_config "$WORK/pairs.yaml" learn
    start_switch "$WORK/pairs.yaml"
    MEAS_SECS=$secs WARMUP_SECS=1 FORCE=1 timeout $(( secs + 240 )) bash "$HARNESS" \
        --mode external --vhost client --sock0 "$WORK/sock0" --sock1 "$WORK/sock1" \
        >"$WORK/pairs_harness.out" 2>"$WORK/pairs_harness.err" &
    TRAFFIC_PID=$!
    # traffic flows once the switch's counters grow
    for _ in $(seq 120); do
        b=$(switch_rx 2>/dev/null) || b=0
        (( b > 100000 )) && break
        kill -0 "$TRAFFIC_PID" 2>/dev/null || break
        sleep 0.5
    done
    if (( ${b:-0} <= 100000 )); then
        tail -n 20 "$WORK/pairs_harness.err" >&2
        stop_traffic
        stop_switch
        say "paired windows: no traffic through the switch"
        return
    fi
    sleep 2
    for (( i = 1; i <= PAIRS; i++ )); do
        set_setup learn && a=$(window_mpps) && set_setup vlan && b=$(window_mpps) || break
        ratios+=("$(ratio "$b" "$a")")
        say "pair $i: learn $a Mpps, vlan+policer $b Mpps, ratio ${ratios[-1]}"
    done
    stop_traffic
    stop_switch
    (( ${#ratios[@]} )) && PAIRED=$(median "${ratios[@]}")
    say "paired windows: median ratio vlan+policer / learn $PAIRED"
}

L=() V=() L68=() O=() D=()
for (( r = 1; r <= ROUNDS; r++ )); do
    (( ROUNDS > 1 )) && say "round $r of $ROUNDS"
    L+=("$(measure_nfv learn)")
    V+=("$(measure_nfv vlan)")
    L68+=("$(measure_nfv learn68)")
    if (( ANCHORS )); then
        out=$(harness --mode normal,direct)
        o=$(printf '%s\n' "$out" | value ovs_normal_mpps)
        d=$(printf '%s\n' "$out" | value direct_mpps)
        O+=("${o:-NA}")
        D+=("${d:-NA}")
        [ "${o:-NA}" = NA ] && say "Open vSwitch not measured (apt-get install openvswitch-switch-dpdk?); see the harness log:" &&
            tail -n 5 "$WORK/harness.err" >&2
        say "round $r: Open vSwitch ${o:-NA} Mpps, direct ${d:-NA} Mpps"
    else
        O+=(NA)
        D+=(NA)
    fi
done
(( PAIRS > 0 )) && measure_pairs
nfv_learn=$(median "${L[@]}")
nfv_vlan=$(median "${V[@]}")
nfv_learn68=$(median "${L68[@]}")
ovs=$(median "${O[@]}")
direct=$(median "${D[@]}")
if (( ROUNDS > 1 )); then
    printf '\nper round (Mpps): learn %s | vlan+policer %s | learn 68 B %s | ovs %s | direct %s\n' \
        "${L[*]}" "${V[*]}" "${L68[*]}" "${O[*]}" "${D[*]}"
fi

printf '\n%-34s %10s\n' "setup (64 B, both directions)" "Mpps"
printf '%-34s %10s\n' "nfv-switchd, MAC learning" "$nfv_learn"
printf '%-34s %10s\n' "nfv-switchd, VLAN tags + policer" "$nfv_vlan"
printf '%-34s %10s\n' "nfv-switchd, learning, 68 B frames" "$nfv_learn68"
printf '%-34s %10s\n' "Open vSwitch DPDK, NORMAL" "$ovs"
printf '%-34s %10s\n' "direct testpmd vhost-user" "$direct"
printf '%-34s %10s\n' "vlan+policer / learn, paired" "$PAIRED"
printf 'nfv_learn_mpps=%s nfv_vlan_policer_mpps=%s nfv_learn68_mpps=%s ovs_normal_mpps=%s direct_mpps=%s\n' \
    "$nfv_learn" "$nfv_vlan" "$nfv_learn68" "$ovs" "$direct"
printf 'ratio_nfv_ovs=%s ratio_nfv_direct=%s ratio_vlan_policer_learn=%s\n' \
    "$(ratio "$nfv_learn" "$ovs")" "$(ratio "$nfv_learn" "$direct")" \
    "$(ratio "$nfv_vlan" "$nfv_learn")"
printf 'ratio_vlan_policer_learn_paired=%s ratio_vlan_policer_learn68=%s\n' "$PAIRED" \
    "$(ratio "$nfv_vlan" "$nfv_learn68")"
