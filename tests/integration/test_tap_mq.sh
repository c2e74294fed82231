#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The multiqueue tap backend (vmm/netdev_tap.c) against the kernel's tun
# driver, in a private network namespace: tap_mq (tap_mq.c) opens a 4-queue
# tap on two event loops and checks flow spreading, exactly-once delivery,
# detached queues, sending, run-time offload changes, the link on every
# queue and the refusals (a single-queue tap opened with 2 queues, 17
# queues). This script makes the namespace and the single-queue tap, runs
# the program there and removes both.
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib.sh"

require_env NFV_BUILD_DIR "run through meson test"
prog=$NFV_BUILD_DIR/tests/integration/tap_mq
[ -x "$prog" ] || skip "tap_mq not built"
require_root
require_cmd ip timeout
[ -c /dev/net/tun ] || skip "no /dev/net/tun"

# Unique names: namespace and taps carry this shell's PID.
ns=nfvmq-$$
mqtap=nfvmq$$a
sqtap=nfvmq$$s
ip netns add "$ns" || skip "cannot create a network namespace"
on_exit "ip netns del $ns 2>/dev/null"
nsx() { ip netns exec "$ns" "$@"; }
nsx ip link set lo up
# No IPv6 on new interfaces: less noise on the tap (the program ignores it anyway).
nsx sysctl -q -w net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
nsx ip tuntap add "$sqtap" mode tap || fail "cannot create the single-queue tap $sqtap"
on_exit "ip netns exec $ns ip link del $sqtap 2>/dev/null"
# The program creates $mqtap itself; remove it should the program die with it open.
on_exit "ip netns exec $ns ip link del $mqtap 2>/dev/null"

out=$TEST_TMPDIR/tap_mq.out
run_timeout 90 ip netns exec "$ns" "$prog" "$mqtap" "$sqtap" >"$out" 2>&1
st=$?
cat "$out"
case $st in
0) ok "tap_mq passed" ;;
77) exit 77 ;;
124 | 137) check_fail "tap_mq did not finish within 90 s" ;;
*) check_fail "tap_mq exited with status $st" ;;
esac
if nsx ip link show "$mqtap" >/dev/null 2>&1; then
	check_fail "$mqtap still exists after the program ended"
else
	ok "$mqtap went away with the program"
fi
finish
