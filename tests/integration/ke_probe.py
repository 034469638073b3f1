#!/usr/bin/env python3
"""NTS-KE probe: one request as NTPsec's client sends it (no SNI, ALPN
ntske/1, TLS 1.3), and the response read the way NTPsec 1.2 reads it: a
single TLS read into a 2 KB buffer. Checks the records. Loopback only."""
import socket
import ssl
import struct
import sys

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_verify_locations(sys.argv[1])
ctx.set_alpn_protocols(["ntske/1"])
ctx.check_hostname = False  # no SNI, as NTPsec
raw = socket.create_connection(("127.0.0.1", 4460), timeout=5)
s = ctx.wrap_socket(raw, server_hostname=None)
assert s.selected_alpn_protocol() == "ntske/1", "ALPN"
s.sendall(struct.pack("!HHH", 0x8001, 2, 0) + struct.pack("!HHHH", 0x8004, 4, 17, 15) +
          struct.pack("!HH", 0x8000, 0))
data = s.recv(2048)
print(f"one read: {len(data)} bytes")
recs, off = [], 0
while off + 4 <= len(data):
    t, l = struct.unpack("!HH", data[off:off + 4])
    recs.append((t & 0x7fff, bool(t & 0x8000), data[off + 4:off + 4 + l]))
    off += 4 + l
assert off == len(data), "records fill the read exactly"
assert recs[-1][0] == 0 and recs[-1][1], "ends with a critical End of Message"
assert recs[0][0] == 1 and recs[0][2] == b"\0\0", "Next Protocol NTPv4 first"
aead = [r for r in recs if r[0] == 4]
assert len(aead) == 1 and aead[0][2] == b"\0\x11", "AEAD 17 chosen (client's first preference)"
cookies = [r[2] for r in recs if r[0] == 5]
print(f"{len(cookies)} cookies of {sorted(set(len(c) for c in cookies))} bytes")
assert len(cookies) == 8 and len(set(len(c) for c in cookies)) == 1, "8 equal cookies"
assert len(cookies[0]) % 4 == 0, "cookie length a multiple of 4"
assert not any(r[1] for r in recs if r[0] == 5), "cookie records not critical"
print("ok")
