#!/usr/bin/env python3
"""Raw NTP test client: sends crafted datagrams to a server on loopback and
reports what came back, as JSON lines. Used by the integration tests for
what the real clients cannot do (bind a source address, send garbage, burst
to trigger rate limits, tamper with MACs). Only loopback targets."""
import argparse
import hashlib
import ipaddress
import json
import os
import socket
import struct
import sys
import time

NTP_DELTA = 2208988800


def ntp_now():
    t = time.time() + NTP_DELTA
    return (int(t) << 32) | int((t % 1) * (1 << 32))


def header(version=4, mode=3, xmt=None):
    xmt = ntp_now() if xmt is None else xmt
    return struct.pack("!BBbb3I3QQ", (version << 3) | mode, 0, 6, -20, 0, 0, 0, 0, 0, 0, xmt)


def load_key(path, keyid):
    with open(path) as f:
        for line in f:
            line = line.split("#")[0].split()
            if len(line) >= 3 and int(line[0]) == keyid:
                key = line[2]
                raw = key.encode() if len(key) <= 20 else bytes.fromhex(key)
                return line[1].upper(), raw
    raise SystemExit(f"key {keyid} not in {path}")


def mac(alg, key, msg):
    if alg in ("MD5", "M"):
        return hashlib.md5(key + msg).digest()
    if alg.startswith("SHA"):
        name = {"SHA1": "sha1", "SHA": "sha1"}.get(alg, alg.lower())
        return hashlib.new(name, key + msg).digest()
    raise SystemExit(f"unsupported MAC {alg} in test client")


def decode(resp):
    if len(resp) < 48:
        return {"len": len(resp)}
    b0, st, poll, prec, rd, rdisp, refid, reft, org, rec, xmt = struct.unpack("!BBbbIII4Q", resp[:48])
    refid_s = refid.to_bytes(4, "big")
    return {
        "len": len(resp), "leap": b0 >> 6, "version": (b0 >> 3) & 7, "mode": b0 & 7,
        "stratum": st, "poll": poll, "precision": prec,
        "refid": refid_s.decode("ascii", "replace") if st <= 1 else refid_s.hex(),
        "org": org, "rec": rec, "xmt": xmt, "tail": resp[48:].hex(),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("server")
    ap.add_argument("--port", type=int, default=123)
    ap.add_argument("--source", default=None, help="local address to send from")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--interval", type=float, default=0.0)
    ap.add_argument("--timeout", type=float, default=1.0)
    ap.add_argument("--version", type=int, default=4)
    ap.add_argument("--mode", type=int, default=3)
    ap.add_argument("--raw-hex", default=None, help="send these bytes instead of a request")
    ap.add_argument("--keyfile")
    ap.add_argument("--keyid", type=int, default=0)
    ap.add_argument("--digest-len", type=int, default=0)
    ap.add_argument("--tamper", action="store_true", help="flip a bit of the MAC")
    a = ap.parse_args()
    if not ipaddress.ip_address(a.server).is_loopback:
        raise SystemExit("test client refuses non-loopback targets")
    fam = socket.AF_INET6 if ":" in a.server else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if a.source:
        s.bind((a.source, 0))
    s.settimeout(a.timeout)
    deadline = time.time() + 60
    for i in range(min(a.count, 100000)):
        if time.time() > deadline:
            break
        if a.raw_hex is not None:
            pkt = bytes.fromhex(a.raw_hex)
        else:
            pkt = header(a.version, a.mode)
            if a.keyid:
                alg, key = load_key(a.keyfile, a.keyid)
                d = mac(alg, key, pkt)
                if a.digest_len:
                    d = d[: a.digest_len]
                if a.tamper:
                    d = bytes([d[0] ^ 1]) + d[1:]
                pkt += struct.pack("!I", a.keyid) + d
        s.sendto(pkt, (a.server, a.port))
        try:
            resp, _ = s.recvfrom(2048)
            out = decode(resp)
            out["sent_len"] = len(pkt)
            out["org_ok"] = len(resp) >= 48 and resp[24:32] == pkt[40:48]
            print(json.dumps(out), flush=True)
        except socket.timeout:
            print(json.dumps({"timeout": True, "sent_len": len(pkt)}), flush=True)
        if a.interval:
            time.sleep(a.interval)


if __name__ == "__main__":
    main()
