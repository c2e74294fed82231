#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Writes the seed inputs of fuzz_vhost_user (see tests/fuzz/fuzz_vhost_user.c
# for the input format) next to this script: the replies of a well-behaved
# backend, with and without protocol features.
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
REPLY = 0x1 | 0x4


def reply(req, payload):
    return struct.pack('<III', req, REPLY, len(payload)) + payload


def u64(v):
    return struct.pack('<Q', v)


# control byte, then the stream.
# plain: GET_FEATURES (VERSION_1 only), then GET_VRING_BASE.
plain = bytes([0]) + reply(1, u64(1 << 32)) + reply(11, struct.pack('<II', 0, 5))
# full: protocol features with MQ + REPLY_ACK: every state change is acked.
feat = (1 << 32) | (1 << 30) | (1 << 15)
full = bytes([4]) + reply(1, u64(feat)) + reply(15, u64(0x9)) + reply(17, u64(4))
full += reply(3, u64(0))  # SET_OWNER ack
full += reply(2, u64(0))  # SET_FEATURES ack
full += reply(5, u64(0))  # SET_MEM_TABLE ack
for req in (8, 10, 9, 12, 13, 18, 18):  # the ring, then ENABLE 0
    full += reply(req, u64(0))
full += reply(11, struct.pack('<II', 0, 9))
for name, data in (('plain', plain), ('full', full)):
    with open(os.path.join(HERE, name), 'wb') as f:
        f.write(data)
