#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# nfv-switchd's and nfv-switchctl's command lines, configuration errors,
# the control socket's refusals and DPDK telemetry:
#   options    --help and --version exit 0; bad options, a bad --port spec,
#              a stray argument, a bad --pmd-cores or --log-level exit 2
#              with one line naming the problem
#   bad-yaml   a syntax error, a tab, an unknown key, a bad VLAN, a duplicate
#              port name: each exits 2 with "FILE:LINE:COL: ..." naming the right
#              line, and starts nothing (no control socket, no
#              /var/run/dpdk/PREFIX)
#   start      a file whose port cannot be made (a dpdk port on a PCI
#              address with no device; a server socket in a missing
#              directory): exit 1 naming the port, why, and FILE:LINE:COL;
#              nothing left (control socket, runtime directory, the
#              server socket of the port made before it)
#   no-switch  nfv-switchctl against a socket nobody listens on: status 1,
#              "cannot connect to PATH"
#   ctl        a good file (two vhost-user ports the switch listens on, one
#              static FDB entry): show, port show, fdb show, stats clear;
#              refused requests (an unknown port, VLAN 5000, a bad policer,
#              deleting an unknown port, adding a port on another port's
#              socket or with another port's name) exit 1 (VLAN 5000 is refused by
#              nfv-switchctl itself, status 2, and by the switch when sent
#              as JSON) and `show` is the same after them
#   telemetry  dpdk-telemetry.py -f PREFIX answers /nfv/ports (both ports),
#              /nfv/ports,p1, /nfv/fdb (the static entry), /nfv/bridges
#   stop       SIGTERM: exit status 0, the control socket removed
#
# The switch runs without hugepages (--no-huge) and polls on lcore 0; no
# peer connects. Its own --file-prefix (not the default nfv-switchd) keeps
# its telemetry socket apart from any other switch's.
set -u

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
. "$here/lib.sh"
. "$here/lib_vmm_nic.sh"
. "$here/lib_switch_vhost.sh"

require_root
require_cmd timeout python3
sw_init

d=$TEST_TMPDIR
prefix=swcli$$
on_exit "rm -rf /var/run/dpdk/$prefix"
eal=(--no-huge -m 256 --no-shconf --file-prefix="$prefix")

# run_sw SECS ARGS...: nfv-switchd ARGS in the foreground; $st, $out (stdout
# and stderr).
run_sw()
{
	local secs=$1

	shift
	out=$(timeout --kill-after=5 "$secs" "$SWITCHD" "$@" </dev/null 2>&1)
	st=$?
}

# ---------------------------------------------------------------------------
# options
run_sw 10 --help
[ "$st" = 0 ] && grep -q -- '--config FILE' <<<"$out" && grep -q -- '--port SPEC' <<<"$out" &&
	ok "--help: status 0, the usage" || check_fail "--help: status $st, output: $(head -3 <<<"$out")"
run_sw 10 --version
[ "$st" = 0 ] && grep -q -E '^nfv-switchd [0-9]+\.[0-9]+' <<<"$out" &&
	ok "--version: status 0, $out" || check_fail "--version: status $st, output: $out"

# bad_opt REGEX ARGS...: status 2 and a line matching REGEX.
bad_opt()
{
	local re=$1

	shift
	run_sw 10 --ctl "$d/opt.ctl" "$@"
	if [ "$st" = 2 ] && grep -q -E -- "$re" <<<"$out"; then
		ok "bad options '$*': status 2: $(grep -m1 -E -- "$re" <<<"$out")"
	else
		check_fail "bad options '$*': status $st, output: $(head -3 <<<"$out")"
	fi
}
bad_opt 'Usage:' --no-such-option
bad_opt 'give --config FILE or at least one --port'
bad_opt "vlan must be 1\.\.4094" --port 'tap:swcli0,vlan=5000'
bad_opt "unknown option 'speed=" --port 'tap:swcli0,speed=10'
bad_opt "unexpected argument 'extra'" --port tap:swcli0 extra
bad_opt "pmd-cores: 'abc'" --pmd-cores abc --port tap:swcli0
bad_opt "bad --log-level 'loud'" --log-level loud --port tap:swcli0
[ -e "$d/opt.ctl" ] && check_fail "bad options: a control socket appeared" ||
	ok "bad options: no control socket appeared"

