#!/usr/bin/env python3
"""UDP proxy for NTS tamper tests (RFC 8915 §5). Forwards NTP requests from
a client to the server and the responses back; in each request with NTS
extension fields it can flip one byte of the cookie, the authenticator or
the unique identifier. Writes one line per packet to the log:

  req N tamper=WHAT uid=HEX
  resp N len=L stratum=S refid=R uid=HEX uid_echo=original|tampered|none auth=0|1

Loopback only, bounded lifetime and packet count.

usage: nts_proxy.py LISTEN-PORT SERVER-PORT none|cookie|auth|uid LOG [SECONDS]
"""
import select
import socket
import struct
import sys
import time

EF_UID, EF_COOKIE, EF_AUTH = 0x0104, 0x0204, 0x0404
ADDR = "127.0.0.1"  # never anything else
MAX_PACKETS = 200


def fields(pkt):
    """(type, offset of the body, body length) of each extension field."""
    out, off = [], 48
    while off + 4 <= len(pkt):
        t, l = struct.unpack("!HH", pkt[off:off + 4])
        if l < 4 or off + l > len(pkt):
            break
        out.append((t, off + 4, l - 4))
        off += l
    return out


def tamper(pkt, what):
    """Flips one byte of the chosen field; returns (packet, flipped?)."""
    want = {"cookie": EF_COOKIE, "auth": EF_AUTH, "uid": EF_UID}.get(what)
    for t, body, blen in fields(pkt):
        if t != want or blen < 8:
            continue
        if t == EF_AUTH:
            # Body: nonce length, ciphertext length, nonce, ciphertext. Flip
            # the first byte of the ciphertext (the SIV tag).
            nlen = struct.unpack("!H", pkt[body:body + 2])[0]
            pos = body + 4 + ((nlen + 3) & ~3)
        else:
            pos = body + blen // 2
        b = bytearray(pkt)
        b[pos] ^= 0x01
        return bytes(b), True
    return pkt, False


def uid_of(pkt):
    for t, body, blen in fields(pkt):
        if t == EF_UID:
            return pkt[body:body + blen]
    return b""


def main():
    lport, sport, what, logname = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    lifetime = min(float(sys.argv[5]) if len(sys.argv) > 5 else 60.0, 300.0)
    log = open(logname, "a", buffering=1)
    down = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    down.bind((ADDR, lport))
    up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    up.connect((ADDR, sport))
    client, sent_uid, orig_uid, n = None, b"", b"", 0
    deadline = time.monotonic() + lifetime
    print("ready", flush=True)
    while n < MAX_PACKETS:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([down, up], [], [], left)
        if down in r:
            pkt, src = down.recvfrom(2048)
            if src[0] != ADDR:
                continue
            client, n = src, n + 1
            orig_uid = uid_of(pkt)
            pkt, flipped = tamper(pkt, what) if what != "none" else (pkt, False)
            sent_uid = uid_of(pkt)
            log.write(f"req {n} tamper={what if flipped else 'none'} uid={orig_uid.hex()}\n")
            up.send(pkt)
        if up in r:
            pkt = up.recv(2048)
            if len(pkt) < 48 or client is None:
                continue
            uid = uid_of(pkt)
            echo = ("none" if not uid else "original" if uid == orig_uid else
                    "tampered" if uid == sent_uid else "other")
            refid = pkt[12:16].decode("ascii", "replace") if pkt[1] == 0 else pkt[12:16].hex()
            auth = int(any(t == EF_AUTH for t, _, _ in fields(pkt)))
            log.write(f"resp {n} len={len(pkt)} stratum={pkt[1]} refid={refid} "
                      f"uid={uid.hex()} uid_echo={echo} auth={auth}\n")
            down.sendto(pkt, client)


if __name__ == "__main__":
    main()
