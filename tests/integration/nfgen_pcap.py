#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Checks pcap files of nfguest's generated frames (docs/nfguest.md,
"Generated frames") for the integration tests.

  nfgen_pcap.py check FILE COUNT [FLOWS]
      FILE holds exactly COUNT frames, all generated ones (UDP to port 9000,
      magic 0x4e46), every flow's sequence numbers 0, 1, 2, ... in order,
      each one whole as nfguest's sink checks it (lengths, IPv4 header
      checksum, the payload pattern of docs/nfguest.md).
  nfgen_pcap.py tshark FILE COUNT
      the same count and order, as tshark reads the file (tshark -r).
  nfgen_pcap.py compare FILE_A FILE_B [SRC_MAC]
      the generated frames of both files (only those from SRC_MAC when
      given) are the same frames: same number, and frame by frame the same
      length and bytes, except the sender's time stamp in the payload
      (8 bytes at UDP payload offset 10), which is masked.

Exit status 0 when the check holds, 1 when not (with the reason), 2 on
bad use or an unreadable file.
"""
import struct
import subprocess
import sys

ETH_HLEN = 14
IP_HLEN = 20
UDP_HLEN = 8
PAYLOAD_OFF = ETH_HLEN + IP_HLEN + UDP_HLEN
MAGIC = 0x4E46
DPORT = 9000
SPORT_BASE = 1024
TS_OFF = PAYLOAD_OFF + 10  # u16 magic, u64 seq, then u64 time stamp
TS_LEN = 8
MAX_RECORD = 262144


def read_pcap(path):
    """Frames (bytes) of a classic pcap file, any byte order, us or ns."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError(f"{path}: shorter than a pcap header")
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        end = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        end = ">"
    else:
        raise ValueError(f"{path}: not a pcap file (magic {magic:#x})")
    linktype = struct.unpack(end + "I", data[20:24])[0] & 0x0FFFFFFF
    if linktype != 1:
        raise ValueError(f"{path}: link type {linktype}, not Ethernet")
    frames, off = [], 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(end + "IIII", data[off:off + 16])
        if caplen > MAX_RECORD or off + 16 + caplen > len(data):
            raise ValueError(f"{path}: record {len(frames) + 1} is cut or too long")
        frames.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return frames


def gen_fields(frame):
    """(flow, seq) of a generated frame, or None."""
    if len(frame) < PAYLOAD_OFF + 18:
        return None
    if frame[12:14] != b"\x08\x00" or frame[ETH_HLEN] != 0x45 or frame[ETH_HLEN + 9] != 17:
        return None
    sport, dport = struct.unpack(">HH", frame[ETH_HLEN + IP_HLEN:ETH_HLEN + IP_HLEN + 4])
    magic, seq = struct.unpack("<HQ", frame[PAYLOAD_OFF:PAYLOAD_OFF + 10])
    if dport != DPORT or magic != MAGIC or sport < SPORT_BASE:
        return None
    return sport - SPORT_BASE, seq


PATTERN_OFF = PAYLOAD_OFF + 18
PATTERN_BLOCK = 512
SEED_MUL = 0x9E3779B97F4A7C15
M64 = (1 << 64) - 1