# ---------------------------------------------------------------------------
# bad-yaml: bad_yaml NAME LINE:COL REGEX: nfv-switchd --config NAME.yaml
# exits 2 with one line "NAME.yaml:LINE:COL: ..." matching REGEX, nothing
# started.
bad_yaml()
{
	local f=$d/$1.yaml where=$2 re=$3

	run_sw 20 --config "$f" --ctl "$d/bad.ctl" -- "${eal[@]}"
	if [ "$st" = 2 ] && [ "$(wc -l <<<"$out")" = 1 ] &&
		grep -q -E -- "^nfv-switchd: $f:$where: $re" <<<"$out"; then
		ok "$1: status 2: ${out#nfv-switchd: "$d"/}"
	else
		check_fail "$1: status $st (expected 2 and one line '$1.yaml:$where: ...'), output:"
		sed 's/^/    /' <<<"$out" | head -10
	fi
	[ -e "$d/bad.ctl" ] && check_fail "$1: the control socket appeared" ||
		ok "$1: no control socket"
	[ -e "/var/run/dpdk/$prefix" ] && check_fail "$1: /var/run/dpdk/$prefix appeared" ||
		ok "$1: no /var/run/dpdk/$prefix"
	rm -rf "$d/bad.ctl" "/var/run/dpdk/$prefix"
}

# An unclosed flow mapping on line 6: the parser sees it at the next entry.
cat >"$d/bad_syntax.yaml" <<EOF
switch:
  mbufs: 8192
