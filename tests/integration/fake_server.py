#!/usr/bin/env python3
"""A minimal NTP server for tests (loopback only, bounded lifetime): answers
mode 3 requests as a synchronized stratum-2 server, and after --good
answers sends kiss-o'-death --kiss (e.g. DENY) instead."""
import argparse
import socket
import struct
import sys
import time

NTP_UNIX = 2208988800


def ntp_now():
    t = time.time() + NTP_UNIX
    return (int(t) << 32) | int((t % 1) * (1 << 32))


ap = argparse.ArgumentParser()
ap.add_argument("addr")
ap.add_argument("--port", type=int, default=123)
ap.add_argument("--good", type=int, default=3)
ap.add_argument("--kiss", default="DENY")
ap.add_argument("--lifetime", type=float, default=60)
a = ap.parse_args()
if not a.addr.startswith("127."):
    sys.exit("loopback addresses only")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((a.addr, a.port))
end = time.time() + a.lifetime
n = 0
while time.time() < end:
    s.settimeout(max(0.1, end - time.time()))
    try:
        req, peer = s.recvfrom(2048)
    except socket.timeout:
        break
    if len(req) < 48 or (req[0] & 7) != 3:
        continue
    rx = ntp_now()
    xmt_req = req[40:48]
    if n < a.good:
        li_vn_mode = (0 << 6) | (4 << 3) | 4
        hdr = struct.pack("!BBbbII4s", li_vn_mode, 2, req[2], -20, 0x100, 0x100, b"\x7f\x00\x00\x09")
        body = struct.pack("!Q", rx) + xmt_req + struct.pack("!QQ", rx, ntp_now())
    else:
        li_vn_mode = (3 << 6) | (4 << 3) | 4
        hdr = struct.pack("!BBbbII4s", li_vn_mode, 0, req[2], -20, 0, 0, a.kiss.encode()[:4])
        body = struct.pack("!Q", 0) + xmt_req + struct.pack("!QQ", rx, ntp_now())
    s.sendto(hdr + body, peer)
    n += 1
    print("answered %d (%s)" % (n, "time" if n <= a.good else a.kiss), flush=True)
