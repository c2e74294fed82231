#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes the hand-made seed inputs of fuzz_e1000 into corpus/e1000/.

The encoding mirrors LLVMFuzzerTestOneInput in fuzz_e1000.c: an opcode byte
(taken modulo 16) and its arguments, little-endian. Run it again after
changing the operations there, and commit the result.
"""
import os
import struct
import sys

# Opcodes.
MMIO_WR, MMIO_RD, RAM_WR, TX_DESC, RX_DESC, DELIVER = 0, 3, 4, 5, 6, 7
TIME, LINK, PIO, PRESET, PCI, ODD, TSO, DELIVER_SPLIT = 8, 9, 10, 11, 12, 13, 14, 15

# fz_regs[] in fuzz_e1000.c, in order; sel = index (+ len for "smart" values).
REGS = ["CTRL", "STATUS", "EECD", "EERD", "CTRL_EXT", "MDIC", "VET", "ICR", "ITR", "ICS",
        "IMS", "IMC", "RCTL", "TCTL", "RDBAL", "RDBAH", "RDLEN", "RDH", "RDT", "RDTR", "RADV",
        "TDBAL", "TDBAH", "TDLEN", "TDH", "TDT", "TIDV", "TADV", "GORCH", "MPC", "RXCSUM",
        "MTA", "RAL0", "RAH0", "VFTA"]


def wr(reg, val, smart=False):
    sel = REGS.index(reg) + (len(REGS) if smart else 0)
    return struct.pack("<BBI", MMIO_WR, sel, val & 0xFFFFFFFF)


def rd(reg):
    return struct.pack("<BB", MMIO_RD, REGS.index(reg))


def preset(cfg=0):
    return struct.pack("<BB", PRESET, cfg)


def tx_legacy(idx, length, cmd, special=0, css=0):
    return struct.pack("<BBBHBBH", TX_DESC, idx, 0, length, cmd, css, special)


def deliver(length, flags, body=b"", split=False):
    return struct.pack("<BHB", DELIVER_SPLIT if split else DELIVER, length, flags) + body


def time(ticks):
    return struct.pack("<BH", TIME, ticks)


def tso(hdrlen, ipcss, tucss, tucmd, popts, ndata, mss, paylen):
    return struct.pack("<BBBBBBBHH", TSO, hdrlen, ipcss, tucss, tucmd, popts, ndata, mss,
                       paylen)


def tcp_frame(n):
    eth = bytes([0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 2, 0, 0, 0, 0, 1, 0x08, 0x00])
    ip = bytes([0x45, 0, 0, 0, 0x12, 0x34, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2])
    return (eth + ip + bytes(i & 0xFF for i in range(n)))[:n]


def seeds():
    # A legacy frame sent with RS, the doorbell, the ICR read.
    yield "tx_legacy", (preset(0) + tx_legacy(0, 60, 0x0B) + tx_legacy(1, 200, 0x03)
                        + tx_legacy(2, 100, 0x0B) + wr("TDT", 3, smart=True) + rd("ICR"))
    # Frames to the MAC and broadcast, one split in pieces; moderation timers.
    yield "rx", (preset(0x80) + wr("RDTR", 20, smart=True) + wr("RADV", 40, smart=True)
                 + deliver(100, 0x05, tcp_frame(100)) + deliver(64, 0x02, bytes(64))
                 + deliver(1500, 0x01, tcp_frame(1500), split=True) + time(100) + time(400)
                 + rd("ICR") + rd("GORCH"))
    # TSO of an IPv4/TCP frame in two data descriptors, VLAN insertion on.
    # tucmd: 0x01 TCP, 0x02 IPv4, 0x04 TSE; popts: 0x01 IXSM, 0x02 TXSM, 0x40 VLE.
    yield "tso", (preset(0x40) + tso(54, 14, 34, 0x07, 0x43, 2, 500, 3000)
                  + tso(74, 14, 54, 0x05, 0x02, 3, 1000, 2500)
                  + tso(42, 14, 34, 0x02, 0x03, 2, 0, 300) + rd("ICR"))
    # EEPROM over EERD and a few bit-bang clocks, PHY registers over MDIC.
    eeprom = wr("EERD", 0x0001) + rd("EERD") + wr("EERD", 0x0D01) + rd("EERD")
    eeprom += wr("EECD", 0x40) + wr("EECD", 0x42)
    for bit in (1, 1, 0, 0, 0, 0, 0, 0, 1):
        di = 4 if bit else 0
        eeprom += wr("EECD", 0x42 | di) + wr("EECD", 0x43 | di) + wr("EECD", 0x42 | di)
    for _ in range(16):
        eeprom += wr("EECD", 0x43) + rd("EECD") + wr("EECD", 0x42)
    eeprom += wr("MDIC", 0x08220000) + rd("MDIC") + wr("MDIC", 0x24240DE1) + rd("MDIC")
    yield "eeprom_phy", eeprom
    # Interrupt registers, ITR, link changes, the I/O window, a reset.
    yield "irq", (preset(0x01) + wr("ITR", 100, smart=True) + wr("IMS", 0xFF) + wr("ICS", 0x84)
                  + time(1000) + rd("ICR") + struct.pack("<BB", LINK, 0)
                  + struct.pack("<BB", LINK, 1) + struct.pack("<BBI", PIO, 0x80, 0x00C8)
                  + struct.pack("<BBI", PIO, 0x81, 0x4) + wr("CTRL", 1 << 26) + rd("STATUS"))


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "e1000")
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