bridges:
  - name: br0
    ports:
      - { name: p0, type: vhost-user, path: $d/x.sock
      - { name: p1, type: vhost-user, path: $d/y.sock }
EOF
bad_yaml bad_syntax 7:9 "syntax error: .*flow mapping at line 6"

# A tab where YAML wants spaces.
printf 'bridges:\n  - name: br0\n    ports:\n\t- { name: p0, type: vhost-user, path: %s/x.sock }\n' \
	"$d" >"$d/bad_tab.yaml"
bad_yaml bad_tab 4:1 "syntax error"

cat >"$d/bad_key.yaml" <<EOF
bridges:
  - name: br0
    ports:
      - name: p0
        type: vhost-user
        path: $d/x.sock
        iface-name: foo
EOF
bad_yaml bad_key 7:9 "port: unknown key 'iface-name'"

cat >"$d/bad_vlan.yaml" <<EOF
bridges:
  - name: br0
    ports:
      - { name: p0, type: vhost-user, path: $d/x.sock }
      - name: p1
        type: vhost-user
        path: $d/y.sock
        vlan: { mode: access, tag: 5000 }
EOF
bad_yaml bad_vlan '8:[0-9]+' "tag must be 1\.\.4094 \(got '5000'\)"

cat >"$d/bad_dup.yaml" <<EOF
bridges:
  - name: br0
    ports:
      - { name: p0, type: vhost-user, path: $d/x.sock }
  - name: br1
    ports:
      - { name: p0, type: vhost-user, path: $d/y.sock }
EOF
bad_yaml bad_dup '7:[0-9]+' "duplicate port name 'p0' \(first at line 4\)"

# ---------------------------------------------------------------------------
# start errors: bad_start NAME REGEX: nfv-switchd --config NAME.yaml exits 1
# (the file is fine, a port cannot be made) with an error line matching
# REGEX that ends with where the port is in the file; nothing stays behind
# (control socket, EAL's runtime directory, the ports made before).
bad_start()
{
	local f=$d/$1.yaml re=$2

	run_sw 30 --config "$f" --ctl "$d/bad.ctl" -- "${eal[@]}"
	if [ "$st" = 1 ] && grep -q -E -- "error: $re \($f:[0-9]+:[0-9]+\)$" <<<"$out"; then
		ok "$1: status 1: $(grep -m1 -o -E -- "$re" <<<"$out")"
	else
		check_fail "$1: status $st (expected 1 and an error matching '$re'), output:"
		sed 's/^/    /' <<<"$out" | tail -5
	fi
	[ -e "$d/bad.ctl" ] && check_fail "$1: the control socket appeared" ||
		ok "$1: no control socket"
	[ -e "/var/run/dpdk/$prefix" ] && check_fail "$1: /var/run/dpdk/$prefix left behind" ||
		ok "$1: no /var/run/dpdk/$prefix left behind"
	[ -e "$d/first.sock" ] && check_fail "$1: the first port's socket left behind" ||
		ok "$1: the first port's socket is gone"
	rm -rf "$d/bad.ctl" "/var/run/dpdk/$prefix" "$d/first.sock"
}

# A PCI address with no device behind it (the port type no NIC here can
# test further): the probe fails, the switch says which port and why.
cat >"$d/bad_pci.yaml" <<EOF
bridges:
  - name: br0
    ports:
      - { name: p0, type: vhost-user, path: $d/first.sock, server: true }
      - { name: nic, type: dpdk, pci: "0000:7f:1f.7" }
EOF
bad_start bad_pci "port nic: cannot probe PCI device 0000:7f:1f.7: .*vfio-pci or uio_pci_generic\\?\\)"

# A server socket in a directory that is not there.
cat >"$d/bad_dir.yaml" <<EOF
bridges:
  - name: br0
    ports:
      - { name: p0, type: vhost-user, path: $d/first.sock, server: true }
      - { name: vm, type: vhost-user, path: $d/nodir/vm.sock, server: true }
EOF
bad_start bad_dir "port vm: cannot listen on $d/nodir/vm.sock: directory $d/nodir: No such file or directory"

# ---------------------------------------------------------------------------
# no-switch
out=$(timeout 20 "$SWITCHCTL" --ctl "$d/nothing.sock" show 2>&1)
st=$?
[ "$st" = 1 ] && grep -q "cannot connect to $d/nothing.sock" <<<"$out" &&
	ok "no-switch: nfv-switchctl: status 1: $out" ||
	check_fail "no-switch: nfv-switchctl: status $st, output: $out"

# ---------------------------------------------------------------------------
# ctl
cat >"$d/good.yaml" <<EOF
switch:
  pmd-cores: "0"
  mbufs: 4096
bridges:
  - name: br0
    static:
      - { mac: "02:00:00:5e:20:01", port: p0 }
    ports:
      - { name: p0, type: vhost-user, path: $d/g0.sock, server: true }
      - { name: p1, type: vhost-user, path: $d/g1.sock, server: true, vlan: { mode: access, tag: 10 } }
EOF
sw_start good --config "$d/good.yaml" -- "${eal[@]}" || fail "ctl: nfv-switchd did not start"

# ctl_ok DESC REGEX ARGS...: nfv-switchctl ARGS exits 0 and prints a line
# matching REGEX.
ctl_ok()
{
	local desc=$1 re=$2

	shift 2
	out=$(swctl "$@" 2>&1)
	st=$?
	if [ "$st" = 0 ] && grep -q -E -- "$re" <<<"$out"; then
		ok "ctl: $desc"
	else
		check_fail "ctl: $desc: status $st, output:"
		sed 's/^/    /' <<<"$out" | head -10
	fi
}
ctl_ok "show: both ports, the bridge" 'bridge br0: .*fdb 1/8192 entries \(1 static\)' show
grep -q -E '^ +port p0: vhost-user .*/g0\.sock \(server\)' <<<"$out" &&
	grep -q -E '^ +port p1: vhost-user .*/g1\.sock \(server\)' <<<"$out" &&
	ok "ctl: show lists p0 and p1 as vhost-user servers" || check_fail "ctl: show: $out"
ctl_ok "port show p1: access VLAN 10" 'vlan: access 10' port show p1
ctl_ok "fdb show br0: the static entry" '^ *p0 +0 +02:00:00:5e:20:01 +static' fdb show br0
ctl_ok "stats clear" '' stats clear
v=$(sw_port p0 'p["name"], p["type"], p["server"], p["link_up"], p["stats"]["rx_packets"]')
[ "$v" = "('p0', 'vhost-user', True, False, 0)" ] &&
	ok "ctl: port show p0 --json: $v" || check_fail "ctl: port show p0 --json: $v"

# state: `show --json`'s result without the uptime.
state()
{
	swctl --json show | python3 -c 'import json, sys
r = json.load(sys.stdin)["result"]
r["switch"].pop("uptime_ms", None)
print(json.dumps(r, sort_keys=True))'
}
before=$(state)

# refused EXPECTED-STATUS REGEX ARGS...
refused()
{
	local want=$1 re=$2

	shift 2
	out=$(swctl "$@" 2>&1)
	st=$?
	if [ "$st" = "$want" ] && grep -q -E -- "$re" <<<"$out"; then
		ok "ctl: '$*' refused, status $st: $(head -1 <<<"$out")"
	else
		check_fail "ctl: '$*': status $st (expected $want), output: $out"
	fi
}
refused 1 'no port "?nope' port show nope
refused 1 'no port "?nope' port del nope
refused 1 'no port "?nope' port set nope vlan=10
refused 1 'cbs and ebs must be more than 0' port set p0 policer=srtcm,cir=10mbit,cbs=0,ebs=1kB
refused 1 'missing argument "ebs"' port set p0 policer=srtcm,cir=10mbit,cbs=1kB
refused 1 'no port "?nope' fdb add br0 02:00:00:5e:20:02 0 nope
refused 1 "socket path '$d/g0.sock' is already used by port p0" port add br0 "vhost-user:$d/g0.sock,name=p9"
refused 1 'port p1 exists already' port add br0 "vhost-user:$d/g9.sock,name=p1"
refused 2 '"5000" is not a number in 1\.\.4094' port set p1 vlan=5000
# The same VLAN sent as JSON reaches the switch, which refuses it.
r=$(api "$sw_ctl" '{"cmd":"port-set-vlan","port":"p1","vlan":5000}')
[ "$(api_field "$r" 'r["ok"]' 2>/dev/null)" = False ] &&
	ok "ctl: port-set-vlan p1 vlan 5000 as JSON refused: $(api_field "$r" 'r["error"]')" ||
	check_fail "ctl: port-set-vlan p1 vlan 5000 as JSON: ${r:-no answer}"
after=$(state)
[ -n "$before" ] && [ "$before" = "$after" ] && ok "ctl: show is the same after the refused requests" ||
	check_fail "ctl: show changed after the refused requests:"$'\n'"    $before"$'\n'"    $after"

# ---------------------------------------------------------------------------
# telemetry
f0=$failures
if command -v dpdk-telemetry.py >/dev/null 2>&1; then
	tout=$(printf '/nfv/ports\n/nfv/ports,p1\n/nfv/fdb\n/nfv/bridges\n' |
		timeout 20 dpdk-telemetry.py -f "$prefix" 2>&1)
	while IFS='|' read -r kind line; do
		case $kind in
		ok) ok "telemetry: $line" ;;
		*) check_fail "telemetry: $line" ;;
		esac
	done < <(python3 - "$tout" <<'PY'
import json, sys
ans = {}
for l in sys.argv[1].splitlines():
    try:
        ans.update(json.loads(l))
    except ValueError:
        pass
def check(desc, cond):
    print(("ok|" if cond else "fail|") + desc)
# Both /nfv/ports answers come under the same name: in the order asked.
q = [json.loads(l)["/nfv/ports"] for l in sys.argv[1].splitlines()
     if l.startswith("{") and '"/nfv/ports"' in l]
p = q[0] if q else None
check(f"/nfv/ports has p0 and p1: {sorted(p) if isinstance(p, dict) else p}",
      isinstance(p, dict) and "p0" in p and "p1" in p and p["p0"].get("link_up") == 0)
one = q[1] if len(q) > 1 else None
check(f"/nfv/ports,p1: {one and {k: one.get(k) for k in ('name', 'bridge', 'type')}}",
      isinstance(one, dict) and one.get("name") == "p1" and one.get("type") == "vhost-user"
      and one.get("bridge") == "br0")
f = ans.get("/nfv/fdb")
e = f.get("02_00_00_5e_20_01/0") if isinstance(f, dict) else None
check(f"/nfv/fdb has the static entry: {e}",
      isinstance(e, dict) and e.get("port") == "p0" and e.get("static") == 1)
b = ans.get("/nfv/bridges")
check(f"/nfv/bridges: br0 with 2 ports, 1 static entry",
      isinstance(b, dict) and b.get("br0", {}).get("n_ports") == 2
      and b["br0"].get("fdb_statics") == 1)
PY
	)
	[ "$failures" -eq "$f0" ] || sed 's/^/    /' <<<"$tout"
else
	check_fail "telemetry: dpdk-telemetry.py not found (dpdk-dev)"
fi

# ---------------------------------------------------------------------------
# stop
sw_stop 10
[ "$sw_status" = 0 ] && ok "stop: SIGTERM: status 0" || check_fail "stop: SIGTERM: status $sw_status"
[ -e "$d/good.ctl" ] && check_fail "stop: the control socket is still there" ||
	ok "stop: the control socket is gone"

finish
