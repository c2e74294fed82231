#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Writes the seed inputs of fuzz_virtq (see tests/fuzz/fuzz_virtq.c for the
# input format) next to this script: direct, indirect and EVENT_IDX rings.
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
R0 = 0x800  # bytes of region 0 the seed fills (region 1 gets as many)


def gpa(region, off):
    return struct.pack('<BH', region, off)


def desc(addr, length, flags, nxt):
    return struct.pack('<QIHH', addr, length, flags, nxt)


def seed(name, features, descs, heads, ind=b'', ops=b''):
    hdr = bytes([3, features])  # size 8
    hdr += gpa(0, 0x000) + gpa(0, 0x100) + gpa(1, 0x000)  # desc, avail, used
    r0 = bytearray(R0)
    for i, d in descs.items():
        r0[16 * i:16 * i + 16] = d
    avail = struct.pack('<HH', 0, len(heads)) + b''.join(struct.pack('<H', h) for h in heads)
    r0[0x100:0x100 + len(avail)] = avail
    r0[0x200:0x200 + len(ind)] = ind
    r1 = bytes(R0)
    # fill = (bytes after the header) / 2: ops take the other half.
    ops = ops.ljust(2 * R0, b'\x04')
    with open(os.path.join(HERE, name), 'wb') as f:
        f.write(hdr + bytes(r0) + r1 + ops)


POP, PUSH, NOTIFY, SETN = b'\x00', b'\x02', b'\x04', b'\x0d'
seed('direct', 0,
     {0: desc(0x400, 64, 1, 1), 1: desc(0x10400, 128, 2, 0), 2: desc(0x500, 10, 0, 0)},
     [0, 2], ops=POP + PUSH + b'\x40\x00' + NOTIFY + POP + PUSH + b'\x00\x00' + SETN)
seed('indirect', 1,
     {0: desc(0x200, 48, 4, 0)}, [0],
     ind=desc(0x400, 64, 1, 1) + desc(0x480, 64, 3, 2) + desc(0x10400, 512, 2, 0),
     ops=POP + PUSH + b'\x00\x02' + NOTIFY)
seed('event_idx', 2,
     {i: desc(0x400 + 64 * i, 64, 2, 0) for i in range(8)}, list(range(8)),
     ops=(POP + PUSH + b'\x40\x00' + NOTIFY) * 8 + SETN)
