#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
#
# Exact Ethernet frames for the nfv-switchd integration tests, over
# AF_PACKET raw sockets (Python standard library only). Run inside a
# network namespace with `ip netns exec NS python3 swpkt.py ...`.
#
#   swpkt.py send IFACE --src MAC --dst MAC [--vlan VID [--pcp P]]
#            [--size BYTES] [--count N] [--rate FPS] [--marker TEXT]
#            [--stream SPEC]...
#   swpkt.py capture IFACE --duration S [--ready FILE] [--stop FILE]
#            [--linger S] [--src MAC] [--dst MAC] [--marker TEXT]
#            [--tagged yes|no] [--vid V] [--pcp P] [--window START,END]
#            [--max N] [--frames]
#
# Frames carry EtherType 0x88b5 (local experimental) after the optional
# 802.1Q tag, so no stack in the namespaces reacts to them. The payload is
# "SWPK", a 12-byte marker (the --marker text, NUL padded), a 4-byte
# sequence number, then bytes that depend on the sequence number and the
# offset, so a receiver can check every byte (`bad_payload`).
#
# send: --size is the payload length (bytes after the EtherType, at least
# 20; nothing pads short frames on a veth). --vlan 0 sends a priority tag.
# --rate paces the frames evenly (frames per second, against absolute
# times: a late start is caught up). --stream "src=MAC,dst=MAC,vlan=V,
# pcp=P,size=N,count=N,rate=F,marker=T" (keys optional, defaults from the
# other options) adds one more stream; several streams are interleaved by
# their own pacing. Prints {"sent": N, "elapsed": S, "send_errors": N,
# "streams": [...]} as JSON.
#
# capture: receives for at most --duration seconds, until --max matching
# frames, or until --linger seconds (default 0.5) after the file --stop
# appears, and prints JSON: count (frames that pass every filter), tagged,
# untagged, vids and pcps (counts by tag), sizes (min, max frame length
# with the tag), bad_payload (frames whose payload bytes are not what the
# sender wrote), by_marker, seqs (per marker: first, last, missing count),
# other (frames that are not swpkt.py's), and, with --window START,END
# (seconds after the first matching frame, kernel receive timestamps),
# window_count and window_by_marker. --frames adds every matching frame's
# summary. Frames the interface itself sent (PACKET_OUTGOING) are ignored.
# The VLAN tag is put back from the kernel's auxiliary data when the kernel
# took it off the frame. --ready FILE is created once the socket is bound.
import argparse
import json
import os
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETHERTYPE = 0x88B5
TPID = 0x8100
SOL_PACKET = 263
PACKET_AUXDATA = 8
SO_TIMESTAMPNS = 35
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
PACKET_OUTGOING = 4
MAGIC = b"SWPK"
MARKER_LEN = 12
HDR_LEN = len(MAGIC) + MARKER_LEN + 4  # magic, marker, sequence number


def mac_bytes(s):
    parts = s.split(":")
    if len(parts) != 6:
        raise ValueError("bad MAC address %r" % s)
    return bytes(int(p, 16) for p in parts)


def mac_str(b):
    return ":".join("%02x" % x for x in b)


def fill_byte(seq, off):
    return (seq * 31 + off * 7 + (off >> 8)) & 0xFF


def payload(marker, seq, size):
    size = max(size, HDR_LEN)
    m = marker.encode()[:MARKER_LEN].ljust(MARKER_LEN, b"\0")
    head = MAGIC + m + struct.pack("!I", seq)
    body = bytes(fill_byte(seq, off) for off in range(HDR_LEN, size))
    return head + body


class Stream:
    def __init__(self, src, dst, vlan, pcp, size, count, rate, marker):
        self.src = mac_bytes(src)
        self.dst = mac_bytes(dst)
        self.vlan = vlan
        self.pcp = pcp
        self.size = size
        self.count = count
        self.rate = rate
        self.marker = marker
        self.sent = 0
        # Building the filler is the slow part: fill_byte depends on the
        # sequence number only through seq * 31 mod 256, so bodies are
        # cached by seq & 0xff.
        self.cache = {}

    def build(self, seq):
        key = seq & 0xFF
        body = self.cache.get(key)
        if body is None:
            full = payload(self.marker, seq, self.size)
            body = full[HDR_LEN:]
            self.cache[key] = body
        m = self.marker.encode()[:MARKER_LEN].ljust(MARKER_LEN, b"\0")
        f = self.dst + self.src
        if self.vlan is not None:
            f += struct.pack("!HH", TPID, ((self.pcp & 7) << 13) | (self.vlan & 0xFFF))
        return f + struct.pack("!H", ETHERTYPE) + MAGIC + m + struct.pack("!I", seq) + body

    def due(self, t0):
        if self.rate <= 0:
            return t0
        return t0 + self.sent / self.rate