def gen_pattern(flow, seq, length):
    """The bytes nfguest's gen puts after the 18-byte payload header."""
    seed = ((seq ^ (flow << 48)) * SEED_MUL) & M64
    out = bytearray()
    n = length - PATTERN_OFF
    block = 0
    while len(out) + 8 <= n:
        words = min(PATTERN_BLOCK // 8, (n - len(out)) // 8)
        out += struct.pack("<Q", (seed + block) & M64) * words
        block += 1
    out += struct.pack("<Q", (seed + block) & M64)[:n - len(out)]
    return bytes(out)


def gen_intact(frame, flow, seq):
    """None when a generated frame is whole, else what is wrong."""
    ip = frame[ETH_HLEN:ETH_HLEN + IP_HLEN]
    tot, = struct.unpack(">H", ip[2:4])
    ulen, = struct.unpack(">H", frame[ETH_HLEN + IP_HLEN + 4:ETH_HLEN + IP_HLEN + 6])
    if len(frame) != ETH_HLEN + tot or ulen != tot - IP_HLEN:
        return f"{len(frame)} bytes, IPv4 total length {tot}, UDP length {ulen}"
    csum = sum(struct.unpack(">10H", ip))
    while csum >> 16:
        csum = (csum & 0xFFFF) + (csum >> 16)
    if csum != 0xFFFF:
        return "bad IPv4 header checksum"
    if frame[PATTERN_OFF:] != gen_pattern(flow, seq, len(frame)):
        return "payload pattern differs"
    return None


def check_order(pairs, count, what):
    """pairs: (flow, seq) per frame in file order. Returns an error or None."""
    if len(pairs) != count:
        return f"{what}: {len(pairs)} generated frames, expected {count}"
    nxt = {}
    for i, (flow, seq) in enumerate(pairs):
        want = nxt.get(flow, 0)
        if seq != want:
            return f"{what}: frame {i + 1}: flow {flow} sequence {seq}, expected {want}"
        nxt[flow] = want + 1
    return None


def cmd_check(path, count, flows=None):
    frames = read_pcap(path)
    pairs = [gen_fields(f) for f in frames]
    if None in pairs:
        i = pairs.index(None)
        return f"{path}: frame {i + 1} ({len(frames[i])} bytes) is not a generated frame"
    err = check_order(pairs, count, path)
    if err:
        return err
    for i, (f, (flow, seq)) in enumerate(zip(frames, pairs), 1):
        err = gen_intact(f, flow, seq)
        if err:
            return f"{path}: frame {i} (flow {flow}, sequence {seq}) is not whole: {err}"
    nflows = len({p[0] for p in pairs})
    if flows is not None and nflows != flows:
        return f"{path}: {nflows} flows, expected {flows}"
    sizes = sorted({len(f) for f in frames})
    print(f"{path}: {count} generated frames, {nflows} flow(s), sequence numbers in order, "
          f"each one whole, sizes {sizes}")
    return None


def cmd_tshark(path, count):
    cmd = ["tshark", "-r", path, "-d", f"udp.port=={DPORT},data", "-T", "fields",
           "-e", "frame.len", "-e", "udp.srcport", "-e", "udp.dstport", "-e", "data.data"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        return f"tshark -r {path} failed ({res.returncode}): {res.stderr.strip()[-300:]}"
    pairs = []
    for n, line in enumerate(res.stdout.splitlines(), 1):
        cols = line.split("\t")
        if len(cols) < 4 or cols[2] != str(DPORT) or len(cols[3]) < 20:
            return f"tshark: frame {n} is not a generated frame: {line[:120]!r}"
        payload = bytes.fromhex(cols[3].replace(":", ""))
        magic, seq = struct.unpack("<HQ", payload[:10])
        if magic != MAGIC:
            return f"tshark: frame {n}: magic {magic:#x}"
        pairs.append((int(cols[1]) - SPORT_BASE, seq))
    err = check_order(pairs, count, "tshark")
    if err:
        return err
    print(f"tshark -r {path}: {count} frames to UDP port {DPORT}, sequence numbers in order")
    return None


def mac_bytes(s):
    return bytes(int(x, 16) for x in s.split(":"))


def cmd_compare(path_a, path_b, src=None):
    out = []
    for path in (path_a, path_b):
        frames = [f for f in read_pcap(path) if gen_fields(f) is not None]
        if src is not None:
            frames = [f for f in frames if f[6:12] == mac_bytes(src)]
        out.append(frames)
    a, b = out
    if not a:
        return f"{path_a}: no generated frames"
    if len(a) != len(b):
        return f"{len(a)} generated frames in {path_a}, {len(b)} in {path_b}"
    for i, (fa, fb) in enumerate(zip(a, b), 1):
        if len(fa) != len(fb):
            return f"frame {i}: {len(fa)} bytes vs {len(fb)} bytes"
        ma = fa[:TS_OFF] + bytes(TS_LEN) + fa[TS_OFF + TS_LEN:]
        mb = fb[:TS_OFF] + bytes(TS_LEN) + fb[TS_OFF + TS_LEN:]
        if ma != mb:
            diff = [j for j in range(len(ma)) if ma[j] != mb[j]]
            return (f"frame {i}: bytes differ at offsets {diff[:16]} "
                    f"(A {ma[diff[0]:diff[0] + 8].hex()} B {mb[diff[0]:diff[0] + 8].hex()})")
    sizes = sorted({len(f) for f in a})
    print(f"{len(a)} frames compared, sizes {sizes}: the same length and bytes frame by "
          f"frame (Ethernet header, IPv4 header with ID/TTL/checksum, UDP header, payload "
          f"magic and sequence number, payload pattern); only the 8-byte time stamp masked")
    return None


def main(argv):
    try:
        if len(argv) in (4, 5) and argv[1] == "check":
            err = cmd_check(argv[2], int(argv[3]), int(argv[4]) if len(argv) == 5 else None)
        elif len(argv) == 4 and argv[1] == "tshark":
            err = cmd_tshark(argv[2], int(argv[3]))
        elif len(argv) in (4, 5) and argv[1] == "compare":
            err = cmd_compare(argv[2], argv[3], argv[4] if len(argv) == 5 else None)
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except (OSError, ValueError, subprocess.TimeoutExpired) as e:
        print(f"error: {e}")
        return 2
    if err:
        print(f"mismatch: {err}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
