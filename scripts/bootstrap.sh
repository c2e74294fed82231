#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# One entry point for a fresh Debian 12 machine and for every later run:
# installs the Debian packages nfvkit needs (apt-get, as root), configures
# and builds with meson into build/, prepares the host (hugepages), then
# runs what was asked:
#
#   scripts/bootstrap.sh run     build, then boot the built-in test guest under
#                                nfv-vmm and show its console (the main job)
#   scripts/bootstrap.sh test    build, then run the unit and integration tests
#   scripts/bootstrap.sh build   only install and build
#
# Idempotent: a second run installs nothing and only rebuilds what changed.
# Quiet when everything is already there.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${NFV_BUILD:-$here/build}"

build_pkgs=(meson ninja-build gcc pkg-config libc6-dev linux-libc-dev binutils
    libjansson-dev libcmocka-dev libyaml-dev libpcap-dev libnl-3-dev libnl-route-3-dev
    libdpdk-dev)
# What the tests drive: QEMU as the reference VMM, lz4 to unpack the Debian
# kernel's payload, python3 for the control-socket client, ping, tshark to
# read the pcap files the NIC tests write (its setuid question defaults to
# "no" under DEBIAN_FRONTEND=noninteractive), clang's libFuzzer for the
# fuzzers, dpdk-testpmd (in dpdk-dev) as the third-party vhost-user peer,
# jq to read nfv-switchctl's JSON answers.
test_pkgs=(qemu-system-x86 lz4 python3 iproute2 procps iputils-ping tshark
    clang libclang-rt-14-dev dpdk-dev jq)

say() { printf 'bootstrap: %s\n' "$*"; }
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@";
    elif command -v sudo >/dev/null; then sudo "$@";
    else say "need root for: $*"; exit 1; fi
}

missing_pkgs() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' \
            || printf '%s\n' "$p"
    done
}

install_pkgs() {
    local missing
    missing=$(missing_pkgs "$@")
    [ -z "$missing" ] && return 0
    say "installing: $(echo $missing)"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    as_root apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

do_build() {
    if [ ! -f "$build/build.ninja" ]; then
        say "configuring $build"
        meson setup "$build" "$here" >/dev/null
    fi
    if ! out=$(ninja -C "$build" 2>&1); then
        printf '%s\n' "$out"
        say "build failed"
        exit 1
    fi
    if grep -q 'warning:' <<<"$out"; then
        printf '%s\n' "$out" | grep -A3 'warning:'
    fi
}

# Hugepages for nfv-vmm --hugepages and, later, DPDK: 512 x 2 MiB when fewer are
# free, and a hugetlbfs mount at /dev/hugepages.
prepare_host() {
    [ "$(id -u)" -eq 0 ] || return 0
    local free
    free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)
    if [ "$free" -lt 256 ]; then
        local total
        total=$(cat /proc/sys/vm/nr_hugepages)
        echo $((total + 512 - free)) > /proc/sys/vm/nr_hugepages 2>/dev/null || true
    fi
    if ! mountpoint -q /dev/hugepages 2>/dev/null; then
        mkdir -p /dev/hugepages
        mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || true
    fi
}

run_main() {
    local guest="$build/tests/guest/test-guest.elf"
    local cpus=2
    say "booting the built-in test guest under nfv-vmm ($cpus vCPUs); its console follows"
    "$build/vmm/nfv-vmm" --name demo --cpus "$cpus" --mem 128M \
        --kernel "$guest" --cmdline "mode=smp cpus=$cpus" --console stdio </dev/null
}

run_tests() {
    local log="$build/meson-logs/testlog.json" rc=0
    meson test -C "$build" --no-rebuild --print-errorlogs "$@" || rc=$?
    if [ -f "$log" ]; then
        python3 - "$log" <<'PY'
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0, "TIMEOUT": 0, "ERROR": 0, "EXPECTEDFAIL": 0,
          "UNEXPECTEDPASS": 0}
for line in open(sys.argv[1]):
    line = line.strip()
    if line:
        r = json.loads(line)["result"]
        counts[r] = counts.get(r, 0) + 1
passed = counts["OK"] + counts["EXPECTEDFAIL"]
failed = counts["FAIL"] + counts["TIMEOUT"] + counts["ERROR"] + counts["UNEXPECTEDPASS"]
print(f"nfvkit: {passed} passed, {failed} failed, {counts['SKIP']} skipped")
PY
    fi
    return $rc
}

cmd="${1:-}"
case "$cmd" in
    build|run|test) shift ;;
    -h|--help|"")
        sed -n '3,15p' "$0" | sed 's/^# \{0,1\}//'
        [ -n "$cmd" ] && exit 0 || exit 2 ;;
    *) say "unknown command '$cmd' (use run, test or build)"; exit 2 ;;
esac

install_pkgs "${build_pkgs[@]}"
[ "$cmd" = test ] && install_pkgs "${test_pkgs[@]}"
do_build
prepare_host
case "$cmd" in
    run) run_main ;;
    test) run_tests "$@" ;;
esac
