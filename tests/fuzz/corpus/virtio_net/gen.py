#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Writes the seed inputs of fuzz_virtio_net (see tests/fuzz/fuzz_virtio_net.c
# for the input format) next to this script: TX, RX, control commands,
# multiqueue and a reset in the middle of traffic.
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
MAC = bytes([0x52, 0x54, 0x00, 0x12, 0x34, 0x56])

# Operation numbers (the first byte of each, modulo 16).
OP_STATUS, OP_BRING_UP, OP_DOORBELL, OP_CHAIN = 3, 6, 8, 10
OP_DELIVER, OP_MISC, OP_LOOP = 12, 14, 15


def bring_up(sel=0, lo=0x7FFFFFFF, hi=0xFFFFFFFF):
    return bytes([OP_BRING_UP, sel]) + struct.pack('<II', lo, hi)


def chain(q, segs, doorbell=True, extra=0):
    """segs: (length, readable contents or None for a writable buffer), readable first."""
    nread = sum(1 for _, data in segs if data is not None)
    out = bytes([OP_CHAIN, q, nread << 4 | (len(segs) - 1), (0x10 if doorbell else 0) | extra])
    for length, data in segs:
        out += bytes([length - 1])
        if data is not None:
            out += data.ljust(length, b'\0')
    return out


def rx_bufs(q, n):
    # Large buffers: length = 24 * 64 + 12.
    return b''.join(bytes([OP_CHAIN, q, 0x00, 0x50, 24]) for _ in range(n))


def frame(payload_len, dst=MAC):
    f = dst + bytes([0x52, 0x54, 0, 0, 0, 1]) + b'\x08\x00'
    return f + bytes(range(payload_len))


def tx(q, f, hdr=bytes(12)):
    data = hdr + f
    assert len(data) <= 256
    return chain(q, [(len(data), data)])


def deliver(f):
    return bytes([OP_DELIVER]) + struct.pack('<H', len(f)) + bytes([0]) + f


def ctrl(q, cls, cmd, data=b''):
    body = bytes([cls, cmd]) + data
    return chain(q, [(len(body), body), (1, None)])


def write(name, data):
    with open(os.path.join(HERE, name), 'wb') as f:
        f.write(data)


loop = bytes([OP_LOOP, 3])
write('tx', bytes([0x20]) + bring_up() + tx(1, frame(60)) + tx(1, frame(200)) + loop)
write('rx', bytes([0x20]) + bring_up() + rx_bufs(0, 4) + deliver(frame(100)) +
      deliver(frame(40, b'\xff' * 6)) + bytes([OP_MISC, 0]) + loop)
mac_tables = struct.pack('<I', 1) + MAC + struct.pack('<I', 1) + bytes([1, 0, 0x5e, 0, 0, 1])
write('ctrl', bytes([0x24]) + bring_up() + ctrl(2, 0, 0, b'\x01') + ctrl(2, 1, 0, mac_tables) +
      ctrl(2, 1, 1, MAC) + ctrl(2, 2, 0, struct.pack('<H', 5)) + ctrl(2, 3, 0) + loop)
# Three pairs (header 0x23): control queue 6; pair 0 receives, every pair sends.
write('mq', bytes([0x23]) + bring_up() + ctrl(6, 4, 0, struct.pack('<H', 3)) + rx_bufs(0, 2) +
      tx(3, frame(80)) + tx(5, frame(80)) + deliver(frame(64)) + loop)
write('reset', bytes([0x20]) + bring_up() + rx_bufs(0, 2) + tx(1, frame(60)) +
      bytes([OP_STATUS, 0xA0]) + deliver(frame(64)) + bring_up(0x40) + tx(1, frame(60)) +
      bytes([OP_DOORBELL, 0x81, OP_MISC, 0x11, OP_MISC, 0x01]) + loop)
# One doorbell that finds more than a TX burst: the driver re-offers a head
# for every frame sent (chain flag 0x08, 256 + 64 * 7 times), so the device
# spends its budget and re-kicks itself through the event loop.
f60 = bytes(12) + frame(60)
write('rekick', bytes([0x20]) + bring_up() + chain(1, [(len(f60), f60)], extra=0x08 | 0x07) +
      loop)