def parse_stream(spec, defaults):
    kw = dict(defaults)
    for item in spec.split(","):
        if not item:
            continue
        k, _, v = item.partition("=")
        if k not in kw:
            raise SystemExit("swpkt: unknown stream key %r" % k)
        kw[k] = v
    vlan = None if kw["vlan"] in (None, "", "none") else int(kw["vlan"])
    return Stream(kw["src"], kw["dst"], vlan, int(kw["pcp"] or 0), int(kw["size"]),
                  int(kw["count"]), float(kw["rate"]), kw["marker"])


def cmd_send(a):
    defaults = {"src": a.src, "dst": a.dst, "vlan": a.vlan, "pcp": a.pcp, "size": a.size,
                "count": a.count, "rate": a.rate, "marker": a.marker}
    streams = []
    if a.stream:
        streams = [parse_stream(s, defaults) for s in a.stream]
    else:
        if a.src is None or a.dst is None:
            raise SystemExit("swpkt: send needs --src and --dst (or --stream)")
        streams = [parse_stream("", defaults)]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.bind((a.iface, 0))
    t0 = time.monotonic()
    errors = 0
    while True:
        live = [st for st in streams if st.sent < st.count]
        if not live:
            break
        st = min(live, key=lambda x: x.due(t0))
        wait = st.due(t0) - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        try:
            s.send(st.build(st.sent))
        except OSError:
            errors += 1  # ENOBUFS: the frame is not sent; counted
            time.sleep(0.001)
            continue
        st.sent += 1
    elapsed = time.monotonic() - t0
    s.close()
    out = {"sent": sum(st.sent for st in streams), "elapsed": round(elapsed, 4),
           "send_errors": errors,
           "streams": [{"marker": st.marker, "sent": st.sent} for st in streams]}
    print(json.dumps(out))
    return 0


def cmd_capture(a):
    want_src = mac_bytes(a.src) if a.src else None
    want_dst = mac_bytes(a.dst) if a.dst else None
    window = None
    if a.window:
        w0, w1 = a.window.split(",")
        window = (float(w0), float(w1))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.bind((a.iface, 0))
    if a.ready:
        with open(a.ready, "w") as f:
            f.write("ready\n")
    res = {"count": 0, "tagged": 0, "untagged": 0, "vids": {}, "pcps": {}, "sizes": None,
           "bad_payload": 0, "by_marker": {}, "seqs": {}, "other": 0}
    if window:
        res["window_count"] = 0
        res["window_by_marker"] = {}
    frames = []
    seqs = {}
    want_cache = {}
    first_ts = None
    deadline = time.monotonic() + a.duration
    stopping = False
    while True:
        now = time.monotonic()
        if a.stop and not stopping and os.path.exists(a.stop):
            stopping = True
            deadline = min(deadline, now + a.linger)
        left = deadline - now
        if left <= 0:
            break
        s.settimeout(min(left, 0.05) if a.stop and not stopping else left)
        try:
            data, anc, _flags, addr = s.recvmsg(65536, 256)
        except socket.timeout:
            continue
        if addr[2] == PACKET_OUTGOING:
            continue
        ts = None
        for level, typ, cdata in anc:
            if level == SOL_PACKET and typ == PACKET_AUXDATA and len(cdata) >= 20:
                status, _len, _snap, _mac, _net, tci, tpid = struct.unpack("IIIHHHH", cdata[:20])
                if status & TP_STATUS_VLAN_VALID:
                    if not status & TP_STATUS_VLAN_TPID_VALID or tpid == 0:
                        tpid = TPID
                    data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
            elif level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS and len(cdata) >= 16:
                sec, nsec = struct.unpack("qq", cdata[:16])
                ts = sec + nsec / 1e9
        if ts is None:
            ts = time.time()
        if len(data) < 14:
            continue
        dst, src = data[0:6], data[6:12]
        etype = struct.unpack("!H", data[12:14])[0]
        off = 14
        vid = pcp = None
        if etype in (0x8100, 0x88A8):
            if len(data) < 18:
                continue
            tci = struct.unpack("!H", data[14:16])[0]
            vid, pcp = tci & 0xFFF, tci >> 13
            etype = struct.unpack("!H", data[16:18])[0]
            off = 18
        if etype != ETHERTYPE or data[off:off + 4] != MAGIC:
            res["other"] += 1
            continue
        marker = data[off + 4:off + 4 + MARKER_LEN].rstrip(b"\0").decode(errors="replace")
        if want_src is not None and src != want_src:
            continue
        if want_dst is not None and dst != want_dst:
            continue
        if a.marker is not None and marker != a.marker:
            continue
        if a.tagged == "yes" and vid is None or a.tagged == "no" and vid is not None:
            continue
        if a.vid is not None and vid != a.vid:
            continue
        if a.pcp is not None and pcp != a.pcp:
            continue
        seq = struct.unpack("!I", data[off + 4 + MARKER_LEN:off + HDR_LEN])[0]
        body = data[off + HDR_LEN:]
        want = want_cache.get((seq & 0xFF, len(body)))
        if want is None:
            want = bytes(fill_byte(seq, o) for o in range(HDR_LEN, HDR_LEN + len(body)))
            want_cache[(seq & 0xFF, len(body))] = want
        if body != want:
            res["bad_payload"] += 1
        res["count"] += 1
        if vid is None:
            res["untagged"] += 1
        else:
            res["tagged"] += 1
            res["vids"][str(vid)] = res["vids"].get(str(vid), 0) + 1
            res["pcps"][str(pcp)] = res["pcps"].get(str(pcp), 0) + 1
        n = len(data)
        res["sizes"] = [n, n] if res["sizes"] is None else [min(res["sizes"][0], n),
                                                            max(res["sizes"][1], n)]
        res["by_marker"][marker] = res["by_marker"].get(marker, 0) + 1
        sq = seqs.setdefault(marker, [seq, seq, set()])
        sq[0] = min(sq[0], seq)
        sq[1] = max(sq[1], seq)
        sq[2].add(seq)
        if first_ts is None:
            first_ts = ts
        if window and window[0] <= ts - first_ts < window[1]:
            res["window_count"] += 1
            res["window_by_marker"][marker] = res["window_by_marker"].get(marker, 0) + 1
        if a.frames:
            frames.append({"src": mac_str(src), "dst": mac_str(dst), "vid": vid, "pcp": pcp,
                           "len": n, "marker": marker, "seq": seq,
                           "t": round(ts - first_ts, 6)})
        if a.max and res["count"] >= a.max:
            break
    s.close()
    for m, (lo, hi, got) in seqs.items():
        res["seqs"][m] = {"first": lo, "last": hi, "missing": hi - lo + 1 - len(got)}
    if a.frames:
        res["frames"] = frames
    print(json.dumps(res, sort_keys=True))
    return 0


def main():
    p = argparse.ArgumentParser(description="exact Ethernet frames over AF_PACKET")
    sub = p.add_subparsers(dest="cmd", required=True)
    ps = sub.add_parser("send")
    ps.add_argument("iface")
    ps.add_argument("--src")
    ps.add_argument("--dst")
    ps.add_argument("--vlan")
    ps.add_argument("--pcp", default="0")
    ps.add_argument("--size", default="46", help="payload bytes after the EtherType")
    ps.add_argument("--count", default="1")
    ps.add_argument("--rate", default="0", help="frames per second, 0 = as fast as possible")
    ps.add_argument("--marker", default="t")
    ps.add_argument("--stream", action="append")
    pc = sub.add_parser("capture")
    pc.add_argument("iface")
    pc.add_argument("--duration", type=float, required=True)
    pc.add_argument("--ready")
    pc.add_argument("--stop")
    pc.add_argument("--linger", type=float, default=0.5)
    pc.add_argument("--src")
    pc.add_argument("--dst")
    pc.add_argument("--marker")
    pc.add_argument("--tagged", choices=["yes", "no"])
    pc.add_argument("--vid", type=int)
    pc.add_argument("--pcp", type=int)
    pc.add_argument("--window")
    pc.add_argument("--max", type=int, default=0)
    pc.add_argument("--frames", action="store_true")
    a = p.parse_args()
    try:
        return cmd_send(a) if a.cmd == "send" else cmd_capture(a)
    except (OSError, ValueError) as e:
        print("swpkt: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
